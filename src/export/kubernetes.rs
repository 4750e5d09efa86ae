//! `devenv export kubernetes`: manifests for a dev namespace. Each service becomes a
//! Deployment (a StatefulSet when it keeps a named volume, each volume a
//! PersistentVolumeClaim) with a readiness probe from its health check, and a Service; each
//! app that names an `image` a Deployment and a Service; the secret variables one Secret
//! holding placeholders; the SQL migrations and seed files ConfigMaps applied by a Job with
//! the database image's own client (`psql`, `mysql`/`mariadb`).
//!
//! The Job applies every migration, then every seed file, in order, once: it keeps no record
//! of what it applied (devenv's `_sqlx_migrations` and `_devenv_seeds` are not written), so
//! it is meant for a fresh database; a second run applies them again. Migration and seed
//! commands run on the host and are not exported.

use super::values::{Context, Expanded, Network};
use super::{Document, Export, Options, Report, Target};
use crate::database::files;
use crate::database::format::{self, Format};
use crate::database::seed::{self, Item};
use crate::database::tools::ToolMigrations;
use crate::diagnostic::Diagnostic;
use crate::stack::{App, Health, HealthCheck, Probe, Service, Stack, Volume};
use indexmap::IndexMap;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// What a Secret holds until the real values are put in.
pub const PLACEHOLDER: &str = crate::generate::PLACEHOLDER;

