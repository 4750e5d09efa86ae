//! Finding the Docker Engine the way the docker CLI does (DOCKER_HOST, the current context,
//! then the usual sockets) and turning every way that fails into an error that says the fix.

use crate::diagnostic::Diagnostic;
use bollard::Docker;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where devenv will talk to Docker, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, ...
    pub host: String,
    /// How it was chosen, for messages.
    pub source: String,
}

impl Endpoint {
    /// The ssh destination of an `ssh://` endpoint.
    pub fn ssh_target(&self) -> Option<super::ssh::SshTarget> {
        super::ssh::SshTarget::parse(&self.host).ok()
    }

    /// Whether the engine runs on another host: every `ssh://` endpoint (even to this host, so
    /// that it can be tested here) and `tcp://`/`http(s)://` to a non-loopback address. Its
    /// published ports live on that host.
    /// `DEVENV_ENGINE_REMOTE=0` says a tcp:// engine's ports are reachable here after all
    /// (a VM that forwards them), `=1` that a loopback one is not.
    pub fn is_remote(&self) -> bool {
        if self.host.starts_with("ssh://") {
            return true;
        }
        match std::env::var("DEVENV_ENGINE_REMOTE").as_deref() {
            Ok("0") => return false,
            Ok("1") => return true,
            _ => {}
        }
        let Some(rest) = ["tcp://", "http://", "https://"]
            .iter()
            .find_map(|scheme| self.host.strip_prefix(scheme))
        else {
            return false;
        };
        let host = rest.split('/').next().unwrap_or(rest);
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback
    }

    /// Whether devenv forwards the engine's published ports to this host (ssh:// engines).
    pub fn forwards_ports(&self) -> bool {
        self.ssh_target().is_some()
    }

    /// Whether the connection uses TLS (`DOCKER_TLS_VERIFY` with tcp://, or https://).
    fn uses_tls(&self) -> bool {
        self.host.starts_with("https://")
            || (self.host.starts_with("tcp://") && tls_verify_set(&|n| std::env::var(n).ok()))
    }
}

/// DOCKER_TLS_VERIFY set at all. The docker CLI ignores an empty one, but bollard's plain
/// HTTP client switches to TLS for any value, so devenv takes that path knowingly (with its
/// errors about the certificates).
fn tls_verify_set(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("DOCKER_TLS_VERIFY").is_some()
}

/// Resolves the endpoint without connecting.
pub fn resolve() -> Endpoint {
    resolve_from(
        &|name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        Path::new("/var/run/docker.sock"),
    )
}

/// Resolution with the environment and the default socket given (so it can be tested):
/// DOCKER_HOST, the current context, then the default, Docker Desktop's and rootless sockets.
pub fn resolve_from(env: &dyn Fn(&str) -> Option<String>, default_socket: &Path) -> Endpoint {
    if let Some(host) = env("DOCKER_HOST") {
        return Endpoint {
            host,
            source: "DOCKER_HOST".into(),
        };
    }
    if let Some((name, host)) = current_context(env) {
        return Endpoint {
            host,
            source: format!("docker context `{name}`"),
        };
    }
    let mut candidates = vec![(default_socket.to_path_buf(), "the default socket")];
    if let Some(home) = env("HOME") {
        candidates.push((
            PathBuf::from(home).join(".docker/run/docker.sock"),
            "Docker Desktop's socket",
        ));
    }
    if let Some(runtime) = env("XDG_RUNTIME_DIR") {
        candidates.push((
            PathBuf::from(runtime).join("docker.sock"),
            "rootless Docker's socket",
        ));
    }
    let (path, source) = candidates
        .iter()
        .find(|(p, _)| p.exists())
        .unwrap_or(&candidates[0]);
    Endpoint {
        host: format!("unix://{}", path.display()),
        source: source.to_string(),
    }
}

