//! `devenv restart`: restart services and apps and wait until they are ready again.

use super::runtime::block_on;
use crate::cli::RestartArgs;
use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::engine::start::StartError;
use crate::error::Result;
use crate::health::wait_ready;
use crate::plan;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Runs `devenv restart`.
pub fn run(file: Option<&Path>, args: &RestartArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let values = crate::env::load(&stack)?.values;
    let config = UserConfig::load()?;
    let (named_services, named_apps) = crate::apps::split_selection(&stack, &args.services)?;
    let only_apps = !args.services.is_empty() && named_services.is_empty();
    let services = if only_apps {
        Vec::new()
    } else {
        plan::select_services(&stack, &named_services, &[]).map_err(Diagnostic::new)?
    };
    let services: Vec<_> = services
        .into_iter()
        .filter(|s| args.services.is_empty() || args.services.contains(&s.name))
        .collect();
    let restarted = block_on(async {
        let engine = Engine::connect().await?;
        crate::lifecycle::ownership::claim(&engine, &stack, false, ui).await?;
        let forwarder = crate::forward::Forwarder::for_engine(&engine, &stack.root).await?;
        let mut restarted = Vec::new();
        for service in services {
            let spec = plan::container_spec(&stack, service, &values, &config);
            engine.restart(&spec.name).await?;
            if let Some(forwarder) = &forwarder {
                // A remote engine may give the restarted container other ports.
                forwarder
                    .ensure(&engine, &service.name, &spec)
                    .await
                    .map_err(|e| {
                        e.map_or_else(|d| d, |taken| StartError::PortTaken(taken).into())
                    })?;
            }
            let waited = wait_ready(&engine, &spec, service, Duration::from_secs(120)).await?;
            if !args.json {
                ui.info(format!(
                    "{} {} restarted, ready in {:.2}s",
                    ui.paint(Style::Good, "✓"),
                    service.name,
                    waited.as_secs_f64()
                ));
            }
            restarted.push(Restarted {
                service: service.name.clone(),
                ready_ms: waited.as_millis() as u64,
            });
        }
        Ok(restarted)
    })?;
    let apps = match named_apps {
        Some(apps) => apps,
        None => crate::apps::state::recorded(&stack.root)
            .into_iter()
            .filter(|app| stack.apps.contains_key(app))
            .collect(),
    };
    let apps = restart_apps(&stack, values, &apps, args.json, ui)?;
    if args.json {
        ui.json(&RestartDocument {
            restarted: &restarted,
            apps: &apps,
        });
    }
    Ok(())
}

/// Stops `apps` (whole trees) and starts them again under new supervisors, waiting until each
/// is ready; the apps they depend on are started when they are not running.
fn restart_apps(
    stack: &crate::stack::Stack,
    values: crate::env::Values,
    apps: &[String],
    json: bool,
    ui: &Ui,
) -> Result<Vec<RestartedApp>> {
    if apps.is_empty() {
        return Ok(Vec::new());
    }
    let exe = std::env::current_exe().map_err(|e| {
        Diagnostic::new(format!(
            "cannot find devenv's own program to supervise the apps: {e}"
        ))
    })?;
    let on_line = |line: &str| ui.info(line);
    let start = crate::apps::start::Start {
        devenv_exe: &exe,
        timeout: Duration::from_secs(120),
        setup: true,
        remap: stack.project.remap_ports,
        only: Some(apps),
        on_line: &on_line,
    };
    let began = std::time::Instant::now();
    let report = block_on(async {
        for app in apps {
            crate::apps::stop_app(&stack.root, app, crate::apps::DEFAULT_GRACE).await?;
        }
        Ok(crate::apps::start_all(stack, values, &start).await?)
    })?;
    let restarted: Vec<RestartedApp> = report
        .apps
        .iter()
        .filter(|a| apps.contains(&a.app))
        .map(|a| RestartedApp {
            app: a.app.clone(),
            pid: a.pid,
            ready_ms: began.elapsed().as_millis() as u64,
        })
        .collect();
    if !json {
        for app in &restarted {
            ui.info(format!(
                "{} app `{}` restarted (pid {}), ready in {:.2}s",
                ui.paint(Style::Good, "✓"),
                app.app,
                app.pid,
                app.ready_ms as f64 / 1000.0
            ));
        }
        for remap in &report.remaps {
            ui.warn(remap);
        }
    }
    Ok(restarted)
}

/// `devenv restart --json`.
#[derive(Debug, Serialize)]
struct RestartDocument<'a> {
    /// Each service restarted, in order.
    restarted: &'a [Restarted],
    /// Each app restarted (absent when none was).
    #[serde(skip_serializing_if = "<[RestartedApp]>::is_empty")]
    apps: &'a [RestartedApp],
}

/// One restarted app.
#[derive(Debug, Serialize)]
struct RestartedApp {
    /// App name.
    app: String,
    /// Its new process.
    pid: i32,
    /// Milliseconds from the stop until it was ready again.
    ready_ms: u64,
}

/// One restarted service.
#[derive(Debug, Serialize)]
struct Restarted {
    /// Service name.
    service: String,
    /// Milliseconds until it was ready again.
    ready_ms: u64,
}
