//! Readiness: devenv probes each service itself, from the host, every 50 ms at first with
//! backoff, so `up` returns the moment a service is ready instead of on Docker's interval.
//! A container that exits while we wait fails at once with its exit code and logs.

mod error;
mod http;

pub use error::ProbeError;

pub use http::{HttpHealth, get as http_get};

use crate::diagnostic::Diagnostic;
use crate::endpoint::{env_value, reach_host};
use crate::engine::{Engine, State};
use crate::plan::ContainerSpec;
use crate::stack::{HealthCheck, Probe, Service};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one probe attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// First delay between attempts; grows by half each time up to `MAX_DELAY`.
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_millis(100);
/// A service with nothing to probe counts as ready once it has kept running this long.
const SETTLE: Duration = Duration::from_millis(300);
/// How long a port check waits for Docker's proxy to hang up (it accepts every connection and
/// closes it at once when nothing listens inside)...
pub const HANG_UP_WAIT: Duration = Duration::from_millis(100);
/// ...and for a container that has been running at least `SETTLED_AFTER` (a warm `up`): its
/// server has long been listening, so a proxy's hang-up would come at once.
const SETTLED_HANG_UP_WAIT: Duration = Duration::from_millis(20);
const SETTLED_AFTER: Duration = Duration::from_secs(3);
/// Log lines shown when a service fails.
pub const LOG_LINES: usize = 30;

/// Waits until the service answers its probe; fails fast if the container stops.
pub async fn wait_ready(
    engine: &Engine,
    spec: &ContainerSpec,
    service: &Service,
    timeout: Duration,
) -> Result<Duration, Diagnostic> {
    wait_ready_noting(engine, spec, service, timeout, &mut None).await
}

/// [`wait_ready`], noting when the first probe attempt ran (for `up --timings`).
pub async fn wait_ready_noting(
    engine: &Engine,
    spec: &ContainerSpec,
    service: &Service,
    timeout: Duration,
    first_probe: &mut Option<std::ops::Range<Instant>>,
) -> Result<Duration, Diagnostic> {
    let start = Instant::now();
    let mut delay = FIRST_DELAY;
    let mut last_error: Option<ProbeError> = None;
    let mut refused_logins = 0;
    let (attempt_timeout, paced) = attempt_limits(service);
    loop {
        let state = engine.state(&spec.name).await?;
        let hang_up = match state.running_for() {
            Some(running) if running >= SETTLED_AFTER => SETTLED_HANG_UP_WAIT,
            _ => HANG_UP_WAIT,
        };
        let mut pause = delay;
        if !state.running || state.restarting {
            if matches!(state.status, State::Exited | State::Dead) || state.restarting {
                return Err(exited(engine, spec, service, &state).await);
            }
        } else if paced && state.health == Some(crate::engine::Health::Healthy) {
            // Docker ran the same health command and it passed: it need not run again, but the
            // published ports must still answer on the host.
            match published_ports_answer(spec, None, hang_up).await {
                Ok(()) => return Ok(start.elapsed()),
                Err(e) => last_error = Some(e),
            }
        } else {
            let began = Instant::now();
            let attempt =
                tokio::time::timeout(attempt_timeout, probe_once(engine, spec, service, hang_up));
            let attempt = attempt.await;
            first_probe.get_or_insert(began..Instant::now());
            if paced {
                pause = pause.max(began.elapsed());
            }
            match attempt {
                Ok(Ok(())) if has_probe(spec, service) => return Ok(start.elapsed()),
                Ok(Ok(())) => {
                    // Nothing to ask the service: it must at least stay up for a moment.
                    tokio::time::sleep(SETTLE).await;
                    let again = engine.state(&spec.name).await?;
                    if again.running && !again.restarting {
                        return Ok(start.elapsed());
                    }
                    continue;
                }
                Ok(Err(e)) => {
                    // The server is up and says no: waiting will not change its mind.
                    refused_logins = if is_login_refused(&e) {
                        refused_logins + 1
                    } else {
                        0
                    };
                    if refused_logins >= LOGIN_REFUSALS {
                        return Err(login_refused(spec, service, &e));
                    }
                    last_error = Some(e);
                }
                Err(_) if paced => last_error = Some(ProbeError::CommandTimedOut(attempt_timeout)),
                Err(_) => last_error = Some(ProbeError::TimedOut),
            }
        }
        if start.elapsed() >= timeout {
            return Err(not_ready(engine, spec, service, timeout, last_error).await);
        }
        if !paced {
            tokio::time::sleep(pause).await;
        } else if docker_passes_within(engine, spec, pause).await? {
            return Ok(start.elapsed());
        }
        delay = (delay * 3 / 2).min(MAX_DELAY);
    }
}

