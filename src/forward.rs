//! A remote engine's published ports brought to this host. With `DOCKER_HOST=ssh://...` the
//! containers publish on ports the remote engine picks; one ssh master connection per project
//! (detached, so it outlives `up`) forwards each service's host port from `.env` (the stack's
//! port, or the free one devenv moved it to) to that remote port, so URLs, `.env`, migrations
//! and the apps work unchanged. `.devenv/forward.json` records it; `down` ends it.

use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::engine::ssh::{SshTarget, ssh_command};
use crate::engine::start::PortTaken;
use crate::plan::{ContainerSpec, PublishedPort};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::sync::Mutex;

/// The state file in `.devenv/`.
const STATE_FILE: &str = "forward.json";
/// ssh's own output (the master's errors), in `.devenv/`.
const LOG_FILE: &str = "forward.log";

/// One forwarded port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// Service publishing it.
    pub service: String,
    /// Container port (tcp).
    pub container_port: u16,
    /// Local address listened on.
    pub local_ip: String,
    /// Local port (the one in `.env`).
    pub local_port: u16,
    /// Address on the remote host the engine bound.
    pub remote_ip: String,
    /// Port on the remote host the engine picked.
    pub remote_port: u16,
}

impl Forward {
    /// ssh's `-L` argument: `local_ip:local_port:remote_ip:remote_port`.
    fn spec(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            bracket(&self.local_ip),
            self.local_port,
            bracket(&self.remote_ip),
            self.remote_port
        )
    }

    /// How the table shows where it comes from: `127.0.0.1:32768 on root@host:22`.
    pub fn origin(&self, state: &State) -> String {
        format!(
            "{}:{} on {}",
            self.remote_ip, self.remote_port, state.destination
        )
    }
}

/// An IPv6 address in brackets, as ssh's `-L` wants it.
fn bracket(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// What `.devenv/forward.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The engine (`ssh://user@host:port`).
    pub engine: String,
    /// ssh destination as shown (`user@host:port`).
    pub destination: String,
    /// The master's control socket.
    pub control: PathBuf,
    /// The master's pid, when known.
    pub pid: Option<u32>,
    /// Every forward in place.
    pub forwards: Vec<Forward>,
}

impl State {
    /// The forwards of one service.
    pub fn of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Forward> + 'a {
        self.forwards.iter().filter(move |f| f.service == service)
    }
}

/// The project's forwarder while `up` runs: brings each service's ports over as it starts.
pub struct Forwarder {
    root: PathBuf,
    target: SshTarget,
    state: Mutex<State>,
}

impl Forwarder {
    /// The forwarder for `engine`, when it forwards ports (an ssh:// engine). A forwarder left
    /// for another engine is stopped first. Nothing is started until a port needs it.
    pub async fn for_engine(engine: &Engine, root: &Path) -> Result<Option<Self>, Diagnostic> {
        let existing = load(root);
        let Some(target) = engine.endpoint.ssh_target() else {
            if existing.is_some() {
                stop(root).await?;
            }
            return Ok(None);
        };
        let state = match existing {
            Some(state) if state.engine == engine.endpoint.host && alive(&state, &target).await => {
                state
            }
            Some(_) => {
                stop(root).await?;
                new_state(engine, root, &target)?
            }
            None => new_state(engine, root, &target)?,
        };
        Ok(Some(Self {
            root: root.to_path_buf(),
            target,
            state: Mutex::new(state),
        }))
    }

    /// Drops the forwards of services other than `keep` (their containers do not run, and
    /// their local ports must be free for the port check).
    pub async fn release_except(
        &self,
        keep: &std::collections::HashSet<String>,
    ) -> Result<(), Diagnostic> {
        let mut state = self.state.lock().await;
        let gone: Vec<Forward> = state
            .forwards
            .iter()
            .filter(|f| !keep.contains(&f.service))
            .cloned()
            .collect();
        for forward in &gone {
            // Best effort: a forward the master no longer has is gone already.
            let _ = self.control(&state, "cancel", forward).await;
        }
        state.forwards.retain(|f| keep.contains(&f.service));
        save(&self.root, &state)
    }

