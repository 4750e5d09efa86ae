//! Which migration tool a project's migrations are written for: set by `[database] format`, or
//! detected from the files (names, annotations) and, for the `.up.sql`/`.down.sql` layout that
//! sqlx and golang-migrate share, from the project's own references to golang-migrate.

use crate::diagnostic::{Diagnostic, SourceFile};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The migration tool whose files, bookkeeping table and semantics devenv follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// sqlx-cli: `NNNN_name.sql` or `.up.sql`/`.down.sql`, table `_sqlx_migrations`.
    Sqlx,
    /// golang-migrate: `NNN_name.up.sql`/`.down.sql`, table `schema_migrations(version, dirty)`.
    GolangMigrate,
    /// goose: `-- +goose Up`/`Down` sections in one file, table `goose_db_version`.
    Goose,
    /// dbmate: `-- migrate:up`/`down` sections in one file, table `schema_migrations(version)`.
    Dbmate,
    /// Flyway: `V1__name.sql` (and `R__name.sql`), table `flyway_schema_history`.
    Flyway,
}

impl Format {
    /// Every format, in the order the docs list them.
    pub const ALL: [Format; 5] = [
        Format::Sqlx,
        Format::GolangMigrate,
        Format::Goose,
        Format::Dbmate,
        Format::Flyway,
    ];

    /// The name used in devenv.toml (`format = "goose"`) and shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Format::Sqlx => "sqlx",
            Format::GolangMigrate => "golang-migrate",
            Format::Goose => "goose",
            Format::Dbmate => "dbmate",
            Format::Flyway => "flyway",
        }
    }

    /// The format named `name` in devenv.toml.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The table the tool keeps its history in.
    pub fn table(self) -> &'static str {
        match self {
            Format::Sqlx => "_sqlx_migrations",
            Format::GolangMigrate | Format::Dbmate => "schema_migrations",
            Format::Goose => "goose_db_version",
            Format::Flyway => "flyway_schema_history",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The format in force and why, for `migrate status` and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chosen {
    /// The format.
    pub format: Format,
    /// Why: `set in devenv.toml`, `detected from -- +goose annotations (migrations/0001_a.sql:1)`.
    pub why: String,
}

impl Chosen {
    /// One line for humans: the format, why, and its table.
    pub fn describe(&self) -> String {
        format!(
            "format: {} ({}), recorded in {}",
            self.format,
            self.why,
            self.format.table()
        )
    }
}

/// What one file says about its format: the format, and the 1-based line that gives it away
/// (0 when the name decided or nothing did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The format; `None` for a plain SQL file (sqlx or golang-migrate).
    pub format: Option<Format>,
    /// The line of the first annotation; 0 when the name decided.
    pub line: usize,
}

/// The format a migration file's name and annotations point to.
pub fn detect_file(file_name: &str, text: &str) -> Detected {
    if is_flyway_name(file_name) {
        return Detected {
            format: Some(Format::Flyway),
            line: 0,
        };
    }
    for (index, line) in text.lines().enumerate() {
        let Some(comment) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        let comment = comment.trim_start().to_ascii_lowercase();
        let format = if comment.starts_with("+goose ") || comment == "+goose" {
            Format::Goose
        } else if ["migrate:up", "migrate:down"]
            .iter()
            .any(|a| comment.starts_with(a))
        {
            Format::Dbmate
        } else {
            continue;
        };
        return Detected {
            format: Some(format),
            line: index + 1,
        };
    }
    Detected {
        format: None,
        line: 0,
    }
}

/// `V1__init.sql`, `V1_2__init.sql`, `U1__init.sql`, `R__views.sql`.
pub fn is_flyway_name(name: &str) -> bool {
    let Some((prefix, rest)) = name.split_once("__") else {
        return false;
    };
    if !rest.ends_with(".sql") {
        return false;
    }
    match prefix.split_at_checked(1) {
        Some(("R", "")) => true,
        Some(("V" | "U", version)) => {
            !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
        }
        _ => false,
    }
}

/// One `.sql` file of the migrations directory.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// The file name.
    pub name: String,
    /// The path shown to users (relative to the project).
    pub shown: PathBuf,
    /// Its text.
    pub text: String,
}

