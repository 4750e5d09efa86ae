//! `devenv up` and `devenv up --watch` (alias `devenv watch`): bring the stack up and say what
//! is where, then, when watching, follow edits until Ctrl-C. The stack is loaded once here and
//! passed down; the watcher reloads it only when devenv.toml changes.

use super::runtime::{block_on, block_on_uninterrupted};
use crate::cli::{UpArgs, WatchArgs};
use crate::error::Result;
use crate::lifecycle::report::table;
use crate::lifecycle::up::{UpOptions, up};
use crate::progress::Progress;
use crate::stack::Stack;
use crate::ui::{Style, Ui};
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
        adopt: args.adopt,
        secrets_into_tracked_env: args.yes,
    };
    if let Some(note) = crate::project::name_note(&stack) {
        ui.info(note);
    }
    if args.watch {
        return up_and_watch(stack, options, false, ui);
    }
    print_up(&stack, &options, ui)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `devenv watch`: `devenv up --watch` with the default options.
pub fn watch(file: Option<&Path>, args: &WatchArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let options = default_options(&stack);
    up_and_watch(stack, options, args.down_on_exit, ui)
}

/// Brings the stack up (printing as `up` does), then watches it; `down_on_exit` stops the
/// stack when the watch ends.
fn up_and_watch(stack: Stack, options: UpOptions, down_on_exit: bool, ui: &Ui) -> Result<ExitCode> {
    print_up(&stack, &options, ui)?;
    block_on_uninterrupted(async {
        Ok(crate::watch::watch(stack, &options, ui, down_on_exit).await?)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Options of a plain `devenv up` for a stack (what `devenv watch` starts with).
fn default_options(stack: &Stack) -> UpOptions {
    UpOptions {
        services: Vec::new(),
        profiles: Vec::new(),
        timeout: Duration::from_secs(120),
        json: false,
        remap: stack.project.remap_ports,
        migrate: true,
        seed: true,
        adopt: false,
        secrets_into_tracked_env: false,
    }
}

/// Brings the stack up and prints the outcome (table, or JSON with `options.json`).
fn print_up(stack: &Stack, options: &UpOptions, ui: &Ui) -> Result<()> {
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
