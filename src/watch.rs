//! `devenv up --watch` (alias `devenv watch`): after `up`, follow edits (debounced) and keep the
//! running stack in step. devenv.toml: validate, then reconcile (only changed services are
//! recreated) and regenerate the generated files; an invalid edit is reported and the stack
//! left as it is. `.env`: recreate the services whose environment changed. New migrations:
//! apply them. Changed seeds: report them. One summary line per reaction. The apps restart
//! themselves (their supervisors watch their files); their supervisors' notes (a change
//! restarting an app, a crash) are shown as they appear in the apps' logs.

use crate::apps::follow::AppLogs;
use crate::apps::supervise::NOTE_PREFIX;
use crate::database::{self, Steps, Target};
use crate::diagnostic::Diagnostic;
use crate::lifecycle::up::{UpOptions, up};
use crate::plan::Action;
use crate::progress::Progress;
use crate::stack::{Seed, Stack};
use crate::ui::{Style, Ui, Verbosity};
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

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
        } else if path == &root.join(crate::env::ENV_FILE) {
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

/// Watches `stack` (already up) until Ctrl-C; `down_on_exit` stops the stack then. The stack
/// is reloaded only when its file changes.
pub async fn watch(
    mut stack: Stack,
    base: &UpOptions,
    ui: &Ui,
    down_on_exit: bool,
) -> Result<(), Diagnostic> {
    let mut watcher = Watcher::start()?;
    watcher.follow(&stack);
    announce(&stack, ui, down_on_exit);
    let apps: Vec<String> = stack.apps.keys().cloned().collect();
    let mut app_logs = AppLogs::from_end(&stack.root, &apps);
    loop {
        let paths = tokio::select! {
            paths = watcher.next_change() => paths,
            lines = app_logs.next_lines() => {
                show_app_notes(ui, &app_logs, lines);
                continue;
            }
        };
        let Some(paths) = paths else { break };
        let started = Instant::now();
        let touched = classify(&stack, &paths);
        if touched == Touched::default() {
            continue;
        }
        let outcome = react(&mut stack, &touched, base, ui).await;
        show_reaction(ui, outcome, started.elapsed());
        watcher.follow(&stack);
    }
    finish(&stack, ui, down_on_exit).await
}

/// The notes the apps' supervisors write into their logs (a watched change restarting an
/// app, a crash, a restart, a watch problem), one line each.
fn show_app_notes(ui: &Ui, logs: &AppLogs, lines: Vec<(usize, String)>) {
    for (index, line) in lines {
        if let Some(note) = line.strip_prefix(NOTE_PREFIX) {
            let note = note
                .strip_prefix(&format!("{}: ", logs.name(index)))
                .unwrap_or(note);
            ui.info(format!(
                "{} app `{}`: {note}",
                ui.paint(Style::Good, "↻"),
                logs.name(index)
            ));
        }
    }
}

/// Debounced content changes under the stack's directories, as batches of paths.
struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    changes: UnboundedReceiver<Vec<PathBuf>>,
    watched: Vec<PathBuf>,
}

