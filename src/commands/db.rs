//! `devenv db reset` and `devenv db shell`.

use super::migrate::database_context;
use super::runtime::block_on;
use crate::cache::template::Recreated;
use crate::cli::DbCommand;
use crate::database::{self, Kind, Steps, Target, reset};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use indexmap::IndexMap;
use std::io::IsTerminal;
use std::path::Path;

/// Runs `devenv db ...`.
pub fn run(file: Option<&Path>, command: &DbCommand, ui: &Ui) -> Result<()> {
    let (stack, env, target) = database_context(file)?;
    match command {
        DbCommand::Reset {
            yes,
            json,
            no_cache,
        } => {
            let how = ResetHow {
                yes: *yes,
                json: *json,
                cache: !*no_cache,
            };
            reset_database(&stack, &env.values, &target, &how, ui)
        }
        DbCommand::Shell => open_shell(&stack, &target),
    }
}

/// How `db reset` was asked to run.
struct ResetHow {
    /// Without asking.
    yes: bool,
    /// Print a JSON document.
    json: bool,
    /// Use (and save) the PostgreSQL reset template.
    cache: bool,
}

/// `devenv db reset`: after consent, drop and recreate the database, then migrate and seed
/// (`env_file`: the values of `.env`); `json` prints what the steps did as a document. On
/// PostgreSQL a reset template of the same migrations and seeds makes it one copy inside the
/// server (see `cache::template`); the first reset of a key saves the template.
fn reset_database(
    stack: &Stack,
    env_file: &IndexMap<String, String>,
    target: &Target,
    how: &ResetHow,
    ui: &Ui,
) -> Result<()> {
    let (yes, json) = (how.yes, how.json);
    if !yes {
        ui.confirm(
            &format!(
                "Drop and recreate the database at {}? Every row in it is lost.",
                target.shown
            ),
            &format!("refusing to reset the database at {}", target.shown),
            "every row in it is lost",
        )?;
    }
    let steps = Steps {
        migrate: true,
        seed: true,
        reseed: false,
        announce_format: false,
    };
    let started = std::time::Instant::now();
    let (report, template) = block_on(async {
        let key = match how.cache && target.kind == Kind::Postgres {
            true => template_key(stack).await,
            false => None,
        };
        let recreated = match &key {
            Some(key) => {
                let background = crate::cache::background_builds();
                crate::cache::template::reset_from_template(target, key, background).await?
            }
            None => None,
        };
        let from_template = recreated.is_some();
        // The template holds exactly what this key's migrations and seeds produce: nothing
        // is left to run.
        let report = if from_template {
            database::Report::default()
        } else {
            reset::drop_and_create(target).await?;
            database::run_steps(stack, target, env_file, steps, &|n| ui.info(n)).await?
        };
        let template = match (&key, recreated) {
            (Some(_), Some(how)) => TemplateUse::Used(how),
            (Some(key), None) if crate::cache::template::save_template(target, key).await? => {
                TemplateUse::Saved
            }
            _ => TemplateUse::None,
        };
        Ok((report, template))
    })?;
    let elapsed = started.elapsed();
    if !matches!(template, TemplateUse::None) && crate::cache::background_builds() {
        // The next reset renames a spare copy instead of copying while the user waits.
        let spare = std::env::current_exe()
            .map_err(|e| Diagnostic::new(e.to_string()))
            .and_then(|exe| crate::cache::build::start_spare_in_background(&exe, stack));
        if let Err(e) = spare {
            ui.info(format!("no spare copy for the next reset: {}", e.message));
        }
    }
    if json {
        ui.json(&super::migrate::StepsDocument::new(target, &report));
        return Ok(());
    }
    let how_made = match template {
        TemplateUse::Used(Recreated::FromSpare) => " from its reset template (a spare copy)",
        TemplateUse::Used(Recreated::FromTemplate) => " from its reset template",
        TemplateUse::Saved => " (saved as the reset template for the next reset)",
        TemplateUse::None => "",
    };
    ui.info(format!(
        "{} recreated the database at {}{how_made} ({:.2}s)",
        ui.paint(Style::Good, "✓"),
        target.shown,
        elapsed.as_secs_f64()
    ));
    for line in report.lines() {
        ui.info(format!("{} {line}", ui.paint(Style::Good, "✓")));
    }
    Ok(())
}

/// Whether a reset used or saved the PostgreSQL reset template.
enum TemplateUse {
    /// Recreated from it (or from its spare copy).
    Used(Recreated),
    /// Migrated and seeded, then saved as it.
    Saved,
    /// Neither (not PostgreSQL, no key, or the copy could not be made).
    None,
}

/// The cache key of the stack's database (it names the reset template); `None` when the stack
/// cannot use the cache or the engine does not answer.
pub(super) async fn template_key(stack: &Stack) -> Option<String> {
    let engine = crate::engine::Engine::connect_with_timeout(std::time::Duration::from_secs(2))
        .await
        .ok()?;
    let values = crate::env::load(stack).ok()?.values;
    let config = crate::config::UserConfig::load().ok()?;
    crate::cache::plan_for(&engine, stack, &values, &config, false)
        .await
        .ok()?
        .ok()
        .map(|plan| plan.key)
}

/// `devenv db shell`: the database's client in the foreground; its exit code is ours.
fn open_shell(stack: &Stack, target: &Target) -> Result<()> {
    let mut cmd = database::shell::command(stack, target, std::io::stdin().is_terminal())?;
    let status = cmd.status().map_err(|e| {
        Diagnostic::new(format!("cannot start the database shell: {e}"))
            .with_help("the docker CLI (or sqlite3 for SQLite) must be on PATH")
    })?;
    match status.code() {
        Some(0) => Ok(()),
        // Killed by a signal: no code of its own to pass on.
        code => Err(Error::Exited {
            program: client_name(target.kind).into(),
            code: code.unwrap_or(1).clamp(1, 255) as u8,
        }),
    }
}

/// The client a shell on this kind of database runs.
fn client_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "sqlite3",
        Kind::Postgres => "psql",
        Kind::Mysql => "mysql",
    }
}
