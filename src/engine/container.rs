//! The engine's view of a project's containers, typed: service, number, name, state, health and
//! published ports, read once from Docker's list and inspect answers so callers never look up
//! labels or trim names themselves.

use super::labels;
use bollard::models::{
    ContainerStateStatusEnum, ContainerSummary, ContainerSummaryStateEnum, HealthStatusEnum,
    PortSummaryTypeEnum,
};
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

/// A container's lifecycle state as Docker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted by its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Stopped.
    Exited,
    /// Could not be stopped or removed cleanly.
    Dead,
    /// Being stopped.
    Stopping,
    /// Docker gave no state.
    Unknown,
}

impl State {
    /// Docker's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Stopping => "stopping",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ContainerSummaryStateEnum> for State {
    fn from(state: ContainerSummaryStateEnum) -> Self {
        use ContainerSummaryStateEnum as S;
        match state {
            S::CREATED => Self::Created,
            S::RUNNING => Self::Running,
            S::PAUSED => Self::Paused,
            S::RESTARTING => Self::Restarting,
            S::REMOVING => Self::Removing,
            S::EXITED => Self::Exited,
            S::DEAD => Self::Dead,
            S::STOPPING => Self::Stopping,
            S::EMPTY => Self::Unknown,
        }
    }
}

impl From<ContainerStateStatusEnum> for State {
    fn from(state: ContainerStateStatusEnum) -> Self {
        use ContainerStateStatusEnum as S;
        match state {
            S::CREATED => Self::Created,
            S::RUNNING => Self::Running,
            S::PAUSED => Self::Paused,
            S::RESTARTING => Self::Restarting,
            S::REMOVING => Self::Removing,
            S::EXITED => Self::Exited,
            S::DEAD => Self::Dead,
            S::STOPPING => Self::Stopping,
            S::EMPTY => Self::Unknown,
        }
    }
}

/// The result of Docker's own HEALTHCHECK (absent when the container has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// The check has not passed yet (within its start period or first interval).
    Starting,
    /// The last check passed.
    Healthy,
    /// The check failed its retries.
    Unhealthy,
}

impl Health {
    /// Docker's health status; `None` when the container has no health check.
    pub fn from_docker(status: HealthStatusEnum) -> Option<Self> {
        match status {
            HealthStatusEnum::STARTING => Some(Self::Starting),
            HealthStatusEnum::HEALTHY => Some(Self::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(Self::Unhealthy),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        })
    }
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Port inside the container.
    pub container: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Host address it is bound to (`127.0.0.1`, `0.0.0.0`, `::`).
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
}

/// One container of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectContainer {
    /// Service label.
    pub service: String,
    /// Replica number label (1 for devenv's containers).
    pub number: u32,
    /// A one-off `docker compose run` container, not the service's own.
    pub one_off: bool,
    /// Container name without Docker's leading `/`.
    pub name: String,
    /// Container id.
    pub id: String,
    /// Lifecycle state.
    pub state: State,
    /// Docker's human status text (`Up 5 minutes`), for uptime.
    pub status: String,
    /// Image reference it was created from.
    pub image: String,
    /// Config-hash label.
    pub config_hash: String,
    /// Working-dir label: the project directory (checkout) that created it.
    pub working_dir: Option<PathBuf>,
    /// Published host ports, sorted, one per address family collapsed by Docker's list.
    pub ports: Vec<PortMapping>,
}

