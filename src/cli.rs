//! Command-line arguments (clap derive). The doc comments here are the `--help` text.

use crate::ui::ColorChoice;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The exit codes, as `--help` lists them (mapped in `error::Error::exit_code`).
const EXIT_STATUS_HELP: &str = "\
Exit status: 0 success, 1 a problem found or bad input, 2 usage error, 130 interrupted.
`db shell` exits with the code of the database client.";

/// One stack definition in, a working local development environment out.
///
/// devenv reads devenv.toml, starts its services through the Docker Engine, waits until they
/// are ready, migrates and seeds the database, and tells you what is where.
#[derive(Debug, Parser)]
#[command(
    name = "devenv",
    version,
    about,
    long_about = None,
    max_term_width = 100,
    after_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    /// Run as if devenv was started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// The stack file [default: devenv.toml in the current directory or a parent].
    #[arg(long = "file", value_name = "PATH", global = true, env = "DEVENV_FILE")]
    pub file: Option<PathBuf>,

    /// Run the project under this name instead of devenv.toml's `[project] name` (a second
    /// checkout of the same project; `devenv init`: the name to write).
    #[arg(
        long = "name",
        id = "project_name",
        value_name = "NAME",
        global = true,
        env = "DEVENV_PROJECT"
    )]
    pub project_name: Option<String>,

    /// Print only errors and results.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to use colours (NO_COLOR is honoured with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Show secrets in output instead of `***` (they are masked everywhere by default).
    #[arg(long, global = true)]
    pub reveal: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command was asked for JSON output (errors are then JSON on stdout too).
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Up(args) => args.json,
            Command::Down(args) => args.json,
            Command::Status(args) => args.json,
            Command::Restart(args) => args.json,
            Command::Doctor(args) => args.json,
            Command::Env(EnvCommand::Check { json }) => *json,
            Command::Migrate(args) => {
                args.json
                    || matches!(
                        args.action,
                        Some(
                            MigrateAction::Status { json: true }
                                | MigrateAction::Down { json: true, .. }
                        )
                    )
            }
            Command::Seed(args) => args.json,
            Command::Logs(args) => args.json,
            Command::Db(DbCommand::Reset { json, .. }) => *json,
            Command::Cache(
                CacheCommand::Ls { json }
                | CacheCommand::Prune { json, .. }
                | CacheCommand::Build { json },
            ) => *json,
            Command::Init(args) => args.json,
            Command::Export(command) => command.output().json,
            _ => false,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a devenv.toml from a starter stack, a catalog entry or a Compose file.
    Init(InitArgs),
    /// Write docker-compose.yml and .env.example from devenv.toml.
    Generate(GenerateArgs),
    /// Start the stack and wait until every service is ready.
    Up(UpArgs),
    /// Stop and remove the stack's containers and network (volumes stay).
    Down(DownArgs),
    /// Show each service's state, health and address.
    Status(StatusArgs),
    /// Show the logs of services and apps.
    Logs(LogsArgs),
    /// Restart services and apps.
    Restart(RestartArgs),
    /// Find what is wrong with the local stack and say how to fix it.
    Doctor(DoctorArgs),
    /// Write the onboarding guide (docs/local-development.md).
    Docs(DocsArgs),
    /// Carry the stack to CI (GitHub Actions, GitLab CI) or to a Kubernetes dev namespace.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Create or check .env.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Apply or inspect database migrations.
    Migrate(MigrateArgs),
    /// Load seed data into the database.
    Seed(SeedArgs),
    /// The seeded-volume cache: list, prune or build database snapshots.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Reset the database or open a shell on it.
    #[command(subcommand)]
    Db(DbCommand),
    /// Keep the running stack in step with devenv.toml, .env and migrations.
    Watch(WatchArgs),
    /// Start the stack and stay with the apps' output until Ctrl-C (`up --attach`).
    Dev(UpArgs),
    /// Run a command with the stack's environment (.env values, current ports, <APP>_PORT).
    Run(RunArgs),
    /// The supervisor of one app (started by `up`; not for direct use).
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

