//! What devenv prints: colour decided per stream, `--json` documents, errors under `--json`,
//! and secrets that never reach the screen.

use crate::support::*;

const ESCAPE: &str = "\x1b[";

/// Runs `devenv ARGS > stdout_file` with stderr (and stdin) on a pseudo-terminal, through
/// util-linux `script`; returns (what reached the file, what reached the terminal).
fn with_terminal_stderr(
    project: &TestProject,
    args: &str,
    extra_env: &[(&str, &str)],
) -> (String, String) {
    let out_file = project.path("stdout.txt");
    let command = format!(
        "{} {args} > {}",
        env!("CARGO_BIN_EXE_devenv"),
        out_file.display()
    );
    let mut cmd = project.devenv_process(&[]);
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(project.root())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color");
    for (key, value) in extra_env {
        script.env(key, value);
    }
    // `cmd` only lends its environment.
    cmd.env_clear();
    let terminal = script.output().unwrap();
    let stdout = std::fs::read_to_string(&out_file).unwrap_or_default();
    (
        stdout,
        String::from_utf8_lossy(&terminal.stdout).into_owned(),
    )
}

#[test]
fn colour_is_decided_for_each_stream() {
    if !require("util-linux `script`", has_program("script", &["--version"])) {
        return;
    }
    let project = TestProject::new(SHOP);
    // stdout is a file while stderr is a terminal: nothing coloured reaches the file.
    let (stdout, _) = with_terminal_stderr(&project, "--color auto doctor", &[]);
    assert!(
        stdout.contains("checks:"),
        "doctor wrote its report: {stdout}"
    );
    assert!(
        !stdout.contains(ESCAPE),
        "stdout is not a terminal, yet it got escape codes: {stdout:?}"
    );
    // The terminal on stderr still gets colour.
    let (_, terminal) = with_terminal_stderr(&project, "--color auto generate", &[]);
    assert!(
        terminal.contains(ESCAPE),
        "stderr is a terminal: {terminal:?}"
    );
    // NO_COLOR turns it off there too.
    let (_, terminal) =
        with_terminal_stderr(&project, "--color auto generate", &[("NO_COLOR", "1")]);
    assert!(!terminal.contains(ESCAPE), "NO_COLOR: {terminal:?}");
}

#[test]
fn colour_auto_into_a_pipe_is_plain_and_always_is_coloured() {
    let project = TestProject::new(SHOP);
    let plain = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = project.devenv(args);
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        output(&mut cmd)
    };
    let (_, out, err) = plain(&["--color", "auto", "doctor"], &[]);
    assert!(!out.contains(ESCAPE), "{out:?}");
    assert!(!err.contains(ESCAPE), "{err:?}");
    let (_, out, _) = plain(&["--color", "always", "doctor"], &[]);
    assert!(out.contains(ESCAPE), "--color always: {out:?}");
    let (_, out, _) = plain(&["--color", "auto", "doctor"], &[("CLICOLOR_FORCE", "1")]);
    assert!(out.contains(ESCAPE), "CLICOLOR_FORCE: {out:?}");
    let (_, out, _) = plain(&["--color", "never", "doctor"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!out.contains(ESCAPE), "--color never wins: {out:?}");
}

#[test]
fn errors_under_json_are_a_json_document_on_stdout() {
    let project =
        TestProject::new("[project]\nname = \"{name}\"\n\n[services.db]\nuse = \"postgress\"\n");
    let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(code, 1, "exit code unchanged");
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(value["version"], 1, "{value}");
    let error = &value["error"];
    assert!(
        error["message"].as_str().unwrap().contains("postgress"),
        "{value}"
    );
    assert_eq!(error["location"]["file"], "devenv.toml", "{value}");
    assert_eq!(error["location"]["line"], 5, "{value}");
    assert_eq!(error["location"]["column"], 7, "{value}");
    assert!(
        error["help"].as_str().unwrap().contains("postgres"),
        "{value}"
    );
}

#[test]
fn json_documents_carry_a_version() {
    let project = TestProject::new(SHOP);
    let (_, out, _) = output(&mut project.devenv(&["doctor", "--json"]));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["version"], 1, "{value}");
    project.write(".env", "DB_PORT=5432\n");
    let (code, out, _) = output(&mut project.devenv(&["env", "check", "--json"]));
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["version"], 1, "{value}");
    assert!(
        value["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"] == "DB_PASSWORD"),
        "{value}"
    );
}

/// A password with the characters URLs encode, so every encoding differs from the raw value.
const PASSWORD: &str = "Sesame open/4:me@now+then&z";
/// `PASSWORD` as it appears in a URL: percent-encoded every way, and form-urlencoded.
const ENCODED: [&str; 3] = [
    "Sesame%20open%2F4%3Ame%40now%2Bthen%26z",
    "Sesame%20open%2F4%3Ame%40now+then&z",
    "Sesame+open%2F4%3Ame%40now%2Bthen%26z",
];

