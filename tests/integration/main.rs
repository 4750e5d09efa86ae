//! The integration suite: drives the built `devenv` binary on temporary projects, against the
//! real Docker Engine where a test needs one. One test binary on purpose (one link step).

mod support;

mod apps;
mod apps_control;
mod apps_watch;
mod cache;
mod cli;
mod database;
mod docs_watch;
mod doctor;
mod engine;
mod example;
mod export;
mod formats;
mod generate;
mod git_env;
mod import;
mod isolation;
mod output;
mod ports_env;
mod properties;
mod reliability;
mod remote;
mod stack;
mod timings;
