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

mod supervisor {
    //! The supervisor core on real process trees (no Docker needed).

    use crate::support::*;
    use devenv::apps::{self, AppState, Launch, Stale, Stopped, proc};
    use std::time::Duration;

    /// Kills what is left of an app's session when dropped, so that a failed assertion leaves
    /// no process behind.
    struct GroupGuard(i32);

    impl Drop for GroupGuard {
        fn drop(&mut self) {
            for (pid, _) in proc::session_members(self.0) {
                // SAFETY: kill(2) on a process of the session this test created.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn launch(root: &std::path::Path, app: &str, script: &str) -> Launch {
        Launch {
            app: app.into(),
            argv: vec!["sh".into(), "-c".into(), script.into()],
            cwd: root.to_path_buf(),
            env: [("GREETING".to_string(), "hello from devenv".to_string())].into(),
            port: Some(8080),
            fingerprint: String::new(),
        }
    }

    /// The live processes of the app's session, once there are at least `count`.
    fn wait_for_tree(state: &AppState, count: usize) -> Vec<i32> {
        let mut members = Vec::new();
        wait_until("the app's process tree", Duration::from_secs(10), || {
            members = proc::session_members(state.pid)
                .into_iter()
                .map(|(pid, _)| pid)
                .collect();
            members.len() >= count
        });
        members
    }

    #[test]
    fn stopping_an_app_leaves_no_process_of_its_tree() {
        let dir = tempfile::tempdir().unwrap();
        let script = "echo \"$GREETING\"; sleep 300 & sh -c 'sleep 300 & sleep 300 & wait' & wait";
        runtime().block_on(async {
            let app = apps::spawn(dir.path(), &launch(dir.path(), "api", script)).unwrap();
            let _guard = GroupGuard(app.pid());
            // sh, sleep, the inner sh (a child) and its two sleeps (grandchildren).
            let tree = wait_for_tree(&app.state, 5);
            assert!(tree.contains(&app.pid()));
            let recorded = apps::state::read(dir.path(), "api").unwrap().unwrap();
            assert_eq!(recorded, app.state);
            assert_eq!(recorded.port, Some(8080));
            assert_eq!(app.stop(Duration::from_secs(10)).await, Stopped::Terminated);
            let alive: Vec<i32> = tree
                .into_iter()
                .filter(|pid| proc::is_running(*pid))
                .collect();
            assert_eq!(alive, [] as [i32; 0], "processes of the tree still alive");
        });
        let log = std::fs::read_to_string(apps::log_path(dir.path(), "api")).unwrap();
        assert_eq!(log, "hello from devenv\n");
    }

    #[test]
    fn a_tree_that_ignores_sigterm_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let script = "trap '' TERM; sleep 300 & sleep 300 & wait";
        runtime().block_on(async {
            let app = apps::spawn(dir.path(), &launch(dir.path(), "worker", script)).unwrap();
            let _guard = GroupGuard(app.pid());
            let tree = wait_for_tree(&app.state, 3);
            assert_eq!(app.stop(Duration::from_millis(300)).await, Stopped::Killed);
            assert!(tree.iter().all(|pid| !proc::is_running(*pid)));
        });
    }

