//! Migrations written for another tool (golang-migrate, goose, dbmate, Flyway), read in that
//! tool's file layout and recorded in that tool's own table with its semantics (dirty flag,
//! version ordering, transactions), so that the project's own tool and devenv agree in both
//! directions. Each tool is a module: its files and its table. `run.rs` applies, reverts and
//! reports for all of them.

pub mod dbmate;
pub mod flyway;
pub mod golang_migrate;
pub mod goose;
pub mod run;

use super::format::{Format, SqlFile};
use crate::diagnostic::Diagnostic;
use serde::{Serialize, Serializer};
use std::path::{Path, PathBuf};

/// A migration version as the tool orders it: numbers compared part by part (`1.10` after
/// `1.9`), trailing zero parts ignored (Flyway's `1.0` is `1`); shown as the tool writes it. Equal numbers are one version.
#[derive(Debug, Clone)]
pub struct Version {
    parts: Vec<u128>,
    text: String,
}

impl Version {
    /// A version from its text: digits, with `.` or `_` between parts (`_` is shown as `.`).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.replace('_', ".");
        let mut parts = text
            .split('.')
            .map(|p| p.parse::<u128>().ok())
            .collect::<Option<Vec<_>>>()?;
        while parts.len() > 1 && parts.last() == Some(&0) {
            parts.pop();
        }
        Some(Version { parts, text })
    }

    /// The version as a 64-bit number, for tools that store one (`bigint`).
    pub fn number(&self) -> Option<i64> {
        match self.parts.as_slice() {
            [n] => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// The text the tool stores and shows.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for Version {}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A number when it is one (as sqlx versions are), else the text (`"1.2"`).
impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.text.parse::<i64>() {
            Ok(n) if n.to_string() == self.text => serializer.serialize_i64(n),
            _ => serializer.serialize_str(&self.text),
        }
    }
}

/// SQL to run in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The statements, run one after the other (golang-migrate and dbmate: the whole section
    /// as one multi-statement text, as they send it).
    pub statements: Vec<String>,
    /// Whether the statements and the bookkeeping run in one transaction.
    pub transaction: bool,
    /// The 1-based line the section starts on in its file, for messages.
    pub line: usize,
}

/// One migration of a tool's directory.
#[derive(Debug, Clone)]
pub struct ToolMigration {
    /// Its version; `None` for a Flyway repeatable migration (`R__name.sql`).
    pub version: Option<Version>,
    /// Its description (from the file name).
    pub description: String,
    /// The file that applies it (relative to the project).
    pub file: PathBuf,
    /// What applies it.
    pub up: Script,
    /// What reverts it, where the tool has down migrations and the project wrote one.
    pub down: Option<Script>,
    /// Where the down migration is (the same file for goose and dbmate).
    pub down_file: Option<PathBuf>,
    /// Flyway's checksum of the file (CRC-32 of its lines).
    pub checksum: Option<i32>,
}

impl ToolMigration {
    /// The file, as shown.
    pub fn shown(&self) -> String {
        self.file.display().to_string()
    }

    /// The version as shown (`R` for a repeatable migration).
    pub fn version_text(&self) -> String {
        self.version
            .as_ref()
            .map_or_else(|| "R".to_string(), |v| v.text().to_string())
    }
}

/// A tool's migrations directory, read and checked.
#[derive(Debug, Clone)]
pub struct ToolMigrations {
    /// The tool.
    pub format: Format,
    /// The directory (relative to the project).
    pub dir: PathBuf,
    /// Versioned migrations in the tool's order, then Flyway's repeatable ones by description.
    pub list: Vec<ToolMigration>,
}

impl ToolMigrations {
    /// Reads `files` (the `.sql` files of `dir`) as `format` lays them out.
    pub fn load(format: Format, dir: &Path, files: &[SqlFile]) -> Result<Self, Diagnostic> {
        let mut list = match format {
            Format::GolangMigrate => golang_migrate::parse(files)?,
            Format::Goose => goose::parse(files)?,
            Format::Dbmate => dbmate::parse(files)?,
            Format::Flyway => flyway::parse(files)?,
            Format::Sqlx => unreachable!("sqlx migrations are read by sqlx"),
        };
        list.sort_by(|a, b| match (&a.version, &b.version) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.description.cmp(&b.description),
        });
        for pair in list.windows(2) {
            if let (Some(a), Some(b)) = (&pair[0].version, &pair[1].version)
                && a == b
            {
                return Err(Diagnostic::new(format!(
                    "two migration files claim version {b}: {} and {}",
                    pair[0].shown(),
                    pair[1].shown()
                ))
                .with_help(
                    "keep the number on the one already applied (`devenv migrate status` shows it) and give the other a new one",
                ));
            }
        }
        Ok(Self {
            format,
            dir: dir.to_path_buf(),
            list,
        })
    }

    /// The migration of a version.
    pub fn find(&self, version: &Version) -> Option<&ToolMigration> {
        self.list
            .iter()
            .find(|m| m.version.as_ref() == Some(version))
    }
}

/// A section sent as one multi-statement text, as golang-migrate, dbmate and Flyway send it
/// (PostgreSQL runs such a text in one implicit transaction); nothing when it is blank.
pub fn whole(lines: &[&str]) -> Vec<String> {
    let text = lines.join("\n");
    if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![text]
    }
}

/// Whether a line ends a statement: its text before any `--` comment ends with `;`.
pub fn ends_with_semicolon(line: &str) -> bool {
    let code = line.split("--").next().unwrap_or_default();
    code.trim_end().ends_with(';')
}

/// A diagnostic at a 1-based line of a migration file.
pub fn at_line(file: &SqlFile, line: usize, message: impl Into<String>) -> Diagnostic {
    let source = crate::diagnostic::SourceFile::new(file.shown.clone(), file.text.as_str());
    let line = line.max(1);
    let start: usize = file
        .text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let width = source.line_text(line).trim_end().len().max(1);
    source.diagnostic(start..start + width, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_their_numbers() {
        let v = |t: &str| Version::parse(t).unwrap();
        assert!(v("1.10") > v("1.9"));
        assert!(v("2") > v("1.9"));
        assert_eq!(v("1.0"), v("1"));
        assert!(v("20230101120000") > v("99"));
        assert_eq!(v("1_2").text(), "1.2");
        assert_eq!(v("00042").number(), Some(42));
        assert!(Version::parse("1a").is_none());
        assert_eq!(serde_json::to_string(&v("7")).unwrap(), "7");
        assert_eq!(serde_json::to_string(&v("1.2")).unwrap(), "\"1.2\"");
    }

    #[test]
    fn statement_ends_are_found_outside_comments() {
        assert!(ends_with_semicolon("INSERT INTO a VALUES (1); -- one"));
        assert!(!ends_with_semicolon("  id INT -- the key; not the end"));
        assert!(whole(&["", "  "]).is_empty());
        assert_eq!(whole(&["SELECT 1;", "SELECT 2;"]), ["SELECT 1;\nSELECT 2;"]);
    }
}
