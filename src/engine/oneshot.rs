//! A throwaway container that runs one shell script to completion: devenv's own work on
//! volumes (copying a snapshot into a new volume, marking a snapshot complete), done with the
//! engine alone, so it needs no host path and works on a remote engine. No network; removed
//! afterwards, whatever happened.

use super::{Engine, api_error};
use crate::diagnostic::Diagnostic;
use crate::plan::MountSpec;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use std::collections::HashMap;

/// Log lines kept from a job.
const LOG_LINES: usize = 20;

/// One job.
#[derive(Debug, Clone)]
pub struct OneShot<'a> {
    /// Container name.
    pub name: String,
    /// Image to run it in (one that is present: the service's own).
    pub image: &'a str,
    /// The script, run by `sh -c` as root.
    pub script: &'a str,
    /// `KEY=value` for the script (how values such as passwords reach it: never in argv).
    pub env: Vec<String>,
    /// Named volumes and where they are mounted.
    pub mounts: Vec<MountSpec>,
    /// Labels (what lets a leftover be found and removed).
    pub labels: HashMap<String, String>,
    /// Whether its output is wanted when it succeeds (a failure's always is).
    pub output_on_success: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The script's exit code.
    pub code: i64,
    /// The end of its output (empty when it succeeded and its output was not wanted).
    pub log: String,
}

impl Engine {
    /// Runs `job` and waits for it; the container is removed afterwards.
    pub async fn run_once(&self, job: &OneShot<'_>) -> Result<Finished, Diagnostic> {
        let body = ContainerCreateBody {
            image: Some(job.image.to_string()),
            entrypoint: Some(vec!["sh".into(), "-c".into(), job.script.to_string()]),
            cmd: Some(Vec::new()),
            user: Some("0:0".into()),
            env: Some(job.env.clone()),
            labels: Some(job.labels.clone()),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(job.mounts.iter().map(super::create::mount).collect()),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&job.name)
            .build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| api_error(&format!("creating helper container {}", job.name), &e))?;
        let finished = self.start_and_wait(&job.name, job.output_on_success).await;
        let removed = self.remove(&job.name).await;
        let finished = finished?;
        removed?;
        Ok(finished)
    }

    async fn start_and_wait(&self, name: &str, output: bool) -> Result<Finished, Diagnostic> {
        self.docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| api_error(&format!("starting helper container {name}"), &e))?;
        let options = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let code = match self.docker.wait_container(name, Some(options)).next().await {
            Some(Ok(response)) => response.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(api_error(&format!("waiting for {name}"), &e)),
            None => return Err(Diagnostic::new(format!("{name} ended without a status"))),
        };
        let log = if code == 0 && !output {
            String::new()
        } else {
            self.log_tail(name, LOG_LINES).await
        };
        Ok(Finished { code, log })
    }
}
