//! The supervisor's lock, `.devenv/apps/<app>.lock`: an exclusive `flock` held for as long as
//! the supervisor lives. The kernel releases it when the process ends, however it ends (a
//! closed terminal, `kill -9`, a crash), so it answers "is the supervisor alive" without
//! trusting a pid file, and a second supervisor of the same app cannot start. The file is
//! opened close-on-exec: the app never inherits it.

use crate::diagnostic::Diagnostic;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The held lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct SupervisorLock {
    _file: File,
}

/// `.devenv/apps/<app>.lock` under `root`.
pub fn path(root: &Path, app: &str) -> PathBuf {
    super::state::path(root, app).with_extension("lock")
}

/// Takes `app`'s lock; fails when another live supervisor holds it.
pub fn acquire(root: &Path, app: &str) -> Result<SupervisorLock, Diagnostic> {
    let path = path(root, app);
    match crate::fsutil::try_lock_file(&path) {
        Ok(Some(file)) => Ok(SupervisorLock { _file: file }),
        Ok(None) => Err(Diagnostic::new(format!(
            "app `{app}` already has a supervisor (it holds {})",
            path.display()
        ))
        .with_help(format!(
            "`devenv status` shows it; `devenv restart {app}` replaces it"
        ))),
        Err(e) => Err(Diagnostic::new(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Whether a live supervisor holds `app`'s lock.
pub fn is_held(root: &Path, app: &str) -> bool {
    crate::fsutil::lock_is_held(&path(root, app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_held_until_dropped_and_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_held(dir.path(), "api"));
        let lock = acquire(dir.path(), "api").unwrap();
        assert!(is_held(dir.path(), "api"));
        let second = acquire(dir.path(), "api").unwrap_err();
        assert!(
            second.message.contains("already has a supervisor"),
            "{second}"
        );
        drop(lock);
        assert!(!is_held(dir.path(), "api"));
        acquire(dir.path(), "api").unwrap();
    }
}
