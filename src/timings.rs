//! `up --timings`: where a run's time went. A [`Timings`] recorder is handed through `up`; it
//! records wall-clock phases one after the other (each lasting from the end of the previous
//! one, so together they cover the run) and per-service spans (services come up in parallel,
//! so their spans overlap). Switched off, it records nothing and costs a branch per call.

use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A wall-clock phase of `up`, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Taking the project's lock, creating or completing `.env`, reading the user config.
    Env,
    /// Connecting to the Docker Engine (and negotiating the API version).
    EngineConnect,
    /// Whose resources these are, what runs, which host ports are taken.
    Observe,
    /// Filling a new database volume from its snapshot (the seeded-volume cache).
    CacheRestore,
    /// Asking the engine which images are present (and pulling missing ones).
    ImageInspect,
    /// Creating the project network and named volumes.
    NetworkVolumeCreate,
    /// Every service created, started and ready (the spans say how, per service).
    Services,
    /// Applying migrations.
    Migrations,
    /// Running seeds.
    Seeds,
    /// Starting the apps and waiting until they answer.
    Apps,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 10] = [
        Phase::Env,
        Phase::EngineConnect,
        Phase::Observe,
        Phase::CacheRestore,
        Phase::ImageInspect,
        Phase::NetworkVolumeCreate,
        Phase::Services,
        Phase::Migrations,
        Phase::Seeds,
        Phase::Apps,
    ];

    /// The name shown and serialized (`engine_connect`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Env => "env",
            Phase::EngineConnect => "engine_connect",
            Phase::Observe => "observe",
            Phase::CacheRestore => "cache_restore",
            Phase::ImageInspect => "image_inspect",
            Phase::NetworkVolumeCreate => "network_volume_create",
            Phase::Services => "services",
            Phase::Migrations => "migrations",
            Phase::Seeds => "seeds",
            Phase::Apps => "apps",
        }
    }
}

/// One step of one service, inside the `services` phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Waiting for the services it depends on to be ready.
    Dependencies,
    /// Stopping and removing the old container (a recreate).
    Remove,
    /// Creating the container.
    Create,
    /// Starting it.
    Start,
    /// The first readiness probe (usually refused: the server is still starting).
    FirstProbe,
    /// From the end of the start until the probe passed.
    Ready,
}

impl Step {
    /// The name shown and serialized (`first_probe`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Dependencies => "dependencies",
            Step::Remove => "remove",
            Step::Create => "create",
            Step::Start => "start",
            Step::FirstProbe => "first_probe",
            Step::Ready => "ready",
        }
    }
}

/// A phase and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseTime {
    /// Which phase.
    pub phase: Phase,
    /// Milliseconds spent in it (summed when it ran more than once, as on a port retry).
    pub ms: u64,
}

/// A step of a service, as milliseconds since the run started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Which step.
    pub step: Step,
    /// When it began.
    pub start_ms: u64,
    /// When it ended.
    pub end_ms: u64,
}

/// One service's steps, in the order they were recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpans {
    /// The service.
    pub service: String,
    /// Its steps.
    pub spans: Vec<Span>,
}

/// What a run's time went to: the `--timings` report and its `--json` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// Milliseconds from the start of the run to the end of its last phase.
    pub total_ms: u64,
    /// Every phase, in order (0 for one that had nothing to do).
    pub phases: Vec<PhaseTime>,
    /// Per service, its steps.
    pub services: Vec<ServiceSpans>,
}

struct Recorder {
    start: Instant,
    last_lap: Instant,
    phases: Vec<(Phase, Duration)>,
    services: Vec<ServiceSpans>,
}

/// The recorder handed through `up`. [`Timings::off`] records nothing.
pub struct Timings(Option<Mutex<Recorder>>);

impl Timings {
    /// A recorder that records nothing.
    pub fn off() -> Self {
        Self(None)
    }

    /// A recorder whose run starts now.
    pub fn on() -> Self {
        let now = Instant::now();
        Self(Some(Mutex::new(Recorder {
            start: now,
            last_lap: now,
            phases: Vec::new(),
            services: Vec::new(),
        })))
    }

