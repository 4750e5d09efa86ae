//! Applying, reverting and reporting a tool's migrations against its own history table: what
//! the table says is applied (`History`), what is pending, and each step recorded the way the
//! tool records it. Refusals follow the tool: a dirty golang-migrate version, a failed Flyway
//! row, an edited Flyway file, a pending version below the newest applied one (goose, Flyway).

use super::{ToolMigration, ToolMigrations, Version, dbmate, flyway, golang_migrate, goose};
use crate::database::format::Format;
use crate::database::migrate::{Applied, MigrationState, StatusRow};
use crate::database::{Kind, Target, lock};
use crate::diagnostic::Diagnostic;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, Connection, Executor};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// What a tool's table says.
#[derive(Debug, Default)]
struct History {
    /// Applied versions, with Flyway's checksum of each.
    applied: BTreeMap<Version, Option<i32>>,
    /// Flyway: the newest checksum of each repeatable migration, by description.
    repeatable: HashMap<String, Option<i32>>,
    /// A migration that failed part-way: golang-migrate's dirty version, a failed Flyway row.
    dirty: Option<Version>,
    /// Flyway's baseline: versions up to it count as applied.
    baseline: Option<Version>,
}

impl History {
    fn newest(&self) -> Option<&Version> {
        self.applied.keys().next_back()
    }

    fn is_applied(&self, version: &Version) -> bool {
        self.applied.contains_key(version) || self.baseline.as_ref().is_some_and(|b| version <= b)
    }
}

/// Applies the pending migrations in the tool's order, recording each as the tool does.
pub async fn apply(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    target: &Target,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Applied>, Diagnostic> {
    supported(migrations, target.kind)?;
    lock::acquire(conn, target, on_note)
        .await
        .map_err(|e| Diagnostic::new(format!("cannot take the migration lock: {e}")))?;
    let result = apply_locked(conn, migrations, target.kind).await;
    let _ = sqlx::migrate::Migrate::unlock(conn).await;
    result
}

async fn apply_locked(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    kind: Kind,
) -> Result<Vec<Applied>, Diagnostic> {
    let fresh = !table_exists(conn, migrations.format.table(), kind).await?;
    let other = if fresh {
        let other = other_history(conn, migrations.format, kind).await?;
        create_table(conn, migrations.format, kind).await?;
        other
    } else {
        None
    };
    let history = read_history(conn, migrations, kind).await?;
    refuse_problems(migrations, &history)?;
    let mut done = Vec::new();
    for migration in pending(migrations, &history) {
        let started = Instant::now();
        let applied = apply_one(conn, migrations.format, kind, migration).await;
        if let (Err(error), Some(other), true) = (applied.as_ref(), other, done.is_empty()) {
            return Err(error.clone().with_help(format!(
                "this database was migrated in {other}'s format before (it has {}, not {}): start over in {}'s with `devenv db reset` in development, or set `format = \"{other}\"` under [database] if that is still the project's tool.",
                other.table(),
                migrations.format.table(),
                migrations.format
            )));
        }
        applied?;
        done.push(Applied {
            version: migration
                .version
                .clone()
                .unwrap_or_else(|| Version::parse("0").expect("a number")),
            file: migration.shown(),
            elapsed: started.elapsed(),
        });
    }
    Ok(done)
}

/// Where each migration stands, from the tool's table (not created when missing).
pub async fn status(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    kind: Kind,
) -> Result<Vec<StatusRow>, Diagnostic> {
    supported(migrations, kind)?;
    let history = if table_exists(conn, migrations.format.table(), kind).await? {
        read_history(conn, migrations, kind).await?
    } else {
        History::default()
    };
    let newest = history.newest().cloned();
    let mut rows: Vec<StatusRow> = migrations
        .list
        .iter()
        .map(|m| {
            let state = match &m.version {
                Some(v) if history.dirty.as_ref() == Some(v) => MigrationState::Failed,
                Some(v) if history.is_applied(v) => {
                    match (history.applied.get(v).copied().flatten(), m.checksum) {
                        (Some(recorded), Some(now)) if recorded != now => MigrationState::Modified,
                        _ => MigrationState::Applied,
                    }
                }
                Some(v)
                    if out_of_order_refused(migrations.format)
                        && newest.as_ref().is_some_and(|n| v < n) =>
                {
                    MigrationState::OutOfOrder
                }
                Some(_) => MigrationState::Pending,
                None => match history.repeatable.get(&m.description) {
                    Some(recorded) if *recorded == m.checksum => MigrationState::Applied,
                    _ => MigrationState::Pending,
                },
            };
            StatusRow {
                version: m.version.clone(),
                description: m.description.clone(),
                file: m.shown(),
                state,
            }
        })
        .collect();
    for version in history.applied.keys() {
        if migrations.find(version).is_none() {
            rows.push(StatusRow {
                version: Some(version.clone()),
                description: String::new(),
                file: "-".into(),
                state: MigrationState::MissingFile,
            });
        }
    }
    if let Some(dirty) = &history.dirty
        && migrations.find(dirty).is_none()
        && !history.applied.contains_key(dirty)
    {
        rows.push(StatusRow {
            version: Some(dirty.clone()),
            description: String::new(),
            file: "-".into(),
            state: MigrationState::Failed,
        });
    }
    rows.sort_by(|a, b| match (&a.version, &b.version) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.description.cmp(&b.description),
    });
    Ok(rows)
}

