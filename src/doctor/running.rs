//! Checks of the running stack: each service, volumes, the database, migrations and seeds.

use super::{Check, CheckId, Fix};
use crate::database::{self, Target, migrate, seed};
use crate::engine::Engine;
use crate::plan;
use crate::stack::{Stack, Volume};
use std::collections::HashSet;

/// Services whose containers run now.
pub async fn running_services(stack: &Stack, engine: Option<&Engine>) -> HashSet<String> {
    let Some(engine) = engine else {
        return HashSet::new();
    };
    engine
        .running_services(&stack.project.name)
        .await
        .unwrap_or_default()
}

/// Every running-stack check.
pub async fn checks(stack: &Stack, engine: Option<&Engine>) -> Vec<Check> {
    let Some(engine) = engine else {
        return vec![Check::skip(
            CheckId::Services,
            "services running and healthy",
            "no engine to ask",
        )];
    };
    let mut checks: Vec<Check> = forwarder_check(stack, engine).await.into_iter().collect();
    let mut any_container = false;
    for service in stack.services.values() {
        let (check, exists) = service_check(stack, engine, &service.name).await;
        any_container |= exists;
        checks.push(check);
    }
    if !any_container {
        return checks;
    }
    checks.push(volume_check(stack, engine).await);
    checks.extend(database_checks(stack).await);
    checks
}

/// A remote (ssh://) engine's forwarder: running with its ports, or not running while its
/// record says it should. `None` for a local engine with no forwarder left.
async fn forwarder_check(stack: &Stack, engine: &Engine) -> Option<Check> {
    let title = "remote engine's ports forwarded here";
    let state = crate::forward::load(&stack.root);
    if !engine.endpoint.forwards_ports() {
        return state.map(|_| {
            Check::warn(
                CheckId::Forwarder,
                title,
                format!("a forwarder is recorded for another engine, not {}", engine.endpoint.host),
                "`devenv down` with that engine's DOCKER_HOST, or `devenv up` with this one (it stops the old forwarder)",
            )
        });
    }
    let Some(state) = state else {
        return Some(Check::ok(
            CheckId::Forwarder,
            title,
            "nothing forwarded yet (`devenv up` forwards each published port)",
        ));
    };
    let ports: Vec<String> = state
        .forwards
        .iter()
        .map(|f| format!("{}:{} ← {}", f.local_ip, f.local_port, f.origin(&state)))
        .collect();
    Some(if crate::forward::running(&state).await {
        Check::ok(
            CheckId::Forwarder,
            title,
            format!(
                "ssh (pid {}) forwards {}",
                state.pid.map_or("?".into(), |p| p.to_string()),
                if ports.is_empty() {
                    "nothing".to_string()
                } else {
                    ports.join(", ")
                }
            ),
        )
    } else {
        Check::fail(
            CheckId::Forwarder,
            title,
            format!(
                "the forwarder is not running (see .devenv/forward.log); {} unreachable from here",
                if ports.is_empty() {
                    "ports are".to_string()
                } else {
                    ports.join(", ")
                }
            ),
            "`devenv up` starts it again",
        )
    })
}

/// One service's container: running and healthy, or why not. Also says whether the
/// container exists at all.
async fn service_check(stack: &Stack, engine: &Engine, service: &str) -> (Check, bool) {
    let id = CheckId::Service(service.to_string());
    let title = format!("service `{service}` running and healthy");
    let container = plan::container_name(&stack.project.name, service);
    let Ok(state) = engine.state(&container).await else {
        let check = Check::warn(id, title, "not created", "start the stack: `devenv up`");
        return (check, false);
    };
    let logs = || async {
        engine
            .log_tail(&container, 5)
            .await
            .trim_end()
            .replace('\n', "\n      ")
    };
    let check = if state.oom_killed {
        Check::fail(
            id,
            title,
            format!("killed for lack of memory (OOM), exit {}", state.exit_code),
            "give Docker more memory (Docker Desktop: Settings → Resources), then `devenv up`",
        )
    } else if state.restarting || state.restart_count > 3 {
        Check::fail(
            id,
            title,
            format!(
                "restarting in a loop ({} restarts); last log lines:\n      {}",
                state.restart_count,
                logs().await
            ),
            format!("read the log (`devenv logs {service}`), fix the cause, then `devenv up`"),
        )
    } else if !state.running {
        Check::fail(
            id,
            title,
            format!("{} with exit code {}; last log lines:\n      {}", state.status, state.exit_code, logs().await),
            format!("read the log (`devenv logs {service}`), fix the cause, then `devenv up` (or `devenv doctor --fix` to start it)"),
        )
        .with_auto_fix(Fix::StartService(service.to_string()))
    } else if state.health == Some(crate::engine::Health::Unhealthy) {
        Check::fail(
            id,
            title,
            format!(
                "running but unhealthy; last log lines:\n      {}",
                logs().await
            ),
            format!("`devenv logs {service}` shows why; `devenv restart {service}` tries again"),
        )
    } else {
        Check::ok(
            id,
            title,
            format!(
                "running{}",
                state.health.map(|h| format!(", {h}")).unwrap_or_default()
            ),
        )
    };
    (check, true)
}