/// How long one attempt may take, and whether attempts are paced (and Docker's own verdict
/// on the same command is taken when it says healthy). A health command run in
/// the container (`rabbitmq-diagnostics`, `mongosh`: a client that may take seconds to start
/// on a busy machine) gets its check's own `timeout`, and the pause after it is at least as
/// long as it ran: an attempt cut short keeps running in the container while the next one
/// starts, and back-to-back clients would take the CPU the server needs to start.
fn attempt_limits(service: &Service) -> (Duration, bool) {
    match &service.health {
        Some(health)
            if service.probe.is_none() && matches!(health.check, HealthCheck::Command(_)) =>
        {
            (health.timeout.max(ATTEMPT_TIMEOUT), true)
        }
        _ => (ATTEMPT_TIMEOUT, false),
    }
}

/// Waits `pause`, asking Docker every `MAX_DELAY` meanwhile whether its run of the same health
/// command passed (and the published ports answer): true as soon as it has. A slow health
/// command is not run again before `pause` ends, but Docker's verdict is not missed.
async fn docker_passes_within(
    engine: &Engine,
    spec: &ContainerSpec,
    pause: Duration,
) -> Result<bool, Diagnostic> {
    let until = Instant::now() + pause;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        tokio::time::sleep(left.min(MAX_DELAY)).await;
        let state = engine.state(&spec.name).await?;
        if state.health == Some(crate::engine::Health::Healthy)
            && published_ports_answer(spec, None, HANG_UP_WAIT)
                .await
                .is_ok()
        {
            return Ok(true);
        }
    }
}

/// The error for a container that stopped while `up` waited for it, with its last log lines.
async fn exited(
    engine: &Engine,
    spec: &ContainerSpec,
    service: &Service,
    state: &crate::engine::ContainerState,
) -> Diagnostic {
    let logs = engine.log_tail(&spec.name, LOG_LINES).await;
    let oom = if state.oom_killed {
        " (killed by the OOM killer: give Docker more memory)"
    } else {
        ""
    };
    let error = if state.error.is_empty() {
        String::new()
    } else {
        format!(": {}", state.error)
    };
    Diagnostic::new(format!(
        "service `{}` exited with code {}{oom} while starting{error}\n--- last {LOG_LINES} log lines of {} ---\n{}",
        service.name,
        state.exit_code,
        spec.name,
        logs.trim_end()
    ))
    .with_help(format!(
        "fix the cause shown in the log, then `devenv up` again; `devenv logs {}` shows everything",
        service.name
    ))
}

/// The error for a service still not ready when the wait ends, with the last probe's answer.
async fn not_ready(
    engine: &Engine,
    spec: &ContainerSpec,
    service: &Service,
    timeout: Duration,
    last_error: Option<ProbeError>,
) -> Diagnostic {
    let logs = engine.log_tail(&spec.name, LOG_LINES).await;
    let last_error = last_error.map_or_else(|| "no probe ran yet".into(), |e| e.to_string());
    Diagnostic::new(format!(
        "service `{}` was not ready after {}s; last probe: {last_error}\n--- last {LOG_LINES} log lines of {} ---\n{}",
        service.name,
        timeout.as_secs(),
        spec.name,
        logs.trim_end()
    ))
    .with_help(format!(
        "check the log above; raise the wait with `devenv up --timeout SECONDS`; `devenv logs {}` follows it",
        service.name
    ))
}

/// Consecutive refused logins (about a second of them) that end the wait.
const LOGIN_REFUSALS: u32 = 12;

/// A definite "wrong credentials" from the database (not "still starting"), told apart by
/// the server's error code: SQLSTATE class 28 (`28P01` wrong password, `28000` no such user
/// or no access on PostgreSQL), MySQL error 1045 (access denied, SQLSTATE `28000`).
fn is_login_refused(error: &ProbeError) -> bool {
    let ProbeError::Login {
        source: sqlx::Error::Database(db),
        ..
    } = error
    else {
        return false;
    };
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return mysql.number() == 1045;
    }
    matches!(db.code().as_deref(), Some("28P01" | "28000"))
}

