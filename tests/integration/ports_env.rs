//! Port conflicts settled before anything starts, and the `.env` that carries the chosen ports
//! and secrets.

use crate::support::*;

#[test]
fn a_port_held_by_a_process_is_remapped_and_the_stack_answers_there() {
    let Some(project) = engine_project(SHOP, &["CACHE_PORT"]) else {
        return;
    };
    let (_listener, port) = held_port();
    let user_lines = format!("# my own notes\nexport APP_MODE=dev   # keep me\nDB_PORT={port}\n");
    let existing = project.read(".env");
    project.write(".env", &format!("{user_lines}{existing}"));
    let (out, err) = project.up_ok(&[]);
    let pid = std::process::id();
    assert_mentions(
        &err,
        &[&format!("db: {port} is held by"), &format!("(pid {pid})")],
    );
    let new_port = project.env_value("DB_PORT");
    assert_ne!(new_port, port.to_string());
    assert_mentions(&err, &[&format!("using {new_port} (DB_PORT in .env)")]);
    assert_mentions(&out, &[&format!("127.0.0.1:{new_port}")]);
    // The derived value follows in the same write, and user lines survive byte for byte.
    assert!(
        project
            .env_value("DATABASE_URL")
            .contains(&format!("@127.0.0.1:{new_port}/shop"))
    );
    let text = project.read(".env");
    assert!(
        text.starts_with("# my own notes\nexport APP_MODE=dev   # keep me\n"),
        "{text}"
    );
    // Reachable on the new port: a real login from the host.
    if require("psql", has_program("psql", &["--version"])) {
        let status = std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &new_port,
                "-U",
                "shop",
                "-d",
                "shop",
                "-tAc",
                "select 1",
            ])
            .env("PGPASSWORD", project.env_value("DB_PASSWORD"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "psql could not log in on the remapped port"
        );
    }
}

#[test]
fn no_remap_fails_naming_the_port_and_the_holders_pid() {
    let Some(project) = engine_project(CACHE_ONLY, &[]) else {
        return;
    };
    let (_listener, port) = held_port();
    project.write(".env", &format!("CACHE_PORT={port}\n"));
    let err = project.fails(&["up", "--no-remap"]);
    assert_mentions(
        &err,
        &[
            &format!("cache: host port {port} (from CACHE_PORT) is held by"),
            &format!("(pid {})", std::process::id()),
            "two ways out",
        ],
    );
    assert_eq!(
        project.env_value("CACHE_PORT"),
        port.to_string(),
        ".env is not touched"
    );
    let started = project.containers();
    assert!(started.is_empty(), "nothing was started: {started:?}");
}

#[test]
fn a_port_published_by_another_projects_container_is_named() {
    let Some(first) = engine_project(CACHE_ONLY, &["CACHE_PORT"]) else {
        return;
    };
    first.up_ok(&[]);
    let port = first.env_value("CACHE_PORT");
    let second = TestProject::engine(CACHE_ONLY, &[]);
    second.write(".env", &format!("CACHE_PORT={port}\n"));
    let err = second.fails(&["up", "--no-remap"]);
    assert_mentions(
        &err,
        &[&format!(
            "container {}-cache-1 (project `{}`)",
            first.name, first.name
        )],
    );
    // By default the second project moves aside instead.
    second.up_ok(&[]);
    assert_ne!(second.env_value("CACHE_PORT"), port);
}

#[test]
fn a_conflict_on_a_fixed_port_is_an_error() {
    let (_listener, port) = held_port();
    let stack = format!(
        "[project]\nname = \"{{name}}\"\n[services.cache]\nuse = \"redis\"\nports = [\"{port}:6379\"]\n"
    );
    let Some(project) = engine_project(&stack, &[]) else {
        return;
    };
    let err = project.fails(&["up"]); // fixed ports are never remapped
    assert_mentions(
        &err,
        &[
            &format!("host port {port} (fixed in devenv.toml)"),
            "change the fixed port in devenv.toml",
        ],
    );
}

