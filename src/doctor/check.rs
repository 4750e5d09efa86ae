//! What a check reports: its identity, outcome, advice, and the fix `--fix` may apply.

use serde::{Serialize, Serializer};
use std::fmt;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Broken.
    Fail,
    /// Could not run (what it needs is missing; another check says why).
    Skip,
}

/// Which check this is. Shown (and serialized in `--json`) as a stable string id: `daemon`,
/// `ports`, `service:db`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// The docker CLI is on PATH.
    DockerCli,
    /// The platform (WSL2).
    Platform,
    /// Docker Desktop's VM.
    PlatformDesktop,
    /// The engine answers.
    Daemon,
    /// Everything that needs the engine (skipped as one when it does not answer).
    Engine,
    /// The engine's API version.
    EngineVersion,
    /// Free disk where Docker keeps its data.
    Disk,
    /// Memory available to Docker.
    Memory,
    /// This machine's clock against the engine's.
    ClockSkew,
    /// devenv.toml loads.
    StackFile,
    /// docker-compose.yml and .env.example match devenv.toml.
    GeneratedFiles,
    /// `.env` exists and parses.
    EnvFile,
    /// `.env` has every key, no placeholders.
    EnvKeys,
    /// `.env` is ignored by git.
    EnvGitignored,
    /// Host ports are free or this project's.
    Ports,
    /// A remote engine's ports are forwarded here.
    Forwarder,
    /// Images are present locally.
    Images,
    /// Every service (skipped as one without the engine).
    Services,
    /// One service's container.
    Service(String),
    /// Named volumes exist.
    Volumes,
    /// The database answers from this machine.
    Database,
    /// Migrations are applied and unedited.
    Migrations,
    /// Seeds are unchanged since applied.
    Seeds,
    /// One app: found, running, supervised and answering (or why not).
    App(String),
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = match self {
            Self::DockerCli => "docker-cli",
            Self::Platform => "platform",
            Self::PlatformDesktop => "platform-desktop",
            Self::Daemon => "daemon",
            Self::Engine => "engine",
            Self::EngineVersion => "engine-version",
            Self::Disk => "disk",
            Self::Memory => "memory",
            Self::ClockSkew => "clock-skew",
            Self::StackFile => "stack-file",
            Self::GeneratedFiles => "generated-files",
            Self::EnvFile => "env-file",
            Self::EnvKeys => "env-keys",
            Self::EnvGitignored => "env-gitignored",
            Self::Ports => "ports",
            Self::Forwarder => "forwarder",
            Self::Images => "images",
            Self::Services => "services",
            Self::Service(name) => return write!(f, "service:{name}"),
            Self::App(name) => return write!(f, "app:{name}"),
            Self::Volumes => "volumes",
            Self::Database => "database",
            Self::Migrations => "migrations",
            Self::Seeds => "seeds",
        };
        f.write_str(id)
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A repair `devenv doctor --fix` may make by itself: only safe, local ones. The check that
/// finds the problem names it; the order of the variants is the order they run in (`.env`
/// first: remapping ports writes into it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fix {
    /// Create `.env` with generated secrets, or append the keys it lacks.
    CompleteEnv,
    /// Rewrite generated files that are missing or stale (never ones edited by hand).
    Regenerate,
    /// Move conflicting host ports to free ones in `.env`.
    RemapPorts,
    /// Start this service's stopped container (not one the kernel killed for memory).
    StartService(String),
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which check.
    pub id: CheckId,
    /// What was checked.
    pub title: String,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (always set for warnings and failures).
    pub fix: Option<String>,
    /// What `--fix` can do about it by itself, if anything.
    #[serde(skip)]
    pub auto_fix: Option<Fix>,
}

impl Check {
    fn new(
        status: Status,
        id: CheckId,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            id,
            title: title.into(),
            status,
            detail: detail.into(),
            fix,
            auto_fix: None,
        }
    }

    /// A passing check.
    pub fn ok(id: CheckId, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Status::Ok, id, title, detail, None)
    }

    /// A warning with its fix.
    pub fn warn(
        id: CheckId,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Status::Warn, id, title, detail, Some(fix.into()))
    }

    /// A failure with its fix.
    pub fn fail(
        id: CheckId,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Status::Fail, id, title, detail, Some(fix.into()))
    }

    /// A check that could not run.
    pub fn skip(id: CheckId, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Status::Skip, id, title, detail, None)
    }

    /// Says what `--fix` can do about this problem.
    pub fn with_auto_fix(mut self, fix: Fix) -> Self {
        self.auto_fix = Some(fix);
        self
    }

    /// Whether this check found something to fix.
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Warn | Status::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_json_strings() {
        let ids = [
            (CheckId::DockerCli, "docker-cli"),
            (CheckId::EngineVersion, "engine-version"),
            (CheckId::ClockSkew, "clock-skew"),
            (CheckId::EnvGitignored, "env-gitignored"),
            (CheckId::Service("db".into()), "service:db"),
            (CheckId::Services, "services"),
            (CheckId::App("api".into()), "app:api"),
        ];
        for (id, text) in ids {
            assert_eq!(serde_json::to_value(&id).unwrap(), text);
        }
    }

    #[test]
    fn the_auto_fix_stays_out_of_json() {
        let check = Check::fail(CheckId::Ports, "ports", "5432 taken", "devenv up")
            .with_auto_fix(Fix::RemapPorts);
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "ports", "title": "ports", "status": "fail",
                "detail": "5432 taken", "fix": "devenv up"
            })
        );
    }

    #[test]
    fn env_fixes_run_before_port_remaps() {
        let mut fixes = vec![
            Fix::StartService("db".into()),
            Fix::RemapPorts,
            Fix::CompleteEnv,
            Fix::Regenerate,
        ];
        fixes.sort();
        assert_eq!(
            fixes,
            [
                Fix::CompleteEnv,
                Fix::Regenerate,
                Fix::RemapPorts,
                Fix::StartService("db".into())
            ]
        );
    }
}
