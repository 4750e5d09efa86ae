//! `devenv up`: reconcile the engine with the stack (create, recreate, start or keep each
//! container), in dependency order with independent services in parallel, and return only
//! when every service answers its readiness probe.

use super::preflight::{self, Remap};
use super::report::{ServiceRow, addresses};
use crate::config::UserConfig;
use crate::endpoint::connection_url;
use crate::engine::Engine;
use crate::env::{self, EnsureReport, IfTracked};
use crate::health;
use crate::plan::{self, Action, ContainerSpec};
use crate::progress::Progress;
use crate::source::Diagnostic;
use crate::stack::{Service, Stack};
use crate::ui::Ui;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared, join_all};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// What `up` was asked to do.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Only these services and their dependencies (all when empty).
    pub services: Vec<String>,
    /// Active profiles.
    pub profiles: Vec<String>,
    /// Readiness timeout per service.
    pub timeout: Duration,
    /// JSON events on stdout.
    pub json: bool,
    /// Whether a taken host port may be replaced by a free one.
    pub remap: bool,
    /// Apply migrations once the database is ready.
    pub migrate: bool,
    /// Run seeds once the database is migrated.
    pub seed: bool,
    /// Take over resources a vanished checkout of the project left (`--adopt`).
    pub adopt: bool,
    /// Write generated secrets even into a `.env` that git tracks (with a warning).
    pub secrets_into_tracked_env: bool,
}

/// What `up` did.
#[derive(Debug, Clone)]
pub struct UpReport {
    /// What happened to `.env`.
    pub env: EnsureReport,
    /// Action taken per service.
    pub actions: IndexMap<String, Action>,
    /// Host ports moved because something else held them.
    pub remaps: Vec<Remap>,
    /// What the database steps did.
    pub database: crate::database::Report,
    /// Final table rows.
    pub rows: Vec<ServiceRow>,
    /// Total time.
    pub elapsed: Duration,
}

impl UpReport {
    /// True when nothing had to be created, recreated or started.
    pub fn nothing_changed(&self) -> bool {
        self.actions.values().all(|a| *a == Action::Keep)
            && self.env == EnsureReport::default()
            && self.remaps.is_empty()
            && self.database.lines().is_empty()
    }
}

type ServiceFuture<'a> = Shared<BoxFuture<'a, Result<(), Diagnostic>>>;

