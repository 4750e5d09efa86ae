//! The supervisor of one app: a devenv process of its own (`devenv supervise APP`, started by
//! `up` in a session of its own so that it outlives it) that starts the app, records it, waits
//! for it, restarts it per its policy with backoff, and on SIGTERM or SIGINT stops the app's
//! whole tree and exits. With a `watch`, it also restarts the app when a watched file
//! changes (after rerunning the setup when one of its inputs changed), and keeps an app its
//! policy left stopped until the next change. Its own notes (exits, restarts, changes, watch
//! problems) go to the app's log.

use super::backoff::{self, Decision, Exit};
use super::spawn::{Launch, RunningApp, log_path, spawn_recorded};
use super::state::{self, AppState, Process};
use super::stop::stop_tree;
use super::watch::{AppWatcher, Change, Heard, WatchSpec};
use crate::diagnostic::Diagnostic;
use crate::stack::RestartPolicy;
use futures_util::future::LocalBoxFuture;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Runs the app's setup when it is due (its lines go to the app's log).
pub type SetupRunner<'a> = Box<dyn Fn() -> LocalBoxFuture<'a, Result<(), Diagnostic>> + 'a>;

/// What the supervisor watches, and how it reruns the setup.
pub struct Watching<'a> {
    /// The app's watched paths, setup inputs and ignore rules.
    pub spec: WatchSpec,
    /// The app's setup, when it has one.
    pub setup: Option<SetupRunner<'a>>,
}

/// Supervises `launch` until told to stop or until its policy leaves it stopped (with
/// `watching`: until told to stop).
pub async fn supervise<'a>(
    root: &'a Path,
    launch: &'a Launch,
    policy: RestartPolicy,
    grace: Duration,
    watching: Option<Watching<'a>>,
) -> Result<(), Diagnostic> {
    // Held until this process ends: the kernel's word that the app is supervised.
    let _lock = super::lock::acquire(root, &launch.app)?;
    let (watcher, setup) = match watching {
        // An app whose files cannot be watched still runs; the log and `status` say why.
        Some(w) => match AppWatcher::start(w.spec) {
            Ok(watcher) => (Some(watcher), w.setup),
            Err(e) => {
                note(root, &launch.app, &format!("watch: {}", e.message));
                (None, None)
            }
        },
        None => (None, None),
    };
    let mut supervisor = Supervisor {
        root,
        launch,
        policy,
        grace,
        stop: Stop::listen()?,
        watcher,
        setup,
        me: Process::current(),
        restarts: 0,
        failures: 0,
        last_exit_code: None,
        watch_problem: None,
    };
    loop {
        let app = supervisor.spawn()?;
        if let Next::Done = supervisor.while_running(app).await? {
            return Ok(());
        }
    }
}

/// What comes after a run of the app.
enum Next {
    /// Start it again now.
    Restart,
    /// The supervisor's work is over.
    Done,
}

/// What a change comes to once the setup (if due) ran.
enum Prepared {
    /// Restart (or start) the app.
    Go,
    /// Leave it as it is (the setup failed).
    Skip,
    /// A stop was asked meanwhile.
    Stop,
}

/// What woke the supervisor while the app ran.
enum Event {
    Exited(std::io::Result<ExitStatus>),
    Stop,
    Heard(Heard),
}

struct Supervisor<'a> {
    root: &'a Path,
    launch: &'a Launch,
    policy: RestartPolicy,
    grace: Duration,
    stop: Stop,
    watcher: Option<AppWatcher>,
    setup: Option<SetupRunner<'a>>,
    me: Option<Process>,
    restarts: u32,
    failures: u32,
    last_exit_code: Option<i32>,
    watch_problem: Option<String>,
}

