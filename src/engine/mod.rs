//! Everything that talks to the Docker Engine (bollard). Nothing outside this module calls
//! Docker; callers get plain results and errors that say what was being done.

pub mod connect;
pub mod container;
mod create;
pub mod labels;
mod logs;
pub mod oneshot;
pub mod owners;
pub mod shell;
pub mod ssh;
pub mod start;
mod volumes;

use crate::diagnostic::Diagnostic;
use bollard::Docker;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub use connect::Endpoint;
pub use container::{Health, PortMapping, ProjectContainer, State};
pub use start::{PortTaken, StartError};
pub use volumes::{BACKING_LABEL, ImageLaunch};

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// Where it was reached.
    pub endpoint: Endpoint,
}

/// A container's state from an inspect call.
#[derive(Debug, Clone)]
pub struct ContainerState {
    /// Lifecycle state: running, exited, ...
    pub status: State,
    /// Whether it is running.
    pub running: bool,
    /// Whether it is restarting.
    pub restarting: bool,
    /// Exit code of the last run.
    pub exit_code: i64,
    /// Killed by the kernel's OOM killer.
    pub oom_killed: bool,
    /// Docker's health status; `None` when it has no health check.
    pub health: Option<Health>,
    /// Docker's error text, if any.
    pub error: String,
    /// How often Docker restarted it.
    pub restart_count: i64,
    /// When its current run started (`None` when it never ran or the engine did not say).
    pub started_at: Option<jiff::Timestamp>,
}

impl ContainerState {
    /// How long it has been running; `None` when it is not running or the start is unknown.
    pub fn running_for(&self) -> Option<std::time::Duration> {
        let started = self.started_at.filter(|_| self.running)?;
        let elapsed = jiff::Timestamp::now().duration_since(started);
        std::time::Duration::try_from(elapsed).ok()
    }
}

/// What `docker info` says that doctor needs.
#[derive(Debug, Clone, Default)]
pub struct EngineInfo {
    /// Engine version.
    pub server_version: String,
    /// Where Docker keeps its data.
    pub root_dir: String,
    /// Memory available to containers (bytes).
    pub mem_total: i64,
    /// `Docker Desktop`, `Debian GNU/Linux 12`, ...
    pub operating_system: String,
    /// The engine's clock (RFC 3339).
    pub system_time: String,
}

/// Progress of an image pull, for progress bars.
#[derive(Debug, Clone, Default)]
pub struct PullProgress {
    /// Bytes fetched so far, over all layers.
    pub current: u64,
    /// Bytes to fetch, over all layers seen so far.
    pub total: u64,
}

/// Turns a bollard error into a diagnostic that says what devenv was doing.
pub fn api_error(doing: &str, error: &bollard::errors::Error) -> Diagnostic {
    let detail = match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => connect::error_chain(other),
    };
    Diagnostic::new(format!("{doing}: {detail}"))
}

/// True when the error is Docker's 404.
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

