//! Building a snapshot: the normal path, on a volume of its own, in a container of its own.
//! The database's image starts on a new snapshot volume (initdb), devenv applies the
//! project's migrations and seed files through a loopback port, stops the database cleanly,
//! and only then writes the completion mark (and measures the size) with a helper container.
//! The snapshot therefore holds exactly what the project's files produce: never rows a
//! developer added to their own database. One build per key at a time (a lock file beside the
//! index); the least recently used snapshots beyond the size cap are removed afterwards.
//! `up` starts this in the background after a miss (`devenv cache build`, detached).

use super::index;
use super::key::CachePlan;
use super::restore::{MARK, SNAPSHOT_DIR, volume};
use crate::database::{Steps, Target, run_steps};
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::engine::oneshot::OneShot;
use crate::env::Values;
use crate::plan::PublishedPort;
use crate::stack::{Stack, VariableKind};
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

/// Labels every snapshot volume carries (what `cache ls` lists, and tests clean by).
pub const LABEL: &str = "devenv.cache";

/// The project that built a snapshot.
pub const PROJECT_LABEL: &str = "devenv.cache.project";

/// What a build came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// A new snapshot, with its size in bytes.
    New {
        /// Size in bytes.
        size_bytes: u64,
    },
    /// The snapshot exists already.
    Exists,
    /// Another build of the same key is running.
    Busy,
}

/// Builds the snapshot of `plan` unless it exists or is being built. The caller evicts
/// ([`evict`]) once the new snapshot and its prepared copy are made.
pub async fn build(
    engine: &Engine,
    stack: &Stack,
    plan: &CachePlan,
    file_values: &indexmap::IndexMap<String, String>,
) -> Result<Built, Diagnostic> {
    if engine.volume_exists(&plan.snapshot).await? {
        return Ok(Built::Exists);
    }
    if engine.endpoint.is_remote() {
        // The build migrates and seeds through a published port on the engine's host.
        return Err(Diagnostic::new(format!(
            "database snapshots are built only on a local engine; {} is on another host",
            engine.endpoint.host
        ))
        .with_help("build it where the engine runs (`devenv cache build` there), or go on without: `up` migrates and seeds as usual"));
    }
    let Some(_lock) = lock(&plan.key)? else {
        return Ok(Built::Busy);
    };
    if engine.volume_exists(&plan.snapshot).await? {
        return Ok(Built::Exists);
    }
    let labels = HashMap::from([
        (LABEL.to_string(), "snapshot".to_string()),
        ("devenv.cache.key".to_string(), plan.key.clone()),
        ("devenv.cache.image".to_string(), plan.spec.image.clone()),
        (PROJECT_LABEL.to_string(), stack.project.name.clone()),
    ]);
    engine
        .create_labelled_volume(&plan.snapshot, labels)
        .await?;
    let container = format!("devenv-cache-build-{}", &plan.key[..12]);
    let result = fill(engine, stack, plan, file_values, &container).await;
    engine.remove(&container).await?;
    let size_bytes = match result {
        Ok(()) => mark(engine, plan).await,
        Err(e) => Err(e),
    };
    let size_bytes = match size_bytes {
        Ok(size) => size,
        Err(e) => {
            engine.remove_volume(&plan.snapshot).await?;
            return Err(e);
        }
    };
    index::record(&plan.key, size_bytes, &stack.project.name);
    Ok(Built::New { size_bytes })
}

/// Starts the database on the snapshot volume, migrates and seeds it, stops it cleanly.
async fn fill(
    engine: &Engine,
    stack: &Stack,
    plan: &CachePlan,
    file_values: &indexmap::IndexMap<String, String>,
    container: &str,
) -> Result<(), Diagnostic> {
    let service = &stack.services[&plan.service];
    let main = plan
        .spec
        .ports
        .iter()
        .find(|p| p.protocol == "tcp")
        .ok_or_else(|| {
            Diagnostic::new(format!("service `{}` publishes no TCP port", plan.service))
        })?;
    let port = portpicker::pick_unused_port()
        .ok_or_else(|| Diagnostic::new("no free port to build the snapshot on"))?;
    let mut spec = plan.spec.clone();
    spec.name = container.to_string();
    spec.network = "bridge".into();
    spec.mounts = vec![volume(&plan.snapshot, &plan.target, false)];
    spec.ports = vec![PublishedPort {
        container: main.container,
        protocol: "tcp".into(),
        host_ip: "127.0.0.1".into(),
        host_port: port,
    }];
    let labels = HashMap::from([("devenv.cache.helper".to_string(), "build".to_string())]);
    engine.create("devenv-cache", &spec, labels).await?;
    engine.start(container).await?;
    crate::health::wait_ready(engine, &spec, service, Duration::from_secs(180)).await?;
    let values = values_on_port(stack, file_values, &plan.service, main.container, port);
    let target = Target::of(stack, &values)?;
    let steps = Steps {
        migrate: true,
        seed: true,
        reseed: false,
        announce_format: false,
    };
    run_steps(stack, &target, file_values, steps, &|_| {}).await?;
    engine.stop(container, Duration::from_secs(60)).await
}

