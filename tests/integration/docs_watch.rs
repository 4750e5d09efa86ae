//! `devenv docs` (the onboarding guide) and `devenv watch` (the running stack follows edits).

use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn docs_cover_the_stack_and_check_detects_drift() {
    let project = TestProject::new(SHOP);
    let (code, _, err) = output(&mut project.devenv(&["docs"]));
    assert_eq!(code, 0, "{err}");
    let guide = project.read("docs/local-development.md");
    for needle in [
        "<!-- devenv-hash: sha256:",
        "| `db` | `postgres:16` |",
        "| `cache` | `redis:7` |",
        "`DB_PORT`",
        "`CACHE_PORT`",
        "| `DB_PASSWORD` |",
        "| `DATABASE_URL` |",
        "## 1. Prerequisites",
        "## 4. First run",
        "## 5. Database",
        "## 6. Running tests",
        "## 7. Daily workflow",
        "## 8. Troubleshooting",
        "devenv doctor",
        "```mermaid",
    ] {
        assert!(guide.contains(needle), "missing `{needle}`");
    }
    assert!(
        !guide.contains(&project.name)
            || guide.contains(&format!("# Local development: {}", project.name))
    );
    let (code, _, err) = output(&mut project.devenv(&["docs", "--check"]));
    assert_eq!(code, 0, "{err}");
    project.write(
        "devenv.toml",
        &project
            .read("devenv.toml")
            .replace("image = \"redis:7\"", "image = \"redis:7.2\""),
    );
    let (code, out, err) = output(&mut project.devenv(&["docs", "--check"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("\n-| `cache` | `redis:7` |") && out.contains("\n+| `cache` | `redis:7.2` |"),
        "a unified diff: {out}"
    );
    assert!(out.contains("fix: run `devenv docs`"), "{out}");
    assert!(
        !err.contains("error:"),
        "no error line after the diff: {err}"
    );
}

#[test]
fn docs_check_shows_a_unified_diff_of_an_edited_line() {
    let project = TestProject::new(SHOP);
    let (code, _, err) = output(&mut project.devenv(&["docs"]));
    assert_eq!(code, 0, "{err}");
    let guide = project.read("docs/local-development.md");
    project.write(
        "docs/local-development.md",
        &guide.replace("## 7. Daily workflow", "## 7. Our workflow"),
    );
    let (code, out, err) = output(&mut project.devenv(&["docs", "--check"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("-## 7. Our workflow\n+## 7. Daily workflow\n"),
        "the edited line, then what devenv would write: {out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let hunk = lines
        .iter()
        .position(|l| l.starts_with("@@ "))
        .unwrap_or_else(|| panic!("a hunk header: {out}"));
    let removed = lines
        .iter()
        .position(|l| *l == "-## 7. Our workflow")
        .unwrap();
    assert!(
        lines[hunk + 1..removed].iter().all(|l| l.starts_with(' ')),
        "context before the change: {out}"
    );
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("✗ ") && l.ends_with("differs from what devenv.toml generates"))
        .unwrap_or_else(|| panic!("the verdict after the diff: {out}"));
    assert!(verdict <= 20, "a short diff: {out}");
    assert!(
        !err.contains("error:"),
        "no error line after the report: {err}"
    );
}

#[test]
fn custom_sections_survive_regeneration_and_other_edits_are_kept() {
    let project = TestProject::new(SHOP);
    output(&mut project.devenv(&["docs", "--output", "ONBOARDING.md"]));
    let guide = project.read("ONBOARDING.md");
    let mine = guide.replace(
        "_Team-specific troubleshooting goes here; `devenv docs` keeps this section._",
        "Ask in #dev-help; the VPN must be on for the staging seed.",
    );
    project.write("ONBOARDING.md", &mine);
    project.write(
        "devenv.toml",
        &project
            .read("devenv.toml")
            .replace("image = \"redis:7\"", "image = \"redis:7.2\""),
    );
    let (code, _, err) = output(&mut project.devenv(&["docs", "--output", "ONBOARDING.md"]));
    assert_eq!(code, 0, "custom sections are not edits: {err}");
    let regenerated = project.read("ONBOARDING.md");
    assert!(
        regenerated.contains("Ask in #dev-help; the VPN must be on"),
        "custom text kept"
    );
    assert!(regenerated.contains("`redis:7.2`"), "the rest regenerated");
    let edited = regenerated.replace("## 7. Daily workflow", "## 7. Our workflow");
    project.write("ONBOARDING.md", &edited);
    let (code, _, err) = output(&mut project.devenv(&["docs", "--output", "ONBOARDING.md"]));
    assert_eq!(code, 1);
    assert_mentions(
        &err,
        &["edited outside its devenv:custom sections", "--force"],
    );
    assert_eq!(
        project.read("ONBOARDING.md"),
        edited,
        "the edit was not lost"
    );
}

/// A running `devenv watch` whose output is collected in files.
struct Watcher {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Watcher {
    fn start(project: &TestProject) -> Self {
        Self::start_with(project, &["watch"])
    }

    fn start_with(project: &TestProject, args: &[&str]) -> Self {
        let log = project.path("watch.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = project.devenv_process(args);
        let child = cmd
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let watcher = Self { child, log };
        watcher.wait_for("watching devenv.toml", Duration::from_secs(90));
        watcher
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < limit,
                "`{needle}` did not appear in:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) -> (i32, String) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), self.text())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_applies_migrations_recreates_one_service_and_survives_bad_edits() {
    let Some(project) = shop() else { return };
    std::fs::create_dir_all(project.path("migrations")).unwrap();
    let watcher = Watcher::start(&project);
    let (db, cache) = (project.container_id("db"), project.container_id("cache"));

    project.write("migrations/0001_live.sql", "CREATE TABLE live (id INT);\n");
    watcher.wait_for("applied migrations/0001_live.sql", Duration::from_secs(30));
    assert_eq!(project.psql("select count(*) from live"), "0");

    project.write(
        "devenv.toml",
        &project.read("devenv.toml").replace(
            "image = \"redis:7\"",
            "image = \"redis:7\"\nenv = { MARK = \"1\" }",
        ),
    );
    watcher.wait_for(
        "devenv.toml changed: recreate cache",
        Duration::from_secs(60),
    );
    assert_eq!(project.container_id("db"), db, "db untouched");
    assert_ne!(project.container_id("cache"), cache, "cache recreated");
    let cache = project.container_id("cache");

    let good = project.read("devenv.toml");
    project.write("devenv.toml", &format!("{good}\nbroken = [\n"));
    watcher.wait_for("the stack is left as it was", Duration::from_secs(30));
    assert_eq!(
        (project.container_id("db"), project.container_id("cache")),
        (db.clone(), cache.clone()),
        "an invalid edit touches nothing"
    );

    let (code, text) = watcher.stop();
    assert_eq!(code, 0, "Ctrl-C ends the watch cleanly:\n{text}");
    assert_mentions(&text, &["keeps running"]);
    assert_eq!(
        project.container_id("db"),
        db,
        "the stack keeps running after the watch"
    );
}

#[test]
fn up_watch_follows_stack_edits_and_watch_down_on_exit_stops_the_stack() {
    if !docker_ready() {
        return;
    }
    let stack =
        "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n";
    let project = TestProject::engine(stack, &["CACHE_PORT"]);
    let watcher = Watcher::start_with(&project, &["up", "--watch"]);
    let cache = project.container_id("cache");
    project.write(
        "devenv.toml",
        &project.read("devenv.toml").replace(
            "image = \"redis:7\"",
            "image = \"redis:7\"\nenv = { MARK = \"1\" }",
        ),
    );
    watcher.wait_for(
        "devenv.toml changed: recreate cache",
        Duration::from_secs(60),
    );
    assert_ne!(project.container_id("cache"), cache, "cache recreated");
    let (code, text) = watcher.stop();
    assert_eq!(code, 0, "Ctrl-C ends `up --watch` cleanly:\n{text}");
    assert!(text.contains("keeps running"), "{text}");

    let watcher = Watcher::start_with(&project, &["watch", "--down-on-exit"]);
    let (code, text) = watcher.stop();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("(volumes kept)"), "{text}");
    let left = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
    ]);
    assert!(left.is_empty(), "--down-on-exit stops the stack: {left}");
}
