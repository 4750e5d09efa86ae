//! `devenv export`: the GitHub Actions workflow and the GitLab CI job validate against the
//! schemas check-jsonschema ships, the Kubernetes manifests against the Kubernetes schema
//! (kubernetes-validate, pinned to one version) and through `kubectl apply --dry-run=client`;
//! no secret value is ever written; these need no Docker Engine. Two tests run what was
//! exported on the engine, as the runner and the kubelet would: the GitHub job's service
//! container (its `options` split as the runner splits them) and steps, and the Kubernetes
//! database workload with its migration Job.

use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The Kubernetes version the manifests are validated against (kubernetes-validate ships the
/// schemas of 1.25 to 1.37; kubectl's client here is 1.32).
const KUBERNETES_VERSION: &str = "1.32.0";

/// A secret value written into `.env`: it must never appear in an export.
const SECRET_VALUE: &str = "s3cret-value-never-exported";

/// MariaDB with a declared secret, a catalog secret, seeds and two apps (one with an image).
const MARIADB_APPS: &str = r#"[project]
name = "{name}"

[services.db]
use = "mariadb"
image = "mariadb:11"
env = { MARIADB_USER = "shop", MARIADB_PASSWORD = "${DB_PASSWORD}", MARIADB_DATABASE = "shop" }

[services.cache]
use = "redis"
image = "redis:7"
command = ["redis-server", "--appendonly", "yes"]

[env.DB_PASSWORD]
secret = true

[env.DATABASE_URL]
value = "mysql://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]

[apps.api]
command = "python3 app.py"
image = "registry.example.com/shop/api:1.0"
port = 8000
depends_on = ["db"]
health = { http = "/health" }
env = { LOG_LEVEL = "debug" }

[apps.worker]
command = "python3 worker.py"
"#;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop")
}

/// `devenv ARGS` in `dir`; asserts success; (stdout, stderr).
fn devenv_in(dir: &Path, args: &[&str]) -> (String, String) {
    let (code, out, err) = output(
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_devenv"))
            .current_dir(dir)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("DEVENV_FILE"),
    );
    assert_eq!(code, 0, "devenv {args:?} failed:\n{out}\n{err}");
    (out, err)
}

fn mariadb_project() -> TestProject {
    let project = TestProject::new(MARIADB_APPS);
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT);\n",
    );
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products VALUES (1, 'tea');\n",
    );
    project.write(
        ".env",
        &format!("DB_PASSWORD={SECRET_VALUE}\nDB_MARIADB_ROOT_PASSWORD={SECRET_VALUE}-root\n"),
    );
    project
}

fn schema_tools() -> bool {
    require(
        "check-jsonschema (pip install check-jsonschema)",
        has_program("check-jsonschema", &["--version"]),
    )
}

fn kubernetes_validate_ok() -> bool {
    require(
        "kubernetes-validate (pip install kubernetes-validate)",
        has_program("kubernetes-validate", &["--version"]),
    )
}

/// Writes `text` to a temporary file named `name` and runs check-jsonschema on it.
fn check_schema(schema: &str, name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let (code, out, err) = output(
        assert_cmd::Command::new("check-jsonschema")
            .args(["--builtin-schema", schema])
            .arg(&path),
    );
    assert_eq!(code, 0, "{schema} rejected:\n{text}\n{out}\n{err}");
}

/// kubernetes-validate --strict (unknown fields are errors) on a file or directory.
fn kubernetes_validate(path: &Path) {
    let paths: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let (code, out, err) = output(
        assert_cmd::Command::new("kubernetes-validate")
            .args([
                "--strict",
                "--quiet",
                "--kubernetes-version",
                KUBERNETES_VERSION,
            ])
            .args(&paths),
    );
    assert_eq!(
        code, 0,
        "kubernetes-validate rejected {path:?}:\n{out}\n{err}"
    );
}

