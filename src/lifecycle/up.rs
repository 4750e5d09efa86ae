//! `devenv up`: reconcile the engine with the stack (create, recreate, start or keep each
//! container), in dependency order with independent services in parallel, and return only
//! when every service answers its readiness probe.

use super::converge::{Failure, ServiceStep};
use super::database_steps::migrate_and_seed;
use super::preflight::{self, Remap};
use super::report::{HealthSource, ServiceHealth, ServiceRow, ServiceState, addresses};
use crate::cache::CacheOutcome;
use crate::cache::restore::{Decision, Restore};
use crate::config::UserConfig;
use crate::diagnostic::Diagnostic;
use crate::endpoint::connection_url;
use crate::engine::{Engine, PortTaken, StartError, container};
use crate::env::{self, EnsureReport, IfTracked, Loaded};
use crate::plan::{self, Action, ContainerSpec, Observed};
use crate::progress::Progress;
use crate::stack::{Service, Stack};
use crate::timings::{Phase, Timings};
use crate::ui::Ui;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared, join_all};
use indexmap::IndexMap;
use std::collections::HashMap;
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
    /// Start a new database volume from a snapshot when there is one (`--no-cache`: never).
    pub cache: bool,
    /// Record where the time goes and print it afterwards (`--timings`).
    pub timings: bool,
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
    /// What the seeded-volume cache did for a new database volume.
    pub cache: Option<crate::cache::CacheOutcome>,
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

/// Attempts at starting after the engine finds a host port taken (by a program or another
/// project that got it between the port check and the start).
const PORT_RACE_ATTEMPTS: usize = 3;

pub(super) type ServiceFuture<'a> = Shared<BoxFuture<'a, Result<(), Failure>>>;

/// What one reconcile pass over the services came to.
enum PassOutcome {
    /// Every service is ready.
    Ready,
    /// Some host ports were taken at start: (service, port).
    PortsTaken(Vec<(String, PortTaken)>),
    /// The database's first start refused its snapshot (why).
    SnapshotRefused(String),
}

/// Everything one reconcile pass works from.
struct Plan {
    specs: IndexMap<String, ContainerSpec>,
    actions: IndexMap<String, Action>,
}

