//! `devenv up`, `devenv up --watch` (alias `devenv watch`) and `devenv up --attach` (alias
//! `devenv dev`): bring the stack up and say what is where, then, when watching, follow edits
//! until Ctrl-C, or, when attached, show the apps' output until Ctrl-C stops them. The stack is loaded once here and
//! passed down; the watcher reloads it only when devenv.toml changes.

use super::runtime::{block_on, block_on_uninterrupted};
use crate::apps::StartKind;
use crate::apps::probe::AppHealth;
use crate::cli::{UpArgs, WatchArgs};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::lifecycle::report::{ServiceRow, table};
use crate::lifecycle::up::{UpOptions, up};
use crate::progress::Progress;
use crate::stack::Stack;
use crate::timings::{Phase, Timings, TimingsEvent};
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Runs `devenv up`.
pub fn run(file: Option<&Path>, args: &UpArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let (services, apps) = crate::apps::split_selection(&stack, &args.services)?;
    let options = UpOptions {
        services,
        profiles: args.profiles.clone(),
        timeout: Duration::from_secs(args.timeout),
        json: args.json,
        remap: !args.no_remap && stack.project.remap_ports,
        migrate: !args.no_migrate,
        seed: !args.no_seed,
        adopt: args.adopt,
        secrets_into_tracked_env: args.yes,
        cache: !args.no_cache,
        timings: args.timings,
    };
    if let Some(note) = crate::project::name_note(&stack) {
        ui.info(note);
    }
    // An app whose program is missing fails before anything starts.
    stack.check_programs()?;
    let apps = AppChoice {
        only: apps,
        setup: !args.no_setup,
    };
    if args.watch {
        return up_and_watch(stack, options, &apps, false, ui);
    }
    if args.attach {
        return up_and_attach(&stack, &options, &apps, ui);
    }
    print_up(&stack, &options, &apps, ui)?;
    Ok(())
}

/// Runs `devenv dev`: `devenv up --attach`.
pub fn dev(file: Option<&Path>, mut args: UpArgs, ui: &Ui) -> Result<()> {
    if args.json || args.watch {
        return Err(Error::usage(
            "`devenv dev` stays with the apps' output: it takes neither `--json` nor `--watch`",
        ));
    }
    args.attach = true;
    run(file, &args, ui)
}

/// Brings the stack up, then prints the apps' output until Ctrl-C, which stops the apps
/// (exit 130). The logs are followed from before the start, so that its output shows.
fn up_and_attach(stack: &Stack, options: &UpOptions, apps: &AppChoice, ui: &Ui) -> Result<()> {
    if stack.apps.is_empty() || apps.only.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::failure(
            Diagnostic::new("`--attach` follows the apps' output, and no app is started here")
                .with_help(
                    "add `[apps.NAME]` tables to devenv.toml, or start the whole stack (no service list)",
                ),
        ));
    }
    let names: Vec<String> = match &apps.only {
        Some(only) => only.clone(),
        None => stack.apps.keys().cloned().collect(),
    };
    let logs = crate::apps::follow::AppLogs::from_end(&stack.root, &names);
    if let Err(e) = print_up(stack, options, apps, ui) {
        if matches!(e, Error::Interrupted) {
            // Ctrl-C while starting: what started goes too.
            block_on_uninterrupted(async {
                Ok(crate::apps::stop_all(&stack.root, crate::apps::DEFAULT_GRACE).await?)
            })?;
        }
        return Err(e);
    }
    block_on_uninterrupted(async {
        Ok(crate::apps::attach::attach(&stack.root, logs, ui).await?)
    })?;
    Err(Error::Interrupted)
}

/// Runs `devenv watch`: `devenv up --watch` with the default options.
pub fn watch(file: Option<&Path>, args: &WatchArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let options = default_options(&stack);
    let apps = AppChoice {
        only: None,
        setup: true,
    };
    up_and_watch(stack, options, &apps, args.down_on_exit, ui)
}

/// Which apps `up` starts, and whether their setup runs when due.
struct AppChoice {
    /// Only these (and the apps they depend on); all when `None`.
    only: Option<Vec<String>>,
    /// Run an app's `setup` when it is due.
    setup: bool,
}

