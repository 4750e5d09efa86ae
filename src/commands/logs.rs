//! `devenv logs`: multiplexed service logs.

use super::runtime::block_on;
use crate::cli::LogsArgs;
use crate::error::Result;
use crate::ui::Ui;
use std::path::Path;

/// Runs `devenv logs`.
pub fn run(file: Option<&Path>, args: &LogsArgs, ui: &Ui) -> Result<()> {
    let stack = crate::project::load(file)?;
    block_on(async {
        Ok(crate::lifecycle::logs::logs(
            &stack,
            &args.services,
            args.follow,
            args.tail,
            args.json,
            ui,
        )
        .await?)
    })?;
    Ok(())
}
