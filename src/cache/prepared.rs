//! Prepared copies: volumes that already hold a copy of a snapshot, made in the background
//! (after a build, and after a new volume used one), so that the next new database volume of
//! that key needs no copy at all. Creating the thousand-odd files of a data directory is what
//! a restore costs; a prepared copy moves that off `up`'s path. `up` takes a free one and
//! creates the project's volume as a second name of it (`Engine::create_backed_volume`); the
//! database's first start then only checks the copy's mark, removes it, and (PostgreSQL) sets
//! the checkout's password. A copy is free while no volume names it as its backing; taking
//! one holds a lock file per key, so two `up`s never take the same. The mark is written after
//! the copy and removed at the first start, so a half-made copy, or one a database has run
//! on, is refused and never used.

use super::key::CachePlan;
use super::restore::{COPY_DIR, COPY_UNITS, SNAPSHOT_DIR, volume};
use crate::diagnostic::Diagnostic;
use crate::engine::oneshot::OneShot;
use crate::engine::{BACKING_LABEL, Engine};
use std::collections::{HashMap, HashSet};

/// The `devenv.cache` label's value on a prepared copy (a snapshot's is `snapshot`).
pub const KIND: &str = "prepared";

/// Every prepared copy on the engine that no volume uses yet, as (key, volume name).
async fn all_free(engine: &Engine) -> Result<Vec<(String, String)>, Diagnostic> {
    let copies = engine
        .volumes_labelled(&format!("{}={KIND}", super::build::LABEL))
        .await?;
    let taken: HashSet<String> = engine
        .volumes_labelled(BACKING_LABEL)
        .await?
        .into_iter()
        .filter_map(|v| v.labels.get(BACKING_LABEL).cloned())
        .collect();
    Ok(copies
        .into_iter()
        .filter(|v| !taken.contains(&v.name))
        .filter_map(|v| Some((v.labels.get("devenv.cache.key")?.clone(), v.name)))
        .collect())
}

/// The prepared copies of `key` that no volume uses yet.
pub async fn free(engine: &Engine, key: &str) -> Result<Vec<String>, Diagnostic> {
    let mut free: Vec<String> = all_free(engine)
        .await?
        .into_iter()
        .filter_map(|(k, name)| (k == key).then_some(name))
        .collect();
    free.sort();
    Ok(free)
}

/// How many free prepared copies each key has.
pub async fn free_counts(engine: &Engine) -> Result<HashMap<String, usize>, Diagnostic> {
    let mut counts = HashMap::new();
    for (key, _) in all_free(engine).await? {
        *counts.entry(key).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Takes a free prepared copy of `plan`'s key and creates the project's volume as a second
/// name of it; `None` when there is none (or another `up` is taking one right now).
pub async fn take(
    engine: &Engine,
    plan: &CachePlan,
    project: &str,
    owner: &std::path::Path,
) -> Result<Option<String>, Diagnostic> {
    let Some(lock_path) = lock_path(&plan.key) else {
        return Ok(None);
    };
    let Ok(Some(_lock)) = crate::fsutil::try_lock_file(&lock_path) else {
        return Ok(None);
    };
    let Some(copy) = free(engine, &plan.key).await?.into_iter().next() else {
        return Ok(None);
    };
    engine
        .create_backed_volume(project, &plan.volume, owner, &copy)
        .await?;
    Ok(Some(copy))
}

/// Makes one prepared copy of `plan`'s snapshot unless a free one exists; whether it made one.
pub async fn ensure_one(
    engine: &Engine,
    plan: &CachePlan,
    project: &str,
) -> Result<bool, Diagnostic> {
    if !free(engine, &plan.key).await?.is_empty() {
        return Ok(false);
    }
    let name = format!("devenv-cache-{}-copy-{}", &plan.key[..24], unique_suffix());
    let labels = HashMap::from([
        (super::build::LABEL.to_string(), KIND.to_string()),
        ("devenv.cache.key".to_string(), plan.key.clone()),
        ("devenv.cache.image".to_string(), plan.spec.image.clone()),
        (super::build::PROJECT_LABEL.to_string(), project.to_string()),
    ]);
    engine.create_labelled_volume(&name, labels).await?;
    let script = format!("{FILL_SCRIPT}{COPY_UNITS}{FILL_END}");
    let job = OneShot {
        name: format!("devenv-cache-copy-{}", &plan.key[..12]),
        image: &plan.spec.image,
        script: &script,
        env: vec![
            format!("DEVENV_CACHE_KEY={}", plan.key),
            format!("DEVENV_TARGET={COPY_DIR}"),
        ],
        mounts: vec![
            volume(&plan.snapshot, SNAPSHOT_DIR, true),
            volume(&name, COPY_DIR, false),
        ],
        labels: HashMap::from([("devenv.cache.helper".to_string(), "copy".to_string())]),
        output_on_success: false,
    };
    let finished = engine.run_once(&job).await;
    match finished {
        Ok(f) if f.code == 0 => Ok(true),
        other => {
            engine.remove_volume(&name).await?;
            let why = match other {
                Ok(f) => format!("code {}: {}", f.code, f.log.trim()),
                Err(e) => e.message,
            };
            Err(Diagnostic::new(format!(
                "preparing a copy of snapshot {} failed: {why}",
                &plan.key[..12]
            )))
        }
    }
}

/// Removes the free prepared copies of `key` (its snapshot is going); how many went.
pub async fn remove_free(engine: &Engine, key: &str) -> Result<usize, Diagnostic> {
    let mut removed = 0;
    for name in free(engine, key).await? {
        if engine.remove_volume_if_unused(&name).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// A suffix no other copy of the key has: the time in nanoseconds and the process id.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

/// The lock file held while a copy of `key` is taken.
fn lock_path(key: &str) -> Option<std::path::PathBuf> {
    let dir = super::index::path().and_then(|p| p.parent().map(std::path::Path::to_path_buf))?;
    Some(dir.join(format!("take-{}.lock", &key[..24])))
}

/// Checks the snapshot's mark, then copies it (`COPY_UNITS`) into the new volume.
const FILL_SCRIPT: &str = r#"set -e
mark="$(cat /devenv-snapshot/.devenv-snapshot-complete 2>/dev/null || true)"
[ "$mark" = "$DEVENV_CACHE_KEY" ] || { echo "the snapshot has no completion mark" >&2; exit 3; }
target="$DEVENV_TARGET"
fail() { echo "$1" >&2; exit 4; }
"#;

/// The copy's own mark, written last.
const FILL_END: &str = r#"
printf '%s' "$DEVENV_CACHE_KEY" > "$target/.devenv-snapshot-complete"
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn the_copy_script_writes_the_mark_after_the_copy() {
        let script = format!(
            "{}{}{}",
            super::FILL_SCRIPT,
            super::COPY_UNITS,
            super::FILL_END
        );
        let copy = script.find("cp -a").unwrap();
        let mark = script.rfind(crate::cache::restore::MARK).unwrap();
        assert!(copy < mark, "{script}");
        assert!(script.starts_with("set -e"));
    }
}
