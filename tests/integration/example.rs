//! The bundled example as a whole project, copied to a temporary directory: `up` with the real
//! engine and real processes (the api's virtualenv installed from PyPI by its setup, the Node
//! web server), the api's health and the web page through its proxy, the api's own tests
//! through `devenv run`, and `down` leaving no process of the apps behind.

use crate::support::*;
use devenv::apps::{self, proc};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// What a checkout of the example does not carry: made by `up`, a setup or a run, or (the
/// devenv.toml) written by the test project with its own name.
const NOT_COPIED: &[&str] = &[
    "devenv.toml",
    ".env",
    ".devenv",
    ".venv",
    "__pycache__",
    ".env.local",
    "node_modules",
];

/// The products the example's seed inserts.
const SEEDED: [&str; 3] = ["Enamel mug", "Organic cotton tee", "Canvas tote bag"];

/// A copy of examples/shop with free ports, when Docker, Python's venv and Node are there.
fn example() -> Option<WithApps> {
    let venv = has_program("python3", &["-c", "import venv, ensurepip"]);
    if !require("python3 with venv and ensurepip", venv)
        || !require("node", has_program("node", &["--version"]))
    {
        return None;
    }
    let project = engine_project(
        SHOP_EXAMPLE,
        &["DB_PORT", "CACHE_PORT", "API_PORT", "WEB_PORT"],
    )?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    copy_tree(&source, project.root());
    Some(WithApps(project))
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if NOT_COPIED.iter().any(|n| name == *n) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `GET path` on 127.0.0.1:port: (status code, body).
fn get(port: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, body.to_string())
}

/// The pids of an app: its supervisor and every process of its session.
fn app_processes(project: &TestProject, app: &str) -> Vec<i32> {
    let state = apps::state::read(project.root(), app)
        .unwrap()
        .unwrap_or_else(|| panic!("app `{app}` has no state"));
    let mut pids: Vec<i32> = proc::session_members(state.pid)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    assert!(pids.contains(&state.pid), "app `{app}`: its leader is gone");
    pids.push(state.supervisor.expect("a supervisor is recorded").pid);
    pids
}

#[test]
fn the_example_comes_up_serves_its_seeded_products_and_goes_down_without_a_process_left() {
    let Some(project) = example() else {
        return;
    };
    let (_, err) = project.up_ok(&[]);
    assert_mentions(
        &err,
        &[
            "api setup | Successfully installed",
            "app `api` running",
            "app `web` running",
        ],
    );
    let (api, web) = (project.env_value("API_PORT"), project.env_value("WEB_PORT"));

    let (status, body) = get(&api, "/health");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["checks"]["db"]["status"], "ok", "{health}");
    assert_eq!(health["checks"]["cache"]["status"], "ok", "{health}");

    assert!(
        project
            .read("web/.env.local")
            .ends_with(&format!("API_URL=http://127.0.0.1:{api}\n")),
        "the web app is told where the api is"
    );
    let (status, page) = get(&web, "/");
    assert_eq!(status, 200, "{page}");
    let items: Vec<String> = SEEDED.iter().map(|name| format!("<li>{name}: ")).collect();
    assert_mentions(&page, &items.iter().map(String::as_str).collect::<Vec<_>>());
    let (status, proxied) = get(&web, "/api/products");
    assert_eq!(status, 200, "{proxied}");
    let proxied: serde_json::Value = serde_json::from_str(&proxied).unwrap();
    let names: Vec<&str> = proxied["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, SEEDED, "the products through the web app's proxy");
    assert!(
        proxied["views"].as_i64().unwrap() >= 2,
        "views counted in Redis"
    );

    // The api's own tests, as the guide says to run them.
    let (code, out, err) = output(&mut project.devenv(&[
        "-C",
        "api",
        "run",
        "--",
        ".venv/bin/python",
        "-m",
        "unittest",
    ]));
    assert_eq!(code, 0, "the api's tests:\n{out}\n{err}");
    assert_mentions(&err, &["Ran 3 tests", "OK"]);

    let processes = [
        app_processes(&project, "api"),
        app_processes(&project, "web"),
    ]
    .concat();
    let (_, down) = project.run_ok(&["down"]);
    assert_mentions(&down, &["stopped apps: api, web"]);
    let alive: Vec<i32> = processes
        .into_iter()
        .filter(|pid| proc::is_running(*pid))
        .collect();
    assert_eq!(alive, [] as [i32; 0], "processes of the apps still alive");
    assert!(apps::state::recorded(project.root()).is_empty());
    assert_eq!(project.running_containers(), [] as [String; 0]);
}
