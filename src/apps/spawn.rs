//! Starting an app: its command in its own session and process group (process-wrap's
//! `ProcessSession`), in its working directory, with its environment, stdin closed and its
//! output appended to `.devenv/logs/<app>.log`; its state file written as soon as it runs.

use super::state::{self, AppState};
use super::stop::{Stopped, stop_tree};
use crate::diagnostic::Diagnostic;
use indexmap::IndexMap;
use process_wrap::tokio::{ChildWrapper, CommandWrap, ProcessSession};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// App name (names the log and state files).
    pub app: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Variables set on top of devenv's own environment.
    pub env: IndexMap<String, String>,
    /// The app's port, recorded in its state.
    pub port: Option<u16>,
    /// What it was started with, hashed (recorded in its state).
    pub fingerprint: String,
}

/// An app this process started and can wait for.
pub struct RunningApp {
    child: Box<dyn ChildWrapper>,
    /// Its recorded state.
    pub state: AppState,
}

/// `.devenv/logs/<app>.log` under `root`.
pub fn log_path(root: &Path, app: &str) -> PathBuf {
    root.join(crate::project::STATE_DIR)
        .join("logs")
        .join(format!("{app}.log"))
}

/// Starts `launch` for the project at `root` and records its state.
pub fn spawn(root: &Path, launch: &Launch) -> Result<RunningApp, Diagnostic> {
    spawn_recorded(root, launch, |_| {})
}

/// [`spawn`], with `complete` filling in what the caller knows (restarts, supervisor) before
/// the state is first written, so that no reader ever sees it without.
pub fn spawn_recorded(
    root: &Path,
    launch: &Launch,
    complete: impl FnOnce(&mut AppState),
) -> Result<RunningApp, Diagnostic> {
    let (program, args) = launch
        .argv
        .split_first()
        .ok_or_else(|| Diagnostic::new(format!("app `{}` has no command", launch.app)))?;
    let log = open_log(root, &launch.app)?;
    let copy = log
        .try_clone()
        .map_err(|e| Diagnostic::new(format!("cannot share the log of `{}`: {e}", launch.app)))?;
    let mut command = CommandWrap::with_new(program, |command| {
        command
            .args(args)
            .current_dir(root.join(&launch.cwd))
            .envs(&launch.env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(copy));
    });
    command.wrap(ProcessSession);
    let child = command.spawn().map_err(|e| {
        Diagnostic::new(format!(
            "cannot start app `{}` (`{program}`): {e}",
            launch.app
        ))
        .with_help(
            "check the app's `command` and `cwd` in devenv.toml; the program must be on PATH",
        )
    })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| Diagnostic::new(format!("app `{}` exited at once", launch.app)))?;
    let mut state = AppState::of_process(&launch.app, pid, launch.port)?;
    state.fingerprint.clone_from(&launch.fingerprint);
    complete(&mut state);
    state::write(root, &state)?;
    Ok(RunningApp { child, state })
}

/// The size past which a log is rotated when the app (re)starts.
pub const LOG_CAP: u64 = 10 * 1024 * 1024;

/// Opens the app's log for appending (creating `.devenv/logs/`); a log past [`LOG_CAP`] is
/// moved to `<app>.log.1` first (replacing the previous one).
pub(crate) fn open_log(root: &Path, app: &str) -> Result<File, Diagnostic> {
    let path = log_path(root, app);
    crate::project::state_dir(root)?;
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_CAP) {
        let mut rotated = path.clone().into_os_string();
        rotated.push(".1");
        std::fs::rename(&path, &rotated)
            .map_err(|e| Diagnostic::new(format!("cannot rotate {}: {e}", path.display())))?;
    }
    std::fs::create_dir_all(path.parent().expect("a log has a directory"))
        .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
        .map_err(|e| Diagnostic::new(format!("cannot open {}: {e}", path.display())))
}

impl RunningApp {
    /// The app's pid.
    pub fn pid(&self) -> i32 {
        self.state.pid
    }

    /// Waits until the app's process exits (its session's other processes reaped as well).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops the whole tree (SIGTERM, SIGKILL after `grace`) and reaps the app's process.
    pub async fn stop(mut self, grace: Duration) -> Stopped {
        let stopped = stop_tree(&self.state, grace).await;
        if stopped != Stopped::AlreadyGone && !matches!(stopped, Stopped::Stale(_)) {
            let _ = self.child.wait().await;
        } else {
            let _ = self.child.try_wait();
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_past_the_cap_is_rotated_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        drop(open_log(dir.path(), "api").unwrap());
        let path = log_path(dir.path(), "api");
        std::fs::write(&path, "small\n").unwrap();
        drop(open_log(dir.path(), "api").unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "small\n",
            "kept under the cap"
        );
        let big = File::options().append(true).open(&path).unwrap();
        big.set_len(LOG_CAP + 1).unwrap();
        drop(open_log(dir.path(), "api").unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "a fresh log");
        let rotated = dir.path().join(".devenv/logs/api.log.1");
        assert_eq!(std::fs::metadata(rotated).unwrap().len(), LOG_CAP + 1);
    }
}
