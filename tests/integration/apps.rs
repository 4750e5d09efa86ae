//! `[apps]` and what runs beside the containers: `devenv run` with the stack's environment.

use crate::support::*;

/// The shop stack with an API app on `port` (no Docker needed: nothing is started).
fn shop_with_api(port: u16) -> TestProject {
    let stack = format!(
        "{SHOP}\n[apps.api]\ncommand = \"sleep 1\"\nport = {port}\nenv = {{ DB = \"${{DATABASE_URL}}\" }}\n"
    );
    TestProject::new(&stack)
}

#[test]
fn run_passes_the_stack_environment_and_the_exit_code() {
    let project = shop_with_api(8080);
    // A remapped database port and an overridden app port, as `up` would have left them.
    project.write(".env", "DB_PASSWORD=pw\nDB_PORT=6543\nAPI_PORT=9090\n");
    let (code, out, err) = output(&mut project.devenv(&[
        "run",
        "--",
        "sh",
        "-c",
        "echo \"$DATABASE_URL $API_PORT $CACHE_PORT\"; exit 7",
    ]));
    assert_eq!(
        code, 7,
        "the command's exit code is devenv's:\n{out}\n{err}"
    );
    assert_eq!(
        out.trim(),
        "postgres://shop:pw@127.0.0.1:6543/shop 9090 6379"
    );
    assert_eq!(err, "", "devenv adds nothing to the command's output");
}

#[test]
fn run_succeeds_with_the_command_and_defaults_the_app_port() {
    let project = shop_with_api(8181);
    project.write(".env", "DB_PASSWORD=pw\n");
    let (out, _) = project.run_ok(&["run", "sh", "-c", "echo $API_PORT"]);
    assert_eq!(out.trim(), "8181");
    let err = project.fails(&["run", "--", "devenv-no-such-program"]);
    assert_mentions(&err, &["cannot run `devenv-no-such-program`"]);
}