pub(crate) fn is_conflict(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

impl Engine {
    /// Connects to the engine (see `connect::resolve` for where).
    pub async fn connect() -> Result<Self, Diagnostic> {
        Self::connect_with_timeout(Duration::from_secs(300)).await
    }

    /// Connects with a custom per-request timeout (long for followed logs).
    pub async fn connect_with_timeout(timeout: Duration) -> Result<Self, Diagnostic> {
        let (docker, endpoint) = connect::connect(timeout).await?;
        Ok(Self { docker, endpoint })
    }

    /// The engine facts doctor checks.
    pub async fn info(&self) -> Result<EngineInfo, Diagnostic> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| api_error("reading the engine's info", &e))?;
        Ok(EngineInfo {
            server_version: info.server_version.unwrap_or_default(),
            root_dir: info.docker_root_dir.unwrap_or_default(),
            mem_total: info.mem_total.unwrap_or(0),
            operating_system: info.operating_system.unwrap_or_default(),
            system_time: info.system_time.unwrap_or_default(),
        })
    }

    /// Whether a named volume exists.
    pub async fn volume_exists(&self, name: &str) -> Result<bool, Diagnostic> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api_error(&format!("inspecting volume {name}"), &e)),
        }
    }

    /// The engine's version and API version.
    pub async fn version(&self) -> Result<(String, String), Diagnostic> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| api_error("reading the engine version", &e))?;
        Ok((
            v.version.unwrap_or_default(),
            v.api_version.unwrap_or_default(),
        ))
    }

    /// Containers of a project (all states, one-off containers included).
    pub async fn project_containers(
        &self,
        project: &str,
    ) -> Result<Vec<ProjectContainer>, Diagnostic> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&labels::project_filter(project))
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| api_error("listing the project's containers", &e))?;
        Ok(list
            .into_iter()
            .filter_map(ProjectContainer::from_summary)
            .collect())
    }

    /// The services' own containers (no one-offs) by service, as the planner sees them.
    pub async fn observe(
        &self,
        project: &str,
    ) -> Result<HashMap<String, ProjectContainer>, Diagnostic> {
        Ok(self
            .project_containers(project)
            .await?
            .into_iter()
            .filter(|c| !c.one_off)
            .map(|c| (c.service.clone(), c))
            .collect())
    }

    /// The services of a project whose containers run now.
    pub async fn running_services(&self, project: &str) -> Result<HashSet<String>, Diagnostic> {
        Ok(container::running_services(
            &self.project_containers(project).await?,
        ))
    }

    /// Every container that publishes a host port, with its name and project (for conflicts).
    async fn all_containers(&self) -> Result<Vec<bollard::models::ContainerSummary>, Diagnostic> {
        let options = ListContainersOptionsBuilder::default().all(false).build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| api_error("listing containers", &e))
    }

    /// Host ports published by running containers, with who publishes them.
    pub async fn published_ports(&self) -> Result<Vec<crate::ports::Published>, Diagnostic> {
        let containers = self.all_containers().await?;
        Ok(containers
            .iter()
            .flat_map(|c| {
                let name = container::first_name(c.names.as_deref());
                let project = c
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::PROJECT).cloned());
                c.ports.iter().flatten().filter_map(move |p| {
                    Some(crate::ports::Published {
                        port: p.public_port?,
                        container: name.clone(),
                        project: project.clone(),
                    })
                })
            })
            .collect())
    }

    /// Whether an image is present locally.
    pub async fn image_present(&self, image: &str) -> Result<bool, Diagnostic> {
        Ok(self.image_id(image).await?.is_some())
    }

    /// Pulls an image, reporting byte progress.
    pub async fn pull(
        &self,
        image: &str,
        mut on_progress: impl FnMut(PullProgress),
    ) -> Result<(), Diagnostic> {
        let reference = split_image(image);
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference.repository)
            .tag(reference.pull_tag())
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| api_error(&format!("pulling image {image}"), &e))?;
            if let Some(detail) = info.error_detail {
                return Err(Diagnostic::new(format!(
                    "pulling image {image}: {}",
                    detail.message.unwrap_or_default()
                )));
            }
            if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
                let entry = layers.entry(id).or_default();
                entry.0 = detail.current.unwrap_or(entry.0 as i64).max(0) as u64;
                entry.1 = detail.total.unwrap_or(entry.1 as i64).max(0) as u64;
                on_progress(PullProgress {
                    current: layers.values().map(|l| l.0).sum(),
                    total: layers.values().map(|l| l.1).sum(),
                });
            }
        }
        Ok(())
    }

    /// Creates the project network unless it exists.
    pub async fn ensure_network(
        &self,
        project: &str,
        name: &str,
        owner: &std::path::Path,
    ) -> Result<bool, Diagnostic> {
        match self
            .docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(_) => return Ok(false),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(api_error(&format!("inspecting network {name}"), &e)),
        }
        let mut net_labels = labels::owned_labels(project, owner);
        net_labels.insert(labels::NETWORK.into(), "default".into());
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(net_labels),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(api_error(&format!("creating network {name}"), &e)),
        }
    }

    /// Creates a project volume unless it exists (creating is idempotent in Docker).
    pub async fn ensure_volume(
        &self,
        project: &str,
        name: &str,
        owner: &std::path::Path,
    ) -> Result<(), Diagnostic> {
        self.create_labelled_volume(name, labels::project_volume_labels(project, name, owner))
            .await
    }

    /// Stops a container (SIGTERM, then SIGKILL after `grace`).
    pub async fn stop(&self, name: &str, grace: Duration) -> Result<(), Diagnostic> {
        let options = StopContainerOptionsBuilder::default()
            .t(grace.as_secs() as i32)
            .build();
        match self.docker.stop_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(&format!("stopping container {name}"), &e)),
        }
    }

    /// Removes a container and its anonymous volumes (an image's `VOLUME` without a mount);
    /// the engine never removes named volumes this way.
    pub async fn remove(&self, name: &str) -> Result<(), Diagnostic> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(&format!("removing container {name}"), &e)),
        }
    }

    /// Restarts a container.
    pub async fn restart(&self, name: &str) -> Result<(), Diagnostic> {
        self.docker
            .restart_container(
                name,
                Some(
                    bollard::query_parameters::RestartContainerOptionsBuilder::default()
                        .t(10)
                        .build(),
                ),
            )
            .await
            .map_err(|e| api_error(&format!("restarting container {name}"), &e))
    }

    /// A container's inspect document.
    async fn inspect(
        &self,
        name: &str,
    ) -> Result<bollard::models::ContainerInspectResponse, Diagnostic> {
        self.docker
            .inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| api_error(&format!("inspecting container {name}"), &e))
    }

    /// The host addresses the engine bound a container's published ports to, as
    /// (`5432/tcp`, host address, host port).
    pub async fn port_bindings(
        &self,
        name: &str,
    ) -> Result<Vec<(String, String, u16)>, Diagnostic> {
        let inspect = self.inspect(name).await?;
        let ports = inspect
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        let mut bindings: Vec<(String, String, u16)> = ports
            .into_iter()
            .flat_map(|(key, bound)| {
                bound.into_iter().flatten().filter_map(move |b| {
                    let port = b.host_port.as_deref()?.parse().ok()?;
                    Some((key.clone(), b.host_ip.unwrap_or_default(), port))
                })
            })
            .collect();
        bindings.sort();
        Ok(bindings)
    }

    /// A container's state.
    pub async fn state(&self, name: &str) -> Result<ContainerState, Diagnostic> {
        let inspect = self.inspect(name).await?;
        let restart_count = inspect.restart_count.unwrap_or(0);
        let state = inspect.state.unwrap_or_default();
        Ok(ContainerState {
            status: state.status.map_or(State::Unknown, State::from),
            running: state.running.unwrap_or(false),
            restarting: state.restarting.unwrap_or(false),
            exit_code: state.exit_code.unwrap_or(0),
            oom_killed: state.oom_killed.unwrap_or(false),
            health: state
                .health
                .and_then(|h| h.status)
                .and_then(Health::from_docker),
            error: state.error.unwrap_or_default(),
            restart_count,
            started_at: state.started_at.and_then(|t| t.parse().ok()),
        })
    }

    /// Runs a command inside a container; returns its exit code and output.
    pub async fn exec(&self, container: &str, cmd: &[String]) -> Result<(i64, String), Diagnostic> {
        let doing = format!("running `{}` in {container}", cmd.join(" "));
        let exec = self
            .docker
            .create_exec(
                container,
                bollard::exec::CreateExecOptions {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| api_error(&doing, &e))?;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| api_error(&doing, &e))?
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| api_error(&doing, &e))?;
        Ok((inspect.exit_code.unwrap_or(-1), output))
    }

    /// Removes the project network if it exists.
    pub async fn remove_network(&self, name: &str) -> Result<bool, Diagnostic> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api_error(&format!("removing network {name}"), &e)),
        }
    }

    /// Named volumes that devenv or Compose created for the project (never external ones).
    pub async fn project_volumes(&self, project: &str) -> Result<Vec<String>, Diagnostic> {
        let volumes = self
            .volumes_filtered(&labels::project_filter(project))
            .await?;
        Ok(volumes.into_iter().map(|v| v.name).collect())
    }

    /// Removes a named volume.
    pub async fn remove_volume(&self, name: &str) -> Result<(), Diagnostic> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(&format!("removing volume {name}"), &e)),
        }
    }

    /// Removes a volume unless a container still uses it: `false` when one does (the engine
    /// refuses with a conflict), `true` when it is gone.
    pub async fn remove_volume_if_unused(&self, name: &str) -> Result<bool, Diagnostic> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(api_error(&format!("removing volume {name}"), &e)),
        }
    }
}

