//! The supervisor core for `[apps]`: the project's own processes run on the host. `spawn`
//! starts an app in its own session with its environment and log; `state` records it under
//! `.devenv/apps/` and tells a live app from a stale record; `stop` ends the whole process tree
//! without ever signalling a stranger; `backoff` decides restarts; `proc` reads /proc; `lock`
//! tells a live supervisor by the flock it holds; `watch` and `ignore` restart an app when
//! its files change; `follow` reads app logs as they grow (`up --attach`, `logs -f`, `watch`);
//! `start`, `ports` and `probe` are what `up` does with apps; `status` what `status` shows.

pub mod attach;
pub mod backoff;
pub mod env_file;
pub mod follow;
pub mod ignore;
pub mod lock;
pub mod ports;
pub mod probe;
pub mod proc;
pub mod setup;
pub mod spawn;
pub mod start;
pub mod state;
pub mod status;
pub mod stop;
pub mod supervise;
pub mod watch;

pub use spawn::{Launch, RunningApp, log_path, spawn};
pub use start::{StartKind, StartReport, Started, start_all, stop_all};
pub use state::{AppState, Liveness, Stale};
pub use status::{AppStatus, status};
pub use stop::{DEFAULT_GRACE, Stopped, stop_tree};
pub use supervise::{Watching, start_detached, supervise};

use crate::diagnostic::Diagnostic;
use crate::env::Values;
use crate::stack::{App, Stack};
use indexmap::IndexMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What stopping an app did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppStopped {
    /// Whether its supervisor was running and was told to stop.
    pub supervisor_stopped: bool,
    /// What stopping the app's tree found afterwards (`AlreadyGone` once the supervisor has
    /// stopped it).
    pub tree: Stopped,
}

impl AppStopped {
    /// Whether anything of the app was still running.
    pub fn was_running(&self) -> bool {
        self.supervisor_stopped || !matches!(self.tree, Stopped::AlreadyGone | Stopped::Stale(_))
    }
}

