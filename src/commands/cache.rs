//! `devenv cache ls|prune|build`: the seeded-volume snapshots on the engine.

use super::runtime::block_on;
use crate::cache::build::{Built, LABEL, PROJECT_LABEL};
use crate::cache::{index, prepared};
use crate::cli::CacheCommand;
use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::error::Result;
use crate::ui::table::Table;
use crate::ui::{Style, Ui};
use serde::Serialize;
use std::path::Path;

/// Runs `devenv cache ...`.
pub fn run(file: Option<&Path>, command: &CacheCommand, ui: &Ui) -> Result<()> {
    match command {
        CacheCommand::Ls { json } => list(*json, ui),
        CacheCommand::Prune {
            unused_for,
            project,
            json,
        } => prune(*unused_for, project.as_deref(), *json, ui),
        CacheCommand::Build { json } => build(file, *json, ui),
        CacheCommand::Spare => spare(file, ui),
    }
}

/// `devenv cache spare`: the spare copy of the PostgreSQL reset template, so that the next
/// `db reset` is a drop and a rename.
fn spare(file: Option<&Path>, ui: &Ui) -> Result<()> {
    let (stack, _, target) = super::migrate::database_context(file)?;
    if target.kind != crate::database::Kind::Postgres {
        return Ok(());
    }
    let made = block_on(async {
        let Some(key) = super::db::template_key(&stack).await else {
            return Ok(false);
        };
        Ok(crate::cache::template::make_spare(&target, &key).await?)
    })?;
    ui.info(if made {
        "the spare copy of the reset template is ready"
    } else {
        "no reset template yet: nothing to copy"
    });
    Ok(())
}

/// One snapshot as listed.
#[derive(Debug, Clone, Serialize)]
struct Snapshot {
    /// Its volume.
    volume: String,
    /// Its key.
    key: String,
    /// The database image it holds data of.
    image: String,
    /// The project that built it.
    project: String,
    /// Size in bytes, when recorded on this machine.
    size_bytes: Option<u64>,
    /// Last use (seconds since the epoch): as recorded here, else the snapshot's creation.
    last_used: Option<u64>,
    /// Free copies of it prepared for the next new volumes (each about its size).
    prepared_copies: usize,
}

async fn snapshots(engine: &Engine) -> std::result::Result<Vec<Snapshot>, Diagnostic> {
    let index = index::read();
    let copies = prepared::free_counts(engine).await?;
    let mut list: Vec<Snapshot> = engine
        .volumes_labelled(&format!("{LABEL}=snapshot"))
        .await?
        .into_iter()
        .map(|v| {
            let key = v
                .labels
                .get("devenv.cache.key")
                .cloned()
                .unwrap_or_default();
            let entry = index.get(&key);
            Snapshot {
                volume: v.name,
                image: v
                    .labels
                    .get("devenv.cache.image")
                    .cloned()
                    .unwrap_or_default(),
                project: v.labels.get(PROJECT_LABEL).cloned().unwrap_or_default(),
                size_bytes: entry.map(|e| e.size_bytes),
                // Not recorded here (another machine's record, or a lost one): its creation.
                last_used: entry.map(|e| e.last_used).or_else(|| {
                    v.created_at
                        .as_deref()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .and_then(|t| u64::try_from(t.as_second()).ok())
                }),
                prepared_copies: copies.get(&key).copied().unwrap_or(0),
                key,
            }
        })
        .collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.last_used));
    Ok(list)
}

fn list(json: bool, ui: &Ui) -> Result<()> {
    let list = block_on(async { Ok(snapshots(&Engine::connect().await?).await?) })?;
    if json {
        ui.json(&ListDocument {
            snapshots: &list,
            cap_bytes: index::cap(),
        });
        return Ok(());
    }
    if list.is_empty() {
        ui.info("no database snapshots on this engine");
        return Ok(());
    }
    let mut table = Table::new([
        "SNAPSHOT",
        "PROJECT",
        "IMAGE",
        "SIZE",
        "COPIES",
        "LAST USED",
    ]);
    for s in &list {
        table.row([
            s.key.chars().take(12).collect::<String>(),
            s.project.clone(),
            s.image.clone(),
            s.size_bytes.map_or("?".into(), size),
            s.prepared_copies.to_string(),
            s.last_used.map_or("?".into(), ago),
        ]);
    }
    ui.out(table);
    // Free prepared copies count against the cap with their snapshot.
    let total: u64 = list
        .iter()
        .filter_map(|s| Some(index::with_copies(s.size_bytes?, s.prepared_copies)))
        .sum();
    let copies: usize = list.iter().map(|s| s.prepared_copies).sum();
    ui.info(format!(
        "{} snapshot(s) and {copies} free {}, {} of {} allowed (DEVENV_CACHE_MAX_MB)",
        list.len(),
        if copies == 1 { "copy" } else { "copies" },
        size(total),
        size(index::cap())
    ));
    Ok(())
}

