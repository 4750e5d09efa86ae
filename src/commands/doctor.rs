//! `devenv doctor [--json] [--fix]`.

use super::runtime::block_on;
use crate::cli::DoctorArgs;
use crate::doctor::{self, Applied, Check, Status};
use crate::error::{Error, Result};
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;

/// Runs `devenv doctor`.
pub fn run(file: Option<&Path>, args: &DoctorArgs, ui: &Ui) -> Result<()> {
    let mut checks = block_on(async { Ok(doctor::run_all(file).await) })?;
    if args.fix
        && let Ok(stack) = crate::project::load(file)
    {
        let outcomes = block_on(async { Ok(doctor::apply_fixes(&stack, &checks).await) })?;
        for outcome in &outcomes {
            match outcome {
                Applied::Changed(what) => {
                    ui.info(format!("{} fixed: {what}", ui.paint(Style::Good, "✓")))
                }
                Applied::Failed(why) => ui.warn(why),
            }
        }
        if !outcomes.iter().any(|o| matches!(o, Applied::Changed(_))) {
            ui.info("nothing doctor can fix safely by itself; the fixes below are yours");
        }
        checks = block_on(async { Ok(doctor::run_all(file).await) })?;
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    if args.json {
        ui.json(&DoctorDocument {
            checks: &checks,
            failed,
            warnings: warned,
        });
    } else {
        for check in &checks {
            print_check(check, ui);
        }
        let summary = format!(
            "{} checks: {} ok, {warned} warning(s), {failed} failure(s)",
            checks.len(),
            checks.len() - failed - warned
        );
        ui.out(if failed > 0 {
            ui.paint(Style::Bad, summary)
        } else {
            ui.paint(Style::Good, summary)
        });
    }
    if failed > 0 {
        return Err(Error::problems_found(format!("{failed} check(s) failed")));
    }
    Ok(())
}

fn print_check(check: &Check, ui: &Ui) {
    let mark = match check.status {
        Status::Ok => ui.paint(Style::Good, "✓"),
        Status::Warn => ui.paint(Style::Warn, "!"),
        Status::Fail => ui.paint(Style::Bad, "✗"),
        Status::Skip => ui.paint(Style::Dim, "-"),
    };
    ui.out(format!("{mark} {}: {}", check.title, check.detail));
    if let Some(fix) = &check.fix {
        ui.out(format!("    fix: {fix}"));
    }
}

/// `devenv doctor --json`.
#[derive(Debug, Serialize)]
struct DoctorDocument<'a> {
    /// Every check, in the order they ran.
    checks: &'a [Check],
    /// How many failed.
    failed: usize,
    /// How many warned.
    warnings: usize,
}
