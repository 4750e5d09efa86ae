use super::tests_support::SHOP;
use super::*;
use crate::diagnostic::SourceFile;
use std::path::Path;

fn parse(text: &str) -> Result<Stack, crate::diagnostic::Diagnostic> {
    load_source(
        &SourceFile::new("devenv.toml", text),
        Path::new("."),
        Path::new("devenv.toml"),
    )
}

fn error(text: &str) -> crate::diagnostic::Diagnostic {
    parse(text).expect_err("expected an error")
}

#[test]
fn the_shop_example_loads() {
    let stack = parse(SHOP).unwrap();
    assert_eq!(stack.project.name, "shop");
    let db = &stack.services["db"];
    assert_eq!(db.image, "postgres:16");
    assert_eq!(db.env["POSTGRES_PASSWORD"], "${DB_PASSWORD}");
    assert_eq!(
        db.volumes,
        [Volume::Named {
            name: "db-data".into(),
            target: "/var/lib/postgresql/data".into(),
            read_only: false
        }]
    );
    assert_eq!(db.probe, Some(Probe::Postgres));
    assert_eq!(
        db.ports,
        [Port {
            container: 5432,
            host: HostPort::Variable {
                name: "DB_PORT".into(),
                default: 5432
            },
            protocol: "tcp".into()
        }]
    );
    let names: Vec<&str> = stack.variables.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["DB_PORT", "CACHE_PORT", "DB_PASSWORD", "DATABASE_URL"]
    );
    let database = stack.database.as_ref().unwrap();
    assert_eq!(database.service.as_deref(), Some("db"));
    assert_eq!(database.seeds, [Seed::Path("seeds".into())]);
}

#[test]
fn catalog_secrets_not_set_become_variables() {
    let stack = parse("[project]\nname = \"x\"\n[services.db]\nuse = \"postgres\"\n").unwrap();
    let var = &stack.variables["DB_POSTGRES_PASSWORD"];
    assert!(var.secret);
    assert_eq!(
        stack.services["db"].env["POSTGRES_PASSWORD"],
        "${DB_POSTGRES_PASSWORD}"
    );
    assert_eq!(stack.services["db"].env["POSTGRES_USER"], "postgres");
}

#[test]
fn a_number_where_a_list_belongs_names_line_six() {
    let text = "[project]\nname = \"x\"\n\n[services.db]\nimage = \"postgres:16\"\nports = 5432\n";
    let e = error(text);
    let loc = e.location.as_ref().unwrap();
    assert_eq!(
        (loc.file.to_str().unwrap(), loc.line, loc.col),
        ("devenv.toml", 6, 9)
    );
    assert!(e.message.contains("expected a sequence"), "{e}");
    assert_eq!(
        e.help.as_deref(),
        Some("this key takes a list: write `[\"5432\"]`")
    );
}

#[test]
fn a_misspelt_catalog_entry_suggests_the_right_one() {
    let e = error("[project]\nname = \"x\"\n[services.db]\nuse = \"postgress\"\n");
    assert_eq!(e.message, "unknown catalog entry `postgress`");
    assert_eq!(e.location.as_ref().unwrap().line, 4);
    assert!(e.help.unwrap().starts_with("did you mean `postgres`?"));
}

#[test]
fn unknown_keys_suggest_the_closest() {
    let e = error("[project]\nname = \"x\"\n[services.db]\nimage = \"a\"\nportz = [\"1\"]\n");
    assert!(e.message.contains("unknown field `portz`"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `ports`?"));
    assert_eq!(e.location.unwrap().line, 5);
}

#[test]
fn dangling_depends_on_is_an_error_at_the_entry() {
    let e = error(
        "[project]\nname = \"x\"\n[services.web]\nimage = \"a\"\ndepends_on = [\"dbb\"]\n[services.db]\nimage = \"b\"\n",
    );
    assert_eq!(e.message, "no service named `dbb`");
    assert_eq!(e.help.as_deref(), Some("did you mean `db`?"));
    assert_eq!(e.location.unwrap().line, 5);
}

#[test]
fn dependency_cycles_are_named() {
    let e = error(
        "[project]\nname = \"x\"\n[services.a]\nimage = \"a\"\ndepends_on = [\"b\"]\n[services.b]\nimage = \"b\"\ndepends_on = [\"a\"]\n",
    );
    assert_eq!(
        e.message,
        "services depend on each other in a loop: a → b → a"
    );
    assert_eq!(e.location.unwrap().line, 5);
}

#[test]
fn undefined_variables_point_inside_the_string() {
    let e = error(
        "[project]\nname = \"x\"\n[services.a]\nimage = \"a\"\nenv = { X = \"pre-${DB_PASWORD}\" }\n[env.DB_PASSWORD]\nsecret = true\n",
    );
    assert_eq!(e.message, "undefined variable `DB_PASWORD`");
    let loc = e.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.col, loc.width), (5, 18, 13));
    assert_eq!(e.help.as_deref(), Some("did you mean `DB_PASSWORD`?"));
}

