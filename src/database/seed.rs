//! Seeds: SQL files (a file, or a directory applied in name order) or commands, each run once
//! per database and recorded with its checksum in `_devenv_seeds`. A seed file changed since
//! it ran is reported, and re-run only with `--reseed`. A failing SQL seed rolls back.

use super::Kind;
use crate::source::Diagnostic;
use crate::stack::Seed;
use serde::Serialize;
use sqlx::{AnyConnection, Connection};
use std::collections::HashMap;
use std::path::Path;

/// devenv's record of applied seeds.
pub const TABLE: &str = "_devenv_seeds";

/// One seed to run: a SQL file or a command.
#[derive(Debug, Clone)]
pub enum Item {
    /// A SQL file (path relative to the project).
    File(String),
    /// A command.
    Command(Vec<String>),
}

impl Item {
    /// The name it is recorded under.
    pub fn name(&self) -> String {
        match self {
            Item::File(path) => path.clone(),
            Item::Command(argv) => format!("command: {}", argv.join(" ")),
        }
    }
}

/// What happened to one seed.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Recorded name.
    pub name: String,
    /// `applied`, `unchanged`, `changed` (reported, not run) or `reapplied`.
    pub state: &'static str,
}

/// Expands the stack's seeds into the items to run, in order.
pub fn items(root: &Path, seeds: &[Seed]) -> Result<Vec<Item>, Diagnostic> {
    let mut out = Vec::new();
    for seed in seeds {
        match seed {
            Seed::Command(argv) => out.push(Item::Command(argv.clone())),
            Seed::Path(path) => {
                let full = root.join(path);
                if full.is_dir() {
                    let mut files: Vec<String> = std::fs::read_dir(&full)
                        .map_err(|e| {
                            Diagnostic::new(format!("cannot read {}: {e}", path.display()))
                        })?
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(".sql"))
                        .collect();
                    files.sort();
                    out.extend(
                        files
                            .into_iter()
                            .map(|f| Item::File(path.join(f).display().to_string())),
                    );
                } else if full.is_file() {
                    out.push(Item::File(path.display().to_string()));
                }
                // A seed path that does not exist yet is simply nothing to seed.
            }
        }
    }
    Ok(out)
}

fn checksum(item: &Item, root: &Path) -> Result<(String, Option<String>), Diagnostic> {
    match item {
        Item::File(path) => {
            let text = std::fs::read_to_string(root.join(path))
                .map_err(|e| Diagnostic::new(format!("cannot read seed {path}: {e}")))?;
            Ok((crate::hash::sha256_hex(&text), Some(text)))
        }
        Item::Command(argv) => Ok((crate::hash::sha256_hex(&argv.join("\u{0}")), None)),
    }
}

/// Runs the seeds not yet applied (and, with `reseed`, those changed since).
pub async fn run(
    conn: &mut AnyConnection,
    kind: Kind,
    root: &Path,
    items: &[Item],
    reseed: bool,
    env: &[(String, String)],
) -> Result<Vec<Outcome>, Diagnostic> {
    let db_error = |doing: &str, e: sqlx::Error| Diagnostic::new(format!("{doing}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR(255) PRIMARY KEY, checksum VARCHAR(64) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
    )))
    .execute(&mut *conn)
    .await
    .map_err(|e| db_error("creating the seed record table", e))?;
    let recorded: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        sqlx::AssertSqlSafe(format!("SELECT name, checksum FROM {TABLE}")),
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("reading the seed records", e))?
    .into_iter()
    .collect();
    let mut outcomes = Vec::new();
    for item in items {
        let name = item.name();
        let (sum, text) = checksum(item, root)?;
        let state = match recorded.get(&name) {
            Some(old) if *old == sum => "unchanged",
            Some(_) if !reseed => "changed",
            Some(_) => "reapplied",
            None => "applied",
        };
        if matches!(state, "applied" | "reapplied") {
            apply_one(conn, kind, root, item, &name, &sum, text.as_deref(), env).await?;
        }
        outcomes.push(Outcome { name, state });
    }
    Ok(outcomes)
}

