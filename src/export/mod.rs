//! `devenv export`: the stack carried to CI (a GitHub Actions workflow, a GitLab CI job) and to
//! Kubernetes (manifests for a dev namespace), serialized from typed structs. Secrets never
//! appear as values; everything the target has no place for is reported with its reason.

mod github;
mod gitlab;
mod kubernetes;
mod values;

use crate::diagnostic::Diagnostic;
use crate::generate::{self, GeneratedFile, WriteOutcome, header};
use crate::stack::Stack;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the stack is exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// A GitHub Actions workflow with one job.
    GithubActions,
    /// A GitLab CI pipeline with one job.
    GitlabCi,
    /// Kubernetes manifests for a dev namespace.
    Kubernetes,
}

impl Target {
    /// The word on the command line (`github-actions`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GithubActions => "github-actions",
            Self::GitlabCi => "gitlab-ci",
            Self::Kubernetes => "kubernetes",
        }
    }

    /// The command that writes this target's files, for their header.
    fn command(self) -> String {
        format!("devenv export {}", self.as_str())
    }
}

/// What the user chose beyond the stack.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Kubernetes: the namespace (default: the project's name plus `-dev`).
    pub namespace: Option<String>,
    /// CI: the shell command that puts devenv on the job's PATH.
    pub install: Option<String>,
}

/// One YAML document of an export (a whole workflow, or one Kubernetes object).
#[derive(Debug, Clone)]
pub struct Document {
    /// Its file name when an export is written to a directory (`devenv.yml`,
    /// `03-statefulset-db.yaml`).
    pub file_name: String,
    /// The YAML, without header.
    pub body: String,
}

/// The result of an export: the documents and the account of what went where.
#[derive(Debug, Clone)]
pub struct Export {
    /// The target.
    pub target: Target,
    /// The documents, in the order they are applied.
    pub documents: Vec<Document>,
    /// What was exported and what was not.
    pub report: Report,
}

impl Export {
    /// An export of one document.
    fn single(target: Target, file_name: &str, body: String, report: Report) -> Self {
        Self {
            target,
            documents: vec![Document {
                file_name: file_name.into(),
                body,
            }],
            report,
        }
    }
}

/// What an export carried over and what it left out, with names, never values (the
/// `devenv export --json` document).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `github-actions`, `gitlab-ci` or `kubernetes`.
    pub target: Target,
    /// What became part of the export.
    pub exported: Vec<Exported>,
    /// What has no counterpart there, each with the reason.
    pub not_exported: Vec<NotExported>,
    /// Secret variables, referred to by name: the target's secret store must hold them.
    pub secrets: Vec<String>,
    /// What the user should know to use the result.
    pub notes: Vec<String>,
}

/// One thing of the stack carried over.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// `service`, `app`, `volume`, `secret`, `migrations`, `seeds`.
    pub kind: &'static str,
    /// Its name in devenv.toml.
    pub name: String,
    /// What it became (`StatefulSet db`, `services.db`).
    #[serde(rename = "as")]
    pub as_: String,
}

/// One thing of the stack left out.
#[derive(Debug, Clone, Serialize)]
pub struct NotExported {
    /// `service`, `app`, `volume`, `bind mount`, `command`, `health check`, `migrations`...
    pub kind: &'static str,
    /// Its name (the service or app it belongs to for a part of one).
    pub name: String,
    /// Why, and what to do instead.
    pub reason: String,
}