#[test]
fn a_default_makes_an_undeclared_variable_fine() {
    assert!(parse("[project]\nname = \"x\"\n[services.a]\nimage = \"a:${TAG:-1}\"\n").is_ok());
}

#[test]
fn duplicate_host_ports_are_errors() {
    let e = error(
        "[project]\nname = \"x\"\n[services.a]\nuse = \"postgres\"\n[services.b]\nuse = \"postgres\"\n",
    );
    assert_eq!(e.message, "host port 5432 is published by both `a` and `b`");
    assert!(e.help.unwrap().contains("5433:5432"));
    let e = error(
        "[project]\nname = \"x\"\n[services.a]\nimage = \"a\"\nports = [\"80:80\"]\n[services.b]\nimage = \"b\"\nports = [\"80:81\"]\n",
    );
    assert_eq!(e.location.unwrap().line, 8);
}

#[test]
fn invalid_names_state_the_rule() {
    let e = error("[project]\nname = \"My.App\"\n");
    assert_eq!(e.message, "invalid project name `My.App`");
    assert!(
        e.help
            .unwrap()
            .contains("lowercase letters, digits, `-` and `_`")
    );
    let e = error("[project]\nname = \"x\"\n[services.Web]\nimage = \"a\"\n");
    assert_eq!(e.message, "invalid service name `Web`");
    let e = error("[project]\nname = \"x\"\n[env.1X]\nvalue = \"a\"\n");
    assert_eq!(e.message, "invalid variable name `1X`");
}

#[test]
fn variable_loops_are_errors() {
    let e =
        error("[project]\nname = \"x\"\n[env.A]\nvalue = \"${B}\"\n[env.B]\nvalue = \"${A}\"\n");
    assert!(
        e.message
            .starts_with("variables reference each other in a loop"),
        "{e}"
    );
}

#[test]
fn ports_volumes_and_health_parse() {
    let stack = parse(
        "[project]\nname = \"x\"\n[services.web]\nimage = \"nginx\"\nports = [\"8080\", \"8443:443\", 9000]\nvolumes = [\"./site:/usr/share/nginx/html:ro\", \"cache:/cache\"]\nhealth = { http = \"health\", port = 8080, interval = \"500ms\" }\n",
    )
    .unwrap();
    let web = &stack.services["web"];
    assert_eq!(web.ports[1].host, HostPort::Fixed(8443));
    assert_eq!(
        web.ports[2].host,
        HostPort::Variable {
            name: "WEB_PORT_9000".into(),
            default: 9000
        }
    );
    assert!(matches!(
        &web.volumes[0],
        Volume::Bind {
            read_only: true,
            ..
        }
    ));
    assert!(matches!(&web.volumes[1], Volume::Named { name, .. } if name == "web-cache"));
    let health = web.health.as_ref().unwrap();
    assert_eq!(
        health.check,
        HealthCheck::Http {
            path: "/health".into(),
            port: 8080
        }
    );
    assert_eq!(health.interval, std::time::Duration::from_millis(500));
}

#[test]
fn bad_ports_volumes_and_health_are_errors() {
    let base = "[project]\nname = \"x\"\n[services.web]\nimage = \"nginx\"\n";
    assert!(
        error(&format!("{base}ports = [\"99999\"]\n"))
            .message
            .contains("invalid port `99999`")
    );
    assert!(
        error(&format!("{base}volumes = [\"data\"]\n"))
            .message
            .contains("invalid volume")
    );
    assert!(
        error(&format!("{base}volumes = [\"../up:/x\"]\n"))
            .message
            .contains("outside the project")
    );
    assert!(
        error(&format!("{base}health = {{ tcp = 1, http = \"/\" }}\n"))
            .message
            .contains("exactly one")
    );
    assert!(
        error(&format!(
            "{base}health = {{ tcp = 1, interval = \"soon\" }}\n"
        ))
        .message
        .contains("not a duration")
    );
    assert!(
        error("[project]\nname = \"x\"\n[services.web]\n")
            .message
            .contains("neither `image` nor `use`")
    );
}