/// Reverts the newest `count` applied migrations with their down migrations, newest first,
/// recording each as the tool does. Refuses before reverting anything when one of them has no
/// down migration.
pub async fn down(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    target: &Target,
    count: usize,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Applied>, Diagnostic> {
    supported(migrations, target.kind)?;
    if migrations.format == Format::Flyway {
        return Err(Diagnostic::new(
            "Flyway has no down migrations (its undo files, U1__name.sql, are a Flyway Teams feature)",
        )
        .with_help("write a new V migration that undoes the change, or in development start over with `devenv db reset`"));
    }
    lock::acquire(conn, target, on_note)
        .await
        .map_err(|e| Diagnostic::new(format!("cannot take the migration lock: {e}")))?;
    let result = down_locked(conn, migrations, target.kind, count).await;
    let _ = sqlx::migrate::Migrate::unlock(conn).await;
    result
}

async fn down_locked(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    kind: Kind,
    count: usize,
) -> Result<Vec<Applied>, Diagnostic> {
    if !table_exists(conn, migrations.format.table(), kind).await? {
        return Ok(Vec::new()); // nothing was ever applied in this format
    }
    let history = read_history(conn, migrations, kind).await?;
    refuse_problems(migrations, &history)?;
    let newest: Vec<&Version> = history.applied.keys().rev().take(count).collect();
    let mut steps = Vec::new();
    for version in newest {
        let migration = migrations
            .find(version)
            .ok_or_else(|| missing_file(migrations, version))?;
        if migration.down.is_none() {
            return Err(no_down(migrations.format, migration));
        }
        steps.push(migration);
    }
    let mut done = Vec::new();
    for migration in steps {
        let started = Instant::now();
        revert_one(conn, migrations, kind, migration).await?;
        done.push(Applied {
            version: migration.version.clone().expect("versioned"),
            file: migration
                .down_file
                .as_ref()
                .unwrap_or(&migration.file)
                .display()
                .to_string(),
            elapsed: started.elapsed(),
        });
    }
    Ok(done)
}

fn supported(migrations: &ToolMigrations, kind: Kind) -> Result<(), Diagnostic> {
    if kind == Kind::Sqlite {
        return Err(Diagnostic::new(format!(
            "{} migrations are applied by devenv on PostgreSQL and MySQL/MariaDB, not on SQLite",
            migrations.format
        ))
        .with_help(format!(
            "run {} itself through `[database] migrate = {{ command = [...] }}`, or use sqlx's layout (`NNNN_name.sql`)",
            migrations.format
        )));
    }
    Ok(())
}

/// goose and Flyway refuse a pending version below the newest applied one; dbmate applies it.
fn out_of_order_refused(format: Format) -> bool {
    matches!(format, Format::Goose | Format::Flyway)
}

/// The migrations `apply` runs, in order: versioned ones not applied (golang-migrate: above the
/// current version), then Flyway's repeatable ones whose checksum changed.
fn pending<'a>(migrations: &'a ToolMigrations, history: &History) -> Vec<&'a ToolMigration> {
    migrations
        .list
        .iter()
        .filter(|m| match &m.version {
            Some(v) => !history.is_applied(v),
            None => history.repeatable.get(&m.description) != Some(&m.checksum),
        })
        .collect()
}