/// The current docker context's endpoint, unless it is `default`.
fn current_context(env: &dyn Fn(&str) -> Option<String>) -> Option<(String, String)> {
    let dir = env("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let name = match env("DOCKER_CONTEXT") {
        Some(name) => name,
        None => {
            let config: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
            config.get("currentContext")?.as_str()?.to_string()
        }
    };
    if name.is_empty() || name == "default" {
        return None;
    }
    let host = context_host(&dir, &name)?;
    Some((name, host))
}

/// `contexts/meta/<sha256(name)>/meta.json` → `Endpoints.docker.Host`.
fn context_host(config_dir: &Path, name: &str) -> Option<String> {
    let digest = crate::hash::sha256_hex(name);
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            config_dir
                .join("contexts/meta")
                .join(digest)
                .join("meta.json"),
        )
        .ok()?,
    )
    .ok()?;
    Some(
        meta.get("Endpoints")?
            .get("docker")?
            .get("Host")?
            .as_str()?
            .to_string(),
    )
}

/// Connects and negotiates the API version (Engine 20.10 speaks 1.41; current engines newer).
/// `request_timeout` bounds each API call; streaming calls (logs -f) want a long one.
pub async fn connect(request_timeout: Duration) -> Result<(Docker, Endpoint), Diagnostic> {
    let endpoint = resolve();
    let docker = if let Some(path) = endpoint.host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err(not_running(&endpoint, "no socket there"));
        }
        Docker::connect_with_unix(
            path,
            request_timeout.as_secs(),
            bollard::API_DEFAULT_VERSION,
        )
    } else if endpoint.host.starts_with("ssh://") {
        let target = super::ssh::SshTarget::parse(&endpoint.host).map_err(|e| {
            Diagnostic::new(format!("DOCKER_HOST: {e}"))
                .with_help("write it as ssh://[user@]host[:port] (the engine's socket is /var/run/docker.sock there; DEVENV_REMOTE_DOCKER_SOCKET names another)")
        })?;
        let socket = tokio::task::spawn_blocking(move || super::ssh::api_socket(&target))
            .await
            .map_err(|e| Diagnostic::new(format!("the ssh tunnel to the engine failed: {e}")))??;
        Docker::connect_with_unix(
            &socket.display().to_string(),
            request_timeout.as_secs(),
            bollard::API_DEFAULT_VERSION,
        )
    } else if endpoint.uses_tls() {
        let dir = cert_dir(&|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
            .ok_or_else(|| tls_error(&endpoint, Path::new("~/.docker"), "HOME is not set"))?;
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            if !dir.join(file).is_file() {
                return Err(tls_error(&endpoint, &dir, &format!("{file} is missing")));
            }
        }
        Docker::connect_with_ssl(
            &endpoint.host,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            request_timeout.as_secs(),
            bollard::API_DEFAULT_VERSION,
        )
        .map(Ok)
        .map_err(|e| tls_error(&endpoint, &dir, &error_chain(&e)))?
    } else if endpoint.host.starts_with("tcp://") || endpoint.host.starts_with("http://") {
        // With the request timeout (`connect_with_host` has bollard's own).
        Docker::connect_with_http(
            &endpoint.host,
            request_timeout.as_secs(),
            bollard::API_DEFAULT_VERSION,
        )
    } else {
        Docker::connect_with_host(&endpoint.host)
    }
    .map_err(|e| unreachable_error(&endpoint, &e))?;
    let negotiated = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| not_running(&endpoint, "no answer within 10 s"))?
        .map_err(|e| unreachable_error(&endpoint, &e))?;
    Ok((negotiated, endpoint))
}

/// The error and its sources on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

fn not_running(endpoint: &Endpoint, why: &str) -> Diagnostic {
    Diagnostic::new(format!("cannot reach the Docker Engine at {} ({}): {why}", endpoint.host, endpoint.source)).with_help(
        "start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: open Docker Desktop), \
         or point DOCKER_HOST at a running engine (e.g. DOCKER_HOST=unix:///run/user/1000/docker.sock for rootless Docker)",
    )
}