/// Brings the stack up (printing as `up` does), then watches it; `down_on_exit` stops the
/// stack when the watch ends.
fn up_and_watch(
    stack: Stack,
    options: UpOptions,
    apps: &AppChoice,
    down_on_exit: bool,
    ui: &Ui,
) -> Result<()> {
    print_up(&stack, &options, apps, ui)?;
    block_on_uninterrupted(async {
        Ok(crate::watch::watch(stack, &options, ui, down_on_exit).await?)
    })?;
    Ok(())
}

/// Options of a plain `devenv up` for a stack (what `devenv watch` starts with).
fn default_options(stack: &Stack) -> UpOptions {
    UpOptions {
        services: Vec::new(),
        profiles: Vec::new(),
        timeout: Duration::from_secs(120),
        json: false,
        remap: stack.project.remap_ports,
        migrate: true,
        seed: true,
        adopt: false,
        secrets_into_tracked_env: false,
        cache: true,
        timings: false,
    }
}

/// Brings the stack up and prints the outcome (table, or JSON with `options.json`).
fn print_up(stack: &Stack, options: &UpOptions, apps: &AppChoice, ui: &Ui) -> Result<()> {
    let progress = Progress::new(ui, options.json);
    let timings = Timings::new(options.timings);
    let report = block_on(async { Ok(up(stack, options, ui, &progress, &timings).await?) });
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            progress.clear();
            return Err(e);
        }
    };
    build_in_background(stack, report.cache.as_ref(), ui);
    let started = start_apps(stack, options, apps, ui)?;
    timings.lap(Phase::Apps);
    let breakdown = timings.breakdown();
    let apps = &started.apps;
    let nothing_changed = report.nothing_changed()
        && started.remaps.is_empty()
        && apps.iter().all(|a| a.kind == StartKind::AlreadyRunning);
    if options.json {
        if let Some(breakdown) = &breakdown {
            ui.json(&TimingsEvent {
                event: "timings",
                breakdown,
            });
        }
        ui.json(&ReadyEvent {
            event: "ready",
            elapsed_ms: report.elapsed.as_millis() as u64,
            changed: !nothing_changed,
            services: &report.rows,
            database: &report.database,
            cache: report.cache.as_ref(),
            remapped: report
                .remaps
                .iter()
                .map(ToString::to_string)
                .chain(started.remaps.iter().map(ToString::to_string))
                .collect(),
            apps: apps.iter().map(AppRow::from).collect(),
        });
        return Ok(());
    }
    let seconds = report.elapsed.as_secs_f64();
    if nothing_changed {
        let apps = if apps.is_empty() {
            String::new()
        } else {
            format!(" and {} apps", apps.len())
        };
        ui.info(format!(
            "{} nothing to change: {} services{apps} running and ready ({seconds:.2}s)",
            ui.paint(Style::Good, "✓"),
            report.rows.len()
        ));
    } else {
        ui.info(format!(
            "{} `{}` is up ({seconds:.2}s)",
            ui.paint(Style::Good, "✓"),
            stack.project.name
        ));
    }
    if !report.rows.is_empty() || apps.is_empty() {
        ui.out(table(&report.rows, false));
    }
    for app in apps {
        print_app(app, ui);
    }
    for remap in &report.remaps {
        ui.warn(remap);
    }
    for remap in &started.remaps {
        ui.warn(remap);
    }
    for line in breakdown.iter().flat_map(|b| b.lines()) {
        ui.out(line);
    }
    Ok(())
}

/// One app's line after `up`: how it runs, where, and a warning when it is degraded.
fn print_app(app: &crate::apps::Started, ui: &Ui) {
    let row = AppRow::from(app);
    let at = row.url.map(|url| format!(" at {url}")).unwrap_or_default();
    let how = match app.kind {
        StartKind::Started => "running",
        StartKind::AlreadyRunning => "already running",
        StartKind::Restarted => "restarted",
    };
    ui.info(format!(
        "{} app `{}` {how} (pid {}){at}",
        ui.paint(Style::Good, "✓"),
        app.app,
        app.pid
    ));
    if let AppHealth::Degraded { failing } = &app.health {
        let failing = if failing.is_empty() {
            String::new()
        } else {
            format!(": failing {}", failing.join(", "))
        };
        ui.warn(format!(
            "app `{}` reports itself degraded{failing}",
            app.app
        ));
    }
}