/// Storage each PersistentVolumeClaim asks for.
const STORAGE: &str = "1Gi";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    #[serde(flatten)]
    content: Content,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    labels: IndexMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content {
    None {},
    Spec {
        spec: Spec,
    },
    Secret {
        #[serde(rename = "type")]
        type_: &'static str,
        #[serde(rename = "stringData")]
        string_data: IndexMap<String, String>,
    },
    Data {
        data: IndexMap<String, String>,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Spec {
    Workload(WorkloadSpec),
    Service(ServiceSpec),
    Claim(ClaimSpec),
    Job(JobSpec),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkloadSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    replicas: u32,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: IndexMap<&'static str, String>,
}

#[derive(Serialize)]
struct PodTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<PodMetadata>,
    spec: PodSpec,
}

#[derive(Serialize)]
struct PodMetadata {
    labels: IndexMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_policy: Option<&'static str>,
    containers: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<PodVolume>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<ContainerPort>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volume_mounts: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness_probe: Option<K8sProbe>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: String,
    container_port: u16,
    protocol: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_from: Option<EnvSource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    secret_key_ref: KeyRef,
}

#[derive(Serialize)]
struct KeyRef {
    name: String,
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_path: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodVolume {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent_volume_claim: Option<ClaimRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_map: Option<ConfigMapRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRef {
    claim_name: String,
}

#[derive(Serialize)]
struct ConfigMapRef {
    name: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct K8sProbe {
    #[serde(skip_serializing_if = "Option::is_none")]
    exec: Option<ExecAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_socket: Option<TcpAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_get: Option<HttpAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_delay_seconds: Option<u64>,
    period_seconds: u64,
    timeout_seconds: u64,
    failure_threshold: u32,
}

#[derive(Serialize)]
struct ExecAction {
    command: Vec<String>,
}

#[derive(Serialize)]
struct TcpAction {
    port: u16,
}

#[derive(Serialize)]
struct HttpAction {
    path: String,
    port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceSpec {
    selector: IndexMap<&'static str, String>,
    ports: Vec<ServicePort>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePort {
    name: String,
    port: u16,
    target_port: u16,
    protocol: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimSpec {
    access_modes: Vec<&'static str>,
    resources: ClaimResources,
}

#[derive(Serialize)]
struct ClaimResources {
    requests: IndexMap<&'static str, &'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobSpec {
    backoff_limit: u32,
    template: PodTemplate,
}

/// A Kubernetes name (RFC 1123 label) from a devenv name: lowercase, `_` and `.` as `-`.
pub fn dns_label(name: &str) -> String {
    let label: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let label = label.trim_matches('-');
    label[..label.len().min(63)]
        .trim_end_matches('-')
        .to_string()
}

/// The name of a service's or app's objects: a DNS label that starts with a letter, as a
/// Service name must (`2fa` → `s-2fa`).
pub fn object_name(name: &str) -> String {
    let label = dns_label(name);
    if label.starts_with(|c: char| c.is_ascii_alphabetic()) {
        label
    } else {
        format!("s-{label}")
    }
}

/// Whether `name` is a valid namespace name.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn secret_ref(name: &str) -> String {
    format!("$({name})")
}

/// Kubernetes expands `$(NAME)` in env values, command and args: a literal one is `$$(NAME)`.
fn literal(text: &str) -> String {
    text.replace("$(", "$$(")
}

/// The manifests being built, in the order they are applied.
struct Builder<'a> {
    ctx: Context<'a>,
    namespace: String,
    project: String,
    secret_name: String,
    documents: Vec<Document>,
    report: Report,
}

impl Builder<'_> {
    fn push(&mut self, kind: &'static str, name: &str, labels: bool, content: Content) {
        let api_version = match kind {
            "Deployment" | "StatefulSet" => "apps/v1",
            "Job" => "batch/v1",
            _ => "v1",
        };
        let manifest = Manifest {
            api_version,
            kind,
            metadata: Metadata {
                name: name.to_string(),
                namespace: (kind != "Namespace").then(|| self.namespace.clone()),
                labels: if labels {
                    self.labels(name)
                } else {
                    IndexMap::new()
                },
            },
            content,
        };
        let body = super::to_yaml(&manifest);
        let file_name = format!(
            "{:02}-{}-{name}.yaml",
            self.documents.len(),
            kind.to_ascii_lowercase()
        );
        self.documents.push(Document { file_name, body });
    }

    fn labels(&self, name: &str) -> IndexMap<&'static str, String> {
        IndexMap::from([
            ("app.kubernetes.io/name", name.to_string()),
            ("app.kubernetes.io/part-of", self.project.clone()),
            ("app.kubernetes.io/managed-by", "devenv".to_string()),
        ])
    }

    fn selector(&self, name: &str) -> IndexMap<&'static str, String> {
        IndexMap::from([
            ("app.kubernetes.io/name", name.to_string()),
            ("app.kubernetes.io/part-of", self.project.clone()),
        ])
    }

    /// An environment entry: a secret by reference, text with `$(SECRET)` references.
    fn env_var(&self, name: &str, value: &Expanded) -> EnvVar {
        match value.whole_secret(&self.ctx) {
            Some(secret) => EnvVar {
                name: name.to_string(),
                value: None,
                value_from: Some(EnvSource {
                    secret_key_ref: KeyRef {
                        name: self.secret_name.clone(),
                        key: secret.to_string(),
                    },
                }),
            },
            None => EnvVar {
                name: name.to_string(),
                value: Some(value.text.clone()),
                value_from: None,
            },
        }
    }

    /// A container's environment: the secrets its values refer to first (Kubernetes expands
    /// `$(NAME)` only from entries defined before), then `entries`.
    fn environment(&self, entries: Vec<(String, Expanded)>) -> Vec<EnvVar> {
        let mut env: Vec<EnvVar> = Vec::new();
        let values = entries
            .iter()
            .filter(|(_, value)| value.whole_secret(&self.ctx).is_none());
        for (_, value) in values {
            for secret in &value.secrets {
                let defined = env.iter().any(|e| &e.name == secret)
                    || entries.iter().any(|(n, _)| n == secret);
                if !defined {
                    let reference = self.ctx.expand(&format!("${{{secret}}}"));
                    env.push(self.env_var(secret, &reference));
                }
            }
        }
        // Entries that are a secret come first too, so later values may refer to them.
        let (secrets, plain): (Vec<_>, Vec<_>) = entries
            .iter()
            .partition(|(_, value)| value.whole_secret(&self.ctx).is_some());
        env.extend(secrets.iter().map(|(n, v)| self.env_var(n, v)));
        env.extend(plain.iter().map(|(n, v)| self.env_var(n, v)));
        env
    }

    fn service(&mut self, service: &Service) {
        let name = object_name(&service.name);
        if !service.profiles.is_empty() {
            self.report.dropped(
                "service",
                &service.name,
                format!(
                    "in profile {}, which `devenv up` starts only when asked",
                    service.profiles.join(", ")
                ),
            );
            return;
        }
        if !service.depends_on.is_empty() {
            self.report.dropped(
                "depends_on",
                &service.name,
                format!(
                    "Kubernetes starts every workload at once (none waits for {}); a container that needs another fails and restarts until it answers",
                    service.depends_on.join(", ")
                ),
            );
        }
        let access = &service.host_access;
        if access.privileged || access.host_network || access.docker_socket {
            self.report.dropped(
                "host access",
                &service.name,
                "privileged, host network and the Docker socket have no place in a dev namespace",
            );
        }
        let mut mounts = Vec::new();
        let mut volumes = Vec::new();
        for volume in &service.volumes {
            match volume {
                Volume::Named {
                    name: volume,
                    target,
                    read_only,
                } => {
                    let claim = dns_label(volume);
                    // A subdirectory: a fresh volume's root may hold `lost+found`, which the
                    // database images refuse as a data directory.
                    mounts.push(VolumeMount {
                        name: claim.clone(),
                        mount_path: target.clone(),
                        sub_path: Some("data"),
                        read_only: *read_only,
                    });
                    volumes.push(PodVolume {
                        name: claim.clone(),
                        persistent_volume_claim: Some(ClaimRef {
                            claim_name: claim.clone(),
                        }),
                        config_map: None,
                    });
                    self.push(
                        "PersistentVolumeClaim",
                        &claim,
                        true,
                        Content::Spec {
                            spec: Spec::Claim(ClaimSpec {
                                access_modes: vec!["ReadWriteOnce"],
                                resources: ClaimResources {
                                    requests: IndexMap::from([("storage", STORAGE)]),
                                },
                            }),
                        },
                    );
                    self.report.exported(
                        "volume",
                        volume,
                        format!("PersistentVolumeClaim {claim} ({STORAGE})"),
                    );
                }
                Volume::Bind { source, target, .. } => self.report.dropped(
                    "bind mount",
                    &service.name,
                    format!("{source}:{target}: a pod cannot mount the project's directory; build the files into the image or put them in a ConfigMap"),
                ),
            }
        }
        let env = service
            .env
            .iter()
            .map(|(key, value)| (key.clone(), self.ctx.expand(value)))
            .collect();
        let container = Container {
            name: name.clone(),
            image: self.ctx.expand(&service.image).text,
            command: None,
            args: service
                .command
                .as_ref()
                .map(|argv| argv.iter().map(|a| self.ctx.expand(a).text).collect()),
            ports: container_ports(service.ports.iter().map(|p| (p.container, &*p.protocol))),
            env: self.environment(env),
            volume_mounts: mounts,
            readiness_probe: service
                .health
                .as_ref()
                .map(|health| self.probe(health))
                .or_else(|| tcp_fallback(service)),
        };
        let stateful = !volumes.is_empty();
        let kind = if stateful {
            "StatefulSet"
        } else {
            "Deployment"
        };
        self.workload(kind, &name, container, volumes);
        self.report.exported(
            "service",
            &service.name,
            format!("{kind} {name}, Service {name}"),
        );
        self.service_object(
            &name,
            service.ports.iter().map(|p| (p.container, &*p.protocol)),
        );
    }

    fn workload(
        &mut self,
        kind: &'static str,
        name: &str,
        container: Container,
        volumes: Vec<PodVolume>,
    ) {
        let spec = WorkloadSpec {
            service_name: (kind == "StatefulSet").then(|| name.to_string()),
            replicas: 1,
            selector: Selector {
                match_labels: self.selector(name),
            },
            template: PodTemplate {
                metadata: Some(PodMetadata {
                    labels: self.labels(name),
                }),
                spec: PodSpec {
                    restart_policy: None,
                    containers: vec![container],
                    volumes,
                },
            },
        };
        self.push(
            kind,
            name,
            true,
            Content::Spec {
                spec: Spec::Workload(spec),
            },
        );
    }

    fn service_object<'p>(&mut self, name: &str, ports: impl Iterator<Item = (u16, &'p str)>) {
        let ports: Vec<ServicePort> = ports
            .map(|(port, protocol)| ServicePort {
                name: format!("{protocol}-{port}"),
                port,
                target_port: port,
                protocol: protocol_name(protocol),
            })
            .collect();
        if ports.is_empty() {
            return;
        }
        let spec = ServiceSpec {
            selector: self.selector(name),
            ports,
        };
        self.push(
            "Service",
            name,
            true,
            Content::Spec {
                spec: Spec::Service(spec),
            },
        );
    }

    /// A readiness probe from a health check: only readiness, so a failing check takes the
    /// pod out of its Service and never restarts it (a database's first start may be slow).
    fn probe(&self, health: &Health) -> K8sProbe {
        let mut probe = K8sProbe {
            initial_delay_seconds: (!health.start_period.is_zero())
                .then(|| seconds(health.start_period)),
            period_seconds: seconds(health.interval),
            timeout_seconds: seconds(health.timeout),
            failure_threshold: health.retries.max(1),
            ..K8sProbe::default()
        };
        match &health.check {
            HealthCheck::Command(argv) => {
                // Docker runs a health command without expanding `$(...)`, and so does an
                // exec probe: the command is taken as it is, `$$` read as Compose does.
                let plain = Context {
                    literal: super::values::verbatim,
                    ..self.ctx
                };
                probe.exec = Some(ExecAction {
                    command: argv.iter().map(|a| plain.expand(a).text).collect(),
                });
            }
            HealthCheck::Tcp(port) => probe.tcp_socket = Some(TcpAction { port: *port }),
            HealthCheck::Http { path, port } => {
                probe.http_get = Some(HttpAction {
                    path: path.clone(),
                    port: *port,
                });
            }
        }
        probe
    }

    fn app(&mut self, app: &App) {
        let Some(image) = &app.image else {
            self.report.dropped(
                "app",
                &app.name,
                "it names no `image`: add `image = \"REPOSITORY:TAG\"` under its [apps] table to export it as a Deployment",
            );
            return;
        };
        let name = object_name(&app.name);
        // The stack's variables, then the app's `env` and `PORT` over them (one entry each).
        let mut env: IndexMap<String, Expanded> = self.ctx.variables().into_iter().collect();
        env.extend(
            app.env
                .iter()
                .map(|(key, value)| (key.clone(), self.ctx.expand(value))),
        );
        if let (Some(port), true) = (&app.port, app.port_env) {
            env.insert("PORT".into(), self.ctx.expand(&port.default.to_string()));
        }
        let env: Vec<(String, Expanded)> = env.into_iter().collect();
        let ports: Vec<(u16, &str)> = app.port.iter().map(|p| (p.default, "tcp")).collect();
        let probe = match app.health.as_ref().map(|h| (h, &h.check)) {
            Some((_, HealthCheck::Command(_))) => {
                self.report.dropped(
                    "health check",
                    &app.name,
                    "an app's health command runs on the host; the Deployment has no probe",
                );
                None
            }
            Some((health, _)) => Some(self.probe(health)),
            None => None,
        };
        let container = Container {
            name: name.clone(),
            image: self.ctx.expand(image).text,
            command: None,
            args: None,
            ports: container_ports(ports.iter().copied()),
            env: self.environment(env),
            volume_mounts: Vec::new(),
            readiness_probe: probe,
        };
        self.workload("Deployment", &name, container, Vec::new());
        self.service_object(&name, ports.into_iter());
        self.report.exported(
            "app",
            &app.name,
            format!(
                "Deployment {name}{}",
                if app.port.is_some() {
                    format!(", Service {name}")
                } else {
                    String::new()
                }
            ),
        );
        let host_only: Vec<&str> = [
            ("setup", app.setup.is_some()),
            ("watch", app.watch.is_some()),
            ("env_file", app.env_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        self.report.notes.push(format!(
            "app `{}` runs its image's own command; its `command`{} {} for the host and not exported",
            app.name,
            host_only.iter().map(|k| format!(", `{k}`")).collect::<String>(),
            if host_only.is_empty() { "is" } else { "are" }
        ));
    }

    /// The Job that applies the migrations and seed files, with their ConfigMaps.
    fn database_job(&mut self, stack: &Stack) -> Result<(), Diagnostic> {
        let Some(database) = &stack.database else {
            return Ok(());
        };
        let Some(service) = database
            .service
            .as_deref()
            .and_then(|s| stack.services.get(s))
        else {
            if database.migrations.is_some() || !database.seeds.is_empty() {
                self.report.dropped(
                    "database",
                    "sqlite",
                    "a SQLite database is a file on the host; nothing runs in the cluster",
                );
            }
            return Ok(());
        };
        if !service.profiles.is_empty() {
            if database.migrations.is_some() || !database.seeds.is_empty() {
                self.report.dropped(
                    "migrations",
                    &service.name,
                    "the database's service is in a profile and not exported, so nothing applies them",
                );
            }
            return Ok(());
        }
        if database.migrate_command.is_some() {
            self.report.dropped(
                "migrations",
                &service.name,
                "a migration command runs on the host: run it against the cluster's database yourself (`kubectl port-forward`)",
            );
        }
        let migrations = match &database.migrations {
            Some(dir) => self.migrations(stack, dir, database.format)?,
            None => Vec::new(),
        };
        let mut seeds = Vec::new();
        for item in seed::items(&stack.root, &database.seeds)? {
            match item {
                Item::File(path) => {
                    let text = std::fs::read_to_string(stack.root.join(&path))
                        .map_err(|e| Diagnostic::new(format!("cannot read {path}: {e}")))?;
                    seeds.push((path, text));
                }
                Item::Command(argv) => self.report.dropped(
                    "seeds",
                    &argv.join(" "),
                    "a seed command runs on the host: run it against the cluster's database yourself (`kubectl port-forward`)",
                ),
            }
        }
        if migrations.is_empty() && seeds.is_empty() {
            return Ok(());
        }
        let Some(client) = Client::of(service, database.url.as_deref()) else {
            self.report.dropped(
                "migrations",
                &service.name,
                "the Job needs a PostgreSQL, MySQL or MariaDB service",
            );
            return Ok(());
        };
        let Some(url) = database.url.as_deref() else {
            self.report.dropped(
                "migrations",
                &service.name,
                "[database] has no `url` to reach the database with",
            );
            return Ok(());
        };
        let connection = self.connection(url)?;
        let job = format!("{}-database", self.project);
        let mut volumes = Vec::new();
        let mut mounts = Vec::new();
        let mut script = vec!["set -eu".to_string(), client.wait()];
        for (kind, files) in [("migrations", migrations), ("seeds", seeds)] {
            if files.is_empty() {
                continue;
            }
            let map_name = format!("{}-{kind}", self.project);
            let mut data = IndexMap::new();
            for (index, (path, text)) in files.into_iter().enumerate() {
                let file = Path::new(&path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let key: String = format!("{index:04}-{file}")
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-._".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                script.push(format!(
                    "echo {}",
                    shlex::try_quote(&format!("applying {path}")).unwrap_or_default()
                ));
                script.push(client.apply(&format!("/devenv/{kind}/{key}")));
                data.insert(key, text);
            }
            let size: usize = data.values().map(String::len).sum();
            if size > 900 * 1024 {
                self.report.notes.push(format!(
                    "ConfigMap {map_name} holds {size} bytes; Kubernetes refuses more than 1 MiB"
                ));
            }
            self.push("ConfigMap", &map_name, true, Content::Data { data });
            volumes.push(PodVolume {
                name: kind.to_string(),
                persistent_volume_claim: None,
                config_map: Some(ConfigMapRef {
                    name: map_name.clone(),
                }),
            });
            mounts.push(VolumeMount {
                name: kind.to_string(),
                mount_path: format!("/devenv/{kind}"),
                sub_path: None,
                read_only: true,
            });
            self.report.exported(
                kind,
                &service.name,
                format!("ConfigMap {map_name}, applied by Job {job}"),
            );
        }
        let container = Container {
            name: "apply".into(),
            image: self.ctx.expand(&service.image).text,
            command: Some(vec!["sh".into(), "-c".into(), literal(&script.join("\n"))]),
            args: None,
            ports: Vec::new(),
            env: self.environment(client.env(&connection)),
            volume_mounts: mounts,
            readiness_probe: None,
        };
        let spec = JobSpec {
            backoff_limit: 0,
            template: PodTemplate {
                metadata: None,
                spec: PodSpec {
                    restart_policy: Some("Never"),
                    containers: vec![container],
                    volumes,
                },
            },
        };
        self.push(
            "Job",
            &job,
            true,
            Content::Spec {
                spec: Spec::Job(spec),
            },
        );
        self.report.notes.push(format!(
            "Job {job} applies every migration and seed file once, with the database image's own client, and records nothing: delete it before applying it again, and use it on a fresh database"
        ));
        Ok(())
    }

    /// The migrations to apply, in order: (the file as shown, its SQL). sqlx files whole; for
    /// golang-migrate, goose, dbmate and Flyway the up section of each, as that tool reads it.
    fn migrations(
        &mut self,
        stack: &Stack,
        dir: &Path,
        configured: Option<Format>,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let files = format::read_dir(&stack.root, dir)?;
        let chosen = format::choose(&stack.root, &files, configured)?;
        if chosen.format == Format::Sqlx {
            let up = files::scan(&files)?.up;
            return Ok(files
                .into_iter()
                .filter(|f| {
                    up.values()
                        .any(|shown| *shown == f.shown.display().to_string())
                })
                .map(|f| (f.shown.display().to_string(), f.text))
                .collect());
        }
        self.report.notes.push(format!(
            "the migrations are in {} format ({}): the Job applies the up section of each",
            chosen.format, chosen.why
        ));
        Ok(ToolMigrations::load(chosen.format, dir, &files)?
            .list
            .into_iter()
            .map(|m| {
                let sql: Vec<String> =
                    m.up.statements
                        .iter()
                        .map(|statement| match statement.trim_end().ends_with(';') {
                            true => statement.trim_end().to_string(),
                            false => format!("{};", statement.trim_end()),
                        })
                        .collect();
                (m.shown(), sql.join("\n") + "\n")
            })
            .collect())
    }

    /// The parts of `[database].url` as the cluster sees it, the password as a secret
    /// reference when it is one.
    fn connection(&self, url: &str) -> Result<Connection, Diagnostic> {
        const MARK: &str = "devenvsecret";
        let marked = Context {
            secret: |name| format!("devenvsecret{name}devenvsecret"),
            literal: super::values::verbatim,
            ..self.ctx
        };
        let expanded = marked.expand(url).text;
        let parsed = url::Url::parse(&expanded).map_err(|e| {
            Diagnostic::new(format!(
                "cannot read the database URL of [database] for the Job: {e}"
            ))
            .with_help("write `url` as SCHEME://USER:PASSWORD@HOST:PORT/DATABASE")
        })?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let password = parsed.password().map(decode).unwrap_or_default();
        let password = match password
            .strip_prefix(MARK)
            .and_then(|rest| rest.strip_suffix(MARK))
        {
            Some(secret) => self.ctx.expand(&format!("${{{secret}}}")),
            None => Expanded {
                text: literal(&password),
                secrets: Vec::new(),
            },
        };
        Ok(Connection {
            host: parsed.host_str().unwrap_or("localhost").to_string(),
            port: parsed.port(),
            user: decode(parsed.username()),
            password,
            database: decode(parsed.path().trim_start_matches('/')),
        })
    }
}

/// Where the Job logs in.
struct Connection {
    host: String,
    port: Option<u16>,
    user: String,
    password: Expanded,
    database: String,
}

/// The database client in the database's own image.
#[derive(Clone, Copy)]
enum Client {
    Psql,
    Mysql(&'static str),
}

impl Client {
    fn of(service: &Service, url: Option<&str>) -> Option<Self> {
        let mysql = if service.catalog.as_deref() == Some("mariadb") {
            Self::Mysql("mariadb")
        } else {
            Self::Mysql("mysql")
        };
        match service.probe {
            Some(Probe::Postgres) => Some(Self::Psql),
            Some(Probe::Mysql) => Some(mysql),
            _ => match url?.split(':').next()? {
                "postgres" | "postgresql" => Some(Self::Psql),
                "mysql" | "mariadb" => Some(mysql),
                _ => None,
            },
        }
    }

    /// The client's environment: libpq's `PG*` variables, or `MYSQL_PWD` and devenv's own.
    fn env(self, c: &Connection) -> Vec<(String, Expanded)> {
        let plain = |text: &str| Expanded {
            text: literal(text),
            secrets: Vec::new(),
        };
        let (names, default_port) = match self {
            Self::Psql => (
                ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"],
                5432,
            ),
            Self::Mysql(_) => (
                ["DB_HOST", "DB_PORT", "DB_USER", "MYSQL_PWD", "DB_NAME"],
                3306,
            ),
        };
        let port = c.port.unwrap_or(default_port).to_string();
        vec![
            (names[0].into(), plain(&c.host)),
            (names[1].into(), plain(&port)),
            (names[2].into(), plain(&c.user)),
            (names[3].into(), c.password.clone()),
            (names[4].into(), plain(&c.database)),
        ]
    }

    /// A shell line that waits until the database accepts the login.
    fn wait(self) -> String {
        let check = match self {
            Self::Psql => "psql -c 'SELECT 1'".to_string(),
            Self::Mysql(_) => format!("{} -e 'SELECT 1'", self.login()),
        };
        format!("until {check} > /dev/null 2>&1; do echo 'waiting for the database'; sleep 2; done")
    }

    /// A shell line that applies one SQL file, stopping at its first error.
    fn apply(self, file: &str) -> String {
        let file = shlex::try_quote(file).unwrap_or_default().into_owned();
        match self {
            Self::Psql => format!("psql -v ON_ERROR_STOP=1 -f {file}"),
            Self::Mysql(_) => format!("{} < {file}", self.login()),
        }
    }

    fn login(self) -> String {
        match self {
            Self::Psql => "psql".into(),
            Self::Mysql(program) => {
                format!("{program} -h \"$DB_HOST\" -P \"$DB_PORT\" -u \"$DB_USER\" \"$DB_NAME\"")
            }
        }
    }
}

/// A TCP readiness check on the first TCP port of a service that has no health check.
fn tcp_fallback(service: &Service) -> Option<K8sProbe> {
    let port = service.ports.iter().find(|p| p.protocol == "tcp")?;
    Some(K8sProbe {
        tcp_socket: Some(TcpAction {
            port: port.container,
        }),
        period_seconds: 2,
        timeout_seconds: 1,
        failure_threshold: 30,
        ..K8sProbe::default()
    })
}

fn container_ports<'p>(ports: impl Iterator<Item = (u16, &'p str)>) -> Vec<ContainerPort> {
    ports
        .map(|(port, protocol)| ContainerPort {
            name: format!("{protocol}-{port}"),
            container_port: port,
            protocol: protocol_name(protocol),
        })
        .collect()
}

fn protocol_name(protocol: &str) -> &'static str {
    if protocol == "udp" { "UDP" } else { "TCP" }
}