impl Report {
    fn new(target: Target) -> Self {
        Self {
            target,
            exported: Vec::new(),
            not_exported: Vec::new(),
            secrets: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn exported(&mut self, kind: &'static str, name: &str, as_: impl Into<String>) {
        self.exported.push(Exported {
            kind,
            name: name.to_string(),
            as_: as_.into(),
        });
    }

    fn dropped(&mut self, kind: &'static str, name: &str, reason: impl Into<String>) {
        self.not_exported.push(NotExported {
            kind,
            name: name.to_string(),
            reason: reason.into(),
        });
    }
}

/// Exports `stack` to `target`.
pub fn export(stack: &Stack, target: Target, options: &Options) -> Result<Export, Diagnostic> {
    match target {
        Target::GithubActions => github::export(stack, options),
        Target::GitlabCi => gitlab::export(stack, options),
        Target::Kubernetes => kubernetes::export(stack, options),
    }
}

impl Export {
    /// The whole export as one YAML stream with devenv's generated-file header.
    pub fn text(&self) -> String {
        let body: Vec<&str> = self.documents.iter().map(|d| d.body.as_str()).collect();
        header::with_header_by(&body.join("---\n"), &self.target.command())
    }

    /// Writes the export to `output`: one file, or when `output` is a directory (existing, or
    /// written with a trailing `/`) one file per document there, named by the document
    /// (`devenv.yml`, `.gitlab-ci.yml`, `03-statefulset-db.yaml`). A file
    /// edited by hand or not written by devenv is never replaced without `force`.
    pub fn write(
        &self,
        output: &Path,
        force: bool,
    ) -> Result<Vec<(PathBuf, WriteOutcome)>, Diagnostic> {
        let as_directory = output.is_dir() || output.as_os_str().to_string_lossy().ends_with('/');
        let command = self.target.command();
        let files: Vec<GeneratedFile> = if as_directory {
            std::fs::create_dir_all(output)
                .map_err(|e| Diagnostic::new(format!("cannot create {}: {e}", output.display())))?;
            self.documents
                .iter()
                .map(|d| GeneratedFile {
                    path: output.join(&d.file_name),
                    content: header::with_header_by(&d.body, &command),
                })
                .collect()
        } else {
            if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Diagnostic::new(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            vec![GeneratedFile {
                path: output.to_path_buf(),
                content: self.text(),
            }]
        };
        files
            .into_iter()
            .map(|file| {
                let outcome = generate::write_by(Path::new(""), &file, force, &command)?;
                Ok((file.path, outcome))
            })
            .collect()
    }
}

/// The stack's directory relative to its git work tree (`None`: the work tree's top, or no
/// git work tree), where a CI job runs devenv.
fn repository_subdir(stack: &Stack) -> Option<String> {
    let root = std::fs::canonicalize(&stack.root).ok()?;
    let top = root.ancestors().find(|dir| dir.join(".git").exists())?;
    let relative = root.strip_prefix(top).ok()?;
    (!relative.as_os_str().is_empty()).then(|| relative.display().to_string())
}

/// `devenv`, with `--file NAME` when the stack file is not called devenv.toml.
fn devenv_command(stack: &Stack) -> String {
    match stack.file.file_name().and_then(|n| n.to_str()) {
        Some("devenv.toml") | None => "devenv".into(),
        Some(name) => format!(
            "devenv --file {}",
            shlex::try_quote(name).unwrap_or(name.into())
        ),
    }
}

/// A CI job's steps after checkout: wait for the database, migrate, seed, each a shell line
/// (name, command), and the notes that go with them.
fn database_steps(stack: &Stack, report: &mut Report) -> Vec<(&'static str, String)> {
    let devenv = devenv_command(stack);
    let mut steps = Vec::new();
    let Some(database) = &stack.database else {
        return steps;
    };
    if database.migrations.is_some() {
        // `migrate status` logs in with the stack's URL and changes nothing: the one devenv
        // command that tells from outside whether the database answers.
        steps.push((
            "Wait for the database",
            format!(
                "for attempt in $(seq 1 60); do {devenv} migrate status > /dev/null 2>&1 && break; sleep 2; done; {devenv} migrate status"
            ),
        ));
    }
    if database.migrations.is_some() || database.migrate_command.is_some() {
        steps.push(("Migrate", format!("{devenv} migrate")));
    }
    if let Some(argv) = &database.migrate_command {
        report.notes.push(format!(
            "`devenv migrate` runs `{}` in the job: install its tool in a step before",
            argv.join(" ")
        ));
    }
    if !database.seeds.is_empty() {
        steps.push(("Seed", format!("{devenv} seed")));
    }
    steps
}

/// YAML that YAML 1.1 readers (GitHub's, GitLab's, Kubernetes', PyYAML) read as written:
/// serde-saphyr quotes `yes`, `on`, `0755` or `22:22`, which they would take for a boolean
/// or a number. Long lines stay on one line (no folding); text with newlines is a `|` block.
fn to_yaml(value: &impl Serialize) -> String {
    let options = serde_saphyr::ser_options! { folded_wrap_chars: 100_000 };
    serde_saphyr::to_string_with_options(value, options).expect("export structs always serialize")
}

/// The default install step: cargo builds devenv from its repository, named by the CI
/// variable `DEVENV_REPOSITORY`.
const INSTALL: &str = "cargo install --locked --git \"$DEVENV_REPOSITORY\" devenv";

/// How a CI target words what its service containers cannot do.
struct CiLimits<'a> {
    /// Why `depends_on` is dropped (`{}` names the services waited for).
    waits: &'a str,
    /// What the services are called (for host access).
    services: &'a str,
    /// Why a bind mount is dropped.
    bind: &'a str,
}

/// What a CI job's service cannot carry over, reported: a service in a profile is left out
/// (`false`); `depends_on`, host access, volumes and bind mounts are dropped.
fn ci_service_runs(
    service: &crate::stack::Service,
    report: &mut Report,
    limits: &CiLimits,
) -> bool {
    let name = &service.name;
    if !service.profiles.is_empty() {
        report.dropped(
            "service",
            name,
            format!(
                "in profile {}, which `devenv up` starts only when asked",
                service.profiles.join(", ")
            ),
        );
        return false;
    }
    if !service.depends_on.is_empty() {
        report.dropped(
            "depends_on",
            name,
            limits.waits.replace("{}", &service.depends_on.join(", ")),
        );
    }
    let host_access = &service.host_access;
    if host_access.privileged || host_access.host_network || host_access.docker_socket {
        report.dropped(
            "host access",
            name,
            format!(
                "privileged, host network and the Docker socket are not given to {}",
                limits.services
            ),
        );
    }
    for volume in &service.volumes {
        match volume {
            crate::stack::Volume::Named { name: volume, .. } => report.dropped(
                "volume",
                volume,
                "a CI job starts from empty data every run; no volume is needed",
            ),
            crate::stack::Volume::Bind { source, target, .. } => report.dropped(
                "bind mount",
                name,
                format!("{source}:{target}: {}", limits.bind),
            ),
        }
    }
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::diagnostic::SourceFile;

    #[test]
    fn yaml_1_1_booleans_and_numbers_are_quoted_and_long_lines_kept_whole() {
        let items = ["--appendonly", "yes", "on", "22:22", "0755", "plain"];
        let long = "word ".repeat(40);
        let yaml = super::to_yaml(&(items, &long));
        for quoted in ["\"yes\"", "\"on\"", "\"22:22\"", "\"0755\""] {
            assert!(yaml.contains(quoted), "{quoted} not quoted:\n{yaml}");
        }
        assert!(yaml.contains("- plain\n"), "{yaml}");
        assert!(yaml.contains(long.trim_end()), "{yaml}");
    }
    use crate::stack::Stack;
    use std::path::Path;

    /// The bundled example, apps included, loaded from its directory.
    pub fn example() -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        let text = std::fs::read_to_string(root.join("devenv.toml")).unwrap();
        crate::stack::load_source(
            &SourceFile::new("devenv.toml", text),
            &root,
            &root.join("devenv.toml"),
        )
        .expect("the example is valid")
    }

    /// What an export left out, as (kind, name) pairs.
    pub fn dropped(report: &super::Report) -> Vec<(&str, &str)> {
        report
            .not_exported
            .iter()
            .map(|d| (d.kind, d.name.as_str()))
            .collect()
    }

    /// A stack from `text` in a temporary directory holding `files`.
    pub fn stack(text: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Stack) {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let stack = crate::stack::load_source(
            &SourceFile::new("devenv.toml", text),
            dir.path(),
            &dir.path().join("devenv.toml"),
        )
        .expect("the test stack is valid");
        (dir, stack)
    }
}
