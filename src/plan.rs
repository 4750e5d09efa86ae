//! What each container should look like (`ContainerSpec`, derived from the stack, the resolved
//! values and the user config) and what must change to get there from what runs now.

use crate::config::UserConfig;
use crate::env::Values;
use crate::stack::{HealthCheck, Service, Stack, Volume};
use indexmap::IndexMap;
use serde::Serialize;

/// A port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedPort {
    /// Port inside the container.
    pub container: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Host address.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
}

/// What a mount's source is. Serialised in lowercase, as the config hash has always seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A named Docker volume.
    Volume,
    /// A host path.
    Bind,
}

/// A mount as Docker takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountSpec {
    /// Volume or bind mount.
    pub kind: MountKind,
    /// Docker volume name (`shop_db-data`) or absolute host path.
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Read-only mount.
    pub read_only: bool,
}

/// Docker's HEALTHCHECK, in nanoseconds as the API wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerHealth {
    /// `["CMD", ...]`.
    pub test: Vec<String>,
    /// Interval (ns).
    pub interval: i64,
    /// Timeout (ns).
    pub timeout: i64,
    /// Retries.
    pub retries: i64,
    /// Start period (ns).
    pub start_period: i64,
}

/// Everything that defines one container; its hash is the `config-hash` label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// Service name.
    pub service: String,
    /// Container name (`shop-db-1`).
    pub name: String,
    /// Image after user rewrites.
    pub image: String,
    /// Command override.
    pub command: Option<Vec<String>>,
    /// `KEY=value` with references expanded.
    pub env: Vec<String>,
    /// Published ports.
    pub ports: Vec<PublishedPort>,
    /// Mounts.
    pub mounts: Vec<MountSpec>,
    /// Docker health check.
    pub health: Option<DockerHealth>,
    /// Project network (`shop_default`), or `host`.
    pub network: String,
    /// Run privileged (explicitly allowed in devenv.toml).
    pub privileged: bool,
    /// The engine picks the host ports (a remote engine whose ports devenv forwards to
    /// `ports`' host ports). Left out of the hash when false, so local hashes never change.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub engine_picks_ports: bool,
    /// Work done inside the container before the image's own entrypoint, when it is created
    /// this run (a database volume filled from a snapshot). Not part of the hash: the
    /// container it creates is the one the spec describes.
    #[serde(skip)]
    pub first_start: Option<FirstStart>,
}

/// A shell script the container runs as root before it `exec`s the image's entrypoint and
/// command, with extra volumes and variables it alone needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstStart {
    /// The script (`sh -c`); it ends with `exec "$@"`.
    pub script: String,
    /// What the script `exec`s: the image's entrypoint and the command.
    pub then: Vec<String>,
    /// Extra `KEY=value` variables (never secrets: those are in the spec's own env).
    pub env: Vec<String>,
    /// Extra mounts.
    pub mounts: Vec<MountSpec>,
}

impl ContainerSpec {
    /// Hash of the whole spec.
    pub fn config_hash(&self) -> String {
        crate::hash::sha256_hex(&serde_json::to_string(self).expect("specs serialize"))
    }

    /// Names of the named volumes it mounts.
    pub fn volume_names(&self) -> impl Iterator<Item = &str> {
        self.mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume)
            .map(|m| m.source.as_str())
    }
}

/// The project network's name.
pub fn network_name(project: &str) -> String {
    format!("{project}_default")
}

/// Docker's name of a project volume.
pub fn volume_name(project: &str, volume: &str) -> String {
    format!("{project}_{volume}")
}

/// The container name of a service (`shop-db-1`).
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

/// The spec of one service's container.
pub fn container_spec(
    stack: &Stack,
    service: &Service,
    values: &Values,
    config: &UserConfig,
) -> ContainerSpec {
    let project = &stack.project.name;
    ContainerSpec {
        service: service.name.clone(),
        name: container_name(project, &service.name),
        image: config.rewrite_image(&values.expand(&service.image)),
        command: service
            .command
            .as_ref()
            .map(|c| c.iter().map(|a| values.expand(a)).collect()),
        env: service
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", values.expand(v)))
            .collect(),
        ports: service
            .ports
            .iter()
            .map(|p| PublishedPort {
                container: p.container,
                protocol: p.protocol.clone(),
                host_ip: service.host_ip.clone(),
                host_port: values.host_port(p),
            })
            .collect(),
        mounts: mounts(stack, service),
        health: docker_health(service, values),
        network: if service.host_access.host_network {
            "host".into()
        } else {
            network_name(project)
        },
        privileged: service.host_access.privileged,
        engine_picks_ports: false,
        first_start: None,
    }
}

