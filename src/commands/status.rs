//! `devenv status`: one line per service, then one per app; exit 1 unless all run and are
//! healthy.

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
    let (mut report, apps) = block_on(async {
        let services = status(&stack).await?;
        if stack.apps.is_empty() {
            return Ok((services, Vec::new()));
        }
        // As services' status does: an unreadable `.env` falls back to the stack's defaults.
        let values = crate::env::load(&stack)
            .unwrap_or_else(|_| crate::env::Loaded::without_file(&stack))
            .values;
        Ok((services, crate::apps::status(&stack, &values).await))
    })?;
    report.healthy = report.healthy && apps.iter().all(crate::apps::AppStatus::is_healthy);
    if args.json {
        ui.json(&StatusDocument {
            report: &report,
            apps: &apps,
        });
    } else {
        if !report.services.is_empty() || apps.is_empty() {
            ui.out(table(&report.services, true));
        }
        if !apps.is_empty() {
            ui.out(apps_table(&apps));
        }
        for app in apps
            .iter()
            .filter(|a| a.state == crate::apps::status::AppRunState::Running)
        {
            if let Some(problem) = &app.watch_problem {
                ui.warn(format!("app `{}`: watch: {problem}", app.name));
            }
        }
    }
    if !report.healthy {
        return Err(Error::problems_found(format!(
            "not every service and app of `{}` is running and healthy",
            stack.project.name
        )));
    }
    Ok(())
}

/// `devenv status --json`: the services' report and the apps.
#[derive(Debug, Serialize)]
struct StatusDocument<'a> {
    /// Project, health (apps included) and services.
    #[serde(flatten)]
    report: &'a crate::lifecycle::status::StatusReport,
    /// One row per app (absent when the stack has none).
    #[serde(skip_serializing_if = "<[crate::apps::AppStatus]>::is_empty")]
    apps: &'a [crate::apps::AppStatus],
}

/// The apps' table: state, health, pid, address, uptime, restarts and the last exit code.
fn apps_table(apps: &[crate::apps::AppStatus]) -> Table {
    let mut table = Table::new([
        "APP",
        "STATE",
        "HEALTH",
        "PID",
        "ADDRESS",
        "UPTIME",
        "RESTARTS",
        "LAST EXIT",
    ]);
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    for app in apps {
        table.row([
            app.name.clone(),
            app.state.as_str().to_string(),
            app.health_word(),
            or_dash(app.pid.map(|p| p.to_string())),
            or_dash(app.url.clone()),
            or_dash(app.uptime_secs.map(uptime)),
            app.restarts.to_string(),
            or_dash(app.last_exit_code.map(|c| c.to_string())),
        ]);
    }
    table
}

/// `42s`, `5m 3s`, `2h 10m`.
fn uptime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
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
