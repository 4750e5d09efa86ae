//! Who owns a project's resources: the directory (checkout) whose devenv created them, read
//! from the working-dir label every container, network and volume carries, and every devenv
//! project on the engine grouped by that directory (`status --all`).

use super::{Engine, api_error, labels};
use crate::diagnostic::Diagnostic;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListVolumesOptionsBuilder};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What kind of resource a label was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A container.
    Container,
    /// The project network.
    Network,
    /// A named volume.
    Volume,
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Container => "container",
            Self::Network => "network",
            Self::Volume => "volume",
        })
    }
}

/// One resource of a project and the directory that created it (None: created before devenv
/// labelled the directory, or by a tool that does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// Container, network or volume.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// The project directory in its working-dir label.
    pub owner: Option<PathBuf>,
}

/// A devenv project on the engine, as `status --all` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProjectSummary {
    /// Compose project name.
    pub project: String,
    /// The directory that created it (`None` when unlabelled).
    pub directory: Option<PathBuf>,
    /// Whether that directory still exists on this machine.
    pub directory_exists: bool,
    /// Service names with a container, in name order.
    pub services: Vec<String>,
    /// How many of those containers run.
    pub running: usize,
}

impl Engine {
    /// Every container, the network and every volume labelled as `project`'s, with the
    /// directory that created each.
    pub async fn project_owners(&self, project: &str) -> Result<Vec<Owned>, Diagnostic> {
        let mut owned = Vec::new();
        for c in self.project_containers(project).await? {
            owned.push(Owned {
                kind: ResourceKind::Container,
                name: c.name,
                owner: c.working_dir,
            });
        }
        let options = ListVolumesOptionsBuilder::default()
            .filters(&labels::project_filter(project))
            .build();
        let volumes = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| api_error("listing volumes", &e))?;
        for v in volumes.volumes.unwrap_or_default() {
            owned.push(Owned {
                kind: ResourceKind::Volume,
                owner: v.labels.get(labels::WORKING_DIR).map(PathBuf::from),
                name: v.name,
            });
        }
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
            .filters(&labels::project_filter(project))
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| api_error("listing networks", &e))?;
        for n in networks {
            owned.push(Owned {
                kind: ResourceKind::Network,
                owner: n
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::WORKING_DIR))
                    .map(PathBuf::from),
                name: n.name.unwrap_or_default(),
            });
        }
        Ok(owned)
    }

    /// Every devenv project on the engine (containers labelled as devenv's), one entry per
    /// project and directory, sorted by project name.
    pub async fn all_projects(&self) -> Result<Vec<ProjectSummary>, Diagnostic> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}=true", labels::MANAGED)],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| api_error("listing containers", &e))?;
        let mut projects: BTreeMap<(String, Option<PathBuf>), ProjectSummary> = BTreeMap::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let Some(project) = labels.get(labels::PROJECT).cloned() else {
                continue;
            };
            let directory = labels.get(labels::WORKING_DIR).map(PathBuf::from);
            let entry = projects
                .entry((project.clone(), directory.clone()))
                .or_insert_with(|| ProjectSummary {
                    project,
                    directory_exists: directory.as_ref().is_some_and(|d| d.is_dir()),
                    directory,
                    services: Vec::new(),
                    running: 0,
                });
            if let Some(service) = labels.get(labels::SERVICE) {
                entry.services.push(service.clone());
            }
            if c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING) {
                entry.running += 1;
            }
        }
        Ok(projects
            .into_values()
            .map(|mut p| {
                p.services.sort();
                p
            })
            .collect())
    }
}