    /// On or off, as asked.
    pub fn new(on: bool) -> Self {
        if on { Self::on() } else { Self::off() }
    }

    /// Whether it records.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Ends `phase` now: it lasted since the previous phase ended (or the run began).
    pub fn lap(&self, phase: Phase) {
        self.with(|r| {
            let now = Instant::now();
            let took = now - r.last_lap;
            r.last_lap = now;
            match r.phases.iter_mut().find(|(p, _)| *p == phase) {
                Some((_, sum)) => *sum += took,
                None => r.phases.push((phase, took)),
            }
        });
    }

    /// Records that `service` spent `begin..end` in `step`.
    pub fn span(&self, service: &str, step: Step, begin: Instant, end: Instant) {
        self.with(|r| {
            let span = Span {
                step,
                start_ms: millis(begin.saturating_duration_since(r.start)),
                end_ms: millis(end.saturating_duration_since(r.start)),
            };
            match r.services.iter_mut().find(|s| s.service == service) {
                Some(s) => s.spans.push(span),
                None => r.services.push(ServiceSpans {
                    service: service.to_string(),
                    spans: vec![span],
                }),
            }
        });
    }

    /// Records that `service` spent from `begin` until now in `step`.
    pub fn span_until_now(&self, service: &str, step: Step, begin: Instant) {
        if self.is_on() {
            self.span(service, step, begin, Instant::now());
        }
    }

    /// What was recorded; `None` when off.
    pub fn breakdown(&self) -> Option<Breakdown> {
        let recorder = self.0.as_ref()?;
        let r = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let phases = Phase::ALL
            .iter()
            .map(|&phase| PhaseTime {
                phase,
                ms: r
                    .phases
                    .iter()
                    .find(|(p, _)| *p == phase)
                    .map_or(0, |(_, d)| millis(*d)),
            })
            .collect();
        Some(Breakdown {
            total_ms: millis(r.last_lap - r.start),
            phases,
            services: r.services.clone(),
        })
    }

