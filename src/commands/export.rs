//! `devenv export github-actions|gitlab-ci|kubernetes [--output PATH] [--force] [--json]`.

use crate::cli::ExportCommand;
use crate::error::Result;
use crate::export::{self, Options, Report, Target};
use crate::generate::WriteOutcome;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;

/// The `--json` document: the report and the files written.
#[derive(Serialize)]
struct ExportDocument<'a> {
    #[serde(flatten)]
    report: &'a Report,
    files: Vec<WrittenFile>,
}

#[derive(Serialize)]
struct WrittenFile {
    path: String,
    outcome: &'static str,
}

/// Runs `devenv export`.
pub fn run(file: Option<&Path>, command: &ExportCommand, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let (target, options) = match command {
        ExportCommand::GithubActions(args) => (
            Target::GithubActions,
            Options {
                install: args.install.clone(),
                ..Options::default()
            },
        ),
        ExportCommand::GitlabCi(args) => (
            Target::GitlabCi,
            Options {
                install: args.install.clone(),
                ..Options::default()
            },
        ),
        ExportCommand::Kubernetes(args) => (
            Target::Kubernetes,
            Options {
                namespace: args.namespace.clone(),
                ..Options::default()
            },
        ),
    };
    let output = command.output();
    let export = export::export(&stack, target, &options)?;
    let mut files = Vec::new();
    match &output.output {
        Some(path) => {
            for (path, outcome) in export.write(path, output.force)? {
                let word = match outcome {
                    WriteOutcome::Created => "created",
                    WriteOutcome::Updated => "updated",
                    WriteOutcome::Unchanged => "unchanged",
                };
                if !output.json {
                    let style = match outcome {
                        WriteOutcome::Unchanged => Style::Dim,
                        _ => Style::Good,
                    };
                    ui.info(format!("{:>9} {}", ui.paint(style, word), path.display()));
                }
                files.push(WrittenFile {
                    path: path.display().to_string(),
                    outcome: word,
                });
            }
        }
        None => ui.out(export.text().trim_end_matches('\n')),
    }
    if output.json {
        ui.json(&ExportDocument {
            report: &export.report,
            files,
        });
        return Ok(());
    }
    summary(&export.report, ui);
    Ok(())
}

/// What was left out and what to do, on stderr.
fn summary(report: &Report, ui: &Ui) {
    ui.info(format!(
        "{} exported {} of the stack to {}",
        ui.paint(Style::Good, "✓"),
        report.exported.len(),
        report.target.as_str()
    ));
    for dropped in &report.not_exported {
        ui.info(format!(
            "{} {} `{}`: {}",
            ui.paint(Style::Warn, "not exported:"),
            dropped.kind,
            dropped.name,
            dropped.reason
        ));
    }
    for note in &report.notes {
        ui.info(format!("{} {note}", ui.paint(Style::Dim, "note:")));
    }
}
