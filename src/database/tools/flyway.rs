//! Flyway: `V1__name.sql` and `V1_2__name.sql` (versioned, compared part by part), and
//! `R__name.sql` (repeatable: applied after the versioned ones whenever its checksum changes).
//! Each file runs in a transaction with its history row. History in `flyway_schema_history`:
//! one row per run with an increasing `installed_rank`, the file's CRC-32 checksum (of its
//! lines, line endings and a leading BOM left out), and `success`. `U` (undo) files are Flyway
//! Teams' and are not run.

use super::{Script, ToolMigration, Version, whole};
use crate::database::Kind;
use crate::database::format::SqlFile;
use crate::diagnostic::Diagnostic;

/// Flyway's table.
pub const TABLE: &str = "flyway_schema_history";

/// Reads Flyway's migration files (other names in the directory are left alone, as Flyway
/// leaves them).
pub fn parse(files: &[SqlFile]) -> Result<Vec<ToolMigration>, Diagnostic> {
    let mut list = Vec::new();
    for file in files {
        let Some((prefix, rest)) = file.name.split_once("__") else {
            continue;
        };
        let description = rest.trim_end_matches(".sql").replace('_', " ");
        let version = match prefix.split_at_checked(1) {
            Some(("V", number)) => Some(Version::parse(number).ok_or_else(|| {
                Diagnostic::in_file(&file.shown, format!("`{number}` is not a Flyway version"))
                    .with_help("a version is numbers separated by `.` or `_`: V1__init.sql, V1_2__add_index.sql")
            })?),
            Some(("R", "")) => None,
            _ => continue,
        };
        list.push(ToolMigration {
            version,
            description,
            file: file.shown.clone(),
            up: Script {
                statements: whole(&file.text.lines().collect::<Vec<_>>()),
                transaction: true,
                line: 1,
            },
            down: None,
            down_file: None,
            checksum: Some(checksum(&file.text)),
        });
    }
    Ok(list)
}

/// Flyway's checksum: CRC-32 over the UTF-8 bytes of each line without its line ending, a
/// byte order mark on the first line left out; as a signed 32-bit number.
pub fn checksum(text: &str) -> i32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        digest.update(&rest.as_bytes()[..end]);
        rest = &rest[end..];
        rest = rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix('\r'))
            .or_else(|| rest.strip_prefix('\n'))
            .unwrap_or(rest);
    }
    digest.finalize() as i32
}

/// The statements that create Flyway's table, its key and its index.
pub fn create(kind: Kind) -> [&'static str; 2] {
    match kind {
        Kind::Mysql => [
            "CREATE TABLE `flyway_schema_history` (\n    `installed_rank` INT NOT NULL,\n    `version` VARCHAR(50),\n    `description` VARCHAR(200) NOT NULL,\n    `type` VARCHAR(20) NOT NULL,\n    `script` VARCHAR(1000) NOT NULL,\n    `checksum` INT,\n    `installed_by` VARCHAR(100) NOT NULL,\n    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    `execution_time` INT NOT NULL,\n    `success` BOOL NOT NULL,\n    CONSTRAINT `flyway_schema_history_pk` PRIMARY KEY (`installed_rank`)\n)",
            "CREATE INDEX `flyway_schema_history_s_idx` ON `flyway_schema_history` (`success`)",
        ],
        _ => [
            "CREATE TABLE \"flyway_schema_history\" (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INTEGER,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n);\nALTER TABLE \"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")",
            "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\")",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SqlFile {
        SqlFile::sample("sql", name, text)
    }

    #[test]
    fn the_checksum_is_flyways() {
        // CRC-32 of "ab" (the lines joined without their endings), as java.util.zip.CRC32 gives.
        assert_eq!(checksum("a\nb\n"), 0x9e83486d_u32 as i32);
        assert_eq!(checksum("a\r\nb"), checksum("\u{feff}a\rb\n"));
        assert_ne!(checksum("a\nb"), checksum("a\nc"));
    }

    #[test]
    fn names_give_versions_descriptions_and_kinds() {
        let list = parse(&[
            file("V1_1__add_index.sql", "SELECT 1;"),
            file("R__views.sql", "SELECT 2;"),
            file("U1_1__add_index.sql", "SELECT 3;"),
            file("README.sql", ""),
        ])
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].version.as_ref().unwrap().text(), "1.1");
        assert_eq!(list[0].description, "add index");
        assert!(list[1].version.is_none());
        assert!(parse(&[file("V1a__x.sql", "")]).is_err());
    }
}