/// Brings the stack up, recording its phases and each service's steps in `timings`.
pub async fn up(
    stack: &Stack,
    options: &UpOptions,
    ui: &Ui,
    progress: &Progress,
    timings: &Timings,
) -> Result<UpReport, Diagnostic> {
    let _lock = super::lock::acquire(
        &stack.root,
        &stack.project.name,
        ui,
        Duration::from_secs(600),
    )
    .await?;
    let (loaded, env_report) = ensure_env(stack, options, ui, progress)?;
    let config = UserConfig::load()?;
    let services = plan::select_services(stack, &options.services, &options.profiles)
        .map_err(Diagnostic::new)?;
    timings.lap(Phase::Env);
    let engine = Engine::connect().await?;
    timings.lap(Phase::EngineConnect);
    if engine.endpoint.is_remote()
        && !engine.endpoint.forwards_ports()
        && services.iter().any(|s| !s.ports.is_empty())
    {
        return Err(unforwarded_remote(&engine));
    }
    super::ownership::claim(&engine, stack, options.adopt, ui).await?;
    let observed = engine.observe(&stack.project.name).await?;
    let running = container::running_services(observed.values());
    let forwarder = crate::forward::Forwarder::for_engine(&engine, &stack.root).await?;
    if let Some(forwarder) = &forwarder {
        forwarder.release_except(&running).await?;
    }
    let published = engine.published_ports().await?;
    let (loaded, mut remaps) = preflight::settle_ports(
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
    note_orphans(stack, &observed, progress);
    timings.lap(Phase::Observe);
    let restore = restore_from_cache(
        &engine, stack, &services, &loaded, &config, options, &observed,
    )
    .await?;
    timings.lap(Phase::CacheRestore);
    let run = Run {
        engine: &engine,
        stack,
        services: &services,
        config: &config,
        options,
        progress,
        timings,
        forwarder: forwarder.as_ref(),
    };
    let (plan, loaded, actions, cache) = run
        .until_ready(loaded, &observed, &mut remaps, restore)
        .await?;
    let mut rows = ready_rows(&services, &plan.specs);
    if let Some(forwarder) = &forwarder {
        let state = forwarder.state().await;
        for row in &mut rows {
            row.forwarded_from = state.of(&row.service).map(|f| f.origin(&state)).collect();
        }
    }
    let database = migrate_and_seed(
        stack,
        &services,
        &loaded.values,
        loaded.file_values(),
        options,
        progress,
        timings,
    )
    .await?;
    timings.lap(Phase::Seeds);
    Ok(UpReport {
        database,
        remaps,
        env: env_report,
        actions,
        rows,
        cache,
        elapsed: progress.elapsed(),
    })
}

/// Whether the database's new volume starts from a snapshot (see `cache::restore`): decided
/// when `up` is about to create the volume; `None` when the database is not among
/// `services`, the stack cannot use the cache, or its volume exists.
async fn restore_from_cache(
    engine: &Engine,
    stack: &Stack,
    services: &[&Service],
    loaded: &Loaded,
    config: &UserConfig,
    options: &UpOptions,
    observed: &HashMap<String, Observed>,
) -> Result<Option<Decision>, Diagnostic> {
    let database_service = stack.database.as_ref().and_then(|d| d.service.as_deref());
    if !services
        .iter()
        .any(|s| Some(s.name.as_str()) == database_service)
    {
        return Ok(None);
    }
    let Ok(eligible) = crate::cache::key::eligible(stack, &loaded.values, config, !options.cache)
    else {
        return Ok(None);
    };
    // A snapshot is built through a published port on the engine's host (see cache::build).
    if engine.endpoint.is_remote() {
        return Ok(None);
    }
    // The common case, a volume that exists: nothing is hashed and no image inspected,
    // unless it is on a prepared copy and its container is made again (after `down`, or an
    // `up` that stopped before the database's first start).
    if engine.volume_exists(&eligible.volume).await? {
        let service = eligible.spec.service.clone();
        if observed.contains_key(&service) {
            return Ok(None);
        }
        let Some(backing) = engine.backing_of(&eligible.volume).await? else {
            return Ok(None);
        };
        return Ok(
            match crate::cache::plan_eligible(engine, stack, eligible).await? {
                Ok(plan) => Some(crate::cache::restore::resume(plan, &backing)),
                Err(_) => None,
            },
        );
    }
    // A new database volume: the project network (which `prepare` would make next) is made
    // while the files are hashed and the snapshot looked up.
    let network = plan::network_name(&stack.project.name);
    let restore = async {
        match crate::cache::plan_eligible(engine, stack, eligible).await? {
            Ok(plan) => {
                crate::cache::restore::decide(engine, plan, &stack.project.name, &stack.root)
                    .await
                    .map(Some)
            }
            Err(_) => Ok(None),
        }
    };
    let (restored, made) = tokio::join!(
        restore,
        engine.ensure_network(&stack.project.name, &network, &stack.root)
    );
    made?;
    restored
}

/// What every pass of one `up` shares.
struct Run<'a> {
    engine: &'a Engine,
    stack: &'a Stack,
    services: &'a [&'a Service],
    config: &'a UserConfig,
    options: &'a UpOptions,
    progress: &'a Progress,
    timings: &'a Timings,
    /// Brings a remote engine's ports to this host (ssh:// engines).
    forwarder: Option<&'a crate::forward::Forwarder>,
}

impl Run<'_> {
    /// Reconciles until every service is ready. A host port taken at start (after the port
    /// check) is moved in `.env` like the check moves one, and the pass runs again, at most
    /// `PORT_RACE_ATTEMPTS` times. Returns the last plan, `.env` and what was done.
    /// A snapshot the first start refuses is discarded and the pass runs again without it.
    async fn until_ready(
        &self,
        mut loaded: Loaded,
        observed: &HashMap<String, Observed>,
        remaps: &mut Vec<Remap>,
        restore: Option<Decision>,
    ) -> Result<Restored, Diagnostic> {
        let (stack, services) = (self.stack, self.services);
        let picks = self.forwarder.is_some();
        let (mut cache, mut restoring) = match restore {
            None => (None, None),
            Some(Decision::Miss(outcome)) => (Some(outcome), None),
            Some(Decision::Restore(restore)) => (None, Some(restore)),
        };
        let mut plan = make_plan(stack, services, &loaded, self.config, observed, picks);
        attach_restore(&mut plan, restoring.as_deref());
        let mut actions = plan.actions.clone();
        let began = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            prepare(
                self.engine,
                stack,
                &plan,
                self.config,
                self.progress,
                self.timings,
            )
            .await?;
            let outcome = reconcile(self, &plan).await?;
            self.timings.lap(Phase::Services);
            let taken = match outcome {
                PassOutcome::Ready => break,
                PassOutcome::PortsTaken(taken) => taken,
                PassOutcome::SnapshotRefused(reason) => {
                    let refused = restoring.take().expect("only a restore is refused");
                    let container = &plan.specs[&refused.plan.service].name;
                    let outcome = refused.discard(self.engine, container, reason).await?;
                    self.progress.note(&outcome.describe());
                    cache = Some(outcome);
                    plan = self.replan(&loaded, None, &mut actions).await?;
                    continue;
                }
            };
            if attempt >= PORT_RACE_ATTEMPTS || !self.options.remap {
                self.progress.clear();
                let (_, port) = taken.into_iter().next().expect("a taken port");
                return Err(StartError::PortTaken(port).into());
            }
            let (moved_to, moved) = preflight::remap_taken(stack, services, loaded, &taken)?;
            for remap in &moved {
                self.progress.note(&remap.to_string());
            }
            remaps.extend(moved);
            loaded = moved_to;
            plan = self
                .replan(&loaded, restoring.as_deref(), &mut actions)
                .await?;
        }
        let ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(restored) = restoring.and_then(|r| r.outcome(ms)) {
            cache = Some(restored);
        }
        Ok((plan, loaded, actions, cache))
    }
}

