//! `devenv db reset` and `devenv db shell`.

use super::migrate::database_context;
use super::runtime::block_on;
use crate::cli::DbCommand;
use crate::database::{self, Kind, Steps, Target, reset};
use crate::dotenv::EnvFile;
use crate::error::{Error, Result};
use crate::plan;
use crate::source::Diagnostic;
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use std::io::IsTerminal;
use std::path::Path;

/// Runs `devenv db ...`.
pub fn run(file: Option<&Path>, command: &DbCommand, ui: &Ui) -> Result<()> {
    let (stack, env, target) = database_context(file)?;
    match command {
        DbCommand::Reset { yes } => reset(&stack, &env, &target, *yes, ui),
        DbCommand::Shell => shell(&stack, &target),
    }
}

/// `devenv db reset`: drop and recreate the database, then migrate and seed it.
fn reset(stack: &Stack, env: &EnvFile, target: &Target, yes: bool, ui: &Ui) -> Result<()> {
    if !yes {
        ui.confirm(
            &format!(
                "Drop and recreate the database at {}? Every row in it is lost.",
                target.shown
            ),
            &format!("refusing to reset the database at {}", target.shown),
            "every row in it is lost",
        )?;
    }
    let steps = Steps {
        migrate: true,
        seed: true,
        reseed: false,
    };
    let report = block_on(async {
        reset::drop_and_create(target).await?;
        Ok(database::run_steps(stack, target, &env.values, steps, &|n| ui.info(n)).await?)
    })?;
    ui.info(format!(
        "{} recreated the database at {}",
        ui.paint(Style::Good, "✓"),
        target.shown
    ));
    for line in report.lines() {
        ui.info(format!("{} {line}", ui.paint(Style::Good, "✓")));
    }
    Ok(())
}

/// `devenv db shell`: the database's own client on the terminal; its exit code is passed on.
fn shell(stack: &Stack, target: &Target) -> Result<()> {
    let mut cmd = shell_command(stack, target)?;
    let status = cmd.status().map_err(|e| {
        Diagnostic::new(format!("cannot start the database shell: {e}"))
            .with_help("the docker CLI (or sqlite3 for SQLite) must be on PATH")
    })?;
    match status.code() {
        Some(0) => Ok(()),
        // Killed by a signal: no code of its own to pass on.
        code => Err(Error::Exited {
            program: shell_name(target.kind).into(),
            code: code.unwrap_or(1).clamp(1, 255) as u8,
        }),
    }
}

/// The client a shell on this kind of database runs.
fn shell_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "sqlite3",
        Kind::Postgres => "psql",
        Kind::Mysql => "mysql",
    }
}

/// `sqlite3` on the file, or the client inside the database's container (`docker exec`).
fn shell_command(stack: &Stack, target: &Target) -> Result<std::process::Command> {
    let (user, password, name) = credentials(&target.url);
    if target.kind == Kind::Sqlite {
        let mut cmd = std::process::Command::new("sqlite3");
        cmd.arg(database::sqlite_path(&target.url).unwrap_or_default());
        return Ok(cmd);
    }
    let service = stack
        .database
        .as_ref()
        .and_then(|d| d.service.clone())
        .ok_or_else(|| {
            Diagnostic::new("[database] names no service to open a shell in")
                .with_help("add `service = \"db\"` to [database]")
        })?;
    let container = plan::container_name(&stack.project.name, &service);
    let mut cmd = std::process::Command::new("docker");
    cmd.args(["exec", "-i"]);
    if std::io::stdin().is_terminal() {
        cmd.arg("-t");
    }
    if target.kind == Kind::Postgres {
        cmd.args([
            "-e",
            &format!("PGPASSWORD={password}"),
            &container,
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            &user,
            "-d",
            &name,
        ]);
    } else {
        cmd.args([
            "-e",
            &format!("MYSQL_PWD={password}"),
            &container,
            "sh",
            "-c",
        ]);
        cmd.arg("if command -v mariadb >/dev/null; then exec mariadb \"$@\"; else exec mysql \"$@\"; fi");
        cmd.args(["sh", "-h", "127.0.0.1", "-u", &user, &name]);
    }
    Ok(cmd)
}

/// User, password and database name from a URL (`scheme://user:pass@host/db`).
fn credentials(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (userinfo, _) = rest.split_once('@').unwrap_or(("", rest));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (
        user.to_string(),
        password.to_string(),
        database::database_name(url).unwrap_or_default(),
    )
}
