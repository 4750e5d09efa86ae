//! Tables and connection URLs shown after `up` and by `status`.

use crate::endpoint::reach_host;
use crate::plan::ContainerSpec;
use serde::Serialize;

/// One row of the service table.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    /// Service name.
    pub service: String,
    /// Docker state (`running`, `exited`, `missing`).
    pub state: String,
    /// Health (`ready`, `healthy`, `starting`, `unhealthy`, `-`).
    pub health: String,
    /// Host addresses (`127.0.0.1:5432`).
    pub addresses: Vec<String>,
    /// Connection URL from the catalog.
    pub url: Option<String>,
    /// Image.
    pub image: String,
    /// Docker's status text (uptime).
    pub status: String,
}

/// Host addresses of a spec's ports.
pub fn addresses(spec: &ContainerSpec) -> Vec<String> {
    spec.ports
        .iter()
        .map(|p| {
            let proto = if p.protocol == "tcp" {
                String::new()
            } else {
                format!("/{}", p.protocol)
            };
            format!("{}:{}{proto}", reach_host(&p.host_ip), p.host_port)
        })
        .collect()
}

/// Renders rows as an aligned text table.
pub fn table(rows: &[ServiceRow], with_status: bool) -> String {
    let mut cells: Vec<Vec<String>> = vec![
        [
            "SERVICE",
            "STATE",
            "HEALTH",
            "ADDRESS",
            if with_status { "STATUS" } else { "URL" },
        ]
        .map(String::from)
        .to_vec(),
    ];
    for row in rows {
        let last = if with_status {
            row.status.clone()
        } else {
            row.url.clone().unwrap_or_else(|| "-".into())
        };
        let address = if row.addresses.is_empty() {
            "-".to_string()
        } else {
            row.addresses.join(", ")
        };
        cells.push(vec![
            row.service.clone(),
            row.state.clone(),
            row.health.clone(),
            address,
            last,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    cells
        .iter()
        .map(|r| {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                .collect();
            line.join("  ").trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
