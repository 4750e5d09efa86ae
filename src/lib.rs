//! devenv: one stack definition in a repository, a working local development environment out.

// All output goes through `ui` (which redacts secrets and colours per stream); unit tests may
// still say why they skip.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod apps;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database;
pub mod doctor;
pub mod endpoint;
pub mod engine;
pub mod env;
pub mod error;
pub mod export;
pub mod forward;
pub mod fsutil;
pub mod generate;
pub mod git;
pub mod hash;
pub mod health;
pub mod import;
pub mod lifecycle;
pub mod plan;
pub mod ports;
pub use ui::progress;
pub mod diagnostic;
pub mod project;
pub mod redact;
pub mod stack;
pub mod templates;
pub mod timings;
pub mod ui;
pub mod watch;
