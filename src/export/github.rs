//! `devenv export github-actions`: a workflow with one job whose `services:` are the stack's
//! services (same images, environment, ports and Docker health checks, which the runner
//! waits for before the steps) and whose steps install devenv, wait for the database,
//! migrate and seed. Secret variables are `${{ secrets.NAME }}`.

use super::values::{Context, Network, verbatim};
use super::{Export, Options, Report, Target};
use crate::diagnostic::Diagnostic;
use crate::generate::compose::docker_health;
use crate::stack::{HealthCheck, Service, Stack};
use indexmap::IndexMap;
use serde::Serialize;

#[derive(Serialize)]
struct Workflow {
    name: String,
    on: Vec<&'static str>,
    jobs: IndexMap<String, Job>,
}

#[derive(Serialize)]
struct Job {
    #[serde(rename = "runs-on")]
    runs_on: &'static str,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    services: IndexMap<String, JobService>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
struct JobService {
    image: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<String>,
}

#[derive(Serialize)]
struct Step {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(rename = "working-directory", skip_serializing_if = "Option::is_none")]
    working_directory: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
}

impl Step {
    fn run(name: &str, run: String, working_directory: Option<String>) -> Self {
        Self {
            name: name.to_string(),
            uses: None,
            run: Some(run),
            working_directory,
            env: IndexMap::new(),
        }
    }
}

fn secret(name: &str) -> String {
    format!("${{{{ secrets.{name} }}}}")
}

/// Builds the workflow.
pub fn export(stack: &Stack, options: &Options) -> Result<Export, Diagnostic> {
    let ctx = Context {
        stack,
        secret,
        literal: verbatim,
        network: Network::Loopback,
        host: |service| service.to_string(),
    };
    let mut report = Report::new(Target::GithubActions);
    let mut services = IndexMap::new();
    for service in stack.services.values() {
        if let Some(job_service) = job_service(&ctx, service, &mut report) {
            // A service id starts with a letter or `_`.
            let id = super::kubernetes::object_name(&service.name);
            report.exported("service", &service.name, format!("services.{id}"));
            services.insert(id, job_service);
        }
    }
    for app in stack.apps.values() {
        report.dropped(
            "app",
            &app.name,
            "apps are the project's own code, which the job does not start: run it in a step with `devenv run -- COMMAND`",
        );
    }
    let env: IndexMap<String, String> = ctx
        .variables()
        .into_iter()
        .map(|(name, value)| (name, value.text))
        .collect();
    report.secrets = ctx.secret_names();
    if !report.secrets.is_empty() {
        report.notes.push(format!(
            "add the repository secrets {} (Settings → Secrets and variables → Actions); the workflow refers to them as ${{{{ secrets.NAME }}}}",
            report.secrets.join(", ")
        ));
    }
    let subdir = super::repository_subdir(stack);
    let mut install = Step::run(
        "Install devenv",
        options
            .install
            .clone()
            .unwrap_or_else(|| super::INSTALL.to_string()),
        None,
    );
    if options.install.is_none() {
        install.env.insert(
            "DEVENV_REPOSITORY".into(),
            "${{ vars.DEVENV_REPOSITORY }}".into(),
        );
        report.notes.push("the install step builds devenv with cargo from the repository variable DEVENV_REPOSITORY (its git URL); set it, or export with `--install COMMAND`".into());
    }
    let mut steps = vec![
        Step {
            name: "Check out".into(),
            uses: Some("actions/checkout@v4"),
            run: None,
            working_directory: None,
            env: IndexMap::new(),
        },
        install,
    ];
    for (name, run) in super::database_steps(stack, &mut report) {
        steps.push(Step::run(name, run, subdir.clone()));
    }
    if let Some(database) = &stack.database {
        report.exported(
            "database",
            database.service.as_deref().unwrap_or("sqlite"),
            "steps `devenv migrate` and `devenv seed`",
        );
    }
    let job_name = super::kubernetes::object_name(&stack.project.declared_name);
    let workflow = Workflow {
        name: format!("{} stack", stack.project.declared_name),
        on: vec!["push", "pull_request"],
        jobs: IndexMap::from([(
            job_name,
            Job {
                runs_on: "ubuntu-latest",
                services,
                env,
                steps,
            },
        )]),
    };
    let body = super::to_yaml(&workflow);
    Ok(Export::single(
        Target::GithubActions,
        "devenv.yml",
        body,
        report,
    ))
}

