//! Whether a running app answers: its health check (`http` with the health-report shape, `tcp`,
//! or `cmd` run in its cwd), else a TCP connection to its port, else nothing more than
//! running. Ports are tried on 127.0.0.1 and ::1: dev servers that bind `localhost` may take
//! either (Vite on Node 17+ binds ::1 only). Used by `up` while it waits and by `status`.

use super::proc;
use super::state::AppState;
use crate::env::Values;
use crate::health::HttpHealth;
use crate::stack::{App, HealthCheck, Stack};
use serde::Serialize;

/// What one probe of a running app found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "health", rename_all = "lowercase")]
pub enum AppHealth {
    /// It answers its check (or its port).
    Healthy,
    /// Its health report says `degraded`: ready, with these checks failing.
    Degraded {
        /// The failing checks.
        failing: Vec<String>,
    },
    /// It has neither a check nor a port: running is all that is known.
    Running,
}

impl AppHealth {
    /// A short word for tables: `healthy`, `degraded (cache)`, `running`.
    pub fn describe(&self) -> String {
        match self {
            Self::Healthy => "healthy".into(),
            Self::Degraded { failing } if failing.is_empty() => "degraded".into(),
            Self::Degraded { failing } => format!("degraded ({})", failing.join(", ")),
            Self::Running => "running".into(),
        }
    }
}

/// Probes `app` once; `port` is its port this run. `Err` says why it is not ready.
pub async fn probe(
    stack: &Stack,
    app: &App,
    values: &Values,
    port: Option<u16>,
) -> Result<AppHealth, String> {
    // A health port written as the app's port follows the app's port of this run.
    let current = |p: u16| match (&app.port, port) {
        (Some(declared), Some(now)) if declared.default == p => now,
        _ => p,
    };
    match app.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Command(argv)) => command(stack, app, values, argv).await,
        Some(HealthCheck::Http { path, port }) => {
            let mut errors = Vec::new();
            for host in ["127.0.0.1", "::1"] {
                match crate::health::http_get(host, current(*port), path).await {
                    Ok(HttpHealth::Ok) => return Ok(AppHealth::Healthy),
                    Ok(HttpHealth::Degraded { failing }) => {
                        return Ok(AppHealth::Degraded { failing });
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Err(errors.join("; "))
        }
        Some(HealthCheck::Tcp(p)) => tcp(current(*p)).await,
        None => match port {
            Some(port) => tcp(port).await,
            None => Ok(AppHealth::Running),
        },
    }
}

async fn command(
    stack: &Stack,
    app: &App,
    values: &Values,
    argv: &[String],
) -> Result<AppHealth, String> {
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
    if status.success() {
        Ok(AppHealth::Healthy)
    } else {
        Err(format!("`{}` exited with {status}", argv.join(" ")))
    }
}

async fn tcp(port: u16) -> Result<AppHealth, String> {
    for host in ["127.0.0.1", "::1"] {
        if tokio::net::TcpStream::connect((host, port)).await.is_ok() {
            return Ok(AppHealth::Healthy);
        }
    }
    Err(format!("nothing listens on port {port} (127.0.0.1 or ::1)"))
}

/// The ports the app's processes listen on when none of them is its own `port`: a dev
/// server that moved itself elsewhere (Vite takes the next port when its own is taken and
/// ignores `$PORT`). Empty when it listens on its port, or on nothing yet.
pub fn listening_elsewhere(record: &AppState, port: u16) -> Vec<u16> {
    let pids: Vec<i32> = proc::session_members(record.pid)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    let listening = proc::listening_ports(&pids);
    if listening.contains(&port) {
        Vec::new()
    } else {
        listening
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reads_as_a_word() {
        assert_eq!(AppHealth::Healthy.describe(), "healthy");
        let degraded = AppHealth::Degraded {
            failing: vec!["cache".into()],
        };
        assert_eq!(degraded.describe(), "degraded (cache)");
        assert_eq!(
            serde_json::to_value(&degraded).unwrap(),
            serde_json::json!({"health": "degraded", "failing": ["cache"]})
        );
    }
}
