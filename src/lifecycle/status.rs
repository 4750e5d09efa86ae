//! `devenv status`: each service's state, health, ports, uptime, image and connection URL, from
//! one list call. Health is Docker's own (inspects of the running containers, concurrently);
//! where Docker's check has not passed yet, the readiness probe `up` waits on decides, so
//! `status` right after `up` agrees with it. `--json` is a versioned contract (`StatusReport`).

use super::report::{HealthSource, ServiceHealth, ServiceRow, ServiceState, address};
use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::endpoint::connection_url;
use crate::engine::{Engine, Health, ProjectContainer};
use crate::health;
use crate::plan::{self, ContainerSpec};
use crate::stack::{Service, Stack};
use futures_util::future::join_all;
use serde::Serialize;

/// The version of `status --json`'s shape; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// What `devenv status --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `SCHEMA_VERSION`.
    pub version: u32,
    /// Project name.
    pub project: String,
    /// Every service runs, and none is unhealthy or still starting.
    pub healthy: bool,
    /// One row per service of the stack, in stack order.
    pub services: Vec<ServiceRow>,
}

/// The status of every service of the stack (missing ones included).
pub async fn status(stack: &Stack) -> Result<StatusReport, Diagnostic> {
    let engine = Engine::connect().await?;
    let containers = engine.observe(&stack.project.name).await?;
    let specs = current_specs(stack)?;
    let forwards = match crate::forward::load(&stack.root) {
        Some(state) if engine.endpoint.forwards_ports() => {
            let running = crate::forward::running(&state).await;
            Some((state, running))
        }
        _ => None,
    };
    let rows = join_all(stack.services.values().map(|service| {
        let spec = &specs[&service.name];
        let container = containers.get(&service.name);
        service_row(&engine, service, spec, container, forwards.as_ref())
    }))
    .await;
    Ok(StatusReport {
        version: SCHEMA_VERSION,
        project: stack.project.name.clone(),
        healthy: all_healthy(&rows),
        services: rows,
    })
}

/// True when every service runs and none is unhealthy or still starting.
pub fn all_healthy(rows: &[ServiceRow]) -> bool {
    rows.iter().all(|r| {
        r.state == ServiceState::Container(crate::engine::State::Running)
            && !matches!(
                r.health,
                Some(ServiceHealth::Starting | ServiceHealth::Unhealthy)
            )
    })
}

/// The spec of every service as `up` would build it now (`.env`, stack defaults, user config).
fn current_specs(stack: &Stack) -> Result<indexmap::IndexMap<String, ContainerSpec>, Diagnostic> {
    let loaded =
        crate::env::load(stack).unwrap_or_else(|_| crate::env::Loaded::without_file(stack));
    let config = UserConfig::load()?;
    let services: Vec<&Service> = stack.services.values().collect();
    Ok(plan::specs(stack, &services, &loaded.values, &config))
}

/// One service's row: its container's state and health, or `missing`.
async fn service_row(
    engine: &Engine,
    service: &Service,
    spec: &ContainerSpec,
    container: Option<&ProjectContainer>,
    forwards: Option<&(crate::forward::State, bool)>,
) -> ServiceRow {
    let Some(container) = container else {
        return missing_row(service, spec);
    };
    let forwarded = forwards.filter(|(state, _)| state.of(&service.name).next().is_some());
    let spec = match forwarded {
        Some((state, _)) => as_forwarded(spec, state, &service.name),
        None => as_published(spec, container),
    };
    let (health, source) = if container.is_running() {
        let docker = engine
            .state(&container.name)
            .await
            .ok()
            .and_then(|s| s.health);
        decide_health(docker, || probe(engine, &spec, service)).await
    } else {
        (None, None)
    };
    let mut row = container_row(service, &spec, container, health, source);
    if let Some((state, running)) = forwarded {
        row.addresses = spec
            .ports
            .iter()
            .map(|p| address(&p.host_ip, p.host_port, &p.protocol))
            .collect();
        row.forwarded_from = state
            .of(&service.name)
            .map(|f| {
                let origin = f.origin(state);
                let moved = container
                    .ports
                    .iter()
                    .find(|p| p.container == f.container_port && p.protocol == "tcp")
                    .filter(|p| p.host_port != f.remote_port);
                if !*running {
                    format!("{origin}; the forwarder is not running: `devenv up` starts it")
                } else if let Some(now) = moved {
                    format!(
                        "{origin}; the engine moved it to {}: `devenv up` forwards it again",
                        now.host_port
                    )
                } else {
                    origin
                }
            })
            .collect();
    }
    row
}

/// The spec with the local ports devenv forwards a remote engine's ports to.
fn as_forwarded(
    spec: &ContainerSpec,
    state: &crate::forward::State,
    service: &str,
) -> ContainerSpec {
    let mut spec = spec.clone();
    for port in &mut spec.ports {
        if let Some(forward) = state
            .of(service)
            .find(|f| f.container_port == port.container && port.protocol == "tcp")
        {
            port.host_ip.clone_from(&forward.local_ip);
            port.host_port = forward.local_port;
        }
    }
    spec
}

/// Docker's health, unless it is still `starting`: then the readiness probe decides.
async fn decide_health<F: Future<Output = Option<bool>>>(
    docker: Option<Health>,
    probe: impl FnOnce() -> F,
) -> (Option<ServiceHealth>, Option<HealthSource>) {
    match docker {
        None => (None, None),
        Some(Health::Starting) => match probe().await {
            Some(true) => (Some(ServiceHealth::Healthy), Some(HealthSource::Probe)),
            Some(false) => (Some(ServiceHealth::Starting), Some(HealthSource::Probe)),
            None => (Some(ServiceHealth::Starting), Some(HealthSource::Docker)),
        },
        Some(health) => (Some(health.into()), Some(HealthSource::Docker)),
    }
}

