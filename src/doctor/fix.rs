//! `devenv doctor --fix`: applies the fixes the failing checks name, each only when it is safe
//! and local.

use super::{Check, Fix};
use crate::engine::Engine;
use crate::generate::{self, FileState};
use crate::stack::Stack;

/// What applying a fix came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Something changed (what, in a few words).
    Changed(String),
    /// The fix could not be made (why); the check's own advice still holds.
    Failed(String),
}

/// The fixes the problems among `checks` name, once each, in the order they must run.
pub fn planned(checks: &[Check]) -> Vec<Fix> {
    let mut fixes: Vec<Fix> = checks
        .iter()
        .filter(|c| c.is_problem())
        .filter_map(|c| c.auto_fix.clone())
        .collect();
    fixes.sort();
    fixes.dedup();
    fixes
}

/// Applies the fixes the checks name; returns what changed and what could not be done.
pub async fn apply_fixes(stack: &Stack, checks: &[Check]) -> Vec<Applied> {
    let fixes = planned(checks);
    let needs_engine = fixes
        .iter()
        .any(|f| matches!(f, Fix::RemapPorts | Fix::StartService(_)));
    let engine = match needs_engine {
        true => Engine::connect().await.ok(),
        false => None,
    };
    let mut changed = Vec::new();
    for fix in &fixes {
        match fix {
            Fix::CompleteEnv => changed.extend(complete_env(stack)),
            Fix::Regenerate => changed.extend(regenerate(stack)),
            Fix::RemapPorts => changed.extend(remap_ports(stack, engine.as_ref()).await),
            Fix::StartService(service) => {
                if let Some(engine) = &engine {
                    changed.extend(start_service(stack, engine, service).await);
                }
            }
        }
    }
    changed
}

fn complete_env(stack: &Stack) -> Option<Applied> {
    match crate::env::ensure(stack, crate::env::IfTracked::Refuse) {
        Ok((_, report)) if report.created => Some(Applied::Changed(
            "created .env with generated secrets".into(),
        )),
        Ok((_, report)) if !report.added.is_empty() => Some(Applied::Changed(format!(
            "added {} to .env",
            report.added.join(", ")
        ))),
        Ok(_) => None,
        Err(e) => Some(Applied::Failed(format!(
            "could not complete .env: {}",
            e.message
        ))),
    }
}

/// Writes missing and stale generated files; hand-edited ones are left alone.
fn regenerate(stack: &Stack) -> Vec<Applied> {
    generate::files(stack)
        .into_iter()
        .filter(|file| {
            matches!(
                generate::state(&stack.root, file),
                Ok(FileState::Missing | FileState::Stale)
            )
        })
        .filter(|file| generate::write(&stack.root, file, false).is_ok())
        .map(|file| Applied::Changed(format!("regenerated {}", file.path.display())))
        .collect()
}

async fn remap_ports(stack: &Stack, engine: Option<&Engine>) -> Vec<Applied> {
    let Ok(loaded) = crate::env::load(stack) else {
        return Vec::new();
    };
    if loaded.file.is_none() {
        return Vec::new();
    }
    let published = match engine {
        Some(engine) => engine.published_ports().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let services = crate::ports::all_services(stack);
    let running = super::running::running_services(stack, engine).await;
    match crate::lifecycle::preflight::settle_ports(
        stack, &services, loaded, &published, &running, true,
    ) {
        Ok((_, remaps)) => remaps
            .iter()
            .map(|remap| Applied::Changed(remap.to_string()))
            .collect(),
        Err(e) => vec![Applied::Failed(format!(
            "could not remap ports: {}",
            e.message
        ))],
    }
}

/// Starts a stopped container, checking again first: not one killed for lack of memory.
async fn start_service(stack: &Stack, engine: &Engine, service: &str) -> Option<Applied> {
    let container = crate::plan::container_name(&stack.project.name, service);
    let state = engine.state(&container).await.ok()?;
    if state.running || state.oom_killed || engine.start(&container).await.is_err() {
        return None;
    }
    Some(Applied::Changed(format!("started {container}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::CheckId;

    #[test]
    fn only_problems_name_fixes_and_each_runs_once() {
        let checks = [
            Check::fail(
                CheckId::EnvFile,
                ".env",
                "there is no .env",
                "devenv env init",
            )
            .with_auto_fix(Fix::CompleteEnv),
            Check::fail(
                CheckId::EnvKeys,
                "keys",
                "DB_PORT: missing",
                "devenv env init",
            )
            .with_auto_fix(Fix::CompleteEnv),
            Check::warn(CheckId::Ports, "ports", "5432 taken", "devenv up")
                .with_auto_fix(Fix::RemapPorts),
            Check::fail(CheckId::Service("db".into()), "db", "exited", "devenv up")
                .with_auto_fix(Fix::StartService("db".into())),
            Check::ok(CheckId::GeneratedFiles, "files", "in sync").with_auto_fix(Fix::Regenerate),
            Check::fail(CheckId::Disk, "disk", "0.5 GB free", "docker system prune"),
        ];
        assert_eq!(
            planned(&checks),
            [
                Fix::CompleteEnv,
                Fix::RemapPorts,
                Fix::StartService("db".into())
            ]
        );
    }
}
