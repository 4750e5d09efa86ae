//! Starting a new database volume from a snapshot. When the project's data volume does not
//! exist yet and a snapshot of the same key does, the database container itself is created
//! with the snapshot mounted read-only beside its data directory and a first-start script
//! before the image's entrypoint: it checks the snapshot's completion mark, copies the
//! snapshot into the empty data directory, for PostgreSQL sets the checkout's password in
//! single-user mode, then `exec`s the image's entrypoint and command as usual. No helper
//! container is started: the copy is part of the database's own start, beside the other
//! services'. The database then starts with no initdb, and the migrations and seeds find
//! themselves applied. A snapshot without its mark (a build that died) makes the script exit
//! before it writes anything; a copy that fails empties the directory first: either way `up`
//! removes that container, its volume and the snapshot, and goes the normal way.
//!
//! The container keeps the snapshot mounted for as long as it exists (the engine cannot take a
//! mount away), so a snapshot in use by a project's container is not pruned, like an image in
//! use; `devenv down` lets it go. On later starts the data directory is not empty and the
//! script goes straight to the image's entrypoint.

use super::key::CachePlan;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::plan::{FirstStart, MountKind, MountSpec};
use serde::Serialize;

/// The file in a finished snapshot that holds its key.
pub const MARK: &str = ".devenv-snapshot-complete";

/// Where the snapshot is mounted in helper containers and in the database's container.
pub const SNAPSHOT_DIR: &str = "/devenv-snapshot";

/// Where the database's container mounts the prepared copy its volume is a second name of:
/// a container that mounts it keeps the engine from removing it as unused
/// (`docker volume prune`) while the project's volume is in use.
pub const COPY_DIR: &str = "/devenv-copy";

/// Exit code of the first-start script for a snapshot without a valid mark.
pub const INCOMPLETE: i64 = 3;

/// Exit code of the first-start script when the copy or the password change failed (after
/// it emptied the data directory).
pub const COPY_FAILED: i64 = 4;

/// What the cache did for a new database volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cache", rename_all = "snake_case")]
pub enum CacheOutcome {
    /// The volume was filled from the snapshot.
    Restored {
        /// The snapshot's key (first 12 characters).
        key: String,
        /// Milliseconds from creating the database's container (the copy inside it included)
        /// until it was ready.
        ms: u64,
    },
    /// No snapshot yet: the normal path runs, and one is built after `up`.
    Miss {
        /// The key (first 12 characters).
        key: String,
    },
    /// A snapshot, or a prepared copy of it, was there but incomplete or broken: removed, the
    /// normal path runs.
    Discarded {
        /// The key (first 12 characters).
        key: String,
        /// What was wrong.
        reason: String,
        /// Whether it was a prepared copy (the snapshot stays).
        copy: bool,
    },
}

impl CacheOutcome {
    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            Self::Restored { key, ms } => format!(
                "database volume started from snapshot {key} (ready in {:.2}s): no initdb, migrations or seeds to run",
                *ms as f64 / 1000.0
            ),
            Self::Miss { key } => format!(
                "no database snapshot for these migrations and seeds yet: one ({key}) is built in the background"
            ),
            Self::Discarded {
                key,
                reason,
                copy: false,
            } => format!("database snapshot {key} was not used and is removed: {reason}"),
            Self::Discarded {
                key,
                reason,
                copy: true,
            } => format!(
                "a prepared copy of database snapshot {key} was not used and is removed: {reason}"
            ),
        }
    }
}

/// What `up` does about a database volume it is about to create.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Create the database's container with the restore's first start.
    Restore(Box<Restore>),
    /// No snapshot to start from: the normal path runs.
    Miss(CacheOutcome),
}

/// A restore `up` decided on: the database's container is created with `first_start`, and
/// fills the volume itself or finds it filled (`prepared`: the project's volume is a second
/// name of that copy).
#[derive(Debug, Clone)]
pub struct Restore {
    /// The cache plan.
    pub plan: CachePlan,
    /// The work its container does before the image's entrypoint.
    pub first_start: FirstStart,
    /// The prepared copy the project's volume is on, if any.
    pub prepared: Option<String>,
    /// Whether the volume was made this run (else: an existing volume on a prepared copy
    /// whose container is made again; its first start finishes a restore an earlier `up`
    /// left before the database ran, and is silent otherwise).
    pub new_volume: bool,
}

impl Restore {
    fn new(plan: CachePlan, source: Source<'_>, new_volume: bool) -> Self {
        let first_start = first_start(&plan, source);
        let prepared = match source {
            Source::Snapshot => None,
            Source::TakenCopy(copy) | Source::ExistingCopy(copy) => Some(copy.to_string()),
        };
        Self {
            plan,
            first_start,
            prepared,
            new_volume,
        }
    }

    /// What the cache did, once the database is ready: `None` when the volume was not new.
    pub fn outcome(&self, ms: u64) -> Option<CacheOutcome> {
        if !self.new_volume {
            return None;
        }
        super::index::touch(&self.plan.key);
        Some(CacheOutcome::Restored {
            key: self.plan.key[..12].to_string(),
            ms,
        })
    }

