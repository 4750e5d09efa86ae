//! Running async operations from the synchronous command layer, with Ctrl-C mapped to exit 130.

use crate::error::{Error, Result};
use std::future::Future;

/// Runs `future` to completion on a fresh runtime; Ctrl-C ends it with `Error::Interrupted`.
/// Containers are labelled when created, so an interrupted `up` leaves nothing the next run
/// cannot adopt.
pub fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    runtime()?.block_on(async {
        tokio::select! {
            result = future => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    })
}

/// Runs `future` on a fresh runtime without the Ctrl-C mapping: for operations that handle
/// Ctrl-C themselves (watch ends cleanly on it).
pub fn block_on_uninterrupted<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    runtime()?.block_on(future)
}

/// A two-worker runtime (the machines devenv targets have few cores to spare).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::failure(crate::diagnostic::Diagnostic::new(format!(
                "cannot start the async runtime: {e}"
            )))
        })
}