    #[test]
    fn what_a_dead_leader_left_in_its_session_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let mut app = apps::spawn(
                dir.path(),
                &launch(dir.path(), "api", "sleep 300 & sleep 300 & wait"),
            )
            .unwrap();
            let _guard = GroupGuard(app.pid());
            let tree = wait_for_tree(&app.state, 3);
            // SAFETY: kill(2) on the leader this test started.
            unsafe { libc::kill(app.pid(), libc::SIGKILL) };
            app.wait().await.unwrap();
            let state = app.state.clone();
            assert_eq!(state.liveness(), devenv::apps::Liveness::Stale(Stale::Gone));
            assert_eq!(
                apps::stop_tree(&state, Duration::from_secs(10)).await,
                Stopped::OrphansStopped
            );
            assert!(tree.iter().all(|pid| !proc::is_running(*pid)));
            assert_eq!(
                apps::stop_tree(&state, Duration::from_secs(10)).await,
                Stopped::AlreadyGone
            );
        });
    }

    #[test]
    fn a_stale_state_whose_pid_is_another_program_kills_nothing() {
        let mut stranger = KillOnDrop::spawn(std::process::Command::new("sleep").arg("300"));
        let pid = stranger.0.id() as i32;
        let real = proc::stat(pid).unwrap();
        // What a crashed devenv left: the pid, but the start time of the app it had started.
        let state = AppState {
            app: "api".into(),
            pid,
            start_time: real.start_time.saturating_sub(1),
            boot_id: proc::boot_id().unwrap(),
            port: None,
            restarts: 2,
            last_exit_code: Some(1),
            supervisor: None,
            fingerprint: String::new(),
            watch_problem: None,
        };
        let stopped = runtime().block_on(apps::stop_tree(&state, Duration::from_millis(300)));
        assert_eq!(
            stopped,
            Stopped::Stale(Stale::PidReused {
                start_time: real.start_time
            })
        );
        assert!(proc::is_running(pid), "the stranger was signalled");
        assert!(
            stranger.0.try_wait().unwrap().is_none(),
            "the stranger exited"
        );
        let rebooted = AppState {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            start_time: real.start_time,
            ..state
        };
        let stopped = runtime().block_on(apps::stop_tree(&rebooted, Duration::from_millis(300)));
        assert_eq!(stopped, Stopped::Stale(Stale::Rebooted));
        assert!(
            stranger.0.try_wait().unwrap().is_none(),
            "the stranger exited"
        );
    }
}

mod supervised {
    //! The supervisor process (`devenv supervise APP`, as `up` starts it) on real processes.

    use crate::support::*;
    use devenv::apps::{self, AppState, Stopped, proc};
    use std::path::Path;
    use std::time::Duration;

    /// A project with one app, whose supervisor is started detached and stopped on drop.
    struct Supervised {
        project: TestProject,
        app: &'static str,
    }

    impl Supervised {
        fn start(app: &'static str, table: &str) -> Self {
            let project = TestProject::new(&format!("[project]\nname = \"{{name}}\"\n{table}"));
            apps::start_detached(
                Path::new(env!("CARGO_BIN_EXE_devenv")),
                &project.path("devenv.toml"),
                app,
            )
            .unwrap();
            Self { project, app }
        }

        fn state(&self) -> Option<AppState> {
            apps::state::read(self.project.root(), self.app).unwrap()
        }

        fn log(&self) -> String {
            std::fs::read_to_string(apps::log_path(self.project.root(), self.app))
                .unwrap_or_default()
        }

        fn stop(&self) -> Option<apps::AppStopped> {
            runtime()
                .block_on(apps::stop_app(
                    self.project.root(),
                    self.app,
                    Duration::from_secs(10),
                ))
                .unwrap()
        }
    }

