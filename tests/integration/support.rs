//! The `TestProject` builder and the checks that decide whether Docker-backed tests run.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The stack of the foundation issue, with a project name to fill in.
pub const SHOP: &str = r#"[project]
name = "{name}"

[services.db]
use = "postgres"
image = "postgres:16"
env = { POSTGRES_USER = "shop", POSTGRES_PASSWORD = "${DB_PASSWORD}", POSTGRES_DB = "shop" }

[services.cache]
use = "redis"
image = "redis:7"

[env.DB_PASSWORD]
secret = true
description = "Password of the shop database user"

[env.DATABASE_URL]
value = "postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"
description = "Connection string the app uses"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
"#;

/// True when running under CI, where skipping is not allowed.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether a prerequisite is there; under CI a missing one fails the test loudly, locally the
/// test is skipped with a visible message.
pub fn require(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    if in_ci() {
        panic!("{what} is required under CI=true but is not available");
    }
    eprintln!("SKIPPED: {what} is not available (set CI=true to make this a failure)");
    false
}

/// A temporary project directory with a devenv.toml and its own user config directory.
pub struct TestProject {
    dir: tempfile::TempDir,
    config_home: tempfile::TempDir,
    /// The unique project name used in devenv.toml.
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestProject {
    /// A project whose devenv.toml is `stack` with `{name}` replaced by a unique project name.
    pub fn new(stack: &str) -> Self {
        let name = format!(
            "devenvtest{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let project = Self::empty(name);
        project.write("devenv.toml", &stack.replace("{name}", &project.name));
        project
    }

    /// A project directory with no files.
    pub fn empty(name: String) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            config_home: tempfile::tempdir().unwrap(),
            name,
        }
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the project.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file inside the project.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Reads a file inside the project.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    /// `devenv ARGS` run in the project, with a private user config and no colour.
    pub fn devenv(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("devenv").unwrap();
        cmd.current_dir(self.root())
            .args(args)
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("NO_COLOR", "1")
            .env_remove("DEVENV_FILE");
        cmd
    }
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether a program runs (`program --version` exits 0).
pub fn has_program(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
