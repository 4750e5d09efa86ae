//! What `up` and `down` do with apps: start each app's supervisor in dependency order once the
//! services are ready (apps of one level of the order together), wait until the app answers
//! its health check (or its port, or simply runs), and fail at once with its exit code and log
//! tail when it exits while starting; restart a running app whose command, environment or
//! `env_file` changed; move an app off a port another program holds; stop every recorded app
//! before the containers go.

use super::ports::AppRemap;
use super::probe::{AppHealth, listening_elsewhere, probe};
use super::state::{self, AppState, Liveness};
use super::{port, stop_app, supervise::start_detached};
use crate::diagnostic::Diagnostic;
use crate::env::Values;
use crate::stack::{App, Stack};
use std::path::Path;
use std::time::{Duration, Instant};

/// Log lines shown when an app fails to start.
const LOG_LINES: usize = 30;

/// How long an app may listen only on other ports than its own before `up` says so.
const WRONG_PORT_AFTER: Duration = Duration::from_secs(2);

/// How an app came to be running after `up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// Started by this `up`.
    Started,
    /// It was running already, started with what this run would start it with.
    AlreadyRunning,
    /// It was running with another command, environment or `env_file` (a port moved, `.env`
    /// or devenv.toml changed) or its setup was due, and was restarted.
    Restarted,
}

/// One app running after `up`, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// App name.
    pub app: String,
    /// Its process.
    pub pid: i32,
    /// Its port this run.
    pub port: Option<u16>,
    /// How it came to run.
    pub kind: StartKind,
    /// What its readiness probe said last.
    pub health: AppHealth,
}

/// What [`start_all`] did.
#[derive(Debug, Default)]
pub struct StartReport {
    /// The apps, in start order.
    pub apps: Vec<Started>,
    /// Apps moved off ports that other programs hold.
    pub remaps: Vec<AppRemap>,
}

/// How [`start_all`] starts apps.
pub struct Start<'a> {
    /// The devenv program the supervisors run.
    pub devenv_exe: &'a Path,
    /// The longest wait for one app to be ready.
    pub timeout: Duration,
    /// Whether to run an app's `setup` when it is due.
    pub setup: bool,
    /// Whether a taken port may be moved to a free one.
    pub remap: bool,
    /// Only these apps (and the apps they depend on); all when `None`.
    pub only: Option<&'a [String]>,
    /// Where the setup's output lines and notes go.
    pub on_line: &'a (dyn Fn(&str) + Sync),
}

/// An app on its way up: its supervisor started (or found running), not yet ready.
struct Pending<'a> {
    app: &'a App,
    kind: StartKind,
    supervisor: Option<i32>,
}

/// Starts the apps of `stack` level by level of their dependency order: for each, its port
/// (moved when taken), its setup when due, its `env_file`, its supervisor; then waits for the
/// level's apps together. `values` are reloaded after a port moves.
pub async fn start_all(
    stack: &Stack,
    mut values: Values,
    how: &Start<'_>,
) -> Result<StartReport, Diagnostic> {
    let mut report = StartReport::default();
    for level in start_levels(stack, how.only) {
        let mut pending = Vec::new();
        for app in level {
            let (remap, running) = prepare(stack, app, &values, how).await?;
            if let Some(remap) = remap {
                report.remaps.push(remap);
                values = crate::env::load(stack)?.values;
            }
            pending.push(launch_or_keep(stack, app, &values, running, how).await?);
        }
        let waits = pending
            .iter()
            .map(|p| wait_ready(stack, p, &values, how.timeout));
        let results = futures_util::future::join_all(waits).await;
        for (pending, result) in pending.iter().zip(results) {
            match result {
                Ok(started) => report.apps.push(started),
                Err(failure) => {
                    // Its supervisor would restart it forever behind a failed `up`.
                    stop_app(&stack.root, &pending.app.name, super::DEFAULT_GRACE).await?;
                    return Err(failure);
                }
            }
        }
    }
    Ok(report)
}

