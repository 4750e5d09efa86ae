//! `devenv watch`: after `up`, follow edits (debounced) and keep the running stack in step.
//! devenv.toml: validate, then reconcile (only changed services are recreated) and regenerate
//! the generated files; an invalid edit is reported and the stack left as it is. `.env`:
//! recreate the services whose environment changed. New migrations: apply them. Changed seeds:
//! report them. One summary line per reaction.

use crate::database::{self, Steps, Target};
use crate::lifecycle::up::{UpOptions, up};
use crate::plan::Action;
use crate::progress::Progress;
use crate::source::Diagnostic;
use crate::stack::{Seed, Stack};
use crate::ui::{Style, Ui, Verbosity};
use crate::variables::Values;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long edits settle before devenv reacts.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a batch of file events touched.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// The stack file.
    pub stack: bool,
    /// `.env`.
    pub env: bool,
    /// Something in the migrations directory.
    pub migrations: bool,
    /// A seed file.
    pub seeds: bool,
}

/// Sorts changed paths into what they mean for the stack.
pub fn classify(stack: &Stack, paths: &[PathBuf]) -> Touched {
    let root = &stack.root;
    let migrations = stack
        .database
        .as_ref()
        .and_then(|d| d.migrations.as_ref())
        .map(|m| root.join(m));
    let seeds: Vec<PathBuf> = stack
        .database
        .iter()
        .flat_map(|d| d.seeds.iter())
        .filter_map(|s| match s {
            Seed::Path(p) => Some(root.join(p)),
            Seed::Command(_) => None,
        })
        .collect();
    let mut touched = Touched::default();
    for path in paths {
        if path == &stack.file {
            touched.stack = true;
        } else if path == &root.join(crate::envfile::ENV_FILE) {
            touched.env = true;
        } else if migrations.as_ref().is_some_and(|m| path.starts_with(m)) {
            touched.migrations = true;
        } else if seeds.iter().any(|s| path.starts_with(s)) {
            touched.seeds = true;
        }
    }
    touched
}

/// Whether an event changes a file's content (created, written, renamed, removed).
pub fn is_content_change(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        _ => false,
    }
}

/// Watches until Ctrl-C; `down_on_exit` stops the stack then.
pub async fn watch(
    stack_file: &Path,
    base: &UpOptions,
    ui: &Ui,
    down_on_exit: bool,
) -> Result<(), Diagnostic> {
    let mut stack = crate::project::load_path(stack_file)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        if let Ok(events) = result {
            // Only changes of content count: reads (devenv's own included) and metadata do not.
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| is_content_change(&e.event.kind))
                .flat_map(|e| e.event.paths)
                .collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
    })
    .map_err(|e| Diagnostic::new(format!("cannot watch files: {e}")))?;
    let mut watched: Vec<PathBuf> = Vec::new();
    let mut add_watches = |stack: &Stack, watched: &mut Vec<PathBuf>| {
        let mut dirs = vec![(stack.root.clone(), RecursiveMode::NonRecursive)];
        if let Some(db) = &stack.database {
            dirs.extend(
                db.migrations
                    .iter()
                    .map(|m| (stack.root.join(m), RecursiveMode::Recursive)),
            );
            dirs.extend(db.seeds.iter().filter_map(|s| match s {
                Seed::Path(p) if stack.root.join(p).is_dir() => {
                    Some((stack.root.join(p), RecursiveMode::Recursive))
                }
                _ => None,
            }));
        }
        for (dir, mode) in dirs {
            if dir.is_dir() && !watched.contains(&dir) && debouncer.watch(&dir, mode).is_ok() {
                watched.push(dir);
            }
        }
    };
    add_watches(&stack, &mut watched);
    ui.info(format!(
        "{} watching devenv.toml, .env{} (Ctrl-C stops watching; the stack keeps running{})",
        ui.paint(Style::Good, "●"),
        if stack.database.is_some() {
            ", migrations and seeds"
        } else {
            ""
        },
        if down_on_exit { " until then" } else { "" }
    ));
    loop {
        let paths = tokio::select! {
            received = rx.recv() => match received { Some(paths) => paths, None => break },
            _ = tokio::signal::ctrl_c() => break,
        };
        let started = Instant::now();
        let touched = classify(&stack, &paths);
        if touched == Touched::default() {
            continue;
        }
        let line = react(&mut stack, stack_file, &touched, base, ui).await;
        let seconds = started.elapsed().as_secs_f64();
        match line {
            Ok(text) => ui.info(format!(
                "{} {text} ({seconds:.2}s)",
                ui.paint(Style::Good, "↻")
            )),
            Err(e) => {
                ui.error(&e);
                ui.info(format!(
                    "{} the stack is left as it was; fix the error and save again",
                    ui.paint(Style::Warn, "!")
                ));
            }
        }
        add_watches(&stack, &mut watched);
    }
    if down_on_exit {
        let engine = crate::engine::Engine::connect().await?;
        crate::lifecycle::down::down(&engine, &stack, &[], ui).await?;
        ui.info(format!(
            "{} stopped `{}` (volumes kept)",
            ui.paint(Style::Good, "✓"),
            stack.project.name
        ));
    } else {
        ui.info(format!(
            "stopped watching; `{}` keeps running (`devenv down` stops it)",
            stack.project.name
        ));
    }
    Ok(())
}