impl Run<'_> {
    /// The plan for the next pass: the project observed again, the restore (if still on)
    /// attached, and what this pass decides added to what was done.
    async fn replan(
        &self,
        loaded: &Loaded,
        restoring: Option<&Restore>,
        actions: &mut IndexMap<String, Action>,
    ) -> Result<Plan, Diagnostic> {
        let observed = self.engine.observe(&self.stack.project.name).await?;
        self.timings.lap(Phase::Observe);
        let picks = self.forwarder.is_some();
        let mut plan = make_plan(
            self.stack,
            self.services,
            loaded,
            self.config,
            &observed,
            picks,
        );
        attach_restore(&mut plan, restoring);
        merge_actions(actions, &plan.actions);
        Ok(plan)
    }
}

/// The last plan, `.env` as it ended, what was done, and what the cache did.
type Restored = (Plan, Loaded, IndexMap<String, Action>, Option<CacheOutcome>);

/// Gives the database's container the snapshot's first-start work when it is created this
/// pass (its volume is new: that is when a restore was decided).
fn attach_restore(plan: &mut Plan, restoring: Option<&Restore>) {
    let Some(restore) = restoring else {
        return;
    };
    let service = &restore.plan.service;
    let creates = matches!(
        plan.actions.get(service),
        Some(Action::Create | Action::Recreate)
    );
    if let (true, Some(spec)) = (creates, plan.specs.get_mut(service)) {
        spec.first_start = Some(restore.first_start.clone());
    }
}

/// Creates `.env` or adds missing keys, and says so. `.env` is settled before the engine is
/// contacted: a refusal needs no Docker.
fn ensure_env(
    stack: &Stack,
    options: &UpOptions,
    ui: &Ui,
    progress: &Progress,
) -> Result<(Loaded, EnsureReport), Diagnostic> {
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
    Ok((loaded, env_report))
}

/// A remote tcp:// engine: its published ports would be on that host, where neither the probes
/// nor the apps reach them.
fn unforwarded_remote(engine: &Engine) -> Diagnostic {
    Diagnostic::new(format!(
        "the Docker Engine at {} ({}) runs on another host: the stack's published ports would live there, out of reach of devenv's readiness probes, migrations and your apps",
        engine.endpoint.host, engine.endpoint.source
    ))
    .with_help(
        "reach it over ssh instead (DOCKER_HOST=ssh://user@host): devenv then forwards every published port to this machine; \
         or, when that engine's ports are reachable here anyway (a VM that forwards them), set DEVENV_ENGINE_REMOTE=0",
    )
}

/// Containers of services that devenv.toml no longer has.
fn note_orphans(stack: &Stack, observed: &HashMap<String, Observed>, progress: &Progress) {
    for (service, container) in observed {
        if !stack.services.contains_key(service) {
            progress.note(&format!(
                "container {} belongs to service `{service}`, which devenv.toml no longer has; `devenv down` removes it",
                container.name
            ));
        }
    }
}

/// Specs from `.env` as it is now, and what each container needs.
fn make_plan(
    stack: &Stack,
    services: &[&Service],
    loaded: &Loaded,
    config: &UserConfig,
    observed: &HashMap<String, Observed>,
    engine_picks_ports: bool,
) -> Plan {
    let mut specs = plan::specs(stack, services, &loaded.values, config);
    if engine_picks_ports {
        for spec in specs.values_mut() {
            spec.engine_picks_ports = true;
        }
    }
    let actions = specs
        .iter()
        .map(|(name, spec)| (name.clone(), plan::decide(spec, observed.get(name))))
        .collect();
    Plan { specs, actions }
}

