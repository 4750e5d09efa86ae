//! Watching an app's files for its supervisor: the directories under its `watch.paths`
//! (each directory watched on its own, so that ignored ones such as `node_modules` cost no
//! inotify watch, and new ones are added as they appear; a watched file is followed through
//! its directory, since editors save by renaming) and the files of its `setup.inputs`.
//! Changes are debounced ([`DEBOUNCE`]) and sorted by [`classify`]: ignored paths and
//! devenv's own files never count, an input asks for the setup to run again first.

use super::ignore::Ignore;
use crate::diagnostic::Diagnostic;
use crate::stack::App;
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// How long changes settle before the app restarts.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What an app watches, relative to the project root.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The project root.
    pub root: PathBuf,
    /// `watch.paths`: directories (watched with what they hold) or files.
    pub paths: Vec<PathBuf>,
    /// `setup.inputs`: files whose change reruns the setup before the restart.
    pub inputs: Vec<PathBuf>,
    /// The compiled `watch.ignore` with the defaults.
    pub ignore: Ignore,
}

impl WatchSpec {
    /// What `app` of the project at `root` watches; `None` without a `watch` table.
    pub fn of(root: &Path, app: &App) -> Result<Option<Self>, Diagnostic> {
        let Some(watch) = &app.watch else {
            return Ok(None);
        };
        Ok(Some(Self {
            root: root.to_path_buf(),
            paths: watch.paths.iter().map(|p| normal(p)).collect(),
            inputs: app
                .setup
                .iter()
                .flat_map(|s| s.inputs.iter().map(|p| normal(p)))
                .collect(),
            ignore: Ignore::new(&watch.ignore)?,
        }))
    }
}

/// A path without `.` components (`./src` is `src`).
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// A batch of changes that matters to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The changed paths that count, relative to the project root, sorted.
    pub paths: Vec<PathBuf>,
    /// Whether a setup input changed (the setup runs before the restart).
    pub setup: bool,
}

impl Change {
    /// The changed paths in a few words (`src/main.rs`, `src/a.rs and 3 more`).
    pub fn describe(&self) -> String {
        let first = self
            .paths
            .first()
            .map_or_else(String::new, |p| p.display().to_string());
        match self.paths.len() {
            0 | 1 => first,
            n => format!("{first} and {} more", n - 1),
        }
    }

    /// Adds a later batch to this one.
    pub fn merge(&mut self, later: Change) {
        self.setup |= later.setup;
        self.paths.extend(later.paths);
        self.paths.sort();
        self.paths.dedup();
    }
}

/// Sorts one debounced batch of changed (absolute) paths: `None` when none counts.
pub fn classify(spec: &WatchSpec, changed: &[PathBuf]) -> Option<Change> {
    let mut change = Change {
        paths: Vec::new(),
        setup: false,
    };
    for path in changed {
        let Ok(relative) = path.strip_prefix(&spec.root) else {
            continue;
        };
        if relative.starts_with(crate::project::STATE_DIR) {
            continue;
        }
        if spec.inputs.iter().any(|input| input == relative) {
            change.setup = true;
            change.paths.push(relative.to_path_buf());
            continue;
        }
        let watched = spec
            .paths
            .iter()
            .filter(|base| relative.starts_with(base))
            .any(|base| !spec.ignore.is_ignored(relative, base));
        if watched {
            change.paths.push(relative.to_path_buf());
        }
    }
    change.paths.sort();
    change.paths.dedup();
    (!change.paths.is_empty()).then_some(change)
}

/// What the supervisor hears from its watcher.
#[derive(Debug)]
pub enum Heard {
    /// Files that matter changed.
    Change(Change),
    /// Something cannot be watched (the inotify limit, a missing path), in words.
    Problem(String),
}

/// The debounced watcher of one app.
pub struct AppWatcher {
    spec: WatchSpec,
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    batches: UnboundedReceiver<Result<Vec<PathBuf>, String>>,
    problems: UnboundedSender<Result<Vec<PathBuf>, String>>,
    watched: HashSet<PathBuf>,
}

