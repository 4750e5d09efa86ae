//! `devenv export gitlab-ci`: a pipeline with one job whose `services:` are the stack's
//! services (image, alias, variables, command) and whose script installs devenv, waits for
//! the database, migrates and seeds. Services are reached at their alias on the container
//! port, so the job's variables say so; secret variables are `${NAME}`, CI/CD variables of
//! the project, never values.

use super::values::{Context, Network};
use super::{Export, Options, Report, Target};
use crate::diagnostic::Diagnostic;
use crate::stack::{Service, Stack};
use indexmap::IndexMap;
use serde::Serialize;

#[derive(Serialize)]
struct Job {
    image: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    services: Vec<JobService>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    variables: IndexMap<String, String>,
    script: Vec<String>,
}

#[derive(Serialize)]
struct JobService {
    name: String,
    alias: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    variables: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
}

fn secret(name: &str) -> String {
    format!("${{{name}}}")
}

/// GitLab expands `$` in variables: a literal one is `$$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// Builds the pipeline.
pub fn export(stack: &Stack, options: &Options) -> Result<Export, Diagnostic> {
    let ctx = Context {
        stack,
        secret,
        literal,
        network: Network::ServiceName,
        host: |service| service.to_string(),
    };
    let mut report = Report::new(Target::GitlabCi);
    let mut services = Vec::new();
    for service in stack.services.values() {
        if let Some(job_service) = job_service(&ctx, service, &mut report) {
            report.exported(
                "service",
                &service.name,
                format!("services: {}", service.name),
            );
            services.push(job_service);
        }
    }
    if !services.is_empty() {
        report.notes.push("GitLab starts the services and waits for their exposed ports; it runs no Docker health check. Services are reached at their alias on the container port (db:5432), and the job's variables say so".into());
    }
    for app in stack.apps.values() {
        report.dropped(
            "app",
            &app.name,
            "apps are the project's own code, which the job does not start: run it in the script with `devenv run -- COMMAND`",
        );
    }
    // Secrets come from the project's CI/CD variables: defining them here would shadow them.
    let variables: IndexMap<String, String> = ctx
        .variables()
        .into_iter()
        .filter(|(name, value)| value.whole_secret(&ctx) != Some(name.as_str()))
        .map(|(name, value)| (name, value.text))
        .collect();
    report.secrets = ctx.secret_names();
    if !report.secrets.is_empty() {
        report.notes.push(format!(
            "add the CI/CD variables {} (Settings → CI/CD → Variables, masked); the job refers to them as ${{NAME}}",
            report.secrets.join(", ")
        ));
    }
    let mut script = vec![
        options
            .install
            .clone()
            .unwrap_or_else(|| super::INSTALL.to_string()),
    ];
    if options.install.is_none() {
        report.notes.push("the script builds devenv with cargo from the CI/CD variable DEVENV_REPOSITORY (its git URL); set it, or export with `--install COMMAND`".into());
    }
    if let Some(dir) = super::repository_subdir(stack) {
        script.push(format!(
            "cd {}",
            shlex::try_quote(&dir).unwrap_or(dir.as_str().into())
        ));
    }
    script.extend(
        super::database_steps(stack, &mut report)
            .into_iter()
            .map(|(_, line)| line),
    );
    if let Some(database) = &stack.database {
        report.exported(
            "database",
            database.service.as_deref().unwrap_or("sqlite"),
            "script: `devenv migrate` and `devenv seed`",
        );
    }
    let job_name = super::kubernetes::object_name(&stack.project.declared_name);
    let pipeline = IndexMap::from([(
        job_name,
        Job {
            image: "rust:1",
            services,
            variables,
            script,
        },
    )]);
    let body = super::to_yaml(&pipeline);
    Ok(Export::single(
        Target::GitlabCi,
        ".gitlab-ci.yml",
        body,
        report,
    ))
}

/// One service of the job, or `None` (reported).
fn job_service(ctx: &Context, service: &Service, report: &mut Report) -> Option<JobService> {
    let name = &service.name;
    let limits = super::CiLimits {
        waits: "the job starts every service at once (none waits for {})",
        services: "CI services",
        bind: "GitLab CI services cannot mount the project's files",
    };
    if !super::ci_service_runs(service, report, &limits) {
        return None;
    }
    if service.health.is_some() {
        report.dropped(
            "health check",
            name,
            "GitLab CI runs no health check of a service; it waits for its exposed ports, and the job waits for the database with `devenv migrate status`",
        );
    }
    Some(JobService {
        name: ctx.expand(&service.image).text,
        alias: name.clone(),
        variables: service
            .env
            .iter()
            .map(|(key, value)| (key.clone(), ctx.expand(value).text))
            .collect(),
        command: service
            .command
            .as_ref()
            .map(|argv| argv.iter().map(|piece| ctx.expand(piece).text).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::example;

    #[test]
    fn the_example_reaches_its_services_by_alias() {
        let stack = example();
        let export = export(&stack, &Options::default()).unwrap();
        let yaml: serde_norway::Value = serde_norway::from_str(&export.documents[0].body).unwrap();
        let job = &yaml["shop"];
        assert_eq!(job["services"][0]["name"], "postgres:16");
        assert_eq!(job["services"][0]["alias"], "db");
        assert_eq!(
            job["services"][0]["variables"]["POSTGRES_PASSWORD"],
            "${DB_PASSWORD}"
        );
        assert_eq!(
            job["variables"]["DATABASE_URL"],
            "postgres://shop:${DB_PASSWORD}@db:5432/shop"
        );
        assert_eq!(job["variables"]["REDIS_URL"], "redis://cache:6379/0");
        assert!(job["variables"].get("DB_PASSWORD").is_none());
        let script = job["script"].as_sequence().unwrap();
        assert_eq!(script.last().unwrap(), "devenv seed");
    }
}
