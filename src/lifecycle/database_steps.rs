//! The database part of `up`: once the database's service is ready, apply migrations, then
//! run seeds, each timed as its own phase.

use super::up::UpOptions;
use crate::diagnostic::Diagnostic;
use crate::env;
use crate::progress::Progress;
use crate::stack::{Service, Stack};
use crate::timings::{Phase, Timings};
use indexmap::IndexMap;

/// Applies migrations and seeds when the stack has a database among the started services.
pub(super) async fn migrate_and_seed(
    stack: &Stack,
    services: &[&Service],
    values: &env::Values,
    env: &IndexMap<String, String>,
    options: &UpOptions,
    progress: &Progress,
    timings: &Timings,
) -> Result<crate::database::Report, Diagnostic> {
    let Some(database) = &stack.database else {
        return Ok(Default::default());
    };
    let started = database
        .service
        .as_ref()
        .is_none_or(|s| services.iter().any(|x| &x.name == s));
    if !started || !(options.migrate || options.seed) {
        return Ok(Default::default());
    }
    let target = crate::database::Target::of(stack, values)?;
    progress.step("database", "migrating and seeding", "");
    let result = migrate_then_seed(stack, &target, env, options, progress, timings).await;
    match &result {
        Ok(report) => {
            let lines = report.lines();
            let summary = if lines.is_empty() {
                "up to date".to_string()
            } else {
                lines.join("; ")
            };
            progress.done("database", &summary, "", true);
        }
        Err(_) => progress.done("database", "failed", "", false),
    }
    result
}

/// The database steps one after the other (migrations, then seeds), each timed.
async fn migrate_then_seed(
    stack: &Stack,
    target: &crate::database::Target,
    env: &IndexMap<String, String>,
    options: &UpOptions,
    progress: &Progress,
    timings: &Timings,
) -> Result<crate::database::Report, Diagnostic> {
    let note = |note: &str| progress.note(note);
    let only = |migrate, seed| crate::database::Steps {
        migrate,
        seed,
        reseed: false,
        announce_format: false,
    };
    let mut report = crate::database::Report::default();
    if options.migrate {
        report = crate::database::run_steps(stack, target, env, only(true, false), &note).await?;
    }
    timings.lap(Phase::Migrations);
    if options.seed {
        let seeded =
            crate::database::run_steps(stack, target, env, only(false, true), &note).await?;
        report.seeds = seeded.seeds;
    }
    // `up` laps `Seeds` after this returns (also when there is no database).
    Ok(report)
}
