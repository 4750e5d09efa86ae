//! Starting a new database volume from a snapshot: when the project's data volume does not
//! exist yet and a snapshot of the same key does, the volume is created and filled by a helper
//! container (the database's own image, no network) that checks the snapshot's completion
//! mark, copies it, and for PostgreSQL sets the checkout's password in single-user mode. The
//! database then starts with no initdb, and the migrations and seeds find themselves applied.
//! A snapshot without its mark (a build that died, a copy cut short) is removed, never used.

use super::key::CachePlan;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::engine::oneshot::OneShot;
use crate::plan::{MountKind, MountSpec};
use crate::stack::Stack;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The file in a finished snapshot that holds its key.
pub const MARK: &str = ".devenv-snapshot-complete";

/// Where the snapshot is mounted in helper containers.
pub const SNAPSHOT_DIR: &str = "/devenv-snapshot";

/// Exit code of the restore script for a snapshot without a valid mark.
const INCOMPLETE: i64 = 3;

/// What the cache did for a new database volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cache", rename_all = "snake_case")]
pub enum CacheOutcome {
    /// The volume was filled from the snapshot.
    Restored {
        /// The snapshot's key (first 12 characters).
        key: String,
        /// Milliseconds the copy took.
        ms: u64,
    },
    /// No snapshot yet: the normal path runs, and one is built after `up`.
    Miss {
        /// The key (first 12 characters).
        key: String,
    },
    /// A snapshot was there but incomplete or broken: removed, the normal path runs.
    Discarded {
        /// The key (first 12 characters).
        key: String,
        /// What was wrong.
        reason: String,
    },
}

impl CacheOutcome {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Restored { key, ms } => format!(
                "database volume started from snapshot {key} ({:.2}s): no initdb, migrations or seeds to run",
                *ms as f64 / 1000.0
            ),
            Self::Miss { key } => format!(
                "no database snapshot for these migrations and seeds yet: one ({key}) is built in the background"
            ),
            Self::Discarded { key, reason } => {
                format!("database snapshot {key} was not used and is removed: {reason}")
            }
        }
    }
}

/// Fills the project's data volume from the snapshot when the volume does not exist yet.
/// `None` when the volume exists (nothing to do).
pub async fn restore_if_new(
    engine: &Engine,
    stack: &Stack,
    plan: &CachePlan,
) -> Result<Option<CacheOutcome>, Diagnostic> {
    if engine.volume_exists(&plan.volume).await? {
        return Ok(None);
    }
    let key = plan.key[..12].to_string();
    // A snapshot being built has no mark yet: not a broken one, just not there.
    if super::build::is_building(&plan.key) || !engine.volume_exists(&plan.snapshot).await? {
        return Ok(Some(CacheOutcome::Miss { key }));
    }
    let started = Instant::now();
    engine
        .ensure_volume(&stack.project.name, &plan.volume, &stack.root)
        .await?;
    let finished = engine.run_once(&restore_job(plan)).await?;
    if finished.code == 0 {
        super::index::touch(&plan.key);
        return Ok(Some(CacheOutcome::Restored {
            key,
            ms: elapsed_ms(started.elapsed()),
        }));
    }
    // Never start on a half-filled volume: back to an empty one, and the snapshot goes (if
    // something uses it right now, the next new volume finds it broken again).
    engine.remove_volume(&plan.volume).await?;
    if engine.remove_volume(&plan.snapshot).await.is_ok() {
        super::index::forget(&plan.key);
    }
    let reason = if finished.code == INCOMPLETE {
        "it has no completion mark (its build did not finish)".to_string()
    } else {
        format!(
            "restoring it failed with code {}: {}",
            finished.code,
            finished.log.trim()
        )
    };
    Ok(Some(CacheOutcome::Discarded { key, reason }))
}

fn elapsed_ms(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// The helper container that copies the snapshot into the new volume.
fn restore_job(plan: &CachePlan) -> OneShot<'_> {
    let mut env = vec![
        format!("DEVENV_CACHE_KEY={}", plan.key),
        format!("DEVENV_TARGET={}", plan.target),
    ];
    if let Some((role, password)) = &plan.role_password {
        env.push(format!("DEVENV_ROLE={role}"));
        env.push(format!("DEVENV_PASSWORD={password}"));
    }
    OneShot {
        name: format!("devenv-cache-restore-{}", &plan.key[..12]),
        image: &plan.spec.image,
        script: RESTORE_SCRIPT,
        env,
        mounts: vec![
            volume(&plan.snapshot, SNAPSHOT_DIR, true),
            volume(&plan.volume, &plan.target, false),
        ],
        labels: HashMap::from([("devenv.cache.helper".to_string(), "restore".to_string())]),
        output_on_success: false,
    }
}

/// A named-volume mount.
pub fn volume(name: &str, target: &str, read_only: bool) -> MountSpec {
    MountSpec {
        kind: MountKind::Volume,
        source: name.to_string(),
        target: target.to_string(),
        read_only,
    }
}

/// Checks the mark, copies, and (PostgreSQL, when a role is given) sets the role's password in
/// single-user mode as the `postgres` user. The password comes in through the environment,
/// never in argv; it is quoted for SQL by doubling single quotes.
const RESTORE_SCRIPT: &str = r#"set -e
mark="$(cat /devenv-snapshot/.devenv-snapshot-complete 2>/dev/null || true)"
[ "$mark" = "$DEVENV_CACHE_KEY" ] || exit 3
cp -a /devenv-snapshot/. "$DEVENV_TARGET"/
rm -f "$DEVENV_TARGET/.devenv-snapshot-complete"
[ -n "${DEVENV_ROLE:-}" ] || exit 0
role=$(printf '%s' "$DEVENV_ROLE" | sed 's/"/""/g')
password=$(printf '%s' "$DEVENV_PASSWORD" | sed "s/'/''/g")
as_postgres() {
  if command -v gosu >/dev/null 2>&1; then gosu postgres "$@";
  elif command -v setpriv >/dev/null 2>&1; then setpriv --reuid=postgres --regid=postgres --init-groups "$@";
  else su-exec postgres "$@"; fi
}
out=$(printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"'\n' "$role" "$password" \
  | as_postgres postgres --single -D "$DEVENV_TARGET" postgres 2>&1) || { echo "$out" >&2; exit 4; }
case "$out" in *ERROR*|*FATAL*) echo "$out" | grep -E 'ERROR|FATAL' >&2; exit 4;; esac
"#;
