//! What `up` (and `env init`) settle before anything starts: every host port the stack will
//! publish is free or already this project's, remapped to a free one (and written to `.env`)
//! when allowed, or a clear error naming who holds it.

use crate::diagnostic::Diagnostic;
use crate::engine::{PortTaken, StartError};
use crate::env::{self, Loaded};
use crate::ports::{self, Conflict, Published};
use crate::stack::{Service, Stack};
use indexmap::IndexMap;
use std::collections::HashSet;
use std::fmt;

/// A host port devenv moved because something else held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remap {
    /// The conflict that caused it.
    pub conflict: Conflict,
    /// The port used instead.
    pub to: u16,
}

impl fmt::Display for Remap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = &self.conflict.port;
        write!(
            f,
            "{}: {} is held by {}; using {} ({} in .env)",
            port.service,
            port.host_port,
            self.conflict.holder,
            self.to,
            port.var.as_deref().unwrap_or("?")
        )
    }
}

/// Checks the ports of `services` (skipping those in `running`, which hold their own ports)
/// and remaps conflicts when `remap` allows. Returns `.env` and the values as they are
/// afterwards.
pub fn settle_ports(
    stack: &Stack,
    services: &[&Service],
    loaded: Loaded,
    published: &[Published],
    running: &HashSet<String>,
    remap: bool,
) -> Result<(Loaded, Vec<Remap>), Diagnostic> {
    let values = &loaded.values;
    let to_check: Vec<&Service> = services
        .iter()
        .copied()
        .filter(|s| !running.contains(&s.name))
        .collect();
    let wanted = ports::wanted(&to_check, values);
    let conflicts = ports::conflicts(&wanted, published, &stack.project.name);
    if conflicts.is_empty() {
        return Ok((loaded, Vec::new()));
    }
    let blocking: Vec<&Conflict> = conflicts
        .iter()
        .filter(|c| !remap || c.port.var.is_none())
        .collect();
    if !blocking.is_empty() {
        return Err(conflict_error(&blocking, remap));
    }
    let mut avoid: HashSet<u16> = ports::wanted(services, values)
        .iter()
        .map(|p| p.host_port)
        .collect();
    avoid.extend(published.iter().map(|p| p.port));
    move_ports(stack, loaded, conflicts, avoid)
}

/// Moves host ports that the engine found taken when starting a container (someone took them
/// after `settle_ports` checked) to free ones, the same way: `.env` with derived values, one
/// write. `taken` pairs each failed service with the port the engine named.
pub fn remap_taken(
    stack: &Stack,
    services: &[&Service],
    loaded: Loaded,
    taken: &[(String, PortTaken)],
) -> Result<(Loaded, Vec<Remap>), Diagnostic> {
    let wanted = ports::wanted(services, &loaded.values);
    let mut conflicts = Vec::new();
    for (service, port) in taken {
        let used = wanted.iter().find(|p| {
            &p.service == service
                && p.host_port == port.port
                && port
                    .protocol
                    .as_ref()
                    .is_none_or(|proto| proto == &p.protocol)
        });
        let Some(used) = used else {
            return Err(StartError::PortTaken(port.clone()).into());
        };
        conflicts.push(Conflict {
            port: used.clone(),
            holder: ports::process_holding(port.port),
        });
    }
    let fixed: Vec<&Conflict> = conflicts.iter().filter(|c| c.port.var.is_none()).collect();
    if !fixed.is_empty() {
        return Err(conflict_error(&fixed, true));
    }
    let mut avoid: HashSet<u16> = wanted.iter().map(|p| p.host_port).collect();
    avoid.extend(taken.iter().map(|(_, p)| p.port));
    move_ports(stack, loaded, conflicts, avoid)
}

/// Picks a free port for each conflict (none of `avoid`) and writes them to `.env`.
fn move_ports(
    stack: &Stack,
    loaded: Loaded,
    conflicts: Vec<Conflict>,
    mut avoid: HashSet<u16>,
) -> Result<(Loaded, Vec<Remap>), Diagnostic> {
    let mut remaps = Vec::new();
    let mut updates = IndexMap::new();
    for conflict in conflicts {
        let port = &conflict.port;
        let to = ports::pick_free(port.host_port, &port.host_ip, &port.protocol, &avoid)
            .ok_or_else(|| {
                Diagnostic::new(format!(
                    "no free host port found for `{}` (wanted {})",
                    port.service, port.host_port
                ))
            })?;
        avoid.insert(to);
        updates.insert(port.var.clone().unwrap_or_default(), to.to_string());
        remaps.push(Remap { conflict, to });
    }
    let file = loaded.file.unwrap_or_default();
    env::file::apply_port_changes(stack, &file, &updates)?;
    Ok((env::load(stack)?, remaps))
}

fn conflict_error(conflicts: &[&Conflict], remap: bool) -> Diagnostic {
    let lines: Vec<String> = conflicts
        .iter()
        .map(|c| {
            let how = match &c.port.var {
                Some(var) => format!("from {var}"),
                None => "fixed in devenv.toml".to_string(),
            };
            format!(
                "  {}: host port {} ({how}) is held by {}",
                c.port.service, c.port.host_port, c.holder
            )
        })
        .collect();
    let fixed = conflicts.iter().any(|c| c.port.var.is_none());
    let second_way = if fixed {
        "change the fixed port in devenv.toml (e.g. \"15432:5432\"), or publish it from a variable (\"5432\") so devenv can pick a free one"
    } else if !remap {
        "let devenv pick free ports: run without --no-remap (and without `remap_ports = false`), or set the variable in .env yourself"
    } else {
        "set the variable to a free port in .env"
    };
    Diagnostic::new(format!("{} host port(s) are already taken:\n{}", conflicts.len(), lines.join("\n"))).with_help(format!(
        "two ways out: stop what holds the port (e.g. `docker stop NAME`, or stop the local server), or {second_way}"
    ))
}
