//! `up`, `down`, `status`, `logs` against the real Docker Engine and the fixture images.

use crate::support::*;

fn shop() -> Option<TestProject> {
    docker_ready().then(|| TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]))
}

fn up_ok(project: &TestProject, args: &[&str]) -> (String, String) {
    let mut full = vec!["up"];
    full.extend_from_slice(args);
    let (code, out, err) = output(&mut project.devenv(&full));
    assert_eq!(code, 0, "devenv up failed:\n{out}\n{err}");
    (out, err)
}

#[test]
fn cold_up_then_warm_up_does_nothing() {
    let Some(project) = shop() else { return };
    let (out, err) = up_ok(&project, &[]);
    let db_port = project.env_value("DB_PORT");
    assert!(out.contains(&format!("127.0.0.1:{db_port}")), "{out}");
    assert!(
        out.contains("postgres://shop:"),
        "the table shows the connection URL: {out}"
    );
    assert!(
        err.contains("added DB_PASSWORD, DATABASE_URL to .env"),
        "{err}"
    );
    assert_eq!(
        project.psql("select current_user"),
        "shop",
        "the database answers with the configured user"
    );
    assert!(project.env_value("DB_PASSWORD").len() >= 32);
    // Compose sees the stack as its own.
    let labels = docker(&[
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        &format!("{}-db-1", project.name),
    ]);
    for label in [
        "com.docker.compose.project",
        "com.docker.compose.service",
        "com.docker.compose.config-hash",
        "com.docker.compose.oneoff",
        "com.docker.compose.container-number",
        "com.docker.compose.version",
    ] {
        assert!(labels.contains(label), "missing {label}: {labels}");
    }
    let ids = (project.container_id("db"), project.container_id("cache"));
    let (_, err) = up_ok(&project, &[]);
    assert!(err.contains("nothing to change"), "{err}");
    assert_eq!(
        (project.container_id("db"), project.container_id("cache")),
        ids,
        "a warm up recreates nothing"
    );
}

#[test]
fn a_config_change_recreates_only_that_service_and_keeps_its_volume() {
    let Some(project) = shop() else { return };
    up_ok(&project, &[]);
    project.psql("create table kept(v text); insert into kept values ('still here')");
    let (db, cache) = (project.container_id("db"), project.container_id("cache"));
    let stack = project.read("devenv.toml").replace(
        "POSTGRES_DB = \"shop\" }",
        "POSTGRES_DB = \"shop\", TZ = \"UTC\" }",
    );
    project.write("devenv.toml", &stack);
    let (_, err) = up_ok(&project, &[]);
    assert!(err.contains("recreat"), "{err}");
    assert_ne!(project.container_id("db"), db, "db changed: recreated");
    assert_eq!(
        project.container_id("cache"),
        cache,
        "cache did not change: kept"
    );
    assert_eq!(
        project.psql("select v from kept"),
        "still here",
        "the named volume survived the recreate"
    );
}

#[test]
fn data_survives_down_and_up_and_down_volumes_needs_consent() {
    let Some(project) = shop() else { return };
    up_ok(&project, &[]);
    project.psql("create table kept(v text); insert into kept values ('row')");
    let (code, _, err) = output(&mut project.devenv(&["down"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("kept volumes"), "{err}");
    assert_eq!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", project.name)
        ]),
        ""
    );
    up_ok(&project, &[]);
    assert_eq!(project.psql("select v from kept"), "row");

    let volume = format!("{}_db-data", project.name);
    let (code, _, err) = output(&mut project.devenv(&["down", "--volumes"]));
    assert_eq!(code, 1, "no terminal and no --yes: refuse");
    assert!(err.contains("--yes") && err.contains(&volume), "{err}");
    assert!(
        has_program("docker", &["volume", "inspect", &volume]),
        "refusing must not remove anything"
    );
    let (code, _, err) = output(&mut project.devenv(&["down", "--volumes", "--yes"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        !has_program("docker", &["volume", "inspect", &volume]),
        "volume removed with --yes"
    );
}

#[test]
fn status_json_reports_every_service() {
    let Some(project) = shop() else { return };
    let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(code, 1, "nothing runs yet: not healthy");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["services"][0]["state"], "missing");
    up_ok(&project, &[]);
    // Docker's own health check runs on its 1 s interval; poll until it has run once.
    let mut last = String::new();
    for _ in 0..50 {
        let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
        last = out;
        if code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let value: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(value["healthy"], true, "{last}");
    let services = value["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    assert_eq!(services[0]["service"], "db");
    assert_eq!(services[0]["state"], "running");
    assert_eq!(
        services[0]["addresses"][0],
        format!("127.0.0.1:{}", project.env_value("DB_PORT"))
    );
}

#[test]
fn logs_are_prefixed_by_service() {
    let Some(project) = shop() else { return };
    up_ok(&project, &[]);
    let (code, out, err) = output(&mut project.devenv(&["logs", "--tail", "5"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("db    | ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cache | ")), "{out}");
    let (_, out, _) = output(&mut project.devenv(&["logs", "cache"]));
    assert!(out.lines().all(|l| l.starts_with("cache | ")), "{out}");
}

#[test]
fn a_service_that_never_gets_healthy_times_out_with_its_logs() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.stuck]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"echo waiting-for-nothing; sleep 300\"]\nhealth = { cmd = [\"false\"] }\n",
        &[],
    );
    let started = std::time::Instant::now();
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "2"]));
    assert_eq!(code, 1);
    assert!(
        started.elapsed().as_secs() < 15,
        "timed out near the requested 2 s"
    );
    assert!(
        err.contains("service `stuck` was not ready after 2s"),
        "{err}"
    );
    assert!(err.contains("last probe: `false` exited with 1"), "{err}");
    assert!(
        err.contains("waiting-for-nothing"),
        "the last log lines are shown: {err}"
    );
}