/// Cleans what a stale record left, and moves the app off a taken port, unless the app runs.
/// Returns the move, and the record of the app when it runs.
async fn prepare(
    stack: &Stack,
    app: &App,
    values: &Values,
    how: &Start<'_>,
) -> Result<(Option<AppRemap>, Option<AppState>), Diagnostic> {
    if let Some(record) = state::read(&stack.root, &app.name)? {
        if record.liveness() == Liveness::Running {
            return Ok((None, Some(record)));
        }
        // A stale record: clean what its session left, never touching a stranger.
        stop_app(&stack.root, &app.name, super::DEFAULT_GRACE).await?;
    }
    Ok((super::ports::settle(stack, app, values, how.remap)?, None))
}

/// Keeps a running app (`running`: its record) that was started as this run would start it;
/// otherwise (re)starts it: setup when due, `env_file`, supervisor.
async fn launch_or_keep<'a>(
    stack: &Stack,
    app: &'a App,
    values: &Values,
    running: Option<AppState>,
    how: &Start<'_>,
) -> Result<Pending<'a>, Diagnostic> {
    let mut kind = StartKind::Started;
    if let Some(record) = running {
        let launch = super::launch(stack, app, values);
        let changed = !record.fingerprint.is_empty() && record.fingerprint != launch.fingerprint;
        let orphaned = !super::lock::is_held(&stack.root, &app.name);
        let why = if orphaned {
            "its supervisor is gone (killed?), so nothing would restart it"
        } else if changed {
            "its command, environment or env_file changed"
        } else if how.setup && super::setup::is_due(stack, app) {
            "its setup inputs changed"
        } else {
            return Ok(Pending {
                app,
                kind: StartKind::AlreadyRunning,
                supervisor: None,
            });
        };
        (how.on_line)(&format!("restarting app `{}`: {why}", app.name));
        stop_app(&stack.root, &app.name, super::DEFAULT_GRACE).await?;
        kind = StartKind::Restarted;
    }
    if how.setup {
        super::setup::run_if_due(stack, app, values, how.on_line).await?;
    }
    // Written before the start: a dev server reads it once, when it starts.
    super::env_file::write(stack, app, values)?;
    let supervisor = start_detached(how.devenv_exe, &stack.file, &app.name)?;
    Ok(Pending {
        app,
        kind,
        supervisor: Some(supervisor),
    })
}

/// Stops every app with a state file under `root` (those of the stack and any left from an
/// earlier version of it); returns the names of those that were running.
pub async fn stop_all(root: &Path, grace: Duration) -> Result<Vec<String>, Diagnostic> {
    let mut stopped = Vec::new();
    for app in state::recorded(root) {
        if let Some(outcome) = stop_app(root, &app, grace).await?
            && outcome.was_running()
        {
            stopped.push(app);
        }
    }
    Ok(stopped)
}

/// The apps to start, in levels: each app comes in a later level than every app it depends
/// on, and the apps of one level start together. `only` limits them to those apps and the
/// apps they depend on.
fn start_levels<'a>(stack: &'a Stack, only: Option<&[String]>) -> Vec<Vec<&'a App>> {
    fn depth(stack: &Stack, name: &str, seen: &mut Vec<String>) -> usize {
        if seen.iter().any(|s| s == name) {
            return 0; // a cycle is refused when the stack loads
        }
        seen.push(name.to_string());
        let deepest = stack.apps[name]
            .depends_on
            .iter()
            .filter(|d| stack.apps.contains_key(*d))
            .map(|d| depth(stack, d, seen) + 1)
            .max()
            .unwrap_or(0);
        seen.pop();
        deepest
    }
    let mut wanted: Vec<&str> = match only {
        Some(names) => names.iter().map(String::as_str).collect(),
        None => stack.apps.keys().map(String::as_str).collect(),
    };
    let mut i = 0;
    while i < wanted.len() {
        if let Some(app) = stack.apps.get(wanted[i]) {
            for dep in &app.depends_on {
                if stack.apps.contains_key(dep) && !wanted.contains(&dep.as_str()) {
                    wanted.push(dep);
                }
            }
        }
        i += 1;
    }
    let mut levels: Vec<Vec<&App>> = Vec::new();
    for app in stack
        .apps
        .values()
        .filter(|a| wanted.contains(&a.name.as_str()))
    {
        let level = depth(stack, &app.name, &mut Vec::new());
        if levels.len() <= level {
            levels.resize_with(level + 1, Vec::new);
        }
        levels[level].push(app);
    }
    levels
}