fn yaml_documents(text: &str) -> Vec<serde_norway::Value> {
    text.split("\n---\n")
        .map(|d| serde_norway::from_str(d).unwrap())
        .collect()
}

fn object<'a>(
    objects: &'a [serde_norway::Value],
    kind: &str,
    name: &str,
) -> &'a serde_norway::Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the export"))
}

#[test]
fn the_example_exports_a_github_workflow_that_the_schema_accepts() {
    if !schema_tools() {
        return;
    }
    let (workflow, err) = devenv_in(&example_dir(), &["export", "github-actions"]);
    check_schema("vendor.github-workflows", "devenv.yml", &workflow);
    let yaml: serde_norway::Value = serde_norway::from_str(&workflow).unwrap();
    let job = &yaml["jobs"]["shop"];
    let db = &job["services"]["db"];
    assert_eq!(db["image"], "postgres:16");
    assert_eq!(db["ports"][0], "5432:5432");
    assert_eq!(db["env"]["POSTGRES_PASSWORD"], "${{ secrets.DB_PASSWORD }}");
    let options = db["options"].as_str().unwrap();
    assert_mentions(
        options,
        &[
            "--health-cmd \"pg_isready",
            "--health-interval 1s",
            "--health-timeout 3s",
            "--health-retries 30",
        ],
    );
    assert_eq!(job["services"]["cache"]["image"], "redis:7");
    // The port variables the steps see are the ports the services publish.
    assert_eq!(job["env"]["DB_PORT"], "5432");
    assert_eq!(job["env"]["CACHE_PORT"], "6379");
    assert_eq!(job["env"]["DB_PASSWORD"], "${{ secrets.DB_PASSWORD }}");
    let runs: Vec<&str> = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(runs.contains(&"devenv migrate"), "{runs:?}");
    assert!(runs.contains(&"devenv seed"), "{runs:?}");
    assert_mentions(
        &err,
        &[
            "not exported: app `api`",
            "not exported: app `web`",
            "not exported: volume `db-data`",
            "secrets DB_PASSWORD",
        ],
    );
}

#[test]
fn the_example_exports_a_gitlab_job_that_the_schema_accepts() {
    if !schema_tools() {
        return;
    }
    let (pipeline, err) = devenv_in(&example_dir(), &["export", "gitlab-ci"]);
    check_schema("vendor.gitlab-ci", ".gitlab-ci.yml", &pipeline);
    let yaml: serde_norway::Value = serde_norway::from_str(&pipeline).unwrap();
    let job = &yaml["shop"];
    assert_eq!(job["services"][0]["name"], "postgres:16");
    assert_eq!(job["services"][0]["alias"], "db");
    assert_eq!(
        job["variables"]["DATABASE_URL"],
        "postgres://shop:${DB_PASSWORD}@db:5432/shop"
    );
    assert_mentions(
        &err,
        &["not exported: app `api`", "CI/CD variables DB_PASSWORD"],
    );
}

