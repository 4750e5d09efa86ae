//! `devenv migrate` (apply pending), `migrate status`, `migrate new NAME`.

use super::runtime::block_on;
use crate::cli::{MigrateAction, MigrateArgs};
use crate::database::{self, Steps, Target, migrate};
use crate::error::Result;
use crate::source::Diagnostic;
use crate::ui::{Style, Ui};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `devenv migrate`.
pub fn run(file: Option<&Path>, args: &MigrateArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let dir = stack
        .database
        .as_ref()
        .and_then(|d| d.migrations.clone())
        .unwrap_or_else(|| PathBuf::from("migrations"));
    if let Some(MigrateAction::New { name }) = &args.action {
        let path = migrate::new_file(&stack.root, &dir, name)?;
        ui.out(path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = crate::env::load(&stack)?;
    let target = Target::of(&stack, &loaded.values)?;
    match &args.action {
        Some(MigrateAction::Status { json }) => {
            let rows = block_on(async {
                let migrations = migrate::Migrations::load(&stack.root, &dir).await?;
                let mut conn = target.connect().await?;
                Ok(migrate::status(&mut conn, &migrations, target.kind).await?)
            })?;
            let problems = rows
                .iter()
                .filter(|r| r.state != "applied" && r.state != "pending")
                .count();
            if *json {
                ui.out(serde_json::json!({ "database": target.shown, "migrations": rows }));
            } else if rows.is_empty() {
                ui.out(format!("no migrations in {}", dir.display()));
            } else {
                let width = rows.iter().map(|r| r.file.len()).max().unwrap_or(4);
                ui.out(format!("{:<8} {:<width$}  STATE", "VERSION", "FILE"));
                for row in &rows {
                    ui.out(format!(
                        "{:<8} {:<width$}  {}",
                        row.version, row.file, row.state
                    ));
                }
            }
            Ok(if problems == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
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
            Ok(ExitCode::SUCCESS)
        }
    }
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
