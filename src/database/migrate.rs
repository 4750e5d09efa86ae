//! SQL migrations with sqlx's runtime migrator: `NNNN_name.sql` (or `.up.sql`/`.down.sql`)
//! recorded in `_sqlx_migrations` exactly as sqlx-cli records them. Each failure names the file
//! and says how to recover. The files are checked first (`files.rs`), the lock is `lock.rs`.

use super::{Kind, Target, files, lock};
use crate::diagnostic::Diagnostic;
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// sqlx's migrations table (shared with sqlx-cli).
pub const TABLE: &str = "_sqlx_migrations";

/// The migrations directory and the files in it.
pub struct Migrations {
    /// sqlx's view of the directory.
    pub migrator: Migrator,
    /// The directory (relative to the project, for messages).
    pub dir: PathBuf,
    /// Version → the file that applies it.
    files: BTreeMap<i64, String>,
}

impl Migrations {
    /// Reads the migrations in `root/dir`; a missing directory has none. Files in another
    /// tool's format and versions claimed by two files are refused before anything runs.
    pub async fn load(root: &Path, dir: &Path) -> Result<Self, Diagnostic> {
        let full = root.join(dir);
        let files = files::scan(root, dir)?;
        if !full.is_dir() {
            return Ok(Self {
                migrator: Migrator::with_migrations(Vec::new()),
                dir: dir.to_path_buf(),
                files: files.up,
            });
        }
        let migrator = Migrator::new(full).await.map_err(|e| {
            Diagnostic::new(format!(
                "cannot read the migrations in {}: {e}",
                dir.display()
            ))
        })?;
        Ok(Self {
            migrator,
            dir: dir.to_path_buf(),
            files: files.up,
        })
    }

    /// The file of a version, for messages.
    pub fn file(&self, version: i64) -> String {
        self.files
            .get(&version)
            .cloned()
            .unwrap_or_else(|| format!("migration {version}"))
    }

    fn up_migrations(&self) -> impl Iterator<Item = &sqlx::migrate::Migration> {
        self.migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
    }
}

/// A migration applied by this run.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Version.
    pub version: i64,
    /// File.
    pub file: String,
    /// Time the database took.
    pub elapsed: Duration,
}

/// Applies pending migrations in order, under sqlx's migration lock (a second run waits; a
/// lock left by a killed run is cleared, see `lock.rs`). A failure leaves the earlier
/// migrations applied and records nothing for the failed one.
pub async fn apply(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    target: &Target,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Applied>, Diagnostic> {
    let kind = target.kind;
    lock::acquire(conn, target, on_note)
        .await
        .map_err(|e| explain(migrations, kind, e))?;
    let result = apply_locked(conn, migrations, kind).await;
    // The lock is a session lock: release it now; closing the connection releases it too.
    let _ = conn.unlock().await;
    result
}

async fn apply_locked(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    kind: Kind,
) -> Result<Vec<Applied>, Diagnostic> {
    let applied = check_history(conn, migrations, kind).await?;
    let mut done = Vec::new();
    for migration in migrations.up_migrations() {
        match applied.get(&migration.version) {
            Some(checksum) if checksum.as_slice() != migration.checksum.as_ref() => {
                return Err(explain(
                    migrations,
                    kind,
                    MigrateError::VersionMismatch(migration.version),
                ));
            }
            Some(_) => {}
            None => done.push(apply_one(conn, migrations, kind, migration).await?),
        }
    }
    Ok(done)
}

/// Creates sqlx's table when missing and refuses a history devenv must not build on: a
/// migration that failed part-way, or an applied one whose file is gone. Returns the
/// checksums of the applied migrations.
async fn check_history(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    kind: Kind,
) -> Result<HashMap<i64, Vec<u8>>, Diagnostic> {
    conn.ensure_migrations_table(TABLE)
        .await
        .map_err(|e| explain(migrations, kind, e))?;
    if let Some(version) = conn
        .dirty_version(TABLE)
        .await
        .map_err(|e| explain(migrations, kind, e))?
    {
        return Err(explain(migrations, kind, MigrateError::Dirty(version)));
    }
    let applied = applied_checksums(conn, migrations, kind).await?;
    let missing = applied
        .keys()
        .copied()
        .filter(|v| !migrations.migrator.version_exists(*v))
        .min();
    if let Some(version) = missing {
        return Err(explain(
            migrations,
            kind,
            MigrateError::VersionMissing(version),
        ));
    }
    Ok(applied)
}

/// Applies one pending migration; on failure leaves sqlx's table telling the truth.
async fn apply_one(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    kind: Kind,
    migration: &Migration,
) -> Result<Applied, Diagnostic> {
    match conn.apply(TABLE, migration).await {
        Ok(elapsed) => Ok(Applied {
            version: migration.version,
            file: migrations.file(migration.version),
            elapsed,
        }),
        Err(MigrateError::Execute(inner)) | Err(MigrateError::ExecuteMigration(inner, _)) => {
            record_failure(conn, kind, migration).await;
            Err(explain(
                migrations,
                kind,
                MigrateError::ExecuteMigration(inner, migration.version),
            ))
        }
        Err(other) => Err(explain(migrations, kind, other)),
    }
}

/// After a failed migration: a no-transaction one may have run in part, so it is recorded as
/// failed (the next run refuses with recovery steps instead of running it over a half-changed
/// schema); on MySQL sqlx records every failed attempt, and nothing may stay marked that was
/// not applied, so that row goes (the fixed file runs next time).
async fn record_failure(conn: &mut AnyConnection, kind: Kind, migration: &Migration) {
    if kind != Kind::Mysql && migration.no_tx {
        let sql = if kind == Kind::Postgres {
            format!(
                "INSERT INTO {TABLE} (version, description, success, checksum, execution_time) VALUES ($1, $2, FALSE, $3, -1)"
            )
        } else {
            format!(
                "INSERT INTO {TABLE} (version, description, success, checksum, execution_time) VALUES (?, ?, FALSE, ?, -1)"
            )
        };
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(migration.version)
            .bind(migration.description.to_string())
            .bind(migration.checksum.to_vec())
            .execute(&mut *conn)
            .await;
    }
    if kind == Kind::Mysql && !migration.no_tx {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {TABLE} WHERE version = ? AND success = FALSE"
        )))
        .bind(migration.version)
        .execute(&mut *conn)
        .await;
    }
}