/// One reaction; returns the summary line.
async fn react(
    stack: &mut Stack,
    stack_file: &Path,
    touched: &Touched,
    base: &UpOptions,
    ui: &Ui,
) -> Result<String, Diagnostic> {
    let mut parts = Vec::new();
    if touched.stack || touched.env {
        if touched.stack {
            *stack = crate::project::load_path(stack_file)?;
        }
        let quiet = Ui {
            verbosity: Verbosity::Quiet,
            ..ui.clone()
        };
        let progress = Progress::new(&quiet, false);
        let options = UpOptions {
            seed: false,
            ..base.clone()
        };
        let report = up(stack, &options, &quiet, &progress).await?;
        let changed: Vec<String> = report
            .actions
            .iter()
            .filter(|(_, a)| **a != Action::Keep)
            .map(|(s, a)| format!("{} {s}", format!("{a:?}").to_lowercase()))
            .collect();
        let what = if touched.stack {
            "devenv.toml changed"
        } else {
            ".env changed"
        };
        parts.push(if changed.is_empty() {
            format!("{what}: no service affected")
        } else {
            format!("{what}: {}", changed.join(", "))
        });
        parts.extend(report.remaps.iter().map(ToString::to_string));
        parts.extend(report.database.lines());
        if touched.stack {
            for file in crate::generate::files(stack) {
                match crate::generate::write(&stack.root, &file, false) {
                    Ok(crate::generate::WriteOutcome::Unchanged) => {}
                    Ok(_) => parts.push(format!("regenerated {}", file.path.display())),
                    Err(e) => parts.push(format!("kept {} ({})", file.path.display(), e.message)),
                }
            }
        }
    } else if touched.migrations {
        let env = crate::dotenv::read(&crate::envfile::path(stack))?.unwrap_or_default();
        let target = Target::of(stack, &Values::resolve(stack, &env.values))?;
        let report = database::run_steps(
            stack,
            &target,
            &env.values,
            Steps {
                migrate: true,
                seed: false,
                reseed: false,
            },
            &|_| {},
        )
        .await?;
        let applied: Vec<String> = report
            .applied
            .iter()
            .map(|a| format!("applied {}", a.file))
            .collect();
        parts.push(if applied.is_empty() {
            "migrations changed: nothing pending".into()
        } else {
            applied.join(", ")
        });
    }
    if touched.seeds {
        parts.push("a seed file changed: `devenv seed --reseed` applies it again".into());
    }
    Ok(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn reads_and_metadata_are_not_changes() {
        use notify::EventKind;
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, ModifyKind,
        };
        assert!(is_content_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(is_content_change(&EventKind::Create(CreateKind::File)));
        assert!(!is_content_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!is_content_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!is_content_change(&EventKind::Modify(
            ModifyKind::Metadata(MetadataKind::Any)
        )));
    }

    #[test]
    fn paths_are_sorted_into_their_meaning() {
        let text = crate::stack::tests_support::SHOP;
        let stack = crate::stack::load_source(
            &SourceFile::new("devenv.toml", text),
            Path::new("/p"),
            Path::new("/p/devenv.toml"),
        )
        .unwrap();
        let t = classify(
            &stack,
            &[
                PathBuf::from("/p/migrations/0003_x.sql"),
                PathBuf::from("/p/.env"),
            ],
        );
        assert_eq!(
            t,
            Touched {
                stack: false,
                env: true,
                migrations: true,
                seeds: false
            }
        );
        assert!(classify(&stack, &[PathBuf::from("/p/devenv.toml")]).stack);
        assert!(classify(&stack, &[PathBuf::from("/p/seeds/a.sql")]).seeds);
        assert_eq!(
            classify(&stack, &[PathBuf::from("/p/docker-compose.yml")]),
            Touched::default()
        );
    }
}
