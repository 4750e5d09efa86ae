//! The validated stack: what every other module works from. Built only by `stack::load`.

use crate::diagnostic::Location;
use indexmap::IndexMap;
use std::path::PathBuf;
use std::time::Duration;

/// A validated `devenv.toml`.
#[derive(Debug, Clone)]
pub struct Stack {
    /// `[project]`.
    pub project: Project,
    /// Services in file order.
    pub services: IndexMap<String, Service>,
    /// Every variable the stack uses (`.env` keys), in the order `.env.example` lists them.
    pub variables: IndexMap<String, Variable>,
    /// `[database]`.
    pub database: Option<Database>,
    /// `[apps.NAME]` in file order: the project's own processes.
    pub apps: IndexMap<String, App>,
    /// Directory holding the stack file; relative paths resolve against it.
    pub root: PathBuf,
    /// The stack file.
    pub file: PathBuf,
}

/// `[project]`.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project name devenv runs under: containers, network and volumes are prefixed with
    /// it. It is `declared_name` unless `--name`/`DEVENV_PROJECT` or a git worktree says
    /// otherwise (see `origin`).
    pub name: String,
    /// The name written in devenv.toml; generated files use it, so they are the same in
    /// every checkout.
    pub declared_name: String,
    /// Where `name` came from.
    pub origin: NameOrigin,
    /// One line about the project.
    pub description: Option<String>,
    /// Whether port conflicts may be solved by another host port.
    pub remap_ports: bool,
}

/// Where a project's runtime name came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NameOrigin {
    /// `[project] name` in devenv.toml.
    #[default]
    StackFile,
    /// `--name` or `DEVENV_PROJECT`.
    Override,
    /// The stack file's name plus the name of the git worktree it sits in.
    Worktree(String),
}

/// One service, with its catalog entry merged in.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Service name (`db`).
    pub name: String,
    /// Catalog entry it came from (`postgres`).
    pub catalog: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Image reference as written (may hold `${VAR}`).
    pub image: String,
    /// Command replacing the image default.
    pub command: Option<Vec<String>>,
    /// Published ports.
    pub ports: Vec<Port>,
    /// Container environment; values may reference variables.
    pub env: IndexMap<String, String>,
    /// Named volumes and bind mounts.
    pub volumes: Vec<Volume>,
    /// Services that must be ready first.
    pub depends_on: Vec<String>,
    /// Readiness check.
    pub health: Option<Health>,
    /// Protocol-level probe from the catalog.
    pub probe: Option<Probe>,
    /// Connection URL template from the catalog (`HOST`, `PORT` and container env names).
    pub url: Option<String>,
    /// Compose profiles.
    pub profiles: Vec<String>,
    /// Host address ports are published on.
    pub host_ip: String,
    /// Access to the host the service was explicitly allowed.
    pub host_access: HostAccess,
}

/// Powers over the host a service asked for (each needs `allow_host_access = true`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAccess {
    /// `privileged = true`.
    pub privileged: bool,
    /// `network_mode = "host"`.
    pub host_network: bool,
    /// `docker_socket = true`.
    pub docker_socket: bool,
}

impl Service {
    /// The prefix of this service's variables: `db` → `DB`, `web-api` → `WEB_API`.
    pub fn var_prefix(&self) -> String {
        var_prefix(&self.name)
    }
}

/// `db` → `DB`, `web-api` → `WEB_API`.
pub fn var_prefix(service: &str) -> String {
    service.to_ascii_uppercase().replace(['-', '.'], "_")
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Port inside the container.
    pub container: u16,
    /// Where it is published on the host.
    pub host: HostPort,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl Port {
    /// The host port when nothing overrides it.
    pub fn default_host_port(&self) -> u16 {
        match &self.host {
            HostPort::Variable { default, .. } => *default,
            HostPort::Fixed(port) => *port,
        }
    }
}

/// How a host port is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPort {
    /// From a variable (`DB_PORT`), defaulting to `default`; may be remapped.
    Variable {
        /// Variable name.
        name: String,
        /// Value when the variable is unset.
        default: u16,
    },
    /// Written in devenv.toml; never remapped.
    Fixed(u16),
}

/// A volume mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    /// A named volume, scoped to its service (`db-data`).
    Named {
        /// Volume name within the project (Docker's is `<project>_<name>`).
        name: String,
        /// Mount path in the container.
        target: String,
        /// Mounted read-only.
        read_only: bool,
    },
    /// A host directory or file.
    Bind {
        /// Host path as written (relative to the project root).
        source: String,
        /// Mount path in the container.
        target: String,
        /// Mounted read-only.
        read_only: bool,
    },
}

/// A readiness check with Docker's timing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// What is checked.
    pub check: HealthCheck,
    /// Time between Docker's checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period: Duration,
}

/// What a health check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// A command inside the container.
    Command(Vec<String>),
    /// A TCP connection to a container port.
    Tcp(u16),
    /// An HTTP GET expecting 2xx.
    Http {
        /// Path, starting with `/`.
        path: String,
        /// Container port.
        port: u16,
    },
}

