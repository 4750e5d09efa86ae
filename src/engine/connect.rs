//! Finding the Docker Engine the way the docker CLI does (DOCKER_HOST, the current context,
//! then the usual sockets) and turning every way that fails into an error that says the fix.

use crate::source::Diagnostic;
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

/// Resolves the endpoint without connecting.
pub fn resolve() -> Endpoint {
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return Endpoint {
            host,
            source: "DOCKER_HOST".into(),
        };
    }
    if let Some((name, host)) = current_context() {
        return Endpoint {
            host,
            source: format!("docker context `{name}`"),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut candidates = vec![(PathBuf::from("/var/run/docker.sock"), "the default socket")];
    if let Some(home) = &home {
        candidates.push((
            home.join(".docker/run/docker.sock"),
            "Docker Desktop's socket",
        ));
    }
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
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

/// The docker CLI config directory (`$DOCKER_CONFIG` or `~/.docker`).
fn docker_config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

/// The current docker context's endpoint, unless it is `default`.
fn current_context() -> Option<(String, String)> {
    let dir = docker_config_dir()?;
    let name = match std::env::var("DOCKER_CONTEXT")
        .ok()
        .filter(|n| !n.is_empty())
    {
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
    let digest = crate::generate::header::hash(name);
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
    } else {
        Docker::connect_with_host(&endpoint.host)
    }
    .map_err(|e| unreachable_error(&endpoint, &e.to_string()))?;
    let negotiated = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
        .await
        .map_err(|_| unreachable_error(&endpoint, "no answer within 5 s"))?
        .map_err(|e| unreachable_error(&endpoint, &error_chain(&e)))?;
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

/// Classifies a connection failure.
fn unreachable_error(endpoint: &Endpoint, detail: &str) -> Diagnostic {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission denied") {
        return Diagnostic::new(format!(
            "permission denied on the Docker socket {} ({})",
            endpoint.host, endpoint.source
        ))
        .with_help(
            "add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log out and in), \
             or use rootless Docker and set DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock; devenv never uses sudo itself",
        );
    }
    if lower.contains("connection refused")
        || lower.contains("no such file")
        || lower.contains("not found")
    {
        return not_running(endpoint, "nothing is listening");
    }
    not_running(endpoint, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_docker_group_and_rootless() {
        let endpoint = Endpoint {
            host: "unix:///var/run/docker.sock".into(),
            source: "the default socket".into(),
        };
        let d = unreachable_error(
            &endpoint,
            "error trying to connect: Permission denied (os error 13)",
        );
        let help = d.help.unwrap();
        assert!(
            help.contains("docker` group") && help.contains("rootless"),
            "{help}"
        );
        let d = unreachable_error(&endpoint, "Connection refused (os error 111)");
        assert!(
            d.message.contains("nothing is listening")
                && d.message.contains("/var/run/docker.sock")
        );
    }

    #[test]
    fn contexts_resolve_through_the_hashed_meta_directory() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir
            .path()
            .join("contexts/meta")
            .join(crate::generate::header::hash("colima"));
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
