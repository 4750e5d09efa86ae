//! The reliability and security suite: faults, bad input and hostile values, each ending in a
//! clear error with nothing lost. Cases are numbered as in the suite's definition; cases 10,
//! 18, 19, 20, 21 and 23 are unit tests beside the code (`case_NN_...`), 24 is
//! `properties.rs`, 13 is `database::postgres_broken_migration_...` (pg_locks checked there).

use crate::support::*;
use std::time::{Duration, Instant};

const SLOW_SECOND: &str = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n[services.slow]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 300\"]\nhealth = { cmd = [\"false\"] }\ndepends_on = [\"cache\"]\n";

fn project_containers(project: &TestProject) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `up` in its own process group and stops it with `signal` once `slow` exists.
fn interrupt_up(project: &TestProject, signal: &str) -> i32 {
    use std::os::unix::process::CommandExt;
    let mut child = project
        .devenv_process(&["up", "--timeout", "120"])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), || {
        project_containers(project)
            .iter()
            .any(|n| n.ends_with("-slow-1"))
    });
    std::thread::sleep(Duration::from_millis(300));
    let group = format!("-{}", child.id());
    std::process::Command::new("kill")
        .args([signal, "--", &group])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
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
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "the next up converges: {err}");
    let names = project_containers(project);
    assert_eq!(
        names.len(),
        2,
        "one container per service, no leftovers: {names:?}"
    );
}

#[test]
fn case_01_sigint_during_up_exits_130_and_the_next_up_converges() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SLOW_SECOND, &["CACHE_PORT"]);
    assert_eq!(interrupt_up(&project, "-INT"), 130);
    let labels = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"com.docker.compose.project\"}}",
        &format!("{}-slow-1", project.name),
    ]);
    assert_eq!(labels, project.name, "what was created is labelled");
    converges_after_fix(&project);
}

#[test]
fn case_02_sigkill_during_up_then_up_adopts_its_resources() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SLOW_SECOND, &["CACHE_PORT"]);
    assert_eq!(interrupt_up(&project, "-KILL"), 128 + 9);
    converges_after_fix(&project);
}

#[test]
fn case_03_a_failing_third_container_is_named_and_a_rerun_converges() {
    if !docker_ready() {
        return;
    }
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
    let project = TestProject::engine(&stack, &[]);
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("service `s3`") && err.contains("missing"),
        "{err}"
    );
    std::fs::create_dir(project.path("missing")).unwrap();
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(project_containers(&project).len(), 4);
}

#[test]
fn case_04_a_foreign_container_with_our_name_is_refused_and_kept() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n",
        &["CACHE_PORT"],
    );
    let name = format!("{}-cache-1", project.name);
    docker(&["create", "--name", &name, "devenv-fixture/redis:7"]);
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    docker_remove_after(&name);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "a container named {name} already exists and was not created by devenv"
        )),
        "{err}"
    );
    assert!(err.contains("never removes"), "{err}");
}

/// Checks the foreign container is still there, then removes it (the test made it).
fn docker_remove_after(name: &str) {
    assert!(
        has_program("docker", &["inspect", name]),
        "the foreign container was not removed"
    );
    docker(&["rm", "-f", name]);
}

