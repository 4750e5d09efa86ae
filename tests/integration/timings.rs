//! `up --timings`: the phase breakdown after the table, and the `timings` event of `--json`.

use crate::support::*;

/// Every wall-clock phase, as printed and serialized.
const PHASES: [&str; 10] = [
    "env",
    "engine_connect",
    "observe",
    "cache_restore",
    "image_inspect",
    "network_volume_create",
    "services",
    "migrations",
    "seeds",
    "apps",
];

/// The example stack with one migration and one seed file.
fn shop_with_schema() -> Option<TestProject> {
    let project = shop()?;
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL);\n",
    );
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (id, name) VALUES (1, 'tea');\n",
    );
    Some(project)
}

/// The NDJSON events of `up --json`, parsed.
fn events(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn up_timings_prints_every_phase_and_each_services_steps() {
    let Some(project) = shop_with_schema() else {
        return;
    };
    let (out, err) = project.up_ok(&["--timings"]);
    assert_mentions(
        &err,
        &["applied 1 migration(s)", "seeded seeds/01_products.sql"],
    );
    assert_mentions(&out, &["timings (", "per service"]);
    for phase in PHASES {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(phase)),
            "phase `{phase}` missing:\n{out}"
        );
    }
    let per_service: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("per service"))
        .collect();
    for service in ["db", "cache"] {
        let line = per_service
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{service} ")))
            .unwrap_or_else(|| panic!("no line for {service}:\n{out}"));
        assert_mentions(line, &["create ", "start ", "first_probe ", "ready "]);
    }
    // Without the flag, nothing of it.
    let (out, _) = project.up_ok(&[]);
    assert!(!out.contains("timings ("), "{out}");
}

#[test]
fn up_json_timings_is_a_versioned_event_before_ready() {
    let Some(project) = shop_with_schema() else {
        return;
    };
    let (out, _) = project.up_ok(&["--json"]);
    assert!(
        events(&out).iter().all(|e| e["event"] != "timings"),
        "no timings event without --timings:\n{out}"
    );
    // Containers gone, volumes kept: the next up creates and starts both again.
    project.run_ok(&["down"]);
    let (out, _) = project.up_ok(&["--json", "--timings"]);
    let events = events(&out);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "ready", "{out}");
    let timings = &events[events.len() - 2];
    assert_eq!(timings["event"], "timings", "{out}");
    assert_eq!(timings["version"], 1);
    let phases: Vec<&str> = timings["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, PHASES);
    let sum: u64 = timings["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ms"].as_u64().unwrap())
        .sum();
    let total = timings["total_ms"].as_u64().unwrap();
    assert!(
        sum <= total,
        "phases cannot add up to more than the run: {timings}"
    );
    let mut services: Vec<&str> = timings["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    services.sort_unstable();
    assert_eq!(services, ["cache", "db"]);
    for service in timings["services"].as_array().unwrap() {
        let steps: Vec<&str> = service["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        for step in ["create", "start", "first_probe", "ready"] {
            assert!(steps.contains(&step), "{step} missing in {service}");
        }
        for span in service["spans"].as_array().unwrap() {
            assert!(
                span["start_ms"].as_u64() <= span["end_ms"].as_u64(),
                "{span}"
            );
        }
    }
}

#[test]
fn a_health_command_docker_ran_and_passed_is_not_run_again() {
    let stack = "[project]\nname = \"{name}\"\n[services.cache]\nimage = \"redis:7\"\n\
                 ports = [\"6379\"]\nhealth = { cmd = [\"redis-cli\", \"ping\"], interval = \"1s\" }\n";
    let Some(project) = engine_project(stack, &["CACHE_PORT"]) else {
        return;
    };
    project.up_ok(&[]);
    // Docker's own check (`redis-cli ping`, every second) has to pass first.
    wait_until(
        "devenv status reporting Docker's healthy verdict",
        std::time::Duration::from_secs(30),
        || {
            let (code, out, _) = output(&mut project.devenv(&["status", "--json"]));
            code == 0 && out.contains(r#""health_source":"docker""#)
        },
    );
    // The warm up still checks that the published port answers, but runs no command.
    let (out, _) = project.up_ok(&["--timings"]);
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with("per service"))
        .find(|l| l.trim_start().starts_with("cache "))
        .unwrap_or_else(|| panic!("no line for cache:\n{out}"));
    assert!(line.contains("ready "), "{line}");
    assert!(!line.contains("first_probe"), "no probe ran: {line}");
}
