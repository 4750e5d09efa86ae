//! `devenv migrate` (apply pending), `migrate status`, `migrate new NAME`.

use super::runtime::block_on;
use crate::cli::{MigrateAction, MigrateArgs};
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
    if let Some(MigrateAction::New { name }) = &args.action {
        let path = migrate::new_file(&stack.root, &dir, name)?;
        ui.out(path.display());
        return Ok(());
    }
    let loaded = crate::env::load(&stack)?;
    let target = Target::of(&stack, &loaded.values)?;
    match &args.action {
        Some(MigrateAction::Status { json }) => {
            status(&stack, &target, &dir, *json || args.json, ui)
        }
        _ => {
            let steps = Steps {
                migrate: true,
                seed: false,
                reseed: false,
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
    let rows = block_on(async {
        let migrations = migrate::Migrations::load(&stack.root, dir).await?;
        let mut conn = target.connect().await?;
        Ok(migrate::status(&mut conn, &migrations, target.kind).await?)
    })?;
    let problems = rows.iter().filter(|r| r.state.is_problem()).count();
    if json {
        ui.json(&StatusDocument {
            database: &target.shown,
            migrations: &rows,
        });
    } else if rows.is_empty() {
        ui.out(format!("no migrations in {}", dir.display()));
    } else {
        let mut table = Table::new(["VERSION", "FILE", "STATE"]);
        for row in &rows {
            table.row([
                row.version.to_string(),
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
    /// Every migration, applied or not.
    migrations: &'a [migrate::StatusRow],
}

/// `devenv migrate --json`, `seed --json` and `db reset --json`: what the steps did.
#[derive(Debug, Serialize)]
pub struct StepsDocument<'a> {
    /// The database URL, password hidden.
    pub database: &'a str,
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
    pub version: i64,
    /// File.
    pub file: &'a str,
    /// Milliseconds the database took.
    pub elapsed_ms: u64,
}

impl<'a> StepsDocument<'a> {
    /// The document for one run of the steps.
    pub fn new(target: &'a Target, report: &'a database::Report) -> Self {
        Self {
            database: &target.shown,
            applied: report
                .applied
                .iter()
                .map(|a| AppliedMigration {
                    version: a.version,
                    file: &a.file,
                    elapsed_ms: a.elapsed.as_millis() as u64,
                })
                .collect(),
            ran_migrate_command: report.ran_migrate_command,
            seeds: &report.seeds,
        }
    }
}
