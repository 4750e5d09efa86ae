//! goose: `NNNNN_name.sql` (or a 14-digit timestamp) with `-- +goose Up` and `-- +goose Down`
//! sections, statements split at lines ending in `;` except inside `-- +goose StatementBegin`
//! / `StatementEnd`, `-- +goose NO TRANSACTION` to run without one. History in
//! `goose_db_version`: created with a version 0 row; a row inserted in the migration's
//! transaction when it is applied, deleted when it is rolled back.

use super::{Script, ToolMigration, Version, at_line, ends_with_semicolon};
use crate::database::Kind;
use crate::database::format::SqlFile;
use crate::diagnostic::Diagnostic;

/// goose's table.
pub const TABLE: &str = "goose_db_version";

/// Reads goose's migration files.
pub fn parse(files: &[SqlFile]) -> Result<Vec<ToolMigration>, Diagnostic> {
    files.iter().map(parse_file).collect()
}

fn parse_file(file: &SqlFile) -> Result<ToolMigration, Diagnostic> {
    let stem = file.name.trim_end_matches(".sql");
    let (number, description) = stem.split_once('_').unwrap_or((stem, ""));
    let version = Version::parse(number)
        .filter(|v| v.number().is_some_and(|n| n > 0))
        .ok_or_else(|| {
            Diagnostic::in_file(
                &file.shown,
                "goose reads the version from the name: a number above 0, then `_` and a name",
            )
            .with_help("name it like 00001_create_users.sql or 20240101120000_create_users.sql")
        })?;
    let sections = sections(file)?;
    Ok(ToolMigration {
        version: Some(version),
        description: description.to_string(),
        file: file.shown.clone(),
        down_file: sections.down.as_ref().map(|_| file.shown.clone()),
        up: sections.up,
        down: sections.down,
        checksum: None,
    })
}

/// The Up and Down sections of one goose file.
#[derive(Debug)]
struct Sections {
    up: Script,
    down: Option<Script>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Start,
    Up,
    Down,
}

/// goose's reading of a file: annotations, statements, blocks, NO TRANSACTION.
fn sections(file: &SqlFile) -> Result<Sections, Diagnostic> {
    let mut part = Part::Start;
    let mut transaction = true;
    let mut block: Option<usize> = None;
    let mut buffer = String::new();
    let mut buffer_line = 0;
    let mut up = Vec::new();
    let mut down: Option<Vec<String>> = None;
    let (mut up_line, mut down_line) = (0, 0);
    for (index, line) in file.text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.starts_with("--") && trimmed.contains("+goose") {
            let annotation = trimmed
                .trim_start_matches('-')
                .trim()
                .trim_start_matches("+goose")
                .trim();
            match annotation.to_ascii_lowercase().as_str() {
                "up" if part == Part::Start => {
                    part = Part::Up;
                    up_line = number;
                }
                "up" => return Err(at_line(file, number, "a second `-- +goose Up`")),
                "down" if part == Part::Up && block.is_none() => {
                    if !buffer.trim().is_empty() {
                        return Err(missing_semicolon(file, buffer_line));
                    }
                    buffer.clear();
                    part = Part::Down;
                    down_line = number;
                    down = Some(Vec::new());
                }
                "down" => {
                    return Err(at_line(
                        file,
                        number,
                        "`-- +goose Down` must follow `-- +goose Up`, outside a StatementBegin block",
                    ));
                }
                "statementbegin" if part != Part::Start && block.is_none() => {
                    block = Some(number);
                }
                "statementend" if block.is_some() => {
                    block = None;
                    let statement = std::mem::take(&mut buffer).trim().to_string();
                    push(&mut up, &mut down, part, statement);
                }
                "statementbegin" | "statementend" => {
                    return Err(at_line(
                        file,
                        number,
                        format!(
                            "`{trimmed}` out of place: StatementBegin opens a block inside Up or Down, StatementEnd closes it"
                        ),
                    ));
                }
                "no transaction" => transaction = false,
                "envsub on" | "envsub off" => {
                    return Err(at_line(
                        file,
                        number,
                        "goose's ENVSUB (environment substitution) is not applied by devenv",
                    )
                    .with_help("write the values into the migration, or run goose itself through `[database] migrate = { command = [\"goose\", \"up\"] }`"));
                }
                _ => {
                    return Err(at_line(
                        file,
                        number,
                        format!("unknown goose annotation `{trimmed}`"),
                    )
                    .with_help("goose knows Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON/OFF"));
                }
            }
            continue;
        }
        if part == Part::Start {
            if trimmed.is_empty() || trimmed.starts_with("--") {
                continue;
            }
            return Err(
                at_line(file, number, "a goose migration starts with `-- +goose Up`")
                    .with_help("put `-- +goose Up` above the first statement"),
            );
        }
        if buffer.is_empty() && (trimmed.is_empty() || trimmed.starts_with("--")) {
            continue;
        }
        if buffer.is_empty() {
            buffer_line = number;
        }
        buffer.push_str(line);
        buffer.push('\n');
        if block.is_none() && ends_with_semicolon(line) {
            let statement = std::mem::take(&mut buffer).trim().to_string();
            push(&mut up, &mut down, part, statement);
        }
    }
    if part == Part::Start {
        return Err(Diagnostic::in_file(
            &file.shown,
            "a goose migration starts with `-- +goose Up`",
        )
        .with_help("put `-- +goose Up` above the first statement"));
    }
    if let Some(line) = block {
        return Err(at_line(
            file,
            line,
            "this StatementBegin has no `-- +goose StatementEnd`",
        ));
    }
    if !buffer.trim().is_empty() {
        return Err(missing_semicolon(file, buffer_line));
    }
    Ok(Sections {
        up: Script {
            statements: up,
            transaction,
            line: up_line,
        },
        down: down.map(|statements| Script {
            statements,
            transaction,
            line: down_line,
        }),
    })
}