/// Version → checksum of every migration the database has recorded.
async fn applied_checksums(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    kind: Kind,
) -> Result<HashMap<i64, Vec<u8>>, Diagnostic> {
    Ok(conn
        .list_applied_migrations(TABLE)
        .await
        .map_err(|e| explain(migrations, kind, e))?
        .into_iter()
        .map(|m| (m.version, m.checksum.into_owned()))
        .collect())
}

/// Where one migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MigrationState {
    /// Applied, and its file unchanged since.
    #[serde(rename = "applied")]
    Applied,
    /// Not applied yet.
    #[serde(rename = "pending")]
    Pending,
    /// Applied, but its file was edited since (checksum mismatch).
    #[serde(rename = "modified")]
    Modified,
    /// Applied, but its file is gone.
    #[serde(rename = "missing file")]
    MissingFile,
    /// Failed part-way outside a transaction in an earlier run.
    #[serde(rename = "failed (partly applied)")]
    Failed,
}

impl MigrationState {
    /// Whether it needs a person (an edited, removed or half-applied migration).
    pub fn is_problem(self) -> bool {
        !matches!(self, Self::Applied | Self::Pending)
    }

    /// The word shown for it (the same as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Pending => "pending",
            Self::Modified => "modified",
            Self::MissingFile => "missing file",
            Self::Failed => "failed (partly applied)",
        }
    }
}

