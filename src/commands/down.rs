//! `devenv down`: remove containers and network; volumes only with `--volumes` and consent.

use super::runtime::block_on;
use crate::cli::DownArgs;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::lifecycle::down::{down, volumes_to_remove};
use crate::source::Diagnostic;
use crate::ui::{Style, Ui};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

/// Runs `devenv down`.
pub fn run(file: Option<&Path>, args: &DownArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    block_on(async {
        let engine = Engine::connect().await?;
        let volumes = if args.volumes {
            volumes_to_remove(&engine, &stack).await?
        } else {
            Vec::new()
        };
        if !volumes.is_empty() && !args.yes {
            confirm(&volumes, ui)?;
        }
        let report = down(&engine, &stack, &volumes, ui).await?;
        let mark = ui.paint(Style::Good, "✓");
        if report.containers.is_empty() && !report.network {
            ui.info(format!(
                "{mark} nothing was running for `{}`",
                stack.project.name
            ));
        } else {
            ui.info(format!(
                "{mark} removed {} containers and the network of `{}`",
                report.containers.len(),
                stack.project.name
            ));
        }
        if args.volumes {
            if report.volumes.is_empty() {
                ui.info("no volumes to remove");
            } else {
                ui.info(format!(
                    "{mark} removed volumes: {}",
                    report.volumes.join(", ")
                ));
            }
        } else {
            let kept = volumes_to_remove(&engine, &stack).await.unwrap_or_default();
            if !kept.is_empty() {
                ui.info(format!(
                    "kept volumes {} (their data stays; `devenv down --volumes` removes them)",
                    kept.join(", ")
                ));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Asks before deleting data; with no terminal to ask on, refuses.
fn confirm(volumes: &[String], ui: &Ui) -> Result<()> {
    let list = volumes.join(", ");
    if !(std::io::stdin().is_terminal() && ui.interactive) {
        return Err(Error::failure(
            Diagnostic::new(format!(
                "refusing to remove volumes {list} without confirmation: no terminal to ask on"
            ))
            .with_help("their data is lost for good; pass `--yes` to remove them anyway"),
        ));
    }
    eprint!("Remove volumes {list}? Their data is lost for good. [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Diagnostic::new(format!("reading the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::failure(Diagnostic::new(
            "nothing removed: not confirmed",
        )))
    }
}
