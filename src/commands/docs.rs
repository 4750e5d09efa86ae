//! `devenv docs [--check] [--output PATH] [--force]`.

use crate::cli::DocsArgs;
use crate::error::{Error, Result};
use crate::generate::docs::{self, DocsOutcome};
use crate::source::Diagnostic;
use crate::ui::{Style, Ui};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `devenv docs`.
pub fn run(file: Option<&Path>, args: &DocsArgs, ui: &Ui) -> Result<ExitCode> {
    let stack = crate::project::load(file)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(docs::DEFAULT_OUTPUT));
    if args.check {
        let diff = docs::check(&stack, &output);
        if diff.is_empty() {
            ui.info(format!(
                "{} {} is up to date",
                ui.paint(Style::Good, "✓"),
                output.display()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        for line in &diff {
            ui.out(line);
        }
        return Err(Error::failure(
            Diagnostic::new(format!(
                "{} differs from what devenv.toml generates",
                output.display()
            ))
            .with_help("run `devenv docs` and commit the result"),
        ));
    }
    match docs::write(&stack, &output, args.force)? {
        DocsOutcome::Written(path) => ui.info(format!(
            "{} wrote {}",
            ui.paint(Style::Good, "✓"),
            path.display()
        )),
        DocsOutcome::Unchanged(path) => ui.info(format!(
            "{} {} is already up to date",
            ui.paint(Style::Dim, "unchanged"),
            path.display()
        )),
    }
    Ok(ExitCode::SUCCESS)
}
