//! `devenv watch` and `devenv up --watch`: up, then follow edits until Ctrl-C.

use super::runtime::block_on_uninterrupted;
use crate::error::Result;
use crate::lifecycle::up::UpOptions;
use crate::ui::Ui;
use std::path::Path;

/// Brings the stack up (printing as `up` does), then watches.
pub fn run(file: Option<&Path>, options: UpOptions, down_on_exit: bool, ui: &Ui) -> Result<()> {
    let path = crate::project::locate(file)?;
    let stack = crate::project::load_path(&path)?;
    super::up::print_up(&stack, &options, ui)?;
    block_on_uninterrupted(async {
        Ok(crate::watch::watch(&path, &options, ui, down_on_exit).await?)
    })?;
    Ok(())
}
