//! Seeds: SQL files (a file, or a directory applied in name order) or commands, each run once
//! per database and recorded with its checksum in `_devenv_seeds`. A seed file changed since
//! it ran is reported, and re-run only with `--reseed`. A failing SQL seed rolls back, except
//! what MySQL commits on its own (DDL), which the error names.

use super::Kind;
use super::statements;
use crate::diagnostic::Diagnostic;
use crate::stack::Seed;
use futures_util::StreamExt;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedState {
    /// Run now for the first time.
    Applied,
    /// Ran before, unchanged since: not run.
    Unchanged,
    /// Changed since it ran: reported, not run (without `--reseed`).
    Changed,
    /// Changed since it ran, and run again (`--reseed`).
    Reapplied,
}

/// One seed and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Recorded name.
    pub name: String,
    /// What happened.
    pub state: SeedState,
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
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Outcome>, Diagnostic> {
    let recorded = ensure_record_table(conn).await?;
    let record = Record::new(kind);
    let mut outcomes = Vec::new();
    for item in items {
        let name = item.name();
        let (sum, text) = checksum(item, root)?;
        let state = match recorded.get(&name) {
            Some(old) if *old == sum => SeedState::Unchanged,
            Some(_) if !reseed => SeedState::Changed,
            Some(_) => SeedState::Reapplied,
            None => SeedState::Applied,
        };
        if matches!(state, SeedState::Applied | SeedState::Reapplied) {
            let done = Done {
                name: &name,
                sum: &sum,
            };
            match (item, text) {
                (Item::File(_), Some(sql)) => apply_sql(conn, kind, &record, &done, &sql).await?,
                (Item::Command(argv), _) => {
                    super::command::run(argv, root, env, "seed", on_line).await?;
                    record.write(conn, &done).await.map_err(|e| {
                        Diagnostic::new(format!("seed {name} ran, but recording it in {TABLE} failed: {e}"))
                            .with_help("what the command did stays; check the database user's rights on the seed record table, then run `devenv seed` (the command runs again)")
                    })?;
                }
                (Item::File(_), None) => {}
            }
        }
        outcomes.push(Outcome { name, state });
    }
    Ok(outcomes)
}

/// Creates the record table when missing; returns name → checksum of the recorded seeds.
async fn ensure_record_table(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, String>, Diagnostic> {
    let db_error = |doing: &str, e: sqlx::Error| Diagnostic::new(format!("{doing}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR(255) PRIMARY KEY, checksum VARCHAR(64) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
    )))
    .execute(&mut *conn)
    .await
    .map_err(|e| db_error("creating the seed record table", e))?;
    Ok(
        sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(format!(
            "SELECT name, checksum FROM {TABLE}"
        )))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("reading the seed records", e))?
        .into_iter()
        .collect(),
    )
}

/// A seed that ran: its name and checksum, to record.
struct Done<'a> {
    name: &'a str,
    sum: &'a str,
}

/// The statements that record a seed, in the database's placeholder syntax.
struct Record {
    delete: String,
    insert: String,
}

impl Record {
    fn new(kind: Kind) -> Self {
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
        Self { delete, insert }
    }

    async fn write(&self, conn: &mut AnyConnection, done: &Done<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(self.delete.clone()))
            .bind(done.name.to_string())
            .execute(&mut *conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(self.insert.clone()))
            .bind(done.name.to_string())
            .bind(done.sum.to_string())
            .bind(crate::env::today())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Runs a SQL seed and records it in one transaction: both commit, or neither does (but for
/// what MySQL commits on its own, which the error then names).
async fn apply_sql(
    conn: &mut AnyConnection,
    kind: Kind,
    record: &Record,
    done: &Done<'_>,
    sql: &str,
) -> Result<(), Diagnostic> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| failed(done.name, &e, None))?;
    let mut results = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute_many(&mut *tx);
    let mut succeeded = 0;
    while let Some(result) = results.next().await {
        if let Err(e) = result {
            drop(results);
            let _ = tx.rollback().await;
            let partial = (kind == Kind::Mysql).then(|| Partial::of(sql, succeeded));
            return Err(failed(done.name, &e, partial.as_ref()));
        }
        succeeded += 1;
    }
    drop(results);
    record
        .write(&mut tx, done)
        .await
        .map_err(|e| failed(done.name, &e, None))?;
    tx.commit().await.map_err(|e| failed(done.name, &e, None))
}

/// Where a MySQL seed stopped: the failing statement's line, and the statements that ran
/// before it, of which those that commit on their own (DDL).
struct Partial {
    failed_line: Option<usize>,
    /// The failing statement's verb, when it is DDL itself.
    failed_ddl: Option<String>,
    ran: Vec<usize>,
    ddl: Vec<(String, usize)>,
}

impl Partial {
    fn of(sql: &str, succeeded: usize) -> Self {
        let statements = statements::split(sql);
        let ran = &statements[..succeeded.min(statements.len())];
        Self {
            failed_line: statements.get(succeeded).map(|s| s.line),
            failed_ddl: statements
                .get(succeeded)
                .filter(|s| s.commits_implicitly())
                .map(|s| s.verb()),
            ran: ran.iter().map(|s| s.line).collect(),
            ddl: ran
                .iter()
                .filter(|s| s.commits_implicitly())
                .map(|s| (s.verb(), s.line))
                .collect(),
        }
    }

