//! The `NNNN_name.sql` / `.up.sql` / `.down.sql` layout that sqlx and golang-migrate share:
//! each file's version and direction, checked before anything is applied (two files claiming
//! one version are refused, naming both).

use super::format::SqlFile;
use crate::diagnostic::Diagnostic;
use std::collections::BTreeMap;

/// One direction of a version, as sqlx and golang-migrate read file names.
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
    /// Version → the file that reverts it.
    pub down: BTreeMap<i64, String>,
}

/// Checks the files of a migrations directory: no version claimed by two files of one
/// direction.
pub fn scan(files: &[SqlFile]) -> Result<Files, Diagnostic> {
    let mut seen: BTreeMap<(i64, Direction), String> = BTreeMap::new();
    for file in files {
        let Some((version, direction)) = version_of(&file.name) else {
            continue; // sqlx's own reading of the directory names what is wrong with it
        };
        let shown = file.shown.display().to_string();
        if let Some(first) = seen.insert((version, direction), shown.clone()) {
            return Err(duplicate(version, &first, &shown));
        }
    }
    let mut up = BTreeMap::new();
    let mut down = BTreeMap::new();
    for ((version, direction), file) in seen {
        match direction {
            Direction::Up => up.insert(version, file),
            Direction::Down => down.insert(version, file),
        };
    }
    Ok(Files { up, down })
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
    use crate::database::format::read_dir;
    use std::path::Path;

    #[test]
    fn scan_refuses_duplicate_versions() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, text: &str| std::fs::write(dir.path().join("m").join(name), text).unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        write("0001_a.up.sql", "CREATE TABLE a();");
        write("0001_a.down.sql", "DROP TABLE a;");
        write("0002_b.sql", "CREATE TABLE b();");
        write("notes.txt", "-- +goose Up");
        let read = || read_dir(dir.path(), Path::new("m")).unwrap();
        let files = scan(&read()).unwrap();
        assert_eq!(
            files.up.into_iter().collect::<Vec<_>>(),
            [
                (1, "m/0001_a.up.sql".to_string()),
                (2, "m/0002_b.sql".to_string())
            ]
        );
        assert_eq!(files.down.len(), 1);

        write("2_c.sql", "CREATE TABLE c();");
        let err = scan(&read()).unwrap_err();
        assert_eq!(
            err.message,
            "two migration files claim version 2: m/0002_b.sql and m/2_c.sql"
        );
    }
}
