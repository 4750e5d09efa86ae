//! The one door for terminal output: results to stdout, progress and messages to stderr. Every
//! write goes through here, so every write is redacted ([`crate::redact`]) and coloured only
//! where its own stream wants colour (its terminal, `--color`, `NO_COLOR`, `CLICOLOR_FORCE`).
//! With `--json`, stdout carries versioned JSON documents and nothing else, errors included.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod json;
pub mod progress;
pub mod table;

use crate::diagnostic::Diagnostic;
use crate::redact::redact;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour each stream that is a terminal, unless `NO_COLOR` is set (`CLICOLOR_FORCE`
    /// colours even pipes).
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// How chatty output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and results only.
    Quiet,
    /// Normal progress messages.
    Normal,
    /// Extra detail.
    Verbose,
}

/// Whether each stream gets colour; decided once per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    /// Colour on stdout.
    pub stdout: bool,
    /// Colour on stderr.
    pub stderr: bool,
}

impl Colors {
    /// Decides for stdout and stderr, each from its own terminal and the environment.
    pub fn detect(choice: ColorChoice) -> Self {
        let auto = |wants: anstream::ColorChoice| wants != anstream::ColorChoice::Never;
        match choice {
            ColorChoice::Always => Self {
                stdout: true,
                stderr: true,
            },
            ColorChoice::Never => Self {
                stdout: false,
                stderr: false,
            },
            ColorChoice::Auto => Self {
                stdout: auto(anstream::AutoStream::choice(&std::io::stdout())),
                stderr: auto(anstream::AutoStream::choice(&std::io::stderr())),
            },
        }
    }
}

/// The spinners on stderr while a `Progress` shows them; other stderr lines suspend them.
#[derive(Debug, Clone, Default)]
pub struct ActiveBars(Arc<Mutex<Option<indicatif::MultiProgress>>>);

impl ActiveBars {
    fn set(&self, bars: Option<indicatif::MultiProgress>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = bars;
    }

    fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        let bars = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

/// The output door every command writes through.
#[derive(Debug, Clone)]
pub struct Ui {
    /// How much to say.
    pub verbosity: Verbosity,
    /// Colour per stream.
    pub colors: Colors,
    /// Whether stderr is an interactive terminal (spinners, prompts).
    pub interactive: bool,
    /// Whether `--json` was asked: stdout carries JSON documents only, errors included.
    pub json: bool,
    /// Spinners to suspend around stderr lines.
    pub bars: ActiveBars,
}

/// Styles the UI knows.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Success marks.
    Good,
    /// Warnings.
    Warn,
    /// Failures.
    Bad,
    /// De-emphasised text.
    Dim,
    /// Emphasis.
    Bold,
}

impl Style {
    fn anstyle(self) -> anstyle::Style {
        use anstyle::{AnsiColor, Effects};
        let color = |c: AnsiColor| anstyle::Style::new().fg_color(Some(c.into()));
        match self {
            Style::Good => color(AnsiColor::Green),
            Style::Warn => color(AnsiColor::Yellow),
            Style::Bad => color(AnsiColor::Red),
            Style::Dim => anstyle::Style::new().effects(Effects::DIMMED),
            Style::Bold => anstyle::Style::new().effects(Effects::BOLD),
        }
    }
}

/// Which stream a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Ui {
    /// Builds the UI from the global flags and the environment.
    pub fn new(verbosity: Verbosity, color: ColorChoice, json: bool) -> Self {
        Self {
            verbosity,
            colors: Colors::detect(color),
            interactive: std::io::stderr().is_terminal(),
            json,
            bars: ActiveBars::default(),
        }
    }

    /// Wraps text in a style. The escape codes are removed on the way out from any stream
    /// that does not want colour.
    pub fn paint(&self, style: Style, text: impl std::fmt::Display) -> String {
        if !self.colors.stdout && !self.colors.stderr {
            return text.to_string();
        }
        let style = style.anstyle();
        format!("{style}{text}{style:#}")
    }

    /// A result line on stdout (always printed: it is what the command is for).
    pub fn out(&self, line: impl std::fmt::Display) {
        self.write(Stream::Stdout, &format!("{line}\n"));
    }

    /// A value the user asked for by name, on stdout and unmasked (`devenv env get`).
    pub fn out_revealed(&self, value: &str) {
        self.write_raw(Stream::Stdout, &format!("{value}\n"));
    }

    /// A progress or information line on stderr (hidden with `-q`).
    pub fn info(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            self.write(Stream::Stderr, &format!("{line}\n"));
        }
    }

    /// A detail line on stderr (only with `-v`).
    pub fn detail(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            self.write(
                Stream::Stderr,
                &format!("{}\n", self.paint(Style::Dim, line)),
            );
        }
    }

    /// A warning on stderr (shown even with `-q`).
    pub fn warn(&self, line: impl std::fmt::Display) {
        self.write(
            Stream::Stderr,
            &format!("{} {line}\n", self.paint(Style::Warn, "warning:")),
        );
    }

    /// A JSON document on stdout, one line, with the contract's `version`.
    pub fn json(&self, document: &impl serde::Serialize) {
        self.write(Stream::Stdout, &format!("{}\n", json::line(document)));
    }

    /// Asks a yes/no question on the terminal before something destructive. With no terminal
    /// to ask on it refuses, saying what `--yes` would do.
    pub fn confirm(
        &self,
        question: &str,
        refusal: &str,
        consequence: &str,
    ) -> Result<(), Diagnostic> {
        use std::io::BufRead;
        let no_terminal = || {
            Diagnostic::new(format!(
                "{refusal} without confirmation: no terminal to ask on"
            ))
            .with_help(format!("{consequence}; pass `--yes` to go ahead anyway"))
        };
        if !std::io::stdin().is_terminal() {
            return Err(no_terminal());
        }
        self.write(Stream::Stderr, &format!("{question} [y/N] "));
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Diagnostic::new(format!("reading the answer: {e}")))?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            Ok(())
        } else {
            Err(Diagnostic::new("nothing changed: not confirmed"))
        }
    }

    /// An error: on stderr, or as a JSON document on stdout under `--json`.
    pub fn error(&self, error: &Diagnostic) {
        if self.json {
            self.json(&json::ErrorDocument::from(error));
            return;
        }
        let text = error.to_string();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let mut lines = format!("{} {first}\n", self.paint(Style::Bad, "error:"));
        if !rest.is_empty() {
            lines.push_str(rest);
            lines.push('\n');
        }
        self.write(Stream::Stderr, &lines);
    }

    /// Text for a spinner line on stderr: redacted, without colour unless stderr wants it.
    pub(crate) fn for_stderr(&self, text: &str) -> String {
        let text = redact(text);
        if self.colors.stderr {
            text.into_owned()
        } else {
            anstream::adapter::strip_str(&text).to_string()
        }
    }

    fn write(&self, stream: Stream, text: &str) {
        self.write_raw(stream, &redact(text));
    }

    /// Writes without redaction; a closed pipe (`devenv logs | head`) is not an error.
    fn write_raw(&self, stream: Stream, text: &str) {
        let choice = |colour: bool| {
            if colour {
                anstream::ColorChoice::AlwaysAnsi
            } else {
                anstream::ColorChoice::Never
            }
        };
        match stream {
            Stream::Stdout => {
                let mut out =
                    anstream::AutoStream::new(std::io::stdout().lock(), choice(self.colors.stdout));
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            }
            Stream::Stderr => self.bars.suspend(|| {
                let mut err =
                    anstream::AutoStream::new(std::io::stderr().lock(), choice(self.colors.stderr));
                let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
            }),
        }
    }
}