/// A service's named volumes and bind mounts, plus the Docker socket when it asks for it.
fn mounts(stack: &Stack, service: &Service) -> Vec<MountSpec> {
    let mut mounts: Vec<MountSpec> = service
        .volumes
        .iter()
        .map(|volume| match volume {
            Volume::Named {
                name,
                target,
                read_only,
            } => MountSpec {
                kind: MountKind::Volume,
                source: volume_name(&stack.project.name, name),
                target: target.clone(),
                read_only: *read_only,
            },
            Volume::Bind {
                source,
                target,
                read_only,
            } => MountSpec {
                kind: MountKind::Bind,
                source: absolute_source(&stack.root, source),
                target: target.clone(),
                read_only: *read_only,
            },
        })
        .collect();
    if service.host_access.docker_socket {
        mounts.push(MountSpec {
            kind: MountKind::Bind,
            source: "/var/run/docker.sock".into(),
            target: "/var/run/docker.sock".into(),
            read_only: false,
        });
    }
    mounts
}

/// How often Docker runs the health command of a service that devenv probes from the host.
/// The probe says when it is ready; Docker's check only keeps `docker ps` and `doctor` told.
/// Some commands boot a runtime each time (`rabbitmq-diagnostics` starts an Erlang VM, about
/// 0.7 CPU-seconds here): run every 2 s they took a third of a core for as long as the
/// service ran, and the CPU the other services needed to start.
pub const PROBED_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Docker's own HEALTHCHECK, written for command checks only (TCP and HTTP checks are probed
/// from the host); at least every [`PROBED_CHECK_INTERVAL`] for a service with a probe.
/// Durations are below `2562047h` (the loader's limit), so nanoseconds fit.
fn docker_health(service: &Service, values: &Values) -> Option<DockerHealth> {
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    service.health.as_ref().and_then(|h| match &h.check {
        HealthCheck::Command(cmd) => Some(DockerHealth {
            test: std::iter::once("CMD".to_string())
                .chain(cmd.iter().map(|c| values.expand(c)))
                .collect(),
            interval: nanos(if service.probe.is_some() {
                h.interval.max(PROBED_CHECK_INTERVAL)
            } else {
                h.interval
            }),
            timeout: nanos(h.timeout),
            retries: i64::from(h.retries),
            start_period: nanos(h.start_period),
        }),
        _ => None,
    })
}

fn absolute_source(root: &std::path::Path, source: &str) -> String {
    let relative = source.strip_prefix("./").unwrap_or(source);
    if relative == "." {
        root.display().to_string()
    } else {
        root.join(relative).display().to_string()
    }
}

/// Specs for the services to start: the selected ones (all when empty) with their
/// dependencies, skipping services whose profiles are not active.
pub fn select_services<'a>(
    stack: &'a Stack,
    selected: &[String],
    profiles: &[String],
) -> Result<Vec<&'a Service>, String> {
    for name in selected {
        if !stack.services.contains_key(name) {
            let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
            return Err(format!(
                "no service named `{name}` (services: {})",
                known.join(", ")
            ));
        }
    }
    let mut wanted: Vec<&str> = Vec::new();
    let mut stack_todo: Vec<&str> = if selected.is_empty() {
        stack
            .services
            .values()
            .filter(|s| s.profiles.is_empty() || s.profiles.iter().any(|p| profiles.contains(p)))
            .map(|s| s.name.as_str())
            .collect()
    } else {
        selected.iter().map(String::as_str).collect()
    };
    while let Some(name) = stack_todo.pop() {
        if wanted.contains(&name) {
            continue;
        }
        wanted.push(name);
        stack_todo.extend(stack.services[name].depends_on.iter().map(String::as_str));
    }
    Ok(stack
        .start_order()
        .into_iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .collect())
}

/// A container as found on the engine (the engine's typed view of it).
pub use crate::engine::ProjectContainer as Observed;

/// What to do with one service's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No container: create and start it.
    Create,
    /// The configuration changed: replace the container (volumes are kept).
    Recreate,
    /// Same configuration, not running: start it.
    Start,
    /// Same configuration, running: nothing to do.
    Keep,
}

/// Decides the action for a service given its container, if any.
pub fn decide(spec: &ContainerSpec, observed: Option<&Observed>) -> Action {
    match observed {
        None => Action::Create,
        Some(o) if o.config_hash != spec.config_hash() => Action::Recreate,
        Some(o) if o.is_running() => Action::Keep,
        Some(_) => Action::Start,
    }
}

