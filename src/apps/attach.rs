//! `devenv up --attach` (alias `devenv dev`) after the apps started: every app's output in
//! the foreground, each line whole and prefixed with its app's name in a colour of its own,
//! followed across restarts; Ctrl-C (or SIGTERM, or SIGHUP from a closed terminal) stops the
//! apps (whole process trees; the containers keep running).

use super::follow::AppLogs;
use crate::diagnostic::Diagnostic;
use crate::lifecycle::logs::PALETTE;
use crate::ui::{Style, Ui};
use std::path::Path;
use tokio::signal::unix::{SignalKind, signal};

/// Prints what `logs` follows until SIGINT (or SIGTERM, SIGHUP), then stops every app of
/// the project at `root`;
/// returns the names of the apps that were running.
pub async fn attach(root: &Path, mut logs: AppLogs, ui: &Ui) -> Result<Vec<String>, Diagnostic> {
    let listen =
        |kind| signal(kind).map_err(|e| Diagnostic::new(format!("cannot watch for Ctrl-C: {e}")));
    // A closed terminal (SIGHUP) or a polite kill (SIGTERM) stops the apps as Ctrl-C does.
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut terminate = listen(SignalKind::terminate())?;
    let mut hangup = listen(SignalKind::hangup())?;
    let names: Vec<String> = (0..logs.len()).map(|i| logs.name(i).to_string()).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0);
    let prefixes: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| ui.paint(PALETTE[i % PALETTE.len()], format!("{name:<width$} |")))
        .collect();
    ui.info(format!(
        "{} attached to {} (Ctrl-C stops the apps; the services keep running)",
        ui.paint(Style::Good, "●"),
        names.join(", ")
    ));
    loop {
        tokio::select! {
            lines = logs.next_lines() => {
                for (index, line) in lines {
                    ui.out(format!("{} {line}", prefixes[index]));
                }
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        }
    }
    ui.info("stopping the apps...");
    let stopped = super::stop_all(root, super::DEFAULT_GRACE).await?;
    // The supervisors' last notes (how each app stopped).
    for (index, line) in logs.read_now() {
        ui.out(format!("{} {line}", prefixes[index]));
    }
    ui.info(format!(
        "{} stopped apps: {}; the services keep running (`devenv down` stops them)",
        ui.paint(Style::Good, "✓"),
        if stopped.is_empty() {
            "none was running".to_string()
        } else {
            stopped.join(", ")
        }
    ));
    Ok(stopped)
}