    impl Drop for Supervised {
        fn drop(&mut self) {
            let _ = self.stop();
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_crashing_app_is_restarted_with_backoff_and_counted() {
        let app = Supervised::start(
            "crasher",
            "[apps.crasher]\ncommand = \"echo started; exit 3\"\n",
        );
        let mut state = None;
        wait_until("two restarts", Duration::from_secs(30), || {
            state = app.state();
            state.as_ref().is_some_and(|s| s.restarts >= 2)
        });
        let state = state.unwrap();
        assert_eq!(state.last_exit_code, Some(3));
        let supervisor = state.supervisor.expect("the supervisor is recorded");
        assert!(supervisor.is_alive());
        let log = app.log();
        assert!(log.matches("started\n").count() >= 3, "{log}");
        assert_mentions(
            &log,
            &[
                "[devenv] crasher: exited with code 3; restarting in 500ms",
                "[devenv] crasher: exited with code 3; restarting in 1s",
            ],
        );
        let stopped = app.stop().expect("a state was recorded");
        assert!(stopped.supervisor_stopped);
        assert!(!supervisor.is_alive(), "the supervisor outlived down");
        assert_eq!(app.state(), None, "the state file is removed");
    }

    #[test]
    fn stopping_a_supervised_app_stops_the_supervisor_and_the_whole_tree() {
        let app = Supervised::start(
            "api",
            "[apps.api]\ncommand = \"sleep 300 & sh -c 'sleep 300 & wait' & wait\"\nrestart = \"always\"\n",
        );
        let mut tree = Vec::new();
        wait_until("the app's tree", Duration::from_secs(20), || {
            tree = app
                .state()
                .map(|s| {
                    proc::session_members(s.pid)
                        .into_iter()
                        .map(|(pid, _)| pid)
                        .collect()
                })
                .unwrap_or_default();
            tree.len() >= 4
        });
        let supervisor = app.state().unwrap().supervisor.unwrap();
        let stopped = app.stop().unwrap();
        assert!(stopped.supervisor_stopped);
        assert_eq!(
            stopped.tree,
            Stopped::AlreadyGone,
            "the supervisor stopped it"
        );
        assert!(!supervisor.is_alive());
        let alive: Vec<i32> = tree
            .into_iter()
            .filter(|pid| proc::is_running(*pid))
            .collect();
        assert_eq!(alive, [] as [i32; 0], "processes of the tree still alive");
        assert_mentions(&app.log(), &["[devenv] api: stopped: exited after SIGTERM"]);
    }

    #[test]
    fn an_app_that_must_not_restart_ends_its_supervisor() {
        let app = Supervised::start(
            "once",
            "[apps.once]\ncommand = \"exit 4\"\nrestart = \"never\"\n",
        );
        wait_until("the supervisor's note", Duration::from_secs(20), || {
            app.log()
                .contains("[devenv] once: exited with code 4; not restarted (restart = \"never\")")
        });
        let state = app.state().unwrap();
        assert_eq!((state.restarts, state.last_exit_code), (0, Some(4)));
        let supervisor = state.supervisor.unwrap();
        wait_until("the supervisor exits", Duration::from_secs(10), || {
            !supervisor.is_alive()
        });
    }
}

mod with_the_stack {
    //! `up` starting apps after the services, migrations and seeds; `down` stopping them
    //! first (real engine, real processes).

    use crate::support::*;
    use devenv::apps::{self, proc};
    use std::time::Duration;

    const API: &str = r#"
[apps.api]
command = "psql \"$$DATABASE_URL\" -tAc 'select count(*) from products' > first_query.txt 2>&1; exec python3 -m http.server --bind 127.0.0.1 \"$$PORT\""
port = 8080
depends_on = ["db"]
health = { http = "/" }
env_file = { path = "web/.env.local", vars = { VITE_API_URL = "http://127.0.0.1:${API_PORT}" } }
"#;

    fn shop_with(app: &str) -> Option<WithApps> {
        if !require("psql", has_program("psql", &["--version"]))
            || !require("python3", has_program("python3", &["--version"]))
        {
            return None;
        }
        let project = engine_project(
            &format!("{SHOP}{app}"),
            &["DB_PORT", "CACHE_PORT", "API_PORT"],
        )?;
        project.write(
            "migrations/0001_products.sql",
            "CREATE TABLE products (id int);\n",
        );
        project.write(
            "seeds/01_products.sql",
            "INSERT INTO products VALUES (1), (2);\n",
        );
        Some(WithApps(project))
    }