/// An image reference split the way the Engine's pull asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry, namespace and name (`registry:5000/team/app`).
    pub repository: &'a str,
    /// Tag (`16`), when the reference names one.
    pub tag: Option<&'a str>,
    /// Content digest (`sha256:...`), when the reference pins one.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// What a pull asks for beside the repository: the digest when the reference pins one
    /// (it wins over a tag, as with the docker CLI), else the tag, else `latest`.
    pub fn pull_tag(&self) -> &'a str {
        self.digest.or(self.tag).unwrap_or("latest")
    }
}

/// `repo[:tag][@digest]` → repository, tag and digest (a `:` in a registry port is not a tag).
pub fn split_image(image: &str) -> ImageRef<'_> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let (repository, tag) = match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
        _ => (name, None),
    };
    ImageRef {
        repository,
        tag,
        digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image<'a>(
        repository: &'a str,
        tag: Option<&'a str>,
        digest: Option<&'a str>,
    ) -> ImageRef<'a> {
        ImageRef {
            repository,
            tag,
            digest,
        }
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn plain_and_tagged_references_split_into_repository_and_tag() {
        assert_eq!(split_image("redis"), image("redis", None, None));
        assert_eq!(split_image("redis").pull_tag(), "latest");
        assert_eq!(
            split_image("postgres:16"),
            image("postgres", Some("16"), None)
        );
        assert_eq!(split_image("postgres:16").pull_tag(), "16");
    }

    #[test]
    fn a_registry_port_is_not_a_tag() {
        assert_eq!(
            split_image("registry:5000/team/app"),
            image("registry:5000/team/app", None, None)
        );
        assert_eq!(
            split_image("registry:5000/app:1.2"),
            image("registry:5000/app", Some("1.2"), None)
        );
    }

    #[test]
    fn a_digest_is_kept_and_pulled_by() {
        let reference = format!("img@{DIGEST}");
        let split = split_image(&reference);
        assert_eq!(split, image("img", None, Some(DIGEST)));
        assert_eq!(split.pull_tag(), DIGEST);
    }

    #[test]
    fn a_tag_and_a_digest_keep_both_and_pull_by_the_digest() {
        let reference = format!("registry:5000/ns/img:tag@{DIGEST}");
        let split = split_image(&reference);
        assert_eq!(
            split,
            image("registry:5000/ns/img", Some("tag"), Some(DIGEST))
        );
        assert_eq!(split.pull_tag(), DIGEST);
    }
}