#[test]
fn env_init_creates_a_private_env_with_secrets() {
    let project = TestProject::new(SHOP);
    project.run_ok(&["env", "init"]);
    assert_eq!(file_mode(&project.path(".env")), 0o600);
    let password = project.env_value("DB_PASSWORD");
    assert!(
        password.len() >= 32 && password.chars().all(|c| c.is_ascii_alphanumeric()),
        "{password}"
    );
    let (code, out, _) = output(&mut project.devenv(&["env", "check"]));
    assert_eq!(code, 0, "a fresh .env passes the check: {out}");
    let other = TestProject::new(SHOP);
    output(&mut other.devenv(&["env", "init"]));
    assert_ne!(
        other.env_value("DB_PASSWORD"),
        password,
        "a new secret on every run"
    );
}

#[test]
fn a_bad_line_of_a_crlf_env_is_pointed_at_on_its_own_line() {
    let project = TestProject::new(SHOP);
    project.write(
        ".env",
        "DB_PORT=5432\r\n# fine\r\nDB_PASSWORD=two words\r\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["env", "check"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(".env line 3 cannot be parsed"), "{err}");
    assert!(err.contains(".env:3:17"), "{err}");
    assert!(
        err.contains("3 | DB_PASSWORD=two words\n  |                 ^"),
        "the caret sits under `words`: {err}"
    );
}

#[test]
fn a_malformed_env_line_is_reported_with_its_number() {
    let project = TestProject::new(SHOP);
    project.write(
        ".env",
        "DB_PORT=5432\n# fine\nDB_PASSWORD=\"never closed\nCACHE_PORT=6379\n",
    );
    for args in [&["env", "check"][..], &["up"][..]] {
        let (code, _, err) = output(&mut project.devenv(args));
        assert_eq!(code, 1, "{args:?}");
        assert!(
            err.contains(".env line 3 cannot be parsed"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn env_check_lists_findings_with_fixes_and_exit_codes() {
    let project = TestProject::new(SHOP);
    let (code, out, _) = output(&mut project.devenv(&["env", "check"]));
    assert_eq!(code, 1);
    assert_mentions(&out, &["there is no .env", "devenv env init"]);
    project.write(
        ".env",
        "DB_PORT=5432\nDB_PASSWORD=<REPLACE_ME>\nDATABASE_URL=postgres://stale\nLEFTOVER=1\n",
    );
    let (code, out, _) = output(&mut project.devenv(&["env", "check"]));
    assert_eq!(code, 1);
    for expected in [
        "CACHE_PORT: missing",
        "DB_PASSWORD: still set to <REPLACE_ME>",
        "DATABASE_URL: out of date",
        "LEFTOVER: not used by devenv.toml",
        "4 finding(s)",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert_eq!(
        out.matches("    fix: ").count(),
        4,
        "every finding has a fix:\n{out}"
    );
}

/// A stack whose `cache` is created only after `slow` has been ready for a while: the port
/// check has long passed when `cache`'s container starts, which leaves a real window for
/// someone else to take its port.
const SLOW_THEN_CACHE: &str = "[project]\nname = \"{name}\"\n[services.slow]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 2; touch /tmp/ready; exec sleep 300\"]\nhealth = { cmd = [\"test\", \"-f\", \"/tmp/ready\"] }\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\ndepends_on = [\"slow\"]\n";

#[test]
fn a_port_taken_after_the_check_is_remapped_when_the_container_starts() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SLOW_THEN_CACHE, &["CACHE_PORT"]);
    let port: u16 = project.env_value("CACHE_PORT").parse().unwrap();
    let mut up = project.devenv_process(&["up"]);
    let child = up
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `slow` exists only once the port check has passed; take the port while it starts.
    let slow = format!("{}-slow-1", project.name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while docker(&["ps", "-aq", "--filter", &format!("name={slow}")]).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{slow} never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let new_port = project.env_value("CACHE_PORT");
    assert_ne!(new_port, port.to_string(), "{stderr}");
    assert!(
        stderr.contains(&format!("cache: {port} is held by"))
            && stderr.contains(&format!("using {new_port} (CACHE_PORT in .env)")),
        "the move is reported like the port check's: {stderr}"
    );
    assert!(
        !stderr.contains("driver failed") && !stderr.contains("address already in use"),
        "the engine's raw error is never shown: {stderr}"
    );
    assert!(
        stdout.contains(&format!("127.0.0.1:{new_port}")),
        "{stdout}"
    );
    let published = docker(&["port", &format!("{}-cache-1", project.name), "6379/tcp"]);
    assert!(published.ends_with(&format!(":{new_port}")), "{published}");
}