/// Brings the stack up.
pub async fn up(
    stack: &Stack,
    options: &UpOptions,
    ui: &Ui,
    progress: &Progress,
) -> Result<UpReport, Diagnostic> {
    let _lock = super::lock::acquire(&stack.project.name, ui, Duration::from_secs(600)).await?;
    // `.env` is settled before the engine is contacted: a refusal needs no Docker.
    let warn = |warning: &str| ui.warn(warning);
    let if_tracked = if options.secrets_into_tracked_env {
        IfTracked::Warn(&warn)
    } else {
        IfTracked::Refuse
    };
    let (loaded, env_report) = env::ensure(stack, if_tracked)?;
    if env_report.created {
        progress.note(&format!(
            "created {} (mode 600) with generated secrets",
            env::ENV_FILE
        ));
    } else if !env_report.added.is_empty() {
        progress.note(&format!(
            "added {} to {}",
            env_report.added.join(", "),
            env::ENV_FILE
        ));
    }
    if env_report.ignored_in_git {
        progress.note("added .env to .gitignore: it holds secrets");
    }
    let config = UserConfig::load()?;
    let services = plan::select_services(stack, &options.services, &options.profiles)
        .map_err(Diagnostic::new)?;

    let engine = Engine::connect().await?;
    super::ownership::claim(&engine, stack, options.adopt, ui).await?;
    let observed = engine.observe(&stack.project.name).await?;
    let running: HashSet<String> = observed
        .iter()
        .filter(|(_, o)| o.state == "running")
        .map(|(service, _)| service.clone())
        .collect();
    let published = engine.published_ports().await?;
    let (loaded, remaps) = preflight::settle_ports(
        stack,
        &services,
        loaded,
        &published,
        &running,
        options.remap,
    )?;
    for remap in &remaps {
        progress.note(&remap.to_string());
    }
    let values = &loaded.values;
    let specs = plan::specs(stack, &services, values, &config);
    let actions: IndexMap<String, Action> = specs
        .iter()
        .map(|(name, spec)| (name.clone(), plan::decide(spec, observed.get(name))))
        .collect();
    for (service, container) in &observed {
        if !stack.services.contains_key(service) {
            progress.note(&format!(
                "container {} belongs to service `{service}`, which devenv.toml no longer has; `devenv down` removes it",
                container.name
            ));
        }
    }

    ensure_images(&engine, &specs, &actions, &config, progress).await?;
    engine
        .ensure_network(
            &stack.project.name,
            &plan::network_name(&stack.project.name),
            &stack.root,
        )
        .await?;
    let volumes: Vec<&str> = {
        let mut v: Vec<&str> = specs.values().flat_map(|s| s.volume_names()).collect();
        v.dedup();
        v
    };
    for result in join_all(
        volumes
            .iter()
            .map(|v| engine.ensure_volume(&stack.project.name, v, &stack.root)),
    )
    .await
    {
        result?;
    }

    let extra_labels = HashMap::from([
        (
            crate::engine::labels::WORKING_DIR.to_string(),
            stack.root.display().to_string(),
        ),
        (
            crate::engine::labels::CONFIG_FILES.to_string(),
            stack.file.display().to_string(),
        ),
    ]);
    let mut futures: HashMap<String, ServiceFuture<'_>> = HashMap::new();
    for service in &services {
        let deps: Vec<ServiceFuture<'_>> = service
            .depends_on
            .iter()
            .filter_map(|d| futures.get(d).cloned())
            .collect();
        let spec = &specs[&service.name];
        let action = actions[&service.name].clone();
        let engine = &engine;
        let extra = extra_labels.clone();
        let project = stack.project.name.as_str();
        let service: &Service = service;
        let future = async move {
            for (dep, dep_future) in service.depends_on.iter().zip(deps) {
                if dep_future.await.is_err() {
                    return Err(Diagnostic::new(format!(
                        "not started: its dependency `{dep}` failed"
                    )));
                }
            }
            bring_up(
                engine,
                project,
                spec,
                service,
                &action,
                extra,
                options.timeout,
                progress,
            )
            .await
        }
        .boxed()
        .shared();
        futures.insert(service.name.clone(), future);
    }
    let results = join_all(services.iter().map(|s| futures[&s.name].clone())).await;
    let mut failures: Vec<(String, Diagnostic)> = Vec::new();
    for (service, result) in services.iter().zip(results) {
        if let Err(e) = result {
            failures.push((service.name.clone(), e));
        }
    }
    if let Some((name, first)) = failures
        .iter()
        .find(|(_, e)| !e.message.starts_with("not started"))
    {
        progress.clear();
        let mut error = first.clone();
        let others: Vec<&str> = failures
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n != name)
            .collect();
        if !others.is_empty() {
            error
                .message
                .push_str(&format!("\n(also not ready: {})", others.join(", ")));
        }
        return Err(error);
    }

    let rows = services
        .iter()
        .map(|service| {
            let spec = &specs[&service.name];
            ServiceRow {
                service: service.name.clone(),
                state: "running".into(),
                health: "ready".into(),
                addresses: addresses(spec),
                url: connection_url(service, spec),
                image: spec.image.clone(),
                status: String::new(),
            }
        })
        .collect();
    let database = migrate_and_seed(
        stack,
        &services,
        values,
        loaded.file_values(),
        options,
        progress,
    )
    .await?;
    Ok(UpReport {
        database,
        remaps,
        env: env_report,
        actions,
        rows,
        elapsed: progress.elapsed(),
    })
}

/// Applies migrations and seeds when the stack has a database among the started services.
async fn migrate_and_seed(
    stack: &Stack,
    services: &[&Service],
    values: &env::Values,
    env: &IndexMap<String, String>,
    options: &UpOptions,
    progress: &Progress,
) -> Result<crate::database::Report, Diagnostic> {
    let Some(database) = &stack.database else {
        return Ok(Default::default());
    };
    let started = database
        .service
        .as_ref()
        .is_none_or(|s| services.iter().any(|x| &x.name == s));
    if !started || !(options.migrate || options.seed) {
        return Ok(Default::default());
    }
    let target = crate::database::Target::of(stack, values)?;
    let steps = crate::database::Steps {
        migrate: options.migrate,
        seed: options.seed,
        reseed: false,
    };
    progress.step("database", "migrating and seeding", "");
    let result =
        crate::database::run_steps(stack, &target, env, steps, &|note| progress.note(note)).await;
    match &result {
        Ok(report) => {
            let lines = report.lines();
            let summary = if lines.is_empty() {
                "up to date".to_string()
            } else {
                lines.join("; ")
            };
            progress.done("database", &summary, "", true);
        }
        Err(_) => progress.done("database", "failed", "", false),
    }
    result
}

