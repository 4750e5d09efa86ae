//! One `devenv up`/`down` at a time per project: an OS file lock on `.devenv/lock` inside the
//! project, released when the process ends however it ends (so a killed run never leaves a
//! stale lock).

use crate::diagnostic::Diagnostic;
use crate::ui::Ui;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Held while an operation changes the project's containers.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// Where the lock of the project rooted at `root` lives: `<root>/.devenv/lock`.
///
/// The file stays after the lock is released: unlinking a locked file races with a process
/// waiting on it (the waiter would hold a lock on a file a newcomer no longer sees). Keeping it
/// is harmless inside `.devenv/`, which git ignores through its own `.gitignore`.
pub fn lock_path(root: &Path) -> PathBuf {
    root.join(crate::project::STATE_DIR).join("lock")
}

/// Creates `.devenv/` with a `.gitignore` of `*` (so it ignores itself) and opens the lock file.
fn open_lock_file(root: &Path) -> Result<(File, PathBuf), Diagnostic> {
    let dir = crate::project::state_dir(root)?;
    let cannot = |what: &str, path: &Path, e: std::io::Error| {
        Diagnostic::new(format!("cannot {what} {}: {e}", path.display())).with_help(format!(
            "devenv keeps its project lock in {}; make the project directory writable",
            dir.display()
        ))
    };
    let path = lock_path(root);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| cannot("open the lock file", &path, e))?;
    Ok((file, path))
}

/// Takes the lock of the project rooted at `root` (named `project` in messages), waiting (up
/// to `wait`) while another devenv holds it.
pub async fn acquire(
    root: &Path,
    project: &str,
    ui: &Ui,
    wait: Duration,
) -> Result<ProjectLock, Diagnostic> {
    let (file, path) = open_lock_file(root)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_lives_in_a_self_ignoring_devenv_directory_and_excludes_a_second_holder() {
        let root = tempfile::tempdir().unwrap();
        let (held, path) = open_lock_file(root.path()).unwrap();
        assert_eq!(path, root.path().join(".devenv/lock"));
        held.try_lock().unwrap();
        let ignore = std::fs::read_to_string(root.path().join(".devenv/.gitignore")).unwrap();
        assert_eq!(ignore, "*\n");
        let (second, _) = open_lock_file(root.path()).unwrap();
        assert!(matches!(
            second.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        second.try_lock().unwrap();
        assert!(path.exists(), "released, never unlinked");
    }

    #[test]
    fn an_unwritable_project_directory_is_named_with_the_fix() {
        let root = tempfile::tempdir().unwrap();
        let file_in_the_way = root.path().join("project");
        std::fs::write(&file_in_the_way, "").unwrap();
        let error = open_lock_file(&file_in_the_way).unwrap_err().to_string();
        assert!(error.contains(".devenv"), "{error}");
        assert!(
            error.contains("make the project directory writable"),
            "{error}"
        );
    }
}
