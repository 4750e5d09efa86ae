//! SQL migrations: sqlx's layout (`NNNN_name.sql` or `.up.sql`/`.down.sql`) applied with sqlx's
//! runtime migrator and recorded in `_sqlx_migrations` exactly as sqlx-cli records them, or
//! another tool's layout and table (`tools/`). Each failure names the file and says how to
//! recover. The format is chosen in `format.rs`, sqlx's files are checked in `files.rs`, the
//! lock is `lock.rs`.

use super::format::{self, Chosen, Format};
use super::tools::{self, ToolMigrations, Version};
use super::{Kind, Target, files, lock};
use crate::diagnostic::Diagnostic;
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// sqlx's migrations table (shared with sqlx-cli).
pub const TABLE: &str = "_sqlx_migrations";

/// The migrations directory, read in its format.
pub struct Migrations {
    /// The directory (relative to the project, for messages).
    pub dir: PathBuf,
    /// The format and why it was chosen.
    pub chosen: Chosen,
    set: Set,
}

/// The migrations as their format reads them.
enum Set {
    /// sqlx's view of the directory, and version → file.
    Sqlx {
        migrator: Migrator,
        files: files::Files,
    },
    /// Another tool's.
    Tool(ToolMigrations),
}

impl Migrations {
    /// Reads the migrations in `root/dir` in `configured` format, or the one its files show; a
    /// missing directory has none. Files of two tools and versions claimed by two files are
    /// refused before anything runs.
    pub async fn load(
        root: &Path,
        dir: &Path,
        configured: Option<Format>,
    ) -> Result<Self, Diagnostic> {
        let sql_files = format::read_dir(root, dir)?;
        let chosen = format::choose(root, &sql_files, configured)?;
        if chosen.format != Format::Sqlx {
            let set = ToolMigrations::load(chosen.format, dir, &sql_files)?;
            return Ok(Self {
                dir: dir.to_path_buf(),
                chosen,
                set: Set::Tool(set),
            });
        }
        let files = files::scan(&sql_files)?;
        let full = root.join(dir);
        let migrator = if full.is_dir() {
            Migrator::new(full).await.map_err(|e| {
                Diagnostic::new(format!(
                    "cannot read the migrations in {}: {e}",
                    dir.display()
                ))
            })?
        } else {
            Migrator::with_migrations(Vec::new())
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            chosen,
            set: Set::Sqlx { migrator, files },
        })
    }

    /// The file of a version, for messages.
    pub fn file(&self, version: i64) -> String {
        match &self.set {
            Set::Sqlx { files, .. } => files.up.get(&version).cloned(),
            Set::Tool(set) => Version::parse(&version.to_string())
                .and_then(|v| set.find(&v))
                .map(tools::ToolMigration::shown),
        }
        .unwrap_or_else(|| format!("migration {version}"))
    }

    /// The format's history table.
    pub fn table(&self) -> &'static str {
        self.chosen.format.table()
    }

    fn migrator(&self) -> Option<&Migrator> {
        match &self.set {
            Set::Sqlx { migrator, .. } => Some(migrator),
            Set::Tool(_) => None,
        }
    }

    fn up_migrations(&self) -> impl Iterator<Item = &sqlx::migrate::Migration> {
        self.migrator()
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|m| !m.migration_type.is_down_migration())
    }
}

/// A migration applied (or reverted) by this run.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Version.
    pub version: Version,
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
    if let Set::Tool(set) = &migrations.set {
        return tools::run::apply(conn, set, target, on_note).await;
    }
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
        .filter(|v| !migrations.migrator().is_some_and(|m| m.version_exists(*v)))
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
            version: sqlx_version(migration.version),
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
    /// Not applied, and older than the newest applied one: the tool (goose, Flyway) refuses it.
    #[serde(rename = "pending (out of order)")]
    OutOfOrder,
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
            Self::OutOfOrder => "pending (out of order)",
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
    /// Version (none for Flyway's repeatable migrations).
    pub version: Option<Version>,
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
    if let Set::Tool(set) = &migrations.set {
        return tools::run::status(conn, set, kind).await;
    }
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
            version: Some(sqlx_version(m.version)),
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
        .filter(|v| !migrations.migrator().is_some_and(|m| m.version_exists(**v)))
    {
        rows.push(StatusRow {
            version: Some(sqlx_version(*version)),
            description: String::new(),
            file: "-".into(),
            state: MigrationState::MissingFile,
        });
    }
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(rows)
}

/// sqlx's version as a [`Version`].
fn sqlx_version(version: i64) -> Version {
    Version::parse(&version.to_string()).unwrap_or_else(|| Version::parse("0").expect("a number"))
}

