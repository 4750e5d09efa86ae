//! Tables and connection URLs shown after `up` and by `status`.

use crate::endpoint::reach_host;
use crate::engine::{Health, State};
use crate::plan::ContainerSpec;
use crate::ui::table::Table;
use serde::Serialize;
use std::fmt;

/// One row of the service table (and of `up --json` and `status --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    /// Service name.
    pub service: String,
    /// The container's state, or `missing`.
    pub state: ServiceState,
    /// Health; `null` when nothing tells (no container, or no check while it is not running).
    pub health: Option<ServiceHealth>,
    /// What decided `health`.
    pub health_source: Option<HealthSource>,
    /// Host addresses (`127.0.0.1:5432`, `127.0.0.1:5353/udp`).
    pub addresses: Vec<String>,
    /// Connection URL from the catalog.
    pub url: Option<String>,
    /// Image (after `${...}` and the user config's rewrites).
    pub image: String,
    /// Docker's status text (uptime).
    pub status: String,
    /// Where a remote engine's ports come from (`127.0.0.1:32768 on user@host`), when devenv
    /// forwards them to `addresses`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forwarded_from: Vec<String>,
}

/// A service's container state as shown: Docker's, or `missing` when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// No container.
    Missing,
    /// The container's state.
    Container(State),
}

impl ServiceState {
    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Container(state) => state.as_str(),
        }
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ServiceState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A service's health as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceHealth {
    /// `up`'s readiness probe passed.
    Ready,
    /// Docker's health check, or the readiness probe, passed.
    Healthy,
    /// Docker's health check has not passed yet, and the probe does not pass either.
    Starting,
    /// Docker's health check failed.
    Unhealthy,
}

impl From<Health> for ServiceHealth {
    fn from(health: Health) -> Self {
        match health {
            Health::Starting => Self::Starting,
            Health::Healthy => Self::Healthy,
            Health::Unhealthy => Self::Unhealthy,
        }
    }
}

impl fmt::Display for ServiceHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ready => "ready",
            Self::Healthy => "healthy",
            Self::Starting => "starting",
            Self::Unhealthy => "unhealthy",
        })
    }
}

/// What decided a service's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthSource {
    /// Docker's own HEALTHCHECK.
    Docker,
    /// devenv's readiness probe (the one `up` waits on).
    Probe,
}

/// Host addresses of a spec's ports.
pub fn addresses(spec: &ContainerSpec) -> Vec<String> {
    spec.ports
        .iter()
        .map(|p| address(&p.host_ip, p.host_port, &p.protocol))
        .collect()
}

/// How a published port is reached from the host: `127.0.0.1:5432`, `127.0.0.1:5353/udp`.
pub fn address(host_ip: &str, host_port: u16, protocol: &str) -> String {
    let proto = if protocol == "tcp" {
        String::new()
    } else {
        format!("/{protocol}")
    };
    format!("{}:{host_port}{proto}", reach_host(host_ip))
}

/// Renders rows as an aligned text table.
pub fn table(rows: &[ServiceRow], with_status: bool) -> String {
    let last = if with_status { "STATUS" } else { "URL" };
    let mut table = Table::new(["SERVICE", "STATE", "HEALTH", "ADDRESS", last]);
    for row in rows {
        let last = if with_status {
            row.status.clone()
        } else {
            row.url.clone().unwrap_or_else(|| "-".into())
        };
        let address = if row.addresses.is_empty() {
            "-".to_string()
        } else if row.forwarded_from.is_empty() {
            row.addresses.join(", ")
        } else {
            format!(
                "{} (forwarded from {})",
                row.addresses.join(", "),
                row.forwarded_from.join(", ")
            )
        };
        table.row([
            row.service.clone(),
            row.state.to_string(),
            row.health
                .map_or_else(|| "-".to_string(), |h| h.to_string()),
            address,
            last,
        ]);
    }
    table.render()
}
