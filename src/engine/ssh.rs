//! A Docker Engine behind ssh (`DOCKER_HOST=ssh://[user@]host[:port]`): the engine's socket is
//! reached through an `ssh -L` tunnel to a private local socket that lives as long as this
//! devenv process. ssh runs with the user's own config and agent, never asks for a password
//! (`BatchMode=yes`), and its failures are said in words with the fix.

use crate::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The engine's socket on the remote host (`DEVENV_REMOTE_DOCKER_SOCKET` overrides it).
pub const REMOTE_SOCKET: &str = "/var/run/docker.sock";
/// How long ssh may take to log in and open the tunnel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Where `ssh://` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Login name, when given.
    pub user: Option<String>,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]` (no path, as the docker CLI).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("`{url}` is not an ssh:// address"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') {
            return Err(format!(
                "`{url}` has a path; an ssh:// engine address is ssh://[user@]host[:port]"
            ));
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user.to_string()), hostport),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: unclosed `[` in the host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || user.as_deref() == Some("") {
            return Err(format!("`{url}` names no host"));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| format!("`{url}`: `{p}` is not a port"))
            })
            .transpose()?;
        Ok(Self {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// The destination arguments of an ssh command line: `[-p PORT] [user@]host`.
    pub fn destination_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        args.push(match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        });
        args
    }

    /// `user@host:port` as the user wrote it, for messages.
    pub fn display(&self) -> String {
        let mut text = self.destination_args().last().cloned().unwrap_or_default();
        if let Some(port) = self.port {
            text.push_str(&format!(":{port}"));
        }
        text
    }
}

/// The ssh program and its leading arguments: `DEVENV_SSH_COMMAND` (split on whitespace, as a
/// shell would split a plain command) or `ssh`.
pub fn ssh_program() -> Vec<String> {
    std::env::var("DEVENV_SSH_COMMAND")
        .ok()
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|parts| !parts.is_empty())
        .unwrap_or_else(|| vec!["ssh".to_string()])
}

/// An ssh command with the options every devenv ssh runs with: no password prompts, a bounded
/// connect, dead connections noticed.
pub fn ssh_command() -> Command {
    let program = ssh_program();
    let mut command = Command::new(&program[0]);
    command.args(&program[1..]).args([
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
    ]);
    command
}

/// The engine socket path on the remote host.
fn remote_socket() -> String {
    std::env::var("DEVENV_REMOTE_DOCKER_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| REMOTE_SOCKET.to_string())
}

/// One open tunnel: its ssh child and the local socket.
struct Tunnel {
    target: SshTarget,
    socket: PathBuf,
    child: Child,
}

/// The tunnels this process opened (one per target; a second connect reuses it).
static TUNNELS: Mutex<Vec<Tunnel>> = Mutex::new(Vec::new());

/// A local socket that reaches the remote engine's socket, opening the tunnel when this process
/// has none to `target` yet. The ssh process ends with this process (parent-death signal).
pub fn api_socket(target: &SshTarget) -> Result<PathBuf, Diagnostic> {
    let mut tunnels = TUNNELS.lock().unwrap_or_else(|e| e.into_inner());
    tunnels.retain_mut(|t| matches!(t.child.try_wait(), Ok(None)));
    if let Some(tunnel) = tunnels.iter().find(|t| &t.target == target) {
        return Ok(tunnel.socket.clone());
    }
    sweep_stale_dirs();
    let dir = private_dir()?;
    let socket = dir.join("docker.sock");
    let log = dir.join("ssh.log");
    let mut command = ssh_command();
    command
        .args([
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "StreamLocalBindUnlink=yes",
        ])
        .args(["-n", "-N", "-T", "-L"])
        .arg(format!("{}:{}", socket.display(), remote_socket()))
        .args(target.destination_args());
    let child = spawn_tied(command, &log).map_err(|e| ssh_missing(target, &e))?;
    let mut tunnel = Tunnel {
        target: target.clone(),
        socket: socket.clone(),
        child,
    };
    let began = Instant::now();
    loop {
        if socket.exists() {
            tunnels.push(tunnel);
            return Ok(socket);
        }
        if let Ok(Some(status)) = tunnel.child.try_wait() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(failure(target, &said, Some(status.code().unwrap_or(-1))));
        }
        if began.elapsed() > CONNECT_TIMEOUT {
            let _ = tunnel.child.kill();
            let _ = tunnel.child.wait();
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(failure(target, &said, None));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends this process's tunnels and removes their directories (at exit; a process that dies
/// takes its ssh along anyway, and the next devenv removes what it left).
pub fn close_tunnels() {
    let mut tunnels = TUNNELS.lock().unwrap_or_else(|e| e.into_inner());
    for mut tunnel in tunnels.drain(..) {
        let _ = tunnel.child.kill();
        let _ = tunnel.child.wait();
        if let Some(dir) = tunnel.socket.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Text ssh wrote while the tunnel ran (for errors seen later, on the API).
pub fn tunnel_log(target: &SshTarget) -> String {
    let tunnels = TUNNELS.lock().unwrap_or_else(|e| e.into_inner());
    tunnels
        .iter()
        .find(|t| &t.target == target)
        .and_then(|t| t.socket.parent().map(|d| d.join("ssh.log")))
        .and_then(|log| std::fs::read_to_string(log).ok())
        .unwrap_or_default()
}

/// Prefix of the tunnels' private directories in the temp directory.
const DIR_PREFIX: &str = "devenv-ssh-";

/// A new mode-700 directory `devenv-ssh-<pid>-<n>` in the temp directory.
fn private_dir() -> Result<PathBuf, Diagnostic> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100 {
        let dir = base.join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Diagnostic::new(format!(
                    "cannot create {} for the ssh tunnel to the engine: {e}",
                    dir.display()
                ))
                .with_help("make the temp directory (TMPDIR) writable"));
            }
        }
    }
    Err(Diagnostic::new(
        "cannot create a directory for the ssh tunnel to the engine: 100 names taken",
    ))
}

/// Removes tunnel directories left by devenv processes that are gone.
fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Spawns `command` (stdin closed, output to `log`) from a thread that lives as long as the
/// process, with SIGTERM as its parent-death signal: the child ends when this process does,
/// however it ends.
fn spawn_tied(mut command: Command, log: &Path) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            use rustix::process::{Signal, getppid, set_parent_process_death_signal};
            set_parent_process_death_signal(Some(Signal::TERM))?;
            // The parent may have died before the signal was armed.
            if getppid().is_none_or(|p| p.as_raw_nonzero().get() == 1) {
                return Err(std::io::Error::other("devenv ended before ssh started"));
            }
            Ok(())
        });
    }
    // The parent-death signal fires when the spawning *thread* ends: spawn from one that
    // never does.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("devenv-ssh".into())
        .spawn(move || {
            let _ = tx.send(command.spawn());
            loop {
                std::thread::park();
            }
        })?;
    rx.recv().map_err(std::io::Error::other)?
}

fn ssh_missing(target: &SshTarget, error: &std::io::Error) -> Diagnostic {
    let program = ssh_program().join(" ");
    Diagnostic::new(format!(
        "cannot run `{program}` to reach the Docker Engine at ssh://{}: {error}",
        target.display()
    ))
    .with_help("install the OpenSSH client (Debian/Ubuntu: `sudo apt-get install openssh-client`), or set DEVENV_SSH_COMMAND to your ssh")
}

/// An ssh failure in words: what ssh said, and the fix for the usual causes.
pub fn failure(target: &SshTarget, said: &str, code: Option<i32>) -> Diagnostic {
    let said = said.trim();
    let last = said.lines().last().unwrap_or("").trim();
    let how = match code {
        Some(code) => format!("ssh exited with code {code}"),
        None => format!(
            "ssh did not open the tunnel within {}s",
            CONNECT_TIMEOUT.as_secs()
        ),
    };
    let message = if last.is_empty() {
        format!(
            "cannot reach the Docker Engine at ssh://{} (DOCKER_HOST): {how}",
            target.display()
        )
    } else {
        format!(
            "cannot reach the Docker Engine at ssh://{} (DOCKER_HOST): {how}: {last}",
            target.display()
        )
    };
    let dest = target.destination_args().join(" ");
    let help = if said.contains("Permission denied") {
        format!(
            "ssh could not log in with a key, and devenv never asks for a password (it runs ssh with BatchMode=yes): \
             load your key into the agent (`ssh-add`) or name it with IdentityFile in ~/.ssh/config, then check with `ssh {dest} docker version`"
        )
    } else if said.contains("Host key verification failed")
        || said.contains("REMOTE HOST IDENTIFICATION")
    {
        format!(
            "the host's key is not known (or changed): connect once yourself with `ssh {dest}` and accept it, then run devenv again"
        )
    } else if said.contains("Could not resolve") || said.contains("Name or service not known") {
        "check the host name in DOCKER_HOST (ssh://[user@]host[:port]) or give it a Host entry in ~/.ssh/config".to_string()
    } else if said.contains("Connection refused")
        || said.contains("timed out")
        || said.contains("No route")
    {
        "check that sshd runs on that host and port and that you can reach it (`ssh ".to_string()
            + &dest
            + "`)"
    } else if said.contains("forward") || said.contains("open failed") {
        format!(
            "the host's sshd must allow stream-local forwarding (AllowStreamLocalForwarding yes) and the engine's socket must be {} there (set DEVENV_REMOTE_DOCKER_SOCKET for another path)",
            remote_socket()
        )
    } else {
        format!("check the connection with `ssh {dest} docker version`")
    };
    Diagnostic::new(message).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls_parse_like_the_docker_cli() {
        let t = SshTarget::parse("ssh://root@127.0.0.1:2222").unwrap();
        assert_eq!(
            t,
            SshTarget {
                user: Some("root".into()),
                host: "127.0.0.1".into(),
                port: Some(2222)
            }
        );
        assert_eq!(t.destination_args(), ["-p", "2222", "root@127.0.0.1"]);
        assert_eq!(t.display(), "root@127.0.0.1:2222");
        let t = SshTarget::parse("ssh://build-box").unwrap();
        assert_eq!(t.destination_args(), ["build-box"]);
        let t = SshTarget::parse("ssh://me@[::1]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", Some(22)));
        for bad in [
            "ssh://host/var/run/docker.sock",
            "ssh://",
            "ssh://me@",
            "ssh://h:port",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failures_name_the_fix() {
        let t = SshTarget::parse("ssh://me@box").unwrap();
        let d = failure(&t, "me@box: Permission denied (publickey).\n", Some(255));
        assert!(d.message.contains("Permission denied"), "{}", d.message);
        let help = d.help.unwrap();
        assert!(
            help.contains("BatchMode") && help.contains("ssh-add"),
            "{help}"
        );
        let d = failure(&t, "Host key verification failed.", Some(255));
        assert!(d.help.unwrap().contains("ssh me@box"));
        let d = failure(&t, "", None);
        assert!(d.message.contains("within"), "{}", d.message);
    }
}
