//! `devenv restart`: restart services and wait until they are ready again.

use super::runtime::block_on;
use crate::cli::RestartArgs;
use crate::config::UserConfig;
use crate::engine::Engine;
use crate::error::Result;
use crate::health::wait_ready;
use crate::plan;
use crate::source::Diagnostic;
use crate::ui::{Style, Ui};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Runs `devenv restart`.
pub fn run(file: Option<&Path>, args: &RestartArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let values = crate::env::load(&stack)?.values;
    let config = UserConfig::load()?;
    let services = plan::select_services(&stack, &args.services, &[]).map_err(Diagnostic::new)?;
    let services: Vec<_> = services
        .into_iter()
        .filter(|s| args.services.is_empty() || args.services.contains(&s.name))
        .collect();
    block_on(async {
        let engine = Engine::connect().await?;
        crate::lifecycle::ownership::claim(&engine, &stack, false, ui).await?;
        for service in services {
            let spec = plan::container_spec(&stack, service, &values, &config);
            engine.restart(&spec.name).await?;
            let waited = wait_ready(&engine, &spec, service, Duration::from_secs(120)).await?;
            ui.info(format!(
                "{} {} restarted, ready in {:.2}s",
                ui.paint(Style::Good, "✓"),
                service.name,
                waited.as_secs_f64()
            ));
        }
        Ok(ExitCode::SUCCESS)
    })
}
