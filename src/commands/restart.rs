//! `devenv restart`: restart services and wait until they are ready again.

use super::runtime::block_on;
use crate::cli::RestartArgs;
use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
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
    let services = plan::select_services(&stack, &args.services, &[]).map_err(Diagnostic::new)?;
    let services: Vec<_> = services
        .into_iter()
        .filter(|s| args.services.is_empty() || args.services.contains(&s.name))
        .collect();
    let restarted = block_on(async {
        let engine = Engine::connect().await?;
        crate::lifecycle::ownership::claim(&engine, &stack, false, ui).await?;
        let mut restarted = Vec::new();
        for service in services {
            let spec = plan::container_spec(&stack, service, &values, &config);
            engine.restart(&spec.name).await?;
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
    if args.json {
        ui.json(&RestartDocument {
            restarted: &restarted,
        });
    }
    Ok(())
}

/// `devenv restart --json`.
#[derive(Debug, Serialize)]
struct RestartDocument<'a> {
    /// Each service restarted, in order.
    restarted: &'a [Restarted],
}

/// One restarted service.
#[derive(Debug, Serialize)]
struct Restarted {
    /// Service name.
    service: String,
    /// Milliseconds until it was ready again.
    ready_ms: u64,
}