impl ProjectContainer {
    /// Reads a list entry; `None` for a container without a service label.
    pub fn from_summary(summary: ContainerSummary) -> Option<Self> {
        let labels = summary.labels.unwrap_or_default();
        let mut ports: Vec<PortMapping> = summary
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                Some(PortMapping {
                    container: p.private_port,
                    protocol: p.typ.map_or(PortSummaryTypeEnum::TCP, |t| t).to_string(),
                    host_ip: p.ip.unwrap_or_default(),
                    host_port: p.public_port?,
                })
            })
            .collect();
        ports.sort_by(|a, b| (a.host_port, &a.protocol).cmp(&(b.host_port, &b.protocol)));
        Some(Self {
            service: labels.get(labels::SERVICE)?.clone(),
            number: labels
                .get(labels::CONTAINER_NUMBER)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            one_off: labels.get(labels::ONEOFF).is_some_and(|v| v == "True"),
            name: first_name(summary.names.as_deref()),
            id: summary.id.unwrap_or_default(),
            state: summary.state.map_or(State::Unknown, State::from),
            status: summary.status.unwrap_or_default(),
            image: summary.image.unwrap_or_default(),
            config_hash: labels.get(labels::CONFIG_HASH).cloned().unwrap_or_default(),
            working_dir: labels.get(labels::WORKING_DIR).map(PathBuf::from),
            ports,
        })
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.state == State::Running
    }
}

/// A container's first name without Docker's leading `/`.
pub fn first_name(names: Option<&[String]>) -> String {
    names
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// The services whose own containers run: the one place this set is built.
pub fn running_services<'a>(
    containers: impl IntoIterator<Item = &'a ProjectContainer>,
) -> HashSet<String> {
    containers
        .into_iter()
        .filter(|c| c.is_running() && !c.one_off)
        .map(|c| c.service.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::PortSummary;
    use std::collections::HashMap;

    fn summary(labels: &[(&str, &str)]) -> ContainerSummary {
        ContainerSummary {
            id: Some("abc".into()),
            names: Some(vec!["/shop-db-1".into()]),
            image: Some("postgres:16".into()),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            status: Some("Up 3 seconds (health: starting)".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            ),
            ports: Some(vec![
                PortSummary {
                    ip: Some("127.0.0.1".into()),
                    private_port: 5353,
                    public_port: Some(15353),
                    typ: Some(PortSummaryTypeEnum::UDP),
                },
                PortSummary {
                    ip: Some("127.0.0.1".into()),
                    private_port: 5432,
                    public_port: Some(15432),
                    typ: Some(PortSummaryTypeEnum::TCP),
                },
                PortSummary {
                    ip: None,
                    private_port: 9999,
                    public_port: None,
                    typ: Some(PortSummaryTypeEnum::TCP),
                },
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn a_list_entry_becomes_a_typed_container() {
        let c = ProjectContainer::from_summary(summary(&[
            (labels::SERVICE, "db"),
            (labels::CONTAINER_NUMBER, "1"),
            (labels::CONFIG_HASH, "h"),
            (labels::WORKING_DIR, "/src/shop"),
        ]))
        .unwrap();
        assert_eq!(c.working_dir, Some(PathBuf::from("/src/shop")));
        assert_eq!(c.service, "db");
        assert_eq!(c.name, "shop-db-1");
        assert_eq!(c.number, 1);
        assert_eq!(c.state, State::Running);
        assert_eq!(c.config_hash, "h");
        assert_eq!(
            c.ports,
            [
                PortMapping {
                    container: 5353,
                    protocol: "udp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 15353
                },
                PortMapping {
                    container: 5432,
                    protocol: "tcp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 15432
                },
            ],
            "sorted by host port; unpublished ports are left out; UDP keeps its protocol"
        );
        assert_eq!(running_services([&c]), HashSet::from(["db".to_string()]));
    }

    #[test]
    fn one_off_containers_are_marked_and_unlabelled_ones_skipped() {
        let one_off = ProjectContainer::from_summary(summary(&[
            (labels::SERVICE, "db"),
            (labels::ONEOFF, "True"),
        ]))
        .unwrap();
        assert!(one_off.one_off);
        assert!(running_services([&one_off]).is_empty());
        assert!(ProjectContainer::from_summary(summary(&[])).is_none());
    }

    #[test]
    fn docker_health_none_means_no_health_check() {
        assert_eq!(Health::from_docker(HealthStatusEnum::NONE), None);
        assert_eq!(
            Health::from_docker(HealthStatusEnum::STARTING),
            Some(Health::Starting)
        );
        assert_eq!(
            State::from(ContainerStateStatusEnum::EXITED).to_string(),
            "exited"
        );
    }
}