/// The usual cause of a refused login on a fresh `.env`: the data volume was initialised
/// earlier with other credentials, and database images set them on first start only.
fn login_refused(spec: &ContainerSpec, service: &Service, error: &ProbeError) -> Diagnostic {
    let volumes: Vec<&str> = spec.volume_names().collect();
    let volume = if volumes.is_empty() {
        "its data volume".to_string()
    } else {
        format!("volume {}", volumes.join(", "))
    };
    Diagnostic::new(format!("service `{}` is up but refuses the credentials in .env: {error}", service.name)).with_help(format!(
        "{volume} keeps the user and password it was first created with (the image sets them on first start only). \
         Either put the old password back in .env, or start the data over: `devenv down --volumes` (deletes its data), then `devenv up`"
    ))
}

/// Whether the service has anything to probe besides "the container runs".
pub fn has_probe(spec: &ContainerSpec, service: &Service) -> bool {
    service.probe.is_some()
        || service.health.is_some()
        || spec.ports.iter().any(|p| p.protocol == "tcp")
}

/// One readiness check. Catalog services get a protocol check on the published port (a real
/// login, PING); others their health check; every published TCP port must also accept.
/// `hang_up` is how long a port check waits for Docker's proxy to hang up.
pub async fn probe_once(
    engine: &Engine,
    spec: &ContainerSpec,
    service: &Service,
    hang_up: Duration,
) -> Result<(), ProbeError> {
    let host_port_of = |container: u16| {
        spec.ports
            .iter()
            .find(|p| p.container == container && p.protocol == "tcp")
    };
    if let Some(probe) = service.probe
        && let Some(port) = spec.ports.first()
    {
        let host = reach_host(&port.host_ip);
        return match probe {
            Probe::Postgres => postgres_login(spec, host, port.host_port).await,
            Probe::Mysql => mysql_login(spec, host, port.host_port).await,
            Probe::Redis => redis_ping(host, port.host_port).await,
            Probe::Amqp => amqp_start(host, port.host_port).await,
        };
    }
    match service.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Command(_)) => {
            let test = spec
                .health
                .as_ref()
                .map(|h| h.test[1..].to_vec())
                .unwrap_or_default();
            let (code, output) = engine
                .exec(&spec.name, &test)
                .await
                .map_err(ProbeError::Exec)?;
            if code != 0 {
                return Err(ProbeError::Command {
                    command: test.join(" "),
                    code,
                    output: output.trim().to_string(),
                });
            }
        }
        Some(HealthCheck::Tcp(port)) => {
            let published = host_port_of(*port).ok_or(ProbeError::NotPublished {
                kind: "tcp",
                port: *port,
            })?;
            tcp_alive(reach_host(&published.host_ip), published.host_port, hang_up).await?;
        }
        Some(HealthCheck::Http { path, port }) => {
            let published = host_port_of(*port).ok_or(ProbeError::NotPublished {
                kind: "http",
                port: *port,
            })?;
            http::get(reach_host(&published.host_ip), published.host_port, path).await?;
        }
        None => {}
    }
    // Every other published TCP port must accept too; the port the tcp or http check just
    // reached needs no second look.
    let reached = match service.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Tcp(port) | HealthCheck::Http { port, .. }) => Some(*port),
        _ => None,
    };
    published_ports_answer(spec, reached, hang_up).await
}

/// Whether every published TCP port of the container (but `skip`) accepts and keeps a
/// connection, all checked at once (a silent server costs each check its wait).
pub async fn published_ports_answer(
    spec: &ContainerSpec,
    skip: Option<u16>,
    hang_up: Duration,
) -> Result<(), ProbeError> {
    let ports = spec
        .ports
        .iter()
        .filter(|p| p.protocol == "tcp" && Some(p.container) != skip);
    let checks = ports.map(|p| tcp_alive(reach_host(&p.host_ip), p.host_port, hang_up));
    futures_util::future::try_join_all(checks).await?;
    Ok(())
}