    /// What stays, when a DDL statement ran; `None` when the rollback undid everything.
    fn explain(&self) -> Option<String> {
        let ran: Vec<String> = self.ran.iter().map(usize::to_string).collect();
        if self.ddl.is_empty() {
            let verb = self.failed_ddl.as_ref().filter(|_| !ran.is_empty())?;
            return Some(format!(
                "The failing {verb} is DDL, and MySQL commits what ran before a DDL statement as it starts it: unless the {verb} failed to parse, the statements on lines {} stay.",
                ran.join(", ")
            ));
        }
        let ddl: Vec<String> = self
            .ddl
            .iter()
            .map(|(verb, line)| format!("the {verb} on line {line}"))
            .collect();
        Some(format!(
            "MySQL commits DDL at once: {} committed and ended the seed's transaction, so every statement that ran before the failing one stays (lines {}); nothing was rolled back.",
            ddl.join(" and "),
            ran.join(", ")
        ))
    }
}

/// The error of a failed seed, saying what was kept.
fn failed(name: &str, error: &sqlx::Error, partial: Option<&Partial>) -> Diagnostic {
    let message = match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    };
    let at = partial
        .and_then(|p| p.failed_line)
        .map(|line| format!(" at line {line}"))
        .unwrap_or_default();
    let help = match partial.and_then(Partial::explain) {
        Some(kept) => format!(
            "{kept} The seed was not recorded: make it safe to run again (`CREATE TABLE IF NOT EXISTS`, `INSERT IGNORE`) or undo what stayed, fix {name}, then run `devenv seed`"
        ),
        None => format!("its changes were rolled back; fix {name}, then run `devenv seed`"),
    };
    Diagnostic::new(format!("seed {name} failed{at}: {message}")).with_help(help)
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
        async fn states(
            conn: &mut sqlx::AnyConnection,
            root: &std::path::Path,
            list: &[Item],
            reseed: bool,
        ) -> Vec<SeedState> {
            run(conn, Kind::Sqlite, root, list, reseed, &[], &|_| {})
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.state)
                .collect()
        }
        let root = dir.path();
        assert_eq!(
            states(&mut conn, root, &list, false).await,
            [SeedState::Applied]
        );
        assert_eq!(
            states(&mut conn, root, &list, false).await,
            [SeedState::Unchanged]
        );
        std::fs::write(root.join("seeds/01_t.sql"), "insert into t values ('b');").unwrap();
        assert_eq!(
            states(&mut conn, root, &list, false).await,
            [SeedState::Changed]
        );
        assert_eq!(
            states(&mut conn, root, &list, true).await,
            [SeedState::Reapplied]
        );
        std::fs::write(
            dir.path().join("seeds/02_bad.sql"),
            "insert into t values ('partial'); insert into nope values (1);",
        )
        .unwrap();
        let list = items(dir.path(), &[Seed::Path("seeds".into())]).unwrap();
        let err = run(
            &mut conn,
            Kind::Sqlite,
            dir.path(),
            &list,
            false,
            &[],
            &|_| {},
        )
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

    #[test]
    fn a_mysql_seed_failure_says_what_ddl_committed_and_only_then() {
        let sql = "INSERT INTO t VALUES (1);\nCREATE TABLE x (id INT);\nINSERT INTO t VALUES (2);\nINSERT INTO nowhere VALUES (3);\n";
        let error = sqlx::Error::Protocol("no such table".into());
        let after_ddl = failed("s.sql", &error, Some(&Partial::of(sql, 3)));
        assert!(
            after_ddl.message.starts_with("seed s.sql failed at line 4"),
            "{after_ddl}"
        );
        assert!(
            after_ddl.help.as_deref().unwrap().starts_with(
                "MySQL commits DDL at once: the CREATE TABLE on line 2 committed and ended the seed's transaction, so every statement that ran before the failing one stays (lines 1, 2, 3); nothing was rolled back."
            ),
            "{after_ddl}"
        );
        let at_ddl = failed("s.sql", &error, Some(&Partial::of(sql, 1)));
        assert!(
            at_ddl.help.as_deref().unwrap().starts_with(
                "The failing CREATE TABLE is DDL, and MySQL commits what ran before a DDL statement as it starts it: unless the CREATE TABLE failed to parse, the statements on lines 1 stay."
            ),
            "{at_ddl}"
        );
        let sql = "INSERT INTO t VALUES (1);\nINSERT INTO nowhere VALUES (3);\nCREATE TABLE x (id INT);\n";
        let before_ddl = failed("s.sql", &error, Some(&Partial::of(sql, 1)));
        assert!(
            before_ddl
                .message
                .starts_with("seed s.sql failed at line 2"),
            "{before_ddl}"
        );
        assert!(
            before_ddl
                .help
                .as_deref()
                .unwrap()
                .starts_with("its changes were rolled back"),
            "{before_ddl}"
        );
    }
}
