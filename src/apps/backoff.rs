//! The restart decision after an app exits: whether its policy restarts it, and after how long
//! (exponential backoff from 0.5 s, doubling to a cap of 30 s, reset once the app has run for a
//! while). Pure: the supervisor keeps the count and the clock.

use crate::stack::RestartPolicy;
use std::time::Duration;

/// The first delay.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// How long an app must have run for its next crash to count as the first again.
pub const RESET_AFTER: Duration = Duration::from_secs(30);

/// How an app's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exited with code {code}"),
            Self::Signal(signal) => write!(f, "ended by signal {signal}"),
        }
    }
}

impl Exit {
    /// Whether it counts as a failure (a non-zero code or a signal).
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Code(0))
    }
}

/// What to do after an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Leave the app stopped.
    Stay,
    /// Start it again after `delay`; `failures` is the new count of quick consecutive exits.
    Restart {
        /// How long to wait first.
        delay: Duration,
        /// Consecutive exits that came soon after a start, this one included.
        failures: u32,
    },
}

/// Decides after an app that the supervisor did not stop itself exited: `policy` says
/// whether, `failures` (quick exits in a row before this one) and `ran_for` (how long this
/// run lasted) say how long to wait.
pub fn decide(policy: RestartPolicy, exit: Exit, failures: u32, ran_for: Duration) -> Decision {
    let restart = match policy {
        RestartPolicy::Never => false,
        RestartPolicy::OnFailure => exit.is_failure(),
        RestartPolicy::Always => true,
    };
    if !restart {
        return Decision::Stay;
    }
    let failures = if ran_for >= RESET_AFTER { 0 } else { failures };
    Decision::Restart {
        delay: delay(failures),
        failures: failures.saturating_add(1),
    }
}

/// The wait before the restart that follows `failures` quick exits in a row.
pub fn delay(failures: u32) -> Duration {
    INITIAL_DELAY
        .checked_mul(2u32.saturating_pow(failures))
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_secs(1);

    #[test]
    fn delays_double_from_half_a_second_to_the_cap() {
        let delays: Vec<u64> = (0..9).map(|n| delay(n).as_millis() as u64).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(delay(u32::MAX), MAX_DELAY, "no overflow");
    }

    #[test]
    fn policies_decide_whether() {
        use RestartPolicy::*;
        assert_eq!(decide(Never, Exit::Code(1), 0, QUICK), Decision::Stay);
        assert_eq!(decide(OnFailure, Exit::Code(0), 0, QUICK), Decision::Stay);
        let first = Decision::Restart {
            delay: INITIAL_DELAY,
            failures: 1,
        };
        assert_eq!(decide(OnFailure, Exit::Code(3), 0, QUICK), first);
        assert_eq!(decide(OnFailure, Exit::Signal(9), 0, QUICK), first);
        assert_eq!(decide(Always, Exit::Code(0), 0, QUICK), first);
    }

    #[test]
    fn quick_crashes_back_off_and_a_long_run_resets() {
        let policy = RestartPolicy::OnFailure;
        assert_eq!(
            decide(policy, Exit::Code(1), 3, QUICK),
            Decision::Restart {
                delay: Duration::from_secs(4),
                failures: 4
            }
        );
        assert_eq!(
            decide(policy, Exit::Code(1), 7, RESET_AFTER),
            Decision::Restart {
                delay: INITIAL_DELAY,
                failures: 1
            }
        );
    }
}