#[test]
fn the_example_exports_kubernetes_manifests_that_validate() {
    if !kubernetes_validate_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.yaml");
    let (json, _) = devenv_in(
        &example_dir(),
        &[
            "export",
            "kubernetes",
            "--json",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    kubernetes_validate(&file);
    kubectl_dry_run(&file, "shop-dev");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["target"], "kubernetes");
    assert_eq!(report["secrets"], serde_json::json!(["DB_PASSWORD"]));
    let dropped: Vec<(&str, &str)> = report["not_exported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap(), d["name"].as_str().unwrap()))
        .collect();
    assert_eq!(dropped, [("app", "api"), ("app", "web")]);
    assert!(
        report["not_exported"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("names no `image`")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let objects = yaml_documents(text.split_once("\n").unwrap().1);
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[0]["metadata"]["name"], "shop-dev");
    // A PersistentVolumeClaim per named volume, mounted by a StatefulSet.
    object(&objects, "PersistentVolumeClaim", "db-data");
    object(&objects, "PersistentVolumeClaim", "cache-data");
    let db = object(&objects, "StatefulSet", "db");
    let container = &db["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "postgres:16");
    let probe = &container["readinessProbe"];
    assert_eq!(probe["periodSeconds"], 1);
    assert_eq!(probe["failureThreshold"], 30);
    assert_eq!(probe["exec"]["command"][0], "sh");
    object(&objects, "Service", "db");
    object(&objects, "Service", "cache");
    let secret = object(&objects, "Secret", "shop-secrets");
    assert_eq!(secret["stringData"]["DB_PASSWORD"], "<REPLACE_ME>");
    let migrations = object(&objects, "ConfigMap", "shop-migrations");
    assert!(
        migrations["data"]["0000-0001_create_products.sql"]
            .as_str()
            .unwrap()
            .contains("CREATE TABLE")
    );
    object(&objects, "ConfigMap", "shop-seeds");
    let job = object(&objects, "Job", "shop-database");
    let script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert_mentions(script, &["psql -v ON_ERROR_STOP=1 -f /devenv/migrations/"]);
}

#[test]
fn a_mariadb_stack_with_secrets_and_apps_exports_everywhere_without_secret_values() {
    if !schema_tools() || !kubernetes_validate_ok() {
        return;
    }
    let project = mariadb_project();
    let (_, err) = project.run_ok(&["export", "github-actions", "--output", ".github/workflows/"]);
    assert_mentions(&err, &["created", "devenv.yml"]);
    let workflow = project.read(".github/workflows/devenv.yml");
    check_schema("vendor.github-workflows", "devenv.yml", &workflow);
    let (pipeline, _) = project.run_ok(&["export", "gitlab-ci"]);
    check_schema("vendor.gitlab-ci", ".gitlab-ci.yml", &pipeline);
    let (manifests, err) = project.run_ok(&["export", "kubernetes", "--namespace", "shop-review"]);
    for text in [&workflow, &pipeline, &manifests] {
        assert!(
            !text.contains(SECRET_VALUE),
            "a secret value was exported:\n{text}"
        );
    }
    let gh: serde_norway::Value = serde_norway::from_str(&workflow).unwrap();
    let job = gh["jobs"].as_mapping().unwrap().values().next().unwrap();
    let db = &job["services"]["db"];
    assert_eq!(db["image"], "mariadb:11");
    assert_eq!(db["env"]["MARIADB_PASSWORD"], "${{ secrets.DB_PASSWORD }}");
    assert_mentions(
        db["options"].as_str().unwrap(),
        &["--health-cmd", "--health-retries"],
    );
    assert!(
        job["env"]["DB_MARIADB_ROOT_PASSWORD"]
            .as_str()
            .unwrap()
            .contains("secrets.DB_MARIADB_ROOT_PASSWORD")
    );
    let gl: serde_norway::Value = serde_norway::from_str(&pipeline).unwrap();
    let gl_job = gl.as_mapping().unwrap().values().next().unwrap();
    // GitLab CI services take a command (GitHub's do not: it is reported there).
    assert_eq!(gl_job["services"][1]["command"][2], "yes");

    let file = project.path("k8s.yaml");
    project.write("k8s.yaml", &manifests);
    kubernetes_validate(&file);
    kubectl_dry_run(&file, "shop-review");
    let objects = yaml_documents(manifests.split_once("\n").unwrap().1);
    assert_eq!(objects[0]["metadata"]["name"], "shop-review");
    let secrets = format!("{}-secrets", project.name);
    let secret = object(&objects, "Secret", &secrets);
    assert_eq!(secret["stringData"]["DB_PASSWORD"], "<REPLACE_ME>");
    assert_eq!(
        secret["stringData"]["DB_MARIADB_ROOT_PASSWORD"],
        "<REPLACE_ME>"
    );
    let db = object(&objects, "StatefulSet", "db");
    let env = db["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap();
    let password = env
        .iter()
        .find(|e| e["name"] == "MARIADB_PASSWORD")
        .unwrap();
    assert_eq!(
        password["valueFrom"]["secretKeyRef"]["name"],
        secrets.as_str()
    );
    // The app that names an image is a Deployment with a Service and the stack's variables,
    // reaching the database by its Service name; the other is listed as not exported.
    let api = object(&objects, "Deployment", "api");
    let container = &api["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example.com/shop/api:1.0");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health");
    let env = container["env"].as_sequence().unwrap();
    let url = env.iter().find(|e| e["name"] == "DATABASE_URL").unwrap();
    assert_eq!(url["value"], "mysql://shop:$(DB_PASSWORD)@db:3306/shop");
    object(&objects, "Service", "api");
    let job = object(&objects, "Job", &format!("{}-database", project.name));
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "mariadb:11");
    assert_mentions(
        container["command"][2].as_str().unwrap(),
        &[
            "mariadb -h \"$DB_HOST\"",
            "/devenv/seeds/0000-01_products.sql",
        ],
    );
    assert_mentions(&err, &["not exported: app `worker`: it names no `image`"]);
    assert!(!err.contains("app `api`: it names"), "{err}");
}

#[test]
fn kubernetes_to_a_directory_writes_one_file_per_object_and_keeps_hand_edits() {
    if !kubernetes_validate_ok() {
        return;
    }
    let project = mariadb_project();
    let (_, err) = project.run_ok(&["export", "kubernetes", "--output", "k8s/"]);
    assert_mentions(&err, &["created", "00-namespace-"]);
    let dir = project.path("k8s");
    kubernetes_validate(&dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().any(|n| n.ends_with("-statefulset-db.yaml")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with("-deployment-api.yaml")),
        "{names:?}"
    );
    let (_, err) = project.run_ok(&["export", "kubernetes", "--output", "k8s"]);
    assert!(
        err.contains("unchanged") && !err.contains("created"),
        "{err}"
    );
    let edited = dir.join(
        names
            .iter()
            .find(|n| n.ends_with("-service-db.yaml"))
            .unwrap(),
    );
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, text.replace("port: 3306", "port: 3307")).unwrap();
    let err = project.fails(&["export", "kubernetes", "--output", "k8s"]);
    assert_mentions(
        &err,
        &["edited by hand", "devenv export kubernetes --force"],
    );
    project.run_ok(&["export", "kubernetes", "--output", "k8s", "--force"]);
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), text);
}

/// `kubectl apply --dry-run=client` on `file`. kubectl asks an API server which kinds exist
/// and whether each object does, even with a client-side dry run, so it is pointed at a stub
/// that answers discovery for the kinds devenv writes and "not found" for every object;
/// `--validate=false` since the stub serves no OpenAPI (kubernetes-validate checks the
/// schema). What this adds: kubectl reads the stream and maps every object to a resource.
fn kubectl_dry_run(file: &Path, namespace: &str) {
    if !require("kubectl", has_program("kubectl", &["version", "--client"])) {
        return;
    }
    let server = stub_api_server();
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        assert_cmd::Command::new("kubectl")
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("none"))
            .args([
                "apply",
                "--dry-run=client",
                "--validate=false",
                "-o",
                "name",
            ])
            .arg(format!("--server=http://{server}"))
            .arg("-f")
            .arg(file),
    );
    assert_eq!(
        code, 0,
        "kubectl apply --dry-run=client failed:\n{out}\n{err}"
    );
    assert_mentions(
        &out,
        &[
            &format!("namespace/{namespace}"),
            "statefulset.apps/db",
            "job.batch/",
        ],
    );
}

