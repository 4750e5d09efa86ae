//! Stopping an app's whole process tree from its state file, in this process or any later
//! one: SIGTERM to every process of the app's session, SIGKILL to what is left after the grace
//! period. Nothing is signalled unless it is provably the app's: the recorded pid with the
//! recorded start time in the recorded boot, or (when that leader is gone) the processes left
//! in its session, which a pid that is still in use as a session id guarantees are its own.

use super::proc;
use super::state::{AppState, Liveness, Stale};
use rustix::process::{Pid, Signal, kill_process};
use std::time::{Duration, Instant};

/// The default time an app gets to exit after SIGTERM.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// How often the process table is read while waiting.
const POLL: Duration = Duration::from_millis(50);

/// What stopping found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The tree exited after SIGTERM.
    Terminated,
    /// Some of it had to be killed after the grace period.
    Killed,
    /// The app's process had already exited and nothing of its session was left.
    AlreadyGone,
    /// The app's process had exited; what was left of its session was stopped.
    OrphansStopped,
    /// The state does not describe this app any more; nothing was signalled.
    Stale(Stale),
}

impl Stopped {
    /// What happened, in words.
    pub fn describe(&self) -> String {
        match self {
            Self::Terminated => "exited after SIGTERM".into(),
            Self::Killed => "killed after the grace period".into(),
            Self::AlreadyGone => "had already exited".into(),
            Self::OrphansStopped => "its leftover processes were stopped".into(),
            Self::Stale(why) => format!("not signalled: {why}"),
        }
    }
}

/// Stops the process tree `state` describes. Waits at most `grace` after SIGTERM, then kills
/// what is left and waits for it to be gone.
pub async fn stop_tree(state: &AppState, grace: Duration) -> Stopped {
    let leader_gone = match state.liveness() {
        Liveness::Running => false,
        Liveness::Stale(Stale::Gone) => true,
        Liveness::Stale(other) => return Stopped::Stale(other),
    };
    if members(state).is_empty() {
        return Stopped::AlreadyGone;
    }
    signal_all(state, Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if members(state).is_empty() {
            return if leader_gone {
                Stopped::OrphansStopped
            } else {
                Stopped::Terminated
            };
        }
        tokio::time::sleep(POLL).await;
    }
    signal_all(state, Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !members(state).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    Stopped::Killed
}

/// The live processes of the app's session: the session the leader created (its id is the
/// leader's pid), started no earlier than the leader.
fn members(state: &AppState) -> Vec<i32> {
    proc::session_members(state.pid)
        .into_iter()
        .filter(|(_, stat)| stat.start_time >= state.start_time)
        .map(|(pid, _)| pid)
        .collect()
}

fn signal_all(state: &AppState, signal: Signal) {
    for pid in members(state) {
        if let Some(pid) = Pid::from_raw(pid) {
            // A process that exited in the meantime has nothing left to receive.
            let _ = kill_process(pid, signal);
        }
    }
}
