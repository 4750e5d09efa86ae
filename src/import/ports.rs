//! A Compose service's published ports in devenv's forms: the same port on both sides
//! becomes devenv's port variable (`DB_PORT`, remappable), a different host port stays fixed,
//! and what devenv cannot publish (ranges, sctp, a host port taken twice) is reported.

use super::report::Report;
use super::service::Port;
use super::variables::HostPort;
use crate::catalog::CatalogEntry;
use crate::stack::interpolate;
use crate::stack::parse::{PortSpec, port_var_name};
use std::collections::{HashMap, HashSet};

/// A service's ports as written to devenv.toml, and where each container port is reached.
#[derive(Debug, Default)]
pub struct MappedPorts {
    /// `ports = [...]` (None: the catalog's, not written).
    pub written: Option<Vec<String>>,
    /// Container port → host port.
    pub host: HashMap<u16, HostPort>,
    /// `host_ip`, when all ports name one address other than 127.0.0.1.
    pub host_ip: Option<String>,
    /// Comments for the service's table.
    pub comments: Vec<String>,
    /// Whether Compose published some port on every interface.
    pub all_interfaces: bool,
}

/// Maps `ports` of `service`; `taken` holds host ports already published by earlier services.
pub fn map(
    service: &str,
    ports: &[Port],
    catalog: Option<&CatalogEntry>,
    taken: &mut HashSet<(u16, String)>,
    report: &mut Report,
) -> MappedPorts {
    let mut out = MappedPorts::default();
    if ports.is_empty() {
        if let Some(entry) = catalog.filter(|e| !e.entry.ports.is_empty()) {
            out.comments.push(format!(
                "compose publishes no port here; the catalog publishes {} (add `ports = []` to keep it unpublished)",
                entry.entry.ports.join(", ")
            ));
            for (index, text) in entry.entry.ports.iter().enumerate() {
                if let Ok(spec) = text.parse::<PortSpec>() {
                    record(&mut out, service, index, spec, taken);
                }
            }
        }
        return out;
    }
    let mut written = Vec::new();
    let mut ips = HashSet::new();
    for port in ports {
        if let Some(spec) = one(
            service,
            port,
            written.len(),
            taken,
            &mut ips,
            &mut out,
            report,
        ) {
            written.push(spec);
        }
    }
    if ips.len() == 1 && !out.all_interfaces {
        out.host_ip = ips.into_iter().next().filter(|ip| ip != "127.0.0.1");
    }
    out.written = Some(written);
    out
}

fn record(
    out: &mut MappedPorts,
    service: &str,
    index: usize,
    spec: PortSpec,
    taken: &mut HashSet<(u16, String)>,
) {
    let port = spec.into_port(service, index);
    let host = match spec.host {
        Some(fixed) => HostPort::Fixed(fixed),
        None => HostPort::Variable(port_var_name(service, index, spec.container)),
    };
    taken.insert((spec.host.unwrap_or(spec.container), port.protocol));
    out.host.insert(spec.container, host);
}

/// Says how a Compose host-port variable relates to devenv's.
fn explain_variable(
    out: &mut MappedPorts,
    service: &str,
    index: usize,
    port: &Port,
    host: u16,
    container: u16,
) {
    let Some(written) = &port.published_written else {
        return;
    };
    let names: Vec<String> = interpolate::references(written)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    let Some(name) = names.first() else {
        return;
    };
    if host == container {
        out.comments.push(format!(
            "compose's host port variable `{name}` is devenv's `{}` here (set it in .env)",
            port_var_name(service, index, container)
        ));
    } else {
        out.comments.push(format!(
            "compose let `{name}` change host port {host}; devenv's `{host}:{container}` is fixed (edit it here)"
        ));
    }
}

/// One port in devenv's form, recorded in `out`; None when it is reported instead.
fn one(
    service: &str,
    port: &Port,
    index: usize,
    taken: &mut HashSet<(u16, String)>,
    ips: &mut HashSet<String>,
    out: &mut MappedPorts,
    report: &mut Report,
) -> Option<String> {
    let entry = &port.entry;
    let protocol = entry.protocol.as_deref().unwrap_or("tcp");
    let parse = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0);
    let Some(container) = parse(&entry.target) else {
        report.not_carried(
            Some(service),
            format!("ports {}", entry.target),
            "a port range or an invalid port: devenv publishes single ports; list them one by one",
        );
        return None;
    };
    if !matches!(protocol, "tcp" | "udp") {
        report.not_carried(
            Some(service),
            format!("ports {container}/{protocol}"),
            "devenv publishes tcp and udp only",
        );
        return None;
    }
    let published = match entry.published.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => {
            let Some(p) = parse(p) else {
                report.not_carried(
                    Some(service),
                    format!("ports {p}:{container}"),
                    "a host port range: devenv publishes one host port per container port",
                );
                return None;
            };
            Some(p)
        }
    };
    let host = published.unwrap_or(container);
    if !taken.insert((host, protocol.to_string())) {
        report.not_carried(Some(service), format!("ports {host}:{container}"), format!("host port {host} is already published by another imported service (Compose would fail to start both)"));
        return None;
    }
    match entry
        .host_ip
        .as_deref()
        .map(|ip| ip.trim_matches(['[', ']']))
    {
        None | Some("0.0.0.0") | Some("::") => out.all_interfaces = true,
        Some(ip) => {
            ips.insert(ip.to_string());
        }
    }
    let suffix = if protocol == "udp" { "/udp" } else { "" };
    let spec = if published.is_some_and(|p| p != container) {
        format!("{host}:{container}{suffix}")
    } else {
        format!("{container}{suffix}")
    };
    explain_variable(out, service, index, port, host, container);
    if published.is_none() {
        out.comments.push(format!("compose gave container port {container} a random host port; devenv publishes it on {host} (remappable)"));
    }
    if let Ok(parsed) = spec.parse::<PortSpec>() {
        record(out, service, index, parsed, &mut HashSet::new());
    }
    Some(spec)
}
