//! `devenv down`: remove containers and network; volumes only with `--volumes` and consent.

use super::runtime::block_on;
use crate::cli::DownArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::lifecycle::down::{down, volumes_to_remove};
use crate::ui::{Style, Ui};
use std::path::Path;
use std::process::ExitCode;

/// Runs `devenv down`.
pub fn run(file: Option<&Path>, args: &DownArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    block_on(async {
        let engine = Engine::connect().await?;
        crate::lifecycle::ownership::claim(&engine, &stack, args.adopt, ui).await?;
        let volumes = if args.volumes {
            volumes_to_remove(&engine, &stack).await?
        } else {
            Vec::new()
        };
        if !volumes.is_empty() && !args.yes {
            let list = volumes.join(", ");
            ui.confirm(
                &format!("Remove volumes {list}? Their data is lost for good."),
                &format!("refusing to remove volumes {list}"),
                "their data is lost for good",
            )?;
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