/// The refusals the tool makes before it applies anything.
fn refuse_problems(migrations: &ToolMigrations, history: &History) -> Result<(), Diagnostic> {
    let format = migrations.format;
    let table = format.table();
    if let Some(dirty) = &history.dirty {
        let file = migrations
            .find(dirty)
            .map_or_else(|| format!("migration {dirty}"), ToolMigration::shown);
        let help = match format {
            Format::Flyway => format!(
                "undo by hand what it did, remove the failed row (`DELETE FROM {table} WHERE success = false;` in `devenv db shell`, which is what `flyway repair` does), fix the file and run `devenv migrate`; or in development `devenv db reset`"
            ),
            _ => format!(
                "undo by hand what it did, then mark the version before it as clean (`migrate force VERSION`, or `UPDATE {table} SET version = VERSION, dirty = false;` in `devenv db shell`), fix the file and run `devenv migrate`; or in development `devenv db reset`"
            ),
        };
        return Err(Diagnostic::new(format!(
            "{file} failed part-way in an earlier run ({table} marks version {dirty} {})",
            if format == Format::Flyway {
                "failed"
            } else {
                "dirty"
            }
        ))
        .with_help(help));
    }
    if let Some(version) = history
        .applied
        .keys()
        .find(|v| migrations.find(v).is_none())
    {
        return Err(missing_file(migrations, version));
    }
    for migration in &migrations.list {
        let Some(version) = &migration.version else {
            continue;
        };
        if let (Some(Some(recorded)), Some(now)) =
            (history.applied.get(version), migration.checksum)
            && *recorded != now
        {
            return Err(Diagnostic::new(format!(
                "migration {} was edited after it was applied (Flyway's checksum was {recorded}, it is now {now})",
                migration.shown()
            ))
            .with_help(format!(
                "revert the edit to {} and put the change in a new migration, or in development start over with `devenv db reset`",
                migration.shown()
            )));
        }
    }
    if out_of_order_refused(format)
        && let Some(newest) = history.newest()
        && let Some(late) = pending(migrations, history)
            .into_iter()
            .find(|m| m.version.as_ref().is_some_and(|v| v < newest))
    {
        return Err(Diagnostic::new(format!(
            "{} (version {}) is older than version {newest}, which is applied already; {format} refuses to apply it out of order",
            late.shown(),
            late.version_text()
        ))
        .with_help(format!(
            "give it a version above {newest} (rename the file), or in development start over with `devenv db reset`"
        )));
    }
    Ok(())
}

fn missing_file(migrations: &ToolMigrations, version: &Version) -> Diagnostic {
    let dir = migrations.dir.display();
    Diagnostic::new(format!(
        "migration {version} was applied to the database ({}) but its file is no longer in {dir}",
        migrations.format.table()
    ))
    .with_help(format!(
        "restore the file (e.g. `git checkout -- {dir}`), or in development start over with `devenv db reset`"
    ))
}

fn no_down(format: Format, migration: &ToolMigration) -> Diagnostic {
    let (what, help) = match format {
        Format::Goose => (
            "has no `-- +goose Down` section",
            "add `-- +goose Down` with the statements that undo it (an empty section is allowed)",
        ),
        Format::Dbmate => (
            "has no `-- migrate:down` section",
            "add `-- migrate:down` with the statements that undo it",
        ),
        _ => (
            "has no down file",
            "write its .down.sql file beside it, with the statements that undo it",
        ),
    };
    Diagnostic::new(format!(
        "cannot revert {}: it {what}; nothing was reverted",
        migration.shown()
    ))
    .with_help(help)
}

/// Runs one migration and records it, in one transaction where the tool uses one.
async fn apply_one(
    conn: &mut AnyConnection,
    format: Format,
    kind: Kind,
    migration: &ToolMigration,
) -> Result<(), Diagnostic> {
    let started = Instant::now();
    let script = &migration.up;
    if format == Format::GolangMigrate {
        let version = migration.version.as_ref().and_then(Version::number);
        set_version(conn, kind, version, true).await?;
        run_statements(conn, &script.statements)
            .await
            .map_err(|e| failed(migration, script.line, format, kind, e))?;
        return set_version(conn, kind, version, false).await;
    }
    if !script.transaction {
        run_statements(conn, &script.statements)
            .await
            .map_err(|e| failed(migration, script.line, format, kind, e))?;
        return record_up(conn, format, kind, migration, started).await;
    }
    let mut tx = conn.begin().await.map_err(db_error)?;
    let result = run_statements(&mut tx, &script.statements).await;
    if let Err(error) = result {
        drop(tx);
        if format == Format::Flyway && kind == Kind::Mysql {
            // Flyway records a failed run where DDL is not transactional.
            let _ = record(conn, kind, migration, started, false).await;
        }
        return Err(failed(migration, script.line, format, kind, error));
    }
    record_up(&mut tx, format, kind, migration, started).await?;
    tx.commit().await.map_err(db_error)
}