#[test]
fn start_order_puts_dependencies_first() {
    let stack = parse(
        "[project]\nname = \"x\"\n[services.web]\nimage = \"a\"\ndepends_on = [\"api\"]\n[services.api]\nimage = \"b\"\ndepends_on = [\"db\"]\n[services.db]\nimage = \"c\"\n",
    )
    .unwrap();
    let order: Vec<&str> = stack
        .start_order()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(order, ["db", "api", "web"]);
}

#[test]
fn every_starter_stack_loads() {
    for starter in &crate::catalog::Catalog::get().starters {
        let text = starter.text.replace("{{ project }}", "demo");
        parse(&text).unwrap_or_else(|e| panic!("starter {}: {e}", starter.name));
    }
}

#[test]
fn every_catalog_entry_loads_as_a_service() {
    for entry in &crate::catalog::Catalog::get().services {
        let text = format!(
            "[project]\nname = \"demo\"\n[services.svc]\nuse = \"{}\"\n",
            entry.name
        );
        let stack = parse(&text).unwrap_or_else(|e| panic!("catalog entry {}: {e}", entry.name));
        assert!(stack.services["svc"].health.is_some());
    }
}

#[test]
fn database_takes_a_migrate_command_and_seed_commands() {
    let stack = parse(
        "[project]\nname = \"x\"\n[database]\nurl = \"sqlite:dev.db\"\nmigrate = { command = [\"alembic\", \"upgrade\", \"head\"] }\nseeds = [\"seeds/a.sql\", { command = [\"./seed.sh\"] }]\n",
    )
    .unwrap();
    let database = stack.database.unwrap();
    assert_eq!(database.service, None);
    assert_eq!(
        database.migrate_command.unwrap(),
        ["alembic", "upgrade", "head"]
    );
    assert_eq!(database.seeds[1], Seed::Command(vec!["./seed.sh".into()]));
    let e = error("[project]\nname = \"x\"\n[database]\nmigrations = \"m\"\n");
    assert!(e.message.contains("needs a `service`"), "{e}");
    let e = error(
        "[project]\nname = \"x\"\n[database]\nurl = \"sqlite:x\"\nmigrations = \"../elsewhere\"\n",
    );
    assert!(e.message.contains("outside the project"), "{e}");
}

/// Case 20: `..`, absolute paths and symlinks leading outside are rejected before anything is written.
#[test]
fn case_20_paths_outside_the_project_are_rejected() {
    let outside = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    // A sibling whose name extends the project's must not pass a string-prefix check.
    let sibling = format!("{}-other", project.path().display());
    std::fs::create_dir_all(&sibling).unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path().join("link")).unwrap();
    std::os::unix::fs::symlink(&sibling, project.path().join("sib")).unwrap();
    std::fs::create_dir(project.path().join("inside")).unwrap();
    let load = |body: &str| {
        let text = format!("[project]\nname = \"x\"\n{body}");
        load_source(
            &SourceFile::new("devenv.toml", text),
            project.path(),
            &project.path().join("devenv.toml"),
        )
    };
    for body in [
        "[services.a]\nimage = \"a\"\nvolumes = [\"../x:/x\"]\n",
        "[services.a]\nimage = \"a\"\nvolumes = [\"/etc:/x\"]\n",
        "[services.a]\nimage = \"a\"\nvolumes = [\"./link:/x\"]\n",
        "[services.a]\nimage = \"a\"\nvolumes = [\"./sib:/x\"]\n",
        "[database]\nurl = \"sqlite:x\"\nmigrations = \"link\"\n",
        "[database]\nurl = \"sqlite:x\"\nseeds = [\"inside/../../x\"]\n",
    ] {
        let e = load(body).expect_err(body);
        assert!(e.message.contains("outside the project"), "{body}: {e}");
    }
    assert!(load("[services.a]\nimage = \"a\"\nvolumes = [\"./inside:/x\"]\n").is_ok());
    std::fs::remove_dir_all(&sibling).unwrap();
}