/// One service container, or `None` (reported) when the job cannot run it as the stack does.
fn job_service(ctx: &Context, service: &Service, report: &mut Report) -> Option<JobService> {
    let name = &service.name;
    let limits = super::CiLimits {
        waits: "the job starts every service container at once (none waits for {}); the steps wait for their health checks",
        services: "CI service containers",
        bind: "service containers start before the checkout, so the project's files are not there yet",
    };
    if !super::ci_service_runs(service, report, &limits) {
        return None;
    }
    if let Some(command) = &service.command {
        report.dropped(
            "command",
            name,
            format!(
                "GitHub Actions service containers run their image's own command; `{}` is not run",
                command.join(" ")
            ),
        );
    }
    let env = service
        .env
        .iter()
        .map(|(key, value)| (key.clone(), ctx.expand(value).text))
        .collect();
    let ports = service
        .ports
        .iter()
        .map(|port| {
            let proto = if port.protocol == "tcp" {
                String::new()
            } else {
                format!("/{}", port.protocol)
            };
            format!("{}:{}{proto}", port.default_host_port(), port.container)
        })
        .collect();
    let options = match (&service.health, docker_health(service)) {
        (_, Some(health)) => {
            let command: Vec<String> = health.test[1..]
                .iter()
                .map(|piece| ctx.expand(piece).text)
                .collect();
            let mut options = vec![
                "--health-cmd".to_string(),
                argument(&shell_line(&command)),
                "--health-interval".into(),
                health.interval,
                "--health-timeout".into(),
                health.timeout,
                "--health-retries".into(),
                health.retries.to_string(),
            ];
            if let Some(start) = health.start_period {
                options.extend(["--health-start-period".into(), start]);
            }
            Some(options.join(" "))
        }
        (Some(health), None) => {
            let what = match &health.check {
                HealthCheck::Tcp(port) => format!("TCP port {port}"),
                HealthCheck::Http { path, port } => format!("HTTP {path} on port {port}"),
                HealthCheck::Command(_) => "its command".into(),
            };
            report.dropped(
                "health check",
                name,
                format!("{what} is probed by devenv from the host; GitHub Actions waits only for Docker health commands, so the job does not wait for it"),
            );
            None
        }
        (None, None) => None,
    };
    Some(JobService {
        image: ctx.expand(&service.image).text,
        env,
        ports,
        options,
    })
}

/// The health command as one line for Docker's `--health-cmd` (run by `/bin/sh -c`): a
/// `sh -c LINE` command is its line, anything else is quoted for the shell.
fn shell_line(argv: &[String]) -> String {
    match argv {
        [sh, c, line] if sh == "sh" && c == "-c" => line.clone(),
        _ => shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" ")),
    }
}

/// One argument of the runner's `docker create` command line: the runner splits `options`
/// with the Windows rules (double quotes group, `\"` is a quote), on every platform.
fn argument(text: &str) -> String {
    if !text.is_empty() && !text.contains([' ', '\t', '"', '\\']) {
        return text.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in text.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::example;

    #[test]
    fn options_quote_as_the_runner_splits_them() {
        assert_eq!(argument("1s"), "1s");
        assert_eq!(argument("redis-cli ping"), "\"redis-cli ping\"");
        assert_eq!(
            argument(r#"pg_isready -U "$U" \x"#),
            r#""pg_isready -U \"$U\" \x""#
        );
        assert_eq!(argument(r"a b\"), r#""a b\\""#);
    }

    #[test]
    fn what_a_service_container_cannot_do_is_reported() {
        let (_dir, stack) = crate::export::tests::stack(
            "[project]\nname = \"x\"\n[services.db]\nuse = \"postgres\"\n[services.web]\nimage = \"nginx:1\"\ncommand = [\"nginx\", \"-g\", \"daemon off;\"]\nports = [\"80\"]\nvolumes = [\"./site:/usr/share/nginx/html:ro\"]\ndepends_on = [\"db\"]\nhealth = { tcp = 80 }\n[services.extra]\nimage = \"busybox\"\nprofiles = [\"tools\"]\n",
            &[("site/index.html", "hi")],
        );
        let export = export(&stack, &Options::default()).unwrap();
        let dropped = crate::export::tests::dropped(&export.report);
        for expected in [
            ("depends_on", "web"),
            ("command", "web"),
            ("bind mount", "web"),
            ("health check", "web"),
            ("service", "extra"),
        ] {
            assert!(
                dropped.contains(&expected),
                "{expected:?} not in {dropped:?}"
            );
        }
        let yaml: serde_norway::Value = serde_norway::from_str(&export.documents[0].body).unwrap();
        let services = &yaml["jobs"]["x"]["services"];
        assert_eq!(services["web"]["ports"][0], "80:80");
        assert!(services["web"].get("options").is_none());
        assert!(services.get("extra").is_none());
    }

    #[test]
    fn the_example_becomes_a_job_with_services_and_steps() {
        let stack = example();
        let export = export(&stack, &Options::default()).unwrap();
        let body = &export.documents[0].body;
        let yaml: serde_norway::Value = serde_norway::from_str(body).unwrap();
        let job = &yaml["jobs"]["shop"];
        let db = &job["services"]["db"];
        assert_eq!(db["image"], "postgres:16");
        assert_eq!(db["ports"][0], "5432:5432");
        assert_eq!(db["env"]["POSTGRES_PASSWORD"], "${{ secrets.DB_PASSWORD }}");
        assert_eq!(
            db["options"],
            r#"--health-cmd "pg_isready -h 127.0.0.1 -p 5432 -U \"${POSTGRES_USER:-postgres}\"" --health-interval 1s --health-timeout 3s --health-retries 30"#
        );
        assert_eq!(
            job["services"]["cache"]["options"].as_str().unwrap(),
            "--health-cmd \"redis-cli ping\" --health-interval 1s --health-timeout 3s --health-retries 30"
        );
        assert_eq!(job["env"]["DB_PORT"], "5432");
        assert_eq!(
            job["env"]["DATABASE_URL"],
            "postgres://shop:${{ secrets.DB_PASSWORD }}@127.0.0.1:5432/shop"
        );
        let runs: Vec<&str> = job["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect();
        assert!(runs.iter().any(|r| r.contains("devenv migrate status")));
        assert!(runs.contains(&"devenv migrate") && runs.contains(&"devenv seed"));
        assert_eq!(export.report.secrets, ["DB_PASSWORD"]);
        let dropped = crate::export::tests::dropped(&export.report);
        assert!(dropped.contains(&("app", "api")) && dropped.contains(&("app", "web")));
        assert!(dropped.contains(&("volume", "db-data")), "{dropped:?}");
    }
}
