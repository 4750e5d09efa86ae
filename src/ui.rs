//! All terminal output goes through here: results to stdout, progress and messages to stderr,
//! colour only when wanted (`--color`, `NO_COLOR`, a terminal).

use std::io::IsTerminal;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset.
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

/// The output door every command writes through.
#[derive(Debug, Clone)]
pub struct Ui {
    /// How much to say.
    pub verbosity: Verbosity,
    /// Whether to use ANSI colours.
    pub color: bool,
    /// Whether stderr is an interactive terminal (spinners, prompts).
    pub interactive: bool,
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

impl Ui {
    /// Builds the UI from the global flags and the environment.
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => interactive && !no_color,
        };
        Self {
            verbosity,
            color,
            interactive,
        }
    }

    /// Wraps text in a style when colour is on.
    pub fn paint(&self, style: Style, text: impl std::fmt::Display) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Good => "32",
            Style::Warn => "33",
            Style::Bad => "31",
            Style::Dim => "2",
            Style::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// A result line on stdout (always printed: it is what the command is for).
    pub fn out(&self, line: impl std::fmt::Display) {
        println!("{line}");
    }

    /// A progress or information line on stderr (hidden with `-q`).
    pub fn info(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{line}");
        }
    }

    /// A detail line on stderr (only with `-v`).
    pub fn detail(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{}", self.paint(Style::Dim, line));
        }
    }

    /// A warning on stderr (shown even with `-q`).
    pub fn warn(&self, line: impl std::fmt::Display) {
        eprintln!("{} {line}", self.paint(Style::Warn, "warning:"));
    }

    /// Asks a yes/no question on the terminal before something destructive. With no terminal
    /// to ask on it refuses, saying what `--yes` would do.
    pub fn confirm(
        &self,
        question: &str,
        refusal: &str,
        consequence: &str,
    ) -> Result<(), crate::source::Diagnostic> {
        use std::io::{BufRead, Write};
        let no_terminal = || {
            crate::source::Diagnostic::new(format!(
                "{refusal} without confirmation: no terminal to ask on"
            ))
            .with_help(format!("{consequence}; pass `--yes` to go ahead anyway"))
        };
        if !std::io::stdin().is_terminal() {
            return Err(no_terminal());
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| crate::source::Diagnostic::new(format!("reading the answer: {e}")))?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            Ok(())
        } else {
            Err(crate::source::Diagnostic::new(
                "nothing changed: not confirmed",
            ))
        }
    }

    /// An error on stderr.
    pub fn error(&self, error: &crate::source::Diagnostic) {
        let text = error.to_string();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        eprintln!("{} {first}", self.paint(Style::Bad, "error:"));
        if !rest.is_empty() {
            eprintln!("{rest}");
        }
    }
}
