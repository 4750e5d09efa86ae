//! `devenv status`: each service's state, health, ports, uptime and image, from one list call.

use super::report::ServiceRow;
use crate::engine::{Engine, labels};
use crate::source::Diagnostic;
use crate::stack::Stack;

/// Rows for every service of the stack (missing ones included).
pub async fn status(stack: &Stack) -> Result<Vec<ServiceRow>, Diagnostic> {
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&stack.project.name).await?;
    let rows = stack
        .services
        .values()
        .map(|service| {
            let container = containers.iter().find(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get(labels::SERVICE))
                    .is_some_and(|s| s == &service.name)
                    && c.labels
                        .as_ref()
                        .and_then(|l| l.get(labels::ONEOFF))
                        .is_none_or(|o| o != "True")
            });
            let Some(container) = container else {
                return ServiceRow {
                    service: service.name.clone(),
                    state: "missing".into(),
                    health: "-".into(),
                    addresses: Vec::new(),
                    url: None,
                    image: service.image.clone(),
                    status: "not created (devenv up)".into(),
                };
            };
            let status = container.status.clone().unwrap_or_default();
            let state = container.state.map(|s| s.to_string()).unwrap_or_default();
            let health = if status.contains("(healthy)") {
                "healthy"
            } else if status.contains("(unhealthy)") {
                "unhealthy"
            } else if status.contains("(health: starting)") {
                "starting"
            } else {
                "-"
            };
            let mut addresses: Vec<String> = container
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    let public = p.public_port?;
                    let ip =
                        p.ip.as_deref()
                            .map(crate::endpoint::reach_host)
                            .unwrap_or("127.0.0.1");
                    Some(format!("{ip}:{public}"))
                })
                .collect();
            addresses.sort();
            addresses.dedup();
            ServiceRow {
                service: service.name.clone(),
                state,
                health: health.into(),
                addresses,
                url: None,
                image: container.image.clone().unwrap_or_default(),
                status,
            }
        })
        .collect();
    Ok(rows)
}

/// True when every service runs and none is unhealthy or still starting.
pub fn all_healthy(rows: &[ServiceRow]) -> bool {
    rows.iter()
        .all(|r| r.state == "running" && (r.health == "healthy" || r.health == "-"))
}
