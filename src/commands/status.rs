//! `devenv status`: one line per service; exit 1 unless all run and are healthy.

use super::runtime::block_on;
use crate::cli::StatusArgs;
use crate::error::{Error, Result};
use crate::lifecycle::report::table;
use crate::lifecycle::status::status;
use crate::ui::Ui;
use crate::ui::table::Table;
use serde::Serialize;
use std::path::Path;

/// Runs `devenv status`.
pub fn run(file: Option<&Path>, args: &StatusArgs, ui: &Ui) -> Result<()> {
    if args.all {
        return all_projects(args, ui);
    }
    let stack = crate::project::load(file)?;
    let report = block_on(async { Ok(status(&stack).await?) })?;
    if args.json {
        ui.json(&report);
    } else {
        ui.out(table(&report.services, true));
    }
    if !report.healthy {
        return Err(Error::problems_found(format!(
            "not every service of `{}` is running and healthy",
            stack.project.name
        )));
    }
    Ok(())
}

/// `devenv status --all`: every devenv project on the engine and the directory it belongs to.
fn all_projects(args: &StatusArgs, ui: &Ui) -> Result<()> {
    let projects = block_on(async {
        let engine = crate::engine::Engine::connect().await?;
        Ok(engine.all_projects().await?)
    })?;
    if args.json {
        ui.json(&AllDocument {
            projects: &projects,
        });
        return Ok(());
    }
    if projects.is_empty() {
        ui.info("no devenv project has containers on this engine");
        return Ok(());
    }
    let mut table = Table::new(["PROJECT", "RUNNING", "SERVICES", "DIRECTORY"]);
    for p in &projects {
        let directory = match &p.directory {
            Some(dir) if p.directory_exists => dir.display().to_string(),
            Some(dir) => format!("{} (gone)", dir.display()),
            None => "-".to_string(),
        };
        table.row([
            p.project.clone(),
            format!("{}/{}", p.running, p.services.len()),
            p.services.join(","),
            directory,
        ]);
    }
    ui.out(table);
    Ok(())
}

/// `devenv status --all --json`.
#[derive(Debug, Serialize)]
struct AllDocument<'a> {
    /// Every devenv project on the engine.
    projects: &'a [crate::engine::owners::ProjectSummary],
}