#[allow(clippy::too_many_arguments)]
async fn apply_one(
    conn: &mut AnyConnection,
    kind: Kind,
    root: &Path,
    item: &Item,
    name: &str,
    sum: &str,
    text: Option<&str>,
    env: &[(String, String)],
) -> Result<(), Diagnostic> {
    let (delete, insert) = match kind {
        Kind::Postgres => (
            format!("DELETE FROM {TABLE} WHERE name = $1"),
            format!("INSERT INTO {TABLE} (name, checksum, applied_at) VALUES ($1, $2, $3)"),
        ),
        _ => (
            format!("DELETE FROM {TABLE} WHERE name = ?"),
            format!("INSERT INTO {TABLE} (name, checksum, applied_at) VALUES (?, ?, ?)"),
        ),
    };
    let failed = |e: sqlx::Error| {
        let message = match &e {
            sqlx::Error::Database(db) => db.message().to_string(),
            other => other.to_string(),
        };
        Diagnostic::new(format!("seed {name} failed: {message}")).with_help(format!(
            "its changes were rolled back; fix {name}, then run `devenv seed`"
        ))
    };
    let record = async |conn: &mut AnyConnection| -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(delete))
            .bind(name.to_string())
            .execute(&mut *conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(name.to_string())
            .bind(sum.to_string())
            .bind(crate::env::today())
            .execute(&mut *conn)
            .await?;
        Ok(())
    };
    match (item, text) {
        (Item::File(_), Some(sql)) => {
            // The seed and its record commit together, or neither does.
            let mut tx = conn.begin().await.map_err(failed)?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            record(&mut tx).await.map_err(failed)?;
            tx.commit().await.map_err(failed)?;
        }
        (Item::Command(argv), _) => {
            super::command::run(argv, root, env, "seed")?;
            record(conn).await.map_err(failed)?;
        }
        (Item::File(_), None) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_run_once_changes_are_reported_and_failures_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("seeds")).unwrap();
        std::fs::write(
            dir.path().join("seeds/01_t.sql"),
            "create table t(v text); insert into t values ('a');",
        )
        .unwrap();
        let target = super::super::Target::from_url("sqlite:dev.db", dir.path()).unwrap();
        let mut conn = target.connect().await.unwrap();
        let list = items(
            dir.path(),
            &[Seed::Path("seeds".into()), Seed::Path("absent".into())],
        )
        .unwrap();
        let states = |o: Vec<Outcome>| o.into_iter().map(|o| o.state).collect::<Vec<_>>();
        assert_eq!(
            states(
                run(&mut conn, Kind::Sqlite, dir.path(), &list, false, &[])
                    .await
                    .unwrap()
            ),
            ["applied"]
        );
        assert_eq!(
            states(
                run(&mut conn, Kind::Sqlite, dir.path(), &list, false, &[])
                    .await
                    .unwrap()
            ),
            ["unchanged"]
        );
        std::fs::write(
            dir.path().join("seeds/01_t.sql"),
            "insert into t values ('b');",
        )
        .unwrap();
        assert_eq!(
            states(
                run(&mut conn, Kind::Sqlite, dir.path(), &list, false, &[])
                    .await
                    .unwrap()
            ),
            ["changed"]
        );
        assert_eq!(
            states(
                run(&mut conn, Kind::Sqlite, dir.path(), &list, true, &[])
                    .await
                    .unwrap()
            ),
            ["reapplied"]
        );
        std::fs::write(
            dir.path().join("seeds/02_bad.sql"),
            "insert into t values ('partial'); insert into nope values (1);",
        )
        .unwrap();
        let list = items(dir.path(), &[Seed::Path("seeds".into())]).unwrap();
        let err = run(&mut conn, Kind::Sqlite, dir.path(), &list, false, &[])
            .await
            .unwrap_err();
        assert!(
            err.message.starts_with("seed seeds/02_bad.sql failed"),
            "{err}"
        );
        let rows: Vec<(String,)> = sqlx::query_as("select v from t order by v")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            rows,
            [("a".to_string(),), ("b".to_string(),)],
            "the failed seed left no partial rows"
        );
    }
}
