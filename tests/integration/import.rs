//! `devenv init --from`: the five real Compose files of the shared corpus imported by the
//! built binary (each copied into a temporary project first), the facts the corpus README
//! lists checked on the stack devenv's own loader reads back, and Compose files written here
//! for what the corpus lacks.

use crate::support::*;
use devenv::stack::{HealthCheck, HostPort, Stack, Volume};
use std::path::{Path, PathBuf};

/// `<manifest>/../shared/corpus/compose`: the corpus sits beside the checkout.
fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/compose");
    assert!(
        dir.is_dir(),
        "the Compose corpus is missing: expected it at {} (shared/ beside the checkout)",
        dir.display()
    );
    dir
}

/// A project holding a copy of corpus entry `name` in the subdirectory `name`, with
/// `renames` applied (`committed.env` → `.env`).
fn corpus_project(name: &str, renames: &[(&str, &str)]) -> TestProject {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    let source = corpus_dir().join(name);
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().into_owned();
        let target = renames
            .iter()
            .find(|(from, _)| *from == file)
            .map_or(file.as_str(), |(_, to)| to);
        let text = std::fs::read_to_string(entry.path()).unwrap();
        project.write(&format!("{name}/{target}"), &text);
    }
    project
}

/// Imports `dir/file` of `project` and returns (stdout, the stack as devenv loads it).
fn import(project: &TestProject, file: &str, extra: &[&str]) -> (String, Stack) {
    let mut args = vec!["init", "--from", file];
    args.extend_from_slice(extra);
    let (out, _) = project.run_ok(&args);
    let stack = devenv::stack::load(&project.path("devenv.toml")).unwrap_or_else(|e| {
        panic!(
            "devenv's loader refused the import: {e}\n{}",
            project.read("devenv.toml")
        )
    });
    (out, stack)
}

fn host_port(stack: &Stack, service: &str, container: u16) -> Option<HostPort> {
    stack.services[service]
        .ports
        .iter()
        .find(|p| p.container == container)
        .map(|p| p.host.clone())
}

/// `devenv generate`, then docker-compose 1.29's `config -q` on the file (without the `name:`
/// line 1.29 does not know, with `.env.example` for the variables).
fn assert_docker_compose_accepts(project: &TestProject) {
    project.run_ok(&["generate"]);
    if !require(
        "docker-compose",
        has_program("docker-compose", &["version"]),
    ) {
        return;
    }
    let (code, err) = compose_config_check(project);
    let compose = project.read("docker-compose.yml");
    assert_eq!(code, 0, "docker-compose config rejected:\n{err}\n{compose}");
}

