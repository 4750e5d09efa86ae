//! One service's part of an `up` pass: create, recreate or start its container as decided,
//! then wait until it answers its readiness probe. The outcome is typed, so `up` tells a real
//! failure from a host port taken at start and from a service held back by its dependency.

use super::up::ServiceFuture;
use crate::diagnostic::Diagnostic;
use crate::engine::{Engine, PortTaken, StartError};
use crate::health;
use crate::plan::{Action, ContainerSpec};
use crate::progress::Progress;
use crate::stack::Service;
use crate::timings::{Step, Timings};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Why one service did not come up.
#[derive(Debug, Clone)]
pub(super) enum Failure {
    /// It failed (its diagnostic says how).
    Failed(Diagnostic),
    /// A host port it publishes was taken when its container started.
    PortTaken(PortTaken),
    /// Not started, because a dependency did not come up.
    DependencyFailed,
    /// Its container's first start refused the database snapshot it was to start from (why).
    SnapshotRefused(String),
}

/// One service's part of a pass: create, recreate or start its container as decided, then
/// wait until it is ready.
pub(super) struct ServiceStep<'a> {
    pub(super) engine: &'a Engine,
    pub(super) project: &'a str,
    pub(super) spec: &'a ContainerSpec,
    pub(super) service: &'a Service,
    pub(super) action: Action,
    pub(super) extra_labels: HashMap<String, String>,
    pub(super) timeout: Duration,
    pub(super) progress: &'a Progress,
    pub(super) timings: &'a Timings,
    pub(super) forwarder: Option<&'a crate::forward::Forwarder>,
}

impl<'a> ServiceStep<'a> {
    /// Waits for the services it depends on (failing when one did), then runs.
    pub(super) async fn run_after(self, deps: Vec<ServiceFuture<'a>>) -> Result<(), Failure> {
        let began = Instant::now();
        let has_deps = !deps.is_empty();
        for dep in deps {
            if dep.await.is_err() {
                return Err(Failure::DependencyFailed);
            }
        }
        if has_deps {
            self.timings
                .span_until_now(&self.service.name, Step::Dependencies, began);
        }
        self.run().await
    }

    /// Converges the container, then waits for readiness.
    pub(super) async fn run(self) -> Result<(), Failure> {
        let name = &self.service.name;
        let verb = match self.converge().await {
            Ok(verb) => verb,
            Err(failure) => {
                let event = match failure {
                    Failure::PortTaken(_) => "port taken meanwhile",
                    _ => "failed",
                };
                self.progress.done(name, event, "", false);
                return Err(failure);
            }
        };
        if let Some(forwarder) = self.forwarder {
            self.progress
                .step(name, "forwarding", "ports from the remote engine");
            if let Err(e) = forwarder.ensure(self.engine, name, self.spec).await {
                let (event, failure) = match e {
                    Ok(taken) => ("port taken meanwhile", Failure::PortTaken(taken)),
                    Err(d) => ("failed", Failure::Failed(d)),
                };
                self.progress.done(name, event, "", false);
                return Err(failure);
            }
        }
        self.progress.step(name, "waiting", "for readiness");
        let (waiting_from, mut first_probe) = (Instant::now(), None);
        let ready = health::wait_ready_noting(
            self.engine,
            self.spec,
            self.service,
            self.timeout,
            &mut first_probe,
        )
        .await;
        if let Some(probe) = first_probe {
            self.timings
                .span(name, Step::FirstProbe, probe.start, probe.end);
        }
        match ready {
            Ok(waited) => {
                self.timings.span_until_now(name, Step::Ready, waiting_from);
                self.progress.done(
                    name,
                    &format!("{verb}, ready"),
                    &format!("in {:.2}s", waited.as_secs_f64()),
                    true,
                );
                Ok(())
            }
            Err(e) => {
                if let Some(reason) = self.refused_snapshot().await {
                    self.progress.done(name, "snapshot not used", "", false);
                    return Err(Failure::SnapshotRefused(reason));
                }
                self.progress.done(name, "failed", "", false);
                Err(Failure::Failed(e))
            }
        }
    }

    /// Why the first-start script refused the snapshot, when it did: the container was made
    /// to start from one and exited with the script's code.
    async fn refused_snapshot(&self) -> Option<String> {
        self.spec.first_start.as_ref()?;
        let state = self.engine.state(&self.spec.name).await.ok()?;
        if state.running {
            return None;
        }
        let log = self.engine.log_tail(&self.spec.name, 20).await;
        crate::cache::restore::refusal(state.exit_code, &log)
    }

    /// Brings the container to the decided state; returns what was done.
    async fn converge(&self) -> Result<&'static str, Failure> {
        let (engine, spec, name) = (self.engine, self.spec, &self.service.name);
        match self.action {
            Action::Create => {
                self.progress.step(name, "creating", "");
                self.create().await?;
                self.start().await?;
                Ok("created")
            }
            Action::Recreate => {
                self.progress
                    .step(name, "recreating", "(configuration changed; volumes kept)");
                let began = Instant::now();
                engine
                    .stop(&spec.name, Duration::from_secs(10))
                    .await
                    .map_err(Failure::Failed)?;
                engine.remove(&spec.name).await.map_err(Failure::Failed)?;
                self.timings.span_until_now(name, Step::Remove, began);
                self.create().await?;
                self.start().await?;
                Ok("recreated")
            }
            Action::Start => {
                self.progress.step(name, "starting", "");
                self.start().await?;
                Ok("started")
            }
            Action::Keep => Ok("running"),
        }
    }

    async fn create(&self) -> Result<(), Failure> {
        let began = Instant::now();
        let created = self
            .engine
            .create(self.project, self.spec, self.extra_labels.clone())
            .await
            .map(drop)
            .map_err(Failure::Failed);
        self.timings
            .span_until_now(&self.service.name, Step::Create, began);
        created
    }

    async fn start(&self) -> Result<(), Failure> {
        let began = Instant::now();
        let started = start(self.engine, &self.spec.name).await;
        self.timings
            .span_until_now(&self.service.name, Step::Start, began);
        started
    }
}

/// Starts a container; a host port taken meanwhile is handed back to be moved.
async fn start(engine: &Engine, name: &str) -> Result<(), Failure> {
    engine.start(name).await.map_err(|e| match e {
        StartError::PortTaken(port) => Failure::PortTaken(port),
        other => Failure::Failed(other.into()),
    })
}