/// A later pass's actions count where the first pass had nothing to do.
fn merge_actions(actions: &mut IndexMap<String, Action>, later: &IndexMap<String, Action>) {
    for (service, action) in later {
        if *action != Action::Keep {
            actions.insert(service.clone(), action.clone());
        }
    }
}

/// Images, the project network and named volumes, before any container is created.
async fn prepare(
    engine: &Engine,
    stack: &Stack,
    plan: &Plan,
    config: &UserConfig,
    progress: &Progress,
    timings: &Timings,
) -> Result<(), Diagnostic> {
    ensure_images(engine, &plan.specs, &plan.actions, config, progress).await?;
    timings.lap(Phase::ImageInspect);
    engine
        .ensure_network(
            &stack.project.name,
            &plan::network_name(&stack.project.name),
            &stack.root,
        )
        .await?;
    let mut volumes: Vec<&str> = plan.specs.values().flat_map(|s| s.volume_names()).collect();
    volumes.dedup();
    for result in join_all(
        volumes
            .iter()
            .map(|v| engine.ensure_volume(&stack.project.name, v, &stack.root)),
    )
    .await
    {
        result?;
    }
    timings.lap(Phase::NetworkVolumeCreate);
    Ok(())
}

/// The labels that say where the project lives.
fn project_location_labels(stack: &Stack) -> HashMap<String, String> {
    HashMap::from([
        (
            crate::engine::labels::WORKING_DIR.to_string(),
            stack.root.display().to_string(),
        ),
        (
            crate::engine::labels::CONFIG_FILES.to_string(),
            stack.file.display().to_string(),
        ),
    ])
}

/// Brings every service up in dependency order, independent ones in parallel. A failure is
/// the error; host ports taken at start are handed back to be moved.
async fn reconcile(run: &Run<'_>, plan: &Plan) -> Result<PassOutcome, Diagnostic> {
    let (engine, stack, services) = (run.engine, run.stack, run.services);
    let extra_labels = project_location_labels(stack);
    let mut futures: HashMap<String, ServiceFuture<'_>> = HashMap::new();
    for service in services {
        let deps: Vec<ServiceFuture<'_>> = service
            .depends_on
            .iter()
            .filter_map(|d| futures.get(d).cloned())
            .collect();
        let step = ServiceStep {
            engine,
            project: stack.project.name.as_str(),
            spec: &plan.specs[&service.name],
            service,
            action: plan.actions[&service.name].clone(),
            extra_labels: extra_labels.clone(),
            timeout: run.options.timeout,
            progress: run.progress,
            timings: run.timings,
            forwarder: run.forwarder,
        };
        let future = step.run_after(deps).boxed().shared();
        futures.insert(service.name.clone(), future);
    }
    let results = join_all(services.iter().map(|s| futures[&s.name].clone())).await;
    let failures: Vec<(String, Failure)> = services
        .iter()
        .zip(results)
        .filter_map(|(service, result)| Some((service.name.clone(), result.err()?)))
        .collect();
    settle_failures(failures, run.progress)
}

/// The first real failure is the error (naming the others); otherwise a refused snapshot, or
/// taken ports, if any.
fn settle_failures(
    failures: Vec<(String, Failure)>,
    progress: &Progress,
) -> Result<PassOutcome, Diagnostic> {
    let failed = failures.iter().find_map(|(name, f)| match f {
        Failure::Failed(d) => Some((name, d)),
        _ => None,
    });
    if let Some((name, first)) = failed {
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
    if let Some(reason) = failures.iter().find_map(|(_, f)| match f {
        Failure::SnapshotRefused(reason) => Some(reason.clone()),
        _ => None,
    }) {
        return Ok(PassOutcome::SnapshotRefused(reason));
    }
    let taken: Vec<(String, PortTaken)> = failures
        .into_iter()
        .filter_map(|(name, f)| match f {
            Failure::PortTaken(port) => Some((name, port)),
            _ => None,
        })
        .collect();
    Ok(if taken.is_empty() {
        PassOutcome::Ready
    } else {
        PassOutcome::PortsTaken(taken)
    })
}

/// The table rows once every service is ready.
fn ready_rows(services: &[&Service], specs: &IndexMap<String, ContainerSpec>) -> Vec<ServiceRow> {
    services
        .iter()
        .map(|service| {
            let spec = &specs[&service.name];
            ServiceRow {
                service: service.name.clone(),
                state: ServiceState::Container(crate::engine::State::Running),
                health: Some(ServiceHealth::Ready),
                health_source: Some(HealthSource::Probe),
                addresses: addresses(spec),
                url: connection_url(service, spec),
                image: spec.image.clone(),
                status: String::new(),
                forwarded_from: Vec::new(),
            }
        })
        .collect()
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