/// The stack's named volumes exist.
async fn volume_check(stack: &Stack, engine: &Engine) -> Check {
    let volumes: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.volumes.iter())
        .filter_map(|v| match v {
            Volume::Named { name, .. } => Some(plan::volume_name(&stack.project.name, name)),
            Volume::Bind { .. } => None,
        })
        .collect();
    let mut missing = Vec::new();
    for volume in &volumes {
        if !engine.volume_exists(volume).await.unwrap_or(true) {
            missing.push(volume.clone());
        }
    }
    if missing.is_empty() {
        Check::ok(
            CheckId::Volumes,
            "named volumes present",
            format!("{} volume(s)", volumes.len()),
        )
    } else {
        Check::warn(
            CheckId::Volumes,
            "named volumes present",
            format!("missing: {}", missing.join(", ")),
            "`devenv up` creates them (empty: the data they held is gone)",
        )
    }
}

async fn database_checks(stack: &Stack) -> Vec<Check> {
    let Some(database) = &stack.database else {
        return Vec::new();
    };
    let values = crate::env::load(stack)
        .unwrap_or_else(|_| crate::env::Loaded::without_file(stack))
        .values;
    let title = "database reachable from this machine";
    let target = match Target::of(stack, &values) {
        Ok(t) => t,
        Err(e) => {
            return vec![Check::fail(
                CheckId::Database,
                title,
                e.message.clone(),
                e.help.clone().unwrap_or_default(),
            )];
        }
    };
    let mut conn =
        match tokio::time::timeout(std::time::Duration::from_secs(5), target.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return vec![Check::fail(
                    CheckId::Database,
                    title,
                    e.message.clone(),
                    e.help.clone().unwrap_or_default(),
                )];
            }
            Err(_) => {
                return vec![Check::fail(
                    CheckId::Database,
                    title,
                    format!("no answer from {} within 5 s", target.shown),
                    "check `devenv status` and the port in .env",
                )];
            }
        };
    let mut checks = vec![Check::ok(CheckId::Database, title, target.shown.clone())];
    if let (Some(dir), None) = (&database.migrations, &database.migrate_command) {
        let title = "migrations applied, unedited";
        checks.push(match migrate::Migrations::load(&stack.root, dir, database.format).await {
            Err(e) => Check::fail(CheckId::Migrations, title, e.message, "fix the migrations directory"),
            Ok(migrations) => match migrate::status(&mut conn, &migrations, target.kind).await {
                Err(e) => Check::fail(CheckId::Migrations, title, e.message.clone(), e.help.unwrap_or_default()),
                Ok(rows) => {
                    let bad: Vec<String> = rows.iter().filter(|r| r.state.is_problem()).map(|r| format!("{} {}", r.file, r.state)).collect();
                    let pending: Vec<String> = rows.iter().filter(|r| r.state == migrate::MigrationState::Pending).map(|r| r.file.clone()).collect();
                    if !bad.is_empty() {
                        Check::fail(CheckId::Migrations, title, bad.join("; "), "an applied migration was edited or removed: revert that change (or `devenv db reset` in development); `devenv migrate status` shows each")
                    } else if !pending.is_empty() {
                        Check::warn(CheckId::Migrations, title, format!("pending: {}", pending.join(", ")), "apply them: `devenv migrate`")
                    } else {
                        Check::ok(CheckId::Migrations, title, format!("{} applied", rows.len()))
                    }
                }
            },
        });
    }
    if !database.seeds.is_empty() {
        checks.push(seed_check(stack, &mut conn, target.kind).await);
    }
    let _ = sqlx::Connection::close(conn).await;
    checks
}

async fn seed_check(stack: &Stack, conn: &mut sqlx::AnyConnection, kind: database::Kind) -> Check {
    let title = "seeds unchanged since applied";
    let Some(db) = &stack.database else {
        return Check::ok(CheckId::Seeds, title, "no seeds");
    };
    let Ok(items) = seed::items(&stack.root, &db.seeds) else {
        return Check::ok(CheckId::Seeds, title, "no seeds");
    };
    let recorded: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT name, checksum FROM {}",
        seed::TABLE
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let _ = kind;
    let changed: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let seed::Item::File(path) = item else {
                return None;
            };
            let text = std::fs::read_to_string(stack.root.join(path)).ok()?;
            let sum = crate::hash::sha256_hex(&text);
            recorded
                .iter()
                .find(|(n, _)| n == path)
                .filter(|(_, s)| *s != sum)
                .map(|_| path.clone())
        })
        .collect();
    if changed.is_empty() {
        Check::ok(CheckId::Seeds, title, format!("{} seed(s)", items.len()))
    } else {
        Check::warn(
            CheckId::Seeds,
            title,
            format!("changed since applied: {}", changed.join(", ")),
            "re-run them: `devenv seed --reseed` (or start clean: `devenv db reset`)",
        )
    }
}