/// Reverts one migration and removes its record, as the tool does.
async fn revert_one(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    kind: Kind,
    migration: &ToolMigration,
) -> Result<(), Diagnostic> {
    let format = migrations.format;
    let script = migration.down.as_ref().expect("checked before");
    let version = migration.version.as_ref().expect("versioned");
    if format == Format::GolangMigrate {
        let previous = migrations
            .list
            .iter()
            .filter_map(|m| m.version.as_ref())
            .filter(|v| *v < version)
            .max()
            .and_then(Version::number);
        set_version(conn, kind, previous, true).await?;
        run_statements(conn, &script.statements)
            .await
            .map_err(|e| failed(migration, script.line, format, kind, e))?;
        return set_version(conn, kind, previous, false).await;
    }
    let delete = match format {
        Format::Goose => "DELETE FROM goose_db_version WHERE version_id=",
        _ => "delete from schema_migrations where version = ",
    };
    let mut args = AnyArguments::default();
    match format {
        Format::Goose => args.add(version.number().unwrap_or_default()),
        _ => args.add(version.text().to_string()),
    }
    .map_err(|e| Diagnostic::new(e.to_string()))?;
    let delete = format!("{delete}{}", placeholder(kind, 1));
    if !script.transaction {
        run_statements(conn, &script.statements)
            .await
            .map_err(|e| failed(migration, script.line, format, kind, e))?;
        return execute(conn, &delete, args).await;
    }
    let mut tx = conn.begin().await.map_err(db_error)?;
    run_statements(&mut tx, &script.statements)
        .await
        .map_err(|e| failed(migration, script.line, format, kind, e))?;
    execute(&mut tx, &delete, args).await?;
    tx.commit().await.map_err(db_error)
}

async fn run_statements(
    conn: &mut AnyConnection,
    statements: &[String],
) -> Result<(), sqlx::Error> {
    for statement in statements {
        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone())))
            .await?;
    }
    Ok(())
}

/// The tool's record of an applied migration.
async fn record_up(
    conn: &mut AnyConnection,
    format: Format,
    kind: Kind,
    migration: &ToolMigration,
    started: Instant,
) -> Result<(), Diagnostic> {
    let version = migration.version.as_ref();
    let mut args = AnyArguments::default();
    let sql = match format {
        Format::Goose => {
            add(
                &mut args,
                version.and_then(Version::number).unwrap_or_default(),
            )?;
            add(&mut args, true)?;
            format!(
                "INSERT INTO {} (version_id, is_applied) VALUES ({}, {})",
                goose::TABLE,
                placeholder(kind, 1),
                placeholder(kind, 2)
            )
        }
        Format::Dbmate => {
            add(
                &mut args,
                version.map(|v| v.text().to_string()).unwrap_or_default(),
            )?;
            format!(
                "insert into {} (version) values ({})",
                dbmate::TABLE,
                placeholder(kind, 1)
            )
        }
        Format::Flyway => return record(conn, kind, migration, started, true).await,
        Format::GolangMigrate | Format::Sqlx => unreachable!("recorded elsewhere"),
    };
    execute(conn, &sql, args).await
}

