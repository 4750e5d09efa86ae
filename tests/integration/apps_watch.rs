//! Apps followed while they run: a watched file's change restarts the app under its
//! supervisor (after the setup when an input changed), `logs APP -f` follows it across
//! restarts and rotation, `up --attach` multiplexes the apps' output until Ctrl-C. Real
//! processes and files; only `up` needs the Docker Engine.

use crate::support::*;
use devenv::apps::{self, AppState, proc};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a watched change may take to restart its app.
const RESTART_BUDGET: Duration = Duration::from_secs(1);

/// A project with one supervised app, stopped (supervisor and tree) when dropped, even
/// after a failed assertion.
struct Supervised {
    project: TestProject,
    app: &'static str,
}

impl Supervised {
    /// Writes `files` into a project with `table`, then starts `app`'s supervisor and waits
    /// until the app runs.
    fn start(app: &'static str, table: &str, files: &[(&str, &str)]) -> Self {
        Self::start_with(app, table, files, |project| {
            apps::start_detached(
                Path::new(env!("CARGO_BIN_EXE_devenv")),
                &project.path("devenv.toml"),
                app,
            )
            .unwrap();
        })
    }

    /// [`Supervised::start`], with the supervisor started by `launch`.
    fn start_with(
        app: &'static str,
        table: &str,
        files: &[(&str, &str)],
        launch: impl FnOnce(&TestProject),
    ) -> Self {
        let project = TestProject::new(&format!("[project]\nname = \"{{name}}\"\n{table}"));
        for (path, text) in files {
            project.write(path, text);
        }
        launch(&project);
        let supervised = Self { project, app };
        wait_until("the app runs", Duration::from_secs(20), || {
            supervised
                .state()
                .is_some_and(|s| s.liveness() == apps::Liveness::Running)
        });
        supervised
    }

    fn state(&self) -> Option<AppState> {
        apps::state::read(self.project.root(), self.app).unwrap()
    }

    fn pid(&self) -> i32 {
        self.state().expect("a state").pid
    }

    fn log(&self) -> String {
        std::fs::read_to_string(apps::log_path(self.project.root(), self.app)).unwrap_or_default()
    }

    /// Writes `path` and returns how long the app took to run under a new pid.
    fn restart_by_writing(&self, path: &str, text: &str) -> Duration {
        let before = self.pid();
        let written = Instant::now();
        self.project.write(path, text);
        loop {
            let now = self
                .state()
                .filter(|s| s.liveness() == apps::Liveness::Running);
            if now.is_some_and(|s| s.pid != before) {
                return written.elapsed();
            }
            assert!(
                written.elapsed() < Duration::from_secs(20),
                "no restart after writing {path}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = runtime.block_on(apps::stop_app(
            self.project.root(),
            self.app,
            Duration::from_secs(10),
        ));
    }
}

#[test]
fn a_watched_change_restarts_the_app_within_a_second_and_an_ignored_one_does_not() {
    let app = Supervised::start(
        "api",
        "[apps.api]\ncommand = \"echo \\\"run $$$$\\\"; sleep 300 & wait\"\nwatch = { paths = [\"src\"], ignore = [\"*.tmp\", \"src/gen/**\"] }\n",
        &[
            ("src/main.rs", "fn main() {}\n"),
            ("src/node_modules/dep/index.js", "1\n"),
            ("src/gen/schema.rs", "1\n"),
        ],
    );
    let first = app.state().unwrap();
    let mut old_tree = Vec::new();
    wait_until("the app's sh and sleep", Duration::from_secs(20), || {
        old_tree = proc::session_members(first.pid)
            .into_iter()
            .map(|(pid, _)| pid)
            .collect();
        old_tree.len() >= 2
    });
    for ignored in [
        "src/node_modules/dep/index.js",
        "src/gen/schema.rs",
        "src/scratch.tmp",
        "src/.main.rs.swp",
        "README.md",
    ] {
        app.project.write(ignored, "2\n");
    }
    // No event can be awaited for a change that must not happen: the budget a restart has
    // is the window in which it would have shown.
    std::thread::sleep(RESTART_BUDGET + Duration::from_millis(200));
    assert_eq!(app.pid(), first.pid, "an ignored change restarted the app");
    let took = app.restart_by_writing("src/main.rs", "fn main() { println!(); }\n");
    eprintln!("watched change to new pid: {took:?}");
    assert!(took < RESTART_BUDGET, "the restart took {took:?}");
    let took = app.restart_by_writing("src/new_module.rs", "\n");
    eprintln!("new file to new pid: {took:?}");
    assert!(took < RESTART_BUDGET, "the restart took {took:?}");
    assert!(
        old_tree.iter().all(|pid| !proc::is_running(*pid)),
        "the first run's tree outlived its restart"
    );
    // The new pid is recorded as soon as it runs; its first line follows.
    wait_until("the third run's line", Duration::from_secs(20), || {
        app.log().matches("run ").count() == 3
    });
    let log = app.log();
    assert_mentions(
        &log,
        &[
            "[devenv] api: src/main.rs changed; restarting",
            "[devenv] api: src/new_module.rs changed; restarting",
        ],
    );
    assert!(
        !log.contains("node_modules") && !log.contains("schema.rs"),
        "{log}"
    );
    assert_eq!(
        app.state().unwrap().restarts,
        0,
        "a watched change is no crash"
    );
}

