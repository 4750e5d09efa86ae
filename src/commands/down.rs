//! `devenv down`: remove containers and network; volumes only with `--volumes` and consent.

use super::runtime::block_on;
use crate::cli::DownArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::lifecycle::down::{down, volumes_to_remove};
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;

/// Runs `devenv down`.
pub fn run(file: Option<&Path>, args: &DownArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    block_on(async {
        // Apps first: they use the containers.
        let apps = crate::apps::stop_all(&stack.root, crate::apps::DEFAULT_GRACE).await?;
        if !apps.is_empty() && !args.json {
            ui.info(format!(
                "{} stopped apps: {}",
                ui.paint(Style::Good, "✓"),
                apps.join(", ")
            ));
        }
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
        if args.json {
            let kept = if args.volumes {
                Vec::new()
            } else {
                volumes_to_remove(&engine, &stack).await.unwrap_or_default()
            };
            ui.json(&DownDocument {
                project: &stack.project.name,
                containers: &report.containers,
                network: report.network,
                volumes: &report.volumes,
                kept_volumes: &kept,
                apps: &apps,
                forwarder_stopped: report.forwarder,
            });
            return Ok(());
        }
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
        if report.forwarder {
            ui.info(format!(
                "{mark} stopped forwarding the remote engine's ports"
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
        Ok(())
    })
}

/// `devenv down --json`.
#[derive(Debug, Serialize)]
struct DownDocument<'a> {
    /// Project name.
    project: &'a str,
    /// Containers removed.
    containers: &'a [String],
    /// Whether the network was removed.
    network: bool,
    /// Volumes removed (only with `--volumes`).
    volumes: &'a [String],
    /// Volumes that stay (without `--volumes`).
    kept_volumes: &'a [String],
    /// Apps stopped (absent when none ran).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    apps: &'a [String],
    /// Whether the forwarder of a remote engine's ports was stopped (absent when none ran).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    forwarder_stopped: bool,
}