/// The kind of the first I/O error in an error's source chain (where the OS said why).
fn io_error_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        // bollard's I/O variant is transparent: its source() skips the io::Error itself.
        if let Some(bollard::errors::Error::IOError { err }) =
            e.downcast_ref::<bollard::errors::Error>()
        {
            return Some(err.kind());
        }
        current = e.source();
    }
    None
}

/// The directory of the TLS client files: DOCKER_CERT_PATH, else `~/.docker` (as the docker
/// CLI).
fn cert_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

/// A TLS engine that cannot be reached with the certificates given.
fn tls_error(endpoint: &Endpoint, dir: &Path, why: &str) -> Diagnostic {
    Diagnostic::new(format!(
        "cannot reach the Docker Engine at {} ({}) over TLS with the certificates in {}: {why}",
        endpoint.host,
        endpoint.source,
        dir.display()
    ))
    .with_help(
        "DOCKER_TLS_VERIFY is set, so devenv verifies the engine as the docker CLI does: DOCKER_CERT_PATH (default ~/.docker) \
         must hold ca.pem (the CA that signed the engine's certificate), and cert.pem with key.pem (a client certificate that CA signed); \
         check them with `docker --tlsverify version`, or unset DOCKER_TLS_VERIFY for an engine without TLS",
    )
}

