//! The reliability and security suite: faults, bad input and hostile values, each ending in a
//! clear error with nothing lost. Cases are numbered as in the suite's definition; cases 10,
//! 18, 19, 20, 21 and 23 are unit tests beside the code (`case_NN_...`), 24 is
//! `properties.rs`, 13 is `database::postgres_broken_migration_...` (pg_locks checked there).

use crate::support::*;
use std::time::Duration;

const SLOW_SECOND: &str = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n[services.slow]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 300\"]\nhealth = { cmd = [\"false\"] }\ndepends_on = [\"cache\"]\n";

/// Starts `up` in its own process group and stops it with `signal` once `slow` runs (so `up`
/// is waiting for it to get ready).
fn interrupt_up(project: &TestProject, signal: &str) -> i32 {
    use std::os::unix::process::CommandExt;
    let mut up = KillOnDrop::spawn(
        project
            .devenv_process(&["up", "--timeout", "120"])
            .process_group(0),
    );
    let slow = project.container("slow");
    wait_until("the slow service running", Duration::from_secs(60), || {
        project.running_containers().contains(&slow)
    });
    let group = format!("-{}", up.0.id());
    std::process::Command::new("kill")
        .args([signal, "--", &group])
        .status()
        .unwrap();
    let status = up.0.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn converges_after_fix(project: &TestProject) {
    let fixed = project.read("devenv.toml").replace(
        "health = { cmd = [\"false\"] }",
        "health = { cmd = [\"true\"] }",
    );
    project.write("devenv.toml", &fixed);
    project.up_ok(&[]);
    let names = project.containers();
    assert_eq!(
        names.len(),
        2,
        "one container per service, no leftovers: {names:?}"
    );
}

#[test]
fn case_01_sigint_during_up_exits_130_and_the_next_up_converges() {
    let Some(project) = engine_project(SLOW_SECOND, &["CACHE_PORT"]) else {
        return;
    };
    assert_eq!(interrupt_up(&project, "-INT"), 130);
    let labels = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"com.docker.compose.project\"}}",
        &project.container("slow"),
    ]);
    assert_eq!(labels, project.name, "what was created is labelled");
    converges_after_fix(&project);
}

#[test]
fn case_02_sigkill_during_up_then_up_adopts_its_resources() {
    let Some(project) = engine_project(SLOW_SECOND, &["CACHE_PORT"]) else {
        return;
    };
    assert_eq!(interrupt_up(&project, "-KILL"), 128 + 9);
    converges_after_fix(&project);
}

#[test]
fn case_03_a_failing_third_container_is_named_and_a_rerun_converges() {
    let mut stack = String::from("[project]\nname = \"{name}\"\n");
    for (i, dep) in [(1, ""), (2, "s1"), (3, "s2"), (4, "s3")] {
        stack.push_str(&format!("[services.s{i}]\nimage = \"redis:7\"\n"));
        if !dep.is_empty() {
            stack.push_str(&format!("depends_on = [\"{dep}\"]\n"));
        }
        if i == 3 {
            stack.push_str("volumes = [\"./missing:/data\"]\n");
        }
    }
    let Some(project) = engine_project(&stack, &[]) else {
        return;
    };
    let err = project.fails(&["up"]);
    assert_mentions(&err, &["service `s3`", "missing"]);
    std::fs::create_dir(project.path("missing")).unwrap();
    project.up_ok(&[]);
    assert_eq!(project.containers().len(), 4);
}

#[test]
fn case_04_a_foreign_container_with_our_name_is_refused_and_kept() {
    let Some(project) = engine_project(CACHE_ONLY, &["CACHE_PORT"]) else {
        return;
    };
    let name = project.container("cache");
    let _foreign = Cleanup::container(&name, "devenv-fixture/redis:7");
    let err = project.fails(&["up"]);
    assert!(
        docker_has("container", &name),
        "the foreign container was not removed"
    );
    assert_mentions(
        &err,
        &[
            &format!("a container named {name} already exists and was not created by devenv"),
            "never removes",
        ],
    );
}