/// The stack's values with the database's host port moved to `port`, and everything derived
/// from it (the URL) worked out again.
fn values_on_port(
    stack: &Stack,
    file_values: &indexmap::IndexMap<String, String>,
    service: &str,
    container_port: u16,
    port: u16,
) -> Values {
    let port_var = stack.variables.values().find(|v| {
        matches!(&v.kind, VariableKind::HostPort { service: s, container_port: c }
            if s == service && *c == container_port)
    });
    let derived = |name: &str| {
        stack.variables[name]
            .value
            .as_deref()
            .is_some_and(|template| {
                !crate::stack::interpolate::references(template)
                    .unwrap_or_default()
                    .is_empty()
            })
    };
    Values::resolve_with(stack, &|name| {
        if port_var.is_some_and(|v| v.name == name) {
            return Some(port.to_string());
        }
        if derived(name) {
            return None;
        }
        std::env::var(name)
            .ok()
            .or_else(|| file_values.get(name).cloned())
    })
}

/// Writes the completion mark and returns the snapshot's size in bytes.
async fn mark(engine: &Engine, plan: &CachePlan) -> Result<u64, Diagnostic> {
    let script = format!(
        "set -e; printf '%s' \"$DEVENV_CACHE_KEY\" > {SNAPSHOT_DIR}/{MARK}; du -sk {SNAPSHOT_DIR} | cut -f1"
    );
    let job = OneShot {
        name: format!("devenv-cache-mark-{}", &plan.key[..12]),
        image: &plan.spec.image,
        script: &script,
        env: vec![format!("DEVENV_CACHE_KEY={}", plan.key)],
        mounts: vec![volume(&plan.snapshot, SNAPSHOT_DIR, false)],
        labels: HashMap::from([("devenv.cache.helper".to_string(), "mark".to_string())]),
        output_on_success: true,
    };
    let finished = engine.run_once(&job).await?;
    if finished.code != 0 {
        return Err(Diagnostic::new(format!(
            "marking snapshot {} complete failed: {}",
            plan.snapshot,
            finished.log.trim()
        )));
    }
    let kib: u64 = finished
        .log
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Ok(kib * 1024)
}

/// Removes the least recently used snapshots (with their free prepared copies) beyond the cap,
/// not `keep`; a snapshot a database container was started from and still mounts stays.
pub async fn evict(engine: &Engine, keep: &str) -> Vec<String> {
    let copies = super::prepared::free_counts(engine)
        .await
        .unwrap_or_default();
    let mut evicted = Vec::new();
    for key in index::over_cap(&index::read(), index::cap(), keep, &copies) {
        if matches!(
            engine
                .remove_volume_if_unused(&super::key::snapshot_name(&key))
                .await,
            Ok(true)
        ) {
            index::forget(&key);
            // Its prepared copies go with it (one still in use by a project stays with it).
            let _ = super::prepared::remove_free(engine, &key).await;
            evicted.push(key);
        }
    }
    evicted
}

/// The build lock file of `key`.
fn lock_path(key: &str) -> Option<std::path::PathBuf> {
    let dir = index::path().and_then(|p| p.parent().map(Path::to_path_buf))?;
    Some(dir.join(format!("build-{}.lock", &key[..24])))
}

/// Whether a build of `key` is running on this machine (its lock is held).
pub fn is_building(key: &str) -> bool {
    lock_path(key).is_some_and(|p| crate::fsutil::lock_is_held(&p))
}

/// Takes the build lock of `key`; `None` when another build holds it.
fn lock(key: &str) -> Result<Option<File>, Diagnostic> {
    let path = lock_path(key).ok_or_else(|| {
        Diagnostic::new("no cache directory for the build lock")
            .with_help("set XDG_CACHE_HOME or HOME")
    })?;
    crate::fsutil::try_lock_file(&path)
        .map_err(|e| Diagnostic::new(format!("cannot lock {}: {e}", path.display())))
}

/// Starts `devenv --file STACK cache build` detached (its own session, output appended to
/// `.devenv/logs/cache-build.log`), so that it goes on after `up` returns.
pub fn start_in_background(devenv_exe: &Path, stack: &Stack) -> Result<(), Diagnostic> {
    start_detached(devenv_exe, stack, "build", "the snapshot build")
}

/// Starts `devenv --file STACK cache spare` detached (output appended to the same log): the
/// spare copy of the reset template for the next reset.
pub fn start_spare_in_background(devenv_exe: &Path, stack: &Stack) -> Result<(), Diagnostic> {
    start_detached(devenv_exe, stack, "spare", "making the spare copy")
}

fn start_detached(
    devenv_exe: &Path,
    stack: &Stack,
    action: &str,
    what: &str,
) -> Result<(), Diagnostic> {
    let log = crate::apps::spawn::open_log(&stack.root, "cache-build")?;
    crate::apps::supervise::spawn_devenv_detached(devenv_exe, &stack.file, &["cache", action], log)
        .map_err(|e| Diagnostic::new(format!("cannot start {what}: {e}")))?;
    Ok(())
}
