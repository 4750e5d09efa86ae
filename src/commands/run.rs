//! `devenv run -- CMD ARGS`: a command run with the stack's environment (every variable of
//! the stack as `.env` and the process environment resolve it, ports as currently mapped,
//! each app's `<APP>_PORT`), standard streams inherited, its exit code passed on.

use super::runtime::block_on_uninterrupted;
use crate::diagnostic::Diagnostic;
use crate::env;
use crate::error::{Error, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use tokio::signal::unix::{SignalKind, signal};

/// Runs `devenv run`.
pub fn run(file: Option<&Path>, command: &[String]) -> Result<()> {
    let stack = crate::project::load(file)?;
    let loaded = env::load(&stack)?;
    let Some((program, args)) = command.split_first() else {
        return Err(Error::usage(
            "name the command to run: `devenv run -- CMD ARGS`",
        ));
    };
    let mut child = tokio::process::Command::new(program);
    child.args(args).envs(&loaded.values.0);
    let status = block_on_uninterrupted(wait_forwarding_signals(child, program))?;
    match exit_code(status) {
        0 => Ok(()),
        code => Err(Error::Exited {
            program: program.clone(),
            code,
        }),
    }
}

/// Spawns the command and waits for it. Ctrl-C reaches the command from the terminal (it is
/// in the foreground process group), so devenv only waits for it to exit; SIGTERM and SIGHUP
/// sent to devenv are passed on to it.
async fn wait_forwarding_signals(
    mut command: tokio::process::Command,
    program: &str,
) -> Result<ExitStatus> {
    let mut child = command.spawn().map_err(|e| {
        Error::failure(
            Diagnostic::new(format!("cannot run `{program}`: {e}"))
                .with_help("check the command's name and that it is on PATH"),
        )
    })?;
    let signal_error =
        |e: std::io::Error| Error::failure(Diagnostic::new(format!("cannot watch signals: {e}")));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let pid = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    loop {
        let forwarded = tokio::select! {
            status = child.wait() => {
                return status.map_err(|e| {
                    Error::failure(Diagnostic::new(format!("waiting for `{program}` failed: {e}")))
                });
            }
            _ = interrupt.recv() => None,
            _ = terminate.recv() => Some(rustix::process::Signal::TERM),
            _ = hangup.recv() => Some(rustix::process::Signal::HUP),
        };
        if let (Some(forward), Some(pid)) = (forwarded, pid) {
            // The child may have exited in the meantime; then there is no one to tell.
            let _ = rustix::process::kill_process(pid, forward);
        }
    }
}

/// The code a shell would report: the exit code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(signal)) => (128 + signal).clamp(1, 255) as u8,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_shells() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137, "SIGKILL");
    }
}
