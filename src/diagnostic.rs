//! A loaded text file and the diagnostics that point into it (`file:line:col`, the line, a caret).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The text of a file kept beside its display name, so errors can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative where possible).
    pub name: PathBuf,
    /// The whole text.
    pub text: String,
}

impl SourceFile {
    /// Wraps already-read text.
    pub fn new(name: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        self.text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// A diagnostic about `span` of this file.
    pub fn diagnostic(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
        let line_text = self.line_text(line).to_string();
        // Underline to the end of the span, but never past the end of the line.
        let (end_line, end_col) = self.line_col(span.end.max(span.start + 1) - 1);
        let width = if end_line == line {
            end_col.saturating_sub(col) + 1
        } else {
            line_text.chars().count().saturating_sub(col - 1).max(1)
        };
        Diagnostic {
            message: message.into(),
            location: Some(Box::new(Location {
                file: self.name.clone(),
                line,
                col,
                line_text,
                width,
            })),
            help: None,
        }
    }

    /// The text a span covers.
    pub fn slice(&self, span: Range<usize>) -> &str {
        self.text.get(span).unwrap_or("")
    }
}

/// Where in a file a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as shown to the user.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// The whole offending line.
    pub line_text: String,
    /// How many characters to underline.
    pub width: usize,
}

/// A user-facing error: what happened, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, one line.
    pub message: String,
    /// Where, when the problem is in a file.
    pub location: Option<Box<Location>>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with no location.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            help: None,
        }
    }

    /// Adds the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A location-free diagnostic about a whole file.
    pub fn in_file(path: &Path, message: impl Into<String>) -> Self {
        Self::new(format!("{}: {}", path.display(), message.into()))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(loc) = &self.location {
            let gutter = loc.line.to_string().len();
            writeln!(f)?;
            writeln!(
                f,
                "{:gutter$}--> {}:{}:{}",
                "",
                loc.file.display(),
                loc.line,
                loc.col
            )?;
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", loc.line, loc.line_text)?;
            write!(
                f,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(loc.col - 1),
                "^".repeat(loc.width.max(1))
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Suggests the closest candidate to `word` when it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = SourceFile::new("devenv.toml", "a = 1\nports = 5432\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(14), (2, 9));
    }

    #[test]
    fn renders_file_line_and_caret() {
        let src = SourceFile::new("devenv.toml", "a = 1\nports = 5432\n");
        let text = src
            .diagnostic(14..18, "expected a list")
            .with_help("write [\"5432\"]")
            .to_string();
        assert_eq!(
            text,
            "expected a list\n --> devenv.toml:2:9\n  |\n2 | ports = 5432\n  |         ^^^^\n  help: write [\"5432\"]"
        );
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        let src = SourceFile::new("devenv.toml", "a = \"䰉\"\n");
        assert_eq!(src.line_col(6), (1, 6));
        let _ = src.diagnostic(5..7, "x").to_string();
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("postgress", ["postgres", "redis"]),
            Some("postgres")
        );
        assert_eq!(did_you_mean("zzz", ["postgres", "redis"]), None);
    }
}
