//! golang-migrate: `NNN_name.up.sql` and `NNN_name.down.sql`, each sent whole (PostgreSQL runs
//! a multi-statement text in one implicit transaction; MySQL commits as it goes). History in
//! `schema_migrations(version bigint, dirty boolean)`: one row, the current version. Before a
//! migration runs the row says its target version and `dirty = true`; after it, `dirty =
//! false`. A failed migration leaves the row dirty, and both the tool and devenv refuse to go on
//! until it is cleared (`migrate force V`).

use super::{Script, ToolMigration, Version, whole};
use crate::database::Kind;
use crate::database::format::SqlFile;
use crate::diagnostic::Diagnostic;
use std::collections::BTreeMap;

/// golang-migrate's table.
pub const TABLE: &str = "schema_migrations";

/// Reads golang-migrate's migration files.
pub fn parse(files: &[SqlFile]) -> Result<Vec<ToolMigration>, Diagnostic> {
    let mut ups: BTreeMap<Version, (&SqlFile, String)> = BTreeMap::new();
    let mut downs: BTreeMap<Version, &SqlFile> = BTreeMap::new();
    for file in files {
        let (stem, is_up) = if let Some(stem) = file.name.strip_suffix(".up.sql") {
            (stem, true)
        } else if let Some(stem) = file.name.strip_suffix(".down.sql") {
            (stem, false)
        } else {
            return Err(Diagnostic::in_file(
                &file.shown,
                "golang-migrate only reads NNN_name.up.sql and NNN_name.down.sql; it would skip this file",
            )
            .with_help(format!(
                "rename it to {}.up.sql (and write its {}.down.sql)",
                file.name.trim_end_matches(".sql"),
                file.name.trim_end_matches(".sql")
            )));
        };
        let (number, description) = stem.split_once('_').unwrap_or((stem, ""));
        let Some(version) = Version::parse(number).filter(|v| v.number().is_some()) else {
            return Err(Diagnostic::in_file(
                &file.shown,
                "golang-migrate reads the version from the digits before the first `_`",
            )
            .with_help("name it like 000001_create_users.up.sql"));
        };
        let first = if is_up {
            ups.insert(version.clone(), (file, description.to_string()))
                .map(|(f, _)| f)
        } else {
            downs.insert(version.clone(), file)
        };
        if let Some(first) = first {
            return Err(Diagnostic::new(format!(
                "two migration files claim version {version}: {} and {}",
                first.shown.display(),
                file.shown.display()
            ))
            .with_help("give one of them the next free number"));
        }
    }
    if let Some((version, file)) = downs.iter().find(|(v, _)| !ups.contains_key(v)) {
        return Err(Diagnostic::in_file(
            &file.shown,
            format!("a down migration without its up migration (version {version})"),
        )
        .with_help("add the .up.sql file of this version, or remove this one"));
    }
    Ok(ups
        .into_iter()
        .map(|(version, (file, description))| {
            let down = downs.get(&version);
            ToolMigration {
                up: script(file),
                down: down.map(|f| script(f)),
                down_file: down.map(|f| f.shown.clone()),
                version: Some(version),
                description,
                file: file.shown.clone(),
                checksum: None,
            }
        })
        .collect())
}

fn script(file: &SqlFile) -> Script {
    Script {
        statements: whole(&file.text.lines().collect::<Vec<_>>()),
        transaction: false,
        line: 1,
    }
}

/// The statement that creates golang-migrate's table when it is missing.
pub fn create(kind: Kind) -> &'static str {
    match kind {
        Kind::Mysql => {
            "CREATE TABLE IF NOT EXISTS `schema_migrations` (version bigint not null primary key, dirty boolean not null)"
        }
        _ => {
            "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, dirty boolean not null)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SqlFile {
        SqlFile::sample("m", name, text)
    }

    #[test]
    fn pairs_are_read_in_version_order() {
        let list = parse(&[
            file("10_c.up.sql", "SELECT 10;"),
            file("2_b.down.sql", "SELECT -2;"),
            file("2_b.up.sql", "SELECT 2;\nSELECT 22;"),
            file("000001_a.up.sql", "SELECT 1;"),
        ])
        .unwrap();
        let versions: Vec<_> = list
            .iter()
            .map(|m| m.version.as_ref().unwrap().number().unwrap())
            .collect();
        assert_eq!(versions, [1, 2, 10]);
        assert_eq!(list[1].up.statements, ["SELECT 2;\nSELECT 22;"]);
        assert!(list[1].down.is_some() && list[0].down.is_none());
    }

    #[test]
    fn files_golang_migrate_would_skip_or_reject_are_refused() {
        let err = parse(&[file("0001_a.sql", "")]).unwrap_err();
        assert!(err.message.contains("would skip"), "{err}");
        let err = parse(&[file("1_a.down.sql", "")]).unwrap_err();
        assert!(err.message.contains("without its up"), "{err}");
        let err = parse(&[file("1_a.up.sql", ""), file("01_b.up.sql", "")]).unwrap_err();
        assert!(err.message.contains("two migration files"), "{err}");
    }
}
