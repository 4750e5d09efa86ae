//! `devenv env init` and `devenv env check`.

use super::runtime::block_on;
use crate::cli::EnvCommand;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::lifecycle::preflight;
use crate::source::Diagnostic;
use crate::ui::{Style, Ui};
use crate::{dotenv, envcheck, envfile};
use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

/// Runs `devenv env ...`.
pub fn run(file: Option<&Path>, command: &EnvCommand, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    match command {
        EnvCommand::Check => {
            let env = dotenv::read(&envfile::path(&stack))?;
            let findings = envcheck::check(&stack, env.as_ref());
            if findings.is_empty() {
                ui.out(format!(
                    "{} .env has every key devenv.toml uses, all set",
                    ui.paint(Style::Good, "✓")
                ));
                return Ok(ExitCode::SUCCESS);
            }
            for finding in &findings {
                ui.out(format!(
                    "{} {}: {}",
                    ui.paint(Style::Bad, "✗"),
                    finding.key,
                    finding.problem
                ));
                ui.out(format!("    fix: {}", finding.fix));
            }
            ui.out(format!("{} finding(s) in .env", findings.len()));
            Ok(ExitCode::from(1))
        }
        EnvCommand::Init => {
            let (env, report) = envfile::ensure(&stack)?;
            // Ports are checked like `up` does; without Docker only this machine's listeners.
            let (published, running) = block_on(async {
                match Engine::connect().await {
                    Ok(engine) => {
                        let published = engine.published_ports().await?;
                        let running = engine.running_services(&stack.project.name).await?;
                        Ok((published, running))
                    }
                    Err(e) => {
                        ui.warn(format!(
                            "{}; checked ports against this machine's listeners only",
                            e.message
                        ));
                        Ok::<_, Error>((Vec::new(), HashSet::new()))
                    }
                }
            })?;
            let services = crate::ports::all_services(&stack);
            let (_, remaps) = preflight::settle_ports(
                &stack,
                &services,
                env,
                &published,
                &running,
                stack.project.remap_ports,
            )?;
            let path = envfile::path(&stack);
            if report.created {
                ui.info(format!(
                    "{} created {} (mode 600) with generated secrets",
                    ui.paint(Style::Good, "✓"),
                    path.display()
                ));
            } else if !report.added.is_empty() {
                ui.info(format!(
                    "{} added {} to {}",
                    ui.paint(Style::Good, "✓"),
                    report.added.join(", "),
                    path.display()
                ));
            } else if remaps.is_empty() {
                ui.info(format!(
                    "{} {} already has every key; nothing changed",
                    ui.paint(Style::Good, "✓"),
                    path.display()
                ));
            }
            if report.ignored_in_git {
                ui.info("added .env to .gitignore: it holds secrets");
            }
            for remap in &remaps {
                ui.warn(remap);
            }
            if !path.exists() {
                return Err(Diagnostic::new(format!("{} was not written", path.display())).into());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