/// A stub of the Kubernetes API for kubectl's discovery, on a free port of 127.0.0.1; the
/// listener lives as long as the test process.
fn stub_api_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    address
}

fn answer(mut stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let resource = |name: &str, kind: &str, namespaced: bool| {
        serde_json::json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced,
            "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "update"]})
    };
    let group = |name: &str| {
        let version = serde_json::json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
        serde_json::json!({"name": name, "versions": [version], "preferredVersion": version})
    };
    let (status, body) = match path {
        "/api" => (
            200,
            serde_json::json!({"kind": "APIVersions", "versions": ["v1"]}),
        ),
        "/apis" => (
            200,
            serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group("apps"), group("batch")]}),
        ),
        "/api/v1" => (
            200,
            serde_json::json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                resource("namespaces", "Namespace", false), resource("services", "Service", true),
                resource("secrets", "Secret", true), resource("configmaps", "ConfigMap", true),
                resource("persistentvolumeclaims", "PersistentVolumeClaim", true)]}),
        ),
        "/apis/apps/v1" => (
            200,
            serde_json::json!({"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
                resource("deployments", "Deployment", true), resource("statefulsets", "StatefulSet", true)]}),
        ),
        "/apis/batch/v1" => (
            200,
            serde_json::json!({"kind": "APIResourceList", "groupVersion": "batch/v1", "resources": [
                resource("jobs", "Job", true)]}),
        ),
        _ => (
            404,
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "not found"}),
        ),
    };
    let body = body.to_string();
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A container this test runs by hand, removed with its anonymous volumes when dropped.
struct RunningContainer(String);