/// Classifies a connection failure by the OS's answer: no permission on the socket, or
/// nothing there / nothing listening. Over ssh, what ssh said; over TLS, the certificates.
fn unreachable_error(endpoint: &Endpoint, error: &(dyn std::error::Error + 'static)) -> Diagnostic {
    use std::io::ErrorKind;
    if let Some(target) = endpoint.ssh_target() {
        let said = super::ssh::tunnel_log(&target);
        let mut d = super::ssh::failure(&target, &said, None);
        d.message = format!(
            "the Docker Engine at {} did not answer through the ssh tunnel: {}{}",
            endpoint.host,
            error_chain(error),
            said.lines()
                .last()
                .map(|l| format!(" (ssh: {})", l.trim()))
                .unwrap_or_default()
        );
        return d;
    }
    if endpoint.uses_tls()
        && let Some(dir) = cert_dir(&|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        && !matches!(io_error_kind(error), Some(ErrorKind::ConnectionRefused))
    {
        return tls_error(endpoint, &dir, &error_chain(error));
    }
    match io_error_kind(error) {
        Some(ErrorKind::PermissionDenied) => Diagnostic::new(format!(
            "permission denied on the Docker socket {} ({})",
            endpoint.host, endpoint.source
        ))
        .with_help(
            "add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log out and in), \
             or use rootless Docker and set DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock; devenv never uses sudo itself",
        ),
        Some(ErrorKind::ConnectionRefused | ErrorKind::NotFound) => {
            not_running(endpoint, "nothing is listening")
        }
        _ => not_running(endpoint, &error_chain(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real refused connection: a socket file with nothing listening, as the engine's
    /// client reports it (the OS error sits deep in the source chain).
    #[tokio::test]
    async fn a_refused_socket_is_found_in_the_source_chain() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("dead.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let docker = Docker::connect_with_unix(
            &socket.display().to_string(),
            5,
            bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let error = docker.ping().await.unwrap_err();
        assert_eq!(
            io_error_kind(&error),
            Some(std::io::ErrorKind::ConnectionRefused),
            "{}",
            error_chain(&error)
        );
    }

    #[test]
    fn permission_errors_name_the_docker_group_and_rootless() {
        let endpoint = Endpoint {
            host: "unix:///var/run/docker.sock".into(),
            source: "the default socket".into(),
        };
        let io = |kind| bollard::errors::Error::IOError {
            err: std::io::Error::from(kind),
        };
        let d = unreachable_error(&endpoint, &io(std::io::ErrorKind::PermissionDenied));
        let help = d.help.unwrap();
        assert!(
            help.contains("docker` group") && help.contains("rootless"),
            "{help}"
        );
        for kind in [
            std::io::ErrorKind::ConnectionRefused,
            std::io::ErrorKind::NotFound,
        ] {
            let d = unreachable_error(&endpoint, &io(kind));
            assert!(
                d.message.contains("nothing is listening")
                    && d.message.contains("/var/run/docker.sock"),
                "{kind:?}: {}",
                d.message
            );
        }
        let d = unreachable_error(&endpoint, &io(std::io::ErrorKind::TimedOut));
        assert!(d.message.contains("timed out"), "{}", d.message);
    }

    /// Case 10: without /var/run/docker.sock, Docker Desktop's socket and the current context
    /// are found.
    #[test]
    fn case_10_desktop_socket_and_context_are_found_without_the_default_socket() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".docker/run")).unwrap();
        let desktop = home.path().join(".docker/run/docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&desktop).unwrap();
        let missing_default = home.path().join("no-default.sock");
        let home_str = home.path().display().to_string();
        let env = |name: &str| (name == "HOME").then(|| home_str.clone());
        let found = resolve_from(&env, &missing_default);
        assert_eq!(found.host, format!("unix://{}", desktop.display()));
        assert_eq!(found.source, "Docker Desktop's socket");

        let meta = home
            .path()
            .join(".docker/contexts/meta")
            .join(crate::hash::sha256_hex("colima"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"colima","Endpoints":{"docker":{"Host":"unix:///x/colima.sock"}}}"#,
        )
        .unwrap();
        std::fs::write(
            home.path().join(".docker/config.json"),
            r#"{"currentContext":"colima"}"#,
        )
        .unwrap();
        let found = resolve_from(&env, &missing_default);
        assert_eq!(
            found,
            Endpoint {
                host: "unix:///x/colima.sock".into(),
                source: "docker context `colima`".into()
            }
        );
        let with_host = |name: &str| match name {
            "DOCKER_HOST" => Some("tcp://10.0.0.1:2376".to_string()),
            other => env(other),
        };
        assert_eq!(
            resolve_from(&with_host, &missing_default).source,
            "DOCKER_HOST",
            "DOCKER_HOST wins"
        );
    }

    #[test]
    fn ssh_and_non_loopback_tcp_endpoints_are_remote() {
        let at = |host: &str| Endpoint {
            host: host.into(),
            source: "DOCKER_HOST".into(),
        };
        for remote in [
            "ssh://me@build-box",
            "ssh://root@127.0.0.1:2222",
            "tcp://10.0.0.1:2376",
            "https://docker.example:2376",
            "tcp://[2001:db8::1]:2376",
        ] {
            assert!(at(remote).is_remote(), "{remote}");
        }
        for local in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2376",
        ] {
            assert!(!at(local).is_remote(), "{local}");
        }
        assert!(at("ssh://root@127.0.0.1:2222").forwards_ports());
        assert!(!at("tcp://10.0.0.1:2376").forwards_ports());
        let tls = |name: &str| (name == "DOCKER_TLS_VERIFY").then(|| "1".to_string());
        assert!(tls_verify_set(&tls));
        assert!(!tls_verify_set(&|_| None));
        let certs = |name: &str| match name {
            "DOCKER_CERT_PATH" => Some("/certs".to_string()),
            "HOME" => Some("/home/me".to_string()),
            _ => None,
        };
        assert_eq!(cert_dir(&certs), Some(PathBuf::from("/certs")));
        let home = |name: &str| (name == "HOME").then(|| "/home/me".to_string());
        assert_eq!(cert_dir(&home), Some(PathBuf::from("/home/me/.docker")));
    }

    #[test]
    fn contexts_resolve_through_the_hashed_meta_directory() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir
            .path()
            .join("contexts/meta")
            .join(crate::hash::sha256_hex("colima"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"colima","Endpoints":{"docker":{"Host":"unix:///x/colima.sock"}}}"#,
        )
        .unwrap();
        assert_eq!(
            context_host(dir.path(), "colima").as_deref(),
            Some("unix:///x/colima.sock")
        );
    }
}