/// Whether the readiness probe passes; `None` when the service has nothing to probe.
async fn probe(engine: &Engine, spec: &ContainerSpec, service: &Service) -> Option<bool> {
    if !health::has_probe(spec, service) {
        return None;
    }
    let attempt = health::probe_once(engine, spec, service, health::HANG_UP_WAIT);
    Some(matches!(
        tokio::time::timeout(health::ATTEMPT_TIMEOUT, attempt).await,
        Ok(Ok(()))
    ))
}

/// The spec with the host ports the container really publishes (`.env` may have moved since).
fn as_published(spec: &ContainerSpec, container: &ProjectContainer) -> ContainerSpec {
    let mut spec = spec.clone();
    for port in &mut spec.ports {
        if let Some(published) = container
            .ports
            .iter()
            .find(|p| p.container == port.container && p.protocol == port.protocol)
        {
            port.host_ip.clone_from(&published.host_ip);
            port.host_port = published.host_port;
        }
    }
    spec
}

fn missing_row(service: &Service, spec: &ContainerSpec) -> ServiceRow {
    ServiceRow {
        service: service.name.clone(),
        state: ServiceState::Missing,
        health: None,
        health_source: None,
        addresses: Vec::new(),
        url: None,
        image: spec.image.clone(),
        status: "not created (devenv up)".into(),
        forwarded_from: Vec::new(),
    }
}

fn container_row(
    service: &Service,
    spec: &ContainerSpec,
    container: &ProjectContainer,
    health: Option<ServiceHealth>,
    health_source: Option<HealthSource>,
) -> ServiceRow {
    let mut addresses: Vec<String> = container
        .ports
        .iter()
        .map(|p| address(&p.host_ip, p.host_port, &p.protocol))
        .collect();
    addresses.sort();
    addresses.dedup();
    ServiceRow {
        service: service.name.clone(),
        state: ServiceState::Container(container.state),
        health,
        health_source,
        addresses,
        url: connection_url(service, spec),
        image: container.image.clone(),
        status: container.status.clone(),
        forwarded_from: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{PortMapping, State};
    use std::path::Path;

    fn shop() -> Stack {
        crate::stack::tests_support::shop_at(Path::new("/p"))
    }

    fn spec(stack: &Stack, service: &str) -> ContainerSpec {
        let values = crate::env::Values::resolve(
            stack,
            &[("DB_PASSWORD".to_string(), "pw".to_string())]
                .into_iter()
                .collect(),
        );
        let config: UserConfig =
            toml::from_str("[images]\n\"postgres:16\" = \"mirror/postgres:16\"\n").unwrap();
        plan::container_spec(stack, &stack.services[service], &values, &config)
    }

    fn container(ports: Vec<PortMapping>) -> ProjectContainer {
        ProjectContainer {
            service: "db".into(),
            number: 1,
            one_off: false,
            name: "shop-db-1".into(),
            id: "id".into(),
            state: State::Running,
            status: "Up 2 seconds (health: starting)".into(),
            image: "mirror/postgres:16".into(),
            config_hash: String::new(),
            working_dir: None,
            ports,
        }
    }

    #[test]
    fn a_missing_service_has_no_health_and_shows_the_image_it_would_run() {
        let stack = shop();
        let row = missing_row(&stack.services["db"], &spec(&stack, "db"));
        assert_eq!(row.health, None);
        assert_eq!(row.image, "mirror/postgres:16", "expanded and rewritten");
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["state"], "missing");
        assert!(json["health"].is_null(), "{json}");
    }

    #[test]
    fn rows_show_udp_addresses_and_the_url_on_the_published_port() {
        let stack = shop();
        let port = |container, protocol: &str, host_port| PortMapping {
            container,
            protocol: protocol.into(),
            host_ip: "127.0.0.1".into(),
            host_port,
        };
        let c = container(vec![port(5432, "tcp", 15432), port(5353, "udp", 15353)]);
        let spec = as_published(&spec(&stack, "db"), &c);
        let row = container_row(&stack.services["db"], &spec, &c, None, None);
        assert_eq!(row.addresses, ["127.0.0.1:15353/udp", "127.0.0.1:15432"]);
        assert_eq!(
            row.url.as_deref(),
            Some("postgres://shop:pw@127.0.0.1:15432/shop"),
            "the same URL `up` shows, on the port the container publishes"
        );
    }

    #[tokio::test]
    async fn the_probe_decides_only_while_docker_says_starting() {
        async fn unused() -> Option<bool> {
            panic!("the probe runs only while Docker says starting")
        }
        assert_eq!(
            decide_health(Some(Health::Healthy), unused).await,
            (Some(ServiceHealth::Healthy), Some(HealthSource::Docker))
        );
        assert_eq!(decide_health(None, unused).await, (None, None));
        assert_eq!(
            decide_health(Some(Health::Starting), || async { Some(true) }).await,
            (Some(ServiceHealth::Healthy), Some(HealthSource::Probe))
        );
        assert_eq!(
            decide_health(Some(Health::Starting), || async { None }).await,
            (Some(ServiceHealth::Starting), Some(HealthSource::Docker))
        );
    }
}