/// A TCP check that sees through Docker's port proxy: the proxy accepts every connection and
/// closes it at once when nothing listens inside, so the connection must stay open (or the
/// server must greet) for `hang_up`.
async fn tcp_alive(host: &str, port: u16, hang_up: Duration) -> Result<(), ProbeError> {
    let mut stream = tcp_connect(host, port).await?;
    let mut buf = [0u8; 1];
    match tokio::time::timeout(hang_up, stream.read(&mut buf)).await {
        Err(_) | Ok(Ok(1..)) => Ok(()),
        Ok(Ok(0)) | Ok(Err(_)) => Err(ProbeError::ClosedByProxy {
            host: host.to_string(),
            port,
        }),
    }
}

pub(crate) async fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, ProbeError> {
    TcpStream::connect((host, port))
        .await
        .map_err(|source| ProbeError::Connect {
            host: host.to_string(),
            port,
            source,
        })
}

/// An I/O error while talking to `host:port`, saying what was being done.
pub(crate) fn io_error(
    what: impl Into<String>,
    host: &str,
    port: u16,
) -> impl FnOnce(std::io::Error) -> ProbeError {
    let what = what.into();
    let host = host.to_string();
    move |source| ProbeError::Io {
        what,
        host,
        port,
        source,
    }
}

async fn postgres_login(spec: &ContainerSpec, host: &str, port: u16) -> Result<(), ProbeError> {
    use sqlx::Connection;
    let user = env_value(spec, "POSTGRES_USER").unwrap_or("postgres");
    let database = env_value(spec, "POSTGRES_DB").unwrap_or(user);
    let mut options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
        .host(host)
        .port(port)
        .username(user)
        .database(database)
        .ssl_mode(sqlx::postgres::PgSslMode::Disable);
    if let Some(password) = env_value(spec, "POSTGRES_PASSWORD") {
        options = options.password(password);
    }
    let connection = sqlx::postgres::PgConnection::connect_with(&options)
        .await
        .map_err(|source| ProbeError::Login {
            database: "PostgreSQL",
            user: user.to_string(),
            target: format!("{host}:{port}/{database}"),
            source,
        })?;
    let _ = connection.close().await;
    Ok(())
}

async fn mysql_login(spec: &ContainerSpec, host: &str, port: u16) -> Result<(), ProbeError> {
    use sqlx::Connection;
    let pick = |keys: &[&str]| keys.iter().find_map(|k| env_value(spec, k));
    let (user, password) = match pick(&["MARIADB_USER", "MYSQL_USER"]) {
        Some(user) => (user, pick(&["MARIADB_PASSWORD", "MYSQL_PASSWORD"])),
        None => (
            "root",
            pick(&["MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"]),
        ),
    };
    let mut options = sqlx::mysql::MySqlConnectOptions::new()
        .host(host)
        .port(port)
        .username(user)
        .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled);
    if let Some(password) = password {
        options = options.password(password);
    }
    if let Some(database) = pick(&["MARIADB_DATABASE", "MYSQL_DATABASE"]) {
        options = options.database(database);
    }
    let connection = sqlx::mysql::MySqlConnection::connect_with(&options)
        .await
        .map_err(|source| ProbeError::Login {
            database: "MySQL",
            user: user.to_string(),
            target: format!("{host}:{port}"),
            source,
        })?;
    let _ = connection.close().await;
    Ok(())
}

async fn redis_ping(host: &str, port: u16) -> Result<(), ProbeError> {
    let mut stream = tcp_connect(host, port).await?;
    stream
        .write_all(b"PING\r\n")
        .await
        .map_err(io_error("Redis PING to", host, port))?;
    let mut buf = [0u8; 64];
    let n = stream
        .read(&mut buf)
        .await
        .map_err(io_error("Redis PING to", host, port))?;
    let reply = String::from_utf8_lossy(&buf[..n]);
    // NOAUTH means the server is up and wants a password: that is ready too.
    if reply.starts_with("+PONG") || reply.starts_with("-NOAUTH") {
        Ok(())
    } else {
        Err(ProbeError::RedisReply {
            host: host.to_string(),
            port,
            reply: reply.trim().to_string(),
        })
    }
}

/// AMQP 0-9-1's protocol header; a broker that is up answers with `Connection.Start`.
const AMQP_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";

