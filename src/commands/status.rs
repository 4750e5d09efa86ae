//! `devenv status`: one line per service; exit 1 unless all run and are healthy.

use super::runtime::block_on;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::lifecycle::report::table;
use crate::lifecycle::status::status;
use crate::ui::Ui;
use std::path::Path;
use std::process::ExitCode;

/// Runs `devenv status`.
pub fn run(file: Option<&Path>, args: &StatusArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let report = block_on(async { Ok(status(&stack).await?) })?;
    if args.json {
        ui.out(serde_json::to_value(&report).expect("the status report serializes"));
    } else {
        ui.out(table(&report.services, true));
    }
    Ok(if report.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
