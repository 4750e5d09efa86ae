//! The state file of a running app, `.devenv/apps/<app>.json`: pid, process start time, boot
//! id, port, restarts and last exit code. A later devenv (`down`, `status`, the next `up`)
//! reads it to find the app again, and [`AppState::liveness`] tells whether the pid still is
//! that app: a pid that is gone, or was reused by another program after a crash or a reboot,
//! is stale and must never be signalled.

use super::proc;
use crate::diagnostic::Diagnostic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What devenv records about a running app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppState {
    /// App name.
    pub app: String,
    /// Pid of the app's process, the leader of its own session and process group.
    pub pid: i32,
    /// Its start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
    /// The boot it was started in.
    pub boot_id: String,
    /// The port it was given.
    pub port: Option<u16>,
    /// How many times the supervisor restarted it after it exited (a restart for a changed
    /// watched file is not counted).
    pub restarts: u32,
    /// The exit code of its last run (negative: the signal that ended it).
    pub last_exit_code: Option<i32>,
    /// The supervisor process watching the app (pid and start time), when there is one.
    #[serde(default)]
    pub supervisor: Option<Process>,
    /// What the app was started with, hashed ([`super::launch`]); empty when unknown.
    #[serde(default)]
    pub fingerprint: String,
    /// Why the app's `watch` misses changes (the inotify watch limit, a missing path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_problem: Option<String>,
}

/// A process as recorded: its pid and start time, so that a reused pid is told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its pid.
    pub pid: i32,
    /// Its start time (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
}

impl Process {
    /// This process.
    pub fn current() -> Option<Self> {
        let pid = std::process::id() as i32;
        Some(Self {
            pid,
            start_time: proc::stat(pid)?.start_time,
        })
    }

    /// Whether the pid is still this process (same start time, not exited).
    pub fn is_alive(&self) -> bool {
        proc::stat(self.pid).is_some_and(|s| s.start_time == self.start_time && !s.is_zombie())
    }
}

/// Whether the process a state file names is still the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The pid is the app's process, as recorded.
    Running,
    /// The state no longer describes a live app.
    Stale(Stale),
}

/// Why a state file is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The machine rebooted since.
    Rebooted,
    /// No process has the pid (or it only waits to be reaped).
    Gone,
    /// Another program has the pid now: its start time differs.
    PidReused {
        /// The start time of the process that has the pid now.
        start_time: u64,
    },
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rebooted => "the machine restarted since",
            Self::Gone => "its process has exited",
            Self::PidReused { .. } => "its pid now belongs to another program",
        })
    }
}

impl AppState {
    /// Records the process `pid` as app `app`, reading its start time and the boot id now.
    pub fn of_process(app: &str, pid: i32, port: Option<u16>) -> Result<Self, Diagnostic> {
        let start_time = proc::stat(pid).map(|s| s.start_time).ok_or_else(|| {
            Diagnostic::new(format!(
                "app `{app}` exited at once (pid {pid} is gone before it could be recorded)"
            ))
            .with_help(format!("see its output in .devenv/logs/{app}.log"))
        })?;
        Ok(Self {
            app: app.to_string(),
            pid,
            start_time,
            boot_id: proc::boot_id().unwrap_or_default(),
            port,
            restarts: 0,
            last_exit_code: None,
            supervisor: None,
            fingerprint: String::new(),
            watch_problem: None,
        })
    }

    /// Whether the recorded pid is still this app's process.
    pub fn liveness(&self) -> Liveness {
        if proc::boot_id().is_some_and(|id| id != self.boot_id) {
            return Liveness::Stale(Stale::Rebooted);
        }
        match proc::stat(self.pid) {
            None => Liveness::Stale(Stale::Gone),
            Some(stat) if stat.start_time != self.start_time => Liveness::Stale(Stale::PidReused {
                start_time: stat.start_time,
            }),
            Some(stat) if stat.is_zombie() => Liveness::Stale(Stale::Gone),
            Some(_) => Liveness::Running,
        }
    }
}

/// `.devenv/apps/<app>.json` under the project `root`.
pub fn path(root: &Path, app: &str) -> PathBuf {
    root.join(crate::project::STATE_DIR)
        .join("apps")
        .join(format!("{app}.json"))
}

/// Writes the state of `state.app` (creating `.devenv/apps/`).
pub fn write(root: &Path, state: &AppState) -> Result<(), Diagnostic> {
    let dir = crate::project::state_dir(root)?.join("apps");
    let file = dir.join(format!("{}.json", state.app));
    let json = serde_json::to_vec_pretty(state).expect("the state serializes");
    std::fs::create_dir_all(&dir)
        .and_then(|()| crate::fsutil::write_atomic(&file, &json, None))
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", file.display())))
}

/// The recorded state of `app`, `None` when there is none.
pub fn read(root: &Path, app: &str) -> Result<Option<AppState>, Diagnostic> {
    let file = path(root, app);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Diagnostic::new(format!(
                "cannot read {}: {e}",
                file.display()
            )));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Diagnostic::new(format!(
            "{} is not a state file devenv wrote: {e}",
            file.display()
        ))
        .with_help("delete it; devenv finds no app to stop there and starts afresh")
    })
}

/// The apps that have a state file under `root`, in name order.
pub fn recorded(root: &Path) -> Vec<String> {
    let dir = root.join(crate::project::STATE_DIR).join("apps");
    let mut apps: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    apps.sort();
    apps
}

/// Removes the state file of `app` (nothing when there is none).
pub fn remove(root: &Path, app: &str) -> Result<(), Diagnostic> {
    let file = path(root, app);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Diagnostic::new(format!(
            "cannot remove {}: {e}",
            file.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_this_process_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let own = std::process::id() as i32;
        let state = AppState::of_process("api", own, Some(8080)).unwrap();
        assert_eq!(state.liveness(), Liveness::Running);
        assert_eq!(read(dir.path(), "api").unwrap(), None);
        write(dir.path(), &state).unwrap();
        assert_eq!(read(dir.path(), "api").unwrap(), Some(state.clone()));
        assert!(dir.path().join(".devenv/.gitignore").exists());
        assert_eq!(recorded(dir.path()), ["api"]);
        remove(dir.path(), "api").unwrap();
        assert!(recorded(dir.path()).is_empty());
        assert_eq!(read(dir.path(), "api").unwrap(), None);
    }

    #[test]
    fn a_different_start_time_or_boot_is_stale() {
        let own = std::process::id() as i32;
        let state = AppState::of_process("api", own, None).unwrap();
        let reused = AppState {
            start_time: state.start_time + 1,
            ..state.clone()
        };
        assert!(matches!(
            reused.liveness(),
            Liveness::Stale(Stale::PidReused { .. })
        ));
        let rebooted = AppState {
            boot_id: "another-boot".into(),
            ..state
        };
        assert_eq!(rebooted.liveness(), Liveness::Stale(Stale::Rebooted));
    }
}