/// Waits until the app runs and answers; fails when it exits first, listens on another port
/// than its own, or `timeout` passes.
async fn wait_ready(
    stack: &Stack,
    pending: &Pending<'_>,
    values: &Values,
    timeout: Duration,
) -> Result<Started, Diagnostic> {
    let app = pending.app;
    let port = port(app, values);
    let start = Instant::now();
    let mut last = "not started yet".to_string();
    loop {
        let record = state::read(&stack.root, &app.name)?;
        let supervisor_alive = pending.supervisor.is_some_and(super::proc::is_running);
        if record.is_none() && !supervisor_alive {
            return Err(failed(stack, app, "could not be started by its supervisor"));
        }
        if let Some(record) = record {
            if let Some(code) = record.last_exit_code {
                return Err(exited(stack, app, code));
            }
            if record.liveness() == Liveness::Running {
                match probe(stack, app, values, port).await {
                    Ok(health) => {
                        return Ok(Started {
                            app: app.name.clone(),
                            pid: record.pid,
                            port,
                            kind: pending.kind,
                            health,
                        });
                    }
                    Err(why) => last = why,
                }
                if let Some(port) = port
                    && start.elapsed() >= WRONG_PORT_AFTER
                {
                    let elsewhere = listening_elsewhere(&record, port);
                    if !elsewhere.is_empty() {
                        return Err(wrong_port(stack, app, port, &elsewhere));
                    }
                }
            }
        }
        if start.elapsed() >= timeout {
            return Err(failed(
                stack,
                app,
                &format!(
                    "was not ready after {}s; last probe: {last}",
                    timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An app that exited while starting; code 0 is a command that put itself in the background.
fn exited(stack: &Stack, app: &App, code: i32) -> Diagnostic {
    if code != 0 {
        return failed(
            stack,
            app,
            &format!("exited with code {code} while starting"),
        );
    }
    let mut diagnostic = failed(
        stack,
        app,
        "exited with code 0 at once: its command seems to put itself in the background (as `pg_ctl start`, `docker run -d` or a `--daemon` flag do), and devenv can only supervise a process that stays in the foreground",
    );
    diagnostic.help = Some(format!(
        "make [apps.{}].command run in the foreground (drop `-d`/`--daemon`/`&`, or use its foreground flag); a one-off step belongs in `setup`",
        app.name
    ));
    diagnostic
}

/// An app that listens, but not on the port devenv gave it.
fn wrong_port(stack: &Stack, app: &App, port: u16, elsewhere: &[u16]) -> Diagnostic {
    let ports: Vec<String> = elsewhere.iter().map(u16::to_string).collect();
    let var = app.port.as_ref().map_or("PORT", |p| p.var.as_str());
    let mut diagnostic = failed(
        stack,
        app,
        &format!(
            "listens on port {} instead of its port {port}",
            ports.join(", ")
        ),
    );
    diagnostic.help = Some(format!(
        "pass the port in [apps.{}].command (for Vite: `--port ${{{var}}} --strictPort`); some servers ignore $PORT",
        app.name
    ));
    diagnostic
}

/// An app that failed to start, with the end of its log.
fn failed(stack: &Stack, app: &App, what: &str) -> Diagnostic {
    let tail = super::log_tail(&stack.root, &app.name, LOG_LINES);
    Diagnostic::new(format!(
        "app `{}` {what}\n--- last {LOG_LINES} lines of .devenv/logs/{}.log ---\n{tail}",
        app.name, app.name
    ))
    .with_help(format!(
        "fix the app (its command and cwd are in devenv.toml under [apps.{}]); `devenv down` stops what is left",
        app.name
    ))
}
