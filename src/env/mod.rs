//! Everything about the project's `.env`: reading it with dotenvy's rules (`dotenv`, with
//! `lines` locating what dotenvy rejects), creating and completing it (`file`), resolving every
//! stack variable for a run (`values`), `env check`'s comparison (`check`) and generated
//! secrets (`secrets`). Commands get a stack's values through one call: [`load`].

pub mod check;
pub mod dotenv;
pub mod file;
mod lines;
pub mod secrets;
pub mod values;

pub use dotenv::EnvFile;
pub use file::{ENV_FILE, EnsureReport, IfTracked, ensure, path};
pub use values::Values;

use crate::diagnostic::Diagnostic;
use crate::stack::Stack;
use indexmap::IndexMap;
use std::sync::LazyLock;

/// A stack's `.env` as read, and the value of every variable for this run.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `.env` as read; `None` when the project has none.
    pub file: Option<EnvFile>,
    /// Every stack variable resolved: process environment, then `.env`, then the stack's
    /// defaults, with references expanded.
    pub values: Values,
}

impl Loaded {
    /// Resolves the stack's variables given `.env` (or its absence).
    pub fn from_file(stack: &Stack, file: Option<EnvFile>) -> Self {
        let values = Values::resolve(
            stack,
            file.as_ref().map_or(&*NO_VALUES, |f: &EnvFile| &f.values),
        );
        Self { file, values }
    }

    /// The values as if there were no `.env` (the environment and the stack's defaults): what
    /// checks use when `.env` cannot be read.
    pub fn without_file(stack: &Stack) -> Self {
        Self::from_file(stack, None)
    }

    /// The keys and values `.env` sets (none when there is no `.env`).
    pub fn file_values(&self) -> &IndexMap<String, String> {
        self.file.as_ref().map_or(&*NO_VALUES, |f| &f.values)
    }
}

static NO_VALUES: LazyLock<IndexMap<String, String>> = LazyLock::new(IndexMap::new);

/// Reads the stack's `.env` (if any) and resolves every variable. An unreadable `.env` is an
/// error naming the file and the line.
pub fn load(stack: &Stack) -> Result<Loaded, Diagnostic> {
    let file = dotenv::read(&path(stack))?;
    Ok(Loaded::from_file(stack, file))
}

/// Today's date as `YYYY-MM-DD` (UTC), for the comment above keys devenv appends and for
/// records of when something was applied.
pub fn today() -> String {
    jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_an_iso_date() {
        let date: jiff::civil::Date = today().parse().unwrap();
        assert!(date.year() >= 2024);
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn load_reads_env_and_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let stack = crate::stack::tests_support::shop_at(dir.path());
        let none = load(&stack).unwrap();
        assert!(none.file.is_none() && none.file_values().is_empty());
        std::fs::write(dir.path().join(".env"), "DB_PASSWORD=pw\nDB_PORT=6000\n").unwrap();
        let loaded = load(&stack).unwrap();
        assert_eq!(loaded.file_values()["DB_PORT"], "6000");
        assert_eq!(
            loaded.values.get("DATABASE_URL"),
            Some("postgres://shop:pw@127.0.0.1:6000/shop")
        );
        std::fs::write(dir.path().join(".env"), "A=1\r\nB=b c\r\n").unwrap();
        assert!(load(&stack).unwrap_err().to_string().contains(".env:2:5"));
    }
}
