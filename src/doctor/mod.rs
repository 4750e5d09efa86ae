//! `devenv doctor`: every way a local stack breaks, found and explained with its fix. Checks
//! are grouped by what they need (nothing, the stack file, the engine, the running stack);
//! independent groups run in parallel, and a missing engine only skips what needs it.

mod apps;
mod check;
mod environment;
mod fix;
mod project;
mod running;

pub use check::{Check, CheckId, Fix, Status};
pub use fix::{Applied, apply_fixes};

use crate::diagnostic::Diagnostic;
use std::path::Path;

/// Runs every check. `stack_file` is where devenv.toml was looked for.
pub async fn run_all(stack_file: Option<&Path>) -> Vec<Check> {
    let located = crate::project::locate(stack_file);
    let stack_result = located
        .as_ref()
        .map_err(|e| {
            e.diagnostic()
                .unwrap_or_else(|| Diagnostic::new(e.to_string()))
        })
        .and_then(|path| crate::project::load_path(path));
    let (engine_checks, engine) = environment::engine_checks(stack_result.as_ref().ok()).await;
    let mut checks = environment::host_checks();
    checks.extend(engine_checks);
    match &stack_result {
        Err(diagnostic) => checks.push(Check::fail(
            CheckId::StackFile,
            "devenv.toml is valid",
            diagnostic.to_string(),
            diagnostic
                .help
                .clone()
                .unwrap_or_else(|| "fix devenv.toml as the message says".into()),
        )),
        Ok(stack) => {
            checks.push(Check::ok(
                CheckId::StackFile,
                "devenv.toml is valid",
                format!(
                    "project `{}`, {} services, {} apps",
                    stack.project.name,
                    stack.services.len(),
                    stack.apps.len()
                ),
            ));
            let (project_checks, running_checks) = tokio::join!(
                project::checks(stack, engine.as_ref()),
                running::checks(stack, engine.as_ref())
            );
            checks.extend(project_checks);
            checks.extend(running_checks);
            if !stack.apps.is_empty() {
                let values = crate::env::load(stack)
                    .unwrap_or_else(|_| crate::env::Loaded::without_file(stack))
                    .values;
                checks.extend(apps::checks(stack, &values).await);
            }
        }
    }
    checks
}