#[test]
fn saleor_keeps_its_database_init_script_env_files_and_valkey() {
    let project = corpus_project("saleor-platform", &[]);
    let (out, stack) = import(&project, "saleor-platform/docker-compose.yml", &[]);
    let db = &stack.services["db"];
    assert_eq!(db.catalog.as_deref(), Some("postgres"));
    assert_eq!(db.image, "postgres:15-alpine");
    assert_eq!(db.env["POSTGRES_USER"], "saleor");
    assert_eq!(
        db.env["POSTGRES_DB"], "saleor",
        "the database the image implies"
    );
    assert!(matches!(
        host_port(&stack, "db", 5432),
        Some(HostPort::Variable { .. })
    ));
    assert!(db.volumes.iter().any(|v| matches!(v, Volume::Bind { source, target, read_only: true }
        if source == "./saleor-platform/replica_user.sql" && target == "/docker-entrypoint-initdb.d/replica_user.sql")));
    let password = &stack.variables["POSTGRES_PASSWORD"];
    assert_eq!(db.env["POSTGRES_PASSWORD"], "${POSTGRES_PASSWORD}");
    assert_eq!(
        password.value.as_deref(),
        Some("saleor"),
        "hard-coded in DATABASE_URL: plain"
    );
    let cache = &stack.services["cache"];
    assert_eq!(
        cache.image, "valkey/valkey:8.1-alpine",
        "valkey must not become redis:7"
    );
    assert!(
        matches!(&cache.health.as_ref().unwrap().check, HealthCheck::Command(c) if c[0] == "valkey-cli")
    );
    assert_eq!(
        stack.services["mailpit"].catalog.as_deref(),
        Some("mailpit")
    );
    let api = &stack.services["api"];
    assert_eq!(api.env["HTTP_IP_FILTER_ENABLED"], "True", "common.env read");
    assert_eq!(
        api.env["DEFAULT_FROM_EMAIL"], "noreply@example.com",
        "backend.env read"
    );
    assert!(stack.variables["SECRET_KEY"].secret);
    assert_eq!(api.env["SECRET_KEY"], "${SECRET_KEY}");
    assert_eq!(
        stack.variables["DATABASE_URL"].value.as_deref(),
        Some("postgres://saleor:${POSTGRES_PASSWORD}@127.0.0.1:${DB_PORT}/saleor")
    );
    assert_eq!(
        stack.variables["CACHE_URL"].value.as_deref(),
        Some("redis://127.0.0.1:${CACHE_PORT}/0")
    );
    assert_eq!(
        stack.variables["EMAIL_URL"].value.as_deref(),
        Some("smtp://127.0.0.1:${MAILPIT_PORT}")
    );
    assert!(stack.services.contains_key("jaeger"));
    assert_mentions(
        &out,
        &[
            "tmpfs /tmp",
            "restart",
            "networks saleor-backend-tier",
            "options z",
        ],
    );
    let text = project.read("devenv.toml");
    assert_mentions(
        &text,
        &[
            "# compose: tmpfs mount at /tmp",
            "# compose: restart: unless-stopped",
        ],
    );
    assert!(
        !text.contains("changeme"),
        "a secret literal was written:\n{text}"
    );
    assert_docker_compose_accepts(&project);
}

#[test]
fn langfuse_keeps_ports_commands_and_leaves_the_profiled_service_out() {
    let project = corpus_project("langfuse-dev", &[]);
    let (out, stack) = import(&project, "langfuse-dev/docker-compose.dev.yml", &[]);
    let postgres = &stack.services["postgres"];
    assert_eq!(
        (postgres.catalog.as_deref(), postgres.image.as_str()),
        (Some("postgres"), "postgres:17")
    );
    assert_eq!(
        postgres.command.as_deref().unwrap(),
        ["postgres", "-c", "log_statement=all"]
    );
    for (key, value) in [
        ("TZ", "UTC"),
        ("PGTZ", "UTC"),
        ("POSTGRES_USER", "${POSTGRES_USER:-postgres}"),
    ] {
        assert_eq!(postgres.env[key], value);
    }
    assert!(stack.variables.contains_key("POSTGRES_PASSWORD"));
    let redis = &stack.services["redis"];
    assert_eq!(redis.image, "redis:7.2.4");
    let command = redis.command.as_ref().unwrap().join(" ");
    assert_mentions(
        &command,
        &[
            "--requirepass ${REDIS_AUTH:-myredissecret}",
            "--maxmemory-policy noeviction",
        ],
    );
    let minio = &stack.services["minio"];
    assert_eq!(
        (minio.catalog.as_deref(), minio.image.as_str()),
        (Some("minio"), "cgr.dev/chainguard/minio")
    );
    assert!(matches!(
        host_port(&stack, "minio", 9000),
        Some(HostPort::Fixed(9090))
    ));
    assert!(matches!(
        host_port(&stack, "minio", 9001),
        Some(HostPort::Fixed(9091))
    ));
    assert!(stack.variables["MINIO_ROOT_PASSWORD"].secret);
    let clickhouse = &stack.services["clickhouse"];
    assert_eq!(clickhouse.image, "clickhouse/clickhouse-server:25.12");
    assert!(
        host_port(&stack, "clickhouse", 9000).is_some()
            && host_port(&stack, "clickhouse", 8123).is_some()
    );
    assert!(
        !stack.services.contains_key("floci"),
        "floci is in a profile, not the default stack"
    );
    assert_mentions(
        &out,
        &[
            "floci",
            "--profile worker-tests",
            "user",
            "entrypoint",
            "container_name",
            "name ${POSTGRES_VOLUME_NAME",
        ],
    );
    let text = project.read("devenv.toml");
    assert_mentions(
        &text,
        &[
            "`POSTGRES_HOST_PORT` is devenv's `POSTGRES_PORT`",
            "# compose: entrypoint: sh",
            "# compose: user: 101:101",
        ],
    );
    assert_docker_compose_accepts(&project);
}