    /// After the first start refused it (`reason`): the database's container and the
    /// project's volume go (nothing but the refused copy was ever in it), with the prepared
    /// copy it was on, or else the snapshot unless another container still mounts it.
    pub async fn discard(
        &self,
        engine: &Engine,
        container: &str,
        reason: String,
    ) -> Result<CacheOutcome, Diagnostic> {
        engine.remove(container).await?;
        engine.remove_volume(&self.plan.volume).await?;
        match &self.prepared {
            Some(copy) => engine.remove_volume(copy).await?,
            None => {
                if engine.remove_volume_if_unused(&self.plan.snapshot).await? {
                    super::index::forget(&self.plan.key);
                }
            }
        }
        Ok(CacheOutcome::Discarded {
            key: self.plan.key[..12].to_string(),
            reason,
            copy: self.prepared.is_some(),
        })
    }
}

/// Decides whether the new volume of `plan` starts from its snapshot, with no container: a
/// free prepared copy is taken when there is one (the project's volume is created on it
/// here), else the database's first start copies the snapshot.
pub async fn decide(
    engine: &Engine,
    plan: CachePlan,
    project: &str,
    owner: &std::path::Path,
) -> Result<Decision, Diagnostic> {
    let key = plan.key[..12].to_string();
    // A snapshot being built has no mark yet: not a broken one, just not there.
    if super::build::is_building(&plan.key) || !engine.volume_exists(&plan.snapshot).await? {
        return Ok(Decision::Miss(CacheOutcome::Miss { key }));
    }
    let prepared = super::prepared::take(engine, &plan, project, owner).await?;
    let source = match &prepared {
        Some(copy) => Source::TakenCopy(copy),
        None => Source::Snapshot,
    };
    Ok(Decision::Restore(Box::new(Restore::new(
        plan, source, true,
    ))))
}

/// The decision for an existing project volume made on a prepared copy (`backing`) whose
/// container is created again: the first start removes a mark still there (and sets the
/// password), and goes straight on when the database already ran on it.
pub fn resume(plan: CachePlan, backing: &str) -> Decision {
    Decision::Restore(Box::new(Restore::new(
        plan,
        Source::ExistingCopy(backing),
        false,
    )))
}