impl SqlFile {
    /// A file of a `dir` directory with `text`, for tests.
    #[cfg(test)]
    pub fn sample(dir: &str, name: &str, text: &str) -> Self {
        Self {
            name: name.into(),
            shown: Path::new(dir).join(name),
            text: text.into(),
        }
    }
}

/// Reads the `.sql` files of `root/dir` in name order; a missing directory has none.
pub fn read_dir(root: &Path, dir: &Path) -> Result<Vec<SqlFile>, Diagnostic> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(Vec::new());
    }
    let unreadable =
        |e: std::io::Error| Diagnostic::new(format!("cannot read {}: {e}", dir.display()));
    let mut names: Vec<String> = std::fs::read_dir(&full)
        .map_err(unreadable)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(full.join(&name)).map_err(unreadable)?;
            Ok(SqlFile {
                shown: dir.join(&name),
                name,
                text,
            })
        })
        .collect()
}

/// The format of a migrations directory: `configured` when set, else what the files say.
/// Files of two tools in one directory are refused, naming one of each.
pub fn choose(
    root: &Path,
    files: &[SqlFile],
    configured: Option<Format>,
) -> Result<Chosen, Diagnostic> {
    if let Some(format) = configured {
        return Ok(Chosen {
            format,
            why: "set by `format` in devenv.toml".into(),
        });
    }
    let mut first: Option<(Format, &SqlFile, Detected)> = None;
    let mut plain: Option<&SqlFile> = None;
    for file in files {
        let detected = detect_file(&file.name, &file.text);
        match (detected.format, &first) {
            (None, _) => {
                plain.get_or_insert(file);
            }
            (Some(format), None) => first = Some((format, file, detected)),
            (Some(format), Some((seen, seen_file, _))) if format != *seen => {
                return Err(mixed(file, format, detected, seen_file, *seen));
            }
            _ => {}
        }
    }
    if let (Some((format, file, detected)), Some(other)) = (&first, plain)
        && *format != Format::Flyway
    {
        return Err(mixed(file, *format, *detected, other, Format::Sqlx));
    }
    if let Some((format, file, detected)) = first {
        let evidence = match format {
            Format::Flyway => format!("Flyway file names ({})", file.shown.display()),
            Format::Goose => format!(
                "`-- +goose` annotations ({}:{})",
                file.shown.display(),
                detected.line
            ),
            _ => format!(
                "`-- migrate:up` annotations ({}:{})",
                file.shown.display(),
                detected.line
            ),
        };
        return Ok(Chosen {
            format,
            why: format!("detected from {evidence}"),
        });
    }
    let paired = files
        .iter()
        .any(|f| f.name.ends_with(".up.sql") || f.name.ends_with(".down.sql"));
    if paired && let Some(reference) = golang_migrate_reference(root) {
        return Ok(Chosen {
            format: Format::GolangMigrate,
            why: format!("detected from .up.sql/.down.sql files and {reference}"),
        });
    }
    Ok(Chosen {
        format: Format::Sqlx,
        why: if files.is_empty() {
            "the default (no migration files yet)".into()
        } else {
            "detected from plain `NNNN_name.sql` files (the default)".into()
        },
    })
}

/// A file of the project's that names golang-migrate (`go.mod` requiring it, a Makefile or
/// compose file running its `migrate` CLI or image).
fn golang_migrate_reference(root: &Path) -> Option<String> {
    const FILES: [&str; 6] = [
        "go.mod",
        "Makefile",
        "makefile",
        "justfile",
        "Taskfile.yml",
        "docker-compose.yml",
    ];
    const NEEDLES: [&str; 3] = ["golang-migrate/migrate", "migrate/migrate", "migrate -path"];
    FILES.iter().find_map(|name| {
        let text = std::fs::read_to_string(root.join(name)).ok()?;
        NEEDLES
            .iter()
            .any(|needle| text.contains(needle))
            .then(|| format!("{name} naming golang-migrate"))
    })
}