#[test]
fn langfuse_floci_states_its_docker_socket_when_its_profile_is_asked() {
    let project = corpus_project("langfuse-dev", &[]);
    let (out, stack) = import(
        &project,
        "langfuse-dev/docker-compose.dev.yml",
        &["--profile", "worker-tests"],
    );
    assert!(stack.services["floci"].host_access.docker_socket);
    assert_mentions(&out, &["mounts the Docker socket"]);
}

#[test]
fn hoppscotch_imports_the_default_profile_and_reports_what_it_cannot_build() {
    let project = corpus_project("hoppscotch", &[("env.example", ".env.example")]);
    let (out, stack) = import(&project, "hoppscotch/docker-compose.yml", &[]);
    assert_eq!(stack.services.keys().collect::<Vec<_>>(), ["hoppscotch-db"]);
    let db = &stack.services["hoppscotch-db"];
    assert_eq!(
        (db.image.as_str(), db.env["POSTGRES_DB"].as_str()),
        ("postgres:15", "hoppscotch")
    );
    assert_eq!(
        stack.variables["POSTGRES_PASSWORD"].value.as_deref(),
        Some("testpass")
    );
    let HealthCheck::Command(cmd) = &db.health.as_ref().unwrap().check else {
        panic!("a command check")
    };
    assert!(
        cmd[2].contains("$${POSTGRES_USER}"),
        "kept for the container shell: {cmd:?}"
    );
    let key = &stack.variables["DATA_ENCRYPTION_KEY"];
    assert!(key.secret);
    assert_mentions(&key.description, &["32 characters"]);
    assert_eq!(
        stack.variables["DATABASE_URL"].value.as_deref(),
        Some(
            "postgresql://postgres:${POSTGRES_PASSWORD}@127.0.0.1:${HOPPSCOTCH_DB_PORT}/hoppscotch"
        )
    );
    assert_mentions(
        &out,
        &[
            "profile `default`",
            "hoppscotch-aio",
            "3170:3170",
            "prisma migrate deploy",
            "container_name `hoppscotch-aio` is set on hoppscotch-aio, hoppscotch-aio-no-db",
            "host port 3000 is published by",
            ".env.example",
        ],
    );
    assert_docker_compose_accepts(&project);
}

#[test]
fn hoppscotch_without_a_default_profile_asks_for_one() {
    let project = corpus_project("hoppscotch", &[("env.example", ".env.example")]);
    let err = project.fails(&[
        "init",
        "--from",
        "hoppscotch/docker-compose.yml",
        "--profile",
        "nope",
    ]);
    assert_mentions(&err, &["profile `nope`", "default-no-db"]);

    let text = project
        .read("hoppscotch/docker-compose.yml")
        .replace("\"default\"", "\"main\"");
    project.write("hoppscotch/docker-compose.yml", &text);
    let err = project.fails(&["init", "--from", "hoppscotch/docker-compose.yml"]);
    assert_mentions(&err, &["every service", "--profile"]);
}

