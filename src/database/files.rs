//! The migrations directory as files: each file's version, direction and format, checked
//! before anything is applied. Files written for another tool (goose, dbmate, Flyway) and two
//! files claiming one version are refused here, naming the files.

use crate::diagnostic::{Diagnostic, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The migration tool a file is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain SQL, one direction per file (`NNNN_name.sql`, `.up.sql`/`.down.sql`): sqlx-cli's
    /// and golang-migrate's layout, applied by devenv.
    Sqlx,
    /// goose: one file with `-- +goose Up` and `-- +goose Down` sections.
    Goose,
    /// dbmate: one file with `-- migrate:up` and `-- migrate:down` sections.
    Dbmate,
    /// Flyway: `V1__name.sql` (versioned), `U1__name.sql` (undo), `R__name.sql` (repeatable).
    Flyway,
}

impl Format {
    /// The tool's name, as users know it.
    pub fn tool(self) -> &'static str {
        match self {
            Format::Sqlx => "sqlx",
            Format::Goose => "goose",
            Format::Dbmate => "dbmate",
            Format::Flyway => "flyway",
        }
    }
}

/// What [`detect_format`] found: the format, and the 1-based line that gives it away (0 when
/// the file name does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The format.
    pub format: Format,
    /// The line of the first annotation of that format; 0 when the name decided.
    pub line: usize,
}

/// The format a migration file is written in, from its name and its annotations.
pub fn detect_format(file_name: &str, text: &str) -> Detected {
    if is_flyway_name(file_name) {
        return Detected {
            format: Format::Flyway,
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
            format,
            line: index + 1,
        };
    }
    Detected {
        format: Format::Sqlx,
        line: 0,
    }
}

/// `V1__init.sql`, `V1_2__init.sql`, `U1__init.sql`, `R__views.sql`.
fn is_flyway_name(name: &str) -> bool {
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

/// One direction of a version, as sqlx reads file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    Up,
    Down,
}

/// The migration files of a directory, checked.
#[derive(Debug, Default)]
pub struct Files {
    /// Version → the file that applies it (relative to the project, for messages).
    pub up: BTreeMap<i64, String>,
}

/// Reads `root/dir` and checks every migration file in it: its format, and that no version
/// is claimed by two files. A missing directory has no files.
pub fn scan(root: &Path, dir: &Path) -> Result<Files, Diagnostic> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(Files::default());
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
    let mut seen: BTreeMap<(i64, Direction), String> = BTreeMap::new();
    for name in names {
        let shown = dir.join(&name);
        let text = std::fs::read_to_string(full.join(&name)).map_err(unreadable)?;
        refuse_foreign_format(&shown, &name, &text)?;
        let Some((version, direction)) = version_of(&name) else {
            continue; // sqlx's own reading of the directory names what is wrong with it
        };
        let file = shown.display().to_string();
        if let Some(first) = seen.insert((version, direction), file.clone()) {
            return Err(duplicate(version, &first, &file));
        }
    }
    let up = seen
        .into_iter()
        .filter(|((_, direction), _)| *direction == Direction::Up)
        .map(|((version, _), file)| (version, file))
        .collect();
    Ok(Files { up })
}

/// Version and direction of a file name, as sqlx reads it (`0001_name.sql`, `.up.sql`,
/// `.down.sql`); `None` for names sqlx does not take as migrations.
fn version_of(name: &str) -> Option<(i64, Direction)> {
    let (version, rest) = name.split_once('_')?;
    let version = version.parse().ok()?;
    let direction = if rest.ends_with(".down.sql") {
        Direction::Down
    } else {
        Direction::Up
    };
    Some((version, direction))
}

fn refuse_foreign_format(shown: &Path, name: &str, text: &str) -> Result<(), Diagnostic> {
    let detected = detect_format(name, text);
    let tool = detected.format.tool();
    let stem = name.trim_end_matches(".sql");
    let run_it =
        format!("or run {tool} through `[database] migrate = {{ command = [\"{tool}\", ...] }}`");
    let diagnostic = match detected.format {
        Format::Sqlx => return Ok(()),
        Format::Goose | Format::Dbmate => {
            let source = SourceFile::new(PathBuf::from(shown), text);
            let width = source.line_text(detected.line).trim_end().len().max(1);
            let start = line_offset(text, detected.line);
            source.diagnostic(
                start..start + width,
                format!(
                    "{} is in {tool} format, which devenv does not apply yet: its down section would run right after its up section",
                    shown.display()
                ),
            )
            .with_help(format!(
                "split it into {stem}.up.sql (the up section) and {stem}.down.sql (the down section), without the annotations; {run_it}"
            ))
        }
        Format::Flyway => {
            let (prefix, description) = stem.split_once("__").unwrap_or((stem, "name"));
            let version = prefix.get(1..).filter(|v| !v.is_empty()).unwrap_or("NNNN");
            Diagnostic::in_file(
                shown,
                "this file is named for Flyway (`V1__name.sql`), which devenv does not apply yet",
            )
            .with_help(format!(
                "rename it to {version:0>4}_{description}.sql (a number, an underscore, a name); {run_it}"
            ))
        }
    };
    Err(diagnostic)
}

