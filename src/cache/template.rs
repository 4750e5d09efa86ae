//! `db reset` on PostgreSQL without running a migration: the first reset of a key runs the
//! normal path (drop, create, migrate, seed) and then copies the fresh database into a
//! template database of the project's own cluster, `_devenv_reset_<key>`; later resets of the
//! same key drop the database and create it from that template, a file copy inside the server.
//! Templates of other keys (older migrations or seeds) are dropped when a new one is saved.
//! A spare copy of the template, `_devenv_spare_<key>`, made in the background after a reset
//! (`devenv cache spare`), turns the next reset into a drop and a rename: no copy while the
//! user waits.

use crate::database::{Target, database_name};
use crate::diagnostic::Diagnostic;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The prefix of every reset template's name.
const PREFIX: &str = "_devenv_reset_";

/// The prefix of every spare copy's name.
const SPARE_PREFIX: &str = "_devenv_spare_";

/// The prefix of a database set aside by a reset, dropped by the background job.
const TRASH_PREFIX: &str = "_devenv_trash_";

/// The spare copy of a key's template.
pub fn spare_name(key: &str) -> String {
    format!("{SPARE_PREFIX}{}", &key[..16.min(key.len())])
}

/// The template database of a key.
pub fn template_name(key: &str) -> String {
    format!("{PREFIX}{}", &key[..16.min(key.len())])
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A connection to the cluster's `postgres` database, and the target database's name.
async fn maintenance(target: &Target) -> Result<(PgConnection, String), Diagnostic> {
    let failed = |e: &dyn std::fmt::Display| {
        Diagnostic::new(format!(
            "resetting the database at {} failed: {e}",
            target.shown
        ))
    };
    let name = database_name(&target.url).ok_or_else(|| failed(&"the URL names no database"))?;
    let options: PgConnectOptions = target.url.parse().map_err(|e| failed(&e))?;
    let conn = PgConnection::connect_with(&options.database("postgres"))
        .await
        .map_err(|e| failed(&e))?;
    Ok((conn, name))
}

async fn execute(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map(|_| ())
}

/// How a reset recreated the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recreated {
    /// Renamed from the spare copy of the template (no copy while waiting).
    FromSpare,
    /// Copied from the template.
    FromTemplate,
}

/// Recreates the target's database from the spare copy or the template of `key` when there is
/// one; `None` when there is neither (nothing was changed then). A connection lost midway is
/// tried once more: the statements can run again from any point (`DROP ... IF EXISTS`).
/// With `background` (a `devenv cache spare` follows), the old database is renamed aside and
/// dropped by that job: PostgreSQL's DROP DATABASE takes from a third of a second to seconds.
pub async fn reset_from_template(
    target: &Target,
    key: &str,
    background: bool,
) -> Result<Option<Recreated>, Diagnostic> {
    match reset_once(target, key, background).await {
        Err(_) => reset_once(target, key, background).await,
        done => done,
    }
}

/// Ends the sessions on `name` and renames it to a `_devenv_trash_` name, trying again while
/// a client reconnects in between; returns a statement that does nothing when `name` does not
/// exist. The background job drops what was set aside.
async fn set_aside(conn: &mut PgConnection, name: &str) -> Result<String, Diagnostic> {
    let noop = "SELECT 1".to_string();
    let trash = format!(
        "{TRASH_PREFIX}{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    for _ in 0..20 {
        if !exists(conn, name).await? {
            return Ok(noop);
        }
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut *conn)
        .await;
        let rename = format!(
            "ALTER DATABASE {} RENAME TO {}",
            quoted(name),
            quoted(&trash)
        );
        if execute(conn, rename).await.is_ok() {
            return Ok(noop);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)
    ))
}

async fn exists(conn: &mut PgConnection, name: &str) -> Result<bool, Diagnostic> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .map_err(|e| Diagnostic::new(format!("reading the database list: {e}")))
}

async fn reset_once(
    target: &Target,
    key: &str,
    background: bool,
) -> Result<Option<Recreated>, Diagnostic> {
    let (mut conn, name) = maintenance(target).await?;
    let template = template_name(key);
    let spare = spare_name(key);
    let how = if exists(&mut conn, &spare).await? {
        Recreated::FromSpare
    } else if exists(&mut conn, &template).await? {
        Recreated::FromTemplate
    } else {
        let _ = conn.close().await;
        return Ok(None);
    };
    let drop_old = if background {
        set_aside(&mut conn, &name).await?
    } else {
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(&name))
    };
    let create = match how {
        Recreated::FromSpare => format!(
            "ALTER DATABASE {} RENAME TO {}",
            quoted(&spare),
            quoted(&name)
        ),
        Recreated::FromTemplate => format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quoted(&name),
            quoted(&template)
        ),
    };
    for sql in [drop_old, create] {
        execute(&mut conn, sql).await.map_err(|e| {
            Diagnostic::new(format!(
                "resetting the database at {} from its template failed: {e}",
                target.shown
            ))
        })?;
    }
    let _ = conn.close().await;
    Ok(Some(how))
}

/// Makes the spare copy of `key`'s template when the template exists and the spare does not
/// (`devenv cache spare`, run in the background after a reset); `false` when there is no
/// template. Databases a reset set aside and spares of other keys are dropped.
pub async fn make_spare(target: &Target, key: &str) -> Result<bool, Diagnostic> {
    let (mut conn, _) = maintenance(target).await?;
    let template = template_name(key);
    let spare = spare_name(key);
    drop_others(&mut conn, TRASH_PREFIX, "").await?;
    drop_others(&mut conn, SPARE_PREFIX, &spare).await?;
    if !exists(&mut conn, &template).await? {
        let _ = conn.close().await;
        return Ok(false);
    }
    if !exists(&mut conn, &spare).await? {
        execute(
            &mut conn,
            format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quoted(&spare),
                quoted(&template)
            ),
        )
        .await
        .map_err(|e| {
            Diagnostic::new(format!("making the spare copy of the reset template: {e}"))
        })?;
    }
    let _ = conn.close().await;
    Ok(true)
}

/// Drops the databases named `prefix...` other than `keep` (best effort).
async fn drop_others(conn: &mut PgConnection, prefix: &str, keep: &str) -> Result<(), Diagnostic> {
    let others: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(prefix)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| Diagnostic::new(format!("reading the database list: {e}")))?;
    for other in others.iter().filter(|o| *o != keep) {
        let _ = execute(conn, format!("DROP DATABASE IF EXISTS {}", quoted(other))).await;
    }
    Ok(())
}

/// Saves the target's database (just migrated and seeded) as the template of `key`, dropping
/// the templates of other keys. Best effort: a session still connected to the database (an
/// app that reconnected at once) makes the copy fail, and the next reset tries again.
pub async fn save_template(target: &Target, key: &str) -> Result<bool, Diagnostic> {
    let (mut conn, name) = maintenance(target).await?;
    let template = template_name(key);
    drop_others(&mut conn, PREFIX, &template).await?;
    drop_others(&mut conn, SPARE_PREFIX, &spare_name(key)).await?;
    let saved = exists(&mut conn, &template).await?
        || execute(
            &mut conn,
            format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quoted(&template),
                quoted(&name)
            ),
        )
        .await
        .is_ok();
    let _ = conn.close().await;
    Ok(saved)
}