#[test]
fn svix_merges_the_override_and_keeps_the_jwt_secret_secret() {
    let project = corpus_project("svix-server", &[]);
    let (out, stack) = import(&project, "svix-server/docker-compose.yml", &[]);
    assert_mentions(
        &out,
        &["docker-compose.override.yml", "start_interval", "build"],
    );
    assert!(matches!(
        host_port(&stack, "pgbouncer", 5432),
        Some(HostPort::Fixed(8079))
    ));
    assert!(matches!(
        host_port(&stack, "redis", 6379),
        Some(HostPort::Fixed(8078))
    ));
    assert!(stack.variables["SVIX_JWT_SECRET"].secret);
    let postgres = &stack.services["postgres"];
    assert_eq!(
        (
            postgres.image.as_str(),
            postgres.env["POSTGRES_DB"].as_str()
        ),
        ("postgres:13.4", "postgres")
    );
    let redis = &stack.services["redis"];
    assert_eq!(redis.image, "redis:7-alpine");
    assert!(
        redis
            .command
            .as_ref()
            .unwrap()
            .contains(&"--appendonly".to_string())
    );
    assert!(
        redis
            .volumes
            .iter()
            .any(|v| matches!(v, Volume::Named { target, .. } if target == "/data"))
    );
    assert_eq!(stack.services["backend"].image, "svix/svix-server");
    assert_eq!(stack.services["backend"].depends_on, ["pgbouncer", "redis"]);
    assert_eq!(stack.services["pgbouncer"].depends_on, ["postgres"]);
    assert_eq!(
        stack.variables["SVIX_DB_DSN"].value.as_deref(),
        Some("postgresql://postgres:${POSTGRES_PASSWORD}@127.0.0.1:8079/postgres")
    );
    assert_docker_compose_accepts(&project);
}

#[test]
fn temporal_reads_the_dotenv_beside_the_file() {
    let project = corpus_project("temporal-mysql", &[("committed.env", ".env")]);
    let (out, stack) = import(&project, "temporal-mysql/docker-compose-mysql.yml", &[]);
    assert_eq!(stack.project.name, "temporal", "COMPOSE_PROJECT_NAME");
    let mysql = &stack.services["mysql"];
    assert_eq!(
        (mysql.catalog.as_deref(), mysql.image.as_str()),
        (Some("mysql"), "mysql:8")
    );
    assert!(
        mysql
            .volumes
            .iter()
            .any(|v| matches!(v, Volume::Named { target, .. } if target == "/var/lib/mysql"))
    );
    assert_eq!(
        stack.services["temporal"].env["MYSQL_PWD"],
        "${MYSQL_ROOT_PASSWORD}"
    );
    assert_eq!(
        stack.services["temporal"].image,
        "temporalio/auto-setup:1.29.1"
    );
    assert_eq!(stack.services["temporal-ui"].image, "temporalio/ui:2.34.0");
    assert_mentions(
        &out,
        &[
            "anonymous volume",
            "version",
            "temporal-network",
            "container_name",
        ],
    );
    assert_docker_compose_accepts(&project);
}

#[test]
fn queues_documents_and_completed_dependencies() {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    project.write(
        "app/compose.yaml",
        "services:
  queue:
    image: rabbitmq:3-management
    ports: ['5672:5672', '15672:15672']
    environment: {RABBITMQ_DEFAULT_USER: app, RABBITMQ_DEFAULT_PASS: hunter22}
  docs:
    image: docker.io/library/mongo:7
    ports: ['27018:27017']
    restart: no
  bus:
    image: nats:2.10
    command: [-js]
    ports: ['4222']
  migrate:
    image: example/migrate:1
    depends_on: [docs]
  api:
    image: example/api:1
    environment:
      AMQP_URL: amqp://app:hunter22@queue:5672/
    depends_on:
      migrate: {condition: service_completed_successfully}
      queue: {condition: service_healthy, restart: true}
      bus: {condition: service_started}
",
    );
    let (out, stack) = import(&project, "app/compose.yaml", &[]);
    assert_eq!(stack.services["queue"].catalog.as_deref(), Some("rabbitmq"));
    assert_eq!(stack.services["docs"].catalog.as_deref(), Some("mongodb"));
    assert_eq!(stack.services["docs"].image, "mongo:7");
    assert_eq!(stack.services["bus"].catalog.as_deref(), Some("nats"));
    assert_eq!(stack.services["bus"].command.as_deref().unwrap(), ["-js"]);
    assert_eq!(
        stack.services["api"].depends_on,
        ["migrate", "queue", "bus"]
    );
    assert!(
        stack.variables["RABBITMQ_DEFAULT_PASS"].value.is_some(),
        "hard-coded in AMQP_URL"
    );
    assert_eq!(
        stack.variables["AMQP_URL"].value.as_deref(),
        Some("amqp://app:${RABBITMQ_DEFAULT_PASS}@127.0.0.1:${QUEUE_PORT}/")
    );
    assert_mentions(
        &out,
        &[
            "service_completed_successfully",
            "restart: true",
            "docs: restart",
        ],
    );
    // YAML 1.2: `restart: no` is the string "no", kept as written in the comment.
    assert_mentions(&project.read("devenv.toml"), &["# compose: restart: no ("]);
    assert_docker_compose_accepts(&project);
}

