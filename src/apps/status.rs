//! What `status` says about each app of a stack: read from its state file, checked against the
//! process table (a stale record is reported as such, never as running).

use super::state::{self, Liveness};
use crate::stack::Stack;
use serde::Serialize;

/// One app's row in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppStatus {
    /// App name.
    pub name: String,
    /// `running`, `exited` (its supervisor left it stopped), `stale` (the recorded process is
    /// gone or another program's) or `stopped` (nothing recorded).
    pub state: &'static str,
    /// Its process, when recorded.
    pub pid: Option<i32>,
    /// Its port.
    pub port: Option<u16>,
    /// Where it answers.
    pub url: Option<String>,
    /// How many times its supervisor restarted it.
    pub restarts: u32,
    /// The exit code of its last run (negative: the signal that ended it).
    pub last_exit_code: Option<i32>,
    /// Whether its supervisor is alive.
    pub supervised: bool,
    /// Why its `watch` misses changes (the inotify watch limit, a missing path), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_problem: Option<String>,
}

impl AppStatus {
    /// Whether the app is running.
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// The status of every app of `stack`, in file order. An unreadable state file counts as
/// nothing recorded.
pub fn status(stack: &Stack) -> Vec<AppStatus> {
    stack
        .apps
        .keys()
        .map(|name| {
            let record = state::read(&stack.root, name).ok().flatten();
            let liveness = record.as_ref().map(state::AppState::liveness);
            let state = match (&record, &liveness) {
                (None, _) => "stopped",
                (Some(_), Some(Liveness::Running)) => "running",
                (Some(r), _) if r.last_exit_code.is_some() => "exited",
                (Some(_), _) => "stale",
            };
            let port = record.as_ref().and_then(|r| r.port);
            AppStatus {
                name: name.clone(),
                state,
                pid: record.as_ref().map(|r| r.pid),
                port,
                url: port.map(|p| format!("http://127.0.0.1:{p}")),
                restarts: record.as_ref().map_or(0, |r| r.restarts),
                last_exit_code: record.as_ref().and_then(|r| r.last_exit_code),
                supervised: record
                    .as_ref()
                    .and_then(|r| r.supervisor)
                    .is_some_and(|s| s.is_alive()),
                watch_problem: record.as_ref().and_then(|r| r.watch_problem.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::AppState;

    #[test]
    fn states_come_from_the_record_checked_against_the_process_table() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[project]\nname = \"x\"\n[apps.a]\ncommand = \"x\"\n[apps.b]\ncommand = \"x\"\nport = 8080\n[apps.c]\ncommand = \"x\"\n[apps.d]\ncommand = \"x\"\n";
        std::fs::write(dir.path().join("devenv.toml"), text).unwrap();
        let stack = crate::stack::load(&dir.path().join("devenv.toml")).unwrap();
        let own = AppState::of_process("b", std::process::id() as i32, Some(8080)).unwrap();
        state::write(dir.path(), &own).unwrap();
        let gone = AppState {
            app: "c".into(),
            start_time: own.start_time + 1,
            last_exit_code: Some(3),
            restarts: 4,
            ..own.clone()
        };
        state::write(dir.path(), &gone).unwrap();
        let stale = AppState {
            app: "d".into(),
            start_time: own.start_time + 1,
            ..own.clone()
        };
        state::write(dir.path(), &stale).unwrap();
        let rows = status(&stack);
        let states: Vec<&str> = rows.iter().map(|r| r.state).collect();
        assert_eq!(states, ["stopped", "running", "exited", "stale"]);
        assert_eq!(rows[1].url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!((rows[2].restarts, rows[2].last_exit_code), (4, Some(3)));
        assert!(!rows[1].supervised);
    }
}
