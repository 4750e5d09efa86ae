//! dbmate: `20240101120000_name.sql` (any leading digits are the version) with a
//! `-- migrate:up` and a `-- migrate:down` section, each sent whole, in a transaction unless
//! its line says `transaction:false`. History in `schema_migrations(version)`: the version's
//! text inserted in the migration's transaction, deleted on rollback.

use super::{Script, ToolMigration, Version, at_line, whole};
use crate::database::Kind;
use crate::database::format::SqlFile;
use crate::diagnostic::Diagnostic;

/// dbmate's table.
pub const TABLE: &str = "schema_migrations";

/// Reads dbmate's migration files.
pub fn parse(files: &[SqlFile]) -> Result<Vec<ToolMigration>, Diagnostic> {
    files.iter().map(parse_file).collect()
}

fn parse_file(file: &SqlFile) -> Result<ToolMigration, Diagnostic> {
    let digits: String = file.name.chars().take_while(char::is_ascii_digit).collect();
    let version = Version::parse(&digits).ok_or_else(|| {
        Diagnostic::in_file(
            &file.shown,
            "dbmate reads the version from the leading digits of the name, and this one has none",
        )
        .with_help("name it like 20240101120000_create_users.sql (`dbmate new` does)")
    })?;
    let description = file.name[digits.len()..]
        .trim_start_matches('_')
        .trim_end_matches(".sql")
        .to_string();
    let lines: Vec<&str> = file.text.lines().collect();
    fn directive<'a>(line: &'a str, word: &str) -> Option<&'a str> {
        let rest = line.strip_prefix("--")?.trim_start();
        let rest = rest.strip_prefix(word)?;
        (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
    }
    let up = lines
        .iter()
        .position(|l| directive(l, "migrate:up").is_some());
    let down = lines
        .iter()
        .position(|l| directive(l, "migrate:down").is_some());
    let Some(up) = up else {
        return Err(
            Diagnostic::in_file(&file.shown, "a dbmate migration needs a `-- migrate:up` line")
                .with_help("put `-- migrate:up` above the statements, and `-- migrate:down` above those that undo them"),
        );
    };
    if let Some(before) = lines[..up]
        .iter()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    {
        return Err(at_line(
            file,
            before + 1,
            "a statement before `-- migrate:up`: dbmate does not allow one",
        ));
    }
    let Some(down) = down else {
        return Err(Diagnostic::in_file(
            &file.shown,
            "a dbmate migration needs a `-- migrate:down` line (it may be followed by nothing)",
        )
        .with_help(
            "add `-- migrate:down` after the up statements, with the statements that undo them",
        ));
    };
    if down < up {
        return Err(at_line(
            file,
            down + 1,
            "`-- migrate:down` comes before `-- migrate:up`",
        ));
    }
    let transaction = |index: usize, word: &str| {
        !directive(lines[index], word)
            .unwrap_or_default()
            .split_whitespace()
            .any(|option| option == "transaction:false")
    };
    Ok(ToolMigration {
        version: Some(version),
        description,
        file: file.shown.clone(),
        up: Script {
            statements: whole(&lines[up + 1..down]),
            transaction: transaction(up, "migrate:up"),
            line: up + 1,
        },
        down: Some(Script {
            statements: whole(&lines[down + 1..]),
            transaction: transaction(down, "migrate:down"),
            line: down + 1,
        }),
        down_file: Some(file.shown.clone()),
        checksum: None,
    })
}

/// The statement that creates dbmate's table when it is missing.
pub fn create(kind: Kind) -> &'static str {
    match kind {
        Kind::Mysql => {
            "create table if not exists schema_migrations (version varchar(128) primary key)"
        }
        _ => "create table if not exists schema_migrations (version varchar primary key)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SqlFile {
        SqlFile::sample("db/migrations", name, text)
    }

    #[test]
    fn sections_and_options_are_read_as_dbmate_reads_them() {
        let m = parse_file(&file(
            "20240101120000_create_users.sql",
            "-- a comment\n-- migrate:up transaction:false\nCREATE TABLE u (id INT);\nCREATE INDEX CONCURRENTLY u_id ON u (id);\n\n-- migrate:down\nDROP TABLE u;\n",
        ))
        .unwrap();
        assert_eq!(m.version.as_ref().unwrap().text(), "20240101120000");
        assert_eq!(m.description, "create_users");
        assert!(!m.up.transaction);
        assert_eq!(m.up.statements.len(), 1, "sent whole");
        assert!(m.up.statements[0].contains("CONCURRENTLY"));
        let down = m.down.unwrap();
        assert!(down.transaction);
        assert_eq!(down.statements, ["DROP TABLE u;"]);
    }

    #[test]
    fn what_dbmate_refuses_is_refused() {
        let err = parse_file(&file(
            "1_a.sql",
            "CREATE TABLE a();\n-- migrate:up\n-- migrate:down\n",
        ))
        .unwrap_err();
        assert_eq!(err.location.as_deref().unwrap().line, 1, "{err}");
        let err = parse_file(&file("1_a.sql", "-- migrate:up\nSELECT 1;\n")).unwrap_err();
        assert!(err.message.contains("`-- migrate:down`"), "{err}");
        let err = parse_file(&file("a.sql", "-- migrate:up\n-- migrate:down\n")).unwrap_err();
        assert!(err.message.contains("leading digits"), "{err}");
        let empty_down = parse_file(&file(
            "2_b.sql",
            "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
        ))
        .unwrap();
        assert!(empty_down.down.unwrap().statements.is_empty());
    }
}