impl AppWatcher {
    /// Starts watching what `spec` names; problems found while adding watches (a missing
    /// path, the inotify limit) come out of [`AppWatcher::next`] first.
    pub fn start(spec: WatchSpec) -> Result<Self, Diagnostic> {
        let (tx, batches) = tokio::sync::mpsc::unbounded_channel();
        let sender = tx.clone();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let message = match result {
                Ok(events) => Ok(events
                    .into_iter()
                    .filter(|e| crate::watch::is_content_change(&e.event.kind))
                    .flat_map(|e| e.event.paths)
                    .collect::<Vec<_>>()),
                Err(errors) => Err(errors
                    .iter()
                    .map(describe_error)
                    .collect::<Vec<_>>()
                    .join("; ")),
            };
            if message.as_ref().is_ok_and(Vec::is_empty) {
                return;
            }
            let _ = sender.send(message);
        })
        .map_err(|e| Diagnostic::new(format!("cannot watch files: {}", describe_error(&e))))?;
        let mut watcher = Self {
            spec,
            debouncer,
            batches,
            problems: tx,
            watched: HashSet::new(),
        };
        watcher.add_all();
        Ok(watcher)
    }

    /// The next batch that matters, or a problem.
    pub async fn next(&mut self) -> Heard {
        loop {
            let Some(batch) = self.batches.recv().await else {
                return std::future::pending().await;
            };
            let paths = match batch {
                Ok(paths) => paths,
                Err(problem) => return Heard::Problem(problem),
            };
            // A directory that appeared (new, moved in, or removed and created again) is
            // watched afresh with what it holds; one that went is forgotten.
            for path in paths.iter().filter(|p| p.is_dir() || !p.exists()) {
                self.watched.retain(|w| !w.starts_with(path));
                if path.is_dir() {
                    self.add_tree(path);
                }
            }
            if let Some(change) = classify(&self.spec, &paths) {
                return Heard::Change(change);
            }
        }
    }

    /// The batches already received, merged (what changed while the app was restarting).
    pub fn pending(&mut self) -> Option<Change> {
        let mut merged: Option<Change> = None;
        while let Ok(batch) = self.batches.try_recv() {
            if let Some(change) = batch.ok().and_then(|paths| classify(&self.spec, &paths)) {
                match &mut merged {
                    Some(m) => m.merge(change),
                    None => merged = Some(change),
                }
            }
        }
        merged
    }

    fn add_all(&mut self) {
        let root = self.spec.root.clone();
        for path in self.spec.paths.clone() {
            let absolute = root.join(&path);
            if absolute.is_dir() {
                self.add_tree(&absolute);
            } else if let Some(parent) = absolute.parent().filter(|p| p.is_dir()) {
                self.add(parent);
            } else {
                self.problem(format!(
                    "the watched path `{}` does not exist; its changes are not seen",
                    path.display()
                ));
            }
        }
        for input in self.spec.inputs.clone() {
            if let Some(parent) = root.join(&input).parent().filter(|p| p.is_dir()) {
                self.add(parent);
            }
        }
    }

    /// Watches `dir` and every directory below it that is not ignored.
    fn add_tree(&mut self, dir: &Path) {
        let Ok(relative) = dir.strip_prefix(&self.spec.root) else {
            return;
        };
        let under_base = self
            .spec
            .paths
            .iter()
            .filter(|base| relative.starts_with(base))
            .any(|base| !self.spec.ignore.is_ignored(relative, base));
        if !under_base || self.watched.contains(dir) {
            return;
        }
        if !self.add(dir) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            // Symbolic links are not followed (a link to `/` would watch the machine).
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.add_tree(&entry.path());
            }
        }
    }

    /// Watches one directory (not what it holds); false when that failed.
    fn add(&mut self, dir: &Path) -> bool {
        if self.watched.contains(dir) {
            return true;
        }
        match self.debouncer.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                true
            }
            Err(e) => {
                let relative = dir.strip_prefix(&self.spec.root).unwrap_or(dir);
                self.problem(format!(
                    "cannot watch `{}`: {}",
                    relative.display(),
                    describe_error(&e)
                ));
                false
            }
        }
    }

    fn problem(&self, text: String) {
        let _ = self.problems.send(Err(text));
    }
}

/// A notify error in words; the inotify limit (ENOSPC) says what it is and how to raise it.
pub fn describe_error(error: &notify::Error) -> String {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => limit_message(inotify_limit("max_inotify_watches")),
        notify::ErrorKind::Io(e)
            if e.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) =>
        {
            format!(
                "no inotify instance is left: fs.inotify.max_user_instances{} is used up (each watching app and editor takes one); raise it (`sudo sysctl fs.inotify.max_user_instances=1024`)",
                inotify_limit("max_inotify_instances")
                    .map_or_else(String::new, |n| format!(" ({n})"))
            )
        }
        _ => error.to_string(),
    }
}

/// The words for a reached inotify watch limit.
pub fn limit_message(limit: Option<u64>) -> String {
    let current = limit.map_or_else(String::new, |n| format!(" ({n})"));
    format!(
        "the inotify watch limit is reached: fs.inotify.max_user_watches{current} is used up, so changes there do not restart the app; raise it (`sudo sysctl fs.inotify.max_user_watches=524288`, and in /etc/sysctl.d/ to keep it) or ignore big directories in `watch.ignore`"
    )
}