#[test]
fn the_json_report_is_versioned_and_names_no_secret() {
    let project = corpus_project("saleor-platform", &[]);
    let (out, _) = project.run_ok(&[
        "init",
        "--from",
        "saleor-platform/docker-compose.yml",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["version"], 1);
    let services = doc["import"]["services"].as_array().unwrap();
    assert!(
        services
            .iter()
            .any(|s| s["name"] == "db" && s["outcome"] == "catalog" && s["catalog"] == "postgres")
    );
    assert!(
        doc["import"]["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "restart")
    );
    assert!(!out.contains("changeme"));
}

#[test]
fn an_existing_stack_file_is_kept_without_force() {
    let project = corpus_project("svix-server", &[]);
    project.write("devenv.toml", "# mine\n");
    let err = project.fails(&["init", "--from", "svix-server/docker-compose.yml"]);
    assert_mentions(&err, &["already exists", "--force"]);
    assert_eq!(project.read("devenv.toml"), "# mine\n");
    project.run_ok(&[
        "init",
        "--from",
        "svix-server/docker-compose.yml",
        "--force",
    ]);
}

#[test]
fn bad_yaml_is_reported_with_file_and_line() {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    project.write(
        "compose.yml",
        "services:\n  db:\n    image: postgres\n   ports: [1]\n",
    );
    let err = project.fails(&["init", "--from", "compose.yml"]);
    assert_mentions(&err, &["compose.yml:", "not valid YAML", "help:"]);
    assert!(!project.path("devenv.toml").exists());
}

#[test]
fn a_bad_interpolation_is_reported_with_file_and_line() {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    project.write(
        "compose.yml",
        "services:\n  api:\n    image: example/api:1\n    environment:\n      PRICE: 5$\n",
    );
    let err = project.fails(&["init", "--from", "compose.yml"]);
    assert_mentions(&err, &["compose.yml:5:", "invalid interpolation", "$$"]);
    assert!(!project.path("devenv.toml").exists());
}

#[test]
fn a_bad_password_is_located_but_never_shown() {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    project.write(
        "compose.yml",
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr3t-value$\n",
    );
    let err = project.fails(&["init", "--from", "compose.yml"]);
    assert_mentions(&err, &["compose.yml:5", "POSTGRES_PASSWORD", "$$"]);
    assert!(!err.contains("s3cr"), "the value was shown:\n{err}");
    project.write(
        "compose.yml",
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: s3cr$t-value\n",
    );
    let (_, stack) = import(&project, "compose.yml", &[]);
    assert!(
        stack.variables["POSTGRES_PASSWORD"].secret,
        "a value with `$t` in it is lifted too"
    );
    assert!(!project.read("devenv.toml").contains("s3cr"));
}

#[test]
fn several_files_merge_in_order_without_an_automatic_override() {
    let project = TestProject::empty(format!("import{}", unique_suffix()));
    project.write("compose.yaml", "services:\n  cache:\n    image: redis:7\n");
    project.write(
        "compose.override.yaml",
        "services:\n  cache:\n    image: redis:6\n",
    );
    project.write(
        "local.yaml",
        "services:\n  cache:\n    ports: ['16379:6379']\n",
    );
    let (out, stack) = import(&project, "compose.yaml", &["local.yaml"]);
    assert_eq!(
        stack.services["cache"].image, "redis:7",
        "no override with several files"
    );
    assert!(matches!(
        host_port(&stack, "cache", 6379),
        Some(HostPort::Fixed(16379))
    ));
    assert!(!out.contains("compose.override.yaml"));
    let (out, stack) = import(&project, "compose.yaml", &["--force"]);
    assert_eq!(
        stack.services["cache"].image, "redis:6",
        "the override beside one file"
    );
    assert_mentions(&out, &["compose.override.yaml"]);
}