#[test]
fn case_05_same_directory_names_stay_separate_and_bad_names_state_the_rule() {
    if !docker_ready() {
        return;
    }
    let (a, b) = (
        TestProject::engine(CACHE_ONLY, &["CACHE_PORT"]),
        TestProject::engine(CACHE_ONLY, &["CACHE_PORT"]),
    );
    for project in [&a, &b] {
        std::fs::create_dir(project.path("app")).unwrap();
        std::fs::rename(project.path("devenv.toml"), project.path("app/devenv.toml")).unwrap();
        std::fs::rename(project.path(".env"), project.path("app/.env")).unwrap();
        let (code, _, err) = output(project.devenv(&["up"]).current_dir(project.path("app")));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(a.containers(), [a.container("cache")]);
    assert_eq!(b.containers(), [b.container("cache")]);
    let bad = TestProject::new("[project]\nname = \"My.App\"\n");
    let err = bad.fails(&["up"]);
    assert_mentions(
        &err,
        &["lowercase letters, digits, `-` and `_`, and start with a letter or digit"],
    );
}

#[test]
fn case_06_an_image_change_keeps_the_rows_in_the_named_volume() {
    if !docker_ready() {
        return;
    }
    // A tag of its own (concurrent runs share the engine), removed even when the test fails;
    // declared before the project, whose containers go first.
    let alternative = format!("devenv-fixture/postgres:alt-{}", unique_suffix());
    let _tag = Cleanup::image_tag("devenv-fixture/postgres:16", &alternative);
    let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    project.up_ok(&[]);
    project.psql("create table kept(v text); insert into kept values ('before the image change')");
    let before = project.container_id("db");
    project.write(
        "devenv.toml",
        &project.read("devenv.toml").replace(
            "image = \"postgres:16\"",
            &format!("image = \"{alternative}\""),
        ),
    );
    project.up_ok(&[]);
    assert_ne!(
        project.container_id("db"),
        before,
        "recreated for the new image"
    );
    assert_eq!(
        project.psql("select v from kept"),
        "before the image change"
    );
}

#[test]
fn case_07_down_volumes_refuses_without_consent_and_never_removes_external_volumes() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(CACHE_ONLY, &["CACHE_PORT"]);
    project.up_ok(&[]);
    // Named like the project's own volumes, but without its labels.
    let external = format!("{}_external", project.name);
    let _external = Cleanup::volume(&external);
    project.fails(&["down", "--volumes"]); // no terminal, no --yes
    project.run_ok(&["down", "--volumes", "--yes"]);
    assert!(
        docker_has("volume", &external),
        "an unlabelled volume is never removed"
    );
    assert!(!docker_has(
        "volume",
        &format!("{}_cache-data", project.name)
    ));
}

#[test]
fn case_08_without_a_daemon_errors_name_the_socket_and_offline_commands_work() {
    let project = TestProject::new(SHOP);
    let dead = "unix:///nonexistent/docker.sock";
    for (args, code) in [
        (&["--version"][..], 0),
        (&["generate"][..], 0),
        (&["docs"][..], 0),
        (&["doctor"][..], 1),
    ] {
        let (got, _, err) = output(project.devenv(args).env("DOCKER_HOST", dead));
        assert_eq!(got, code, "{args:?}: {err}");
    }
    let (code, _, err) = output(project.devenv(&["up"]).env("DOCKER_HOST", dead));
    assert_eq!(code, 1);
    assert_mentions(&err, &[dead, "start Docker"]);
}

#[test]
fn case_09_permission_denied_names_the_docker_group_and_rootless() {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let socket_private = std::fs::metadata("/var/run/docker.sock").is_ok_and(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o006 == 0
    });
    if !require(
        "root (to run devenv as `nobody`) and a group-only Docker socket",
        is_root && socket_private && has_program("setpriv", &["--version"]),
    ) {
        return;
    }
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_devenv"),
            "doctor",
            "--json",
        ])
        .current_dir("/")
        .env_remove("DOCKER_HOST")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let daemon = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "daemon")
        .unwrap();
    assert_eq!(daemon["status"], "fail");
    assert!(
        daemon["detail"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{daemon}"
    );
    let fix = daemon["fix"].as_str().unwrap();
    assert_mentions(fix, &["`docker` group", "rootless", "never uses sudo"]);
}

