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
    if args.all {
        return all_projects(args, ui);
    }
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

/// `devenv status --all`: every devenv project on the engine and the directory it belongs to.
fn all_projects(args: &StatusArgs, ui: &Ui) -> Result<ExitCode> {
    let projects = block_on(async {
        let engine = crate::engine::Engine::connect().await?;
        Ok(engine.all_projects().await?)
    })?;
    if args.json {
        ui.out(serde_json::json!({ "projects": projects }));
        return Ok(ExitCode::SUCCESS);
    }
    if projects.is_empty() {
        ui.info("no devenv project has containers on this engine");
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines = vec![[
        "PROJECT".to_string(),
        "RUNNING".to_string(),
        "SERVICES".to_string(),
        "DIRECTORY".to_string(),
    ]];
    for p in &projects {
        let directory = match &p.directory {
            Some(dir) if p.directory_exists => dir.display().to_string(),
            Some(dir) => format!("{} (gone)", dir.display()),
            None => "-".to_string(),
        };
        lines.push([
            p.project.clone(),
            format!("{}/{}", p.running, p.services.len()),
            p.services.join(","),
            directory,
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        ui.out(cells.join("  ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
