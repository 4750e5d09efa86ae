//! An app's port when it is about to start: held by another program, it is moved to a free
//! port in `.env` (`<APP>_PORT`), as a service's is, so that the app, `${API_PORT}` in the
//! stack file, the other apps' `env_file`s and the table all follow. With remapping off, the
//! holder is named instead.

use crate::diagnostic::Diagnostic;
use crate::env::{self, Values};
use crate::ports::{self, Holder};
use crate::stack::{App, Stack};
use indexmap::IndexMap;
use std::collections::HashSet;
use std::fmt;
use std::io::ErrorKind;
use std::net::TcpListener;

/// An app moved off a taken port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRemap {
    /// The app.
    pub app: String,
    /// The variable now set in `.env`.
    pub var: String,
    /// The port it wanted.
    pub from: u16,
    /// The port it got.
    pub to: u16,
    /// Who holds `from`.
    pub holder: Holder,
}

impl fmt::Display for AppRemap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "app `{}`: port {} is held by {}; using {} ({} in .env)",
            self.app, self.from, self.holder, self.to, self.var
        )
    }
}

/// Whether a program already listens on `port` on loopback (IPv4, or IPv6 where there is
/// one: a dev server binding `localhost` may take either).
pub fn is_taken(port: u16) -> bool {
    let in_use = |host: &str| matches!(TcpListener::bind((host, port)), Err(e) if e.kind() == ErrorKind::AddrInUse);
    in_use("127.0.0.1") || in_use("::1")
}

/// Moves `app` to a free port when its port (as `values` has it) is taken. Returns the move,
/// with `.env` written; `None` when the port is free or the app has none.
pub fn settle(
    stack: &Stack,
    app: &App,
    values: &Values,
    remap: bool,
) -> Result<Option<AppRemap>, Diagnostic> {
    let (Some(declared), Some(port)) = (&app.port, super::port(app, values)) else {
        return Ok(None);
    };
    if !is_taken(port) {
        return Ok(None);
    }
    let holder = ports::process_holding(port);
    if !remap {
        return Err(Diagnostic::new(format!(
            "port {port} of app `{}` is held by {holder}",
            app.name
        ))
        .with_help(format!(
            "stop {holder}, or set {}=<free port> in .env (remapping is off: --no-remap or [project] remap_ports = false)",
            declared.var
        )));
    }
    let to = ports::pick_free(port, "127.0.0.1", "tcp", &wanted_ports(stack, values))
        .filter(|p| !is_taken(*p))
        .ok_or_else(|| {
            Diagnostic::new(format!(
                "no free port found for app `{}` (wanted {port}, held by {holder})",
                app.name
            ))
        })?;
    let loaded = env::load(stack)?;
    let file = loaded.file.unwrap_or_default();
    let updates = IndexMap::from([(declared.var.clone(), to.to_string())]);
    env::file::apply_port_changes(stack, &file, &updates)?;
    Ok(Some(AppRemap {
        app: app.name.clone(),
        var: declared.var.clone(),
        from: port,
        to,
        holder,
    }))
}

/// Every host port the stack's services and apps want this run: a new port must be none of
/// them.
fn wanted_ports(stack: &Stack, values: &Values) -> HashSet<u16> {
    let mut wanted: HashSet<u16> = ports::wanted(&ports::all_services(stack), values)
        .iter()
        .map(|p| p.host_port)
        .collect();
    wanted.extend(stack.apps.values().filter_map(|a| super::port(a, values)));
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(dir: &std::path::Path) -> Stack {
        let text = "[project]\nname = \"x\"\n[apps.api]\ncommand = \"x\"\nport = 8080\n[env.API_URL]\nvalue = \"http://127.0.0.1:${API_PORT}\"\n";
        std::fs::write(dir.join("devenv.toml"), text).unwrap();
        crate::stack::load(&dir.join("devenv.toml")).unwrap()
    }

    #[test]
    fn a_taken_app_port_moves_in_env_with_what_derives_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        std::fs::write(
            dir.path().join(".env"),
            format!("API_PORT={port}\nAPI_URL=http://127.0.0.1:{port}\n"),
        )
        .unwrap();
        let stack = stack(dir.path());
        let values = env::load(&stack).unwrap().values;
        let api = &stack.apps["api"];
        let moved = settle(&stack, api, &values, true).unwrap().unwrap();
        assert_eq!((moved.from, moved.var.as_str()), (port, "API_PORT"));
        assert_ne!(moved.to, port);
        assert!(
            matches!(&moved.holder, Holder::Process { pid, .. } if *pid == std::process::id()),
            "{}",
            moved.holder
        );
        let values = env::load(&stack).unwrap().values;
        assert_eq!(super::super::port(api, &values), Some(moved.to));
        assert_eq!(
            values.get("API_URL"),
            Some(format!("http://127.0.0.1:{}", moved.to).as_str())
        );
        assert_eq!(
            settle(&stack, api, &values, true).unwrap(),
            None,
            "free now"
        );
    }

    #[test]
    fn with_remapping_off_the_holder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        std::fs::write(dir.path().join(".env"), format!("API_PORT={port}\n")).unwrap();
        let stack = stack(dir.path());
        let values = env::load(&stack).unwrap().values;
        let e = settle(&stack, &stack.apps["api"], &values, false).unwrap_err();
        assert!(
            e.message
                .contains(&format!("port {port} of app `api` is held by")),
            "{e}"
        );
        assert!(
            std::fs::read_to_string(dir.path().join(".env"))
                .unwrap()
                .contains(&format!("API_PORT={port}")),
            ".env untouched"
        );
    }
}