/// Stops app `app` of the project at `root`: its supervisor first, so that nothing restarts
/// it (verified by start time: a reused pid is left alone), then whatever is left of its
/// tree; removes its state file. `None` when no state was recorded.
pub async fn stop_app(
    root: &Path,
    app: &str,
    grace: Duration,
) -> Result<Option<AppStopped>, Diagnostic> {
    let Some(record) = state::read(root, app)? else {
        return Ok(None);
    };
    let supervisor = record.supervisor.filter(state::Process::is_alive);
    if let Some(supervisor) = supervisor
        && let Some(pid) = rustix::process::Pid::from_raw(supervisor.pid)
    {
        // It may exit between the check and the signal; then it has nothing left to do.
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + grace + Duration::from_secs(5);
        while supervisor.is_alive() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let tree = stop_tree(&record, grace).await;
    state::remove(root, app)?;
    Ok(Some(AppStopped {
        supervisor_stopped: supervisor.is_some(),
        tree,
    }))
}

/// Splits the names given to `up NAME...` into services and apps. The services are those
/// named plus those the named apps (and the apps they depend on) depend on; the apps are
/// `None` when no name was given (all of them) and the named ones otherwise (none when only
/// services were named).
pub fn split_selection(
    stack: &Stack,
    names: &[String],
) -> Result<(Vec<String>, Option<Vec<String>>), Diagnostic> {
    if names.is_empty() {
        return Ok((Vec::new(), None));
    }
    let (mut services, mut apps) = (Vec::new(), Vec::new());
    for name in names {
        if stack.services.contains_key(name) {
            services.push(name.clone());
        } else if stack.apps.contains_key(name) {
            apps.push(name.clone());
        } else {
            let known = |keys: Vec<&String>| {
                let names: Vec<&str> = keys.into_iter().map(String::as_str).collect();
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            };
            return Err(Diagnostic::new(format!(
                "no service or app named `{name}` (services: {}; apps: {})",
                known(stack.services.keys().collect()),
                known(stack.apps.keys().collect())
            )));
        }
    }
    let mut todo = apps.clone();
    let mut seen = Vec::new();
    while let Some(app) = todo.pop() {
        if seen.contains(&app) {
            continue;
        }
        for dep in &stack.apps[&app].depends_on {
            if stack.apps.contains_key(dep) {
                todo.push(dep.clone());
            } else if !services.contains(dep) {
                services.push(dep.clone());
            }
        }
        seen.push(app);
    }
    Ok((services, Some(apps)))
}

/// The last `lines` lines of the app's log (`.devenv/logs/<app>.log`); empty when it has none.
pub fn log_tail(root: &Path, app: &str, lines: usize) -> String {
    follow::last_lines(&log_path(root, app), Some(lines as u64)).join("\n")
}

/// The environment an app runs with: every stack variable (ports as currently mapped, every
/// `<APP>_PORT`), the app's own `env` expanded over them, and `PORT` unless `port_env = false`.
pub fn environment(app: &App, values: &Values) -> IndexMap<String, String> {
    let mut env = values.0.clone();
    for (key, template) in &app.env {
        env.insert(key.clone(), values.expand(template));
    }
    if let Some(port) = port(app, values)
        && app.port_env
    {
        env.insert("PORT".into(), port.to_string());
    }
    env
}

/// The app's port for this run: its variable's value (`.env` may override it), else the port
/// written in devenv.toml.
pub fn port(app: &App, values: &Values) -> Option<u16> {
    let port = app.port.as_ref()?;
    Some(
        values
            .get(&port.var)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(port.default),
    )
}

/// What [`spawn`] needs to start `app` of `stack`.
pub fn launch(stack: &Stack, app: &App, values: &Values) -> Launch {
    let argv = match &app.command {
        crate::stack::AppCommand::Shell(line) => {
            vec!["sh".into(), "-c".into(), values.expand(line)]
        }
        crate::stack::AppCommand::Argv(argv) => argv.iter().map(|a| values.expand(a)).collect(),
    };
    let mut launch = Launch {
        app: app.name.clone(),
        argv,
        cwd: stack.root.join(&app.cwd),
        env: environment(app, values),
        port: port(app, values),
        fingerprint: String::new(),
    };
    launch.fingerprint = fingerprint(&launch, env_file::render(app, values).as_deref());
    launch
}

/// A hash of everything an app is started with (command, cwd, environment, port, the text of
/// its `env_file`): a running app whose fingerprint differs from this run's is restarted by
/// `up` (a port moved, `.env` edited, devenv.toml changed).
fn fingerprint(launch: &Launch, env_file: Option<&str>) -> String {
    let mut env: Vec<(&String, &String)> = launch.env.iter().collect();
    env.sort();
    let text = serde_json::json!({
        "argv": launch.argv,
        "cwd": launch.cwd,
        "env": env,
        "port": launch.port,
        "env_file": env_file,
    });
    crate::hash::sha256_hex(&text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_gets_the_stack_values_its_env_and_port() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[project]\nname = \"x\"\n[apps.api]\ncommand = \"serve --port ${API_PORT}\"\nport = 8080\nenv = { URL = \"http://127.0.0.1:${API_PORT}\" }\n[apps.web]\ncommand = [\"vite\", \"--port\", \"${WEB_PORT}\"]\nport = 5173\nport_env = false\n";
        std::fs::write(dir.path().join("devenv.toml"), text).unwrap();
        std::fs::write(dir.path().join(".env"), "API_PORT=9000\n").unwrap();
        let stack = crate::stack::load(&dir.path().join("devenv.toml")).unwrap();
        let values = crate::env::load(&stack).unwrap().values;
        let api = launch(&stack, &stack.apps["api"], &values);
        assert_eq!(api.argv, ["sh", "-c", "serve --port 9000"]);
        assert_eq!(api.env["PORT"], "9000");
        assert_eq!(api.env["URL"], "http://127.0.0.1:9000");
        assert_eq!(api.env["WEB_PORT"], "5173");
        assert_eq!(api.port, Some(9000));
        let web = launch(&stack, &stack.apps["web"], &values);
        assert_eq!(web.argv, ["vite", "--port", "5173"]);
        assert!(!web.env.contains_key("PORT"), "port_env = false");
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(split_selection(&stack, &[]).unwrap(), (vec![], None));
        assert_eq!(
            split_selection(&stack, &names(&["web"])).unwrap(),
            (vec![], Some(names(&["web"])))
        );
        assert!(
            split_selection(&stack, &names(&["nope"]))
                .unwrap_err()
                .message
                .contains("apps: api, web")
        );
        assert_ne!(api.fingerprint, web.fingerprint);
        std::fs::write(dir.path().join(".env"), "API_PORT=9001\n").unwrap();
        let values = crate::env::load(&stack).unwrap().values;
        let moved = launch(&stack, &stack.apps["web"], &values);
        assert_ne!(moved.fingerprint, web.fingerprint, "WEB gets API_PORT");
        assert_eq!(
            launch(&stack, &stack.apps["web"], &values).fingerprint,
            moved.fingerprint
        );
    }
}
