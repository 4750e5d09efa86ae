//! What `status` says about each app of a stack: read from its state file, checked against the
//! process table (a stale record is reported as such, never as running).

use super::probe::{AppHealth, probe};
use super::state::{self, AppState, Liveness};
use crate::env::Values;
use crate::stack::Stack;
use serde::Serialize;

/// Whether an app runs, as its record and the process table say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppRunState {
    /// Its recorded process is alive.
    Running,
    /// It exited and its supervisor left it stopped.
    Exited,
    /// The recorded process is gone or is another program now.
    Stale,
    /// Nothing is recorded.
    Stopped,
}

impl AppRunState {
    /// The word shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Exited => "exited",
            Self::Stale => "stale",
            Self::Stopped => "stopped",
        }
    }
}

/// One app's row in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppStatus {
    /// App name.
    pub name: String,
    /// Whether it runs.
    pub state: AppRunState,
    /// What its readiness probe says now (`None` unless it runs).
    #[serde(flatten)]
    pub health: Option<AppHealth>,
    /// Why the probe failed, when it runs but does not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unhealthy: Option<String>,
    /// Its process, when recorded.
    pub pid: Option<i32>,
    /// Its port.
    pub port: Option<u16>,
    /// Where it answers.
    pub url: Option<String>,
    /// Seconds since its process started (`None` unless it runs).
    pub uptime_secs: Option<u64>,
    /// How many times its supervisor restarted it.
    pub restarts: u32,
    /// The exit code of its last run (negative: the signal that ended it).
    pub last_exit_code: Option<i32>,
    /// Whether its supervisor is alive (it holds the app's lock).
    pub supervised: bool,
    /// Why its `watch` misses changes (the inotify watch limit, a missing path), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_problem: Option<String>,
}

impl AppStatus {
    /// Whether the app runs and answers its probe.
    pub fn is_healthy(&self) -> bool {
        self.state == AppRunState::Running && self.health.is_some()
    }

    /// The health column: `healthy`, `degraded (cache)`, `unhealthy`, or `-`.
    pub fn health_word(&self) -> String {
        match (&self.health, &self.unhealthy) {
            (Some(health), _) => health.describe(),
            (None, Some(_)) => "unhealthy".into(),
            (None, None) => "-".into(),
        }
    }
}

/// The status of every app of `stack`, in file order; running apps are probed as `up` probes
/// them. An unreadable state file counts as nothing recorded.
pub async fn status(stack: &Stack, values: &Values) -> Vec<AppStatus> {
    let rows = stack.apps.values().map(|app| async move {
        let record = state::read(&stack.root, &app.name).ok().flatten();
        let state = run_state(record.as_ref());
        let port = record.as_ref().and_then(|r| r.port);
        let (health, unhealthy) = if state == AppRunState::Running {
            match probe(stack, app, values, port).await {
                Ok(health) => (Some(health), None),
                Err(why) => (None, Some(why)),
            }
        } else {
            (None, None)
        };
        AppStatus {
            name: app.name.clone(),
            state,
            health,
            unhealthy,
            pid: record.as_ref().map(|r| r.pid),
            port,
            url: port.map(|p| format!("http://127.0.0.1:{p}")),
            uptime_secs: record
                .as_ref()
                .filter(|_| state == AppRunState::Running)
                .and_then(uptime),
            restarts: record.as_ref().map_or(0, |r| r.restarts),
            last_exit_code: record.as_ref().and_then(|r| r.last_exit_code),
            supervised: super::lock::is_held(&stack.root, &app.name),
            watch_problem: record.as_ref().and_then(|r| r.watch_problem.clone()),
        }
    });
    futures_util::future::join_all(rows).await
}

fn run_state(record: Option<&AppState>) -> AppRunState {
    match record {
        None => AppRunState::Stopped,
        Some(r) if r.liveness() == Liveness::Running => AppRunState::Running,
        Some(r) if r.last_exit_code.is_some() => AppRunState::Exited,
        Some(_) => AppRunState::Stale,
    }
}

/// Seconds since the recorded process started, from its start time and the system's uptime.
fn uptime(record: &AppState) -> Option<u64> {
    let since_boot: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    let started = record.start_time / ticks;
    Some((since_boot as u64).saturating_sub(started))
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
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let own = AppState::of_process("b", std::process::id() as i32, Some(free)).unwrap();
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
        let rows = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(status(&stack, &Values::default()));
        let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
        assert_eq!(states, ["stopped", "running", "exited", "stale"]);
        assert_eq!(rows[1].url, Some(format!("http://127.0.0.1:{free}")));
        assert_eq!((rows[2].restarts, rows[2].last_exit_code), (4, Some(3)));
        assert!(!rows[1].supervised);
        assert!(rows[1].uptime_secs.is_some_and(|s| s < 24 * 3600));
        assert_eq!(rows[1].health, None, "nothing listens on its port");
        assert!(rows[1].unhealthy.is_some());
        assert_eq!(rows[1].health_word(), "unhealthy");
    }
}