#[test]
fn a_changed_setup_input_reruns_the_setup_before_the_restart() {
    let app = Supervised::start(
        "api",
        "[apps.api]\ncommand = \"echo start >> events.txt; exec sleep 300\"\nsetup = { command = \"if grep -q broken Cargo.lock; then echo bad lockfile; exit 3; fi; echo setup >> events.txt; echo installing\", inputs = [\"Cargo.lock\"] }\nwatch = { paths = [\"src\"] }\n",
        &[("src/main.rs", "\n"), ("Cargo.lock", "v1\n")],
    );
    // The pid is recorded as soon as the app runs; its line in events.txt follows.
    let events_become = |expected: &str| {
        wait_until(expected, Duration::from_secs(20), || {
            std::fs::read_to_string(app.project.path("events.txt")).unwrap_or_default() == expected
        });
    };
    events_become("start\n");
    let took = app.restart_by_writing("Cargo.lock", "v2\n");
    eprintln!("setup input change to new pid: {took:?}");
    // Setup first, then the restart.
    events_become("start\nsetup\nstart\n");
    app.restart_by_writing("src/main.rs", "fn main() {}\n");
    // No setup for a source file.
    events_become("start\nsetup\nstart\nstart\n");
    // A failing setup leaves the running app alone.
    let running = app.pid();
    app.project.write("Cargo.lock", "broken\n");
    wait_until("the failed setup's note", Duration::from_secs(20), || {
        app.log().contains("setup failed, the app is left as it is")
    });
    assert_eq!(app.pid(), running);
    assert_mentions(&app.log(), &["[devenv] api setup | bad lockfile"]);
    assert_mentions(
        &app.log(),
        &[
            "[devenv] api: Cargo.lock changed; running setup",
            "[devenv] api setup | installing",
            "[devenv] api: Cargo.lock changed; restarting",
        ],
    );
}

#[test]
fn an_app_its_policy_left_stopped_starts_again_on_a_change() {
    let app = Supervised::start(
        "job",
        "[apps.job]\ncommand = \"echo ran >> runs.txt; sleep 0.2\"\nrestart = \"never\"\nwatch = { paths = [\"src\"] }\n",
        &[("src/job.sh", "\n")],
    );
    wait_until("the job exits", Duration::from_secs(20), || {
        app.log().contains("waiting for a change")
    });
    app.project.write("src/job.sh", "echo\n");
    wait_until("a second run", Duration::from_secs(20), || {
        app.project.read("runs.txt").lines().count() == 2
    });
    let supervisor = app.state().unwrap().supervisor.unwrap();
    assert!(supervisor.is_alive(), "the supervisor keeps waiting");
}

