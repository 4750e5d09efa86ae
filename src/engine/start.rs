//! Starting a container, and the one place that reads the engine's answer when a host port
//! was taken between the conflict check and the start (another process or project got there
//! first), so `up` can pick another port instead of showing Docker's text.

use super::{Engine, api_error};
use crate::diagnostic::Diagnostic;
use std::fmt;

/// A host port the engine could not bind when starting a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTaken {
    /// Host address (`127.0.0.1`, `::1`, `0.0.0.0`).
    pub host_ip: String,
    /// Host port.
    pub port: u16,
    /// `tcp` or `udp` when the engine says which (its port allocator does not).
    pub protocol: Option<String>,
}

impl fmt::Display for PortTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host port {}:{}", self.host_ip, self.port)?;
        if let Some(protocol) = &self.protocol {
            write!(f, "/{protocol}")?;
        }
        Ok(())
    }
}

/// Why a container did not start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StartError {
    /// A published host port was taken by someone else meanwhile.
    #[error("{0} was taken before the container could start")]
    PortTaken(PortTaken),
    /// Anything else, said with what was being done.
    #[error("{}", .0.message)]
    Other(Diagnostic),
}

impl From<StartError> for Diagnostic {
    fn from(error: StartError) -> Self {
        match error {
            StartError::PortTaken(taken) => Diagnostic::new(format!(
                "{taken} was taken by another program before the container could start"
            ))
            .with_help(
                "stop what holds it and run `devenv up` again (without --no-remap devenv moves to a free port itself)",
            ),
            StartError::Other(diagnostic) => diagnostic,
        }
    }
}

impl Engine {
    /// Starts a container; a host port taken meanwhile is `StartError::PortTaken`.
    pub async fn start(&self, name: &str) -> Result<(), StartError> {
        self.docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| {
                let taken = match &e {
                    bollard::errors::Error::DockerResponseServerError { message, .. } => {
                        taken_port(message)
                    }
                    _ => None,
                };
                match taken {
                    Some(taken) => StartError::PortTaken(taken),
                    None => StartError::Other(api_error(&format!("starting container {name}"), &e)),
                }
            })
    }
}

/// Reads the taken port out of the engine's error text, if that is what it says: its port
/// allocator's `Bind for 127.0.0.1:5432 failed: port is already allocated` (another container
/// holds it) or the userland proxy's `listen tcp4 127.0.0.1:5432: bind: address already in
/// use` (a host process holds it).
pub fn taken_port(message: &str) -> Option<PortTaken> {
    if let Some(rest) = message.split("Bind for ").nth(1)
        && let Some((address, _)) = rest.split_once(" failed: port is already allocated")
    {
        let (host_ip, port) = split_address(address)?;
        return Some(PortTaken {
            host_ip,
            port,
            protocol: None,
        });
    }
    let rest = message.split("listen ").nth(1)?;
    let (listen, _) = rest.split_once(": bind: address already in use")?;
    let (network, address) = listen.split_once(' ')?;
    let (host_ip, port) = split_address(address)?;
    Some(PortTaken {
        host_ip,
        port,
        protocol: Some(network.trim_end_matches(['4', '6']).to_string()),
    })
}

/// `127.0.0.1:5432` or `[::1]:5432` → (address, port).
fn split_address(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts Docker Engine 20.10 answers `POST /containers/{id}/start` with.
    #[test]
    fn the_engines_port_errors_name_the_taken_port() {
        let by_container = "driver failed programming external connectivity on endpoint engcap2 (847520aa35b173b65323fcc8beceb00d4fcf8f652b54a37784fc88e0a769e5c9): Bind for 127.0.0.1:46717 failed: port is already allocated";
        assert_eq!(
            taken_port(by_container),
            Some(PortTaken {
                host_ip: "127.0.0.1".into(),
                port: 46717,
                protocol: None
            })
        );
        let by_process = "driver failed programming external connectivity on endpoint engcap3 (1cee830e8140034b6b4a91a7fd18f9c91c130a2970f562f4caa1dc6796e56cef): Error starting userland proxy: listen tcp4 127.0.0.1:38637: bind: address already in use";
        assert_eq!(
            taken_port(by_process),
            Some(PortTaken {
                host_ip: "127.0.0.1".into(),
                port: 38637,
                protocol: Some("tcp".into())
            })
        );
        let ipv6 = "driver failed programming external connectivity on endpoint engcap4 (4cdc321a2f88): Error starting userland proxy: listen tcp6 [::1]:52081: bind: address already in use";
        assert_eq!(
            taken_port(ipv6).map(|t| (t.host_ip, t.port)),
            Some(("::1".into(), 52081))
        );
        let udp = "driver failed programming external connectivity on endpoint engcap5 (a6c55276f4ec): Error starting userland proxy: listen udp4 127.0.0.1:50112: bind: address already in use";
        assert_eq!(
            taken_port(udp).and_then(|t| t.protocol).as_deref(),
            Some("udp")
        );
    }

    #[test]
    fn other_start_errors_are_not_port_races() {
        assert_eq!(taken_port("No such container: shop-db-1"), None);
        assert_eq!(
            taken_port(
                "OCI runtime create failed: exec: \"nope\": executable file not found in $PATH"
            ),
            None
        );
    }
}
