//! Progress of long operations: a spinner line per service on a terminal, plain timestamped
//! lines otherwise (CI logs), newline-delimited JSON events ([`Event`]) with `--json`. Every
//! line goes out through the [`Ui`], redacted; while spinners run, other stderr lines suspend
//! them instead of tearing through them.

use crate::ui::{Style, Ui, Verbosity};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

enum Mode {
    Spinners(MultiProgress),
    Lines,
    Json,
    Silent,
}

/// One `up --json` progress event (an NDJSON line, versioned like every document).
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    /// Milliseconds since the operation started.
    pub elapsed_ms: u64,
    /// A service, an image, `database` or `devenv`.
    pub subject: &'a str,
    /// What happens (`creating`, `waiting`, `created, ready in 1.20s`, `note`, ...).
    pub event: &'a str,
    /// More about it.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub detail: &'a str,
    /// On a subject's final event: whether it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
}

/// Reports steps per subject (a service or an image).
pub struct Progress {
    mode: Mode,
    start: Instant,
    bars: Mutex<HashMap<String, ProgressBar>>,
    ui: Ui,
}

impl Progress {
    /// Chooses spinners, lines or JSON from the UI and the `--json` flag.
    pub fn new(ui: &Ui, json: bool) -> Self {
        let mode = if json {
            Mode::Json
        } else if ui.verbosity == Verbosity::Quiet {
            Mode::Silent
        } else if ui.interactive {
            Mode::Spinners(MultiProgress::new())
        } else {
            Mode::Lines
        };
        Self {
            mode,
            start: Instant::now(),
            bars: Mutex::new(HashMap::new()),
            ui: ui.clone(),
        }
    }

    /// Whether events go to stdout as JSON (then nothing else may print there).
    pub fn is_json(&self) -> bool {
        matches!(self.mode, Mode::Json)
    }

    /// Time since the operation started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// A step in progress for `subject`.
    pub fn step(&self, subject: &str, event: &str, detail: &str) {
        match &self.mode {
            Mode::Spinners(multi) => {
                let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                let bar = bars.entry(subject.to_string()).or_insert_with(|| {
                    self.ui.bars.set(Some(multi.clone()));
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:<12} {msg} {elapsed:.dim}")
                            .expect("valid template"),
                    );
                    bar.set_prefix(subject.to_string());
                    bar.enable_steady_tick(Duration::from_millis(80));
                    bar
                });
                bar.set_message(self.ui.for_stderr(&join(event, detail)));
            }
            Mode::Lines => self.line(subject, event, detail),
            Mode::Json => self.json(subject, event, detail, None),
            Mode::Silent => {}
        }
    }

    /// Byte progress of a pull.
    pub fn bytes(&self, subject: &str, current: u64, total: u64) {
        if let Mode::Spinners(multi) = &self.mode {
            let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
            let bar = bars.entry(subject.to_string()).or_insert_with(|| {
                self.ui.bars.set(Some(multi.clone()));
                let bar = multi.add(ProgressBar::new(total));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:<12} [{bar:30}] {bytes}/{total_bytes} {msg}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(subject.to_string());
                bar
            });
            bar.set_length(total);
            bar.set_position(current);
        }
    }

    /// The final state of `subject`.
    pub fn done(&self, subject: &str, event: &str, detail: &str, ok: bool) {
        match &self.mode {
            Mode::Spinners(_) => {
                let bar = {
                    let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                    let bar = bars.remove(subject);
                    if bars.is_empty() {
                        // Nothing spins any more: stderr lines need not suspend anything.
                        self.ui.bars.set(None);
                    }
                    bar
                };
                let mark = if ok {
                    self.ui.paint(Style::Good, "✓")
                } else {
                    self.ui.paint(Style::Bad, "✗")
                };
                let text = format!("{mark} {subject:<12} {}", join(event, detail));
                match bar {
                    Some(bar) => {
                        bar.set_style(
                            ProgressStyle::with_template("{msg}").expect("valid template"),
                        );
                        bar.finish_with_message(self.ui.for_stderr(&text));
                    }
                    None => self.ui.info(text),
                }
            }
            Mode::Lines => self.line(subject, event, detail),
            Mode::Json => self.json(subject, event, detail, Some(ok)),
            Mode::Silent => {}
        }
    }

    /// A message not tied to a subject.
    pub fn note(&self, text: &str) {
        match &self.mode {
            Mode::Spinners(multi) => {
                let _ = multi.println(self.ui.for_stderr(text));
            }
            Mode::Lines => self.line("devenv", text, ""),
            Mode::Json => self.json("devenv", "note", text, None),
            Mode::Silent => {}
        }
    }

    /// Stops any spinner still running (on errors).
    pub fn clear(&self) {
        for (_, bar) in self.bars.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            bar.finish_and_clear();
        }
        self.ui.bars.set(None);
    }

    fn line(&self, subject: &str, event: &str, detail: &str) {
        self.ui.info(format!(
            "[{:>6.2}s] {subject:<12} {}",
            self.start.elapsed().as_secs_f64(),
            join(event, detail)
        ));
    }

    fn json(&self, subject: &str, event: &str, detail: &str, ok: Option<bool>) {
        self.ui.json(&Event {
            elapsed_ms: self.start.elapsed().as_millis() as u64,
            subject,
            event,
            detail,
            ok,
        });
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if matches!(self.mode, Mode::Spinners(_)) {
            self.ui.bars.set(None);
        }
    }
}

fn join(event: &str, detail: &str) -> String {
    if detail.is_empty() {
        event.to_string()
    } else {
        format!("{event} {detail}")
    }
}
