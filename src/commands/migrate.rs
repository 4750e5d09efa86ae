//! `devenv migrate` (apply pending), `migrate status`, `migrate down [N]`, `migrate new NAME`.

use super::runtime::block_on;
use crate::cli::{MigrateAction, MigrateArgs};
use crate::database::tools::Version;
use crate::database::{self, Steps, Target, migrate};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::stack::Stack;
use crate::ui::table::Table;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Runs `devenv migrate`.
pub fn run(file: Option<&Path>, args: &MigrateArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let dir = stack
        .database
        .as_ref()
        .and_then(|d| d.migrations.clone())
        .unwrap_or_else(|| PathBuf::from("migrations"));
    let configured = stack.database.as_ref().and_then(|d| d.format);
    if let Some(MigrateAction::New { name }) = &args.action {
        for path in migrate::new_file(&stack.root, &dir, configured, name)? {
            ui.out(path.display());
        }
        return Ok(());
    }
    let loaded = crate::env::load(&stack)?;
    let target = Target::of(&stack, &loaded.values)?;
    match &args.action {
        Some(MigrateAction::Status { json }) => {
            status(&stack, &target, &dir, *json || args.json, ui)
        }
        Some(MigrateAction::Down { count, json }) => down(
            &stack,
            &target,
            &dir,
            *count as usize,
            *json || args.json,
            ui,
        ),
        _ => {
            let steps = Steps {
                migrate: true,
                seed: false,
                reseed: false,
                announce_format: !args.json,
            };
            let report = block_on(async {
                Ok(
                    database::run_steps(&stack, &target, loaded.file_values(), steps, &|note| {
                        ui.info(note)
                    })
                    .await?,
                )
            })?;
            if args.json {
                ui.json(&StepsDocument::new(&target, &report));
                return Ok(());
            }
            for applied in &report.applied {
                ui.info(format!(
                    "{} applied {} ({:.0} ms)",
                    ui.paint(Style::Good, "✓"),
                    applied.file,
                    applied.elapsed.as_secs_f64() * 1000.0
                ));
            }
            if report.applied.is_empty() && !report.ran_migrate_command {
                ui.info(format!(
                    "{} no pending migrations",
                    ui.paint(Style::Good, "✓")
                ));
            }
            Ok(())
        }
    }
}

/// `devenv migrate status`: one row per migration; a problem found when an applied one was
/// edited, failed halfway or lost its file.
fn status(stack: &Stack, target: &Target, dir: &Path, json: bool, ui: &Ui) -> Result<()> {
    let configured = stack.database.as_ref().and_then(|d| d.format);
    let (chosen, rows) = block_on(async {
        let migrations = migrate::Migrations::load(&stack.root, dir, configured).await?;
        let mut conn = target.connect().await?;
        let rows = migrate::status(&mut conn, &migrations, target.kind).await;
        let _ = sqlx::Connection::close(conn).await;
        Ok((migrations.chosen, rows?))
    })?;
    let problems = rows.iter().filter(|r| r.state.is_problem()).count();
    if json {
        ui.json(&StatusDocument {
            database: &target.shown,
            format: &chosen,
            migrations: &rows,
        });
    } else if rows.is_empty() {
        ui.out(format!("no migrations in {}", dir.display()));
    } else {
        ui.info(chosen.describe());
        let mut table = Table::new(["VERSION", "FILE", "STATE"]);
        for row in &rows {
            table.row([
                row.version
                    .as_ref()
                    .map_or_else(|| "R".to_string(), ToString::to_string),
                row.file.clone(),
                row.state.to_string(),
            ]);
        }
        ui.out(table);
    }
    if problems > 0 {
        return Err(Error::problems_found(format!(
            "{problems} migration(s) modified, failed or without their file"
        )));
    }
    Ok(())
}

