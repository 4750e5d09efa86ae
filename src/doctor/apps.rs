//! Doctor's checks of the stack's apps, one per app: its program is found and its cwd exists;
//! when it runs, its supervisor is alive and it answers its probe; when it does not, its port
//! is free (or says who holds it) and its last crash is shown with the end of its log.

use super::check::{Check, CheckId};
use crate::apps::probe::AppHealth;
use crate::apps::{AppStatus, status::AppRunState};
use crate::env::Values;
use crate::stack::{App, Stack};

/// Log lines shown with a crashed app.
const LOG_LINES: usize = 10;

/// One check per app of `stack`.
pub async fn checks(stack: &Stack, values: &Values) -> Vec<Check> {
    let statuses = crate::apps::status(stack, values).await;
    stack
        .apps
        .values()
        .zip(statuses)
        .map(|(app, status)| check(stack, app, values, &status))
        .collect()
}

fn check(stack: &Stack, app: &App, values: &Values, status: &AppStatus) -> Check {
    let id = CheckId::App(app.name.clone());
    let title = format!("app `{}`", app.name);
    if !stack.root.join(&app.cwd).is_dir() {
        return Check::fail(
            id,
            title,
            format!("its cwd `{}` does not exist", app.cwd.display()),
            format!(
                "create it, or correct [apps.{}].cwd in devenv.toml",
                app.name
            ),
        );
    }
    if let Some(missing) = stack.missing_program(app) {
        let fix = missing.help.clone().unwrap_or_default();
        return Check::fail(id, title, missing.message, fix);
    }
    match status.state {
        AppRunState::Running => running(id, title, app, status),
        AppRunState::Exited => {
            let code = status.last_exit_code.unwrap_or_default();
            Check::fail(
                id,
                title,
                format!(
                    "exited with code {code} after {} restarts and was left stopped; last {LOG_LINES} log lines:\n{}",
                    status.restarts,
                    crate::apps::log_tail(&stack.root, &app.name, LOG_LINES)
                ),
                format!(
                    "fix what the log says (all of it: .devenv/logs/{}.log), then `devenv up`",
                    app.name
                ),
            )
        }
        AppRunState::Stale => Check::warn(
            id,
            title,
            "its record names a process that is gone or is another program now (a crash or a reboot)",
            "`devenv up` cleans the record and starts it; the other program is never signalled",
        ),
        AppRunState::Stopped => stopped(id, title, app, values),
    }
}

fn running(id: CheckId, title: String, app: &App, status: &AppStatus) -> Check {
    let pid = status.pid.unwrap_or_default();
    if !status.supervised {
        return Check::warn(
            id,
            title,
            format!("runs (pid {pid}) but its supervisor is gone: a crash will not restart it"),
            format!("`devenv restart {}`", app.name),
        );
    }
    if let Some(problem) = &status.watch_problem {
        return Check::warn(
            id,
            title,
            format!("runs (pid {pid}), but its watch misses changes: {problem}"),
            format!(
                "do what the message says, then `devenv restart {}`",
                app.name
            ),
        );
    }
    match (&status.health, &status.unhealthy) {
        (Some(AppHealth::Degraded { failing }), _) => Check::warn(
            id,
            title,
            format!(
                "runs (pid {pid}) and reports itself degraded: failing {}",
                failing.join(", ")
            ),
            "see the failing checks in its /health answer and fix those services",
        ),
        (Some(health), _) => Check::ok(id, title, format!("{} (pid {pid})", health.describe())),
        (None, why) => Check::fail(
            id,
            title,
            format!(
                "runs (pid {pid}) but does not answer: {}",
                why.as_deref().unwrap_or("-")
            ),
            format!(
                "see `devenv logs {}`; `devenv restart {}` starts it again",
                app.name, app.name
            ),
        ),
    }
}

fn stopped(id: CheckId, title: String, app: &App, values: &Values) -> Check {
    match crate::apps::port(app, values) {
        Some(port) if crate::apps::ports::is_taken(port) => Check::warn(
            id,
            title,
            format!(
                "not running, and its port {port} is held by {}",
                crate::ports::process_holding(port)
            ),
            "`devenv up` moves it to a free port (or stop the other program)",
        ),
        _ => Check::ok(id, title, "not running; `devenv up` starts it"),
    }
}
