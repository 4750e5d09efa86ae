//! One module per subcommand: each turns parsed arguments into calls of the library and
//! prints the result through `Ui`.

mod cache;
mod db;
mod docs;
mod doctor;
mod down;
mod env;
mod export;
mod generate;
mod init;
mod logs;
mod migrate;
mod restart;
mod run;
mod runtime;
mod seed;
mod status;
mod supervise;
mod up;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::ui::Ui;

/// Runs a parsed command line.
pub fn run(cli: Cli, ui: &Ui) -> Result<()> {
    if let Some(dir) = &cli.directory {
        std::env::set_current_dir(dir).map_err(|e| {
            Error::usage(format!("cannot change to directory {}: {e}", dir.display()))
        })?;
    }
    let file = cli.file.as_deref();
    if let Some(name) = &cli.project_name {
        crate::project::override_name(name)?;
    }
    match cli.command {
        Command::Init(args) => init::run(&args, cli.project_name.as_deref(), ui),
        Command::Generate(args) => generate::run(file, &args, ui),
        Command::Up(args) => up::run(file, &args, ui),
        Command::Down(args) => down::run(file, &args, ui),
        Command::Status(args) => status::run(file, &args, ui),
        Command::Logs(args) => logs::run(file, &args, ui),
        Command::Restart(args) => restart::run(file, &args, ui),
        Command::Doctor(args) => doctor::run(file, &args, ui),
        Command::Docs(args) => docs::run(file, &args, ui),
        Command::Export(command) => export::run(file, &command, ui),
        Command::Env(command) => env::run(file, &command, ui),
        Command::Migrate(args) => migrate::run(file, &args, ui),
        Command::Seed(args) => seed::run(file, &args, ui),
        Command::Cache(command) => cache::run(file, &command, ui),
        Command::Db(command) => db::run(file, &command, ui),
        Command::Watch(args) => up::watch(file, &args, ui),
        Command::Dev(args) => up::dev(file, args, ui),
        Command::Run(args) => run::run(file, &args.command),
        Command::Supervise(args) => supervise::run(file, &args.app),
    }
}