impl Drop for RunningContainer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .output();
    }
}

/// The words of a command line as the Actions runner splits `options` before `docker create`
/// (the Windows rules .NET applies on every platform: double quotes group, backslashes
/// escape a quote only).
fn runner_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut in_quotes, mut started, mut backslashes) = (false, false, 0usize);
    for c in line.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                started = true;
                continue;
            }
            '"' => {
                word.push_str(&"\\".repeat(backslashes / 2));
                if backslashes % 2 == 1 {
                    word.push('"');
                } else {
                    in_quotes = !in_quotes;
                }
                started = true;
            }
            ' ' | '\t' if !in_quotes => {
                word.push_str(&"\\".repeat(backslashes));
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            _ => {
                word.push_str(&"\\".repeat(backslashes));
                word.push(c);
                started = true;
            }
        }
        backslashes = 0;
    }
    word.push_str(&"\\".repeat(backslashes));
    if started {
        words.push(word);
    }
    words
}

#[test]
fn the_github_job_runs_as_the_runner_would_run_it() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::new(SHOP);
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL);\n",
    );
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (name) VALUES ('tea');\n",
    );
    let (workflow, _) = project.run_ok(&["export", "github-actions"]);
    let yaml: serde_norway::Value = serde_norway::from_str(&workflow).unwrap();
    let job = yaml["jobs"].as_mapping().unwrap().values().next().unwrap();
    let db = &job["services"]["db"];
    // The service container as the runner creates it: its image (the fixture standing in for
    // it), env with the secret filled in, its port (on a free host port: tests run in
    // parallel), and `options` split as the runner splits them.
    let password = "pw-from-the-secret-store";
    let fill = |value: &str, port: u16| {
        value
            .replace("${{ secrets.DB_PASSWORD }}", password)
            .replace("5432", &port.to_string())
    };
    let port = free_port();
    let image = db["image"].as_str().unwrap();
    let fixture = FIXTURES.iter().find(|(from, _)| *from == image).unwrap().1;
    let name = format!("devenv-export-{}", unique_suffix());
    let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), name.clone()];
    args.extend(["-p".into(), format!("127.0.0.1:{port}:5432")]);
    for (key, value) in db["env"].as_mapping().unwrap() {
        let value = value
            .as_str()
            .unwrap()
            .replace("${{ secrets.DB_PASSWORD }}", password);
        args.extend(["-e".into(), format!("{}={value}", key.as_str().unwrap())]);
    }
    let options = runner_words(db["options"].as_str().unwrap());
    assert_eq!(options[0], "--health-cmd");
    assert!(
        options[1].starts_with("pg_isready")
            && options[1].contains("\"${POSTGRES_USER:-postgres}\""),
        "{options:?}"
    );
    args.extend(options);
    args.push(fixture.into());
    let _container = RunningContainer(name.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker(&args);
    // The runner waits for the health command to say healthy before the first step.
    wait_until(
        "the service container's health check",
        std::time::Duration::from_secs(120),
        || docker(&["inspect", "-f", "{{.State.Health.Status}}", &name]).trim() == "healthy",
    );
    // The steps after checkout and install, with the job's env, devenv on PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_devenv")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env: Vec<(String, String)> = job["env"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                fill(v.as_str().unwrap(), port),
            )
        })
        .collect();
    let steps = job["steps"].as_sequence().unwrap();
    let runs: Vec<&str> = steps
        .iter()
        .filter(|s| s["name"] != "Install devenv")
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for run in runs {
        let (code, out, err) = output(
            assert_cmd::Command::new("bash")
                .args(["-e", "-c", run])
                .current_dir(project.root())
                .envs(env.iter().map(|(k, v)| (k, v)))
                .env("PATH", &path)
                .env("XDG_CONFIG_HOME", project.path(".config"))
                .env("NO_COLOR", "1"),
        );
        assert_eq!(code, 0, "step `{run}` failed:\n{out}\n{err}");
    }
    let rows = docker(&[
        "exec",
        &name,
        "psql",
        "-U",
        "shop",
        "-d",
        "shop",
        "-tAc",
        "SELECT name FROM products",
    ]);
    assert_eq!(rows.trim(), "tea");
}

