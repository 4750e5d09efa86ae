//! sqlx's migration lock, taken on the migration connection. On PostgreSQL it is a session
//! advisory lock, which outlives a killed client until its backend finishes the running
//! statement; so each migration connection is named `devenv-migrate/<pid>@<host>`, and a run
//! that finds the lock held by a devenv whose process is gone from this host ends that
//! backend and says so. Any other holder is named and waited for.

use super::{Kind, Target};
use sqlx::AnyConnection;
use sqlx::migrate::{Migrate, MigrateError};
use std::time::Duration;

/// How long the lock may take before devenv looks at who holds it.
const FIRST_LOOK: Duration = Duration::from_millis(300);
/// How often a held lock's holder is looked at again.
const LOOK_AGAIN: Duration = Duration::from_millis(500);
/// PostgreSQL keeps this many bytes of `application_name`.
const APPLICATION_NAME_MAX: usize = 63;

/// Takes the migration lock; `on_note` hears about waits and cleared stale locks.
pub async fn acquire(
    conn: &mut AnyConnection,
    target: &Target,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<(), MigrateError> {
    if target.kind != Kind::Postgres {
        let lock = conn.lock();
        tokio::pin!(lock);
        return tokio::select! {
            result = &mut lock => result,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                on_note("waiting for another migration run to finish");
                lock.await
            }
        };
    }
    let backend: i32 = sqlx::query_scalar(
        "SELECT pg_backend_pid() FROM (SELECT set_config('application_name', $1, false)) AS named",
    )
    .bind(application_name(std::process::id()))
    .fetch_one(&mut *conn)
    .await?;
    let lock = conn.lock();
    tokio::pin!(lock);
    let mut watcher = Watcher {
        target,
        waiting: backend,
        conn: None,
        announced: Vec::new(),
        ended: Vec::new(),
    };
    let mut delay = FIRST_LOOK;
    let result = loop {
        tokio::select! {
            result = &mut lock => break result,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = LOOK_AGAIN;
        watcher.look(on_note).await;
    };
    if let Some(conn) = watcher.conn {
        let _ = sqlx::Connection::close(conn).await;
    }
    result
}

/// Looks, on a second connection (the first one is busy waiting), at who holds the lock.
struct Watcher<'a> {
    target: &'a Target,
    /// The backend waiting for the lock.
    waiting: i32,
    conn: Option<AnyConnection>,
    /// Live holders already named.
    announced: Vec<i32>,
    /// Stale holders whose backend was ended.
    ended: Vec<i32>,
}

impl Watcher<'_> {
    /// Ends a stale holder's backend, or names a live one (once).
    async fn look(&mut self, on_note: &(dyn Fn(&str) + Sync)) {
        if self.conn.is_none() {
            self.conn = self.target.connect().await.ok();
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        for holder in holders(conn, self.waiting).await.unwrap_or_default() {
            if self.ended.contains(&holder.pid) {
                continue; // ending takes a moment
            }
            if holder.is_stale() {
                let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(holder.pid)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap_or(false);
                if ended {
                    self.ended.push(holder.pid);
                    on_note(&format!(
                        "cleared a stale migration lock: {}; that run's process no longer exists, so its backend was ended",
                        holder.describe()
                    ));
                }
            } else if !self.announced.contains(&holder.pid) {
                self.announced.push(holder.pid);
                on_note(&format!(
                    "waiting for another migration run to finish: {}",
                    holder.describe()
                ));
            }
        }
    }
}

/// The name devenv's migration connections carry: `devenv-migrate/<pid>@<host>`, cut to
/// what PostgreSQL keeps.
pub fn application_name(pid: u32) -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let mut name = format!("devenv-migrate/{pid}@{host}");
    while name.len() > APPLICATION_NAME_MAX {
        name.pop();
    }
    name
}

/// A PostgreSQL backend holding a lock another one waits for.
#[derive(Debug, Clone, PartialEq)]
struct Holder {
    pid: i32,
    application: String,
    client: String,
    query: String,
}

/// The backends blocking `waiting` (here: holding the migration lock).
async fn holders(watcher: &mut AnyConnection, waiting: i32) -> Result<Vec<Holder>, sqlx::Error> {
    let rows: Vec<(i32, String, String, String)> = sqlx::query_as(
        "SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), 'a local socket'), coalesce(query, '') \
         FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids($1))",
    )
    .bind(waiting)
    .fetch_all(watcher)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pid, application, client, query)| Holder {
            pid,
            application,
            client,
            query,
        })
        .collect())
}

impl Holder {
    /// A devenv migration run of this host whose process is gone (or whose pid now belongs
    /// to another program).
    fn is_stale(&self) -> bool {
        let Some(pid) = self
            .application
            .strip_prefix("devenv-migrate/")
            .and_then(|rest| rest.split('@').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            return false;
        };
        self.application == application_name(pid) && !is_running_devenv(pid)
    }

    fn describe(&self) -> String {
        let application = if self.application.is_empty() {
            "no application name".to_string()
        } else {
            self.application.clone()
        };
        let query: String = self.query.split_whitespace().collect::<Vec<_>>().join(" ");
        let query: String = query.chars().take(80).collect();
        format!(
            "PostgreSQL backend {} ({application}, from {}) holds the migration lock, running `{query}`",
            self.pid, self.client
        )
    }
}

/// Whether `pid` is a live process of this program (a devenv). A process devenv may not
/// signal counts as alive; where its command line cannot be read it counts as a devenv.
fn is_running_devenv(pid: u32) -> bool {
    let Some(target) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Any answer but "no such process" (EPERM: another user's) means it runs.
    if let Err(rustix::io::Errno::SRCH) = rustix::process::test_kill_process(target) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return true;
    };
    let program = |argv0: &[u8]| -> Vec<u8> {
        argv0
            .rsplit(|b| *b == b'/')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let theirs = program(cmdline.split(|b| *b == 0).next().unwrap_or_default());
    let ours = std::env::args_os()
        .next()
        .map(|a| program(a.as_encoded_bytes()))
        .unwrap_or_default();
    theirs == ours || theirs == b"devenv"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(application: String) -> Holder {
        Holder {
            pid: 7,
            application,
            client: "172.17.0.1".into(),
            query: "SELECT\n  pg_sleep(60)".into(),
        }
    }

    #[test]
    fn only_devenv_runs_of_this_host_whose_process_is_gone_are_stale() {
        let me = std::process::id();
        assert!(
            !holder(application_name(me)).is_stale(),
            "a live devenv is waited for"
        );

        let mut finished = std::process::Command::new("true").spawn().unwrap();
        let gone = finished.id();
        finished.wait().unwrap();
        assert!(
            holder(application_name(gone)).is_stale(),
            "its process is gone"
        );

        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let reused = holder(application_name(other.id())).is_stale();
        other.kill().unwrap();
        other.wait().unwrap();
        assert!(reused, "the pid now belongs to another program");

        assert!(!holder(format!("devenv-migrate/{gone}@another-host")).is_stale());
        assert!(!holder("sqlx-cli".into()).is_stale());
        assert!(!holder(String::new()).is_stale());
    }

    #[test]
    fn holders_are_described_with_their_query_on_one_line() {
        let text = holder("sqlx-cli".into()).describe();
        assert_eq!(
            text,
            "PostgreSQL backend 7 (sqlx-cli, from 172.17.0.1) holds the migration lock, running `SELECT pg_sleep(60)`"
        );
        assert!(application_name(u32::MAX).len() <= APPLICATION_NAME_MAX);
    }
}
