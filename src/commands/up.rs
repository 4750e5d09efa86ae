//! `devenv up`: bring the stack up and say what is where.

use super::runtime::block_on;
use crate::cli::UpArgs;
use crate::error::Result;
use crate::lifecycle::report::table;
use crate::lifecycle::up::{UpOptions, up};
use crate::progress::Progress;
use crate::ui::{Style, Ui};
use std::path::Path;
use std::time::Duration;

/// Runs `devenv up`.
pub fn run(file: Option<&Path>, args: &UpArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let options = UpOptions {
        services: args.services.clone(),
        profiles: args.profiles.clone(),
        timeout: Duration::from_secs(args.timeout),
        json: args.json,
        remap: !args.no_remap && stack.project.remap_ports,
        migrate: !args.no_migrate,
        seed: !args.no_seed,
        adopt: args.adopt,
    };
    if let Some(note) = crate::project::name_note(&stack) {
        ui.info(note);
    }
    if args.watch {
        return super::watch::run(file, options, false, ui);
    }
    print_up(&stack, &options, ui)?;
    Ok(())
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
        adopt: false,
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
        let value = serde_json::json!({
            "event": "ready",
            "elapsed_ms": report.elapsed.as_millis() as u64,
            "changed": !report.nothing_changed(),
            "services": report.rows,
            "database": report.database,
            "remapped": report.remaps.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        ui.out(value);
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
