//! `devenv env init`, `devenv env check` and `devenv env get NAME`.

use super::runtime::block_on;
use crate::cli::EnvCommand;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::env::{self, IfTracked};
use crate::error::{Error, Result};
use crate::lifecycle::preflight;
use crate::ports::Published;
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

/// Runs `devenv env ...`.
pub fn run(file: Option<&Path>, command: &EnvCommand, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    match command {
        EnvCommand::Check { json } => check(&stack, *json, ui),
        EnvCommand::Init => init(&stack, ui),
        EnvCommand::Get { name } => get(&stack, name, ui),
    }
}

/// `devenv env get NAME`: one variable's value, unmasked (it is asked for by name).
fn get(stack: &Stack, name: &str, ui: &Ui) -> Result<()> {
    let loaded = env::load(stack)?;
    let value = loaded
        .values
        .get(name)
        .or_else(|| {
            let file = loaded.file.as_ref()?;
            file.values.get(name).map(String::as_str)
        })
        .ok_or_else(|| {
            Diagnostic::new(format!("no variable named `{name}` in devenv.toml or .env")).with_help(
                "`devenv env check` lists what .env lacks; devenv.toml's [env] declares variables",
            )
        })?;
    ui.out_revealed(value);
    Ok(())
}

/// `devenv env check --json`.
#[derive(Debug, Serialize)]
struct CheckDocument<'a> {
    /// Whether `.env` has every key, all set.
    ok: bool,
    /// Each problem with its fix.
    findings: &'a [env::check::Finding],
}

/// `devenv env check`: each finding with its fix; exit 1 when there is any.
fn check(stack: &Stack, json: bool, ui: &Ui) -> Result<()> {
    let loaded = env::load(stack)?;
    let findings = env::check::check(stack, loaded.file.as_ref());
    if json {
        ui.json(&CheckDocument {
            ok: findings.is_empty(),
            findings: &findings,
        });
        if findings.is_empty() {
            return Ok(());
        }
        return Err(Error::problems_found(format!(
            "{} finding(s) in .env",
            findings.len()
        )));
    }
    if findings.is_empty() {
        ui.out(format!(
            "{} .env has every key devenv.toml uses, all set",
            ui.paint(Style::Good, "✓")
        ));
        return Ok(());
    }
    for finding in &findings {
        ui.out(format!(
            "{} {}: {}",
            ui.paint(Style::Bad, "✗"),
            finding.key,
            finding.problem
        ));
        ui.out(format!("    fix: {}", finding.fix));
    }
    let summary = format!("{} finding(s) in .env", findings.len());
    ui.out(&summary);
    Err(Error::problems_found(summary))
}

/// `devenv env init`: create or complete `.env`, then settle host ports like `up` does.
fn init(stack: &Stack, ui: &Ui) -> Result<()> {
    let warn = |warning: &str| ui.warn(warning);
    let (loaded, report) = env::ensure(stack, IfTracked::Warn(&warn))?;
    let (published, running) = engine_ports(stack, ui)?;
    let services = crate::ports::all_services(stack);
    let (_, remaps) = preflight::settle_ports(
        stack,
        &services,
        loaded,
        &published,
        &running,
        stack.project.remap_ports,
    )?;
    let path = env::path(stack);
    if report.created {
        ui.info(format!(
            "{} created {} (mode 600) with generated secrets",
            ui.paint(Style::Good, "✓"),
            path.display()
        ));
    } else if !report.added.is_empty() {
        ui.info(format!(
            "{} added {} to {}",
            ui.paint(Style::Good, "✓"),
            report.added.join(", "),
            path.display()
        ));
    } else if remaps.is_empty() {
        ui.info(format!(
            "{} {} already has every key; nothing changed",
            ui.paint(Style::Good, "✓"),
            path.display()
        ));
    }
    if report.ignored_in_git {
        ui.info("added .env to .gitignore: it holds secrets");
    }
    for remap in &remaps {
        ui.warn(remap);
    }
    if !path.exists() {
        return Err(Diagnostic::new(format!("{} was not written", path.display())).into());
    }
    Ok(())
}

/// The host ports the engine publishes and this project's running services; without Docker
/// (after a warning) none, so ports are checked against this machine's listeners only.
fn engine_ports(stack: &Stack, ui: &Ui) -> Result<(Vec<Published>, HashSet<String>)> {
    block_on(async {
        match Engine::connect().await {
            Ok(engine) => {
                let published = engine.published_ports().await?;
                let running = engine.running_services(&stack.project.name).await?;
                Ok((published, running))
            }
            Err(e) => {
                ui.warn(format!(
                    "{}; checked ports against this machine's listeners only",
                    e.message
                ));
                Ok::<_, Error>((Vec::new(), HashSet::new()))
            }
        }
    })
}
