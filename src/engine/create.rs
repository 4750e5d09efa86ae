//! Creating a container from its `ContainerSpec`: the request body is built in named steps
//! (labels, port bindings, mounts, health check, host and network settings), and a name that
//! is already taken is explained, never resolved by removing someone else's container.

use super::{Engine, api_error, is_conflict, labels};
use crate::diagnostic::Diagnostic;
use crate::plan::{ContainerSpec, DockerHealth, MountSpec, PublishedPort};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use std::collections::HashMap;

impl Engine {
    /// Creates a container from its spec, labelled at creation (never an unlabelled one).
    pub async fn create(
        &self,
        project: &str,
        spec: &ContainerSpec,
        extra_labels: HashMap<String, String>,
    ) -> Result<String, Diagnostic> {
        // A remote engine's ports are its own pick on its host: devenv forwards them to the
        // spec's host ports here (`forward`).
        let body = create_body(
            spec,
            container_labels(project, spec, extra_labels),
            spec.engine_picks_ports,
        );
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        match self.docker.create_container(Some(options), body).await {
            Ok(response) => Ok(response.id),
            Err(e) if is_conflict(&e) => Err(self.name_conflict(project, &spec.name).await),
            Err(e) => Err(api_error(
                &format!(
                    "creating container {} for service `{}`",
                    spec.name, spec.service
                ),
                &e,
            )),
        }
    }

    /// Explains a container-name conflict: foreign containers are never touched.
    async fn name_conflict(&self, project: &str, name: &str) -> Diagnostic {
        let owner = self
            .docker
            .inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()
            .and_then(|c| c.config)
            .and_then(|c| c.labels)
            .and_then(|l| l.get(labels::PROJECT).cloned());
        match owner {
            Some(other) if other == project => Diagnostic::new(format!("container {name} was created by another devenv run meanwhile"))
                .with_help("run `devenv up` again"),
            Some(other) => Diagnostic::new(format!("a container named {name} already exists and belongs to project `{other}`"))
                .with_help(format!("stop that project (`docker compose -p {other} down`), or rename this one in devenv.toml")),
            None => Diagnostic::new(format!("a container named {name} already exists and was not created by devenv"))
                .with_help(format!("devenv never removes containers it did not create: rename or remove it yourself (`docker rm -f {name}`), or change the project name")),
        }
    }
}

/// The project's labels, the caller's extra ones, and the per-container Compose labels.
fn container_labels(
    project: &str,
    spec: &ContainerSpec,
    extra_labels: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut all = labels::project_labels(project);
    all.extend(extra_labels);
    all.insert(labels::SERVICE.into(), spec.service.clone());
    all.insert(labels::CONTAINER_NUMBER.into(), "1".into());
    all.insert(labels::ONEOFF.into(), "False".into());
    all.insert(labels::CONFIG_HASH.into(), spec.config_hash());
    all
}

/// The whole create request.
fn create_body(
    spec: &ContainerSpec,
    labels: HashMap<String, String>,
    engine_picks_ports: bool,
) -> ContainerCreateBody {
    let own_network = spec.network != "host";
    let mut env = spec.env.clone();
    let mut mounts: Vec<Mount> = spec.mounts.iter().map(mount).collect();
    let (entrypoint, cmd) = match &spec.first_start {
        // `sh -c SCRIPT NAME ARGS...`: the script sees the image's entrypoint and the command
        // as "$@" and execs them when done; the image's own command is not appended.
        Some(first) => {
            env.extend(first.env.iter().cloned());
            mounts.extend(first.mounts.iter().map(mount));
            let mut entrypoint = vec![
                "sh".to_string(),
                "-c".to_string(),
                first.script.clone(),
                "devenv-first-start".to_string(),
            ];
            entrypoint.extend(first.then.iter().cloned());
            (Some(entrypoint), Some(Vec::new()))
        }
        None => (None, spec.command.clone()),
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint,
        cmd,
        env: Some(env),
        labels: Some(labels),
        exposed_ports: Some(spec.ports.iter().map(port_key).collect()),
        healthcheck: spec.health.as_ref().map(health_config),
        host_config: Some(HostConfig {
            port_bindings: own_network.then(|| port_bindings(&spec.ports, engine_picks_ports)),
            mounts: Some(mounts),
            network_mode: Some(spec.network.clone()),
            privileged: Some(spec.privileged),
            ..Default::default()
        }),
        // Aliases exist only on user-defined networks (not Docker's default `bridge`).
        networking_config: (own_network && spec.network != "bridge").then(|| network_aliases(spec)),
        ..Default::default()
    }
}

/// Docker's key for a container port: `5432/tcp`.
fn port_key(port: &PublishedPort) -> String {
    format!("{}/{}", port.container, port.protocol)
}

/// Each container port bound to its host address and port (any free port the engine picks,
/// when `engine_picks`).
fn port_bindings(
    ports: &[PublishedPort],
    engine_picks: bool,
) -> HashMap<String, Option<Vec<PortBinding>>> {
    ports
        .iter()
        .map(|p| {
            let binding = PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(if engine_picks {
                    String::new()
                } else {
                    p.host_port.to_string()
                }),
            };
            (port_key(p), Some(vec![binding]))
        })
        .collect()
}

/// A named volume or bind mount.
pub(super) fn mount(m: &MountSpec) -> Mount {
    Mount {
        target: Some(m.target.clone()),
        source: Some(m.source.clone()),
        typ: Some(if m.kind == crate::plan::MountKind::Volume {
            MountType::VOLUME
        } else {
            MountType::BIND
        }),
        read_only: Some(m.read_only),
        ..Default::default()
    }
}

/// Docker's HEALTHCHECK settings.
fn health_config(h: &DockerHealth) -> HealthConfig {
    HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(h.interval),
        timeout: Some(h.timeout),
        retries: Some(h.retries),
        start_period: Some(h.start_period),
        ..Default::default()
    }
}

/// The project network, where the service is reachable by its name.
fn network_aliases(spec: &ContainerSpec) -> NetworkingConfig {
    NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            spec.network.clone(),
            EndpointSettings {
                aliases: Some(vec![spec.service.clone()]),
                ..Default::default()
            },
        )])),
    }
}
