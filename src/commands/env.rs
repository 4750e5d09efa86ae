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

/// Runs `devenv env ...`.
pub fn run(file: Option<&Path>, command: &EnvCommand, ui: &Ui) -> Result<()> {
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
                return Ok(());
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
            let summary = format!("{} finding(s) in .env", findings.len());
            ui.out(&summary);
            Err(Error::problems_found(summary))
        }
        EnvCommand::Init => {
            let (env, report) = envfile::ensure(&stack)?;
            // Ports are checked like `up` does; without Docker only this machine's listeners.
            let (published, running) = block_on(async {
                match Engine::connect().await {
                    Ok(engine) => {
                        let published = engine.published_ports().await?;
                        let observed = engine.observe(&stack.project.name).await?;
                        let running: HashSet<String> = observed
                            .into_iter()
                            .filter(|(_, o)| o.state == "running")
                            .map(|(s, _)| s)
                            .collect();
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
            Ok(())
        }
    }
}