/// Lines a child writes on stdout, collected by a thread.
fn collect_stdout(child: &mut std::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

#[test]
fn logs_follow_an_app_across_a_restart_and_the_log_rotation() {
    let app = Supervised::start(
        "api",
        "[apps.api]\ncommand = \"echo \\\"run $$$$\\\"; exec sleep 300\"\nwatch = { paths = [\"src\"] }\n",
        &[("src/main.rs", "\n")],
    );
    let first = app.pid();
    // A log past the cap: the restart moves it to api.log.1 and starts a new one.
    let log = apps::log_path(app.project.root(), "api");
    let mut padding = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    padding.set_len(apps::spawn::LOG_CAP + 1).unwrap();
    padding.write_all(b"\nlast before\n").unwrap();
    let mut logs = KillOnDrop(
        app.project
            .devenv_process(&["logs", "api", "-f", "--tail", "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = collect_stdout(&mut logs.0);
    wait_until("the tail", Duration::from_secs(20), || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l == "api | last before")
    });
    app.restart_by_writing("src/main.rs", "fn main() {}\n");
    let second = app.pid();
    assert!(
        app.project.path(".devenv/logs/api.log.1").exists(),
        "the log was rotated"
    );
    let expected = format!("api | run {second}");
    let mut seen = Vec::new();
    wait_until("the second run's line", Duration::from_secs(20), || {
        seen = lines.lock().unwrap().clone();
        seen.contains(&expected)
    });
    assert_eq!(seen[0], "api | last before", "{seen:?}");
    assert!(seen.iter().all(|l| l.starts_with("api | ")), "{seen:?}");
    assert!(
        !seen.contains(&format!("api | run {first}")),
        "only the tail: {seen:?}"
    );
    assert!(
        seen.contains(&"api | [devenv] api: src/main.rs changed; restarting".to_string()),
        "{seen:?}"
    );
}

/// Stops every app of a project when dropped (after the attached devenv, declared later, is
/// killed), even after a failed assertion.
struct StopApps<'a>(&'a TestProject);

impl Drop for StopApps<'_> {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = runtime.block_on(apps::stop_all(self.0.root(), Duration::from_secs(10)));
    }
}

