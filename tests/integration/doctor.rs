//! `devenv doctor`: each broken situation made for real, found with the right fix, and
//! `--fix` repairing what it safely can.

use crate::support::*;

fn doctor_json(project: &TestProject, extra_env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut cmd = project.devenv(&["doctor", "--json"]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let (code, out, err) = output(&mut cmd);
    let value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}):\n{out}\n{err}"));
    (code, value)
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}` in {report}"))
}

fn assert_check(report: &serde_json::Value, id: &str, status: &str, fix_mentions: &str) {
    let c = check(report, id);
    assert_eq!(c["status"], status, "{id}: {c}");
    let fix = c["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains(fix_mentions),
        "{id}: fix `{fix}` should mention `{fix_mentions}`"
    );
}

/// The example stack with one migration, up and migrated, when Docker is there.
fn shop_up_with_a_migration() -> Option<TestProject> {
    let project = shop()?;
    project.write("migrations/0001_t.sql", "CREATE TABLE t (id INT);\n");
    project.up_ok(&[]);
    Some(project)
}

#[test]
fn a_healthy_stack_is_all_green() {
    let Some(project) = shop_up_with_a_migration() else {
        return;
    };
    project.run_ok(&["generate"]);
    let (code, report) = doctor_json(&project, &[]);
    let not_ok: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "ok")
        .collect();
    assert!(not_ok.is_empty(), "a healthy stack: {not_ok:?}");
    assert_eq!(code, 0);
    let (out, _) = project.run_ok(&["doctor"]);
    assert!(
        out.lines()
            .filter(|l| !l.contains(" checks: "))
            .all(|l| l.starts_with("✓ ")),
        "{out}"
    );
}

#[test]
fn without_docker_doctor_still_checks_the_project() {
    let project = TestProject::new(SHOP);
    let (code, report) = doctor_json(
        &project,
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(code, 1);
    assert_check(&report, "daemon", "fail", "DOCKER_HOST");
    assert_check(&report, "env-file", "fail", "devenv env init");
    assert_check(&report, "generated-files", "warn", "devenv generate");
    assert_eq!(check(&report, "stack-file")["status"], "ok");
}

#[test]
fn broken_project_files_are_found_and_fixed() {
    // With the engine reachable and the images mapped, only what the test breaks can fail.
    let Some(project) = engine_project(SHOP, &[]) else {
        return;
    };
    let (_listener, held) = held_port();
    std::fs::remove_file(project.path(".env")).unwrap();
    project.run_ok(&["generate"]);
    project.run_ok(&["env", "init"]);
    // Stale generated file, a missing .env key, a port held by a test listener.
    let stack = project
        .read("devenv.toml")
        .replace("image = \"redis:7\"", "image = \"redis:7.2\"");
    project.write("devenv.toml", &stack);
    let old_port = project.env_value("DB_PORT");
    let env: String = project
        .read(".env")
        .replace(
            &format!("127.0.0.1:{old_port}/"),
            &format!("127.0.0.1:{held}/"),
        )
        .lines()
        .filter(|l| !l.starts_with("CACHE_PORT="))
        .map(|l| {
            if l.starts_with("DB_PORT=") {
                format!("DB_PORT={held}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    project.write(".env", &env);
    let (code, report) = doctor_json(&project, &[]);
    assert_eq!(code, 1);
    assert_check(&report, "generated-files", "fail", "devenv generate");
    assert_check(&report, "env-keys", "fail", "devenv env init");
    assert_check(&report, "ports", "fail", "devenv up");
    let ports = check(&report, "ports")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert_mentions(
        &ports,
        &[
            &format!("db: {held} is held by"),
            &format!("pid {}", std::process::id()),
        ],
    );

    let (code, _, err) = output(&mut project.devenv(&["doctor", "--fix"]));
    assert_mentions(
        &err,
        &[
            "fixed: regenerated docker-compose.yml",
            "fixed: added CACHE_PORT to .env",
            &format!("fixed: db: {held} is held by"),
        ],
    );
    assert_eq!(code, 0, "everything broken was fixed: {err}");
    let (code, report) = doctor_json(&project, &[]);
    for id in ["generated-files", "env-keys", "ports"] {
        assert_eq!(
            check(&report, id)["status"],
            "ok",
            "{id} after --fix: {}",
            check(&report, id)
        );
    }
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_crashed_container_and_migration_problems_are_named() {
    let Some(project) = shop_up_with_a_migration() else {
        return;
    };
    // A container killed with exit 1.
    docker(&["kill", "--signal", "KILL", &project.container("cache")]);
    // A pending migration and an edited applied one.
    project.write("migrations/0002_more.sql", "CREATE TABLE more (id INT);\n");
    let (_, report) = doctor_json(&project, &[]);
    assert_check(&report, "service:cache", "fail", "devenv logs cache");
    assert!(
        check(&report, "service:cache")["detail"]
            .as_str()
            .unwrap()
            .contains("exit code"),
        "{report}"
    );
    assert_check(&report, "migrations", "warn", "devenv migrate");
    project.write("migrations/0001_t.sql", "CREATE TABLE t (id BIGINT);\n");
    let (code, report) = doctor_json(&project, &[]);
    assert_eq!(code, 1);
    assert_check(&report, "migrations", "fail", "devenv db reset");

    // --fix starts the stopped service; the edited migration is the user's to settle.
    let (code, _, err) = output(&mut project.devenv(&["doctor", "--fix"]));
    assert_eq!(code, 1, "the edited migration still fails: {err}");
    let (_, report) = doctor_json(&project, &[]);
    assert_eq!(
        check(&report, "service:cache")["status"],
        "ok",
        "--fix started the stopped service: {report}"
    );
}

#[test]
fn a_fix_that_cannot_be_made_is_a_warning_not_a_fix() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = listener.local_addr().unwrap().port();
    let project = TestProject::new(&format!(
        "[project]\nname = \"{{name}}\"\n\n[services.cache]\nimage = \"redis:7\"\nports = [\"{held}:6379\"]\n"
    ));
    project.write(".env", "");
    let (code, _, err) = output(
        project
            .devenv(&["doctor", "--fix"])
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("warning: could not remap ports"), "{err}");
    assert!(!err.contains("fixed: could not"), "{err}");
    drop(listener);
}
