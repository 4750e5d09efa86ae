//! The seeded-volume cache: a new database volume (a new worktree or clone, `down --volumes`
//! then `up`) starts as a copy of a snapshot holding what initdb, the migrations and the seeds
//! produced, when one with the same key exists; otherwise the normal path runs and a snapshot
//! is built in the background. `key` decides whether a stack can use it and computes the key,
//! `restore` has the database's own container fill its new volume on its first start,
//! `build` makes a snapshot, `index` keeps sizes and last uses for `devenv cache ls|prune` and
//! the size cap. Snapshots are volumes on the engine (labelled `devenv.cache`), made and read
//! by containers only.

pub mod build;
pub mod index;
pub mod key;
pub mod prepared;
pub mod restore;
pub mod template;

pub use key::{CachePlan, Skip};
pub use restore::CacheOutcome;

use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::env::Values;
use crate::stack::Stack;

/// The cache plan of `stack`'s database with the image id asked of the engine, or why there
/// is none. The cheap checks come first: a stack that cannot use the cache costs no engine
/// call and no file read.
pub async fn plan_for(
    engine: &Engine,
    stack: &Stack,
    values: &Values,
    config: &UserConfig,
    turned_off: bool,
) -> Result<Result<CachePlan, Skip>, Diagnostic> {
    match key::eligible(stack, values, config, turned_off) {
        Ok(eligible) => plan_eligible(engine, stack, eligible).await,
        Err(skip) => Ok(Err(skip)),
    }
}

/// The plan of an eligible stack: its image's id, then the key.
pub async fn plan_eligible(
    engine: &Engine,
    stack: &Stack,
    eligible: key::Eligible,
) -> Result<Result<CachePlan, Skip>, Diagnostic> {
    let Some(launch) = engine.image_launch(&eligible.spec.image).await? else {
        return Ok(Err(Skip::ImageMissing));
    };
    if !matches!(
        launch.user.as_str(),
        "" | "root" | "0" | "0:0" | "root:root"
    ) {
        return Ok(Err(Skip::ImageUser(launch.user)));
    }
    let mut plan = key::plan_from(stack, eligible, &launch.id);
    plan.launch = launch;
    Ok(Ok(plan))
}

/// Whether `up` may start a background build after a miss (`DEVENV_CACHE_BUILD=never` turns
/// it off: the test suite, scripted machines that only want the normal path).
pub fn background_builds() -> bool {
    std::env::var("DEVENV_CACHE_BUILD").map_or(true, |v| v != "never")
}