#[test]
fn case_11_readiness_is_probed_on_the_published_host_port() {
    // The health command passes inside, but nothing listens behind the published port.
    let Some(project) = engine_project(
        "[project]\nname = \"{name}\"\n[services.app]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 300\"]\nports = [\"6379\"]\nhealth = { cmd = [\"true\"] }\n",
        &["APP_PORT"],
    ) else {
        return;
    };
    let err = project.fails(&["up", "--timeout", "3"]);
    let port = project.env_value("APP_PORT");
    assert_mentions(&err, &[&format!("127.0.0.1:{port}"), "not ready"]);
}

#[test]
fn case_11_a_second_up_does_not_take_dockers_healthy_for_a_port_that_does_not_answer() {
    // Docker's check (`true`) passes; the published port still has nothing behind it.
    let Some(project) = engine_project(
        "[project]\nname = \"{name}\"\n[services.app]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 300\"]\nports = [\"6379\"]\nhealth = { cmd = [\"true\"], interval = \"1s\" }\n",
        &["APP_PORT"],
    ) else {
        return;
    };
    project.fails(&["up", "--timeout", "3"]);
    let container = project.container("app");
    wait_until(
        "Docker calling the container healthy",
        Duration::from_secs(30),
        || {
            docker(&[
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                &container,
            ])
            .trim()
                == "healthy"
        },
    );
    let err = project.fails(&["up", "--timeout", "3"]);
    let port = project.env_value("APP_PORT");
    assert_mentions(&err, &[&format!("127.0.0.1:{port}"), "not ready"]);
}

/// The example stack up, with `count` migrations written and not applied yet.
fn migrations_project(count: usize) -> Option<TestProject> {
    let project = shop()?;
    for i in 1..=count {
        project.write(
            &format!("migrations/{i:04}_t{i}.sql"),
            &format!("CREATE TABLE t{i} (id INT);\n"),
        );
    }
    project.up_ok(&["--no-migrate"]);
    Some(project)
}

#[test]
fn case_12_two_migrate_runs_at_once_apply_each_migration_once() {
    let Some(project) = migrations_project(30) else {
        return;
    };
    let (mut a, mut b) = (project.devenv(&["migrate"]), project.devenv(&["migrate"]));
    let first = std::thread::spawn(move || output(&mut a));
    let second = std::thread::spawn(move || output(&mut b));
    let (first, second) = (first.join().unwrap(), second.join().unwrap());
    assert_eq!((first.0, second.0), (0, 0), "{}\n{}", first.2, second.2);
    assert_eq!(
        project.psql("select count(*), count(distinct version) from _sqlx_migrations"),
        "30|30"
    );
}

#[test]
fn case_14_kill_9_during_a_long_migration_does_not_block_the_next_run() {
    let Some(project) = migrations_project(1) else {
        return;
    };
    project.write(
        "migrations/0002_slow.sql",
        "SELECT pg_sleep(60);\nCREATE TABLE after_sleep (id INT);\n",
    );
    let mut first = KillOnDrop::spawn(&mut project.devenv_process(&["migrate"]));
    // Killed once its session holds the advisory migration lock and runs the slow migration.
    let lock_held_in_the_slow_migration = "select count(*) from pg_locks l \
        join pg_stat_activity a on a.pid = l.pid \
        where l.locktype = 'advisory' and l.granted and a.state = 'active' \
        and a.query like '%pg_sleep(60)%' and a.pid <> pg_backend_pid()";
    wait_until(
        "the first migrate holding the migration lock in the slow migration",
        Duration::from_secs(60),
        || project.psql(lock_held_in_the_slow_migration) == "1",
    );
    let killed_pid = first.0.id();
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    // Still pending (nothing was recorded); shortened so the next run does not sleep itself.
    project.write(
        "migrations/0002_slow.sql",
        "SELECT pg_sleep(0);\nCREATE TABLE after_sleep (id INT);\n",
    );
    // The bound only turns a hang on a lock nobody releases into a failure.
    let (code, _, err) = output(
        project
            .devenv(&["migrate"])
            .timeout(Duration::from_secs(120)),
    );
    assert_eq!(code, 0, "the next run is not blocked: {err}");
    assert!(
        err.contains("stale migration lock") && err.contains(&format!("/{killed_pid}@")),
        "says it cleared the lock of the killed run: {err}"
    );
    assert!(err.contains("applied migrations/0002_slow.sql"), "{err}");
    assert_eq!(project.psql("select count(*) from after_sleep"), "0");
}