/// `devenv migrate down [N]`: reverts the newest N applied migrations.
fn down(
    stack: &Stack,
    target: &Target,
    dir: &Path,
    count: usize,
    json: bool,
    ui: &Ui,
) -> Result<()> {
    let configured = stack.database.as_ref().and_then(|d| d.format);
    let reverted = block_on(async {
        let migrations = migrate::Migrations::load(&stack.root, dir, configured).await?;
        let mut conn = target.connect().await?;
        let result =
            migrate::down(&mut conn, &migrations, target, count, &|note| ui.info(note)).await;
        let _ = sqlx::Connection::close(conn).await;
        Ok(result?)
    })?;
    if json {
        ui.json(&DownDocument {
            database: &target.shown,
            reverted: AppliedMigration::list(&reverted),
        });
        return Ok(());
    }
    for step in &reverted {
        ui.info(format!(
            "{} reverted {} ({:.0} ms)",
            ui.paint(Style::Good, "✓"),
            step.file,
            step.elapsed.as_secs_f64() * 1000.0
        ));
    }
    if reverted.is_empty() {
        ui.info(format!(
            "{} no applied migrations to revert",
            ui.paint(Style::Good, "✓")
        ));
    }
    Ok(())
}

/// `devenv migrate down --json`.
#[derive(Debug, Serialize)]
struct DownDocument<'a> {
    /// The database URL, password hidden.
    database: &'a str,
    /// Migrations reverted now, newest first.
    reverted: Vec<AppliedMigration<'a>>,
}

/// Loads what the database commands need: the stack, `.env` values and the target.
pub fn database_context(
    file: Option<&Path>,
) -> Result<(crate::stack::Stack, crate::env::EnvFile, Target)> {
    let stack = crate::project::load(file)?;
    if stack.database.is_none() {
        return Err(Diagnostic::new("devenv.toml has no [database] section")
            .with_help("add `[database]` with `service`, `url`, `migrations` and `seeds`")
            .into());
    }
    let loaded = crate::env::load(&stack)?;
    let target = Target::of(&stack, &loaded.values)?;
    Ok((stack, loaded.file.unwrap_or_default(), target))
}

/// `devenv migrate status --json`.
#[derive(Debug, Serialize)]
struct StatusDocument<'a> {
    /// The database URL, password hidden.
    database: &'a str,
    /// The migration format and why.
    format: &'a database::format::Chosen,
    /// Every migration, applied or not.
    migrations: &'a [migrate::StatusRow],
}

/// `devenv migrate --json`, `seed --json` and `db reset --json`: what the steps did.
#[derive(Debug, Serialize)]
pub struct StepsDocument<'a> {
    /// The database URL, password hidden.
    pub database: &'a str,
    /// The migrations' format and why (when there are SQL migrations).
    pub format: Option<&'a database::format::Chosen>,
    /// Migrations applied now.
    pub applied: Vec<AppliedMigration<'a>>,
    /// Whether the project's own migration command ran.
    pub ran_migrate_command: bool,
    /// Each seed and what happened to it.
    pub seeds: &'a [database::seed::Outcome],
}

/// One migration applied now.
#[derive(Debug, Serialize)]
pub struct AppliedMigration<'a> {
    /// Version.
    pub version: &'a Version,
    /// File.
    pub file: &'a str,
    /// Milliseconds the database took.
    pub elapsed_ms: u64,
}

impl<'a> AppliedMigration<'a> {
    /// The document's rows of migrations applied (or reverted) now.
    fn list(steps: &'a [migrate::Applied]) -> Vec<Self> {
        steps
            .iter()
            .map(|a| AppliedMigration {
                version: &a.version,
                file: &a.file,
                elapsed_ms: a.elapsed.as_millis() as u64,
            })
            .collect()
    }
}

impl<'a> StepsDocument<'a> {
    /// The document for one run of the steps.
    pub fn new(target: &'a Target, report: &'a database::Report) -> Self {
        Self {
            database: &target.shown,
            format: report.format.as_ref(),
            applied: AppliedMigration::list(&report.applied),
            ran_migrate_command: report.ran_migrate_command,
            seeds: &report.seeds,
        }
    }
}
