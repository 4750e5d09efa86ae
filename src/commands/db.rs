//! `devenv db reset` and `devenv db shell`.

use super::migrate::database_context;
use super::runtime::block_on;
use crate::cli::DbCommand;
use crate::database::{self, Kind, Steps, Target, reset};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use indexmap::IndexMap;
use std::io::IsTerminal;
use std::path::Path;

/// Runs `devenv db ...`.
pub fn run(file: Option<&Path>, command: &DbCommand, ui: &Ui) -> Result<()> {
    let (stack, env, target) = database_context(file)?;
    match command {
        DbCommand::Reset { yes, json } => {
            reset_database(&stack, &env.values, &target, *yes, *json, ui)
        }
        DbCommand::Shell => open_shell(&stack, &target),
    }
}

/// `devenv db reset`: after consent, drop and recreate the database, then migrate and seed
/// (`env_file`: the values of `.env`); `json` prints what the steps did as a document.
fn reset_database(
    stack: &Stack,
    env_file: &IndexMap<String, String>,
    target: &Target,
    yes: bool,
    json: bool,
    ui: &Ui,
) -> Result<()> {
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
        Ok(database::run_steps(stack, target, env_file, steps, &|n| ui.info(n)).await?)
    })?;
    if json {
        ui.json(&super::migrate::StepsDocument::new(target, &report));
        return Ok(());
    }
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

/// `devenv db shell`: the database's client in the foreground; its exit code is ours.
fn open_shell(stack: &Stack, target: &Target) -> Result<()> {
    let mut cmd = database::shell::command(stack, target, std::io::stdin().is_terminal())?;
    let status = cmd.status().map_err(|e| {
        Diagnostic::new(format!("cannot start the database shell: {e}"))
            .with_help("the docker CLI (or sqlite3 for SQLite) must be on PATH")
    })?;
    match status.code() {
        Some(0) => Ok(()),
        // Killed by a signal: no code of its own to pass on.
        code => Err(Error::Exited {
            program: client_name(target.kind).into(),
            code: code.unwrap_or(1).clamp(1, 255) as u8,
        }),
    }
}

/// The client a shell on this kind of database runs.
fn client_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "sqlite3",
        Kind::Postgres => "psql",
        Kind::Mysql => "mysql",
    }
}
