//! Whether a test's prerequisites (a Docker Engine, the fixture images, a tool) are there, and
//! what happens when one is not: the test fails, unless `DEVENV_SKIP_DOCKER_TESTS=1` allows
//! skipping it, which `CI=true` never does. Every skipped test is listed on stderr after
//! `cargo test`'s summary line, so a run that skipped tests never passes for one that ran them.

use std::io::Write;
use std::sync::{Mutex, Once, OnceLock, PoisonError};

/// The variable that lets tests whose prerequisites are missing be skipped instead of failing.
pub const SKIP_VARIABLE: &str = "DEVENV_SKIP_DOCKER_TESTS";

/// True when running under CI, where skipping is not allowed.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// True when `available`. Otherwise the test fails, or, with `DEVENV_SKIP_DOCKER_TESTS=1`
/// outside CI, is recorded as skipped (the caller then returns without asserting anything).
pub fn require(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    if in_ci() {
        panic!("{what} is required under CI=true but is not available");
    }
    if std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1") {
        record_skip(what);
        return false;
    }
    panic!(
        "{what} is not available: provide it, or set {SKIP_VARIABLE}=1 to skip the tests that \
         need it (they are listed as skipped after the summary)"
    );
}

/// Whether a program runs (`program ARGS` exits 0).
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

/// Whether the Docker Engine answers and the fixture images exist (asked once per run); see
/// `require` for what happens when they do not.
pub fn docker_ready() -> bool {
    static MISSING: OnceLock<Option<&'static str>> = OnceLock::new();
    let missing = *MISSING.get_or_init(|| {
        if !has_program("docker", &["info"]) {
            return Some("a Docker Engine (`docker info`)");
        }
        let images = FIXTURES
            .iter()
            .all(|(_, fixture)| has_program("docker", &["image", "inspect", fixture]));
        (!images).then_some("the fixture images (run tests/images/build.sh)")
    });
    missing.is_none_or(|what| require(what, false))
}

static SKIPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static REPORT_AT_EXIT: Once = Once::new();

/// Notes the current test (libtest names its thread after it) as skipped.
fn record_skip(what: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_string();
    SKIPPED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(format!("{test}: {what} is not available"));
    REPORT_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function with no arguments; it runs once at exit.
        unsafe { libc::atexit(report_skips) };
    });
}

/// Lists the skipped tests after libtest's summary. It writes to the process's stderr, which
/// libtest does not capture (it captures only the print macros inside test threads).
extern "C" fn report_skips() {
    let mut skipped = SKIPPED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    skipped.sort();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "\nSKIPPED: {} test(s) ran no assertion ({SKIP_VARIABLE}=1):",
        skipped.len()
    );
    for line in &skipped {
        let _ = writeln!(stderr, "    {line}");
    }
}