/// Where the first start finds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// The snapshot, to copy.
    Snapshot,
    /// A prepared copy (named) taken this run: it must carry its mark.
    TakenCopy(&'a str),
    /// A prepared copy (named) the project's volume was on already: a missing mark means the
    /// database ran on it, and it starts as it is.
    ExistingCopy(&'a str),
}

/// The first-start work: check and use a prepared copy, or copy the snapshot.
pub fn first_start(plan: &CachePlan, source: Source) -> FirstStart {
    let mut env = vec![
        format!("DEVENV_CACHE_KEY={}", plan.key),
        format!("DEVENV_TARGET={}", plan.target),
    ];
    let (mounted, read_only_at) = match source {
        Source::Snapshot => (plan.snapshot.as_str(), SNAPSHOT_DIR),
        Source::TakenCopy(copy) => {
            env.push("DEVENV_PREPARED=taken".to_string());
            (copy, COPY_DIR)
        }
        Source::ExistingCopy(copy) => {
            env.push("DEVENV_PREPARED=existing".to_string());
            (copy, COPY_DIR)
        }
    };
    if plan.role_password.is_some() {
        env.push("DEVENV_SET_PASSWORD=1".to_string());
    }
    let mut then = plan.launch.entrypoint.clone();
    then.extend(
        plan.spec
            .command
            .clone()
            .unwrap_or_else(|| plan.launch.cmd.clone()),
    );
    FirstStart {
        script: format!("{FIRST_START_HEAD}{COPY_UNITS}{FIRST_START_TAIL}"),
        then,
        env,
        mounts: vec![volume(mounted, read_only_at, true)],
    }
}

/// Why the snapshot or the prepared copy was not used, when the database's container exited
/// with `code` (its log ending in `log`) because its first-start script refused it; `None`
/// for any other exit.
pub fn refusal(code: i64, log: &str) -> Option<String> {
    let said: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("devenv: ").map(|(_, said)| said.trim()))
        .collect();
    let default = match code {
        INCOMPLETE => "it has no completion mark (its build did not finish)",
        COPY_FAILED => "restoring it failed",
        _ => return None,
    };
    Some(if said.is_empty() {
        default.to_string()
    } else {
        said.join("; ")
    })
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

/// Copies /devenv-snapshot into "$target" (defined before, like `fail`), two copies at once,
/// each of every other entry (PostgreSQL's base/ split by database): creating the files is
/// what costs, and two cores do it faster. The data directory gets the snapshot's owner and
/// mode; the mark is not copied. Entry names with blanks are not expected in a database's
/// data directory.
pub const COPY_UNITS: &str = r#"cd /devenv-snapshot
like() { chown "$(stat -c %u:%g "$1")" "$2" && chmod "$(stat -c %a "$1")" "$2"; }
like . "$target" || fail "setting the data directory's owner failed"
units=$(find . -mindepth 1 -maxdepth 1 ! -name base ! -name .devenv-snapshot-complete)
if [ -d base ]; then
  mkdir -p "$target/base" && like base "$target/base" || fail "creating base/ failed"
  units="$units $(find base -mindepth 1 -maxdepth 1)"
fi
half() {
  n=0
  for unit in $units; do
    n=$((n + 1))
    [ $((n % 2)) = "$1" ] || continue
    cp -a "$unit" "$target/$(dirname "$unit")/" || return 1
  done
}
half 0 & first=$!
half 1 || fail "copying the snapshot failed"
wait "$first" || fail "copying the snapshot failed"
cd /
"#;

/// Runs as root before the image's entrypoint ("$@"), once: a flag in the container's own
/// file system says it ran, and later starts go straight on. A prepared copy is checked by its
/// mark, which is then removed (a copy a database ran on is never used again); otherwise the
/// snapshot's mark is checked before anything is written, and the snapshot copied. A failure
/// leaves the data directory empty. For PostgreSQL the role's password is then set in
/// single-user mode as the `postgres` user, from the container's own POSTGRES_USER and
/// POSTGRES_PASSWORD (never argv), quoted for SQL by doubling quotes.
const FIRST_START_HEAD: &str = r#"set -e
target="$DEVENV_TARGET"
ran=/.devenv-first-start-done
[ ! -e "$ran" ] || exec "$@"
fail() { echo "devenv: $1" >&2; find "$target" -mindepth 1 -delete 2>/dev/null || true; exit 4; }
if [ -n "${DEVENV_PREPARED:-}" ]; then
  mark="$(cat "$target/.devenv-snapshot-complete" 2>/dev/null || true)"
  if [ -z "$mark" ] && [ "$DEVENV_PREPARED" = existing ]; then
    touch "$ran"
    exec "$@"
  fi
  if [ "$mark" != "$DEVENV_CACHE_KEY" ]; then
    echo "devenv: it has no completion mark (made halfway, or a database ran on it)" >&2
    exit 3
  fi
  rm -f "$target/.devenv-snapshot-complete"
else
  mark="$(cat /devenv-snapshot/.devenv-snapshot-complete 2>/dev/null || true)"
  if [ "$mark" != "$DEVENV_CACHE_KEY" ]; then
    echo "devenv: it has no completion mark (its build did not finish)" >&2
    exit 3
  fi
  [ -z "$(ls -A "$target" 2>/dev/null)" ] || { echo "devenv: the data directory is not empty" >&2; exit 3; }
"#;

const FIRST_START_TAIL: &str = r#"fi
if [ -n "${DEVENV_SET_PASSWORD:-}" ]; then
  role=$(printf '%s' "${POSTGRES_USER:-postgres}" | sed 's/"/""/g')
  password=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
  as_postgres() {
    if command -v gosu >/dev/null 2>&1; then gosu postgres "$@";
    elif command -v setpriv >/dev/null 2>&1; then setpriv --reuid=postgres --regid=postgres --init-groups "$@";
    else su-exec postgres "$@"; fi
  }
  out=$(printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"'\n' "$role" "$password" \
    | as_postgres postgres --single -D "$target" postgres 2>&1) || fail "setting the password failed: $out"
  case "$out" in *ERROR*|*FATAL*) fail "setting the password failed: $(echo "$out" | grep -E 'ERROR|FATAL')";; esac
fi
touch "$ran"
echo "devenv: data directory filled from snapshot $DEVENV_CACHE_KEY" >&2
exec "$@"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_told_by_the_scripts_exit_code_and_says_its_line() {
        let log = "LOG: x\ndevenv: it has no completion mark (made halfway)\n";
        assert_eq!(
            refusal(INCOMPLETE, log).as_deref(),
            Some("it has no completion mark (made halfway)")
        );
        assert_eq!(
            refusal(COPY_FAILED, "").as_deref(),
            Some("restoring it failed")
        );
        assert_eq!(refusal(1, "devenv: x"), None, "the database's own failure");
        assert_eq!(refusal(0, ""), None);
    }

    #[test]
    fn the_first_start_script_checks_the_mark_before_it_copies_and_execs_the_image() {
        let script = format!("{FIRST_START_HEAD}{COPY_UNITS}{FIRST_START_TAIL}");
        let snapshot_mark = script
            .find("/devenv-snapshot/.devenv-snapshot-complete")
            .unwrap();
        assert!(snapshot_mark < script.find("cp -a").unwrap());
        assert!(script.trim_end().ends_with("exec \"$@\""));
        assert!(
            !script.contains("DEVENV_PASSWORD"),
            "the password stays in the spec's env"
        );
    }
}