/// A row of Flyway's history: the next rank, the version, description, file, checksum, who,
/// how long, whether it succeeded.
async fn record(
    conn: &mut AnyConnection,
    kind: Kind,
    migration: &ToolMigration,
    started: Instant,
    success: bool,
) -> Result<(), Diagnostic> {
    let mut args = AnyArguments::default();
    add(
        &mut args,
        migration.version.as_ref().map(|v| v.text().to_string()),
    )?;
    add(&mut args, migration.description.clone())?;
    add(
        &mut args,
        migration
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )?;
    add(&mut args, migration.checksum)?;
    add(
        &mut args,
        i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    )?;
    add(&mut args, success)?;
    let (quote, user) = match kind {
        Kind::Mysql => ('`', "SUBSTRING_INDEX(USER(), '@', 1)"),
        _ => ('"', "current_user"),
    };
    let columns = [
        "installed_rank",
        "version",
        "description",
        "type",
        "script",
        "checksum",
        "installed_by",
        "execution_time",
        "success",
    ]
    .map(|c| format!("{quote}{c}{quote}"))
    .join(", ");
    let p = |n| placeholder(kind, n);
    let sql = format!(
        "INSERT INTO {table} ({columns}) SELECT COALESCE(MAX({quote}installed_rank{quote}), 0) + 1, {}, {}, 'SQL', {}, {}, {user}, {}, {} FROM {table}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        table = flyway::TABLE
    );
    execute(conn, &sql, args).await
}

/// golang-migrate's `SetVersion`: the one row replaced, in a transaction; no row for "no
/// version" unless it is dirty (then -1, as the tool writes it).
async fn set_version(
    conn: &mut AnyConnection,
    kind: Kind,
    version: Option<i64>,
    dirty: bool,
) -> Result<(), Diagnostic> {
    let mut tx = conn.begin().await.map_err(db_error)?;
    let clear = match kind {
        Kind::Mysql => "DELETE FROM `schema_migrations` LIMIT 1",
        _ => "TRUNCATE \"schema_migrations\"",
    };
    (&mut *tx)
        .execute(sqlx::raw_sql(clear))
        .await
        .map_err(db_error)?;
    if version.is_some() || dirty {
        let mut args = AnyArguments::default();
        add(&mut args, version.unwrap_or(-1))?;
        add(&mut args, dirty)?;
        let sql = format!(
            "INSERT INTO {} (version, dirty) VALUES ({}, {})",
            golang_migrate::TABLE,
            placeholder(kind, 1),
            placeholder(kind, 2)
        );
        execute(&mut tx, &sql, args).await?;
    }
    tx.commit().await.map_err(db_error)
}

