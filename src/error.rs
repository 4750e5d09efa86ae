//! The one error type commands return, and the one place that maps each kind of failure to
//! the process exit code.
//!
//! Exit codes: 0 success, 1 a problem found or bad input, 2 usage error, 130 interrupted. A
//! program devenv hands the terminal to (`db shell`'s client) passes its own code on.

use crate::diagnostic::Diagnostic;

/// Exit code of a failure, bad input, or a check that found problems.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error (what clap itself uses for bad arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input or a failed operation: the diagnostic says what, where and how to fix it
    /// (exit 1).
    #[error("{0}")]
    Failed(Diagnostic),
    /// A check found problems and the command has already printed its report (`status`,
    /// `doctor`, `env check`, `generate --check`, `docs --check`, `migrate status`); nothing
    /// more is printed (exit 1). `summary` says in one line what was found.
    #[error("{summary}")]
    ProblemsFound {
        /// One line: what the report found (for logs and machine output; not printed again).
        summary: String,
    },
    /// The command line asks for something that cannot be done as asked (exit 2).
    #[error("{0}")]
    Usage(Diagnostic),
    /// Ctrl-C ended the command (exit 130).
    #[error("interrupted")]
    Interrupted,
    /// A program devenv ran in the foreground (the `db shell` client) ended with a non-zero
    /// code; devenv passes it on and prints nothing, the program has spoken for itself.
    #[error("{program} exited with code {code}")]
    Exited {
        /// The program, as the user would name it.
        program: String,
        /// Its exit code.
        code: u8,
    },
}

impl Error {
    /// Bad input or a failed operation (exit 1).
    pub fn failure(diagnostic: Diagnostic) -> Self {
        Self::Failed(diagnostic)
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(Diagnostic::new(message))
    }

    /// A check found problems it has already reported (exit 1, nothing more printed).
    pub fn problems_found(summary: impl Into<String>) -> Self {
        Self::ProblemsFound {
            summary: summary.into(),
        }
    }

    /// The process exit code: the only place that decides it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Failed(_) | Self::ProblemsFound { .. } => EXIT_FAILURE,
            Self::Usage(_) => EXIT_USAGE,
            Self::Interrupted => EXIT_INTERRUPTED,
            Self::Exited { code, .. } => *code,
        }
    }

    /// What to tell the user, or `None` when the command has already said everything (a
    /// report of problems, a program that printed its own errors).
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        match self {
            Self::Failed(diagnostic) | Self::Usage(diagnostic) => Some(diagnostic.clone()),
            Self::Interrupted => Some(Diagnostic::new("interrupted")),
            Self::ProblemsFound { .. } | Self::Exited { .. } => None,
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::Failed(diagnostic)
    }
}

/// Shorthand for command results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_exit_code() {
        let cases = [
            (Error::from(Diagnostic::new("bad input")), 1),
            (Error::problems_found("2 checks failed"), 1),
            (Error::usage("invalid project name"), 2),
            (Error::Interrupted, 130),
            (
                Error::Exited {
                    program: "psql".into(),
                    code: 3,
                },
                3,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
        }
    }

    #[test]
    fn only_unreported_failures_are_printed() {
        let failed = Error::from(Diagnostic::new("no devenv.toml").with_help("devenv init"));
        assert_eq!(
            failed.diagnostic(),
            Some(Diagnostic::new("no devenv.toml").with_help("devenv init"))
        );
        assert_eq!(
            Error::usage("unknown template").diagnostic(),
            Some(Diagnostic::new("unknown template"))
        );
        assert_eq!(
            Error::Interrupted.diagnostic(),
            Some(Diagnostic::new("interrupted"))
        );
        assert_eq!(Error::problems_found("1 finding").diagnostic(), None);
        let exited = Error::Exited {
            program: "psql".into(),
            code: 2,
        };
        assert_eq!(exited.diagnostic(), None);
    }

    #[test]
    fn the_message_is_the_diagnostic_or_the_summary() {
        let located = Error::from(Diagnostic::new("expected a list").with_help("write [\"5432\"]"));
        assert_eq!(
            located.to_string(),
            "expected a list\n  help: write [\"5432\"]"
        );
        assert_eq!(
            Error::problems_found("3 finding(s) in .env").to_string(),
            "3 finding(s) in .env"
        );
    }
}
