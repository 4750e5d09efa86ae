//! `devenv db reset`: drop and recreate the database (the caller then migrates and seeds).

use super::{Kind, Target, database_name, sqlite_path};
use crate::diagnostic::Diagnostic;
use sqlx::Connection;

/// Drops and recreates the target's database.
pub async fn drop_and_create(target: &Target) -> Result<(), Diagnostic> {
    let failed = |e: &dyn std::fmt::Display| {
        Diagnostic::new(format!("resetting the database at {} failed: {e}", target.shown))
            .with_help("the database user needs the right to drop and create its database (the catalog images' users have it)")
    };
    match target.kind {
        Kind::Sqlite => {
            let path = sqlite_path(&target.url).ok_or_else(|| failed(&"not a file URL"))?;
            for suffix in ["", "-wal", "-shm", "-journal"] {
                match std::fs::remove_file(format!("{path}{suffix}")) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(failed(&e)),
                }
            }
            Ok(())
        }
        Kind::Postgres => {
            let name =
                database_name(&target.url).ok_or_else(|| failed(&"the URL names no database"))?;
            let options: sqlx::postgres::PgConnectOptions =
                target.url.parse().map_err(|e| failed(&e))?;
            let mut conn =
                sqlx::postgres::PgConnection::connect_with(&options.database("postgres"))
                    .await
                    .map_err(|e| failed(&e))?;
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            for sql in [
                format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
                format!("CREATE DATABASE {quoted}"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| failed(&e))?;
            }
            let _ = conn.close().await;
            Ok(())
        }
        Kind::Mysql => {
            let name =
                database_name(&target.url).ok_or_else(|| failed(&"the URL names no database"))?;
            let options: sqlx::mysql::MySqlConnectOptions =
                target.url.parse().map_err(|e| failed(&e))?;
            let mut conn = sqlx::mysql::MySqlConnection::connect_with(&options)
                .await
                .map_err(|e| failed(&e))?;
            let quoted = format!("`{}`", name.replace('`', "``"));
            for sql in [
                format!("DROP DATABASE IF EXISTS {quoted}"),
                format!("CREATE DATABASE {quoted}"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| failed(&e))?;
            }
            let _ = conn.close().await;
            Ok(())
        }
    }
}
