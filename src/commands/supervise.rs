//! `devenv supervise APP` (hidden): the supervisor process of one app, started by `up` in a
//! session of its own. It runs until `down` (or a signal) stops it, or until the app's
//! restart policy leaves the app stopped.

use super::runtime::block_on_uninterrupted;
use crate::apps;
use crate::error::{Error, Result};
use std::path::Path;

/// Runs `devenv supervise APP`.
pub fn run(file: Option<&Path>, app: &str) -> Result<()> {
    let stack = crate::project::load(file)?;
    let Some(spec) = stack.apps.get(app) else {
        return Err(Error::usage(format!(
            "no app named `{app}` in {}",
            stack.file.display()
        )));
    };
    let values = crate::env::load(&stack)?.values;
    let launch = apps::launch(&stack, spec, &values);
    block_on_uninterrupted(async {
        apps::supervise(&stack.root, &launch, spec.restart, apps::DEFAULT_GRACE)
            .await
            .map_err(Error::failure)
    })
}