#[test]
fn case_15_a_deleted_applied_migration_is_refused_with_the_fix() {
    let Some(project) = migrations_project(2) else {
        return;
    };
    project.run_ok(&["migrate"]);
    std::fs::remove_file(project.path("migrations/0002_t2.sql")).unwrap();
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &[
            "migration 2 was applied to the database but its file is no longer in migrations",
            "git checkout",
            "devenv db reset",
        ],
    );
}

#[test]
fn case_16_a_failed_no_transaction_migration_blocks_the_next_run_with_recovery_steps() {
    let Some(project) = migrations_project(1) else {
        return;
    };
    project.write("migrations/0002_nt.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY t1_id ON t1 (id);\nCREATE INDEX CONCURRENTLY t1_id ON nowhere (id);\n");
    project.fails(&["migrate"]);
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &[
            "migrations/0002_nt.sql failed part-way in an earlier run",
            "DELETE FROM _sqlx_migrations WHERE version = 2",
        ],
    );
}

#[test]
fn case_17_a_failing_seed_leaves_no_partial_rows() {
    let Some(project) = migrations_project(0) else {
        return;
    };
    project.write(
        "migrations/0001_p.sql",
        "CREATE TABLE p (id INT PRIMARY KEY);\n",
    );
    project.write(
        "seeds/01_bad.sql",
        "INSERT INTO p VALUES (1), (2);\nINSERT INTO nowhere VALUES (3);\n",
    );
    project.run_ok(&["migrate"]);
    let err = project.fails(&["seed"]);
    assert_mentions(&err, &["seed seeds/01_bad.sql failed", "rolled back"]);
    assert_eq!(project.psql("select count(*) from p"), "0");
    assert_eq!(project.psql("select count(*) from _devenv_seeds"), "0");
}

#[test]
fn case_22_and_23_env_is_private_from_the_first_byte_under_umask_002_with_fresh_secrets() {
    let mut secrets = Vec::new();
    for _ in 0..2 {
        let project = TestProject::new(SHOP);
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "umask 002 && exec '{}' env init",
                    env!("CARGO_BIN_EXE_devenv")
                ),
            ])
            .current_dir(project.root())
            .env("XDG_CONFIG_HOME", project.root())
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            file_mode(&project.path(".env")),
            0o600,
            "created 0600 (the temporary file is opened with that mode)"
        );
        let secret = project.env_value("DB_PASSWORD");
        assert!(
            secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
            "{secret}"
        );
        secrets.push(secret);
    }
    assert_ne!(secrets[0], secrets[1]);
}

#[test]
fn a_volume_initialised_with_another_password_fails_fast_with_the_cause() {
    let Some(project) = migrations_project(0) else {
        return;
    };
    project.run_ok(&["down"]);
    let env = project.read(".env");
    let old = project.env_value("DB_PASSWORD");
    project.write(
        ".env",
        &env.replace(&old, "a-different-password-than-the-volume-has"),
    );
    // Failing fast shows in the message: the refusal, not the 60 s readiness timeout.
    let err = project.fails(&["up", "--timeout", "60"]);
    assert!(!err.contains("not ready after"), "{err}");
    assert_mentions(
        &err,
        &[
            "refuses the credentials in .env",
            "devenv down --volumes",
            &format!("{}_db-data", project.name),
        ],
    );
}
