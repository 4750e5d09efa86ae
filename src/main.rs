//! The `devenv` binary: parse arguments, run the command, map the outcome to an exit code.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use clap::Parser;
use devenv::cli::Cli;
use devenv::ui::{Ui, Verbosity};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    devenv::redact::set_reveal(cli.reveal);
    let ui = Ui::new(verbosity, cli.color, cli.json());
    let outcome = devenv::commands::run(cli, &ui);
    devenv::engine::ssh::close_tunnels();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(diagnostic) = error.diagnostic() {
                ui.error(&diagnostic);
            }
            ExitCode::from(error.exit_code())
        }
    }
}