impl std::fmt::Display for MigrationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `devenv migrate status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    /// Version.
    pub version: i64,
    /// Description from the file name.
    pub description: String,
    /// File (or `-` when it is gone).
    pub file: String,
    /// Where it stands.
    pub state: MigrationState,
}

/// Applied and pending migrations, checksum mismatches and applied migrations whose file is gone.
pub async fn status(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    kind: Kind,
) -> Result<Vec<StatusRow>, Diagnostic> {
    conn.ensure_migrations_table(TABLE)
        .await
        .map_err(|e| explain(migrations, kind, e))?;
    let dirty = conn
        .dirty_version(TABLE)
        .await
        .map_err(|e| explain(migrations, kind, e))?;
    let applied = applied_checksums(conn, migrations, kind).await?;
    let mut rows: Vec<StatusRow> = migrations
        .up_migrations()
        .map(|m| StatusRow {
            version: m.version,
            description: m.description.to_string(),
            file: migrations.file(m.version),
            state: match applied.get(&m.version) {
                _ if dirty == Some(m.version) => MigrationState::Failed,
                Some(sum) if sum.as_slice() == m.checksum.as_ref() => MigrationState::Applied,
                Some(_) => MigrationState::Modified,
                None => MigrationState::Pending,
            },
        })
        .collect();
    for version in applied
        .keys()
        .filter(|v| !migrations.migrator.version_exists(**v))
    {
        rows.push(StatusRow {
            version: *version,
            description: String::new(),
            file: "-".into(),
            state: MigrationState::MissingFile,
        });
    }
    rows.sort_by_key(|r| r.version);
    Ok(rows)
}

/// Creates the next numbered migration file (`0003_add_users.sql`) and returns its path.
pub fn new_file(root: &Path, dir: &Path, name: &str) -> Result<PathBuf, Diagnostic> {
    let slug: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let slug = slug.trim_matches('_').to_string();
    if slug.is_empty() {
        return Err(Diagnostic::new(format!("`{name}` makes no file name"))
            .with_help("name what it does: `devenv migrate new add_users`"));
    }
    let full = root.join(dir);
    std::fs::create_dir_all(&full)
        .map_err(|e| Diagnostic::new(format!("cannot create {}: {e}", dir.display())))?;
    let next = std::fs::read_dir(&full)
        .map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .split('_')
                .next()
                .and_then(|v| v.parse::<i64>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1;
    let path = full.join(format!("{next:04}_{slug}.sql"));
    let text = format!(
        "-- {name}\n-- Applied by `devenv migrate` (and `devenv up`); never edit once applied: add a new one.\n\n"
    );
    std::fs::write(&path, text)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(dir.join(path.file_name().unwrap_or_default()))
}

/// Turns a migration error into what happened, to which file, and the way out.
pub fn explain(migrations: &Migrations, kind: Kind, error: MigrateError) -> Diagnostic {
    let dir = migrations.dir.display();
    match error {
        MigrateError::ExecuteMigration(inner, version) => {
            let file = migrations.file(version);
            let at = position(&inner, migrations, version).map(|(l, c)| format!(" (line {l}, column {c})")).unwrap_or_default();
            let tx = match kind {
                Kind::Postgres | Kind::Sqlite => " It ran in a transaction: nothing of it was kept.",
                Kind::Mysql => " MySQL commits schema changes as it goes: statements of this file before the failing one stay applied, so make it safe to run again.",
            };
            Diagnostic::new(format!("migration {file} failed{at}: {}", db_message(&inner))).with_help(format!(
                "fix {file}, then run `devenv migrate`. Earlier migrations stay applied; this one was not recorded.{tx}"
            ))
        }
        MigrateError::VersionMismatch(version) => {
            let file = migrations.file(version);
            Diagnostic::new(format!("migration {file} was edited after it was applied (its checksum no longer matches)")).with_help(format!(
                "revert the edit to {file} and put the change in a new migration (`devenv migrate new NAME`), or in development start over with `devenv db reset`"
            ))
        }
        MigrateError::VersionMissing(version) => Diagnostic::new(format!(
            "migration {version} was applied to the database but its file is no longer in {dir}"
        ))
        .with_help(format!("restore the file (e.g. `git checkout -- {dir}`), or in development start over with `devenv db reset`")),
        MigrateError::Dirty(version) => {
            let file = migrations.file(version);
            Diagnostic::new(format!("migration {file} failed part-way in an earlier run (it ran without a transaction)")).with_help(format!(
                "undo by hand what it did, delete its row (`DELETE FROM {TABLE} WHERE version = {version};` in `devenv db shell`), fix the file and run `devenv migrate` again; or in development `devenv db reset`"
            ))
        }
        other => Diagnostic::new(format!("migrations in {dir}: {other}")),
    }
}

fn db_message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Line and column of a PostgreSQL error position inside the migration's SQL.
fn position(error: &sqlx::Error, migrations: &Migrations, version: i64) -> Option<(usize, usize)> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    let sqlx::postgres::PgErrorPosition::Original(offset) = pg.position()? else {
        return None;
    };
    let sql = migrations
        .up_migrations()
        .find(|m| m.version == version)?
        .sql
        .as_str()
        .to_string();
    let before: String = sql.chars().take(offset.saturating_sub(1)).collect();
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_files_are_numbered_after_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let first = new_file(dir.path(), Path::new("migrations"), "Create users").unwrap();
        assert_eq!(first, Path::new("migrations/0001_create_users.sql"));
        std::fs::write(dir.path().join("migrations/0007_x.sql"), "").unwrap();
        let next = new_file(dir.path(), Path::new("migrations"), "add-index").unwrap();
        assert_eq!(next, Path::new("migrations/0008_add_index.sql"));
        assert!(new_file(dir.path(), Path::new("migrations"), "!!!").is_err());
    }

    #[tokio::test]
    async fn sqlite_migrations_apply_once_and_report_status() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        std::fs::write(
            dir.path().join("m/0001_t.sql"),
            "create table t(id integer primary key);",
        )
        .unwrap();
        std::fs::write(dir.path().join("m/0002_u.sql"), "insert into t values (1);").unwrap();
        let target = super::super::Target::from_url("sqlite:dev.db", dir.path()).unwrap();
        let mut conn = target.connect().await.unwrap();
        let migrations = Migrations::load(dir.path(), Path::new("m")).await.unwrap();
        let applied = apply(&mut conn, &migrations, &target, &|_| {})
            .await
            .unwrap();
        assert_eq!(
            applied.iter().map(|a| a.file.as_str()).collect::<Vec<_>>(),
            ["m/0001_t.sql", "m/0002_u.sql"]
        );
        assert!(
            apply(&mut conn, &migrations, &target, &|_| {})
                .await
                .unwrap()
                .is_empty()
        );
        std::fs::write(dir.path().join("m/0002_u.sql"), "insert into t values (2);").unwrap();
        let edited = Migrations::load(dir.path(), Path::new("m")).await.unwrap();
        let err = apply(&mut conn, &edited, &target, &|_| {})
            .await
            .unwrap_err();
        assert!(
            err.message
                .contains("m/0002_u.sql was edited after it was applied"),
            "{err}"
        );
        let rows = status(&mut conn, &edited, Kind::Sqlite).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.state).collect::<Vec<_>>(),
            [MigrationState::Applied, MigrationState::Modified]
        );
    }
}
