//! The one error type commands return, and the exit code each kind of failure maps to.
//!
//! Exit codes: 0 success, 1 failure or bad input, 2 usage error (or a command not built yet),
//! 130 interrupted.

use crate::source::Diagnostic;
use std::process::ExitCode;

/// A failure to show the user, with its exit code.
#[derive(Debug)]
pub struct Error {
    /// What to print.
    pub diagnostic: Diagnostic,
    /// Process exit code.
    pub code: u8,
}

impl Error {
    /// Bad input or a failed operation (exit 1).
    pub fn failure(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            code: 1,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            diagnostic: Diagnostic::new(message),
            code: 2,
        }
    }

    /// Interrupted by Ctrl-C (exit 130).
    pub fn interrupted() -> Self {
        Self {
            diagnostic: Diagnostic::new("interrupted"),
            code: 130,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<Diagnostic> for Error {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::failure(diagnostic)
    }
}

/// Shorthand for command results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