fn push(up: &mut Vec<String>, down: &mut Option<Vec<String>>, part: Part, statement: String) {
    match (part, down) {
        (Part::Down, Some(down)) => down.push(statement),
        _ => up.push(statement),
    }
}

fn missing_semicolon(file: &SqlFile, line: usize) -> Diagnostic {
    at_line(file, line, "this statement has no `;` at the end of a line").with_help(
        "end it with `;`, or wrap a statement with `;` inside it in `-- +goose StatementBegin` / `-- +goose StatementEnd`",
    )
}

/// The statements that create goose's table and its version 0 row.
pub fn create(kind: Kind) -> [&'static str; 2] {
    match kind {
        Kind::Mysql => [
            "CREATE TABLE goose_db_version (\n\t\tid bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n\t\tversion_id bigint NOT NULL,\n\t\tis_applied boolean NOT NULL,\n\t\ttstamp timestamp NULL default now(),\n\t\tPRIMARY KEY(id)\n\t)",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, TRUE)",
        ],
        _ => [
            "CREATE TABLE goose_db_version (\n\t\tid integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,\n\t\tversion_id bigint NOT NULL,\n\t\tis_applied boolean NOT NULL,\n\t\ttstamp timestamp NOT NULL DEFAULT now()\n\t)",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, TRUE)",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SqlFile {
        SqlFile::sample("m", name, text)
    }

    #[test]
    fn sections_blocks_and_no_transaction_are_read_as_goose_reads_them() {
        let text = "-- a header\n-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TABLE a (id INT); -- one\nINSERT INTO a\n  VALUES (1);\n\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS INT AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f;\nDROP TABLE a;\n";
        let m = parse_file(&file("20240101120000_init.sql", text)).unwrap();
        assert_eq!(m.version.as_ref().unwrap().number(), Some(20240101120000));
        assert_eq!(m.description, "init");
        assert_eq!(
            m.up.statements,
            [
                "CREATE TABLE a (id INT); -- one",
                "INSERT INTO a\n  VALUES (1);",
                "CREATE FUNCTION f() RETURNS INT AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;"
            ]
        );
        assert!(!m.up.transaction);
        assert_eq!(m.up.line, 2);
        let down = m.down.unwrap();
        assert_eq!(down.statements, ["DROP FUNCTION f;", "DROP TABLE a;"]);
        assert_eq!(down.line, 14);
    }

    #[test]
    fn goose_errors_are_refused_at_their_line() {
        let err = parse_file(&file("1_a.sql", "CREATE TABLE a (id INT);\n")).unwrap_err();
        assert!(err.message.contains("starts with `-- +goose Up`"), "{err}");
        let err = parse_file(&file("1_a.sql", "-- +goose Up\nSELECT 1\n")).unwrap_err();
        assert_eq!(err.location.as_deref().unwrap().line, 2, "{err}");
        let err = parse_file(&file(
            "1_a.sql",
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
        ))
        .unwrap_err();
        assert!(err.message.contains("no `-- +goose StatementEnd`"), "{err}");
        let err = parse_file(&file("0_a.sql", "-- +goose Up\n")).unwrap_err();
        assert!(err.message.contains("above 0"), "{err}");
        let up_only = parse_file(&file("2_b.sql", "-- +goose Up\nSELECT 1;\n")).unwrap();
        assert!(up_only.down.is_none());
    }
}
