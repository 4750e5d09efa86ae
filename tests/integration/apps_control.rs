//! Apps under `up`, `status`, `restart` and `doctor` with real processes: ports held by other
//! programs, restarts when what an app runs with changes, the `/health` report, commands
//! that daemonise or listen elsewhere, and `up`/`restart` by app name.

use crate::support::*;
use std::time::Duration;

/// Two apps: `api` (a health server answering with the contents of `health.json`) and `web`,
/// which depends on it and gets its URL through a generated env file.
const STACK: &str = r#"[project]
name = "{name}"

[apps.api]
command = "exec python3 health_server.py"
port = 8080
health = { http = "/health" }

[apps.web]
command = "exec python3 -m http.server --bind 127.0.0.1 $$PORT"
port = 5173
depends_on = ["api"]
health = { http = "/" }
env_file = { path = "web/.env.local", vars = { API_URL = "http://127.0.0.1:${API_PORT}" } }
"#;

/// Serves `health.json` (re-read on every request) on `$PORT`.
const HEALTH_SERVER: &str = r#"import http.server, os

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open("health.json", "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Health).serve_forever()
"#;

fn project(stack: &str) -> Option<WithApps> {
    if !require("python3", has_program("python3", &["--version"])) {
        return None;
    }
    let project = engine_project(stack, &["API_PORT", "WEB_PORT"])?;
    project.write("health_server.py", HEALTH_SERVER);
    project.write("health.json", r#"{"status":"ok","checks":{"db":"ok"}}"#);
    project.write("web/index.html", "<h1>web</h1>\n");
    Some(WithApps(project))
}

fn status_json(project: &TestProject) -> (i32, serde_json::Value) {
    let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
    (code, serde_json::from_str(&out).unwrap())
}

fn app_pid(project: &TestProject, app: &str) -> i32 {
    devenv::apps::state::read(project.root(), app)
        .unwrap()
        .unwrap_or_else(|| panic!("no state for `{app}`"))
        .pid
}

#[test]
fn an_app_port_held_by_another_program_moves_and_the_env_file_follows() {
    let Some(project) = project(STACK) else {
        return;
    };
    let (_holder, held) = held_port();
    project.write(
        ".env",
        &format!("API_PORT={held}\nWEB_PORT={}\n", free_port()),
    );
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &[&format!("app `api`: port {held} is held by")]);
    let moved = project.env_value("API_PORT");
    assert_ne!(moved, held.to_string());
    assert!(
        project
            .read("web/.env.local")
            .ends_with(&format!("API_URL=http://127.0.0.1:{moved}\n")),
        "the frontend's env file names the new port"
    );
    let (code, status) = status_json(&project);
    assert_eq!(code, 0, "{status}");
    assert_eq!(
        status["apps"][0]["url"],
        format!("http://127.0.0.1:{moved}")
    );
    assert_eq!(status["apps"][0]["health"], "healthy");
}

#[test]
fn a_running_app_is_restarted_when_a_port_it_uses_moves() {
    let Some(project) = project(STACK) else {
        return;
    };
    project.up_ok(&[]);
    let web = app_pid(&project, "web");
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &["nothing to change", "app `web` already running"]);
    let port = free_port();
    let env = project.read(".env");
    let old = project.env_value("API_PORT");
    project.write(
        ".env",
        &env.replace(&format!("API_PORT={old}"), &format!("API_PORT={port}")),
    );
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &["app `api` restarted", "app `web` restarted"]);
    assert_ne!(app_pid(&project, "web"), web);
    assert!(
        project
            .read("web/.env.local")
            .ends_with(&format!(":{port}\n"))
    );
}

