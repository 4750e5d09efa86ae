//! `devenv up`: bring the stack up and say what is where.

use super::runtime::block_on;
use crate::cli::UpArgs;
use crate::error::Result;
use crate::lifecycle::report::{ServiceRow, table};
use crate::lifecycle::up::{UpOptions, up};
use crate::progress::Progress;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Runs `devenv up`.
pub fn run(file: Option<&Path>, args: &UpArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let options = UpOptions {
        services: args.services.clone(),
        profiles: args.profiles.clone(),
        timeout: Duration::from_secs(args.timeout),
        json: args.json,
        remap: !args.no_remap && stack.project.remap_ports,
        migrate: !args.no_migrate,
        seed: !args.no_seed,
    };
    if args.watch {
        return super::watch::run(file, options, false, ui);
    }
    print_up(&stack, &options, ui)?;
    Ok(ExitCode::SUCCESS)
}

/// Options of a plain `devenv up` for a stack (what `devenv watch` starts with).
pub fn default_options(stack: &crate::stack::Stack) -> UpOptions {
    UpOptions {
        services: Vec::new(),
        profiles: Vec::new(),
        timeout: Duration::from_secs(120),
        json: false,
        remap: stack.project.remap_ports,
        migrate: true,
        seed: true,
    }
}

/// Brings the stack up and prints the outcome (table, or JSON with `options.json`).
pub fn print_up(stack: &crate::stack::Stack, options: &UpOptions, ui: &Ui) -> Result<()> {
    let progress = Progress::new(ui, options.json);
    let report = block_on(async { Ok(up(stack, options, ui, &progress).await?) });
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            progress.clear();
            return Err(e);
        }
    };
    if options.json {
        ui.json(&ReadyEvent {
            event: "ready",
            elapsed_ms: report.elapsed.as_millis() as u64,
            changed: !report.nothing_changed(),
            services: &report.rows,
            database: &report.database,
            remapped: report.remaps.iter().map(ToString::to_string).collect(),
        });
        return Ok(());
    }
    let seconds = report.elapsed.as_secs_f64();
    if report.nothing_changed() {
        ui.info(format!(
            "{} nothing to change: {} services running and ready ({seconds:.2}s)",
            ui.paint(Style::Good, "✓"),
            report.rows.len()
        ));
    } else {
        ui.info(format!(
            "{} `{}` is up ({seconds:.2}s)",
            ui.paint(Style::Good, "✓"),
            stack.project.name
        ));
    }
    ui.out(table(&report.rows, false));
    for remap in &report.remaps {
        ui.warn(remap);
    }
    Ok(())
}

/// The last `up --json` event: the stack is up (the progress events before it are
/// `progress::Event`s).
#[derive(Debug, Serialize)]
struct ReadyEvent<'a> {
    /// Always `ready`.
    event: &'static str,
    /// Milliseconds `up` took.
    elapsed_ms: u64,
    /// Whether anything was created, recreated or started.
    changed: bool,
    /// One row per service.
    services: &'a [ServiceRow],
    /// What the database steps did.
    database: &'a crate::database::Report,
    /// Host ports moved to free ones, as messages.
    remapped: Vec<String>,
}