/// Creates the tool's missing table as the tool does (goose adds its version 0 row in the
/// same transaction); callers have checked it is missing.
async fn create_table(
    conn: &mut AnyConnection,
    format: Format,
    kind: Kind,
) -> Result<(), Diagnostic> {
    let statements: &[&str] = match format {
        Format::GolangMigrate => &[golang_migrate::create(kind)],
        Format::Dbmate => &[dbmate::create(kind)],
        Format::Goose => &goose::create(kind),
        Format::Flyway => &flyway::create(kind),
        Format::Sqlx => unreachable!("sqlx's table is made by sqlx"),
    };
    let mut tx = conn.begin().await.map_err(db_error)?;
    for &statement in statements {
        (&mut *tx)
            .execute(sqlx::raw_sql(statement))
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}

/// Another format whose history table this database holds (one migrated before in another
/// tool's format), for the message when the first migration then fails.
async fn other_history(
    conn: &mut AnyConnection,
    format: Format,
    kind: Kind,
) -> Result<Option<Format>, Diagnostic> {
    for other in Format::ALL {
        if other.table() != format.table() && table_exists(conn, other.table(), kind).await? {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

async fn table_exists(
    conn: &mut AnyConnection,
    table: &str,
    kind: Kind,
) -> Result<bool, Diagnostic> {
    let sql = match kind {
        Kind::Mysql => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
        }
        _ => {
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1"
        }
    };
    let count: i64 = sqlx::query_scalar(sql)
        .bind(table)
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok(count > 0)
}

/// A row of Flyway's history: version, description, type, checksum, success (0 or 1).
type FlywayRow = (Option<String>, String, String, Option<i32>, i64);

/// Reads the tool's table.
async fn read_history(
    conn: &mut AnyConnection,
    migrations: &ToolMigrations,
    kind: Kind,
) -> Result<History, Diagnostic> {
    let as_number = |column: &str| match kind {
        Kind::Mysql => format!("CAST({column} AS SIGNED)"),
        _ => format!("CAST(CAST({column} AS INT) AS BIGINT)"),
    };
    let mut history = History::default();
    let version = |text: String| {
        Version::parse(&text).ok_or_else(|| {
            Diagnostic::new(format!(
                "{} holds version `{text}`, which is not a version",
                migrations.format.table()
            ))
        })
    };
    match migrations.format {
        Format::GolangMigrate => {
            let row: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT version, {} FROM {} LIMIT 1",
                as_number("dirty"),
                golang_migrate::TABLE
            )))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
            if let Some((current, dirty)) = row {
                let current = (current >= 0)
                    .then(|| version(current.to_string()))
                    .transpose()?;
                if dirty != 0 {
                    history.dirty = current.clone();
                }
                if let Some(current) = current {
                    for m in &migrations.list {
                        if let Some(v) = &m.version
                            && *v < current
                        {
                            history.applied.insert(v.clone(), None);
                        }
                    }
                    if dirty == 0 {
                        history.applied.insert(current, None);
                    }
                }
            }
        }
        Format::Goose => {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT version_id, {} FROM {} ORDER BY id DESC",
                as_number("is_applied"),
                goose::TABLE
            )))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
            let mut seen = std::collections::HashSet::new();
            for (id, applied) in rows {
                if id != 0 && seen.insert(id) && applied != 0 {
                    history.applied.insert(version(id.to_string())?, None);
                }
            }
        }
        Format::Dbmate => {
            let rows: Vec<(String,)> = sqlx::query_as("SELECT version FROM schema_migrations")
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
            for (text,) in rows {
                history.applied.insert(version(text)?, None);
            }
        }
        Format::Flyway => {
            let q = |c: &str| match kind {
                Kind::Mysql => format!("`{c}`"),
                _ => format!("\"{c}\""),
            };
            let rows: Vec<FlywayRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {}, {}, {}, {}, {} FROM {} ORDER BY {}",
                q("version"),
                q("description"),
                q("type"),
                q("checksum"),
                as_number(&q("success")),
                flyway::TABLE,
                q("installed_rank")
            )))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
            for (text, description, kind_of_row, checksum, success) in rows {
                match (text, kind_of_row.as_str()) {
                    (Some(text), "BASELINE") => history.baseline = Some(version(text)?),
                    (Some(text), "SQL" | "JDBC" | "SCRIPT") => {
                        let v = version(text)?;
                        if success == 0 {
                            history.dirty = Some(v);
                        } else {
                            history.applied.insert(v, checksum);
                        }
                    }
                    (None, "SQL" | "JDBC" | "SCRIPT") if success != 0 => {
                        history.repeatable.insert(description, checksum);
                    }
                    _ => {}
                }
            }
        }
        Format::Sqlx => unreachable!("sqlx's history is read by sqlx"),
    }
    Ok(history)
}

fn add<'q, T>(args: &mut AnyArguments, value: T) -> Result<(), Diagnostic>
where
    T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    args.add(value).map_err(|e| Diagnostic::new(e.to_string()))
}

async fn execute(
    conn: &mut AnyConnection,
    sql: &str,
    args: AnyArguments,
) -> Result<(), Diagnostic> {
    sqlx::query_with(sqlx::AssertSqlSafe(sql.to_string()), args)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn placeholder(kind: Kind, n: usize) -> String {
    match kind {
        Kind::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

fn db_error(error: sqlx::Error) -> Diagnostic {
    Diagnostic::new(format!("the migrations table: {error}"))
}

/// What happened, to which file, and the way out, in the tool's terms.
fn failed(
    migration: &ToolMigration,
    line: usize,
    format: Format,
    kind: Kind,
    error: sqlx::Error,
) -> Diagnostic {
    let message = match &error {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    };
    let kept = match (format, kind) {
        (Format::GolangMigrate, _) => format!(
            " {} is now marked dirty at this version, as golang-migrate leaves it: fix the database and the file, then clear it (`UPDATE schema_migrations SET dirty = false` after undoing what ran, or `devenv db reset` in development).",
            golang_migrate::TABLE
        ),
        (_, Kind::Mysql) => {
            " MySQL commits schema changes as it goes: statements before the failing one stay applied.".into()
        }
        _ if migration.up.transaction => " It ran in a transaction: nothing of it was kept.".into(),
        _ => " It ran without a transaction: statements before the failing one stay applied.".into(),
    };
    Diagnostic::new(format!(
        "migration {} failed (its section starts at line {line}): {message}",
        migration.shown()
    ))
    .with_help(format!(
        "fix {}, then run `devenv migrate`.{kept}",
        migration.shown()
    ))
}
