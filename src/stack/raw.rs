//! The on-disk shape of `devenv.toml` and of catalog entries, as serde reads it, with spans
//! kept on every value a later check may need to point at.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A whole `devenv.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// `[project]`.
    pub project: Spanned<RawProject>,
    /// `[services.NAME]`.
    #[serde(default)]
    pub services: IndexMap<Spanned<String>, Spanned<RawService>>,
    /// `[env.NAME]`.
    #[serde(default)]
    pub env: IndexMap<Spanned<String>, Spanned<RawEnvVar>>,
    /// `[database]`.
    pub database: Option<Spanned<RawDatabase>>,
    /// `[apps.NAME]`: the project's own processes, run on the host.
    #[serde(default)]
    pub apps: IndexMap<Spanned<String>, Spanned<RawApp>>,
}

/// `[project]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// Compose project name: prefixes containers, the network and volumes.
    pub name: Spanned<String>,
    /// One line saying what the project is.
    pub description: Option<String>,
    /// Whether a port conflict may be solved by picking another host port.
    pub remap_ports: Option<bool>,
}

/// `[services.NAME]`, both for a stack and (with the catalog-only keys) for a catalog entry.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Catalog entry this service starts from.
    #[serde(rename = "use")]
    pub use_: Option<Spanned<String>>,
    /// What the service is for (shown in docs).
    pub description: Option<String>,
    /// Image reference.
    pub image: Option<Spanned<String>>,
    /// Command (argument list) replacing the image's default.
    pub command: Option<Spanned<Vec<Spanned<String>>>>,
    /// Published ports: `"5432"` (host port from a variable) or `"15432:5432"` (fixed).
    pub ports: Option<Spanned<Vec<Spanned<Scalar>>>>,
    /// Container environment.
    pub env: Option<IndexMap<Spanned<String>, Spanned<Scalar>>>,
    /// `"name:/path"` (named volume) or `"./dir:/path[:ro]"` (bind mount).
    pub volumes: Option<Spanned<Vec<Spanned<String>>>>,
    /// Services that must be ready before this one starts.
    pub depends_on: Option<Vec<Spanned<String>>>,
    /// Readiness check.
    pub health: Option<Spanned<RawHealth>>,
    /// Compose profiles this service belongs to.
    pub profiles: Option<Vec<Spanned<String>>>,
    /// Host address ports are published on (`127.0.0.1` unless set; `0.0.0.0` opts into all).
    pub host_ip: Option<Spanned<String>>,
    /// Run privileged (needs `allow_host_access = true`).
    pub privileged: Option<Spanned<bool>>,
    /// `"host"` shares the host's network (needs `allow_host_access = true`).
    pub network_mode: Option<Spanned<String>>,
    /// Mount the Docker socket (needs `allow_host_access = true`).
    pub docker_socket: Option<Spanned<bool>>,
    /// The explicit opt-in for the three keys above.
    #[serde(default)]
    pub allow_host_access: bool,
}

/// `[apps.NAME]`: a process of the project's own, run on the host beside the containers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    /// What the app is for (shown in docs).
    pub description: Option<String>,
    /// A string run through `sh -c`, or an argv array.
    pub command: Spanned<RawAppCommand>,
    /// The app's container image, for `devenv export kubernetes` (`up` runs `command`).
    pub image: Option<Spanned<String>>,
    /// Working directory, relative to devenv.toml.
    pub cwd: Option<Spanned<String>>,
    /// Preferred host port.
    pub port: Option<Spanned<u16>>,
    /// Whether the app gets `PORT` (default true).
    pub port_env: Option<bool>,
    /// Environment on top of the stack's variables.
    pub env: Option<IndexMap<Spanned<String>, Spanned<Scalar>>>,
    /// A file generated for the app (a frontend's `.env.local`).
    pub env_file: Option<Spanned<RawAppEnvFile>>,
    /// Services and apps that must be ready first.
    pub depends_on: Option<Vec<Spanned<String>>>,
    /// Readiness check, the same keys as a service's.
    pub health: Option<Spanned<RawHealth>>,
    /// `"never"`, `"on-failure"` (default) or `"always"`.
    pub restart: Option<Spanned<RawRestart>>,
    /// A command run before the first start and when its inputs change.
    pub setup: Option<Spanned<RawAppSetup>>,
    /// Paths whose changes restart the app.
    pub watch: Option<Spanned<RawAppWatch>>,
}

