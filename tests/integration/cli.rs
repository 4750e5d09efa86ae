//! The command line itself: flags, init, exit codes, error messages as a user sees them.

use crate::support::*;

#[test]
fn version_and_help_work_without_a_project() {
    let project = TestProject::empty("none".into());
    let (code, out, _) = output(&mut project.devenv(&["--version"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("devenv "), "{out}");
    let (code, out, _) = output(&mut project.devenv(&["--help"]));
    assert_eq!(code, 0);
    for command in [
        "init", "generate", "up", "down", "status", "logs", "doctor", "docs", "env", "migrate",
        "seed", "db", "watch",
    ] {
        assert!(
            out.contains(&format!("  {command} ")),
            "--help lacks {command}:\n{out}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let project = TestProject::empty("none".into());
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "soon"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = output(&mut project.devenv(&["no-such-command"]));
    assert_eq!(code, 2);
}

#[test]
fn init_lists_and_writes_starters() {
    let project = TestProject::empty("none".into());
    let (code, out, _) = output(&mut project.devenv(&["init", "--list"]));
    assert_eq!(code, 0);
    for name in [
        "postgres-redis",
        "mysql-redis",
        "postgres",
        "mysql",
        "mariadb",
        "redis",
        "mongodb",
        "rabbitmq",
        "nats",
        "memcached",
        "minio",
        "mailpit",
        "redpanda",
    ] {
        assert!(
            out.contains(&format!("  {name} ")),
            "init --list lacks {name}:\n{out}"
        );
    }
    let (code, _, err) =
        output(&mut project.devenv(&["init", "--template", "postgres-redis", "--name", "demo"]));
    assert_eq!(code, 0, "{err}");
    assert!(project.read("devenv.toml").contains("name = \"demo\""));
    let (code, _, err) = output(&mut project.devenv(&["init", "--template", "redis"]));
    assert_eq!(code, 1);
    assert_mentions(&err, &["already exists", "--force"]);
    let (code, _, err) =
        output(&mut project.devenv(&["init", "--template", "redis", "--force", "--name", "demo"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(
        code, 0,
        "a one-service stack from the catalog generates: {err}"
    );
}

#[test]
fn a_number_where_a_list_belongs_names_the_file_and_line_6() {
    let project = TestProject::new(
        "[project]\nname = \"{name}\"\n\n[services.db]\nimage = \"postgres:16\"\nports = 5432\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 1);
    assert_mentions(
        &err,
        &["devenv.toml:6:9", "6 | ports = 5432", "write `[\"5432\"]`"],
    );
}

#[test]
fn a_misspelt_use_suggests_postgres() {
    let project =
        TestProject::new("[project]\nname = \"{name}\"\n\n[services.db]\nuse = \"postgress\"\n");
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 1);
    assert_mentions(&err, &["devenv.toml:5:7", "did you mean `postgres`?"]);
}

#[test]
fn dash_c_and_file_choose_the_project() {
    let project = TestProject::new(SHOP);
    std::fs::create_dir(project.path("elsewhere")).unwrap();
    let root = project.root().to_str().unwrap().to_string();
    let (code, _, err) = output(
        project
            .devenv(&["-C", &root, "generate"])
            .current_dir(project.path("elsewhere")),
    );
    assert_eq!(code, 0, "{err}");
    assert!(project.path("docker-compose.yml").exists());
    std::fs::rename(
        project.path("devenv.toml"),
        project.path("elsewhere/stack.toml"),
    )
    .unwrap();
    let (code, _, err) =
        output(&mut project.devenv(&["--file", "elsewhere/stack.toml", "generate", "--check"]));
    assert_eq!(
        code, 1,
        "generated files beside the other stack file are missing: {err}"
    );
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 1);
    assert_mentions(&err, &["no devenv.toml", "devenv init"]);
}