/// `devenv init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// List starter stacks and catalog entries.
    #[arg(long)]
    pub list: bool,
    /// Starter stack or catalog entry to start from (see --list).
    #[arg(long, short, value_name = "NAME", required_unless_present_any = ["list", "from"], conflicts_with = "from")]
    pub template: Option<String>,
    /// Import a Compose project: its file(s), merged in order (a `docker-compose.override.yml`
    /// beside a single default-named file is merged too, as Compose does).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "list")]
    pub from: Vec<PathBuf>,
    /// With --from: also import the services of this Compose profile (repeatable).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub profile: Vec<String>,
    /// With --from: print the import report as JSON.
    #[arg(long, requires = "from")]
    pub json: bool,
    /// Overwrite an existing devenv.toml.
    #[arg(long)]
    pub force: bool,
}

/// `devenv generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Overwrite generated files even when they were edited by hand.
    #[arg(long)]
    pub force: bool,
    /// Write nothing; exit 1 when a generated file is missing or out of date.
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
}

/// `devenv up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Only these services and apps (and what they depend on).
    pub services: Vec<String>,
    /// Seconds to wait for each service to become ready.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub timeout: u64,
    /// Also start services of this profile.
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    /// Newline-delimited JSON events on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Fail on a port conflict instead of choosing another port.
    #[arg(long)]
    pub no_remap: bool,
    /// Skip migrations.
    #[arg(long)]
    pub no_migrate: bool,
    /// Skip seeds.
    #[arg(long)]
    pub no_seed: bool,
    /// Skip the apps' `setup` commands.
    #[arg(long)]
    pub no_setup: bool,
    /// Never start a new database volume from a snapshot, nor build one (also
    /// `DEVENV_NO_CACHE=1`, or `cache = false` under [database]).
    #[arg(long)]
    pub no_cache: bool,
    /// Keep running and follow changes (as `devenv watch`).
    #[arg(long)]
    pub watch: bool,
    /// Stay in the foreground with every app's output, prefixed by its name (as `devenv
    /// dev`); Ctrl-C stops the apps, not the services.
    #[arg(long, conflicts_with_all = ["watch", "json"])]
    pub attach: bool,
    /// Take over the containers and volumes of this project that a checkout whose directory
    /// no longer exists created (asked on a terminal otherwise).
    #[arg(long)]
    pub adopt: bool,
    /// Write generated secrets even into a .env that git tracks.
    #[arg(long, short)]
    pub yes: bool,
    /// Afterwards, print where the time went: each phase (engine connect, image inspect,
    /// network/volume create, services, migrations, seeds, apps) and each service's steps
    /// (create, start, first probe, ready), in milliseconds; with --json, a `timings` event.
    #[arg(long)]
    pub timings: bool,
}

/// `devenv down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the stack's named volumes (their data is lost).
    #[arg(long)]
    pub volumes: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    /// Take over (and remove) containers that a checkout whose directory no longer exists
    /// created.
    #[arg(long)]
    pub adopt: bool,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `devenv status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// List every devenv project on the engine with the directory it belongs to.
    #[arg(long)]
    pub all: bool,
}

/// `devenv logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only these services and apps.
    pub services: Vec<String>,
    /// Keep following new output (an app's across its restarts and log rotation).
    #[arg(long, short)]
    pub follow: bool,
    /// Lines from the end of each log.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// One JSON document per log line on stdout (`service`, `kind`, `line`).
    #[arg(long)]
    pub json: bool,
}