impl Supervisor<'_> {
    fn spawn(&self) -> Result<RunningApp, Diagnostic> {
        spawn_recorded(self.root, self.launch, |state| {
            state.restarts = self.restarts;
            state.last_exit_code = self.last_exit_code;
            state.supervisor = self.me;
            state.watch_problem.clone_from(&self.watch_problem);
        })
    }

    /// Waits while the app runs: until it exits, a stop is asked, or a change restarts it.
    async fn while_running(&mut self, mut app: RunningApp) -> Result<Next, Diagnostic> {
        let started = Instant::now();
        loop {
            let event = tokio::select! {
                status = app.wait() => Event::Exited(status),
                () = self.stop.requested() => Event::Stop,
                heard = next_heard(&mut self.watcher) => Event::Heard(heard),
            };
            match event {
                Event::Stop => return self.stop_running(app).await,
                Event::Heard(Heard::Problem(problem)) => {
                    self.record_problem(&app.state, problem)?
                }
                Event::Heard(Heard::Change(change)) => {
                    match self.prepare(change, "restarting").await {
                        Prepared::Go => {
                            app.stop(self.grace).await;
                            self.failures = 0;
                            return Ok(Next::Restart);
                        }
                        Prepared::Skip => {}
                        Prepared::Stop => return self.stop_running(app).await,
                    }
                }
                Event::Exited(status) => {
                    let exit = exit_of(status, &self.launch.app)?;
                    return self.after_exit(app.state, exit, started.elapsed()).await;
                }
            }
        }
    }

    /// Stops the running app's tree for good and removes its state.
    async fn stop_running(&self, app: RunningApp) -> Result<Next, Diagnostic> {
        let stopped = app.stop(self.grace).await;
        self.note(&format!("stopped: {}", stopped.describe()));
        state::remove(self.root, &self.launch.app)?;
        Ok(Next::Done)
    }

    /// After the app exited on its own: stop what it left, record the exit, and restart it
    /// per its policy (or, when watching, once a file changes).
    async fn after_exit(
        &mut self,
        mut record: AppState,
        exit: Exit,
        ran_for: Duration,
    ) -> Result<Next, Diagnostic> {
        // What the app's leader left running in its session goes with it.
        stop_tree(&record, self.grace).await;
        self.last_exit_code = Some(match exit {
            Exit::Code(code) => code,
            Exit::Signal(signal) => -signal,
        });
        record.last_exit_code = self.last_exit_code;
        state::write(self.root, &record)?;
        match backoff::decide(self.policy, exit, self.failures, ran_for) {
            Decision::Stay => {
                let policy = policy_name(self.policy);
                if self.watcher.is_none() {
                    self.note(&format!("{exit}; not restarted (restart = \"{policy}\")"));
                    return Ok(Next::Done);
                }
                self.note(&format!(
                    "{exit}; not restarted (restart = \"{policy}\"); waiting for a change"
                ));
                self.wait_for_change(&record, None).await
            }
            Decision::Restart { delay, failures } => {
                self.note(&format!("{exit}; restarting in {delay:?}"));
                self.failures = failures;
                self.restarts += 1;
                self.wait_for_change(&record, Some(delay)).await
            }
        }
    }

    /// Waits (at most `delay`, when given) for a change of a watched file or a stop.
    async fn wait_for_change(
        &mut self,
        record: &AppState,
        delay: Option<Duration>,
    ) -> Result<Next, Diagnostic> {
        let deadline = delay.map(|d| tokio::time::Instant::now() + d);
        loop {
            let event = tokio::select! {
                () = sleep_until(deadline) => return Ok(Next::Restart),
                () = self.stop.requested() => Event::Stop,
                heard = next_heard(&mut self.watcher) => Event::Heard(heard),
            };
            let prepared = match event {
                Event::Heard(Heard::Change(change)) => self.prepare(change, "starting").await,
                Event::Heard(Heard::Problem(problem)) => {
                    self.record_problem(record, problem)?;
                    Prepared::Skip
                }
                Event::Stop | Event::Exited(_) => Prepared::Stop,
            };
            match prepared {
                Prepared::Go => {
                    self.failures = 0;
                    return Ok(Next::Restart);
                }
                Prepared::Skip => {}
                Prepared::Stop => {
                    state::remove(self.root, &self.launch.app)?;
                    return Ok(Next::Done);
                }
            }
        }
    }

    /// Says what changed; reruns the setup first when an input changed. A failed setup leaves
    /// the app as it is until the next change; a stop asked meanwhile ends the setup.
    async fn prepare(&mut self, mut change: Change, doing: &str) -> Prepared {
        if let Some(later) = self.watcher.as_mut().and_then(AppWatcher::pending) {
            change.merge(later);
        }
        let what = change.describe();
        if change.setup
            && let Some(setup) = &self.setup
        {
            note(
                self.root,
                &self.launch.app,
                &format!("{what} changed; running setup"),
            );
            let outcome = tokio::select! {
                result = setup() => result,
                () = self.stop.requested() => return Prepared::Stop,
            };
            if let Err(e) = outcome {
                self.note(&format!(
                    "setup failed, the app is left as it is until the next change: {}",
                    e.message
                ));
                return Prepared::Skip;
            }
        }
        self.note(&format!("{what} changed; {doing}"));
        Prepared::Go
    }

    /// Notes a watch problem in the log and in the state, for `status`.
    fn record_problem(&mut self, record: &AppState, problem: String) -> Result<(), Diagnostic> {
        self.note(&format!("watch: {problem}"));
        self.watch_problem = Some(problem);
        let mut record =
            state::read(self.root, &self.launch.app)?.unwrap_or_else(|| record.clone());
        record.watch_problem.clone_from(&self.watch_problem);
        state::write(self.root, &record)
    }

    fn note(&self, text: &str) {
        note(self.root, &self.launch.app, text);
    }
}

