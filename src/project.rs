//! Finding the stack file, loading it, and settling the name the project runs under: the
//! stack file's `[project] name`, `--name`/`DEVENV_PROJECT`, or, inside a git worktree, that
//! name plus the worktree's, so two checkouts of one project never share containers or data.

use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::stack::{self, NameOrigin, Stack, is_project_name};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The default stack file name.
pub const STACK_FILE: &str = "devenv.toml";

/// The directory under the project root where devenv keeps its own state (git-ignored).
pub const STATE_DIR: &str = ".devenv";

static NAME_OVERRIDE: OnceLock<String> = OnceLock::new();

/// Makes every stack loaded by this process run under `name` (`--name`, `DEVENV_PROJECT`).
pub fn override_name(name: &str) -> Result<()> {
    if !is_project_name(name) {
        return Err(crate::error::Error::usage(format!(
            "invalid project name `{name}` (from --name or DEVENV_PROJECT): use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
        )));
    }
    let _ = NAME_OVERRIDE.set(name.to_string());
    Ok(())
}

/// Where the stack file is: `--file`, else `devenv.toml` here or in the nearest parent.
pub fn locate(file: Option<&Path>) -> Result<PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|e| Diagnostic::new(format!("cannot read the current directory: {e}")))?;
    if let Some(file) = file {
        return Ok(cwd.join(file));
    }
    let found = cwd
        .ancestors()
        .map(|dir| dir.join(STACK_FILE))
        .find(|candidate| candidate.is_file());
    found.ok_or_else(|| {
        Diagnostic::new(format!("no {STACK_FILE} in {} or any parent directory", cwd.display()))
            .with_help("create one with `devenv init --template postgres-redis` (`devenv init --list` shows all), or pass `--file PATH`")
            .into()
    })
}

/// Locates and loads the stack, under the name this checkout runs as.
pub fn load(file: Option<&Path>) -> Result<Stack> {
    Ok(load_path(&locate(file)?)?)
}

/// Loads the stack file at `path`, under the name this checkout runs as.
pub fn load_path(path: &Path) -> Result<Stack, Diagnostic> {
    let mut stack = stack::load(path)?;
    settle_name(&mut stack);
    Ok(stack)
}

/// Applies the name override, else the git worktree suffix, to a loaded stack.
pub fn settle_name(stack: &mut Stack) {
    if let Some(name) = NAME_OVERRIDE.get() {
        stack.project.name = name.clone();
        stack.project.origin = NameOrigin::Override;
    } else if let Some(worktree) = git_worktree_name(&stack.root) {
        stack.project.name = format!("{}-{}", stack.project.declared_name, name_from(&worktree));
        stack.project.origin = NameOrigin::Worktree(worktree);
    }
}

/// A line saying which name the project runs under when it is not devenv.toml's, or None.
pub fn name_note(stack: &Stack) -> Option<String> {
    match &stack.project.origin {
        NameOrigin::StackFile => None,
        NameOrigin::Override => Some(format!(
            "running as project `{}` (--name or DEVENV_PROJECT)",
            stack.project.name
        )),
        NameOrigin::Worktree(worktree) => Some(format!(
            "git worktree `{worktree}`: running as project `{}`, with its own containers, volumes and ports",
            stack.project.name
        )),
    }
}

/// The name of the linked git worktree `dir` lies in (`git worktree add ../feature` makes
/// `feature`), or None in a main checkout, a submodule or outside git. Reads the `.git` file
/// a linked worktree has instead of a directory (`gitdir: <repo>/.git/worktrees/<name>`), so
/// no git process is started.
pub fn git_worktree_name(dir: &Path) -> Option<String> {
    let dot_git = dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    if !dot_git.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let gitdir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    let parent = gitdir.parent()?;
    if parent.file_name()? != "worktrees" {
        return None;
    }
    Some(gitdir.file_name()?.to_string_lossy().into_owned())
}

/// A valid project name from a directory or worktree name: lowercase, other characters as
/// `-`, `app` when nothing is left.
pub fn name_from(dir: &str) -> String {
    let name: String = dir
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_start_matches(['-', '_']).to_string();
    if name.is_empty() {
        "app".to_string()
    } else {
        name
    }
}

/// `.devenv/` under the project root, created with a `.gitignore` that ignores all of it.
pub fn state_dir(root: &Path) -> Result<PathBuf, Diagnostic> {
    let dir = root.join(STATE_DIR);
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&ignore, "*\n"))
            .map_err(|e| {
                Diagnostic::new(format!("cannot create {}: {e}", dir.display())).with_help(
                    "devenv keeps its own state there; make the project directory writable",
                )
            })?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_become_valid_project_names() {
        assert_eq!(name_from("My.App"), "my-app");
        assert_eq!(name_from("__x"), "x");
        assert_eq!(name_from("..."), "app");
        assert!(is_project_name(&name_from("Feature/Login Form")));
    }

    #[test]
    fn a_linked_worktree_is_named_by_its_git_file() {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("feature-x");
        std::fs::create_dir_all(checkout.join("api")).unwrap();
        std::fs::write(
            checkout.join(".git"),
            "gitdir: /src/shop/.git/worktrees/Feature-X\n",
        )
        .unwrap();
        assert_eq!(
            git_worktree_name(&checkout.join("api")).as_deref(),
            Some("Feature-X")
        );
    }

    #[test]
    fn a_main_checkout_or_submodule_is_not_a_worktree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("main/.git")).unwrap();
        assert_eq!(git_worktree_name(&dir.path().join("main")), None);
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(".git"), "gitdir: ../main/.git/modules/sub\n").unwrap();
        assert_eq!(git_worktree_name(&sub), None);
    }
}
