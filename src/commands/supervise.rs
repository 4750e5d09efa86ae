//! `devenv supervise APP` (hidden): the supervisor process of one app, started by `up` in a
//! session of its own. It runs until `down` (or a signal) stops it, or until the app's
//! restart policy leaves the app stopped (an app with a `watch` waits for a change then).

use super::runtime::block_on_uninterrupted;
use crate::apps::{self, Watching, supervise::SetupRunner, watch::WatchSpec};
use crate::error::{Error, Result};
use futures_util::future::LocalBoxFuture;
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
    let root = stack.root.clone();
    let on_line = move |line: &str| apps::supervise::log_line(&root, app, line);
    let on_line: &(dyn Fn(&str) + Sync) = &on_line;
    let (stack, values) = (&stack, &values);
    let setup: Option<SetupRunner<'_>> = spec.setup.as_ref().map(|_| {
        Box::new(move || -> LocalBoxFuture<'_, _> {
            Box::pin(async move {
                apps::setup::run_if_due(stack, spec, values, on_line)
                    .await
                    .map(|_| ())
            })
        }) as SetupRunner<'_>
    });
    let watching = WatchSpec::of(&stack.root, spec)?.map(|spec| Watching { spec, setup });
    block_on_uninterrupted(async {
        apps::supervise(
            &stack.root,
            &launch,
            spec.restart,
            apps::DEFAULT_GRACE,
            watching,
        )
        .await
        .map_err(Error::failure)
    })
}
