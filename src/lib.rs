//! devenv: one stack definition in a repository, a working local development environment out.

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod dotenv;
pub mod error;
pub mod fsutil;
pub mod generate;
pub mod project;
pub mod source;
pub mod stack;
pub mod templates;
pub mod ui;