/// `devenv restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Only these services and apps [default: every service, and every app that runs].
    pub services: Vec<String>,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `devenv cache ...`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List the snapshots on the engine with their sizes and last use.
    Ls {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove snapshots (none of them holds a project's own data): all of them by default.
    Prune {
        /// Only snapshots not used for this many days.
        #[arg(long, value_name = "DAYS")]
        unused_for: Option<u64>,
        /// Only snapshots built by this project.
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Build the snapshot of this stack's database now (`up` does it in the background after
    /// a miss).
    Build {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Make the spare copy of the PostgreSQL reset template (`db reset` starts it in the
    /// background; not for direct use).
    #[command(hide = true)]
    Spare,
}

/// `devenv doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Apply the safe, local fixes.
    #[arg(long)]
    pub fix: bool,
}

/// `devenv docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Exit 1 when the guide differs from what would be generated.
    #[arg(long)]
    pub check: bool,
    /// Where to write the guide [default: docs/local-development.md].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite the guide even when edited outside its custom sections.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
}

/// `devenv export ...`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A GitHub Actions workflow: the services as service containers (images, env, ports,
    /// health options), then steps that install devenv, wait for the database, migrate and
    /// seed; secret variables as `${{ secrets.NAME }}`.
    GithubActions(ExportCiArgs),
    /// A GitLab CI job: the services with their aliases and variables, then a script that
    /// installs devenv, waits for the database, migrates and seeds; secrets as CI/CD variables.
    GitlabCi(ExportCiArgs),
    /// Kubernetes manifests for a dev namespace: a Deployment or StatefulSet, Service and
    /// volume claims per service, a Secret of placeholders, a Job for migrations and seeds, and
    /// a Deployment per app that names an `image`.
    Kubernetes(ExportKubernetesArgs),
}

impl ExportCommand {
    /// The output flags every target shares.
    pub fn output(&self) -> &ExportOutputArgs {
        match self {
            Self::GithubActions(args) | Self::GitlabCi(args) => &args.output,
            Self::Kubernetes(args) => &args.output,
        }
    }
}

/// Where an export goes.
#[derive(Debug, Args)]
pub struct ExportOutputArgs {
    /// Write to this file instead of stdout; into a directory (existing, or ending in `/`):
    /// `devenv.yml`, `.gitlab-ci.yml`, or one file per Kubernetes object.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Replace an output file even when it was edited by hand or not written by devenv.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Print what was exported and what was not (and why) as JSON on stdout; needs --output.
    #[arg(long, requires = "output")]
    pub json: bool,
}

/// `devenv export github-actions` / `gitlab-ci`.
#[derive(Debug, Args)]
pub struct ExportCiArgs {
    /// The shell command that installs devenv in the job [default: cargo install from the
    /// git URL in the CI variable DEVENV_REPOSITORY].
    #[arg(long, value_name = "COMMAND")]
    pub install: Option<String>,
    #[command(flatten)]
    pub output: ExportOutputArgs,
}

/// `devenv export kubernetes`.
#[derive(Debug, Args)]
pub struct ExportKubernetesArgs {
    /// The namespace [default: the project's name followed by `-dev`].
    #[arg(long, short, value_name = "NAME")]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub output: ExportOutputArgs,
}

/// `devenv env ...`.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Create .env from the stack (ports, values, generated secrets).
    Init,
    /// Compare .env with the stack.
    Check {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print one variable's value, unmasked (the environment, then .env, then the stack).
    Get {
        /// The variable (`DB_PASSWORD`).
        name: String,
    },
}

/// `devenv migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// `status`, `down [N]` or `new NAME`; nothing applies pending migrations.
    #[command(subcommand)]
    pub action: Option<MigrateAction>,
    /// JSON on stdout (what was applied).
    #[arg(long)]
    pub json: bool,
}

/// `devenv migrate ...`.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Applied and pending migrations.
    Status {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Revert the newest N applied migrations with their down migrations (refused, reverting
    /// nothing, when one of them has none).
    Down {
        /// How many to revert, newest first.
        #[arg(default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// JSON on stdout (what was reverted).
        #[arg(long)]
        json: bool,
    },
    /// Create the next migration file, in the directory's format.
    New {
        /// What the migration does (`add_users`).
        name: String,
    },
}

/// `devenv seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Run seeds again even when already applied.
    #[arg(long)]
    pub reseed: bool,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `devenv db ...`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Drop and recreate the database, then migrate and seed.
    Reset {
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
        /// Migrate and seed even when a reset template of these migrations and seeds exists
        /// (PostgreSQL), and save none.
        #[arg(long)]
        no_cache: bool,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Open psql or mysql inside the database container.
    Shell,
}

/// `devenv run -- CMD ARGS`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The command and its arguments; its exit code becomes devenv's.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,
}

/// `devenv supervise APP`.
#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// The app to supervise.
    pub app: String,
}

/// `devenv watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Stop the stack when the watch ends.
    #[arg(long)]
    pub down_on_exit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
