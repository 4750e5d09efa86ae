//! The `TestProject` builder and the checks that decide whether Docker-backed tests run.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The stack of the foundation issue (the bundled example), with a project name to fill in.
pub const SHOP: &str = include_str!("../../examples/shop/devenv.toml");

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
        let text = stack
            .replace("{name}", &project.name)
            .replace("name = \"shop\"", &format!("name = \"{}\"", project.name));
        project.write("devenv.toml", &text);
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
        Command::from_std(self.devenv_process(args))
    }

    /// The same as a plain process, for commands that run in the background (watch).
    pub fn devenv_process(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_devenv"));
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

/// The fixture images the engine tests map official names onto.
pub const FIXTURES: [(&str, &str); 3] = [
    ("postgres:16", "devenv-fixture/postgres:16"),
    ("redis:7", "devenv-fixture/redis:7"),
    ("mariadb:11", "devenv-fixture/mariadb:11"),
];

/// Whether the Docker Engine answers and the fixture images exist; under CI both are required.
pub fn docker_ready() -> bool {
    if !require(
        "a Docker Engine (docker info)",
        has_program("docker", &["info"]),
    ) {
        return false;
    }
    let images = FIXTURES
        .iter()
        .all(|(_, fixture)| has_program("docker", &["image", "inspect", fixture]));
    require("the fixture images (run tests/images/build.sh)", images)
}

/// A free TCP port on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `docker ARGS`, returning stdout; panics with stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl TestProject {
    /// A project for engine tests: image rewrites onto the fixtures, and a `.env` with free
    /// host ports for `port_vars` so tests can run in parallel.
    pub fn engine(stack: &str, port_vars: &[&str]) -> Self {
        let project = Self::new(stack);
        let rewrites: String = FIXTURES
            .iter()
            .map(|(from, to)| format!("\"{from}\" = \"{to}\"\n"))
            .collect();
        let config = project.config_home.path().join("devenv");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.toml"), format!("[images]\n{rewrites}")).unwrap();
        let env: String = port_vars
            .iter()
            .map(|v| format!("{v}={}\n", free_port()))
            .collect();
        project.write(".env", &env);
        project
    }

    /// A value from the project's `.env`.
    pub fn env_value(&self, key: &str) -> String {
        self.read(".env")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
            .unwrap_or_else(|| panic!("{key} not in .env"))
    }

    /// The id of a service's container.
    pub fn container_id(&self, service: &str) -> String {
        docker(&[
            "inspect",
            "-f",
            "{{.Id}}",
            &format!("{}-{service}-1", self.name),
        ])
    }

    /// Runs SQL through psql inside the db container.
    pub fn psql(&self, sql: &str) -> String {
        docker(&[
            "exec",
            &format!("{}-db-1", self.name),
            "psql",
            "-U",
            "shop",
            "-d",
            "shop",
            "-tAc",
            sql,
        ])
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        if self.name == "none" || !has_program("docker", &["version"]) {
            return;
        }
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let quiet = |args: &[&str]| {
            let _ = std::process::Command::new("docker").args(args).output();
        };
        if let Ok(out) = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
        {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                quiet(&["rm", "-f", "-v", id]);
            }
        }
        quiet(&["network", "rm", &format!("{}_default", self.name)]);
        if let Ok(out) = std::process::Command::new("docker")
            .args(["volume", "ls", "-q", "--filter", &filter])
            .output()
        {
            for volume in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                quiet(&["volume", "rm", volume]);
            }
        }
    }
}
