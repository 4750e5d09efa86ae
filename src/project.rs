//! Finding the stack file and loading it: the first step of every command that needs one.

use crate::error::Result;
use crate::source::Diagnostic;
use crate::stack::{self, Stack};
use std::path::{Path, PathBuf};

/// The default stack file name.
pub const STACK_FILE: &str = "devenv.toml";

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

/// Locates and loads the stack.
pub fn load(file: Option<&Path>) -> Result<Stack> {
    Ok(stack::load(&locate(file)?)?)
}