/// A network this test creates, removed when dropped (after the containers on it).
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &self.0])
            .output();
    }
}

/// A container's `env` from a manifest as `-e` arguments, each secret reference filled in
/// from `secrets` as Kubernetes would from the Secret.
fn env_args(container: &serde_norway::Value, secrets: &[(&str, &str)]) -> Vec<String> {
    let mut args = Vec::new();
    for entry in container["env"].as_sequence().into_iter().flatten() {
        let value = match entry["value"].as_str() {
            Some(value) => value.to_string(),
            None => {
                let key = entry["valueFrom"]["secretKeyRef"]["key"].as_str().unwrap();
                let (_, value) = secrets.iter().find(|(name, _)| *name == key).unwrap();
                value.to_string()
            }
        };
        assert!(!value.contains("$("), "a value to expand: {value}");
        args.extend([
            "-e".into(),
            format!("{}={value}", entry["name"].as_str().unwrap()),
        ]);
    }
    args
}

/// Runs the exported database workload and migration Job of `project` (PostgreSQL or
/// MariaDB) as containers on a network of their own, the database reachable at its Service
/// name, the ConfigMaps as mounted files; returns what `query` prints in the database.
fn run_database_job(project: &TestProject, secrets: &[(&str, &str)], query: &[&str]) -> String {
    let (manifests, _) = project.run_ok(&["export", "kubernetes"]);
    let objects = yaml_documents(manifests.split_once("\n").unwrap().1);
    let suffix = unique_suffix();
    let network = Network(format!("devenv-export-{suffix}"));
    docker(&["network", "create", &network.0]);
    let db = &object(&objects, "StatefulSet", "db")["spec"]["template"]["spec"]["containers"][0];
    let fixture = |image: &str| FIXTURES.iter().find(|(from, _)| *from == image).unwrap().1;
    let db_name = format!("devenv-export-db-{suffix}");
    let _db = RunningContainer(db_name.clone());
    let mut args: Vec<String> = [
        "run",
        "-d",
        "--name",
        &db_name,
        "--network",
        &network.0,
        "--network-alias",
        "db",
    ]
    .map(String::from)
    .to_vec();
    args.extend(env_args(db, secrets));
    args.push(fixture(db["image"].as_str().unwrap()).into());
    docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // The readiness probe, as the kubelet runs it.
    let probe: Vec<String> = db["readinessProbe"]["exec"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    wait_until(
        "the database's readiness probe",
        std::time::Duration::from_secs(120),
        || {
            std::process::Command::new("docker")
                .args(["exec", &db_name])
                .args(&probe)
                .output()
                .is_ok_and(|o| o.status.success())
        },
    );
    let job = object(&objects, "Job", &format!("{}-database", project.name));
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let files = tempfile::tempdir().unwrap();
    let job_name = format!("devenv-export-job-{suffix}");
    let _job = RunningContainer(job_name.clone());
    let mut args: Vec<String> = ["run", "--name", &job_name, "--network", &network.0]
        .map(String::from)
        .to_vec();
    args.extend(env_args(container, secrets));
    for mount in container["volumeMounts"].as_sequence().unwrap() {
        let volume = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        let map = object(
            &objects,
            "ConfigMap",
            volume["configMap"]["name"].as_str().unwrap(),
        );
        let dir = files.path().join(mount["name"].as_str().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        for (key, text) in map["data"].as_mapping().unwrap() {
            std::fs::write(dir.join(key.as_str().unwrap()), text.as_str().unwrap()).unwrap();
        }
        args.extend([
            "-v".into(),
            format!(
                "{}:{}:ro",
                dir.display(),
                mount["mountPath"].as_str().unwrap()
            ),
        ]);
    }
    args.extend([
        "--entrypoint".into(),
        container["command"][0].as_str().unwrap().into(),
    ]);
    args.push(fixture(container["image"].as_str().unwrap()).into());
    args.extend(
        container["command"].as_sequence().unwrap()[1..]
            .iter()
            .map(|a| a.as_str().unwrap().to_string()),
    );
    let (code, out, err) = output(
        assert_cmd::Command::new("timeout")
            .arg("180")
            .arg("docker")
            .args(&args),
    );
    assert_eq!(code, 0, "the Job failed:\n{out}\n{err}");
    assert_mentions(
        &out,
        &[
            "applying migrations/0001_products.sql",
            "applying seeds/01_products.sql",
        ],
    );
    let mut exec = vec!["exec", &db_name];
    exec.extend_from_slice(query);
    docker(&exec)
}

#[test]
fn the_kubernetes_job_applies_migrations_and_seeds_with_the_database_image_client() {
    if !docker_ready() {
        return;
    }
    let migration = "CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL);\n";
    let seed = "INSERT INTO products VALUES (1, 'tea'), (2, 'coffee');\n";
    let postgres = TestProject::new(POSTGRES);
    postgres.write("migrations/0001_products.sql", migration);
    postgres.write("seeds/01_products.sql", seed);
    let count = run_database_job(
        &postgres,
        &[("DB_PASSWORD", "pg-secret-in-the-cluster")],
        &[
            "psql",
            "-U",
            "shop",
            "-d",
            "shop",
            "-tAc",
            "SELECT count(*) FROM products",
        ],
    );
    assert_eq!(count.trim(), "2");
    let mariadb = TestProject::new(MARIADB);
    mariadb.write("migrations/0001_products.sql", migration);
    mariadb.write("seeds/01_products.sql", seed);
    let secrets = [
        ("DB_PASSWORD", "maria-secret-in-the-cluster"),
        ("DB_MARIADB_ROOT_PASSWORD", "root-secret-in-the-cluster"),
    ];
    let count = run_database_job(
        &mariadb,
        &secrets,
        &[
            "mariadb",
            "-ushop",
            "-pmaria-secret-in-the-cluster",
            "shop",
            "-N",
            "-e",
            "SELECT count(*) FROM products",
        ],
    );
    assert_eq!(count.trim(), "2");
}