/// Protocol-level readiness probes for catalog services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A PostgreSQL login.
    Postgres,
    /// A MySQL/MariaDB login.
    Mysql,
    /// Redis `PING`.
    Redis,
    /// RabbitMQ: the AMQP 0-9-1 protocol header answered with `Connection.Start`.
    Amqp,
}

/// A variable of the stack: one key of `.env`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Name (`DB_PORT`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Where it comes from.
    pub kind: VariableKind,
    /// Generated randomly; `<REPLACE_ME>` in `.env.example`.
    pub secret: bool,
    /// Value template (may reference other variables); `None` for secrets without one.
    pub value: Option<String>,
}

/// Where a variable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableKind {
    /// The host port of a service's published port.
    HostPort {
        /// Service name.
        service: String,
        /// Container port.
        container_port: u16,
    },
    /// The port of an app (`API_PORT`).
    AppPort {
        /// App name.
        app: String,
    },
    /// Declared under `[env.NAME]`.
    Declared,
    /// A secret of a catalog image the stack did not set (`DB_POSTGRES_PASSWORD`).
    CatalogSecret {
        /// Service name.
        service: String,
        /// Container env key.
        key: String,
    },
}

impl Variable {
    /// The service a variable belongs to, for grouping.
    pub fn service(&self) -> Option<&str> {
        match &self.kind {
            VariableKind::HostPort { service, .. }
            | VariableKind::CatalogSecret { service, .. } => Some(service),
            VariableKind::AppPort { .. } | VariableKind::Declared => None,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone)]
pub struct Database {
    /// Service running the database (`None` for SQLite).
    pub service: Option<String>,
    /// URL template seen from the host.
    pub url: Option<String>,
    /// Migrations directory, relative to the root.
    pub migrations: Option<PathBuf>,
    /// A migration tool run instead of the SQL migrations.
    pub migrate_command: Option<Vec<String>>,
    /// The migration tool whose layout and table the migrations follow (`None`: detected).
    pub format: Option<crate::database::format::Format>,
    /// Seeds, applied in order.
    pub seeds: Vec<Seed>,
    /// Whether a new database volume may start from a seeded snapshot (`cache = false`: never).
    pub cache: bool,
}

/// One seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// A `.sql` file, or a directory of them applied in name order (relative to the root).
    Path(PathBuf),
    /// A command run on the host with the stack's environment.
    Command(Vec<String>),
}

/// `[apps.NAME]`: a process of the project's own (backend, frontend, worker) run on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// App name (`api`); shares one namespace with the services.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// What runs.
    pub command: AppCommand,
    /// Where the command is written, for checks made after loading.
    pub command_location: Option<Box<Location>>,
    /// The app's container image (may hold `${VAR}`): what `devenv export kubernetes` runs
    /// as a Deployment; `up` ignores it and runs `command` on the host.
    pub image: Option<String>,
    /// Working directory, relative to the stack's root (empty: the root itself).
    pub cwd: PathBuf,
    /// Its port and the variable that holds it.
    pub port: Option<AppPort>,
    /// Whether the app gets `PORT` set to its port.
    pub port_env: bool,
    /// Environment on top of the stack's variables; values may reference variables.
    pub env: IndexMap<String, String>,
    /// A file generated for the app before it starts.
    pub env_file: Option<AppEnvFile>,
    /// Services and apps that must be ready first.
    pub depends_on: Vec<String>,
    /// Readiness check (`cmd` runs on the host, in `cwd`).
    pub health: Option<Health>,
    /// What happens when the app exits.
    pub restart: RestartPolicy,
    /// A command run before the first start and again when its inputs change.
    pub setup: Option<AppSetup>,
    /// Paths whose changes restart the app.
    pub watch: Option<AppWatch>,
}

/// How an app's command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    /// A command line run through `sh -c`.
    Shell(String),
    /// A program and its arguments, run without a shell.
    Argv(Vec<String>),
}

impl AppCommand {
    /// The program and arguments to execute: `sh -c LINE` for a command line.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell(line) => vec!["sh".into(), "-c".into(), line.clone()],
            Self::Argv(argv) => argv.clone(),
        }
    }
}

/// An app's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPort {
    /// The variable holding it (`API_PORT`); `.env` may override it.
    pub var: String,
    /// The port written in devenv.toml.
    pub default: u16,
}

/// What the supervisor does when an app exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Leave it stopped.
    Never,
    /// Restart after a non-zero exit code or a signal.
    #[default]
    OnFailure,
    /// Restart whenever it exits.
    Always,
}

/// `env_file = { path, vars }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEnvFile {
    /// Where it is written, relative to the stack's root.
    pub path: PathBuf,
    /// Its variables; values may reference stack variables.
    pub vars: IndexMap<String, String>,
}

/// `setup = { command, inputs }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSetup {
    /// The setup command.
    pub command: AppCommand,
    /// Where it is written, for checks made after loading.
    pub command_location: Option<Box<Location>>,
    /// Files whose change reruns setup, relative to the stack's root.
    pub inputs: Vec<PathBuf>,
}

/// `watch = { paths, ignore }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppWatch {
    /// Watched paths, relative to the stack's root.
    pub paths: Vec<PathBuf>,
    /// Glob patterns ignored.
    pub ignore: Vec<String>,
}