fn prune(unused_for: Option<u64>, project: Option<&str>, json: bool, ui: &Ui) -> Result<()> {
    let (removed, in_use) = block_on(async {
        let engine = Engine::connect().await?;
        let now = index::now();
        let (mut removed, mut in_use) = (Vec::new(), Vec::new());
        for s in snapshots(&engine).await? {
            let stale = unused_for.is_none_or(|days| {
                s.last_used
                    .is_none_or(|used| now.saturating_sub(used) >= days * 24 * 3600)
            });
            if !stale || project.is_some_and(|p| p != s.project) {
                continue;
            }
            // A database container started from it still mounts it (see cache::restore).
            if engine.remove_volume_if_unused(&s.volume).await? {
                index::forget(&s.key);
                prepared::remove_free(&engine, &s.key).await?;
                removed.push(s);
            } else {
                in_use.push(s);
            }
        }
        Ok((removed, in_use))
    })?;
    if json {
        ui.json(&PruneDocument {
            removed: &removed,
            in_use: &in_use,
        });
        return Ok(());
    }
    let freed: u64 = removed.iter().filter_map(|s| s.size_bytes).sum();
    ui.info(format!(
        "{} removed {} snapshot(s), {} freed",
        ui.paint(Style::Good, "✓"),
        removed.len(),
        size(freed)
    ));
    if !in_use.is_empty() {
        let keys: Vec<String> = in_use
            .iter()
            .map(|s| s.key.chars().take(12).collect())
            .collect();
        ui.info(format!(
            "kept {} snapshot(s) a database container was started from and still mounts ({}): `devenv down` in that project lets them go",
            in_use.len(),
            keys.join(", ")
        ));
    }
    Ok(())
}

fn build(file: Option<&Path>, json: bool, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    let loaded = crate::env::load(&stack)?;
    let config = UserConfig::load()?;
    let (built, key) = block_on(async {
        let engine = Engine::connect().await?;
        let plan = crate::cache::plan_for(&engine, &stack, &loaded.values, &config, false)
            .await?
            .map_err(|skip| {
                Diagnostic::new(format!(
                    "`{}` cannot use the snapshot cache: {skip}",
                    stack.project.name
                ))
            })?;
        let file_values = loaded.file_values();
        let built = crate::cache::build::build(&engine, &stack, &plan, file_values).await?;
        // The next new volume of this key needs no copy: one is made now.
        let prepared = match built {
            Built::Busy => false,
            _ => crate::cache::prepared::ensure_one(&engine, &plan, &stack.project.name).await?,
        };
        // Both count against the cap (a copy is about the snapshot's size).
        let evicted = if prepared || matches!(built, Built::New { .. }) {
            crate::cache::build::evict(&engine, &plan.key).await
        } else {
            Vec::new()
        };
        Ok(((built, prepared, evicted), plan.key))
    })?;
    let (built, prepared, evicted) = built;
    let short: String = key.chars().take(12).collect();
    if json {
        ui.json(&BuildDocument {
            key: &key,
            built: matches!(built, Built::New { .. }),
            prepared,
            size_bytes: match &built {
                Built::New { size_bytes } => Some(*size_bytes),
                _ => None,
            },
            evicted: &evicted,
        });
        return Ok(());
    }
    match built {
        Built::New { size_bytes } => ui.info(format!(
            "{} built snapshot {short} ({})",
            ui.paint(Style::Good, "✓"),
            size(size_bytes)
        )),
        Built::Exists => ui.info(format!("snapshot {short} exists already")),
        Built::Busy => ui.info(format!("snapshot {short} is being built by another devenv")),
    }
    if prepared {
        ui.info(format!(
            "prepared a copy of snapshot {short}: the next new database volume needs no copy"
        ));
    }
    if !evicted.is_empty() {
        ui.info(format!(
            "removed {} least recently used snapshot(s) and their copies to stay under the cap (DEVENV_CACHE_MAX_MB)",
            evicted.len()
        ));
    }
    Ok(())
}

/// `1.2 MiB`.
fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= 1024.0 * MIB {
        format!("{:.1} GiB", bytes as f64 / 1024.0 / MIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB)
    }
}

/// `3m ago`, `2h ago`, `5d ago`.
fn ago(then: u64) -> String {
    let secs = index::now().saturating_sub(then);
    match secs {
        0..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `devenv cache ls --json`.
#[derive(Debug, Serialize)]
struct ListDocument<'a> {
    snapshots: &'a [Snapshot],
    cap_bytes: u64,
}

/// `devenv cache prune --json`.
#[derive(Debug, Serialize)]
struct PruneDocument<'a> {
    removed: &'a [Snapshot],
    /// Stale snapshots kept because a container mounts them.
    in_use: &'a [Snapshot],
}

/// `devenv cache build --json`.
#[derive(Debug, Serialize)]
struct BuildDocument<'a> {
    key: &'a str,
    built: bool,
    size_bytes: Option<u64>,
    /// Whether a prepared copy was made for the next new volume.
    prepared: bool,
    /// Keys of the snapshots removed to stay under the size cap.
    evicted: &'a [String],
}