    /// Makes the local ports of `service` (the spec's host ports) forward to where the
    /// engine bound its container's ports, starting the master when it is not running. A
    /// local port taken meanwhile comes back as `Err(Ok(PortTaken))` to be moved.
    pub async fn ensure(
        &self,
        engine: &Engine,
        service: &str,
        spec: &ContainerSpec,
    ) -> Result<Vec<Forward>, Result<PortTaken, Diagnostic>> {
        let bound = engine.port_bindings(&spec.name).await.map_err(Err)?;
        let wanted = wanted_forwards(service, &spec.ports, &bound);
        let mut state = self.state.lock().await;
        if wanted.is_empty() && state.of(service).next().is_none() {
            return Ok(wanted);
        }
        if !alive(&state, &self.target).await {
            state.forwards.clear();
            state.pid = start_master(&self.root, &self.target, &state.control)
                .await
                .map_err(Err)?;
        }
        let stale: Vec<Forward> = state
            .of(service)
            .filter(|f| !wanted.contains(f))
            .cloned()
            .collect();
        for forward in &stale {
            let _ = self.control(&state, "cancel", forward).await;
        }
        state
            .forwards
            .retain(|f| f.service != service || wanted.contains(f));
        for forward in &wanted {
            if state.forwards.contains(forward) {
                continue;
            }
            if let Err(e) = self.control(&state, "forward", forward).await {
                save(&self.root, &state).map_err(Err)?;
                return Err(
                    if crate::ports::can_bind(&forward.local_ip, forward.local_port, "tcp") {
                        Err(e)
                    } else {
                        Ok(PortTaken {
                            host_ip: forward.local_ip.clone(),
                            port: forward.local_port,
                            protocol: Some("tcp".into()),
                        })
                    },
                );
            }
            state.forwards.push(forward.clone());
        }
        save(&self.root, &state).map_err(Err)?;
        Ok(wanted)
    }

    /// The state as it is now.
    pub async fn state(&self) -> State {
        self.state.lock().await.clone()
    }

    /// `ssh -S CONTROL -O forward|cancel -L SPEC DEST`.
    async fn control(&self, state: &State, op: &str, forward: &Forward) -> Result<(), Diagnostic> {
        let mut command = mux_command(&state.control, op, &self.target);
        command.args(["-L", &forward.spec()]);
        let out = command
            .output()
            .await
            .map_err(|e| Diagnostic::new(format!("cannot run ssh: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(Diagnostic::new(format!(
            "cannot {op} port {} of service `{}` from the remote engine ({}): {said}",
            forward.local_port,
            forward.service,
            forward.origin(state)
        ))
        .with_help(format!(
            "see {} for what ssh said; `devenv down` then `devenv up` starts the forwarding over",
            self.root
                .join(crate::project::STATE_DIR)
                .join(LOG_FILE)
                .display()
        )))
    }
}

/// The forwards a spec's tcp ports need, given where the engine bound them.
fn wanted_forwards(
    service: &str,
    ports: &[PublishedPort],
    bound: &[(String, String, u16)],
) -> Vec<Forward> {
    ports
        .iter()
        .filter(|p| p.protocol == "tcp")
        .filter_map(|p| {
            let key = format!("{}/tcp", p.container);
            let (_, ip, port) = bound.iter().find(|(k, _, _)| *k == key)?;
            let remote_ip = match ip.as_str() {
                "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
                other => other.to_string(),
            };
            Some(Forward {
                service: service.to_string(),
                container_port: p.container,
                local_ip: crate::endpoint::reach_host(&p.host_ip).to_string(),
                local_port: p.host_port,
                remote_ip,
                remote_port: *port,
            })
        })
        .collect()
}

/// An empty state for `target`, with its control socket path chosen.
fn new_state(engine: &Engine, root: &Path, target: &SshTarget) -> Result<State, Diagnostic> {
    Ok(State {
        engine: engine.endpoint.host.clone(),
        destination: target.display(),
        control: control_path(root)?,
        pid: None,
        forwards: Vec::new(),
    })
}

/// `.devenv/forward.sock`, or one in the temp directory when that path is too long for a
/// socket (ssh adds a 17-character suffix while it creates it).
fn control_path(root: &Path) -> Result<PathBuf, Diagnostic> {
    let inside = crate::project::state_dir(root)?.join("forward.sock");
    if inside.as_os_str().len() <= 80 {
        return Ok(inside);
    }
    let digest = crate::hash::sha256_hex(&root.display().to_string());
    Ok(std::env::temp_dir().join(format!("devenv-fwd-{}.sock", &digest[..16])))
}

/// `ssh -S CONTROL -O OP DEST` with devenv's ssh options.
fn mux_command(control: &Path, op: &str, target: &SshTarget) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(ssh_command());
    command
        .arg("-S")
        .arg(control)
        .args(["-O", op])
        .args(target.destination_args())
        .stdin(Stdio::null());
    command
}

