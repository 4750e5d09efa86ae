//! The questions devenv asks git about a project's files: is the project in a work tree, does
//! git ignore a path, does git track it; and adding a generated file to `.gitignore`. devenv
//! never changes the index.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether `dir` lies inside a git work tree (a `.git` directory, or file for linked
/// worktrees, in it or an ancestor).
pub fn in_work_tree(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// Whether git ignores `file` (relative to `dir`). When git cannot answer (not installed, or
/// the repository is unreadable), `.gitignore` in `dir` is read for a line naming the file.
pub fn is_ignored(dir: &Path, file: &str) -> bool {
    let status = Command::new("git")
        .args(["check-ignore", "-q", "--", file])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => true,
        Ok(Some(1)) => false,
        _ => listed_in_gitignore(dir, file),
    }
}

/// Whether `file` (relative to `dir`) is in git's index, i.e. its content goes into the next
/// commit even when `.gitignore` names it. False when git cannot answer.
pub fn is_tracked(dir: &Path, file: &str) -> bool {
    let output = Command::new("git")
        .args(["ls-files", "--cached", "-z", "--", file])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    matches!(output, Ok(out) if out.status.success() && !out.stdout.is_empty())
}

/// Adds `file` (relative to `root`, `/`-separated) to `root/.gitignore` under a `# comment`
/// line when `root` is in a git work tree that does not ignore it yet. Returns whether it
/// changed `.gitignore`.
pub fn ignore(root: &Path, file: &str, comment: &str) -> std::io::Result<bool> {
    // The file check first: once the line is written, no git process is started.
    if !in_work_tree(root) || listed_in_gitignore(root, file) || is_ignored(root, file) {
        return Ok(false);
    }
    let gitignore = root.join(".gitignore");
    let mut text = std::fs::read_to_string(&gitignore).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("# {comment}\n{file}\n"));
    crate::fsutil::write_atomic(&gitignore, text.as_bytes(), None)?;
    Ok(true)
}

/// Whether `dir/.gitignore` has a line that is exactly `file` or `/file`.
pub fn listed_in_gitignore(dir: &Path, file: &str) -> bool {
    let text = std::fs::read_to_string(dir.join(".gitignore")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .any(|line| line == file || line.strip_prefix('/') == Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> bool {
        Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn a_directory_without_git_is_no_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!in_work_tree(dir.path()));
        assert!(!is_tracked(dir.path(), ".env"));
    }

    #[test]
    fn an_unreadable_repository_falls_back_to_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert!(in_work_tree(dir.path()));
        assert!(!is_ignored(dir.path(), ".env"));
        std::fs::write(dir.path().join(".gitignore"), "target\n/.env\n").unwrap();
        assert!(is_ignored(dir.path(), ".env"));
    }

    #[test]
    fn ignored_and_tracked_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        if !git(dir.path(), &["init", "-q"]) {
            eprintln!("skipped: git is not installed");
            return;
        }
        std::fs::write(dir.path().join(".env"), "A=1\n").unwrap();
        assert!(!is_ignored(dir.path(), ".env"));
        assert!(!is_tracked(dir.path(), ".env"));
        assert!(git(dir.path(), &["add", ".env"]));
        assert!(is_tracked(dir.path(), ".env"));
        std::fs::write(dir.path().join(".gitignore"), ".env\n").unwrap();
        assert!(
            !is_ignored(dir.path(), ".env"),
            "git applies no ignore rule to tracked files"
        );
        assert!(is_tracked(dir.path(), ".env"), "ignoring does not untrack");
    }
}