/// Reverts the newest `count` applied migrations with their down migrations (sqlx's
/// `.down.sql`, golang-migrate's `.down.sql`, goose's and dbmate's down sections), recording
/// each as the format does. Refuses before reverting anything when one has no down migration.
pub async fn down(
    conn: &mut AnyConnection,
    migrations: &Migrations,
    target: &Target,
    count: usize,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Applied>, Diagnostic> {
    let migrator = match &migrations.set {
        Set::Tool(set) => return tools::run::down(conn, set, target, count, on_note).await,
        Set::Sqlx { migrator, .. } => migrator,
    };
    let kind = target.kind;
    lock::acquire(conn, target, on_note)
        .await
        .map_err(|e| explain(migrations, kind, e))?;
    let result = async {
        let applied = check_history(conn, migrations, kind).await?;
        let mut newest: Vec<i64> = applied.keys().copied().collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        newest.truncate(count);
        let mut steps = Vec::new();
        for version in newest {
            let Some(down) = migrator
                .iter()
                .find(|m| m.version == version && m.migration_type.is_down_migration())
            else {
                let file = migrations.file(version);
                return Err(Diagnostic::new(format!(
                    "cannot revert {file}: it has no down file; nothing was reverted"
                ))
                .with_help(match file.strip_suffix(".up.sql") {
                    Some(stem) => format!("write {stem}.down.sql beside it, with the statements that undo it"),
                    None => format!(
                        "sqlx reverts only pairs: rename {file} to NAME.up.sql and write NAME.down.sql with the statements that undo it"
                    ),
                }));
            };
            steps.push(down);
        }
        let mut done = Vec::new();
        for down in steps {
            let elapsed = conn
                .revert(TABLE, down)
                .await
                .map_err(|e| explain(migrations, kind, e))?;
            done.push(Applied {
                version: sqlx_version(down.version),
                file: migrations.file(down.version).replace(".up.sql", ".down.sql"),
                elapsed,
            });
        }
        Ok(done)
    }
    .await;
    let _ = conn.unlock().await;
    result
}

/// Creates the next migration in the directory's format and returns its path(s): sqlx's
/// `0003_add_users.sql`, golang-migrate's `000003_add_users.up.sql` and `.down.sql`, goose's
/// `00003_add_users.sql` (or a timestamp, when the files use them), dbmate's timestamped
/// `20240101120000_add_users.sql`, Flyway's `V3__add_users.sql`.
pub fn new_file(
    root: &Path,
    dir: &Path,
    configured: Option<Format>,
    name: &str,
) -> Result<Vec<PathBuf>, Diagnostic> {
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
    let existing = format::read_dir(root, dir)?;
    let chosen = format::choose(root, &existing, configured)?;
    let full = root.join(dir);
    std::fs::create_dir_all(&full)
        .map_err(|e| Diagnostic::new(format!("cannot create {}: {e}", dir.display())))?;
    let numbers: Vec<u64> = existing
        .iter()
        .filter_map(|f| {
            let name = f.name.strip_prefix('V').unwrap_or(&f.name);
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    let next = numbers.iter().max().copied().unwrap_or(0) + 1;
    let timestamps = numbers.iter().any(|n| *n >= 10_000_000_000);
    let stamp = || jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string();
    let note = "never edit once applied: add a new one";
    let files: Vec<(String, String)> = match chosen.format {
        Format::Sqlx => vec![(
            format!("{next:04}_{slug}.sql"),
            format!("-- {name}\n-- Applied by `devenv migrate` (and `devenv up`); {note}.\n\n"),
        )],
        Format::GolangMigrate => vec![
            (format!("{next:06}_{slug}.up.sql"), format!("-- {name}\n\n")),
            (
                format!("{next:06}_{slug}.down.sql"),
                format!("-- undoes {next:06}_{slug}.up.sql\n\n"),
            ),
        ],
        Format::Goose => vec![(
            if timestamps {
                format!("{}_{slug}.sql", stamp())
            } else {
                format!("{next:05}_{slug}.sql")
            },
            "-- +goose Up\n\n-- +goose Down\n\n".to_string(),
        )],
        Format::Dbmate => vec![(
            format!("{}_{slug}.sql", stamp()),
            "-- migrate:up\n\n\n-- migrate:down\n\n".to_string(),
        )],
        Format::Flyway => vec![(format!("V{next}__{slug}.sql"), format!("-- {name}\n\n"))],
    };
    let mut written = Vec::new();
    for (file, text) in files {
        let path = full.join(&file);
        if path.exists() {
            return Err(
                Diagnostic::new(format!("{} exists already", dir.join(&file).display()))
                    .with_help("pick another name, or wait a second for a new timestamp"),
            );
        }
        std::fs::write(&path, text)
            .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
        written.push(dir.join(file));
    }
    Ok(written)
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
        let m = Path::new("migrations");
        let first = new_file(dir.path(), m, None, "Create users").unwrap();
        assert_eq!(first, [Path::new("migrations/0001_create_users.sql")]);
        std::fs::write(dir.path().join("migrations/0007_x.sql"), "").unwrap();
        let next = new_file(dir.path(), m, None, "add-index").unwrap();
        assert_eq!(next, [Path::new("migrations/0008_add_index.sql")]);
        assert!(new_file(dir.path(), m, None, "!!!").is_err());
        let pair = new_file(dir.path(), m, Some(Format::GolangMigrate), "b").unwrap();
        assert_eq!(
            pair,
            [
                Path::new("migrations/000009_b.up.sql"),
                Path::new("migrations/000009_b.down.sql")
            ]
        );
        let flyway = tempfile::tempdir().unwrap();
        std::fs::create_dir(flyway.path().join("sql")).unwrap();
        std::fs::write(flyway.path().join("sql/V2__a.sql"), "").unwrap();
        let v3 = new_file(flyway.path(), Path::new("sql"), None, "c").unwrap();
        assert_eq!(v3, [Path::new("sql/V3__c.sql")]);
        let goose = new_file(flyway.path(), Path::new("g"), Some(Format::Goose), "d").unwrap();
        assert_eq!(goose, [Path::new("g/00001_d.sql")]);
        let text = std::fs::read_to_string(flyway.path().join("g/00001_d.sql")).unwrap();
        assert!(text.starts_with("-- +goose Up"));
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
        let migrations = Migrations::load(dir.path(), Path::new("m"), None)
            .await
            .unwrap();
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
        let edited = Migrations::load(dir.path(), Path::new("m"), None)
            .await
            .unwrap();
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