/// Byte offset of the start of a 1-based line.
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

fn duplicate(version: i64, first: &str, second: &str) -> Diagnostic {
    Diagnostic::new(format!(
        "two migration files claim version {version}: {first} and {second}"
    ))
    .with_help(
        "keep the number on the one already applied (`devenv migrate status` shows it) and give the other the next free number (`devenv migrate new NAME` creates the next file)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_annotations_and_names() {
        let goose = detect_format(
            "0001_a.sql",
            "-- +goose Up\nCREATE TABLE a();\n-- +goose Down\n",
        );
        assert_eq!((goose.format, goose.line), (Format::Goose, 1));
        let goose = detect_format("0001_a.sql", "-- header\n  --+goose NO TRANSACTION\n");
        assert_eq!((goose.format, goose.line), (Format::Goose, 2));
        let dbmate = detect_format(
            "0001_a.sql",
            "\n-- migrate:up\nCREATE TABLE a();\n-- migrate:down\n",
        );
        assert_eq!((dbmate.format, dbmate.line), (Format::Dbmate, 2));
        for flyway in [
            "V1__init.sql",
            "V1_2__init.sql",
            "U3__init.sql",
            "R__views.sql",
        ] {
            assert_eq!(detect_format(flyway, "").format, Format::Flyway, "{flyway}");
        }
        for plain in [
            ("0001_a.sql", "CREATE TABLE a();\n-- a goose is a bird\n"),
            ("0001_a.up.sql", "SELECT '-- +goose Up';\n"),
            ("0001_V1__x.sql", ""),
            ("Vx__init.sql", ""),
        ] {
            assert_eq!(
                detect_format(plain.0, plain.1).format,
                Format::Sqlx,
                "{plain:?}"
            );
        }
    }

    #[test]
    fn scan_refuses_foreign_formats_and_duplicate_versions() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, text: &str| std::fs::write(dir.path().join("m").join(name), text).unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        write("0001_a.up.sql", "CREATE TABLE a();");
        write("0001_a.down.sql", "DROP TABLE a;");
        write("0002_b.sql", "CREATE TABLE b();");
        write("notes.txt", "-- +goose Up");
        let files = scan(dir.path(), Path::new("m")).unwrap();
        assert_eq!(
            files.up.into_iter().collect::<Vec<_>>(),
            [
                (1, "m/0001_a.up.sql".to_string()),
                (2, "m/0002_b.sql".to_string())
            ]
        );

        write("2_c.sql", "CREATE TABLE c();");
        let err = scan(dir.path(), Path::new("m")).unwrap_err();
        assert_eq!(
            err.message,
            "two migration files claim version 2: m/0002_b.sql and m/2_c.sql"
        );
        std::fs::remove_file(dir.path().join("m/2_c.sql")).unwrap();

        write(
            "0003_g.sql",
            "CREATE TABLE g();\n-- +goose Down\nDROP TABLE g;\n",
        );
        let err = scan(dir.path(), Path::new("m")).unwrap_err();
        let location = err.location.as_deref().unwrap();
        assert_eq!(
            (location.file.as_path(), location.line),
            (Path::new("m/0003_g.sql"), 2)
        );
        assert!(err.message.contains("goose format"), "{err}");
        assert!(
            err.help.as_deref().unwrap().contains("0003_g.up.sql")
                && err.help.as_deref().unwrap().contains("migrate = { command"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("m/0003_g.sql")).unwrap();

        write("V4__f.sql", "CREATE TABLE f();");
        let err = scan(dir.path(), Path::new("m")).unwrap_err();
        assert!(
            err.message
                .starts_with("m/V4__f.sql: this file is named for Flyway"),
            "{err}"
        );
    }
}
