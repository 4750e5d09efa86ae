//! What `up` and `down` do with apps: start each app's supervisor in dependency order once the
//! services are ready, wait until the app answers its health check (or its port, or simply
//! runs), and fail at once with its exit code and log tail when it exits while starting;
//! stop every recorded app before the containers go.

use super::state::{self, Liveness};
use super::{port, stop_app, supervise::start_detached};
use crate::diagnostic::Diagnostic;
use crate::env::Values;
use crate::stack::{App, HealthCheck, Stack};
use std::path::Path;
use std::time::{Duration, Instant};

/// Log lines shown when an app fails to start.
const LOG_LINES: usize = 30;

/// One started (or already running) app, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// App name.
    pub app: String,
    /// Its process.
    pub pid: i32,
    /// Its port this run.
    pub port: Option<u16>,
    /// Whether it was running before this `up`.
    pub already_running: bool,
}

/// How [`start_all`] starts apps.
pub struct Start<'a> {
    /// The devenv program the supervisors run.
    pub devenv_exe: &'a Path,
    /// The longest wait for one app to be ready.
    pub timeout: Duration,
    /// Whether to run an app's `setup` when it is due.
    pub setup: bool,
    /// Where the setup's output lines go.
    pub on_line: &'a (dyn Fn(&str) + Sync),
}

/// Starts every app of `stack` (dependencies first): its setup when due, its `env_file`, its
/// supervisor; then waits for it to be ready.
pub async fn start_all(
    stack: &Stack,
    values: &Values,
    how: &Start<'_>,
) -> Result<Vec<Started>, Diagnostic> {
    let mut started = Vec::new();
    for app in start_order(stack) {
        let port = port(app, values);
        if let Some(record) = state::read(&stack.root, &app.name)? {
            if record.liveness() == Liveness::Running {
                started.push(Started {
                    app: app.name.clone(),
                    pid: record.pid,
                    port: record.port,
                    already_running: true,
                });
                continue;
            }
            // A stale record: clean what its session left, never touching a stranger.
            stop_app(&stack.root, &app.name, super::DEFAULT_GRACE).await?;
        }
        if how.setup {
            super::setup::run_if_due(stack, app, values, how.on_line).await?;
        }
        // Written before the start: a dev server reads it once, when it starts.
        super::env_file::write(stack, app, values)?;
        let supervisor = start_detached(how.devenv_exe, &stack.file, &app.name)?;
        let pid = match wait_ready(stack, app, values, port, supervisor, how.timeout).await {
            Ok(pid) => pid,
            Err(failure) => {
                // Its supervisor would restart it forever behind a failed `up`.
                stop_app(&stack.root, &app.name, super::DEFAULT_GRACE).await?;
                return Err(failure);
            }
        };
        started.push(Started {
            app: app.name.clone(),
            pid,
            port,
            already_running: false,
        });
    }
    Ok(started)
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

/// Apps in an order where each comes after the apps it depends on.
fn start_order(stack: &Stack) -> Vec<&App> {
    fn visit<'a>(stack: &'a Stack, name: &str, ordered: &mut Vec<&'a App>) {
        let Some(app) = stack.apps.get(name) else {
            return;
        };
        if ordered.iter().any(|a| a.name == name) {
            return;
        }
        for dep in &app.depends_on {
            visit(stack, dep, ordered);
        }
        ordered.push(app);
    }
    let mut ordered = Vec::new();
    for name in stack.apps.keys() {
        visit(stack, name, &mut ordered);
    }
    ordered
}

/// Waits until `app` runs and answers; fails when it exits first or `timeout` passes.
async fn wait_ready(
    stack: &Stack,
    app: &App,
    values: &Values,
    port: Option<u16>,
    supervisor: i32,
    timeout: Duration,
) -> Result<i32, Diagnostic> {
    let start = Instant::now();
    let mut last = "not started yet".to_string();
    loop {
        let record = state::read(&stack.root, &app.name)?;
        if record.is_none() && !super::proc::is_running(supervisor) {
            return Err(failed(stack, app, "could not be started by its supervisor"));
        }
        if let Some(record) = record {
            if let Some(code) = record.last_exit_code {
                return Err(failed(
                    stack,
                    app,
                    &format!("exited with code {code} while starting"),
                ));
            }
            if record.liveness() == Liveness::Running {
                match probe(stack, app, values, port).await {
                    Ok(()) => return Ok(record.pid),
                    Err(why) => last = why,
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

/// One readiness check: the health check, else a TCP connection to the app's port, else
/// nothing more than running. Ports are tried on 127.0.0.1 and ::1 (dev servers that bind
/// `localhost` may take either).
async fn probe(stack: &Stack, app: &App, values: &Values, port: Option<u16>) -> Result<(), String> {
    // A health port written as the app's port follows the app's port of this run.
    let current = |p: u16| match (&app.port, port) {
        (Some(declared), Some(now)) if declared.default == p => now,
        _ => p,
    };
    let mut errors = Vec::new();
    match app.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Command(argv)) => {
            let (program, args) = argv.split_first().ok_or("empty health command")?;
            let status = tokio::process::Command::new(program)
                .args(args)
                .current_dir(stack.root.join(&app.cwd))
                .envs(super::environment(app, values))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .await
                .map_err(|e| format!("cannot run `{program}`: {e}"))?;
            return if status.success() {
                Ok(())
            } else {
                Err(format!("`{}` exited with {status}", argv.join(" ")))
            };
        }
        Some(HealthCheck::Http { path, port }) => {
            for host in ["127.0.0.1", "::1"] {
                match crate::health::http_get(host, current(*port), path).await {
                    Ok(()) => return Ok(()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        Some(HealthCheck::Tcp(p)) => return tcp(current(*p)).await,
        None => match port {
            Some(port) => return tcp(port).await,
            None => return Ok(()),
        },
    }
    Err(errors.join("; "))
}

async fn tcp(port: u16) -> Result<(), String> {
    for host in ["127.0.0.1", "::1"] {
        if tokio::net::TcpStream::connect((host, port)).await.is_ok() {
            return Ok(());
        }
    }
    Err(format!("nothing listens on port {port} (127.0.0.1 or ::1)"))
}

/// An app that failed to start, with the end of its log.
fn failed(stack: &Stack, app: &App, what: &str) -> Diagnostic {
    let log = std::fs::read_to_string(super::log_path(&stack.root, &app.name)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join("\n");
    Diagnostic::new(format!(
        "app `{}` {what}\n--- last {LOG_LINES} lines of .devenv/logs/{}.log ---\n{tail}",
        app.name, app.name
    ))
    .with_help(format!(
        "fix the app (its command and cwd are in devenv.toml under [apps.{}]); `devenv down` stops what is left",
        app.name
    ))
}
