//! Host ports: which ones the stack will publish, which are taken and by whom (a container of
//! any project, or a process found through /proc or lsof), and which free port to use instead.

use crate::env::Values;
use crate::stack::{HostPort, Service, Stack};
use std::collections::HashSet;
use std::fmt;
use std::net::{TcpListener, UdpSocket};

/// One host port the stack wants to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUse {
    /// Service publishing it.
    pub service: String,
    /// Its host-port variable (`DB_PORT`); `None` for a fixed port.
    pub var: Option<String>,
    /// Container port.
    pub container_port: u16,
    /// Host address.
    pub host_ip: String,
    /// Host port wanted.
    pub host_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A port some container publishes (from the engine's container list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Host port.
    pub port: u16,
    /// Container name.
    pub container: String,
    /// Its Compose project, if labelled.
    pub project: Option<String>,
}

/// Who holds a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A container (of another project, or not made by Compose/devenv).
    Container {
        /// Container name.
        name: String,
        /// Compose project, if any.
        project: Option<String>,
    },
    /// A process on this machine.
    Process {
        /// Process id.
        pid: u32,
        /// Command name.
        command: String,
    },
    /// Taken, but the holder is not visible (another user's process, or another network namespace).
    Unknown,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Container {
                name,
                project: Some(project),
            } => write!(f, "container {name} (project `{project}`)"),
            Holder::Container {
                name,
                project: None,
            } => write!(f, "container {name}"),
            Holder::Process { pid, command } if command == "docker-proxy" => {
                write!(f, "a container's published port (docker-proxy, pid {pid})")
            }
            Holder::Process { pid, command } => write!(f, "{command} (pid {pid})"),
            Holder::Unknown => write!(
                f,
                "a process devenv cannot see (another user's, or run as root)"
            ),
        }
    }
}

/// A wanted port that is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The port.
    pub port: PortUse,
    /// Who holds it.
    pub holder: Holder,
}

/// Every host port the given services publish, with the values in force.
pub fn wanted(services: &[&Service], values: &Values) -> Vec<PortUse> {
    services
        .iter()
        .flat_map(|service| {
            service.ports.iter().map(move |port| PortUse {
                service: service.name.clone(),
                var: match &port.host {
                    HostPort::Variable { name, .. } => Some(name.clone()),
                    HostPort::Fixed(_) => None,
                },
                container_port: port.container,
                host_ip: service.host_ip.clone(),
                host_port: values.host_port(port),
                protocol: port.protocol.clone(),
            })
        })
        .collect()
}

/// Whether this process could bind the port now.
pub fn can_bind(host_ip: &str, port: u16, protocol: &str) -> bool {
    if protocol == "udp" {
        UdpSocket::bind((host_ip, port)).is_ok()
    } else {
        TcpListener::bind((host_ip, port)).is_ok()
    }
}

/// Finds the wanted ports that are taken: published by another project's container, or not
/// bindable. Ports published by `own_project`'s containers are not conflicts.
pub fn conflicts(ports: &[PortUse], published: &[Published], own_project: &str) -> Vec<Conflict> {
    ports
        .iter()
        .filter_map(|port| {
            let by_container = published.iter().find(|p| p.port == port.host_port);
            match by_container {
                Some(p) if p.project.as_deref() == Some(own_project) => None,
                Some(p) => Some(Conflict {
                    port: port.clone(),
                    holder: Holder::Container {
                        name: p.container.clone(),
                        project: p.project.clone(),
                    },
                }),
                None if can_bind(&port.host_ip, port.host_port, &port.protocol) => None,
                None => Some(Conflict {
                    port: port.clone(),
                    holder: process_holding(port.host_port),
                }),
            }
        })
        .collect()
}

/// A free port near `wanted`: the next ten, then `wanted + 10000` and its next ten (5432 →
/// 5433.., 15432..), then any free port. `avoid` holds ports already chosen or published.
pub fn pick_free(wanted: u16, host_ip: &str, protocol: &str, avoid: &HashSet<u16>) -> Option<u16> {
    let near = (1..=10).filter_map(|d| wanted.checked_add(d));
    let far = wanted
        .checked_add(10_000)
        .into_iter()
        .flat_map(|base| (0..=10).filter_map(move |d| base.checked_add(d)));
    near.chain(far)
        .find(|p| !avoid.contains(p) && can_bind(host_ip, *p, protocol))
        .or_else(|| {
            (0..20)
                .filter_map(|_| portpicker::pick_unused_port())
                .find(|p| !avoid.contains(p))
        })
}

