//! `devenv generate`: the files it writes are accepted by the Compose schema and by Debian's
//! docker-compose, and it never overwrites a hand edit.

use crate::support::*;

fn generated_shop() -> TestProject {
    let project = TestProject::new(SHOP);
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 0, "{err}");
    project
}

/// The Compose Specification schema shipped beside the repository.
fn schema_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/compose-spec/compose-spec.json")
}

#[test]
fn compose_file_is_valid_against_the_compose_spec_schema() {
    let python_ok = has_program("python3", &["-c", "import jsonschema, yaml"]);
    if !require("python3 with jsonschema and pyyaml", python_ok)
        || !require("the compose-spec schema", schema_path().exists())
    {
        return;
    }
    let project = generated_shop();
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml,jsonschema; jsonschema.validate(yaml.safe_load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
        ])
        .arg(project.path("docker-compose.yml"))
        .arg(schema_path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the schema rejected:\n{}",
        project.read("docker-compose.yml")
    );
}

#[test]
fn docker_compose_1_29_accepts_the_file_without_its_name_line() {
    if !require(
        "docker-compose",
        has_program("docker-compose", &["version"]),
    ) {
        return;
    }
    let project = generated_shop();
    let compose = project.read("docker-compose.yml");
    assert!(
        compose
            .lines()
            .any(|l| l == format!("name: {}", project.name)),
        "{compose}"
    );
    let (code, err) = compose_config_check(&project);
    assert_eq!(code, 0, "docker-compose config rejected the file: {err}");
}

#[test]
fn no_port_is_published_on_all_interfaces() {
    let project = generated_shop();
    let compose = project.read("docker-compose.yml");
    let ports: Vec<&str> = compose
        .lines()
        .filter(|l| l.trim_start().starts_with("- ") && l.contains(":${"))
        .collect();
    assert_eq!(ports.len(), 2, "{compose}");
    for port in ports {
        assert_mentions(port, &["127.0.0.1:"]);
    }
    assert!(!compose.contains("0.0.0.0"));
}

#[test]
fn env_example_lists_every_variable_with_secrets_replaced() {
    let project = generated_shop();
    let example = project.read(".env.example");
    for line in [
        "DB_PORT=5432",
        "CACHE_PORT=6379",
        "DB_PASSWORD=<REPLACE_ME>",
        "# Password of the shop database user",
    ] {
        assert!(
            example.lines().any(|l| l == line),
            "missing `{line}` in\n{example}"
        );
    }
    assert!(
        example
            .contains("DATABASE_URL=\"postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop\""),
        "{example}"
    );
}

#[test]
fn env_example_never_takes_values_from_a_real_env() {
    let project = TestProject::new(SHOP);
    project.write(".env", "DB_PASSWORD=hunter2-real-secret\nDB_PORT=7777\n");
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 0, "{err}");
    let example = project.read(".env.example");
    assert!(
        !example.contains("hunter2") && !example.contains("7777"),
        "{example}"
    );
    assert_eq!(
        project.read(".env"),
        "DB_PASSWORD=hunter2-real-secret\nDB_PORT=7777\n",
        ".env must be untouched"
    );
}

#[test]
fn a_hand_edited_file_is_kept_unless_forced() {
    let project = generated_shop();
    let edited = project
        .read("docker-compose.yml")
        .replace("redis:7", "redis:6");
    project.write("docker-compose.yml", &edited);
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 1);
    assert_mentions(&err, &["edited by hand", "--force"]);
    assert_eq!(project.read("docker-compose.yml"), edited);
    let (code, _, _) = output(&mut project.devenv(&["generate", "--check"]));
    assert_eq!(code, 1);
    let (code, _, err) = output(&mut project.devenv(&["generate", "--force"]));
    assert_eq!(code, 0, "{err}");
    assert!(project.read("docker-compose.yml").contains("redis:7"));
    let (code, _, err) = output(&mut project.devenv(&["generate", "--check"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_fails_after_a_stack_change() {
    let project = generated_shop();
    let stack = project.read("devenv.toml").replace("redis:7", "redis:7.2");
    project.write("devenv.toml", &stack);
    let (code, out, err) = output(&mut project.devenv(&["generate", "--check"]));
    assert_eq!(code, 1);
    assert!(out.contains("✗ docker-compose.yml is out of date"), "{out}");
    assert!(out.contains("fix: run `devenv generate`"), "{out}");
    assert!(
        !err.contains("error:"),
        "the report is the whole answer, no error line after it: {err}"
    );
}

#[test]
fn the_bundled_example_has_up_to_date_generated_files() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    let (code, _, err) = output(
        assert_cmd::Command::cargo_bin("devenv")
            .unwrap()
            .current_dir(&example)
            .args(["generate", "--check"]),
    );
    assert_eq!(code, 0, "run `devenv generate` in examples/shop: {err}");
    let (code, _, err) = output(
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_devenv"))
            .current_dir(&example)
            .args(["docs", "--check"]),
    );
    assert_eq!(code, 0, "run `devenv docs` in examples/shop: {err}");
}