/// The database URL carries the password percent-encoded as `?password=`; the catalog's
/// connection URL carries it raw.
const SECRET_STACK: &str = r#"[project]
name = "{name}"

[services.db]
use = "postgres"
image = "postgres:16"
env = { POSTGRES_USER = "shop", POSTGRES_PASSWORD = "${DB_PASSWORD}", POSTGRES_DB = "shop" }

[env.DB_PASSWORD]
secret = true

[env.DB_PW_QUERY]
description = "DB_PASSWORD percent-encoded for the URL query"

[env.DATABASE_URL]
value = "postgres://shop@127.0.0.1:${DB_PORT}/shop?password=${DB_PW_QUERY}&sslmode=disable"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
"#;

#[test]
fn secrets_never_reach_the_screen() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SECRET_STACK, &["DB_PORT"]);
    let port = project.env_value("DB_PORT");
    project.write(
        ".env",
        &format!(
            "DB_PORT={port}\nDB_PASSWORD=\"{PASSWORD}\"\nDB_PW_QUERY={}\n",
            ENCODED[0]
        ),
    );
    project.write(
        "migrations/0001_items.sql",
        "CREATE TABLE items (id INT PRIMARY KEY);\n",
    );
    project.write("seeds/01_items.sql", "INSERT INTO items VALUES (1);\n");
    let leaks = |args: &[&str]| {
        let (code, out, err) = output(&mut project.devenv(args));
        for text in [&out, &err] {
            for form in std::iter::once(PASSWORD).chain(ENCODED) {
                assert!(
                    !text.contains(form),
                    "devenv {args:?} printed the password as `{form}`:\n{out}\n{err}"
                );
            }
        }
        (code, out, err)
    };
    let (code, out, _) = leaks(&["up"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("postgres://shop:***@"),
        "masked, not dropped: {out}"
    );
    leaks(&["up", "--json"]);
    leaks(&["status"]);
    leaks(&["status", "--json"]);
    leaks(&["doctor"]);
    leaks(&["doctor", "--json"]);
    let (_, out, _) = leaks(&["migrate", "status", "--json"]);
    assert!(out.contains("password=***"), "{out}");
    leaks(&["migrate", "--json"]);
    leaks(&["seed", "--json"]);
    leaks(&["env", "check"]);
    leaks(&["env", "check", "--json"]);
    leaks(&["logs"]);
    leaks(&["-v", "logs", "--tail", "5"]);

    // Asked for on purpose: `env get` and `--reveal`.
    let (code, out, _) = output(&mut project.devenv(&["env", "get", "DB_PASSWORD"]));
    assert_eq!(code, 0);
    assert_eq!(out.trim_end_matches('\n'), PASSWORD);
    let (_, out, _) = output(&mut project.devenv(&["--reveal", "migrate", "status", "--json"]));
    assert!(out.contains(ENCODED[0]), "{out}");
}

#[test]
fn project_commands_print_through_the_printer() {
    let project = TestProject::new(
        "[project]\nname = \"{name}\"\n[database]\nurl = \"sqlite:data/dev.db\"\n\
         migrate = { command = [\"sh\", \"-c\", \"echo applying schema; echo token $API_TOKEN >&2\"] }\n",
    );
    project.write(".env", "API_TOKEN=tok-4242-secret\n");
    let (code, out, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "results only on stdout: {out}");
    assert!(err.contains("migrate | applying schema"), "{err}");
    assert!(err.contains("migrate | token ***"), "masked: {err}");
    assert!(!err.contains("tok-4242-secret"), "{err}");

    let (code, out, err) = output(&mut project.devenv(&["-q", "migrate"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty() && err.is_empty(), "-q: {out}{err}");

    let (code, out, _) = output(&mut project.devenv(&["migrate", "--json"]));
    assert_eq!(code, 0);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(value["version"], 1, "{value}");
    assert_eq!(value["ran_migrate_command"], true, "{value}");
}

#[test]
fn the_generated_password_of_the_example_is_masked() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    project.write(
        "migrations/0001_items.sql",
        "CREATE TABLE items (id INT PRIMARY KEY);\n",
    );
    let (code, out, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
    let password = project.env_value("DB_PASSWORD");
    assert!(password.len() >= 20, "a generated secret: {password}");
    assert!(out.contains("postgres://shop:***@"), "{out}");
    for args in [
        &["status", "--json"][..],
        &["doctor", "--json"],
        &["migrate", "status", "--json"],
        &["env", "check"],
    ] {
        let (_, out, err) = output(&mut project.devenv(args));
        assert!(
            !out.contains(&password) && !err.contains(&password),
            "devenv {args:?} printed DB_PASSWORD:\n{out}\n{err}"
        );
    }
    assert!(!err.contains(&password), "{err}");
}
