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

/// How many `error:` lines a run printed on stderr.
fn error_lines(err: &str) -> usize {
    err.lines().filter(|l| l.starts_with("error:")).count()
}

#[test]
fn help_documents_the_exit_codes() {
    let project = TestProject::empty("none".into());
    let (code, out, _) = output(&mut project.devenv(&["--help"]));
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "Exit status: 0 success, 1 a problem found or bad input, 2 usage error, 130 interrupted"
        ),
        "{out}"
    );
}

#[test]
fn each_kind_of_outcome_has_its_exit_code_and_one_error_line_at_most() {
    let project = TestProject::new(SHOP);
    // A check that found problems: its report, exit 1, no error line after it.
    let (code, out, err) = output(&mut project.devenv(&["generate", "--check"]));
    assert_eq!(code, 1);
    assert!(out.contains("✗ docker-compose.yml is missing"), "{out}");
    assert_eq!(error_lines(&err), 0, "{err}");
    let (code, out, err) = output(&mut project.devenv(&["env", "check"]));
    assert_eq!(code, 1);
    assert!(out.contains("1 finding(s) in .env"), "{out}");
    assert_eq!(error_lines(&err), 0, "{err}");
    // Success.
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(error_lines(&err), 0, "{err}");
    // Bad input: exit 1 and exactly one error line.
    project.write("devenv.toml", "[project]\nname = \"Not Valid\"\n");
    let (code, _, err) = output(&mut project.devenv(&["generate", "--check"]));
    assert_eq!(code, 1);
    assert_eq!(error_lines(&err), 1, "{err}");
    // A usage error devenv finds itself (not clap): exit 2, one error line.
    let (code, _, err) = output(&mut project.devenv(&["init", "--template", "postgress"]));
    assert_eq!(code, 2);
    assert_eq!(error_lines(&err), 1, "{err}");
    assert!(err.contains("did you mean `postgres`?"), "{err}");
    let missing = project.path("no-such-dir");
    let (code, _, err) = output(&mut project.devenv(&["-C", missing.to_str().unwrap(), "status"]));
    assert_eq!(code, 2);
    assert_eq!(error_lines(&err), 1, "{err}");
}

#[test]
fn db_shell_passes_the_client_exit_code_on() {
    if !require("sqlite3", has_program("sqlite3", &["--version"])) {
        return;
    }
    let project =
        TestProject::new("[project]\nname = \"{name}\"\n[database]\nurl = \"sqlite:dev.db\"\n");
    let (code, _, err) = output(project.devenv(&["db", "shell"]).write_stdin(".exit 3\n"));
    assert_eq!(code, 3, "{err}");
    assert_eq!(error_lines(&err), 0, "the client spoke for itself: {err}");
    let (code, _, err) = output(project.devenv(&["db", "shell"]).write_stdin("SELECT 1;\n"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn status_of_a_stopped_stack_exits_1_after_its_table_alone() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    let (code, _, err) = output(&mut project.devenv(&["up", "cache"]));
    assert_eq!(code, 0, "{err}");
    docker(&["stop", &format!("{}-cache-1", project.name)]);
    let (code, out, err) = output(&mut project.devenv(&["status"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("cache"), "the table is the report: {out}");
    assert_eq!(error_lines(&err), 0, "{err}");
}
