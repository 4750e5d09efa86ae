//! `devenv down`: stop and remove the project's containers and network. Named volumes stay
//! unless asked; only volumes labelled as the project's are ever removed (never external ones).

use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::plan;
use crate::stack::Stack;
use crate::ui::Ui;
use futures_util::future::join_all;
use std::collections::HashMap;
use std::time::Duration;

/// What `down` removed.
#[derive(Debug, Default, Clone)]
pub struct DownReport {
    /// Containers removed.
    pub containers: Vec<String>,
    /// Whether the network was removed.
    pub network: bool,
    /// Volumes removed.
    pub volumes: Vec<String>,
    /// Whether a remote engine's port forwarder was stopped.
    pub forwarder: bool,
}

/// Volumes `down --volumes` would remove.
pub async fn volumes_to_remove(engine: &Engine, stack: &Stack) -> Result<Vec<String>, Diagnostic> {
    engine.project_volumes(&stack.project.name).await
}

/// Stops and removes the project's containers and network, and `volumes` when given.
pub async fn down(
    engine: &Engine,
    stack: &Stack,
    volumes: &[String],
    ui: &Ui,
) -> Result<DownReport, Diagnostic> {
    let _lock = super::lock::acquire(
        &stack.root,
        &stack.project.name,
        ui,
        Duration::from_secs(600),
    )
    .await?;
    let containers = engine.project_containers(&stack.project.name).await?;
    let names: Vec<String> = containers.into_iter().map(|c| c.name).collect();
    let removals = names.iter().map(|name| async move {
        engine.stop(name, Duration::from_secs(10)).await?;
        engine.remove(name).await
    });
    for result in join_all(removals).await {
        result?;
    }
    let forwarder = crate::forward::stop(&stack.root).await?;
    let network = engine
        .remove_network(&plan::network_name(&stack.project.name))
        .await?;
    // A database volume started from a prepared copy is a second name of it: both go.
    let backings = if volumes.is_empty() {
        HashMap::new()
    } else {
        engine.project_backings(&stack.project.name).await?
    };
    for volume in volumes {
        engine.remove_volume(volume).await?;
        if let Some(backing) = backings.get(volume) {
            engine.remove_volume(backing).await?;
        }
    }
    Ok(DownReport {
        containers: names,
        network,
        volumes: volumes.to_vec(),
        forwarder,
    })
}