fn mixed(
    file: &SqlFile,
    format: Format,
    detected: Detected,
    other: &SqlFile,
    other_format: Format,
) -> Diagnostic {
    let other_name = if other_format == Format::Sqlx {
        "plain SQL (sqlx or golang-migrate)"
    } else {
        other_format.name()
    };
    let message = format!(
        "{} is in {format} format, but {} is {other_name}: one directory holds one tool's migrations",
        file.shown.display(),
        other.shown.display()
    );
    let help = format!(
        "write every file of {} for one tool, and set `format = \"...\"` under [database] to say which ({})",
        file.shown.parent().unwrap_or(Path::new(".")).display(),
        Format::ALL.map(Format::name).join(", ")
    );
    if detected.line == 0 {
        return Diagnostic::in_file(&file.shown, message).with_help(help);
    }
    let source = SourceFile::new(file.shown.clone(), file.text.as_str());
    let start: usize = file
        .text
        .split_inclusive('\n')
        .take(detected.line - 1)
        .map(str::len)
        .sum();
    let width = source.line_text(detected.line).trim_end().len().max(1);
    source
        .diagnostic(start..start + width, message)
        .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SqlFile {
        SqlFile::sample("m", name, text)
    }

    #[test]
    fn files_are_told_apart_by_annotations_and_names() {
        let goose = detect_file(
            "0001_a.sql",
            "-- +goose Up\nCREATE TABLE a();\n-- +goose Down\n",
        );
        assert_eq!((goose.format, goose.line), (Some(Format::Goose), 1));
        let goose = detect_file("0001_a.sql", "-- header\n  --+goose NO TRANSACTION\n");
        assert_eq!((goose.format, goose.line), (Some(Format::Goose), 2));
        let dbmate = detect_file(
            "0001_a.sql",
            "\n-- migrate:up\nCREATE TABLE a();\n-- migrate:down\n",
        );
        assert_eq!((dbmate.format, dbmate.line), (Some(Format::Dbmate), 2));
        for flyway in [
            "V1__init.sql",
            "V1_2__init.sql",
            "U3__init.sql",
            "R__views.sql",
        ] {
            assert_eq!(
                detect_file(flyway, "").format,
                Some(Format::Flyway),
                "{flyway}"
            );
        }
        for plain in [
            ("0001_a.sql", "CREATE TABLE a();\n-- a goose is a bird\n"),
            ("0001_a.up.sql", "SELECT '-- +goose Up';\n"),
            ("0001_V1__x.sql", ""),
            ("Vx__init.sql", ""),
        ] {
            assert_eq!(detect_file(plain.0, plain.1).format, None, "{plain:?}");
        }
    }

    #[test]
    fn a_directory_has_one_format_and_says_why() {
        let root = tempfile::tempdir().unwrap();
        let goose = [file("0001_a.sql", "-- +goose Up\nSELECT 1;\n")];
        let chosen = choose(root.path(), &goose, None).unwrap();
        assert_eq!(chosen.format, Format::Goose);
        assert!(chosen.why.contains("m/0001_a.sql:1"), "{}", chosen.why);

        let set = choose(root.path(), &goose, Some(Format::Dbmate)).unwrap();
        assert_eq!(set.format, Format::Dbmate);

        let mixed = [
            file("0001_a.sql", "SELECT 1;\n"),
            file("0002_b.sql", "\n-- migrate:up\nSELECT 2;\n"),
        ];
        let err = choose(root.path(), &mixed, None).unwrap_err();
        assert!(
            err.message.contains("m/0002_b.sql is in dbmate format"),
            "{err}"
        );
        assert_eq!(err.location.as_deref().unwrap().line, 2);

        let pairs = [
            file("000001_a.up.sql", "SELECT 1;\n"),
            file("000001_a.down.sql", "SELECT 1;\n"),
        ];
        assert_eq!(
            choose(root.path(), &pairs, None).unwrap().format,
            Format::Sqlx
        );
        std::fs::write(
            root.path().join("go.mod"),
            "require github.com/golang-migrate/migrate/v4 v4.18.1\n",
        )
        .unwrap();
        let chosen = choose(root.path(), &pairs, None).unwrap();
        assert_eq!(chosen.format, Format::GolangMigrate);
        assert!(chosen.why.contains("go.mod"), "{}", chosen.why);
        assert_eq!(
            Format::from_name("golang-migrate"),
            Some(Format::GolangMigrate)
        );
        assert_eq!(Format::from_name("liquibase"), None);
    }
}
