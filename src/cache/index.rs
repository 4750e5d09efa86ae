//! The machine's record of snapshots: size, when built, when last used, and which project built
//! it, in `$XDG_CACHE_HOME/devenv/snapshots.json` (else `~/.cache/devenv/`). The engine's
//! volumes are the truth about which snapshots exist; this file adds what volume labels cannot
//! (labels are fixed at creation): the last use, for evicting the least recently used beyond
//! the size cap. A lost or unreadable file only loses that order.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The default cap on the snapshots' total size.
pub const DEFAULT_CAP_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What is known of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its size in bytes, as measured when it was built.
    pub size_bytes: u64,
    /// When it was built (seconds since the epoch).
    pub built: u64,
    /// When a volume was last started from it, or it was built (seconds since the epoch).
    pub last_used: u64,
    /// The project that built it.
    pub project: String,
}

/// Key → entry.
pub type Index = BTreeMap<String, Entry>;

/// The index file.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("devenv").join("snapshots.json"))
}

/// Reads the index (empty when absent or unreadable).
pub fn read() -> Index {
    path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn write(index: &Index) {
    let Some(path) = path() else { return };
    let json = serde_json::to_vec_pretty(index).expect("the index serializes");
    // The index only orders eviction: failing to write it must not fail the caller.
    let _ = path
        .parent()
        .map(std::fs::create_dir_all)
        .transpose()
        .and_then(|_| crate::fsutil::write_atomic(&path, &json, None));
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Records a snapshot just built.
pub fn record(key: &str, size_bytes: u64, project: &str) {
    let mut index = read();
    let now = now();
    index.insert(
        key.to_string(),
        Entry {
            size_bytes,
            built: now,
            last_used: now,
            project: project.to_string(),
        },
    );
    write(&index);
}

/// Notes that a snapshot was used now.
pub fn touch(key: &str) {
    let mut index = read();
    if let Some(entry) = index.get_mut(key) {
        entry.last_used = now();
        write(&index);
    }
}

/// Forgets a snapshot (removed).
pub fn forget(key: &str) {
    let mut index = read();
    if index.remove(key).is_some() {
        write(&index);
    }
}

/// What a snapshot of `size_bytes` and its free prepared copies take (a copy is about the
/// snapshot's size).
pub fn with_copies(size_bytes: u64, copies: usize) -> u64 {
    size_bytes.saturating_mul(1 + copies as u64)
}

/// The keys to evict so that the rest fit under `cap`: least recently used first, never
/// `keep` (the snapshot just built). A key's free prepared copies (`copies`, each about the
/// snapshot's size) count with it, and go with it.
pub fn over_cap(
    index: &Index,
    cap: u64,
    keep: &str,
    copies: &std::collections::HashMap<String, usize>,
) -> Vec<String> {
    let weight = |key: &String, entry: &Entry| {
        with_copies(entry.size_bytes, copies.get(key).copied().unwrap_or(0))
    };
    let mut total: u64 = index.iter().map(|(k, e)| weight(k, e)).sum();
    let mut by_age: Vec<(&String, &Entry)> = index.iter().filter(|(k, _)| *k != keep).collect();
    by_age.sort_by_key(|(_, e)| e.last_used);
    let mut evict = Vec::new();
    for (key, entry) in by_age {
        if total <= cap {
            break;
        }
        total = total.saturating_sub(weight(key, entry));
        evict.push(key.clone());
    }
    evict
}

/// The size cap: `DEVENV_CACHE_MAX_MB` when set, else [`DEFAULT_CAP_BYTES`].
pub fn cap() -> u64 {
    std::env::var("DEVENV_CACHE_MAX_MB")
        .ok()
        .and_then(|mb| mb.trim().parse::<u64>().ok())
        .map_or(DEFAULT_CAP_BYTES, |mb| mb * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn entry(size_bytes: u64, last_used: u64) -> Entry {
        Entry {
            size_bytes,
            built: 0,
            last_used,
            project: "p".into(),
        }
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_new_one_stays() {
        let index: Index = [
            ("old".to_string(), entry(40, 1)),
            ("mid".to_string(), entry(40, 2)),
            ("new".to_string(), entry(40, 3)),
            ("built".to_string(), entry(40, 0)),
        ]
        .into();
        let none = HashMap::new();
        assert_eq!(over_cap(&index, 1000, "built", &none), Vec::<String>::new());
        assert_eq!(over_cap(&index, 100, "built", &none), ["old", "mid"]);
        assert_eq!(over_cap(&index, 0, "built", &none), ["old", "mid", "new"]);
    }

    #[test]
    fn prepared_copies_count_against_the_cap() {
        let index: Index = [
            ("old".to_string(), entry(40, 1)),
            ("built".to_string(), entry(40, 0)),
        ]
        .into();
        let none = HashMap::new();
        assert_eq!(over_cap(&index, 100, "built", &none), Vec::<String>::new());
        // The new snapshot and its copy (80) with the old one (40) are over 100.
        let copies = HashMap::from([("built".to_string(), 1)]);
        assert_eq!(over_cap(&index, 100, "built", &copies), ["old"]);
    }
}
