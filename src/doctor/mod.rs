//! `devenv doctor`: every way a local stack breaks, found and explained with its fix. Checks
//! are grouped by what they need (nothing, the stack file, the engine, the running stack);
//! independent groups run in parallel, and a missing engine only skips what needs it.

mod environment;
mod project;
mod running;

use crate::engine::Engine;
use crate::stack::Stack;
use serde::Serialize;
use std::path::Path;

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

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id (`daemon`, `ports`, `service:db`, ...).
    pub id: String,
    /// What was checked.
    pub title: String,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (always set for warnings and failures).
    pub fix: Option<String>,
}

impl Check {
    fn new(
        status: Status,
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }

    /// A passing check.
    pub fn ok(id: impl Into<String>, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Status::Ok, id, title, detail, None)
    }

    /// A warning with its fix.
    pub fn warn(
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Status::Warn, id, title, detail, Some(fix.into()))
    }

    /// A failure with its fix.
    pub fn fail(
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Status::Fail, id, title, detail, Some(fix.into()))
    }

    /// A check that could not run.
    pub fn skip(
        id: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(Status::Skip, id, title, detail, None)
    }
}

/// Runs every check. `stack_file` is where devenv.toml was looked for.
pub async fn run_all(stack_file: Option<&Path>) -> Vec<Check> {
    let located = crate::project::locate(stack_file);
    let stack_result = located
        .as_ref()
        .map_err(|e| e.diagnostic.clone())
        .and_then(|path| crate::project::load_path(path));
    let (engine_checks, engine) = environment::engine_checks(stack_result.as_ref().ok()).await;
    let mut checks = environment::host_checks();
    checks.extend(engine_checks);
    match &stack_result {
        Err(diagnostic) => checks.push(Check::fail(
            "stack-file",
            "devenv.toml is valid",
            diagnostic.to_string(),
            diagnostic
                .help
                .clone()
                .unwrap_or_else(|| "fix devenv.toml as the message says".into()),
        )),
        Ok(stack) => {
            checks.push(Check::ok(
                "stack-file",
                "devenv.toml is valid",
                format!(
                    "project `{}`, {} services",
                    stack.project.name,
                    stack.services.len()
                ),
            ));
            let (project_checks, running_checks) = tokio::join!(
                project::checks(stack, engine.as_ref()),
                running::checks(stack, engine.as_ref())
            );
            checks.extend(project_checks);
            checks.extend(running_checks);
        }
    }
    checks
}

/// What `--fix` changed.
pub async fn apply_fixes(stack: &Stack, checks: &[Check]) -> Vec<String> {
    let broken = |prefix: &str| {
        checks
            .iter()
            .any(|c| c.id.starts_with(prefix) && matches!(c.status, Status::Warn | Status::Fail))
    };
    let mut changed = Vec::new();
    if broken("env-") {
        match crate::env::ensure(stack, crate::env::IfTracked::Refuse) {
            Ok((_, report)) if report.created => {
                changed.push("created .env with generated secrets".to_string())
            }
            Ok((_, report)) if !report.added.is_empty() => {
                changed.push(format!("added {} to .env", report.added.join(", ")))
            }
            Ok(_) => {}
            Err(e) => changed.push(format!("could not complete .env: {}", e.message)),
        }
    }
    if broken("generated-files") {
        for file in crate::generate::files(stack) {
            if let Ok(crate::generate::FileState::Missing | crate::generate::FileState::Stale) =
                crate::generate::state(&stack.root, &file)
                && crate::generate::write(&stack.root, &file, false).is_ok()
            {
                changed.push(format!("regenerated {}", file.path.display()));
            }
        }
    }
    let engine = Engine::connect().await.ok();
    if broken("ports")
        && let Ok(loaded) = crate::env::load(stack)
        && loaded.file.is_some()
    {
        let published = match &engine {
            Some(engine) => engine.published_ports().await.unwrap_or_default(),
            None => Vec::new(),
        };
        let services = crate::ports::all_services(stack);
        let running = running::running_services(stack, engine.as_ref()).await;
        match crate::lifecycle::preflight::settle_ports(
            stack, &services, loaded, &published, &running, true,
        ) {
            Ok((_, remaps)) => changed.extend(remaps.iter().map(ToString::to_string)),
            Err(e) => changed.push(format!("could not remap ports: {}", e.message)),
        }
    }
    if let Some(engine) = &engine {
        for check in checks
            .iter()
            .filter(|c| c.id.starts_with("service:") && c.status != Status::Ok)
        {
            let service = check.id.trim_start_matches("service:");
            let container = crate::plan::container_name(&stack.project.name, service);
            if let Ok(state) = engine.state(&container).await
                && !state.running
                && !state.oom_killed
                && engine.start(&container).await.is_ok()
            {
                changed.push(format!("started {container}"));
            }
        }
    }
    changed
}