    #[test]
    fn up_starts_an_app_after_migrations_and_seeds_and_down_stops_its_tree() {
        let Some(project) = shop_with(API) else {
            return;
        };
        let (_, err) = project.up_ok(&[]);
        assert_mentions(&err, &["app `api` running (pid"]);
        assert_eq!(
            project.read("first_query.txt").trim(),
            "2",
            "the app's first query sees the seeded table"
        );
        let state = apps::state::read(project.root(), "api").unwrap().unwrap();
        let port = project.env_value("API_PORT");
        assert_eq!(state.port, Some(port.parse().unwrap()));
        assert!(
            project
                .read("web/.env.local")
                .ends_with(&format!("VITE_API_URL=http://127.0.0.1:{port}\n")),
            "the env file is written with the app's port"
        );
        let supervisor = state.supervisor.unwrap();
        let tree: Vec<i32> = proc::session_members(state.pid)
            .into_iter()
            .map(|(pid, _)| pid)
            .collect();
        assert!(!tree.is_empty());
        let mut status = String::new();
        wait_until("status exits 0", Duration::from_secs(60), || {
            let (code, out, _) = output(&mut project.devenv(&["status"]));
            status = out;
            code == 0
        });
        let row = status
            .lines()
            .find(|l| l.starts_with("api "))
            .unwrap_or_default();
        assert_mentions(
            row,
            &["running", &state.pid.to_string(), "http://127.0.0.1:"],
        );
        let (json, _) = project.run_ok(&["status", "--json"]);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["apps"][0]["state"], "running");
        assert_eq!(json["apps"][0]["restarts"], 0);
        let (_, again) = project.up_ok(&[]);
        assert_mentions(
            &again,
            &[&format!("app `api` already running (pid {})", state.pid)],
        );
        let (_, down) = project.run_ok(&["down"]);
        assert_mentions(&down, &["stopped apps: api"]);
        assert!(!supervisor.is_alive(), "the supervisor outlived down");
        let alive: Vec<i32> = tree
            .into_iter()
            .filter(|pid| proc::is_running(*pid))
            .collect();
        assert_eq!(alive, [] as [i32; 0], "processes of the app still alive");
        assert!(apps::state::recorded(project.root()).is_empty());
    }

    #[test]
    fn an_app_that_crashes_during_up_fails_it_with_its_code_and_log() {
        let app = "\n[apps.api]\ncommand = \"echo cannot bind; exit 3\"\nport = 8080\n";
        let Some(project) = shop_with(app) else {
            return;
        };
        let err = project.fails(&["up"]);
        assert_mentions(
            &err,
            &["app `api` exited with code 3 while starting", "cannot bind"],
        );
        assert!(
            apps::state::recorded(project.root()).is_empty(),
            "its supervisor is stopped"
        );
        project.run_ok(&["down"]);
    }

    #[test]
    fn an_app_its_supervisor_cannot_start_fails_up_with_the_reason() {
        // The program hides behind a variable, so only starting it finds it missing.
        let app = "\n[apps.api]\ncommand = [\"${API_BIN}\"]\n[env.API_BIN]\nvalue = \"/nonexistent/api\"\n";
        let Some(project) = shop_with(app) else {
            return;
        };
        let err = project.fails(&["up"]);
        assert_mentions(
            &err,
            &[
                "app `api` could not be started by its supervisor",
                "cannot start app `api` (`/nonexistent/api`)",
            ],
        );
        project.run_ok(&["down"]);
    }

    #[test]
    fn setup_runs_before_the_first_start_and_again_only_after_the_lockfile_changed() {
        let app = "\n[apps.worker]\ncommand = \"exec sleep 300\"\nsetup = { command = \"echo setup-ran >> setup_runs.txt; echo setup done\", inputs = [\"Cargo.lock\"] }\n";
        let Some(project) = shop_with(app) else {
            return;
        };
        project.write("Cargo.lock", "version = 1\n");
        let runs = || project.read("setup_runs.txt").lines().count();
        let (_, err) = project.up_ok(&[]);
        assert_mentions(&err, &["worker setup | setup done", "app `worker` running"]);
        assert_eq!(runs(), 1);
        project.run_ok(&["down"]);
        project.up_ok(&[]);
        assert_eq!(runs(), 1, "inputs unchanged: no second run");
        project.run_ok(&["down"]);
        project.write("Cargo.lock", "version = 2\n");
        project.up_ok(&["--no-setup"]);
        assert_eq!(runs(), 1, "--no-setup skips it");
        project.run_ok(&["down"]);
        project.up_ok(&[]);
        assert_eq!(runs(), 2, "the lockfile changed");
        project.run_ok(&["down"]);
    }
}