/// Whether the master answers on its control socket.
async fn alive(state: &State, target: &SshTarget) -> bool {
    state.control.exists()
        && mux_command(&state.control, "check", target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
}

/// Starts the detached master (`ssh -M -f -N`, its output in `.devenv/forward.log`) and
/// returns its pid.
async fn start_master(
    root: &Path,
    target: &SshTarget,
    control: &Path,
) -> Result<Option<u32>, Diagnostic> {
    let log_path = crate::project::state_dir(root)?.join(LOG_FILE);
    let log = std::fs::File::create(&log_path)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", log_path.display())))?;
    let err = log
        .try_clone()
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", log_path.display())))?;
    let _ = std::fs::remove_file(control);
    let mut command = tokio::process::Command::from(ssh_command());
    command
        .args(["-M", "-S"])
        .arg(control)
        .args([
            "-o",
            "ControlPersist=no",
            "-o",
            "GatewayPorts=yes",
            "-f",
            "-N",
            "-T",
        ])
        .args(target.destination_args())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err));
    let status = command.status().await.map_err(|e| {
        Diagnostic::new(format!(
            "cannot run ssh to forward the remote engine's ports: {e}"
        ))
        .with_help("install the OpenSSH client, or set DEVENV_SSH_COMMAND to your ssh")
    })?;
    let said = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        let mut d = crate::engine::ssh::failure(target, &said, status.code());
        d.message = format!("cannot forward the remote engine's ports: {}", d.message);
        return Err(d);
    }
    Ok(master_pid(control, target).await)
}

/// The master's pid, from `ssh -O check` ("Master running (pid=N)").
async fn master_pid(control: &Path, target: &SshTarget) -> Option<u32> {
    let out = mux_command(control, "check", target).output().await.ok()?;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    parse_pid(&text)
}

fn parse_pid(text: &str) -> Option<u32> {
    let rest = &text[text.find("pid=")? + 4..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The recorded forwarder of the project at `root`, if any.
pub fn load(root: &Path) -> Option<State> {
    let path = root.join(crate::project::STATE_DIR).join(STATE_FILE);
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Whether the recorded forwarder runs (its master answers).
pub async fn running(state: &State) -> bool {
    match SshTarget::parse(&state.engine) {
        Ok(target) => alive(state, &target).await,
        Err(_) => false,
    }
}

fn save(root: &Path, state: &State) -> Result<(), Diagnostic> {
    let path = crate::project::state_dir(root)?.join(STATE_FILE);
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    crate::fsutil::write_atomic(&path, text.as_bytes(), None)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))
}

/// Ends the project's forwarder (`down`): the master is asked to exit, and killed when it
/// does not; the record goes. Returns whether there was one.
pub async fn stop(root: &Path) -> Result<bool, Diagnostic> {
    let Some(state) = load(root) else {
        return Ok(false);
    };
    if let Ok(target) = SshTarget::parse(&state.engine) {
        let _ = mux_command(&state.control, "exit", &target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    if let Some(pid) = state.pid.and_then(|p| i32::try_from(p).ok()) {
        kill_if_ssh(pid);
    }
    let _ = std::fs::remove_file(&state.control);
    let path = root.join(crate::project::STATE_DIR).join(STATE_FILE);
    std::fs::remove_file(&path)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| Diagnostic::new(format!("cannot remove {}: {e}", path.display())))?;
    Ok(true)
}

/// SIGTERM to `pid` when it is still an ssh process (a master that ignored `-O exit`), never
/// to a stranger that got its pid.
fn kill_if_ssh(pid: i32) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() == "ssh"
        && let Some(pid) = rustix::process::Pid::from_raw(pid)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_pair_the_spec_ports_with_the_engines_bindings() {
        let ports = vec![
            PublishedPort {
                container: 5432,
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 15432,
            },
            PublishedPort {
                container: 53,
                protocol: "udp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 5353,
            },
        ];
        let bound = vec![
            ("5432/tcp".to_string(), "0.0.0.0".to_string(), 32768),
            ("53/udp".to_string(), "127.0.0.1".to_string(), 32769),
        ];
        let forwards = wanted_forwards("db", &ports, &bound);
        assert_eq!(
            forwards,
            vec![Forward {
                service: "db".into(),
                container_port: 5432,
                local_ip: "127.0.0.1".into(),
                local_port: 15432,
                remote_ip: "127.0.0.1".into(),
                remote_port: 32768,
            }],
            "udp is not forwarded; a wildcard binding is reached on the remote loopback"
        );
        assert_eq!(forwards[0].spec(), "127.0.0.1:15432:127.0.0.1:32768");
        let v6 = Forward {
            local_ip: "::1".into(),
            ..forwards[0].clone()
        };
        assert_eq!(v6.spec(), "[::1]:15432:127.0.0.1:32768");
    }

    #[test]
    fn the_master_pid_is_read_from_ssh_check() {
        assert_eq!(parse_pid("Master running (pid=4242)\r\n"), Some(4242));
        assert_eq!(parse_pid("Control socket connect: No such file"), None);
    }
}
