//! `devenv logs`: the services' logs multiplexed line by line, each prefixed by its service.

use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::stack::Stack;
use crate::ui::{Style, Ui};
use futures_util::StreamExt;
use futures_util::stream::select_all;

/// One log line under `logs --json`.
#[derive(Debug, serde::Serialize)]
struct LogLine<'a> {
    /// The service it came from.
    service: &'a str,
    /// The line, without its line ending.
    line: &'a str,
}

/// Prints the logs of `services` (all when empty), following them with `follow`: prefixed
/// lines, or one JSON document per line with `json`.
pub async fn logs(
    stack: &Stack,
    services: &[String],
    follow: bool,
    tail: Option<u64>,
    json: bool,
    ui: &Ui,
) -> Result<(), Diagnostic> {
    for name in services {
        if !stack.services.contains_key(name) {
            return Err(Diagnostic::new(format!("no service named `{name}`")));
        }
    }
    let engine =
        Engine::connect_with_timeout(std::time::Duration::from_secs(60 * 60 * 24 * 365)).await?;
    let containers = engine.observe(&stack.project.name).await?;
    let width = stack.services.keys().map(String::len).max().unwrap_or(0);
    let palette = [Style::Good, Style::Warn, Style::Bold, Style::Dim];
    let mut streams = Vec::new();
    for (index, service) in stack.services.keys().enumerate() {
        if !services.is_empty() && !services.contains(service) {
            continue;
        }
        let Some(container) = containers.get(service) else {
            continue;
        };
        let name = container.name.as_str();
        let prefix = ui.paint(
            palette[index % palette.len()],
            format!("{service:<width$} |"),
        );
        let service = service.as_str();
        let mut pending = String::new();
        streams.push(
            engine
                .log_stream(name, follow, tail)
                .map(move |chunk| {
                    let chunk = chunk?;
                    pending.push_str(&chunk);
                    let mut lines = Vec::new();
                    while let Some(pos) = pending.find('\n') {
                        let line = pending[..pos].trim_end_matches('\r').to_string();
                        lines.push((service, prefix.clone(), line));
                        pending.drain(..=pos);
                    }
                    Ok::<_, Diagnostic>(lines)
                })
                .boxed(),
        );
    }
    if streams.is_empty() {
        return Err(Diagnostic::new("no containers of this stack exist")
            .with_help("start the stack with `devenv up`"));
    }
    let mut merged = select_all(streams);
    while let Some(lines) = merged.next().await {
        for (service, prefix, line) in lines? {
            if json {
                ui.json(&LogLine {
                    service,
                    line: &line,
                });
            } else {
                ui.out(format!("{prefix} {line}"));
            }
        }
    }
    Ok(())
}
