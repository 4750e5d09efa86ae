//! What the integration tests share: the `TestProject` builder, running `devenv` and checking
//! its outcome, Docker helpers, and waiting on observed state. `prerequisites` decides what a
//! missing Docker Engine or tool means (a failure, or a listed skip); `cleanup` removes what
//! tests make, passing or failing.

#![allow(dead_code)]

mod cleanup;
mod prerequisites;
mod shop;

pub use cleanup::{Cleanup, KillOnDrop};
pub use prerequisites::{FIXTURES, docker_ready, has_program, require};
pub use shop::{SHOP, SHOP_EXAMPLE};

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// PostgreSQL with migrations and seeds (user `shop`, a generated password).
pub const POSTGRES: &str = r#"[project]
name = "{name}"

[services.db]
use = "postgres"
image = "postgres:16"
env = { POSTGRES_USER = "shop", POSTGRES_PASSWORD = "${DB_PASSWORD}", POSTGRES_DB = "shop" }

[env.DB_PASSWORD]
secret = true

[env.DATABASE_URL]
value = "postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
"#;

/// MariaDB with migrations and seeds (user `shop`, a generated password).
pub const MARIADB: &str = r#"[project]
name = "{name}"

[services.db]
use = "mariadb"
image = "mariadb:11"
env = { MARIADB_USER = "shop", MARIADB_PASSWORD = "${DB_PASSWORD}", MARIADB_DATABASE = "shop" }

[env.DB_PASSWORD]
secret = true

[env.DATABASE_URL]
value = "mysql://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
"#;

/// A one-service stack: Redis with its named volume.
pub const CACHE_ONLY: &str =
    "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n";

/// A suffix no other test of any concurrent run uses: the process id and a counter.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temporary project directory with a devenv.toml and its own user config directory.
pub struct TestProject {
    dir: tempfile::TempDir,
    config_home: tempfile::TempDir,
    /// The unique project name used in devenv.toml.
    pub name: String,
}

impl TestProject {
    /// A project whose devenv.toml is `stack` with `{name}` replaced by a unique project name.
    pub fn new(stack: &str) -> Self {
        let project = Self::empty(format!("devenvtest{}", unique_suffix()));
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
            .env("XDG_CACHE_HOME", self.config_home.path().join("cache"))
            // The snapshot cache is machine-wide: only its own tests use it (tests/cache.rs).
            .env("DEVENV_NO_CACHE", "1")
            .env("DEVENV_CACHE_BUILD", "never")
            .env("NO_COLOR", "1")
            .env_remove("DEVENV_FILE");
        cmd
    }

    /// Runs `devenv ARGS`, asserts it succeeded, and returns (stdout, stderr).
    pub fn run_ok(&self, args: &[&str]) -> (String, String) {
        let (code, out, err) = output(&mut self.devenv(args));
        assert_eq!(code, 0, "devenv {args:?} failed:\n{out}\n{err}");
        (out, err)
    }

    /// Runs `devenv up ARGS`, asserts it succeeded, and returns (stdout, stderr).
    pub fn up_ok(&self, args: &[&str]) -> (String, String) {
        self.run_ok(&[&["up"], args].concat())
    }

    /// Runs `devenv ARGS`, asserts it failed with exit code 1, and returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let (code, out, err) = output(&mut self.devenv(args));
        assert_eq!(code, 1, "devenv {args:?} should fail with 1:\n{out}\n{err}");
        err
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
        docker(&["inspect", "-f", "{{.Id}}", &self.container(service)])
    }

    /// The name of a service's container.
    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// The names of the project's containers, stopped ones included.
    pub fn containers(&self) -> Vec<String> {
        self.container_names(&["-a"])
    }

    /// The names of the project's running containers.
    pub fn running_containers(&self) -> Vec<String> {
        self.container_names(&[])
    }

    fn container_names(&self, extra: &[&str]) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let args = [
            &["ps", "--format", "{{.Names}}", "--filter", &filter],
            extra,
        ]
        .concat();
        docker(&args).lines().map(str::to_string).collect()
    }

    /// Runs SQL through psql inside the db container.
    pub fn psql(&self, sql: &str) -> String {
        let container = self.container("db");
        docker(&[
            "exec", &container, "psql", "-U", "shop", "-d", "shop", "-tAc", sql,
        ])
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        if self.name != "none" {
            cleanup::remove_project_objects(&self.name);
        }
    }
}

/// The example stack as an engine project with free ports, when Docker is there.
pub fn shop() -> Option<TestProject> {
    engine_project(SHOP, &["DB_PORT", "CACHE_PORT"])
}

/// `TestProject::engine`, when Docker and the fixture images are there.
pub fn engine_project(stack: &str, port_vars: &[&str]) -> Option<TestProject> {
    docker_ready().then(|| TestProject::engine(stack, port_vars))
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

/// Asserts that `text` contains every one of `needles`, showing the text when not.
#[track_caller]
pub fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "`{needle}` is missing in:\n{text}");
    }
}

/// Polls `done` every 50 ms until it holds; fails naming `what` after `limit`. The limit only
/// bounds a hang: tests wait on what they observe, never on a fixed sleep.
#[track_caller]
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not seen within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free TCP port on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    held_port().1
}

/// A listener on a free port of 127.0.0.1, held by this process until dropped.
pub fn held_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// The permission bits of a file.
pub fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `git ARGS` in `dir` with a throwaway identity, returning stdout; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.email=dev@example.com", "-c", "user.name=dev"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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

/// Whether a Docker object (container, volume, image) exists.
pub fn docker_has(kind: &str, name: &str) -> bool {
    has_program("docker", &[kind, "inspect", name])
}

/// Runs a future of the library to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A test project whose apps are stopped when it is dropped, even after a failed assertion
/// (before its containers, volumes and directory go).
pub struct WithApps(pub TestProject);

impl std::ops::Deref for WithApps {
    type Target = TestProject;
    fn deref(&self) -> &TestProject {
        &self.0
    }
}

impl Drop for WithApps {
    fn drop(&mut self) {
        let _ = block_on(devenv::apps::stop_all(
            self.0.root(),
            Duration::from_secs(10),
        ));
    }
}

/// Runs docker-compose 1.29's `config -q` on the project's generated docker-compose.yml (its
/// `name:` line left out: 1.29 predates it) with `.env.example`; returns (exit code, stderr).
pub fn compose_config_check(project: &TestProject) -> (i32, String) {
    let compose: String = project
        .read("docker-compose.yml")
        .lines()
        .filter(|l| !l.starts_with("name:"))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write("compose-1.29.yml", &compose);
    let (code, _, err) = output(
        assert_cmd::Command::new("docker-compose")
            .current_dir(project.root())
            .args(["-f", "compose-1.29.yml", "--env-file", ".env.example"])
            .args(["config", "-q"]),
    );
    (code, err)
}