/// Who holds a TCP port, from /proc (Linux) or lsof (macOS and others).
pub fn process_holding(port: u16) -> Holder {
    if cfg!(target_os = "linux") {
        if let Some(holder) = proc_holder(port) {
            return holder;
        }
    } else if let Some(holder) = lsof_holder(port) {
        return holder;
    }
    Holder::Unknown
}

/// Every listening TCP socket as (port, inode), from /proc/net/tcp and tcp6.
pub fn listening_sockets() -> Vec<(u16, u64)> {
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue;
            }
            let local_port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            if let Some(port) = local_port
                && let Ok(inode) = fields[9].parse::<u64>()
                && inode != 0
            {
                sockets.push((port, inode));
            }
        }
    }
    sockets
}

/// Socket inodes listening on `port`.
fn listening_inodes(port: u16) -> Vec<u64> {
    listening_sockets()
        .into_iter()
        .filter(|(p, _)| *p == port)
        .map(|(_, inode)| inode)
        .collect()
}

fn proc_holder(port: u16) -> Option<Holder> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let targets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if targets.iter().any(|t| link.as_os_str() == t.as_str()) {
                let command = std::fs::read_to_string(entry.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                return Some(Holder::Process { pid, command });
            }
        }
    }
    Some(Holder::Unknown)
}

fn lsof_holder(port: u16) -> Option<Holder> {
    let out = std::process::Command::new("lsof")
        .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-Fpc"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let pid = text
        .lines()
        .find_map(|l| l.strip_prefix('p'))
        .and_then(|p| p.parse().ok())?;
    let command = text
        .lines()
        .find_map(|l| l.strip_prefix('c'))
        .unwrap_or("?")
        .to_string();
    Some(Holder::Process { pid, command })
}

/// The services of a stack (all of them), for checks that look at the whole stack.
pub fn all_services(stack: &Stack) -> Vec<&Service> {
    stack.services.values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(host_port: u16) -> PortUse {
        PortUse {
            service: "db".into(),
            var: Some("DB_PORT".into()),
            container_port: 5432,
            host_ip: "127.0.0.1".into(),
            host_port,
            protocol: "tcp".into(),
        }
    }

    #[test]
    fn a_listening_process_is_found_with_its_pid() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = listener.local_addr().unwrap().port();
        let found = conflicts(&[port(taken)], &[], "shop");
        assert_eq!(found.len(), 1);
        match &found[0].holder {
            Holder::Process { pid, .. } => assert_eq!(*pid, std::process::id()),
            other => panic!("expected this process, got {other:?}"),
        }
    }

    #[test]
    fn own_containers_are_not_conflicts_and_others_are_named() {
        let published = vec![
            Published {
                port: 40001,
                container: "shop-db-1".into(),
                project: Some("shop".into()),
            },
            Published {
                port: 40002,
                container: "other-db-1".into(),
                project: Some("other".into()),
            },
        ];
        assert!(conflicts(&[port(40001)], &published, "shop").is_empty());
        let found = conflicts(&[port(40002)], &published, "shop");
        assert_eq!(
            found[0].holder.to_string(),
            "container other-db-1 (project `other`)"
        );
    }

    #[test]
    fn free_ports_are_picked_near_the_wanted_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = listener.local_addr().unwrap().port();
        let picked = pick_free(taken, "127.0.0.1", "tcp", &HashSet::new()).unwrap();
        assert_ne!(picked, taken);
        assert!(can_bind("127.0.0.1", picked, "tcp"));
        let avoid: HashSet<u16> = (taken + 1..=taken + 10).collect();
        let far = pick_free(taken, "127.0.0.1", "tcp", &avoid).unwrap();
        assert!(!avoid.contains(&far));
    }
}
