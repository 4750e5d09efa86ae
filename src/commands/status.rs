//! `devenv status`: one line per service; exit 1 unless all run and are healthy.

use super::runtime::block_on;
use crate::cli::StatusArgs;
use crate::error::{Error, Result};
use crate::lifecycle::report::table;
use crate::lifecycle::status::{all_healthy, status};
use crate::ui::Ui;
use std::path::Path;

/// Runs `devenv status`.
pub fn run(file: Option<&Path>, args: &StatusArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let rows = block_on(async { Ok(status(&stack).await?) })?;
    let healthy = all_healthy(&rows);
    if args.json {
        ui.out(serde_json::json!({ "project": stack.project.name, "healthy": healthy, "services": rows }));
    } else {
        ui.out(table(&rows, true));
    }
    if !healthy {
        return Err(Error::problems_found(format!(
            "not every service of `{}` is running and healthy",
            stack.project.name
        )));
    }
    Ok(())
}