/// An app's command: `"npm run dev"` (through `sh -c`) or `["npm", "run", "dev"]`.
#[derive(Debug, Deserialize, Clone)]
#[serde(
    untagged,
    expecting = "a command line (\"npm run dev\") or a program and its arguments ([\"npm\", \"run\", \"dev\"])"
)]
pub enum RawAppCommand {
    /// Run through `sh -c`.
    Shell(String),
    /// Program and arguments, run without a shell.
    Argv(Vec<String>),
}

/// `restart = "..."`.
#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum RawRestart {
    /// Never restarted.
    Never,
    /// Restarted when it exits with a non-zero code or a signal.
    OnFailure,
    /// Restarted whenever it exits.
    Always,
}

/// `env_file = { path, vars }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppEnvFile {
    /// Where the file is written, relative to devenv.toml.
    pub path: Spanned<String>,
    /// Its variables; values may reference stack variables.
    #[serde(default)]
    pub vars: IndexMap<Spanned<String>, Spanned<Scalar>>,
}

/// `setup = { command, inputs }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppSetup {
    /// The setup command, a string or an argv array.
    pub command: Spanned<RawAppCommand>,
    /// Files whose change reruns setup (relative to devenv.toml).
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
}

/// `watch = { paths, ignore }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppWatch {
    /// Paths watched (relative to devenv.toml).
    pub paths: Vec<Spanned<String>>,
    /// Glob patterns ignored.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// `health = { ... }`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    /// Command run inside the container; exit 0 means ready.
    pub cmd: Option<Vec<String>>,
    /// Container port that must accept a TCP connection.
    pub tcp: Option<u16>,
    /// HTTP path that must answer 2xx.
    pub http: Option<String>,
    /// Container port for `http`.
    pub port: Option<u16>,
    /// Time between checks (`1s`, `500ms`).
    pub interval: Option<Spanned<String>>,
    /// Time one check may take.
    pub timeout: Option<Spanned<String>>,
    /// Failures before Docker calls the service unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Spanned<String>>,
}

/// `[env.NAME]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawEnvVar {
    /// Value, may reference other variables.
    pub value: Option<Spanned<Scalar>>,
    /// Generated randomly into `.env`, `<REPLACE_ME>` in `.env.example`.
    #[serde(default)]
    pub secret: bool,
    /// What the variable is for.
    pub description: Option<String>,
}

/// `[database]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Service that runs the database (none for SQLite).
    pub service: Option<Spanned<String>>,
    /// Connection URL seen from the host.
    pub url: Option<Spanned<String>>,
    /// Directory of SQL migrations.
    pub migrations: Option<Spanned<String>>,
    /// A migration tool of the project's own, run instead of the SQL migrations.
    pub migrate: Option<Spanned<RawCommand>>,
    /// Seed files, directories, or commands.
    pub seeds: Option<Vec<Spanned<RawSeed>>>,
    /// Whether a new volume may start from a seeded snapshot (default true).
    pub cache: Option<bool>,
    /// The migration tool the files are written for (default: detected).
    pub format: Option<Spanned<String>>,
}

/// `{ command = ["alembic", "upgrade", "head"] }`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    /// Program and arguments, run on the host from the project directory.
    pub command: Vec<String>,
}

/// A seed: a path (file or directory of `.sql` files) or a command.
#[derive(Debug, Deserialize, Clone)]
#[serde(
    untagged,
    expecting = "a path (\"seeds\") or a command ({ command = [\"./seed.sh\"] })"
)]
pub enum RawSeed {
    /// File or directory.
    Path(String),
    /// Command run on the host.
    Command(RawCommand),
}

/// A catalog entry (`stacks/services/NAME.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogEntry {
    /// One line for `devenv init --list` and the docs.
    pub description: String,
    /// Image repository without tag.
    pub image: String,
    /// Default tag.
    pub version: String,
    /// Published ports, as in a stack.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Volumes, as in a stack.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Command replacing the image's default.
    pub command: Option<Vec<String>>,
    /// Readiness check.
    pub health: Option<RawHealth>,
    /// Protocol-level readiness probe: `postgres`, `mysql`, `redis`, `amqp`.
    pub probe: Option<String>,
    /// Connection URL template: container env names plus `HOST` and `PORT`.
    pub url: Option<String>,
    /// The image's environment conventions.
    #[serde(default)]
    pub env: IndexMap<String, RawCatalogEnv>,
}

/// One environment convention of an image.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogEnv {
    /// Default value.
    pub value: Option<String>,
    /// Whether it is a secret (then it becomes a stack variable `<SERVICE>_<NAME>`).
    #[serde(default)]
    pub secret: bool,
    /// What it does.
    pub description: String,
}

/// A TOML string, integer, float or boolean, read as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
