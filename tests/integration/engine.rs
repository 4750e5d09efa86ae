//! `up`, `down`, `status`, `logs` against the real Docker Engine and the fixture images.

use crate::support::*;

#[test]
fn cold_up_then_warm_up_does_nothing() {
    let Some(project) = shop() else { return };
    let (out, err) = project.up_ok(&[]);
    let db_port = project.env_value("DB_PORT");
    assert_mentions(&out, &[&format!("127.0.0.1:{db_port}")]);
    assert!(
        out.contains("postgres://shop:"),
        "the table shows the connection URL: {out}"
    );
    assert_mentions(&err, &["added DB_PASSWORD, DATABASE_URL to .env"]);
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
        &project.container("db"),
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
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &["nothing to change"]);
    assert_eq!(
        (project.container_id("db"), project.container_id("cache")),
        ids,
        "a warm up recreates nothing"
    );
}

#[test]
fn a_config_change_recreates_only_that_service_and_keeps_its_volume() {
    let Some(project) = shop() else { return };
    project.up_ok(&[]);
    project.psql("create table kept(v text); insert into kept values ('still here')");
    let (db, cache) = (project.container_id("db"), project.container_id("cache"));
    let stack = project.read("devenv.toml").replace(
        "POSTGRES_DB = \"shop\" }",
        "POSTGRES_DB = \"shop\", TZ = \"UTC\" }",
    );
    project.write("devenv.toml", &stack);
    let (_, err) = project.up_ok(&[]);
    assert_mentions(&err, &["recreat"]);
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
    project.up_ok(&[]);
    project.psql("create table kept(v text); insert into kept values ('row')");
    let (_, err) = project.run_ok(&["down"]);
    assert_mentions(&err, &["kept volumes"]);
    let left = project.containers();
    assert!(left.is_empty(), "down removed every container: {left:?}");
    project.up_ok(&[]);
    assert_eq!(project.psql("select v from kept"), "row");

    let volume = format!("{}_db-data", project.name);
    let err = project.fails(&["down", "--volumes"]);
    assert_mentions(&err, &["--yes", &volume]);
    assert!(
        docker_has("volume", &volume),
        "refusing must not remove anything"
    );
    project.run_ok(&["down", "--volumes", "--yes"]);
    assert!(!docker_has("volume", &volume), "volume removed with --yes");
}

#[test]
fn status_json_reports_every_service() {
    let Some(project) = shop() else { return };
    let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
    assert_eq!(code, 1, "nothing runs yet: not healthy");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["services"][0]["state"], "missing");
    project.up_ok(&[]);
    // Docker's own health check runs on its 1 s interval: wait until status reports it.
    let mut last = String::new();
    wait_until(
        "devenv status --json reporting a healthy stack",
        std::time::Duration::from_secs(30),
        || {
            let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
            last = out;
            code == 0
        },
    );
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
    project.up_ok(&[]);
    let (out, _) = project.run_ok(&["logs", "--tail", "5"]);
    assert!(out.lines().any(|l| l.starts_with("db    | ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cache | ")), "{out}");
    let (out, _) = project.run_ok(&["logs", "cache"]);
    assert!(out.lines().all(|l| l.starts_with("cache | ")), "{out}");
    let (out, _) = project.run_ok(&["logs", "--json", "--tail", "3"]);
    let documents: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!documents.is_empty(), "{out}");
    for document in &documents {
        assert_eq!(document["version"], 1, "{document}");
        assert!(document["line"].is_string(), "{document}");
    }
    assert!(documents.iter().any(|d| d["service"] == "db"), "{out}");
    assert!(documents.iter().any(|d| d["service"] == "cache"), "{out}");
}

#[test]
fn a_service_that_never_gets_healthy_times_out_with_its_logs() {
    let Some(project) = engine_project(
        "[project]\nname = \"{name}\"\n[services.stuck]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"echo waiting-for-nothing; sleep 300\"]\nhealth = { cmd = [\"false\"] }\n",
        &[],
    ) else {
        return;
    };
    let err = project.fails(&["up", "--timeout", "2"]);
    assert_mentions(
        &err,
        &[
            "service `stuck` was not ready after 2s",
            "last probe: `false` exited with 1",
            "waiting-for-nothing",
        ],
    );
}

#[test]
fn a_container_that_exits_at_start_fails_fast_with_its_exit_code() {
    let Some(project) = engine_project(
        "[project]\nname = \"{name}\"\n[services.crash]\nimage = \"redis:7\"\ncommand = [\"sh\", \"-c\", \"echo boom-before-exit; exit 3\"]\n",
        &[],
    ) else {
        return;
    };
    // Failing fast shows in the message: the exit code, not the 60 s readiness timeout.
    let err = project.fails(&["up", "--timeout", "60"]);
    assert_mentions(
        &err,
        &["service `crash` exited with code 3", "boom-before-exit"],
    );
    assert!(!err.contains("not ready after"), "{err}");
}

