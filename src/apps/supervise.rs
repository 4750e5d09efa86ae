//! The supervisor of one app: a devenv process of its own (`devenv supervise APP`, started by
//! `up` in a session of its own so that it outlives it) that starts the app, records it, waits
//! for it, restarts it per its policy with backoff, and on SIGTERM or SIGINT stops the app's
//! whole tree and exits. Its own notes (exits, restarts) go to the app's log.

use super::backoff::{self, Decision, Exit};
use super::spawn::{Launch, log_path, spawn_recorded};
use super::state::{self, Process};
use super::stop::stop_tree;
use crate::diagnostic::Diagnostic;
use crate::stack::RestartPolicy;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Supervises `launch` until told to stop or until its policy leaves it stopped.
pub async fn supervise(
    root: &Path,
    launch: &Launch,
    policy: RestartPolicy,
    grace: Duration,
) -> Result<(), Diagnostic> {
    // Held until this process ends: the kernel's word that the app is supervised.
    let _lock = super::lock::acquire(root, &launch.app)?;
    let mut stop = Stop::listen()?;
    let me = Process::current();
    let (mut restarts, mut failures, mut last_exit_code) = (0, 0, None);
    loop {
        let mut app = spawn_recorded(root, launch, |state| {
            state.restarts = restarts;
            state.last_exit_code = last_exit_code;
            state.supervisor = me;
        })?;
        let started = Instant::now();
        let status = tokio::select! {
            status = app.wait() => status,
            () = stop.requested() => {
                let stopped = app.stop(grace).await;
                note(root, &launch.app, &format!("stopped: {}", stopped.describe()));
                return state::remove(root, &launch.app);
            }
        };
        let exit = match status {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => Exit::Code(1),
            },
            Err(e) => {
                return Err(Diagnostic::new(format!(
                    "waiting for `{}`: {e}",
                    launch.app
                )));
            }
        };
        // What the app's leader left running in its session goes with it.
        let mut record = app.state.clone();
        stop_tree(&record, grace).await;
        last_exit_code = Some(match exit {
            Exit::Code(code) => code,
            Exit::Signal(signal) => -signal,
        });
        record.last_exit_code = last_exit_code;
        state::write(root, &record)?;
        match backoff::decide(policy, exit, failures, started.elapsed()) {
            Decision::Stay => {
                note(
                    root,
                    &launch.app,
                    &format!(
                        "{exit}; not restarted (restart = \"{}\")",
                        policy_name(policy)
                    ),
                );
                return Ok(());
            }
            Decision::Restart { delay, failures: f } => {
                note(
                    root,
                    &launch.app,
                    &format!("{exit}; restarting in {delay:?}"),
                );
                failures = f;
                restarts += 1;
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.requested() => return state::remove(root, &launch.app),
                }
            }
        }
    }
}

fn policy_name(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Never => "never",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Always => "always",
    }
}

/// SIGTERM or SIGINT, whichever comes first.
struct Stop {
    terminate: Signal,
    interrupt: Signal,
}

impl Stop {
    fn listen() -> Result<Self, Diagnostic> {
        let listen =
            |kind| signal(kind).map_err(|e| Diagnostic::new(format!("cannot watch signals: {e}")));
        Ok(Self {
            terminate: listen(SignalKind::terminate())?,
            interrupt: listen(SignalKind::interrupt())?,
        })
    }

    async fn requested(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Appends a line of the supervisor's own to the app's log.
fn note(root: &Path, app: &str, text: &str) {
    let line = format!("[devenv] {app}: {text}\n");
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .append(true)
        .open(log_path(root, app))
    {
        // The log is the only place to say it; a full disk loses the note, not the app.
        let _ = log.write_all(line.as_bytes());
    }
}

/// Starts `devenv_exe --file STACK_FILE supervise APP` detached from this process (a session
/// of its own, no terminal, its own output appended to the app's log), so that it outlives the
/// command that started it. Returns the supervisor's pid.
pub fn start_detached(devenv_exe: &Path, stack_file: &Path, app: &str) -> Result<i32, Diagnostic> {
    use process_wrap::std::{CommandWrap, ProcessSession};
    let root = stack_file.parent().unwrap_or(Path::new("."));
    let log = super::spawn::open_log(root, app)?;
    let copy = log
        .try_clone()
        .map_err(|e| Diagnostic::new(format!("cannot share the log of `{app}`: {e}")))?;
    let mut command = CommandWrap::with_new(devenv_exe, |command| {
        command
            .arg("--file")
            .arg(stack_file)
            .args(["--color", "never", "supervise", app])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(log))
            .stderr(std::process::Stdio::from(copy));
    });
    command.wrap(ProcessSession);
    let child = command
        .spawn()
        .map_err(|e| Diagnostic::new(format!("cannot start the supervisor of app `{app}`: {e}")))?;
    i32::try_from(child.id())
        .map_err(|_| Diagnostic::new(format!("the supervisor of app `{app}` has no usable pid")))
}