/// Case 21: privileged, host networking and the Docker socket need an explicit opt-in.
#[test]
fn case_21_host_access_needs_an_opt_in() {
    for (key, words) in [
        ("privileged = true", "full control"),
        ("network_mode = \"host\"", "network"),
        ("docker_socket = true", "control Docker"),
    ] {
        let text = format!("[project]\nname = \"x\"\n[services.a]\nimage = \"a\"\n{key}\n");
        let e = error(&text);
        assert!(
            e.message.contains(words) && e.location.as_ref().unwrap().line == 5,
            "{key}: {e}"
        );
        assert!(e.help.unwrap().contains("allow_host_access = true"));
        let allowed = parse(&format!("{text}allow_host_access = true\n")).unwrap();
        assert_ne!(allowed.services["a"].host_access, HostAccess::default());
    }
    let e = error(
        "[project]\nname = \"x\"\n[services.a]\nimage = \"a\"\nvolumes = [\"/var/run/docker.sock:/var/run/docker.sock\"]\n",
    );
    assert!(e.message.contains("outside the project"), "{e}");
}

/// A stack of apps (and one postgres service) loaded from a temporary project holding `dirs`.
fn apps_stack(
    body: &str,
    dirs: &[&str],
) -> (
    tempfile::TempDir,
    Result<Stack, crate::diagnostic::Diagnostic>,
) {
    let dir = tempfile::tempdir().unwrap();
    for d in dirs {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let text = format!("[project]\nname = \"x\"\n[services.db]\nuse = \"postgres\"\n{body}");
    let result = load_source(
        &SourceFile::new("devenv.toml", text),
        dir.path(),
        &dir.path().join("devenv.toml"),
    );
    (dir, result)
}

fn app_error(body: &str) -> crate::diagnostic::Diagnostic {
    apps_stack(body, &["api"]).1.expect_err("expected an error")
}

#[test]
fn apps_parse_with_every_key() {
    let (_dir, stack) = apps_stack(
        r#"[apps.api]
command = "cargo run --bin api"
cwd = "api"
port = 8080
env = { RUST_LOG = "info", DB = "${DATABASE_URL:-x}" }
depends_on = ["db"]
health = { http = "/health" }
restart = "always"
setup = { command = "cargo build --bin api", inputs = ["Cargo.lock"] }
watch = { paths = ["api/src"], ignore = ["target"] }
[apps.web]
command = ["npm", "run", "dev", "--", "--port", "${WEB_PORT}"]
port = 5173
port_env = false
depends_on = ["api"]
env_file = { path = "web/.env.local", vars = { VITE_API_URL = "http://127.0.0.1:${API_PORT}" } }
"#,
        &["api"],
    );
    let stack = stack.unwrap();
    let api = &stack.apps["api"];
    assert_eq!(api.command, AppCommand::Shell("cargo run --bin api".into()));
    assert_eq!(api.command.argv(), ["sh", "-c", "cargo run --bin api"]);
    assert_eq!(api.cwd, std::path::PathBuf::from("api"));
    assert_eq!(
        api.port,
        Some(AppPort {
            var: "API_PORT".into(),
            default: 8080
        })
    );
    assert!(api.port_env);
    assert_eq!(api.env["RUST_LOG"], "info");
    assert_eq!(api.depends_on, ["db"]);
    assert_eq!(
        api.health.as_ref().unwrap().check,
        HealthCheck::Http {
            path: "/health".into(),
            port: 8080
        }
    );
    assert_eq!(api.restart, RestartPolicy::Always);
    let setup = api.setup.as_ref().unwrap();
    assert_eq!(setup.inputs, [std::path::PathBuf::from("Cargo.lock")]);
    assert_eq!(api.watch.as_ref().unwrap().ignore, ["target"]);
    assert_eq!(api.command_location.as_ref().unwrap().line, 6);
    let web = &stack.apps["web"];
    assert_eq!(web.restart, RestartPolicy::OnFailure);
    assert_eq!(web.cwd, std::path::PathBuf::new());
    assert!(!web.port_env);
    let env_file = web.env_file.as_ref().unwrap();
    assert_eq!(env_file.path, std::path::PathBuf::from("web/.env.local"));
    assert_eq!(
        env_file.vars["VITE_API_URL"],
        "http://127.0.0.1:${API_PORT}"
    );
    let var = &stack.variables["API_PORT"];
    assert_eq!(var.kind, VariableKind::AppPort { app: "api".into() });
    assert_eq!(stack.default_values()["WEB_PORT"], "5173");
}

#[test]
fn an_app_may_name_its_image() {
    let (_dir, stack) = apps_stack(
        "[apps.api]\ncommand = \"x\"\nimage = \"registry.example.com/shop/api:${API_TAG:-1}\"\n[apps.web]\ncommand = \"y\"\n",
        &[],
    );
    let stack = stack.unwrap();
    assert_eq!(
        stack.apps["api"].image.as_deref(),
        Some("registry.example.com/shop/api:${API_TAG:-1}")
    );
    assert_eq!(stack.apps["web"].image, None);
    let e = app_error("[apps.api]\ncommand = \"x\"\nimage = \"shop api\"\n");
    assert!(e.message.contains("is not an image reference"), "{e}");
    assert_eq!(e.location.unwrap().line, 7);
}

#[test]
fn app_ports_interpolate_anywhere_and_env_can_override_them() {
    let (dir, stack) = apps_stack(
        "[apps.api]\ncommand = \"x\"\nport = 8080\n[env.API_URL]\nvalue = \"http://127.0.0.1:${API_PORT}\"\n",
        &[],
    );
    let stack = stack.unwrap();
    std::fs::write(dir.path().join(".env"), "API_PORT=9090\n").unwrap();
    let values = crate::env::load(&stack).unwrap().values;
    assert_eq!(values.get("API_URL"), Some("http://127.0.0.1:9090"));
    std::fs::write(dir.path().join(".env"), "API_PORT=eighty\n").unwrap();
    let file = crate::env::load(&stack).unwrap().file;
    let findings = crate::env::check::check(&stack, file.as_ref());
    assert!(
        findings
            .iter()
            .any(|f| f.key == "API_PORT" && f.kind == crate::env::check::Problem::NotAPort),
        "{findings:?}"
    );
    let e = app_error("[apps.api]\ncommand = \"serve --port $PORT\"\n");
    assert_eq!(e.message, "undefined variable `PORT`");
    assert!(e.help.unwrap().contains("write `$$PORT`"));
    let e =
        app_error("[apps.api]\ncommand = \"x\"\nport = 8080\n[env.X]\nvalue = \"${API_PROT}\"\n");
    assert_eq!(e.message, "undefined variable `API_PROT`");
    assert_eq!(e.help.as_deref(), Some("did you mean `API_PORT`?"));
}

#[test]
fn app_unknown_keys_and_bad_values_are_errors() {
    let e = app_error("[apps.api]\ncommand = \"x\"\nwatch_paths = [\"src\"]\n");
    assert!(e.message.contains("unknown field `watch_paths`"), "{e}");
    assert_eq!(e.location.unwrap().line, 7);
    let e = app_error("[apps.api]\ncommand = \"x\"\nrestart = \"sometimes\"\n");
    assert!(e.message.contains("unknown variant `sometimes`"), "{e}");
    let e = app_error("[apps.api]\ncommand = []\n");
    assert_eq!(e.message, "the command is empty");
    let e = app_error("[apps.api]\ncommand = \"x\"\nhealth = { http = \"/\" }\n");
    assert!(e.help.unwrap().contains("give the app a `port`"));
    let e = app_error("[apps.Api]\ncommand = \"x\"\n");
    assert_eq!(e.message, "invalid app name `Api`");
    let e = app_error("[apps.api]\ncommand = \"x\"\nwatch = { paths = [\"../other\"] }\n");
    assert_eq!(e.message, "`../other` is outside the project directory");
    let e =
        app_error("[apps.api]\ncommand = \"x\"\nwatch = { paths = [\"s\"], ignore = [\"s/[\"] }\n");
    assert!(e.message.contains("invalid ignore pattern `s/[`"), "{e}");
    assert_eq!(e.location.unwrap().line, 7);
}

#[test]
fn app_and_service_names_share_one_namespace() {
    let e = app_error("[apps.db]\ncommand = \"x\"\n");
    assert_eq!(e.message, "`db` is both a service and an app");
    assert_eq!(e.location.unwrap().line, 5);
}

#[test]
fn app_depends_on_must_name_a_service_or_app() {
    let e = app_error("[apps.api]\ncommand = \"x\"\ndepends_on = [\"dbb\"]\n");
    assert_eq!(e.message, "no service or app named `dbb`");
    assert_eq!(e.help.as_deref(), Some("did you mean `db`?"));
    assert_eq!(e.location.unwrap().line, 7);
    let e = app_error(
        "[apps.api]\ncommand = \"x\"\n[services.cache]\nimage = \"r\"\ndepends_on = [\"api\"]\n",
    );
    assert_eq!(e.message, "service `cache` cannot depend on app `api`");
}

#[test]
fn app_dependency_cycles_are_named() {
    let e = app_error(
        "[apps.api]\ncommand = \"x\"\ndepends_on = [\"db\", \"web\"]\n[apps.web]\ncommand = \"y\"\ndepends_on = [\"api\"]\n",
    );
    assert_eq!(
        e.message,
        "apps depend on each other in a loop: api → web → api"
    );
    assert_eq!(e.location.unwrap().line, 7);
}

#[test]
fn a_port_used_twice_across_apps_and_services_is_an_error() {
    let e = app_error("[apps.api]\ncommand = \"x\"\nport = 5432\n");
    assert_eq!(e.message, "port 5432 is used by both `db` and app `api`");
    assert_eq!(e.location.unwrap().line, 7);
    assert!(e.help.unwrap().contains("port = 5433"));
    let e = app_error(
        "[apps.api]\ncommand = \"x\"\nport = 80\n[apps.web]\ncommand = \"y\"\nport = 80\n",
    );
    assert_eq!(e.message, "port 80 is used by both `api` and app `web`");
    assert_eq!(e.location.unwrap().line, 10);
}

#[test]
fn a_missing_cwd_is_an_error() {
    let e = app_error("[apps.web]\ncommand = \"x\"\ncwd = \"web\"\n");
    assert_eq!(e.message, "the directory `web` does not exist");
    assert_eq!(e.location.unwrap().line, 7);
    let e = app_error("[apps.web]\ncommand = \"x\"\ncwd = \"/srv/web\"\n");
    assert_eq!(e.message, "`/srv/web` is not a relative path");
}

#[test]
fn programs_not_on_path_are_found_before_running() {
    let (_dir, stack) = apps_stack(
        "[apps.api]\ncommand = \"sh -c true\"\n[apps.web]\ncommand = [\"devenv-no-such-program\", \"x\"]\n",
        &[],
    );
    let e = stack.unwrap().check_programs().unwrap_err();
    assert_eq!(
        e.message,
        "app `web`: `devenv-no-such-program` is not found on PATH"
    );
    assert_eq!(e.location.unwrap().line, 8);
    let (_dir, stack) = apps_stack(
        "[apps.api]\ncommand = \"cd api && devenv-no-such-program\"\nsetup = { command = \"FOO=1 make\" }\n",
        &[],
    );
    assert!(
        stack.unwrap().check_programs().is_ok(),
        "shell syntax is not checked"
    );
    assert_eq!(
        program_of(&AppCommand::Shell("npm run dev".into())).as_deref(),
        Some("npm")
    );
    assert_eq!(program_of(&AppCommand::Shell("\"npm\" run".into())), None);
    assert_eq!(program_of(&AppCommand::Shell("exec npm".into())), None);
    assert_eq!(program_of(&AppCommand::Argv(vec!["${BIN}".into()])), None);
    let (dir, stack) = apps_stack(
        "[apps.api]\ncommand = \"./run.sh\"\ncwd = \"api\"\n",
        &["api"],
    );
    let stack = stack.unwrap();
    assert!(
        stack.check_programs().is_err(),
        "a missing script is not found"
    );
    let script = dir.path().join("api/run.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(stack.check_programs().is_ok(), "found from the app's cwd");
    let (_dir, stack) = apps_stack(
        "[apps.api]\ncommand = [\".venv/bin/python\", \"app.py\"]\ncwd = \"api\"\nsetup = { command = \"python3 -m venv .venv\" }\n",
        &["api"],
    );
    assert!(
        stack.unwrap().check_programs().is_ok(),
        "a path in the app's cwd may be what its setup makes"
    );
}