/// The next thing the watcher hears; never, without a watcher.
async fn next_heard(watcher: &mut Option<AppWatcher>) -> Heard {
    match watcher {
        Some(watcher) => watcher.next().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// How the app's process ended.
fn exit_of(status: std::io::Result<ExitStatus>, app: &str) -> Result<Exit, Diagnostic> {
    let status = status.map_err(|e| Diagnostic::new(format!("waiting for `{app}`: {e}")))?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(1),
    })
}

fn policy_name(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Never => "never",
        RestartPolicy::OnFailure => "on-failure",
        RestartPolicy::Always => "always",
    }
}

/// SIGTERM or SIGINT, whichever comes first.
struct Stop {
    terminate: Signal,
    interrupt: Signal,
}

impl Stop {
    fn listen() -> Result<Self, Diagnostic> {
        let listen =
            |kind| signal(kind).map_err(|e| Diagnostic::new(format!("cannot watch signals: {e}")));
        Ok(Self {
            terminate: listen(SignalKind::terminate())?,
            interrupt: listen(SignalKind::interrupt())?,
        })
    }

    async fn requested(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Appends a line of the supervisor's own to the app's log.
fn note(root: &Path, app: &str, text: &str) {
    log_line(root, app, &format!("{app}: {text}"));
}

/// Appends `[devenv] TEXT` to the app's log (the setup's output lines, the notes).
pub fn log_line(root: &Path, app: &str, text: &str) {
    let line = format!("{NOTE_PREFIX}{text}\n");
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .append(true)
        .open(log_path(root, app))
    {
        // The log is the only place to say it; a full disk loses the note, not the app.
        let _ = log.write_all(line.as_bytes());
    }
}

/// How every line the supervisor writes into an app's log begins.
pub const NOTE_PREFIX: &str = "[devenv] ";

/// Starts `devenv_exe --file STACK_FILE supervise APP` detached from this process (a session
/// of its own, no terminal, its own output appended to the app's log), so that it outlives the
/// command that started it. Returns the supervisor's pid.
pub fn start_detached(devenv_exe: &Path, stack_file: &Path, app: &str) -> Result<i32, Diagnostic> {
    let root = stack_file.parent().unwrap_or(Path::new("."));
    let log = super::spawn::open_log(root, app)?;
    let pid = spawn_devenv_detached(devenv_exe, stack_file, &["supervise", app], log)
        .map_err(|e| Diagnostic::new(format!("cannot start the supervisor of app `{app}`: {e}")))?;
    i32::try_from(pid)
        .map_err(|_| Diagnostic::new(format!("the supervisor of app `{app}` has no usable pid")))
}

/// Starts `devenv_exe --file STACK_FILE --color never ARGS` in a session of its own, with no
/// terminal and its output appended to `log`, so that it outlives its starter (an app's
/// supervisor, a snapshot build). Returns its pid.
pub(crate) fn spawn_devenv_detached(
    devenv_exe: &Path,
    stack_file: &Path,
    args: &[&str],
    log: std::fs::File,
) -> std::io::Result<u32> {
    use process_wrap::std::{CommandWrap, ProcessSession};
    let copy = log.try_clone()?;
    let mut command = CommandWrap::with_new(devenv_exe, |command| {
        command
            .arg("--file")
            .arg(stack_file)
            .args(["--color", "never"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(log))
            .stderr(std::process::Stdio::from(copy));
    });
    command.wrap(ProcessSession);
    Ok(command.spawn()?.id())
}
