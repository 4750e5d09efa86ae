//! The `--json` contract: every document devenv prints carries `version` ([`VERSION`]) next to
//! its command's own fields, and errors under `--json` are an [`ErrorDocument`].
//!
//! Each command defines its document as a serde struct beside its code; this module adds the
//! version and defines the error shape:
//! `{"version":1,"error":{"message","location":{"file","line","column"},"help"}}`.

use crate::diagnostic::Diagnostic;
use serde::Serialize;

/// The version of every JSON document; raised when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

/// A document with the contract's version in front of its own fields.
#[derive(Debug, Serialize)]
struct Versioned<'a, T: Serialize> {
    version: u32,
    #[serde(flatten)]
    document: &'a T,
}

/// One JSON line for `document`, versioned.
pub fn line(document: &impl Serialize) -> String {
    serde_json::to_string(&Versioned {
        version: VERSION,
        document,
    })
    .unwrap_or_else(|e| {
        serde_json::to_string(&ErrorDocument::from(&Diagnostic::new(format!(
            "cannot write the JSON document: {e}"
        ))))
        .unwrap_or_default()
    })
}

/// A failure under `--json`.
#[derive(Debug, Serialize)]
pub struct ErrorDocument {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The error's fields.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// What happened, one line.
    pub message: String,
    /// Where, when a file is at fault.
    pub location: Option<ErrorLocation>,
    /// How to fix it.
    pub help: Option<String>,
}

/// A position in a file (1-based line and column).
#[derive(Debug, Serialize)]
pub struct ErrorLocation {
    /// The file as shown to the user.
    pub file: String,
    /// Line.
    pub line: usize,
    /// Column (characters).
    pub column: usize,
}

impl From<&Diagnostic> for ErrorDocument {
    fn from(diagnostic: &Diagnostic) -> Self {
        Self {
            error: ErrorBody {
                message: diagnostic.message.clone(),
                location: diagnostic.location.as_ref().map(|l| ErrorLocation {
                    file: l.file.display().to_string(),
                    line: l.line,
                    column: l.col,
                }),
                help: diagnostic.help.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;

    #[test]
    fn documents_are_versioned() {
        #[derive(Serialize)]
        struct Doc {
            healthy: bool,
        }
        assert_eq!(
            line(&Doc { healthy: true }),
            r#"{"version":1,"healthy":true}"#
        );
    }

    #[test]
    fn errors_keep_message_location_and_help() {
        let source = SourceFile::new("devenv.toml", "[a]\nuse = \"x\"\n");
        let diagnostic = source
            .diagnostic(10..13, "unknown entry")
            .with_help("try y");
        assert_eq!(
            line(&ErrorDocument::from(&diagnostic)),
            r#"{"version":1,"error":{"message":"unknown entry","location":{"file":"devenv.toml","line":2,"column":7},"help":"try y"}}"#
        );
        assert_eq!(
            line(&ErrorDocument::from(&Diagnostic::new("no engine"))),
            r#"{"version":1,"error":{"message":"no engine","location":null,"help":null}}"#
        );
    }
}