/// Specs of all services, by name.
pub fn specs(
    stack: &Stack,
    services: &[&Service],
    values: &Values,
    config: &UserConfig,
) -> IndexMap<String, ContainerSpec> {
    services
        .iter()
        .map(|s| (s.name.clone(), container_spec(stack, s, values, config)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;
    use std::path::Path;

    fn shop() -> Stack {
        crate::stack::tests_support::shop_at(Path::new("/p"))
    }

    fn values(stack: &Stack) -> Values {
        Values::resolve(
            stack,
            &[("DB_PASSWORD".to_string(), "pw".to_string())]
                .into_iter()
                .collect(),
        )
    }

    #[test]
    fn specs_expand_values_and_name_things_like_compose() {
        let stack = shop();
        let config: UserConfig =
            toml::from_str("[images]\n\"postgres:16\" = \"devenv-fixture/postgres:16\"\n").unwrap();
        let spec = container_spec(&stack, &stack.services["db"], &values(&stack), &config);
        assert_eq!(spec.name, "shop-db-1");
        assert_eq!(spec.image, "devenv-fixture/postgres:16");
        assert!(spec.env.contains(&"POSTGRES_PASSWORD=pw".to_string()));
        assert_eq!(spec.mounts[0].source, "shop_db-data");
        assert_eq!(spec.network, "shop_default");
        assert_eq!(
            spec.ports[0],
            PublishedPort {
                container: 5432,
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 5432
            }
        );
        assert_eq!(spec.health.as_ref().unwrap().test[0], "CMD");
    }

    #[test]
    fn dockers_check_of_a_probed_service_runs_seldom() {
        let mut stack = shop();
        let spec = |stack: &Stack| {
            container_spec(
                stack,
                &stack.services["db"],
                &values(stack),
                &UserConfig::default(),
            )
            .health
            .unwrap()
        };
        // The catalog's PostgreSQL check runs every second; devenv probes it itself.
        assert!(stack.services["db"].probe.is_some());
        let every = i64::try_from(PROBED_CHECK_INTERVAL.as_nanos()).unwrap();
        assert_eq!(spec(&stack).interval, every);
        // Without a probe, Docker's verdict is what `up` waits on: the check keeps its pace.
        stack.services.get_mut("db").unwrap().probe = None;
        assert_eq!(spec(&stack).interval, 1_000_000_000);
    }

    #[test]
    fn decisions_follow_the_hash_and_state() {
        let stack = shop();
        let spec = container_spec(
            &stack,
            &stack.services["db"],
            &values(&stack),
            &UserConfig::default(),
        );
        let mut observed = Observed {
            service: "db".into(),
            number: 1,
            one_off: false,
            name: spec.name.clone(),
            id: "x".into(),
            state: crate::engine::State::Running,
            status: "Up 1 second".into(),
            image: spec.image.clone(),
            config_hash: spec.config_hash(),
            working_dir: None,
            ports: Vec::new(),
        };
        assert_eq!(decide(&spec, None), Action::Create);
        assert_eq!(decide(&spec, Some(&observed)), Action::Keep);
        observed.state = crate::engine::State::Exited;
        assert_eq!(decide(&spec, Some(&observed)), Action::Start);
        observed.config_hash = "old".into();
        assert_eq!(decide(&spec, Some(&observed)), Action::Recreate);
    }

    #[test]
    fn a_changed_value_changes_the_hash() {
        let stack = shop();
        let a = container_spec(
            &stack,
            &stack.services["db"],
            &values(&stack),
            &UserConfig::default(),
        );
        let other = Values::resolve(
            &stack,
            &[("DB_PASSWORD".to_string(), "other".to_string())]
                .into_iter()
                .collect(),
        );
        let b = container_spec(
            &stack,
            &stack.services["db"],
            &other,
            &UserConfig::default(),
        );
        assert_ne!(a.config_hash(), b.config_hash());
        let cache_a = container_spec(
            &stack,
            &stack.services["cache"],
            &values(&stack),
            &UserConfig::default(),
        );
        let cache_b = container_spec(
            &stack,
            &stack.services["cache"],
            &other,
            &UserConfig::default(),
        );
        assert_eq!(
            cache_a.config_hash(),
            cache_b.config_hash(),
            "cache does not use the password"
        );
    }

    #[test]
    fn selection_pulls_in_dependencies_and_honours_profiles() {
        let text = "[project]\nname = \"x\"\n[services.web]\nimage = \"a\"\ndepends_on = [\"db\"]\n[services.db]\nimage = \"b\"\n[services.tools]\nimage = \"c\"\nprofiles = [\"debug\"]\n";
        let stack = crate::stack::load_source(
            &SourceFile::new("devenv.toml", text),
            Path::new("."),
            Path::new("devenv.toml"),
        )
        .unwrap();
        let names = |v: Vec<&Service>| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(select_services(&stack, &["web".into()], &[]).unwrap()),
            ["db", "web"]
        );
        assert_eq!(
            names(select_services(&stack, &[], &[]).unwrap()),
            ["db", "web"]
        );
        assert_eq!(
            names(select_services(&stack, &[], &["debug".into()]).unwrap()),
            ["db", "web", "tools"]
        );
        assert!(select_services(&stack, &["nope".into()], &[]).is_err());
    }
}
