//! `devenv status`: one line per service; exit 1 unless all run and are healthy.

use super::runtime::block_on;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::lifecycle::report::{ServiceRow, table};
use crate::lifecycle::status::{all_healthy, status};
use crate::ui::Ui;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// Runs `devenv status`.
pub fn run(file: Option<&Path>, args: &StatusArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let rows = block_on(async { Ok(status(&stack).await?) })?;
    let healthy = all_healthy(&rows);
    if args.json {
        ui.json(&StatusDocument {
            project: &stack.project.name,
            healthy,
            services: &rows,
        });
    } else {
        ui.out(table(&rows, true));
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `devenv status --json`.
#[derive(Debug, Serialize)]
struct StatusDocument<'a> {
    /// Project name.
    project: &'a str,
    /// Whether every service runs and none is unhealthy or starting.
    healthy: bool,
    /// One row per service.
    services: &'a [ServiceRow],
}