/// Whole seconds, at least 1 (Kubernetes counts probes in seconds).
fn seconds(duration: Duration) -> u64 {
    duration.as_secs_f64().ceil().max(1.0) as u64
}

/// Builds the manifests.
pub fn export(stack: &Stack, options: &Options) -> Result<Export, Diagnostic> {
    let project = dns_label(&stack.project.declared_name);
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| format!("{project}-dev"));
    if !is_dns_label(&namespace) {
        return Err(Diagnostic::new(format!("`{namespace}` is not a Kubernetes namespace name"))
            .with_help("use lowercase letters, digits and `-`, at most 63 characters, starting and ending with a letter or digit (`--namespace shop-dev`)"));
    }
    let ctx = Context {
        stack,
        secret: secret_ref,
        literal,
        network: Network::ServiceName,
        host: |service| object_name(service),
    };
    let mut builder = Builder {
        ctx,
        namespace: namespace.clone(),
        secret_name: format!("{project}-secrets"),
        project,
        documents: Vec::new(),
        report: Report::new(Target::Kubernetes),
    };
    builder.push("Namespace", &namespace, false, Content::None {});
    let secrets = ctx.secret_names();
    if !secrets.is_empty() {
        let name = builder.secret_name.clone();
        let data = secrets
            .iter()
            .map(|s| (s.clone(), PLACEHOLDER.to_string()))
            .collect();
        builder.push(
            "Secret",
            &name,
            true,
            Content::Secret {
                type_: "Opaque",
                string_data: data,
            },
        );
        for secret in &secrets {
            builder
                .report
                .exported("secret", secret, format!("Secret {name} (placeholder)"));
        }
        builder.report.notes.push(format!(
            "Secret {name} holds {PLACEHOLDER} placeholders; put in the real values with `kubectl -n {namespace} create secret generic {name} {} --dry-run=client -o yaml | kubectl apply -f -`",
            secrets
                .iter()
                .map(|s| format!("--from-literal={s}=..."))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        builder.report.secrets = secrets;
    }
    for service in stack.services.values() {
        builder.service(service);
    }
    builder.database_job(stack)?;
    for app in stack.apps.values() {
        builder.app(app);
    }
    Ok(Export {
        target: Target::Kubernetes,
        documents: builder.documents,
        report: builder.report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{example, stack};

    fn objects(export: &Export) -> Vec<serde_norway::Value> {
        export
            .documents
            .iter()
            .map(|d| serde_norway::from_str(&d.body).unwrap())
            .collect()
    }

    fn find<'a>(
        objects: &'a [serde_norway::Value],
        kind: &str,
        name: &str,
    ) -> &'a serde_norway::Value {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    #[test]
    fn goose_migrations_are_applied_by_their_up_sections() {
        let (_dir, stack) = stack(
            "[project]\nname = \"g\"\n[services.db]\nuse = \"postgres\"\n[env.DATABASE_URL]\nvalue = \"postgres://postgres:${DB_POSTGRES_PASSWORD}@127.0.0.1:${DB_PORT}/app\"\n[database]\nservice = \"db\"\nurl = \"${DATABASE_URL}\"\nmigrations = \"migrations\"\n",
            &[(
                "migrations/20240101000000_a.sql",
                "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
            )],
        );
        let export = export(&stack, &Options::default()).unwrap();
        let objects = objects(&export);
        let map = find(&objects, "ConfigMap", "g-migrations");
        let sql = map["data"]["0000-20240101000000_a.sql"].as_str().unwrap();
        assert!(sql.contains("CREATE TABLE a (id int);"), "{sql}");
        assert!(!sql.contains("DROP TABLE"), "{sql}");
        assert!(
            export
                .report
                .notes
                .iter()
                .any(|n| n.contains("goose format"))
        );
    }

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(dns_label("My_App.v2"), "my-app-v2");
        assert_eq!(object_name("2fa"), "s-2fa");
        assert_eq!(object_name("db"), "db");
        assert!(is_dns_label("shop-dev") && !is_dns_label("Shop") && !is_dns_label("-x"));
    }

    #[test]
    fn the_example_becomes_a_dev_namespace() {
        let export = export(&example(), &Options::default()).unwrap();
        let objects = objects(&export);
        assert_eq!(objects[0]["kind"], "Namespace");
        assert_eq!(objects[0]["metadata"]["name"], "shop-dev");
        let secret = find(&objects, "Secret", "shop-secrets");
        assert_eq!(secret["stringData"]["DB_PASSWORD"], PLACEHOLDER);
        let db = find(&objects, "StatefulSet", "db");
        let container = &db["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], "postgres:16");
        let env = container["env"].as_sequence().unwrap();
        let password = env
            .iter()
            .find(|e| e["name"] == "POSTGRES_PASSWORD")
            .unwrap();
        assert_eq!(password["valueFrom"]["secretKeyRef"]["key"], "DB_PASSWORD");
        let probe = &container["readinessProbe"];
        assert_eq!(probe["exec"]["command"][0], "sh");
        assert!(
            probe["exec"]["command"][2]
                .as_str()
                .unwrap()
                .contains("\"${POSTGRES_USER:-postgres}\"")
        );
        assert_eq!(probe["failureThreshold"], 30);
        find(&objects, "PersistentVolumeClaim", "db-data");
        find(&objects, "PersistentVolumeClaim", "cache-data");
        find(&objects, "Service", "db");
        let migrations = find(&objects, "ConfigMap", "shop-migrations");
        assert!(
            migrations["data"]["0000-0001_create_products.sql"]
                .as_str()
                .unwrap()
                .contains("CREATE TABLE")
        );
        let job = find(&objects, "Job", "shop-database");
        let job_container = &job["spec"]["template"]["spec"]["containers"][0];
        let script = job_container["command"][2].as_str().unwrap();
        assert!(
            script.contains(
                "psql -v ON_ERROR_STOP=1 -f /devenv/migrations/0000-0001_create_products.sql"
            ),
            "{script}"
        );
        assert!(
            script.contains("/devenv/seeds/0000-01_products.sql"),
            "{script}"
        );
        let job_env = job_container["env"].as_sequence().unwrap();
        let pghost = job_env.iter().find(|e| e["name"] == "PGHOST").unwrap();
        assert_eq!(pghost["value"], "db");
        let pgpassword = job_env.iter().find(|e| e["name"] == "PGPASSWORD").unwrap();
        assert_eq!(
            pgpassword["valueFrom"]["secretKeyRef"]["key"],
            "DB_PASSWORD"
        );
        let dropped = crate::export::tests::dropped(&export.report);
        assert_eq!(dropped, [("app", "api"), ("app", "web")]);
    }

    #[test]
    fn an_app_with_an_image_is_a_deployment_with_the_stack_environment() {
        let (_dir, stack) = stack(
            r#"[project]
name = "shop_x"
[services.db]
use = "mysql"
[env.DATABASE_URL]
value = "mysql://app:${DB_MYSQL_PASSWORD}@127.0.0.1:${DB_PORT}/app"
[database]
service = "db"
url = "${DATABASE_URL}"
seeds = ["seed.sql"]
[apps.api]
command = "x"
image = "registry.example.com/api:1"
port = 8000
health = { http = "/health" }
env = { DB_PORT = "3307" }
"#,
            &[("seed.sql", "INSERT INTO t VALUES (1);\n")],
        );
        let export = export(
            &stack,
            &Options {
                namespace: Some("review-1".into()),
                ..Options::default()
            },
        )
        .unwrap();
        let objects = objects(&export);
        assert_eq!(objects[0]["metadata"]["name"], "review-1");
        let api = find(&objects, "Deployment", "api");
        let container = &api["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["readinessProbe"]["httpGet"]["port"], 8000);
        let env = container["env"].as_sequence().unwrap();
        let names: Vec<&str> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(
            names.iter().filter(|n| **n == "DB_PORT").count(),
            1,
            "{names:?}"
        );
        let port = env.iter().find(|e| e["name"] == "DB_PORT").unwrap();
        assert_eq!(port["value"], "3307");
        let url = env.iter().find(|e| e["name"] == "DATABASE_URL").unwrap();
        assert_eq!(url["value"], "mysql://app:$(DB_MYSQL_PASSWORD)@db:3306/app");
        let secret_at = names
            .iter()
            .position(|n| *n == "DB_MYSQL_PASSWORD")
            .unwrap();
        let url_at = names.iter().position(|n| *n == "DATABASE_URL").unwrap();
        assert!(secret_at < url_at, "{names:?}");
        find(&objects, "Service", "api");
        let job = find(&objects, "Job", "shop-x-database");
        let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap();
        assert!(script.contains("mysql -h \"$DB_HOST\""), "{script}");
        let secret = find(&objects, "Secret", "shop-x-secrets");
        assert_eq!(secret["stringData"]["DB_MYSQL_ROOT_PASSWORD"], PLACEHOLDER);
        assert!(Options::default().namespace.is_none());
        let bad = super::export(
            &stack,
            &Options {
                namespace: Some("Bad_Name".into()),
                ..Options::default()
            },
        );
        assert!(
            bad.unwrap_err()
                .message
                .contains("not a Kubernetes namespace name")
        );
    }
}
