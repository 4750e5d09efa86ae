//! The HTTP health check: `GET path`, ready on a 2xx status. A body in the health-report shape
//! `{"status": "ok" | "degraded" | "down", "checks": {...}}` refines it: `degraded` is ready
//! with the failing checks named, `down` is not ready even under a 2xx status.

use super::{ProbeError, io_error, tcp_connect};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most of a response that is read.
const MAX_RESPONSE: u64 = 64 * 1024;

/// How long the response may take once connected.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A ready answer of an HTTP health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpHealth {
    /// 2xx, and no report or a report saying `ok`.
    Ok,
    /// 2xx with a report saying `degraded`: ready, with these checks failing.
    Degraded {
        /// The checks the report names as not ok.
        failing: Vec<String>,
    },
}

/// What a health report's `status` says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reported {
    Ok,
    Degraded(Vec<String>),
    Down(Vec<String>),
}

/// `GET path` on `host:port` (HTTP/1.0, connection closed by the server).
pub async fn get(host: &str, port: u16, path: &str) -> Result<HttpHealth, ProbeError> {
    let mut stream = tcp_connect(host, port).await?;
    let what = || format!("GET {path} on");
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(io_error(what(), host, port))?;
    let mut response = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE);
    let read = limited.read_to_end(&mut response);
    match tokio::time::timeout(RESPONSE_TIMEOUT, read).await {
        Ok(result) => {
            result.map_err(io_error(what(), host, port))?;
        }
        // A server that keeps the connection open: judge what came so far.
        Err(_) if !response.is_empty() => {}
        Err(_) => return Err(ProbeError::TimedOut),
    }
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let report = parse_report(body);
    match report {
        Some(Reported::Down(failing)) => Err(ProbeError::ReportedDown {
            path: path.to_string(),
            host: host.to_string(),
            port,
            failing: list(&failing),
        }),
        _ if !code.starts_with('2') => Err(ProbeError::HttpStatus {
            path: path.to_string(),
            host: host.to_string(),
            port,
            code,
        }),
        Some(Reported::Degraded(failing)) => Ok(HttpHealth::Degraded { failing }),
        Some(Reported::Ok) | None => Ok(HttpHealth::Ok),
    }
}

fn list(failing: &[String]) -> String {
    if failing.is_empty() {
        "-".to_string()
    } else {
        failing.join(", ")
    }
}

/// Reads a health report from a response body; `None` when the body is not one.
fn parse_report(body: &str) -> Option<Reported> {
    let report: Value = serde_json::from_str(body.trim()).ok()?;
    let status = report.get("status")?.as_str()?.to_ascii_lowercase();
    let failing = failing_checks(report.get("checks"));
    match status.as_str() {
        "ok" | "up" | "pass" | "healthy" => Some(Reported::Ok),
        "degraded" | "warn" => Some(Reported::Degraded(failing)),
        "down" | "fail" | "error" | "unhealthy" => Some(Reported::Down(failing)),
        _ => None,
    }
}

/// The names of the checks whose own status is not ok: a check is a status string
/// (`"db": "ok"`), an object with a `status`, or a boolean.
fn failing_checks(checks: Option<&Value>) -> Vec<String> {
    let Some(Value::Object(checks)) = checks else {
        return Vec::new();
    };
    let is_ok = |value: &Value| match value {
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "ok" | "up" | "pass"),
        Value::Bool(b) => *b,
        Value::Object(o) => o.get("status").is_some_and(|s| {
            s.as_str()
                .is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "ok" | "up" | "pass"))
        }),
        _ => false,
    };
    checks
        .iter()
        .filter(|(_, value)| !is_ok(value))
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves each response once, in order, on a loopback port.
    async fn serve(responses: Vec<String>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for response in responses {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 256];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn http_probe_accepts_2xx_only() {
        let port = serve(vec![
            "HTTP/1.0 200 OK\r\n\r\n".into(),
            "HTTP/1.0 503 Service Unavailable\r\n\r\n".into(),
        ])
        .await;
        assert_eq!(
            get("127.0.0.1", port, "/health").await.unwrap(),
            HttpHealth::Ok
        );
        let e = get("127.0.0.1", port, "/health").await.unwrap_err();
        assert!(e.to_string().contains("503"), "{e}");
    }

    #[tokio::test]
    async fn a_health_report_says_ok_degraded_or_down() {
        let reply = |code: &str, body: &str| {
            format!("HTTP/1.0 {code}\r\nContent-Type: application/json\r\n\r\n{body}")
        };
        let port = serve(vec![
            reply("200 OK", r#"{"status":"ok","checks":{"db":"ok"}}"#),
            reply(
                "200 OK",
                r#"{"status":"degraded","checks":{"db":"ok","cache":{"status":"down","error":"refused"}}}"#,
            ),
            reply("200 OK", r#"{"status":"down","checks":{"db":"down"}}"#),
            reply("503 Service Unavailable", r#"{"status":"down","checks":{"db":false}}"#),
        ])
        .await;
        assert_eq!(get("127.0.0.1", port, "/h").await.unwrap(), HttpHealth::Ok);
        assert_eq!(
            get("127.0.0.1", port, "/h").await.unwrap(),
            HttpHealth::Degraded {
                failing: vec!["cache".into()]
            }
        );
        for _ in 0..2 {
            let e = get("127.0.0.1", port, "/h").await.unwrap_err();
            assert!(
                matches!(&e, ProbeError::ReportedDown { failing, .. } if failing == "db"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_body_that_is_no_report_leaves_the_status_code_to_decide() {
        assert_eq!(parse_report("<html>hi</html>"), None);
        assert_eq!(parse_report(r#"{"name":"api"}"#), None);
        assert_eq!(parse_report(r#"{"status":"starting"}"#), None);
        assert_eq!(
            parse_report(r#"{"status":"DEGRADED"}"#),
            Some(Reported::Degraded(vec![]))
        );
    }
}
