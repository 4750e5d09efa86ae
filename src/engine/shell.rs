//! Interactive commands inside a container, through the docker CLI. An interactive terminal
//! (raw mode, window resizes, signals, stdin until end of file) is what the CLI already does
//! well; over the Engine API it would be a terminal emulator's worth of code, so this module
//! only builds the `docker exec` command and the caller runs it in the foreground.

use std::process::Command;

/// `docker exec -i [-t] -e NAME... CONTAINER PROGRAM ARGS...`, with a terminal when `tty`.
/// The environment values travel through the docker CLI's own environment (`-e NAME` without
/// a value), so secrets such as passwords never appear in a process list.
pub fn interactive_exec(
    container: &str,
    env: &[(&str, String)],
    argv: &[String],
    tty: bool,
) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(["exec", "-i"]);
    if tty {
        cmd.arg("-t");
    }
    for (name, value) in env {
        cmd.args(["-e", name]);
        cmd.env(name, value);
    }
    cmd.arg(container).args(argv);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_in_the_environment_not_the_arguments() {
        let cmd = interactive_exec(
            "shop-db-1",
            &[("PGPASSWORD", "s3cret".into())],
            &["psql".into()],
            true,
        );
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            ["exec", "-i", "-t", "-e", "PGPASSWORD", "shop-db-1", "psql"]
        );
        let envs: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            envs,
            [(
                std::ffi::OsStr::new("PGPASSWORD"),
                Some(std::ffi::OsStr::new("s3cret"))
            )]
        );
    }
}