#[test]
fn a_container_that_exits_at_start_fails_fast_with_its_exit_code() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.crash]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"echo boom-before-exit; exit 3\"]\n",
        &[],
    );
    let started = std::time::Instant::now();
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "60"]));
    assert_eq!(code, 1);
    assert!(
        started.elapsed().as_secs() < 20,
        "failed fast, not after the 60 s timeout"
    );
    assert!(err.contains("service `crash` exited with code 3"), "{err}");
    assert!(err.contains("boom-before-exit"), "{err}");
}

#[test]
fn a_missing_image_names_the_image_and_the_images_setting() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(
        "[project]\nname = \"{name}\"\n[services.app]\nimage = \"devenv-test/does-not-exist:1\"\n",
        &[],
    );
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("image `devenv-test/does-not-exist:1` is not present locally"),
        "{err}"
    );
    assert!(
        err.contains("[images]") && err.contains("config.toml"),
        "{err}"
    );
}

#[test]
fn an_unreachable_daemon_is_a_clear_error_in_under_a_second() {
    let project = TestProject::new(SHOP);
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("dead.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(listener); // the socket file stays, nothing listens
    let host = format!("unix://{}", socket.display());
    for command in ["up", "status", "down"] {
        let started = std::time::Instant::now();
        let (code, _, err) = output(project.devenv(&[command]).env("DOCKER_HOST", &host));
        assert!(
            started.elapsed().as_millis() < 1000,
            "{command} took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 1, "{command}: {err}");
        assert!(
            err.contains(&host) && err.contains("DOCKER_HOST"),
            "{command}: {err}"
        );
        assert!(err.contains("start Docker"), "{command}: {err}");
    }
}

#[test]
fn concurrent_ups_make_one_set_of_containers() {
    let Some(project) = shop() else { return };
    let mut first = project.devenv(&["up"]);
    let mut second = project.devenv(&["up"]);
    let a = std::thread::spawn(move || output(&mut first));
    let b = std::thread::spawn(move || output(&mut second));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a.0, 0, "first up: {}", a.2);
    assert_eq!(b.0, 0, "second up: {}", b.2);
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
    ]);
    assert_eq!(ids.lines().count(), 2, "one container per service: {ids}");
}

#[test]
fn up_with_a_service_starts_only_it_and_its_dependencies() {
    if !docker_ready() {
        return;
    }
    let stack = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\n[services.worker]\nimage = \"redis:7\"\ndepends_on = [\"cache\"]\n[services.other]\nimage = \"redis:7\"\n";
    let project = TestProject::engine(stack, &["CACHE_PORT"]);
    let (code, out, err) = output(&mut project.devenv(&["up", "worker"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("worker") && out.contains("cache") && !out.contains("other"),
        "{out}"
    );
    let names = docker(&[
        "ps",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
    ]);
    assert!(!names.contains("other"), "{names}");
}

#[test]
fn status_right_after_up_reports_every_service_healthy() {
    let Some(project) = shop() else { return };
    let (out, _) = up_ok(&project, &["--json"]);
    let ready: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let (code, out, err) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(
        code, 0,
        "status right after up must agree with up:\n{out}\n{err}"
    );
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["version"], 1, "{out}");
    assert_eq!(value["healthy"], true, "{out}");
    let services = value["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    for (row, up_row) in services.iter().zip(ready["services"].as_array().unwrap()) {
        assert_eq!(row["service"], up_row["service"]);
        assert_eq!(row["health"], "healthy", "{row}");
        let source = row["health_source"].as_str().unwrap_or_default();
        assert!(source == "docker" || source == "probe", "{row}");
        assert_eq!(row["url"], up_row["url"], "status shows the URL up showed");
        assert!(row["url"].is_string(), "{row}");
    }
    let (code, out, _) = output(&mut project.devenv(&["status"]));
    assert_eq!(code, 0, "{out}");
    for service in ["db", "cache"] {
        let line = out.lines().find(|l| l.starts_with(service)).unwrap();
        assert_eq!(line.split_whitespace().nth(2), Some("healthy"), "{out}");
    }
}

#[test]
fn status_json_of_missing_services_has_null_health_and_the_resolved_image() {
    if !docker_ready() {
        return;
    }
    let stack = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"${CACHE_IMAGE:-redis:7}\"\nports = [\"6379\", \"6380/udp\"]\n";
    let project = TestProject::engine(stack, &["CACHE_PORT", "CACHE_PORT_6380"]);
    let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(code, 1, "nothing runs yet");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &value["services"][0];
    assert_eq!(row["state"], "missing", "{row}");
    assert!(row["health"].is_null(), "no container, no health: {row}");
    assert_eq!(row["image"], "devenv-fixture/redis:7", "{row}");
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = output(&mut project.devenv(&["status", "--json"]));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let addresses = value["services"][0]["addresses"].clone();
    let udp = format!("127.0.0.1:{}/udp", project.env_value("CACHE_PORT_6380"));
    assert!(
        addresses
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == udp.as_str()),
        "UDP ports say so: {addresses}"
    );
}

#[test]
fn status_asks_the_service_while_dockers_health_check_has_not_run_yet() {
    if !docker_ready() {
        return;
    }
    let stack = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\nimage = \"redis:7\"\nhealth = { cmd = [\"redis-cli\", \"ping\"], interval = \"60s\" }\n";
    let project = TestProject::engine(stack, &["CACHE_PORT"]);
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &value["services"][0];
    assert_eq!(row["health"], "healthy", "{row}");
    assert_eq!(
        row["health_source"], "probe",
        "Docker still says starting: {row}"
    );
}
