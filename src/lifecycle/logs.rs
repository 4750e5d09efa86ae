//! `devenv logs`: the services' logs and the apps' (`.devenv/logs/<app>.log`) multiplexed
//! line by line, each prefixed by its name. Following an app's log goes on across its
//! restarts and the log's rotation. The engine is asked only when services are shown.

use crate::apps::follow::{LogFollower, POLL};
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use futures_util::stream::{self, BoxStream, select_all};
use futures_util::{StreamExt, future};

/// One log line under `logs --json`.
#[derive(Debug, serde::Serialize)]
struct LogLine<'a> {
    /// The service or app it came from.
    service: &'a str,
    /// `service` or `app`.
    kind: &'static str,
    /// The line, without its line ending.
    line: &'a str,
}

/// Lines of one source: (name, kind, prefix, line).
type Lines = Vec<(String, &'static str, String, String)>;

/// The colours of the prefixes, one per source in turn.
pub const PALETTE: [Style; 4] = [Style::Good, Style::Warn, Style::Bold, Style::Dim];

/// Prints the logs of `names` (services or apps; all when empty), following them with
/// `follow`: prefixed lines, or one JSON document per line with `json`.
pub async fn logs(
    stack: &Stack,
    names: &[String],
    follow: bool,
    tail: Option<u64>,
    json: bool,
    ui: &Ui,
) -> Result<(), Diagnostic> {
    for name in names {
        if !stack.services.contains_key(name) && !stack.apps.contains_key(name) {
            return Err(Diagnostic::new(format!("no service or app named `{name}`")));
        }
    }
    let wanted = |name: &String| names.is_empty() || names.contains(name);
    let width = stack
        .services
        .keys()
        .chain(stack.apps.keys())
        .filter(|n| wanted(n))
        .map(String::len)
        .max()
        .unwrap_or(0);
    let prefix = |index: usize, name: &str| {
        ui.paint(PALETTE[index % PALETTE.len()], format!("{name:<width$} |"))
    };
    let mut streams = Vec::new();
    if stack.services.keys().any(wanted) {
        streams.extend(service_streams(stack, &wanted, &prefix, follow, tail).await?);
    }
    let offset = stack.services.len();
    for (index, app) in stack.apps.keys().enumerate() {
        let log = crate::apps::log_path(&stack.root, app);
        if wanted(app) && (follow || log.exists()) {
            let prefix = prefix(offset + index, app);
            streams.push(app_stream(&log, app, prefix, follow, tail));
        }
    }
    if streams.is_empty() {
        return Err(
            Diagnostic::new("no containers or app logs of this stack exist")
                .with_help("start the stack with `devenv up`"),
        );
    }
    let mut merged = select_all(streams);
    while let Some(lines) = merged.next().await {
        for (name, kind, prefix, line) in lines? {
            if json {
                ui.json(&LogLine {
                    service: &name,
                    kind,
                    line: &line,
                });
            } else {
                ui.out(format!("{prefix} {line}"));
            }
        }
    }
    Ok(())
}

/// The log streams of the wanted services' containers.
async fn service_streams(
    stack: &Stack,
    wanted: &dyn Fn(&String) -> bool,
    prefix: &dyn Fn(usize, &str) -> String,
    follow: bool,
    tail: Option<u64>,
) -> Result<Vec<BoxStream<'static, Result<Lines, Diagnostic>>>, Diagnostic> {
    let engine =
        Engine::connect_with_timeout(std::time::Duration::from_secs(60 * 60 * 24 * 365)).await?;
    let containers = engine.observe(&stack.project.name).await?;
    let mut streams = Vec::new();
    for (index, service) in stack.services.keys().enumerate() {
        if !wanted(service) {
            continue;
        }
        let Some(container) = containers.get(service) else {
            continue;
        };
        let prefix = prefix(index, service);
        let service = service.clone();
        let mut pending = String::new();
        streams.push(
            engine
                .log_stream(&container.name, follow, tail)
                .map(move |chunk| {
                    let chunk = chunk?;
                    pending.push_str(&chunk);
                    let mut lines = Vec::new();
                    while let Some(pos) = pending.find('\n') {
                        let line = pending[..pos].trim_end_matches('\r').to_string();
                        lines.push((service.clone(), "service", prefix.clone(), line));
                        pending.drain(..=pos);
                    }
                    Ok::<_, Diagnostic>(lines)
                })
                .boxed(),
        );
    }
    Ok(streams)
}

/// An app's log: its last `tail` lines (all without), then, with `follow`, what is written
/// from then on (across restarts and rotation).
fn app_stream(
    log: &std::path::Path,
    app: &str,
    prefix: String,
    follow: bool,
    tail: Option<u64>,
) -> BoxStream<'static, Result<Lines, Diagnostic>> {
    let mut follower = LogFollower::from_start(log);
    let mut first = follower.read_lines();
    if let Some(tail) = tail {
        first.drain(..first.len().saturating_sub(tail as usize));
    }
    let app = app.to_string();
    let label = move |lines: Vec<String>| -> Lines {
        lines
            .into_iter()
            .map(|line| (app.clone(), "app", prefix.clone(), line))
            .collect()
    };
    let head = stream::once(future::ready(Ok(label(first))));
    if !follow {
        return head.boxed();
    }
    let rest = stream::unfold(follower, move |mut follower| async move {
        loop {
            let lines = follower.read_lines();
            if !lines.is_empty() {
                return Some((lines, follower));
            }
            tokio::time::sleep(POLL).await;
        }
    });
    head.chain(rest.map(move |lines| Ok(label(lines)))).boxed()
}