impl Watcher {
    /// Starts the debouncer; nothing is watched until `follow`.
    fn start() -> Result<Self, Diagnostic> {
        let (tx, changes) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            if let Ok(events) = result {
                // Only changes of content count: reads (devenv's own included) and metadata
                // do not.
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
        Ok(Self {
            debouncer,
            changes,
            watched: Vec::new(),
        })
    }

    /// Adds the stack's directories not watched yet (new migration or seed directories too).
    fn follow(&mut self, stack: &Stack) {
        for (dir, mode) in watched_dirs(stack) {
            if dir.is_dir()
                && !self.watched.contains(&dir)
                && self.debouncer.watch(&dir, mode).is_ok()
            {
                self.watched.push(dir);
            }
        }
    }

    /// The next batch of changed paths; `None` on Ctrl-C.
    async fn next_change(&mut self) -> Option<Vec<PathBuf>> {
        tokio::select! {
            received = self.changes.recv() => received,
            _ = tokio::signal::ctrl_c() => None,
        }
    }
}

/// The project directory (not recursively), the migrations and the seed directories.
fn watched_dirs(stack: &Stack) -> Vec<(PathBuf, RecursiveMode)> {
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
    dirs
}

/// The line saying what is watched and what Ctrl-C will do.
fn announce(stack: &Stack, ui: &Ui, down_on_exit: bool) {
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
}

/// One summary line for a reaction, or its error and the reassurance that nothing changed.
fn show_reaction(ui: &Ui, outcome: Result<String, Diagnostic>, took: Duration) {
    match outcome {
        Ok(text) => ui.info(format!(
            "{} {text} ({:.2}s)",
            ui.paint(Style::Good, "↻"),
            took.as_secs_f64()
        )),
        Err(e) => {
            ui.error(&e);
            ui.info(format!(
                "{} the stack is left as it was; fix the error and save again",
                ui.paint(Style::Warn, "!")
            ));
        }
    }
}

/// The end of the watch: stop the stack with `down_on_exit`, else say it keeps running.
async fn finish(stack: &Stack, ui: &Ui, down_on_exit: bool) -> Result<(), Diagnostic> {
    if down_on_exit {
        let engine = crate::engine::Engine::connect().await?;
        crate::lifecycle::down::down(&engine, stack, &[], ui).await?;
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
    touched: &Touched,
    base: &UpOptions,
    ui: &Ui,
) -> Result<String, Diagnostic> {
    let mut parts = Vec::new();
    if touched.stack || touched.env {
        if touched.stack {
            *stack = crate::project::load_path(&stack.file)?;
        }
        parts.extend(reconcile(stack, touched, base, ui).await?);
        if touched.stack {
            parts.extend(regenerate(stack));
        }
    } else if touched.migrations {
        parts.push(apply_migrations(stack).await?);
    }
    if touched.seeds {
        parts.push("a seed file changed: `devenv seed --reseed` applies it again".into());
    }
    Ok(parts.join("; "))
}

/// `up` again, quietly and without seeding: what changed, remapped ports, database steps.
async fn reconcile(
    stack: &Stack,
    touched: &Touched,
    base: &UpOptions,
    ui: &Ui,
) -> Result<Vec<String>, Diagnostic> {
    let quiet = Ui {
        verbosity: Verbosity::Quiet,
        ..ui.clone()
    };
    let progress = Progress::new(&quiet, false);
    let options = UpOptions {
        seed: false,
        ..base.clone()
    };
    let report = up(
        stack,
        &options,
        &quiet,
        &progress,
        &crate::timings::Timings::off(),
    )
    .await?;
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
    let mut parts = vec![if changed.is_empty() {
        format!("{what}: no service affected")
    } else {
        format!("{what}: {}", changed.join(", "))
    }];
    parts.extend(report.remaps.iter().map(ToString::to_string));
    parts.extend(report.database.lines());
    Ok(parts)
}

/// Rewrites the generated files the stack change made stale; hand-edited ones are kept.
fn regenerate(stack: &Stack) -> Vec<String> {
    let mut parts = Vec::new();
    for file in crate::generate::files(stack) {
        match crate::generate::write(&stack.root, &file, false) {
            Ok(crate::generate::WriteOutcome::Unchanged) => {}
            Ok(_) => parts.push(format!("regenerated {}", file.path.display())),
            Err(e) => parts.push(format!("kept {} ({})", file.path.display(), e.message)),
        }
    }
    parts
}

/// Applies pending migrations; says which.
async fn apply_migrations(stack: &Stack) -> Result<String, Diagnostic> {
    let loaded = crate::env::load(stack)?;
    let target = Target::of(stack, &loaded.values)?;
    let steps = Steps {
        migrate: true,
        seed: false,
        reseed: false,
        announce_format: false,
    };
    let report = database::run_steps(stack, &target, loaded.file_values(), steps, &|_| {}).await?;
    let applied: Vec<String> = report
        .applied
        .iter()
        .map(|a| format!("applied {}", a.file))
        .collect();
    Ok(if applied.is_empty() {
        "migrations changed: nothing pending".into()
    } else {
        applied.join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;
    use std::path::Path;

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