/// RabbitMQ opens its AMQP listener once the broker has booted: the protocol header answered
/// with a `Connection.Start` method frame (type 1, channel 0, class 10, method 10) is ready.
/// Cheaper than `rabbitmq-diagnostics ping` in the container, a CLI that boots an Erlang VM
/// for each attempt and takes the CPU the broker needs to start.
async fn amqp_start(host: &str, port: u16) -> Result<(), ProbeError> {
    let mut stream = tcp_connect(host, port).await?;
    stream
        .write_all(AMQP_HEADER)
        .await
        .map_err(io_error("the AMQP header to", host, port))?;
    let mut frame = [0u8; 11];
    stream
        .read_exact(&mut frame)
        .await
        .map_err(io_error("the AMQP header to", host, port))?;
    if is_connection_start(&frame) {
        Ok(())
    } else {
        Err(ProbeError::AmqpReply {
            host: host.to_string(),
            port,
            reply: frame.to_vec(),
        })
    }
}

/// Whether a frame's first 11 bytes are a `Connection.Start` method frame on channel 0.
fn is_connection_start(frame: &[u8; 11]) -> bool {
    frame[0] == 1 && frame[1..3] == [0, 0] && frame[7..11] == [0, 10, 0, 10]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_amqp_broker_is_ready_when_it_answers_with_connection_start() {
        async fn answering(reply: &'static [u8]) -> u16 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut header = [0u8; 8];
                socket.read_exact(&mut header).await.unwrap();
                assert_eq!(&header, AMQP_HEADER);
                socket.write_all(reply).await.unwrap();
            });
            port
        }
        // RabbitMQ's Connection.Start: frame type 1, channel 0, a size, class 10, method 10.
        let start = b"\x01\x00\x00\x00\x00\x01\xf4\x00\x0a\x00\x0a\x00\x09";
        assert!(
            amqp_start("127.0.0.1", answering(start).await)
                .await
                .is_ok()
        );
        // A server that speaks another version answers with its own protocol header.
        let other = b"AMQP\x00\x00\x09\x01\x00\x00\x00";
        let err = amqp_start("127.0.0.1", answering(other).await)
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::AmqpReply { .. }), "{err}");
    }

    #[test]
    fn health_commands_get_their_own_timeout_and_are_paced() {
        let text = "[project]\nname = \"p\"\n[services.db]\nuse = \"postgres\"\n\
            [services.mq]\nuse = \"rabbitmq\"\n[services.docs]\nuse = \"mongodb\"\n[services.web]\nimage = \"nginx\"\n\
            ports = [\"80\"]\nhealth = { http = \"/\", port = 80, timeout = \"9s\" }\n";
        let root = std::path::Path::new("/p");
        let source = crate::diagnostic::SourceFile::new("devenv.toml", text);
        let stack = crate::stack::load_source(&source, root, &root.join("devenv.toml")).unwrap();
        // The catalog's mongodb check runs `mongosh` in the container, with its own timeout.
        let mongo = &stack.services["docs"];
        let timeout = mongo.health.as_ref().unwrap().timeout;
        assert_eq!(attempt_limits(mongo), (timeout.max(ATTEMPT_TIMEOUT), true));
        // RabbitMQ is probed from the host over AMQP, not with rabbitmq-diagnostics.
        assert_eq!(
            attempt_limits(&stack.services["mq"]),
            (ATTEMPT_TIMEOUT, false)
        );
        // A login probe and an HTTP check keep the short attempt, unpaced.
        assert_eq!(
            attempt_limits(&stack.services["db"]),
            (ATTEMPT_TIMEOUT, false)
        );
        assert_eq!(
            attempt_limits(&stack.services["web"]),
            (ATTEMPT_TIMEOUT, false)
        );
    }

    #[tokio::test]
    async fn tcp_alive_tells_a_listener_from_a_proxy_that_hangs_up() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (held, _) = listener.accept().await.unwrap();
            let (closed, _) = listener.accept().await.unwrap();
            drop(closed);
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(held);
        });
        assert!(tcp_alive("127.0.0.1", port, HANG_UP_WAIT).await.is_ok());
        assert!(
            tcp_alive("127.0.0.1", port, HANG_UP_WAIT)
                .await
                .unwrap_err()
                .to_string()
                .contains("closes them")
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn tcp_probe_reports_refused_ports() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(
            tcp_connect("127.0.0.1", port)
                .await
                .unwrap_err()
                .to_string()
                .contains(&format!("127.0.0.1:{port}"))
        );
    }
}