#[test]
fn up_attach_shows_every_app_prefixed_and_ctrl_c_stops_their_whole_trees() {
    if !require(
        "a Docker Engine (`docker info`)",
        has_program("docker", &["info"]),
    ) {
        return;
    }
    let project = TestProject::new(
        "[project]\nname = \"{name}\"\n[apps.api]\ncommand = \"echo hello from api; sh -c 'sleep 1000 & wait' & wait\"\n[apps.worker]\ncommand = \"echo hello from worker; exec sleep 1000\"\n",
    );
    let _stop = StopApps(&project);
    let mut attached = KillOnDrop(
        project
            .devenv_process(&["dev"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = collect_stdout(&mut attached.0);
    wait_until("both apps' first lines", Duration::from_secs(60), || {
        let seen = lines.lock().unwrap();
        seen.contains(&"api    | hello from api".to_string())
            && seen.contains(&"worker | hello from worker".to_string())
    });
    let states: Vec<AppState> = ["api", "worker"]
        .iter()
        .map(|app| apps::state::read(project.root(), app).unwrap().unwrap())
        .collect();
    let supervisors: Vec<_> = states.iter().map(|s| s.supervisor.unwrap()).collect();
    let mut tree = Vec::new();
    // api's sh, its child sh and grandchild sleep, and the worker.
    wait_until("both trees", Duration::from_secs(20), || {
        tree = states
            .iter()
            .flat_map(|s| proc::session_members(s.pid))
            .map(|(pid, _)| pid)
            .collect();
        tree.len() >= 4
    });
    // SAFETY: kill(2) on the devenv this test started.
    unsafe { libc::kill(attached.0.id() as i32, libc::SIGINT) };
    let status = attached.0.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
    let alive: Vec<i32> = tree
        .into_iter()
        .filter(|pid| proc::is_running(*pid))
        .collect();
    assert_eq!(
        alive,
        [] as [i32; 0],
        "processes of the apps' trees outlived Ctrl-C"
    );
    assert!(
        supervisors.iter().all(|s| !s.is_alive()),
        "a supervisor outlived Ctrl-C"
    );
    assert!(apps::state::recorded(project.root()).is_empty());
    // The reader thread gets the last lines after the exit.
    wait_until(
        "the supervisor's last note",
        Duration::from_secs(10),
        || {
            let seen = lines.lock().unwrap();
            seen.contains(&"api    | [devenv] api: stopped: exited after SIGTERM".to_string())
        },
    );
}

#[test]
fn watch_shows_an_app_restarted_by_a_change() {
    if !require(
        "a Docker Engine (`docker info`)",
        has_program("docker", &["info"]),
    ) {
        return;
    }
    let project = TestProject::new(
        "[project]\nname = \"{name}\"\n[apps.api]\ncommand = \"exec sleep 1000\"\nwatch = { paths = [\"src\"] }\n",
    );
    project.write("src/main.rs", "\n");
    let _stop = StopApps(&project);
    let output = tempfile::NamedTempFile::new().unwrap();
    let mut watching = KillOnDrop(
        project
            .devenv_process(&["watch"])
            .stdout(std::process::Stdio::null())
            .stderr(output.reopen().unwrap())
            .spawn()
            .unwrap(),
    );
    let text = || std::fs::read_to_string(output.path()).unwrap_or_default();
    wait_until("the watch", Duration::from_secs(60), || {
        text().contains("watching devenv.toml")
    });
    project.write("src/main.rs", "fn main() {}\n");
    wait_until("the restart shown", Duration::from_secs(20), || {
        text().contains("↻ app `api`: src/main.rs changed; restarting")
    });
    // SAFETY: kill(2) on the devenv this test started.
    unsafe { libc::kill(watching.0.id() as i32, libc::SIGINT) };
    let status = watching.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", text());
    // The note comes before the restart; the app runs again after it, and keeps running.
    wait_until(
        "the app runs after its restart",
        Duration::from_secs(20),
        || {
            apps::state::read(project.root(), "api")
                .unwrap()
                .is_some_and(|s| s.liveness() == apps::Liveness::Running)
        },
    );
}

#[test]
fn logs_without_names_include_the_apps_and_json_says_which_kind() {
    let app = Supervised::start(
        "api",
        "[apps.api]\ncommand = \"echo serving; exec sleep 300\"\n",
        &[],
    );
    wait_until("the app's first line", Duration::from_secs(20), || {
        app.log().contains("serving")
    });
    let (out, _) = app.project.run_ok(&["logs"]);
    assert_eq!(out, "api | serving\n");
    let (out, _) = app.project.run_ok(&["logs", "api", "--json"]);
    let document: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        document,
        serde_json::json!({"version": 1, "service": "api", "kind": "app", "line": "serving"})
    );
    let err = app.project.fails(&["logs", "apii"]);
    assert_mentions(&err, &["no service or app named `apii`"]);
}

#[test]
fn the_inotify_watch_limit_is_said_in_the_log_and_status() {
    // A user namespace of its own gets its own limit: 3 watches, for 5 directories.
    if !require(
        "user namespaces (`unshare -U -r`)",
        has_program("unshare", &["-U", "-r", "true"]),
    ) {
        return;
    }
    let app = Supervised::start_with(
        "api",
        "[apps.api]\ncommand = \"exec sleep 300\"\nwatch = { paths = [\"src\"] }\n",
        &[("src/a/b/c/d/main.rs", "\n")],
        |project| {
            let script = format!(
                "echo 3 > /proc/sys/user/max_inotify_watches && exec '{}' supervise api",
                env!("CARGO_BIN_EXE_devenv")
            );
            // `setsid -f` detaches it as `up` does; it returns at once.
            let status = std::process::Command::new("setsid")
                .args(["-f", "unshare", "-U", "-r", "sh", "-c", &script])
                .current_dir(project.root())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        },
    );
    wait_until("the problem in the state", Duration::from_secs(20), || {
        app.state().is_some_and(|s| s.watch_problem.is_some())
    });
    assert_mentions(
        &app.log(),
        &["[devenv] api: watch: cannot watch `src/a/b/c`: the inotify watch limit is reached"],
    );
    let stack = devenv::stack::load(&app.project.path("devenv.toml")).unwrap();
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(apps::status(&stack, &devenv::env::Values::default()));
    assert_eq!(
        status[0].state,
        apps::status::AppRunState::Running,
        "the app runs all the same"
    );
    let problem = status[0].watch_problem.as_deref().unwrap_or_default();
    assert_mentions(problem, &["cannot watch `src/a/b/c`", "sudo sysctl"]);
}