/// Makes sure every image that a created container needs is present, pulling missing ones in
/// parallel with a progress bar each.
async fn ensure_images(
    engine: &Engine,
    specs: &IndexMap<String, ContainerSpec>,
    actions: &IndexMap<String, Action>,
    config: &UserConfig,
    progress: &Progress,
) -> Result<(), Diagnostic> {
    let mut needed: Vec<&str> = specs
        .iter()
        .filter(|(name, _)| matches!(actions[*name], Action::Create | Action::Recreate))
        .map(|(_, spec)| spec.image.as_str())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let present = join_all(needed.iter().map(|image| engine.image_present(image))).await;
    let mut missing = Vec::new();
    for (image, present) in needed.iter().zip(present) {
        if !present? {
            missing.push(*image);
        }
    }
    let pulls = missing.iter().map(|image| async move {
        progress.step(image, "pulling", "");
        let result = engine
            .pull(image, |p| progress.bytes(image, p.current, p.total))
            .await;
        progress.done(
            image,
            if result.is_ok() {
                "pulled"
            } else {
                "pull failed"
            },
            "",
            result.is_ok(),
        );
        result.map_err(|e| missing_image_error(image, &e, config))
    });
    for result in join_all(pulls).await {
        result?;
    }
    Ok(())
}

fn missing_image_error(image: &str, error: &Diagnostic, config: &UserConfig) -> Diagnostic {
    let original = config
        .images
        .iter()
        .find(|(_, to)| to.as_str() == image)
        .map(|(from, _)| from.clone());
    let rewritten = original
        .as_ref()
        .map(|o| format!(" (the [images] setting maps `{o}` to it)"))
        .unwrap_or_default();
    let from = original.as_deref().unwrap_or(image);
    Diagnostic::new(format!("image `{image}`{rewritten} is not present locally and could not be pulled: {}", error.message))
        .with_help(format!(
            "make it available (`docker pull {image}` where a registry is reachable, `docker load`, or a local build), \
             or map it to an image you have in the [images] table of {}: \"{from}\" = \"registry.example/{from}\"",
            config.describe_path()
        ))
}

/// Creates, recreates or starts one container as decided, then waits until it is ready.
#[allow(clippy::too_many_arguments)]
async fn bring_up(
    engine: &Engine,
    project: &str,
    spec: &ContainerSpec,
    service: &Service,
    action: &Action,
    extra_labels: HashMap<String, String>,
    timeout: Duration,
    progress: &Progress,
) -> Result<(), Diagnostic> {
    let name = &service.name;
    let verb = match action {
        Action::Create => {
            progress.step(name, "creating", "");
            engine.create(project, spec, extra_labels).await?;
            engine.start(&spec.name).await?;
            "created"
        }
        Action::Recreate => {
            progress.step(name, "recreating", "(configuration changed; volumes kept)");
            engine.stop(&spec.name, Duration::from_secs(10)).await?;
            engine.remove(&spec.name).await?;
            engine.create(project, spec, extra_labels).await?;
            engine.start(&spec.name).await?;
            "recreated"
        }
        Action::Start => {
            progress.step(name, "starting", "");
            engine.start(&spec.name).await?;
            "started"
        }
        Action::Keep => "running",
    };
    progress.step(name, "waiting", "for readiness");
    match health::wait_ready(engine, spec, service, timeout).await {
        Ok(waited) => {
            progress.done(
                name,
                &format!("{verb}, ready"),
                &format!("in {:.2}s", waited.as_secs_f64()),
                true,
            );
            Ok(())
        }
        Err(e) => {
            progress.done(name, "failed", "", false);
            Err(e)
        }
    }
}
