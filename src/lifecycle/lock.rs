//! One `devenv up`/`down` at a time per project: an OS file lock, released when the process
//! ends however it ends (so a killed run never leaves a stale lock).

use crate::source::Diagnostic;
use crate::ui::Ui;
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

/// Held while an operation changes the project's containers.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// Where the lock of a project lives.
pub fn lock_path(project: &str) -> PathBuf {
    std::env::temp_dir().join(format!("devenv-{project}.lock"))
}

/// Takes the project lock, waiting (up to `wait`) while another devenv holds it.
pub async fn acquire(project: &str, ui: &Ui, wait: Duration) -> Result<ProjectLock, Diagnostic> {
    let path = lock_path(project);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            Diagnostic::new(format!("cannot open the lock file {}: {e}", path.display()))
        })?;
    match file.try_lock() {
        Ok(()) => return Ok(ProjectLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Diagnostic::new(format!(
                "cannot lock {}: {e}",
                path.display()
            )));
        }
    }
    ui.info(format!(
        "another devenv is changing project `{project}`; waiting for it to finish"
    ));
    let waited = tokio::time::timeout(
        wait,
        tokio::task::spawn_blocking(move || file.lock().map(|()| file)),
    )
    .await;
    match waited {
        Ok(Ok(Ok(file))) => Ok(ProjectLock { _file: file }),
        Ok(Ok(Err(e))) => Err(Diagnostic::new(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
        Ok(Err(e)) => Err(Diagnostic::new(format!(
            "waiting for the project lock failed: {e}"
        ))),
        Err(_) => Err(Diagnostic::new(format!(
            "another devenv has been changing project `{project}` for over {}s",
            wait.as_secs()
        ))
        .with_help(format!(
            "wait for it to finish, or stop it; its lock is {}",
            path.display()
        ))),
    }
}
