//! `db reset` on PostgreSQL without running a migration: the first reset of a key runs the
//! normal path (drop, create, migrate, seed) and then copies the fresh database into a
//! template database of the project's own cluster, `_devenv_reset_<key>`; later resets of the
//! same key drop the database and create it from that template, a file copy inside the server.
//! Templates of other keys (older migrations or seeds) are dropped when a new one is saved.

use crate::database::{Target, database_name};
use crate::diagnostic::Diagnostic;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The prefix of every reset template's name.
const PREFIX: &str = "_devenv_reset_";

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

/// Recreates the target's database from the template of `key` when there is one; `false`
/// when there is none (nothing was changed then). A connection lost midway is tried once
/// more: the statements can run again from any point (`DROP ... IF EXISTS`).
pub async fn reset_from_template(target: &Target, key: &str) -> Result<bool, Diagnostic> {
    match reset_once(target, key).await {
        Err(_) => reset_once(target, key).await,
        done => done,
    }
}

async fn reset_once(target: &Target, key: &str) -> Result<bool, Diagnostic> {
    let (mut conn, name) = maintenance(target).await?;
    let template = template_name(key);
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| Diagnostic::new(format!("reading the database list: {e}")))?;
    if !exists {
        let _ = conn.close().await;
        return Ok(false);
    }
    for sql in [
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(&name)),
        format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quoted(&name),
            quoted(&template)
        ),
    ] {
        execute(&mut conn, sql).await.map_err(|e| {
            Diagnostic::new(format!(
                "resetting the database at {} from its template failed: {e}",
                target.shown
            ))
        })?;
    }
    let _ = conn.close().await;
    Ok(true)
}

/// Saves the target's database (just migrated and seeded) as the template of `key`, dropping
/// the templates of other keys. Best effort: a session still connected to the database (an
/// app that reconnected at once) makes the copy fail, and the next reset tries again.
pub async fn save_template(target: &Target, key: &str) -> Result<bool, Diagnostic> {
    let (mut conn, name) = maintenance(target).await?;
    let template = template_name(key);
    let others: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| Diagnostic::new(format!("reading the database list: {e}")))?;
    for other in others.iter().filter(|o| **o != template) {
        let _ = execute(
            &mut conn,
            format!("DROP DATABASE IF EXISTS {}", quoted(other)),
        )
        .await;
    }
    let saved = others.contains(&template)
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
