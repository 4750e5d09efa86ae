//! `devenv seed [--reseed]`.

use super::migrate::database_context;
use super::runtime::block_on;
use crate::cli::SeedArgs;
use crate::database::{self, Steps};
use crate::error::Result;
use crate::ui::{Style, Ui};
use std::path::Path;

/// Runs `devenv seed`.
pub fn run(file: Option<&Path>, args: &SeedArgs, ui: &Ui) -> Result<()> {
    let (stack, env, target) = database_context(file)?;
    let steps = Steps {
        migrate: false,
        seed: true,
        reseed: args.reseed,
        announce_format: false,
    };
    let report = block_on(async {
        Ok(database::run_steps(&stack, &target, &env.values, steps, &|n| ui.info(n)).await?)
    })?;
    if args.json {
        ui.json(&super::migrate::StepsDocument::new(&target, &report));
        return Ok(());
    }
    let lines = report.lines();
    if lines.is_empty() {
        ui.info(format!(
            "{} every seed is already applied",
            ui.paint(Style::Good, "✓")
        ));
    }
    for line in lines {
        ui.info(format!("{} {line}", ui.paint(Style::Good, "✓")));
    }
    Ok(())
}