/// Says what the cache did and, after a miss, starts building the snapshot in the background
/// (unless `DEVENV_CACHE_BUILD=never`), and after a restore, so that a copy is prepared for the
/// next new volume. A build that cannot start costs only the snapshot.
fn build_in_background(stack: &Stack, cache: Option<&crate::cache::CacheOutcome>, ui: &Ui) {
    let Some(cache) = cache else { return };
    let miss = matches!(cache, crate::cache::CacheOutcome::Miss { .. });
    if miss && !crate::cache::background_builds() {
        ui.info("no database snapshot for these migrations and seeds yet (DEVENV_CACHE_BUILD=never: `devenv cache build` makes one)");
        return;
    }
    ui.info(cache.describe());
    // After a miss the snapshot is built; after a restore the copy it used is made again.
    let restored = matches!(cache, crate::cache::CacheOutcome::Restored { .. });
    if !(miss || restored && crate::cache::background_builds()) {
        return;
    }
    let started = std::env::current_exe()
        .map_err(|e| crate::diagnostic::Diagnostic::new(e.to_string()))
        .and_then(|exe| crate::cache::build::start_in_background(&exe, stack));
    if let Err(e) = started {
        ui.warn(format!("the database snapshot is not built: {e}"));
    }
}

/// Starts the stack's apps once services, migrations and seeds are done: all of them, or
/// those `up` was asked for by name (none when only services were named).
fn start_apps(
    stack: &Stack,
    options: &UpOptions,
    apps: &AppChoice,
    ui: &Ui,
) -> Result<crate::apps::StartReport> {
    if stack.apps.is_empty() || apps.only.as_ref().is_some_and(Vec::is_empty) {
        return Ok(crate::apps::StartReport::default());
    }
    let values = crate::env::load(stack)?.values;
    let exe = std::env::current_exe().map_err(|e| {
        crate::error::Error::failure(crate::diagnostic::Diagnostic::new(format!(
            "cannot find devenv's own program to supervise the apps: {e}"
        )))
    })?;
    let on_line = |line: &str| ui.info(line);
    let start = crate::apps::start::Start {
        devenv_exe: &exe,
        timeout: options.timeout,
        setup: apps.setup,
        remap: options.remap,
        only: apps.only.as_deref(),
        on_line: &on_line,
    };
    block_on(async { Ok(crate::apps::start_all(stack, values, &start).await?) })
}

/// An app in `up`'s output.
#[derive(Debug, Serialize)]
struct AppRow {
    /// App name.
    name: String,
    /// Its process.
    pid: i32,
    /// Its port.
    port: Option<u16>,
    /// Where it answers.
    url: Option<String>,
    /// Whether it was already running.
    already_running: bool,
    /// Whether this `up` restarted it (what it runs with changed).
    restarted: bool,
    /// What its readiness probe said.
    #[serde(flatten)]
    health: AppHealth,
}

impl From<&crate::apps::Started> for AppRow {
    fn from(app: &crate::apps::Started) -> Self {
        Self {
            name: app.app.clone(),
            pid: app.pid,
            port: app.port,
            url: app.port.map(|port| format!("http://127.0.0.1:{port}")),
            already_running: app.kind == StartKind::AlreadyRunning,
            restarted: app.kind == StartKind::Restarted,
            health: app.health.clone(),
        }
    }
}

/// The last `up --json` event: the stack is up (the progress events before it are
/// `progress::Event`s).
#[derive(Debug, Serialize)]
struct ReadyEvent<'a> {
    /// Always `ready`.
    event: &'static str,
    /// Milliseconds `up` took.
    elapsed_ms: u64,
    /// Whether anything was created, recreated or started.
    changed: bool,
    /// One row per service.
    services: &'a [ServiceRow],
    /// What the database steps did.
    database: &'a crate::database::Report,
    /// What the seeded-volume cache did for a new database volume (absent: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<&'a crate::cache::CacheOutcome>,
    /// Host ports moved to free ones, as messages.
    remapped: Vec<String>,
    /// The apps started (absent when the stack has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    apps: Vec<AppRow>,
}