#[test]
fn a_missing_image_names_the_image_and_the_images_setting() {
    let Some(project) = engine_project(
        "[project]\nname = \"{name}\"\n[services.app]\nimage = \"devenv-test/does-not-exist:1\"\n",
        &[],
    ) else {
        return;
    };
    let err = project.fails(&["up"]);
    assert_mentions(
        &err,
        &[
            "image `devenv-test/does-not-exist:1` is not present locally",
            "[images]",
            "config.toml",
        ],
    );
}

#[test]
fn an_unreachable_daemon_is_a_clear_error() {
    let project = TestProject::new(SHOP);
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("dead.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(listener); // the socket file stays, nothing listens
    let host = format!("unix://{}", socket.display());
    for command in ["up", "status", "down"] {
        let (code, _, err) = output(project.devenv(&[command]).env("DOCKER_HOST", &host));
        assert_eq!(code, 1, "{command}: {err}");
        assert_mentions(&err, &[&host, "DOCKER_HOST", "start Docker"]);
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
    let names = project.containers();
    assert_eq!(names.len(), 2, "one container per service: {names:?}");
}

#[test]
fn up_with_a_service_starts_only_it_and_its_dependencies() {
    let stack = "[project]\nname = \"{name}\"\n[services.cache]\nuse = \"redis\"\n[services.worker]\nimage = \"redis:7\"\ndepends_on = [\"cache\"]\n[services.other]\nimage = \"redis:7\"\n";
    let Some(project) = engine_project(stack, &["CACHE_PORT"]) else {
        return;
    };
    let (out, _) = project.up_ok(&["worker"]);
    assert!(
        out.contains("worker") && out.contains("cache") && !out.contains("other"),
        "{out}"
    );
    let names = project.running_containers();
    assert!(!names.iter().any(|n| n.contains("other")), "{names:?}");
}

/// The names of the volumes mounted into a container.
fn mounted_volumes(container: &str) -> Vec<String> {
    docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
        container,
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

#[test]
fn recreate_and_down_remove_anonymous_volumes_and_keep_named_ones() {
    // `scratch` mounts nothing: the image's `VOLUME /data` becomes an anonymous volume.
    let stack = format!("{CACHE_ONLY}[services.scratch]\nimage = \"redis:7\"\n");
    let Some(project) = engine_project(&stack, &["CACHE_PORT"]) else {
        return;
    };
    project.up_ok(&[]);
    let scratch = project.container("scratch");
    let first = mounted_volumes(&scratch);
    assert_eq!(first.len(), 1, "one anonymous volume: {first:?}");
    project.write(
        "devenv.toml",
        &format!("{}env = {{ MARK = \"1\" }}\n", project.read("devenv.toml")),
    );
    project.up_ok(&[]);
    let second = mounted_volumes(&scratch);
    assert_ne!(second, first, "recreated with a new anonymous volume");
    assert!(
        !docker_has("volume", &first[0]),
        "recreating removed the old container's anonymous volume"
    );
    project.run_ok(&["down"]);
    assert!(
        !docker_has("volume", &second[0]),
        "down removed the anonymous volume"
    );
    assert!(
        docker_has("volume", &format!("{}_cache-data", project.name)),
        "down keeps the named volume"
    );
}

#[test]
fn the_project_lock_lives_in_a_git_ignored_devenv_directory() {
    let Some(project) = engine_project(CACHE_ONLY, &["CACHE_PORT"]) else {
        return;
    };
    if !require("git", has_program("git", &["--version"])) {
        return;
    }
    git(project.root(), &["init", "-q"]);
    project.up_ok(&[]);
    project.run_ok(&["down"]);
    assert!(
        project.path(".devenv/lock").exists(),
        "the lock is in .devenv/"
    );
    assert_eq!(project.read(".devenv/.gitignore"), "*\n");
    let untracked = git(
        project.root(),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(!untracked.contains(".devenv"), "{untracked}");
    assert!(
        !std::env::temp_dir()
            .join(format!("devenv-{}.lock", project.name))
            .exists(),
        "nothing in the shared temporary directory"
    );
}

#[test]
fn status_right_after_up_reports_every_service_healthy() {
    let Some(project) = shop() else { return };
    let (out, _) = project.up_ok(&["--json"]);
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
        // devenv probes both from the host: Docker runs their health commands seldom.
        let interval = docker(&[
            "inspect",
            "-f",
            "{{.Config.Healthcheck.Interval}}",
            &project.container(service),
        ]);
        assert_eq!(interval.trim(), "30s", "{service}");
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