#[test]
fn the_health_report_decides_healthy_degraded_and_down() {
    let Some(project) = project(STACK) else {
        return;
    };
    project.write(
        "health.json",
        r#"{"status":"degraded","checks":{"db":"ok","cache":{"status":"down"}}}"#,
    );
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &["app `api` reports itself degraded: failing cache"]);
    let (code, status) = status_json(&project);
    assert_eq!(code, 0, "degraded is ready: {status}");
    assert_eq!(status["apps"][0]["health"], "degraded");
    assert_eq!(status["apps"][0]["failing"], serde_json::json!(["cache"]));
    project.write("health.json", r#"{"status":"down","checks":{"db":"down"}}"#);
    let (code, status) = status_json(&project);
    assert_eq!(code, 1, "down is not ready: {status}");
    assert_eq!(status["apps"][0]["health"], serde_json::Value::Null);
    assert_mentions(
        status["apps"][0]["unhealthy"].as_str().unwrap(),
        &["reports the app down (failing: db)"],
    );
    let (_, doctor, _) = output(&mut project.devenv(&["doctor", "--json"]));
    let doctor: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    let check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "app:api")
        .unwrap_or_else(|| panic!("no app:api check in {doctor}"));
    assert_eq!(check["status"], "fail", "{check}");
    assert_mentions(check["fix"].as_str().unwrap(), &["devenv logs api"]);
}

#[test]
fn a_command_that_daemonises_itself_fails_up_saying_so() {
    let stack = "[project]\nname = \"{name}\"\n[apps.api]\ncommand = \"sleep 300 &\"\n";
    let Some(project) = project(stack) else {
        return;
    };
    let err = project.fails(&["up"]);
    assert_mentions(
        &err,
        &[
            "app `api` exited with code 0 at once",
            "put itself in the background",
            "foreground",
        ],
    );
    assert!(
        devenv::apps::state::recorded(project.root()).is_empty(),
        "its supervisor and what it left are stopped"
    );
}

#[test]
fn an_app_listening_on_another_port_than_its_own_is_named() {
    let other = free_port();
    let stack = format!(
        "[project]\nname = \"{{name}}\"\n[apps.web]\ncommand = \"exec python3 -m http.server --bind 127.0.0.1 {other}\"\nport = 5173\n"
    );
    let Some(project) = project(&stack) else {
        return;
    };
    let own = project.env_value("WEB_PORT");
    let err = project.fails(&["up", "--timeout", "30"]);
    assert_mentions(
        &err,
        &[
            &format!("app `web` listens on port {other} instead of its port {own}"),
            "--port ${WEB_PORT}",
        ],
    );
}

#[test]
fn up_and_restart_take_app_names() {
    let Some(project) = project(STACK) else {
        return;
    };
    let (_, err) = project.up_ok(&["api"]);
    assert_mentions(&err, &["app `api` running"]);
    assert!(
        devenv::apps::state::read(project.root(), "web")
            .unwrap()
            .is_none(),
        "`up api` started web"
    );
    let api = app_pid(&project, "api");
    let (_, err) = project.run_ok(&["restart", "api"]);
    assert_mentions(&err, &["app `api` restarted (pid"]);
    let restarted = app_pid(&project, "api");
    assert_ne!(restarted, api);
    assert!(
        !devenv::apps::proc::is_running(api),
        "the old process lives"
    );
    let (_, json, _) = output(&mut project.devenv(&["doctor", "--json"]));
    let doctor: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<&str> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "ok")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"app:api") && ids.contains(&"app:web"),
        "{doctor}"
    );
    let err = project.fails(&["up", "nope"]);
    assert_mentions(&err, &["no service or app named `nope`", "apps: api, web"]);
}

#[test]
fn an_app_whose_supervisor_was_killed_is_taken_over_by_the_next_up() {
    let Some(project) = project(STACK) else {
        return;
    };
    project.up_ok(&["api"]);
    let state = devenv::apps::state::read(project.root(), "api")
        .unwrap()
        .unwrap();
    let supervisor = state.supervisor.unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &supervisor.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_until("the supervisor is gone", Duration::from_secs(10), || {
        !supervisor.is_alive()
    });
    let (_, status) = status_json(&project);
    assert_eq!(status["apps"][0]["supervised"], false, "{status}");
    let (_, err) = project.up_ok(&["api"]);
    assert_mentions(&err, &["restarting app `api`: its supervisor is gone"]);
    assert!(
        !devenv::apps::proc::is_running(state.pid),
        "the orphan lives"
    );
    let (_, status) = status_json(&project);
    assert_eq!(status["apps"][0]["supervised"], true, "{status}");
}