    fn with(&self, f: impl FnOnce(&mut Recorder)) {
        if let Some(recorder) = &self.0 {
            f(&mut recorder.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Breakdown {
    /// The report for humans: phases with their share of the total, then each service's steps
    /// as offsets from the start (`create 120-160`) and durations.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("timings ({} ms in all):", self.total_ms)];
        for p in &self.phases {
            let share = if self.total_ms == 0 {
                0.0
            } else {
                100.0 * p.ms as f64 / self.total_ms as f64
            };
            lines.push(format!(
                "  {:<22} {:>7} ms {share:>5.1}%",
                p.phase.name(),
                p.ms
            ));
        }
        if self.services.is_empty() {
            return lines;
        }
        lines.push("per service (ms since start: from-to = duration; in parallel):".into());
        let width = self.services.iter().map(|s| s.service.len()).max();
        for s in &self.services {
            let steps: Vec<String> = s
                .spans
                .iter()
                .map(|span| {
                    format!(
                        "{} {}-{}={}",
                        span.step.name(),
                        span.start_ms,
                        span.end_ms,
                        span.end_ms.saturating_sub(span.start_ms)
                    )
                })
                .collect();
            lines.push(format!(
                "  {:<w$}  {}",
                s.service,
                steps.join("  "),
                w = width.unwrap_or(0)
            ));
        }
        lines
    }
}

/// The `up --json` event carrying the breakdown (printed just before `ready`).
#[derive(Debug, Serialize)]
pub struct TimingsEvent<'a> {
    /// Always `timings`.
    pub event: &'static str,
    /// The breakdown's fields.
    #[serde(flatten)]
    pub breakdown: &'a Breakdown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing() {
        let timings = Timings::off();
        timings.lap(Phase::Env);
        timings.span("db", Step::Create, Instant::now(), Instant::now());
        assert!(!timings.is_on());
        assert_eq!(timings.breakdown(), None);
    }

    #[test]
    fn laps_follow_each_other_and_cover_the_run() {
        let timings = Timings::on();
        std::thread::sleep(Duration::from_millis(5));
        timings.lap(Phase::Env);
        timings.lap(Phase::EngineConnect);
        std::thread::sleep(Duration::from_millis(5));
        timings.lap(Phase::Services);
        let b = timings.breakdown().unwrap();
        let names: Vec<_> = b.phases.iter().map(|p| p.phase.name()).collect();
        assert_eq!(
            names,
            [
                "env",
                "engine_connect",
                "observe",
                "cache_restore",
                "image_inspect",
                "network_volume_create",
                "services",
                "migrations",
                "seeds",
                "apps"
            ]
        );
        let sum: u64 = b.phases.iter().map(|p| p.ms).sum();
        // Rounding each phase down may lose up to a millisecond per recorded phase.
        assert!(sum <= b.total_ms && b.total_ms - sum <= 3, "{b:?}");
        let ms = |phase: Phase| b.phases.iter().find(|p| p.phase == phase).unwrap().ms;
        assert!(ms(Phase::Env) >= 5 && ms(Phase::Services) >= 5, "{b:?}");
        assert_eq!(ms(Phase::Migrations), 0);
    }

    #[test]
    fn a_phase_run_twice_is_summed() {
        let timings = Timings::on();
        std::thread::sleep(Duration::from_millis(3));
        timings.lap(Phase::Services);
        timings.lap(Phase::Env);
        std::thread::sleep(Duration::from_millis(3));
        timings.lap(Phase::Services);
        let b = timings.breakdown().unwrap();
        let services = b
            .phases
            .iter()
            .find(|p| p.phase == Phase::Services)
            .unwrap();
        assert!(services.ms >= 6, "{b:?}");
    }

    #[test]
    fn spans_are_offsets_from_the_start_grouped_by_service() {
        let timings = Timings::on();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        timings.span("db", Step::Create, at(10), at(30));
        timings.span("cache", Step::Create, at(12), at(20));
        timings.span("db", Step::Start, at(30), at(90));
        let b = timings.breakdown().unwrap();
        assert_eq!(b.services.len(), 2);
        assert_eq!(b.services[0].service, "db");
        assert_eq!(b.services[0].spans.len(), 2);
        let start_span = &b.services[0].spans[1];
        assert_eq!(start_span.step, Step::Start);
        assert!(
            start_span.end_ms - start_span.start_ms == 60,
            "{start_span:?}"
        );
    }

    #[test]
    fn lines_name_every_phase_and_each_services_steps() {
        let b = Breakdown {
            total_ms: 200,
            phases: Phase::ALL
                .iter()
                .map(|&phase| PhaseTime {
                    phase,
                    ms: if phase == Phase::Services { 150 } else { 5 },
                })
                .collect(),
            services: vec![ServiceSpans {
                service: "db".into(),
                spans: vec![
                    Span {
                        step: Step::Create,
                        start_ms: 20,
                        end_ms: 35,
                    },
                    Span {
                        step: Step::Ready,
                        start_ms: 60,
                        end_ms: 170,
                    },
                ],
            }],
        };
        let text = b.lines().join("\n");
        assert!(text.starts_with("timings (200 ms in all):"), "{text}");
        for phase in Phase::ALL {
            assert!(
                text.contains(phase.name()),
                "{} missing: {text}",
                phase.name()
            );
        }
        assert!(
            text.contains("services                   150 ms  75.0%"),
            "{text}"
        );
        assert!(
            text.contains("db  create 20-35=15  ready 60-170=110"),
            "{text}"
        );
    }

    #[test]
    fn the_json_event_is_typed_and_versioned() {
        let b = Breakdown {
            total_ms: 7,
            phases: vec![PhaseTime {
                phase: Phase::EngineConnect,
                ms: 7,
            }],
            services: vec![ServiceSpans {
                service: "db".into(),
                spans: vec![Span {
                    step: Step::FirstProbe,
                    start_ms: 1,
                    end_ms: 2,
                }],
            }],
        };
        let line = crate::ui::json::line(&TimingsEvent {
            event: "timings",
            breakdown: &b,
        });
        assert_eq!(
            line,
            r#"{"version":1,"event":"timings","total_ms":7,"phases":[{"phase":"engine_connect","ms":7}],"services":[{"service":"db","spans":[{"step":"first_probe","start_ms":1,"end_ms":2}]}]}"#
        );
    }
}
