//! `docker-compose.yml`: the same stack for `docker compose` on its own, serialized from typed
//! structs (never by string concatenation) so every value is quoted correctly.

use crate::stack::{HealthCheck, HostPort, Service, Stack, Volume, format_duration};
use indexmap::IndexMap;
use serde::Serialize;

#[derive(Serialize)]
struct ComposeFile<'a> {
    name: &'a str,
    services: IndexMap<&'a str, ComposeService<'a>>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    volumes: IndexMap<String, ComposeVolume>,
}

#[derive(Serialize)]
struct ComposeService<'a> {
    image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<ComposeCommand<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    environment: &'a IndexMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    depends_on: IndexMap<&'a str, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    profiles: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_mode: Option<&'static str>,
}

/// A command as a list, or as one shell-quoted line when an item would read as a boolean to
/// a YAML 1.1 reader (docker-compose 1.x reads `- yes` as `true` and refuses it).
#[derive(Serialize)]
#[serde(untagged)]
enum ComposeCommand<'a> {
    List(&'a [String]),
    Line(String),
}

impl<'a> ComposeCommand<'a> {
    fn new(items: &'a [String]) -> Self {
        let yaml_1_1_bool = |item: &String| {
            matches!(
                item.to_ascii_lowercase().as_str(),
                "y" | "yes" | "n" | "no" | "on" | "off" | "true" | "false"
            )
        };
        match items.iter().any(yaml_1_1_bool) {
            true => shlex::try_join(items.iter().map(String::as_str))
                .map_or(Self::List(items), Self::Line),
            false => Self::List(items),
        }
    }
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

/// Docker's HEALTHCHECK of a service, as Compose (and `devenv export`) write it.
#[derive(Serialize)]
pub(crate) struct Healthcheck {
    /// `["CMD", program, args...]`.
    pub test: Vec<String>,
    /// Time between checks (`1s`).
    pub interval: String,
    /// Time one check may take.
    pub timeout: String,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
}

#[derive(Serialize)]
struct ComposeVolume {}

/// Renders the body of `docker-compose.yml` (without the generated-file header).
pub fn render(stack: &Stack) -> String {
    let mut volumes = IndexMap::new();
    let services = stack
        .services
        .values()
        .map(|service| {
            for volume in &service.volumes {
                if let Volume::Named { name, .. } = volume {
                    volumes.insert(name.clone(), ComposeVolume {});
                }
            }
            let compose = ComposeService {
                image: &service.image,
                command: service.command.as_deref().map(ComposeCommand::new),
                ports: ports(service),
                environment: &service.env,
                volumes: mounts(service),
                depends_on: depends_on(stack, service),
                healthcheck: docker_health(service),
                profiles: &service.profiles,
                privileged: service.host_access.privileged,
                network_mode: service.host_access.host_network.then_some("host"),
            };
            (service.name.as_str(), compose)
        })
        .collect();
    let file = ComposeFile {
        name: &stack.project.declared_name,
        services,
        volumes,
    };
    serde_norway::to_string(&file).expect("compose structs always serialize")
}

/// `HOST_IP:${VAR:-default}:CONTAINER[/udp]` for each published port.
fn ports(service: &Service) -> Vec<String> {
    service
        .ports
        .iter()
        .map(|port| {
            let host = match &port.host {
                HostPort::Variable { name, default } => format!("${{{name}:-{default}}}"),
                HostPort::Fixed(fixed) => fixed.to_string(),
            };
            let proto = if port.protocol == "tcp" {
                String::new()
            } else {
                format!("/{}", port.protocol)
            };
            format!("{}:{host}:{}{proto}", service.host_ip, port.container)
        })
        .collect()
}

/// Named volumes and bind mounts in Compose's short syntax, plus the Docker socket.
fn mounts(service: &Service) -> Vec<String> {
    let mut mounts: Vec<String> = service
        .volumes
        .iter()
        .map(|volume| match volume {
            Volume::Named {
                name,
                target,
                read_only,
            } => mount(name, target, *read_only),
            Volume::Bind {
                source,
                target,
                read_only,
            } => mount(source, target, *read_only),
        })
        .collect();
    if service.host_access.docker_socket {
        mounts.push("/var/run/docker.sock:/var/run/docker.sock".into());
    }
    mounts
}

/// Long-form `depends_on`: wait for health where the dependency has a Docker health check.
fn depends_on<'a>(stack: &Stack, service: &'a Service) -> IndexMap<&'a str, DependsOn> {
    service
        .depends_on
        .iter()
        .map(|dep| {
            let docker_checks = stack.services.get(dep).and_then(docker_health).is_some();
            (
                dep.as_str(),
                DependsOn {
                    condition: if docker_checks {
                        "service_healthy"
                    } else {
                        "service_started"
                    },
                },
            )
        })
        .collect()
}

fn mount(source: &str, target: &str, read_only: bool) -> String {
    if read_only {
        format!("{source}:{target}:ro")
    } else {
        format!("{source}:{target}")
    }
}

/// Docker's HEALTHCHECK for a service: only command checks run inside the container; TCP and
/// HTTP checks are probed by devenv from the host.
pub(crate) fn docker_health(service: &crate::stack::Service) -> Option<Healthcheck> {
    let health = service.health.as_ref()?;
    let HealthCheck::Command(cmd) = &health.check else {
        return None;
    };
    Some(Healthcheck {
        test: std::iter::once("CMD".to_string())
            .chain(cmd.iter().cloned())
            .collect(),
        interval: format_duration(health.interval),
        timeout: format_duration(health.timeout),
        retries: health.retries,
        start_period: (!health.start_period.is_zero())
            .then(|| format_duration(health.start_period)),
    })
}

#[cfg(test)]
mod tests {
    use super::ComposeCommand;

    #[test]
    fn a_command_with_a_yaml_1_1_boolean_is_one_line() {
        let items = ["--appendonly".to_string(), "yes".to_string()];
        let yaml = serde_norway::to_string(&ComposeCommand::new(&items)).unwrap();
        assert_eq!(yaml.trim(), "--appendonly yes");
        let plain = ["-c".to_string(), "log_statement=all".to_string()];
        let yaml = serde_norway::to_string(&ComposeCommand::new(&plain)).unwrap();
        assert!(yaml.starts_with("- -c"), "{yaml}");
    }
}