/// The limit `user.<name>` of this user namespace (the same as `fs.inotify.max_user_*`
/// outside containers).
fn inotify_limit(name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/sys/user/{name}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WatchSpec {
        WatchSpec {
            root: PathBuf::from("/p"),
            paths: vec![PathBuf::from("api/src"), PathBuf::from("config.yml")],
            inputs: vec![PathBuf::from("Cargo.lock")],
            ignore: Ignore::new(&["*.tmp".to_string()]).unwrap(),
        }
    }

    fn batch(paths: &[&str]) -> Vec<PathBuf> {
        paths.iter().map(|p| Path::new("/p").join(p)).collect()
    }

    #[test]
    fn changes_under_watched_paths_count_and_ignored_ones_do_not() {
        let change = classify(&spec(), &batch(&["api/src/main.rs", "api/src/main.rs"]));
        assert_eq!(
            change,
            Some(Change {
                paths: vec![PathBuf::from("api/src/main.rs")],
                setup: false
            })
        );
        assert!(
            classify(&spec(), &batch(&["config.yml"])).is_some(),
            "a file"
        );
        for ignored in [
            "api/src/x.tmp",
            "api/src/node_modules/a.js",
            "api/README.md",
            "config.yml.bak",
            ".devenv/logs/api.log",
        ] {
            assert_eq!(classify(&spec(), &batch(&[ignored])), None, "{ignored}");
        }
        assert_eq!(
            classify(&spec(), &[PathBuf::from("/elsewhere/api/src/a.rs")]),
            None
        );
    }

    #[test]
    fn the_whole_project_can_be_watched_without_devenvs_own_files() {
        let spec = WatchSpec {
            paths: vec![normal(Path::new("."))],
            ..spec()
        };
        assert!(classify(&spec, &batch(&["web/app.js"])).is_some());
        for ignored in [
            ".devenv/apps/api.json",
            ".devenv/logs/api.log",
            ".git/index",
            "node_modules/a/b.js",
        ] {
            assert_eq!(classify(&spec, &batch(&[ignored])), None, "{ignored}");
        }
    }

    #[test]
    fn a_setup_input_asks_for_the_setup_first() {
        let change = classify(&spec(), &batch(&["Cargo.lock", "api/src/lib.rs"])).unwrap();
        assert!(change.setup);
        assert_eq!(change.describe(), "Cargo.lock and 1 more");
        assert!(
            !classify(&spec(), &batch(&["api/src/lib.rs"]))
                .unwrap()
                .setup
        );
    }

    #[test]
    fn batches_received_while_restarting_merge_into_one_restart() {
        let mut first = classify(&spec(), &batch(&["api/src/b.rs"])).unwrap();
        first.merge(classify(&spec(), &batch(&["Cargo.lock", "api/src/b.rs"])).unwrap());
        assert!(first.setup);
        assert_eq!(
            first.paths,
            [PathBuf::from("Cargo.lock"), PathBuf::from("api/src/b.rs")]
        );
    }

    #[test]
    fn the_limit_message_says_how_to_raise_it() {
        let text = limit_message(Some(8192));
        assert!(text.contains("inotify watch limit is reached"), "{text}");
        assert!(text.contains("max_user_watches (8192)"), "{text}");
        assert!(text.contains("sudo sysctl"), "{text}");
        let error = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert!(describe_error(&error).contains("inotify watch limit"));
        let instances = notify::Error::io(std::io::Error::from_raw_os_error(24));
        assert!(describe_error(&instances).contains("max_user_instances"));
    }

    #[tokio::test]
    async fn a_write_under_a_new_directory_is_seen_and_an_ignored_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src/node_modules")).unwrap();
        let spec = WatchSpec {
            root: root.clone(),
            paths: vec![PathBuf::from("src")],
            inputs: Vec::new(),
            ignore: Ignore::new(&[]).unwrap(),
        };
        let mut watcher = AppWatcher::start(spec).unwrap();
        assert!(!watcher.watched.contains(&root.join("src/node_modules")));
        std::fs::write(root.join("src/node_modules/x.js"), "x").unwrap();
        std::fs::create_dir(root.join("src/new")).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), watcher.next())
            .await
            .unwrap();
        assert!(
            matches!(first, Heard::Change(ref c) if c.paths == [PathBuf::from("src/new")]),
            "{first:?}"
        );
        std::fs::write(root.join("src/new/a.rs"), "a").unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), watcher.next())
            .await
            .unwrap();
        assert!(
            matches!(second, Heard::Change(ref c) if c.paths == [PathBuf::from("src/new/a.rs")]),
            "{second:?}"
        );
        // Removed and created again in one go (a branch switch): watched again, once the
        // watcher has heard of it (the batches of the removal and the creation may differ).
        std::fs::remove_dir_all(root.join("src/new")).unwrap();
        std::fs::create_dir(root.join("src/new")).unwrap();
        let mut seen = Vec::new();
        for attempt in 0..20 {
            let file = PathBuf::from(format!("src/new/b{attempt}.rs"));
            std::fs::write(root.join(&file), "b").unwrap();
            if let Ok(Heard::Change(c)) =
                tokio::time::timeout(Duration::from_millis(500), watcher.next()).await
            {
                seen.extend(c.paths);
            }
            if seen
                .iter()
                .any(|p| p.parent() == Some(Path::new("src/new")))
            {
                break;
            }
        }
        assert!(
            seen.iter()
                .any(|p| p.parent() == Some(Path::new("src/new"))),
            "nothing under the recreated directory was seen: {seen:?}"
        );
    }
}