#[test]
fn case_05_same_directory_names_stay_separate_and_bad_names_state_the_rule() {
    if !docker_ready() {
        return;
    }
    let cache =
        "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n";
    let (a, b) = (
        TestProject::engine(cache, &["CACHE_PORT"]),
        TestProject::engine(cache, &["CACHE_PORT"]),
    );
    for project in [&a, &b] {
        std::fs::create_dir(project.path("app")).unwrap();
        std::fs::rename(project.path("devenv.toml"), project.path("app/devenv.toml")).unwrap();
        std::fs::rename(project.path(".env"), project.path("app/.env")).unwrap();
        let (code, _, err) = output(project.devenv(&["up"]).current_dir(project.path("app")));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(project_containers(&a), [format!("{}-cache-1", a.name)]);
    assert_eq!(project_containers(&b), [format!("{}-cache-1", b.name)]);
    let bad = TestProject::new("[project]\nname = \"My.App\"\n");
    let (code, _, err) = output(&mut bad.devenv(&["up"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("lowercase letters, digits, `-` and `_`, and start with a letter or digit"),
        "{err}"
    );
}

#[test]
fn case_06_an_image_change_keeps_the_rows_in_the_named_volume() {
    if !docker_ready() {
        return;
    }
    docker(&[
        "tag",
        "devenv-fixture/postgres:16",
        "devenv-fixture/postgres:16-alt",
    ]);
    let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
    project.psql("create table kept(v text); insert into kept values ('before the image change')");
    let before = project.container_id("db");
    project.write(
        "devenv.toml",
        &project.read("devenv.toml").replace(
            "image = \"postgres:16\"",
            "image = \"devenv-fixture/postgres:16-alt\"",
        ),
    );
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
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
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\n",
        &["CACHE_PORT"],
    );
    output(&mut project.devenv(&["up"]));
    let external = format!("{}_external", project.name);
    docker(&["volume", "create", &external]);
    let (code, _, err) = output(&mut project.devenv(&["down", "--volumes"]));
    assert_eq!(code, 1, "no TTY, no --yes: {err}");
    let (code, _, err) = output(&mut project.devenv(&["down", "--volumes", "--yes"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        has_program("docker", &["volume", "inspect", &external]),
        "an unlabelled volume is never removed"
    );
    assert!(!has_program(
        "docker",
        &["volume", "inspect", &format!("{}_cache-data", project.name)]
    ));
    docker(&["volume", "rm", &external]);
}

#[test]
fn case_08_without_a_daemon_errors_are_fast_and_offline_commands_work() {
    let project = TestProject::new(SHOP);
    let dead = "unix:///nonexistent/docker.sock";
    for (args, code) in [
        (&["--version"][..], 0),
        (&["generate"][..], 0),
        (&["docs"][..], 0),
        (&["doctor"][..], 1),
    ] {
        let started = Instant::now();
        let (got, _, err) = output(project.devenv(args).env("DOCKER_HOST", dead));
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let (code, _, err) = output(project.devenv(&["up"]).env("DOCKER_HOST", dead));
    assert_eq!(code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains(dead) && err.contains("start Docker"), "{err}");
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
    assert!(
        fix.contains("`docker` group")
            && fix.contains("rootless")
            && fix.contains("never uses sudo"),
        "{fix}"
    );
}

#[test]
fn case_11_readiness_is_probed_on_the_published_host_port() {
    if !docker_ready() {
        return;
    }
    // The health command passes inside, but nothing listens behind the published port.
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.app]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"sleep 300\"]\nports = [\"6379\"]\nhealth = { cmd = [\"true\"] }\n",
        &["APP_PORT"],
    );
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "3"]));
    assert_eq!(code, 1);
    let port = project.env_value("APP_PORT");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("not ready"),
        "{err}"
    );
}

fn migrations_project(count: usize) -> Option<TestProject> {
    docker_ready().then(|| {
        let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
        for i in 1..=count {
            project.write(
                &format!("migrations/{i:04}_t{i}.sql"),
                &format!("CREATE TABLE t{i} (id INT);\n"),
            );
        }
        let (code, _, err) = output(&mut project.devenv(&["up", "--no-migrate"]));
        assert_eq!(code, 0, "{err}");
        project
    })
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
    let mut child = project
        .devenv_process(&["migrate"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first run holds the migration lock while its backend sleeps.
    wait_until(Duration::from_secs(60), || {
        project.psql(
            "select count(*) from pg_locks l join pg_stat_activity a using (pid) \
             where l.locktype = 'advisory' and l.granted and a.query like '%pg_sleep(60)%'",
        ) == "1"
    });
    child.kill().unwrap();
    child.wait().unwrap();
    // Still pending (nothing was recorded); shortened so the next run does not sleep itself.
    project.write(
        "migrations/0002_slow.sql",
        "SELECT pg_sleep(0);\nCREATE TABLE after_sleep (id INT);\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("stale migration lock") && err.contains(&format!("/{}@", child.id())),
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
    output(&mut project.devenv(&["migrate"]));
    std::fs::remove_file(project.path("migrations/0002_t2.sql")).unwrap();
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "migration 2 was applied to the database but its file is no longer in migrations"
        ),
        "{err}"
    );
    assert!(
        err.contains("git checkout") && err.contains("devenv db reset"),
        "{err}"
    );
}

#[test]
fn case_16_a_failed_no_transaction_migration_blocks_the_next_run_with_recovery_steps() {
    let Some(project) = migrations_project(1) else {
        return;
    };
    project.write("migrations/0002_nt.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY t1_id ON t1 (id);\nCREATE INDEX CONCURRENTLY t1_id ON nowhere (id);\n");
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("migrations/0002_nt.sql failed part-way in an earlier run"),
        "{err}"
    );
    assert!(
        err.contains("DELETE FROM _sqlx_migrations WHERE version = 2"),
        "{err}"
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
    output(&mut project.devenv(&["migrate"]));
    let (code, _, err) = output(&mut project.devenv(&["seed"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("seed seeds/01_bad.sql failed") && err.contains("rolled back"),
        "{err}"
    );
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
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(project.path(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            mode, 0o600,
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
    output(&mut project.devenv(&["down"]));
    let env = project.read(".env");
    let old = project.env_value("DB_PASSWORD");
    project.write(
        ".env",
        &env.replace(&old, "a-different-password-than-the-volume-has"),
    );
    let started = Instant::now();
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "60"]));
    assert_eq!(code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failed fast: {:?}",
        started.elapsed()
    );
    assert!(
        err.contains("refuses the credentials in .env") && err.contains("devenv down --volumes"),
        "{err}"
    );
    assert!(err.contains(&format!("{}_db-data", project.name)), "{err}");
}
