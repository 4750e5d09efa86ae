//! Why a readiness probe did not pass: one variant per way, each saying where it looked.

use super::ATTEMPT_TIMEOUT;
use crate::diagnostic::Diagnostic;
use std::time::Duration;

/// Why one readiness probe did not pass; the texts are what `up` shows as "last probe".
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing accepted the connection.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// The connect error.
        source: std::io::Error,
    },
    /// Docker's port proxy accepted, but nothing listens inside the container yet.
    #[error("{host}:{port} accepts connections but closes them: the service is not listening yet")]
    ClosedByProxy {
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
    },
    /// The database refused or failed the login.
    #[error("{database} login as `{user}` to {target} failed: {source}")]
    Login {
        /// `PostgreSQL` or `MySQL`.
        database: &'static str,
        /// User logged in as.
        user: String,
        /// `host:port/db` or `host:port`.
        target: String,
        /// sqlx's error (its database error code tells a refusal from a start-up).
        source: sqlx::Error,
    },
    /// Talking to the service failed midway.
    #[error("{what} {host}:{port}: {source}")]
    Io {
        /// `Redis PING to`, `GET /health on`.
        what: String,
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Redis answered, but not PONG.
    #[error("Redis at {host}:{port} answered PING with {reply:?}")]
    RedisReply {
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// What it said.
        reply: String,
    },
    /// The AMQP port answered the protocol header with something other than Connection.Start.
    #[error("the AMQP port {host}:{port} answered the protocol header with {reply:02x?}")]
    AmqpReply {
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// The first bytes it sent.
        reply: Vec<u8>,
    },
    /// The HTTP check answered with a status other than 2xx.
    #[error("GET {path} on {host}:{port} answered {code:?}")]
    HttpStatus {
        /// Path requested.
        path: String,
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// Status code as sent.
        code: String,
    },
    /// The endpoint answered with a health report whose status is `down`.
    #[error("GET {path} on {host}:{port} reports the app down (failing: {failing})")]
    ReportedDown {
        /// Path requested.
        path: String,
        /// Host probed.
        host: String,
        /// Port probed.
        port: u16,
        /// The checks it names as failing, comma-separated (`-` when it names none).
        failing: String,
    },
    /// The health command ran and failed.
    #[error("`{command}` exited with {code}: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit code.
        code: i64,
        /// What it printed, trimmed.
        output: String,
    },
    /// The health command could not be run.
    #[error("{}", .0.message)]
    Exec(Diagnostic),
    /// The check names a container port the stack does not publish.
    #[error("{kind} health check on port {port}, which is not published")]
    NotPublished {
        /// `tcp` or `http`.
        kind: &'static str,
        /// Container port.
        port: u16,
    },
    /// One attempt took too long.
    #[error("the probe took longer than {}s", ATTEMPT_TIMEOUT.as_secs())]
    TimedOut,
    /// The health command took longer than its check's timeout.
    #[error("the health command took longer than {}s", .0.as_secs())]
    CommandTimedOut(Duration),
}
