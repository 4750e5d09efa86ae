//! Volumes and images as the seeded-volume cache needs them: an image's id, labelled volumes
//! created and listed by label.

use super::{Engine, api_error, is_not_found};
use crate::diagnostic::Diagnostic;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::ListVolumesOptionsBuilder;
use std::collections::HashMap;

/// The label of a project volume that names the volume it is a second name of.
pub const BACKING_LABEL: &str = "devenv.cache.backing";

/// A volume found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledVolume {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// When the engine created it (RFC 3339), when it says.
    pub created_at: Option<String>,
}

/// How a local image starts a container: its id, entrypoint, command and user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageLaunch {
    /// `sha256:...`.
    pub id: String,
    /// `ENTRYPOINT`.
    pub entrypoint: Vec<String>,
    /// `CMD`.
    pub cmd: Vec<String>,
    /// `USER` (empty: root).
    pub user: String,
}

impl Engine {
    /// The id (`sha256:...`) of a local image; `None` when it is absent.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>, Diagnostic> {
        Ok(self.image_launch(image).await?.map(|launch| launch.id))
    }

    /// How a local image starts a container; `None` when it is absent.
    pub async fn image_launch(&self, image: &str) -> Result<Option<ImageLaunch>, Diagnostic> {
        match self.docker.inspect_image(image).await {
            Ok(inspect) => {
                let config = inspect.config.unwrap_or_default();
                Ok(Some(ImageLaunch {
                    id: inspect.id.unwrap_or_default(),
                    entrypoint: config.entrypoint.unwrap_or_default(),
                    cmd: config.cmd.unwrap_or_default(),
                    user: config.user.unwrap_or_default(),
                }))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(&format!("inspecting image {image}"), &e)),
        }
    }

    /// Creates a volume with `labels` (the engine returns an existing one of that name as is).
    pub async fn create_labelled_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), Diagnostic> {
        self.create_volume_as(VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        })
        .await
    }

    /// Creates the volume `request` describes.
    async fn create_volume_as(&self, request: VolumeCreateRequest) -> Result<(), Diagnostic> {
        let name = request.name.clone().unwrap_or_default();
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| api_error(&format!("creating volume {name}"), &e))?;
        Ok(())
    }

    /// Every volume that has the label `key`.
    pub async fn volumes_labelled(&self, key: &str) -> Result<Vec<LabelledVolume>, Diagnostic> {
        let filters = HashMap::from([("label".to_string(), vec![key.to_string()])]);
        self.volumes_filtered(&filters).await
    }

    /// Creates a project volume `name` that is another volume of the engine, `backing`, under
    /// a second name: the local driver binds the backing volume's directory on the engine's
    /// host (as the engine reports it: no path of this machine). The backing volume is named
    /// in the label `devenv.cache.backing`; `down --volumes` removes both.
    pub async fn create_backed_volume(
        &self,
        project: &str,
        name: &str,
        owner: &std::path::Path,
        backing: &str,
    ) -> Result<(), Diagnostic> {
        let inspect = self
            .docker
            .inspect_volume(backing)
            .await
            .map_err(|e| api_error(&format!("inspecting volume {backing}"), &e))?;
        let mut labels = super::labels::project_volume_labels(project, name, owner);
        labels.insert(BACKING_LABEL.into(), backing.to_string());
        self.create_volume_as(VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: Some("local".into()),
            driver_opts: Some(HashMap::from([
                ("type".to_string(), "none".to_string()),
                ("o".to_string(), "bind".to_string()),
                ("device".to_string(), inspect.mountpoint),
            ])),
            labels: Some(labels),
            ..Default::default()
        })
        .await
    }

    /// The volume another volume is a second name of (`create_backed_volume`), if any.
    pub async fn backing_of(&self, name: &str) -> Result<Option<String>, Diagnostic> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(v.labels.get(BACKING_LABEL).cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(&format!("inspecting volume {name}"), &e)),
        }
    }

    /// A project's volumes that are second names of another volume, with that volume.
    pub async fn project_backings(
        &self,
        project: &str,
    ) -> Result<HashMap<String, String>, Diagnostic> {
        let volumes = self
            .volumes_filtered(&super::labels::project_filter(project))
            .await?;
        Ok(volumes
            .into_iter()
            .filter_map(|v| Some((v.name, v.labels.get(BACKING_LABEL)?.clone())))
            .collect())
    }

    /// The volumes the engine lists under `filters` (its `label=...` and other filters).
    pub(super) async fn volumes_filtered(
        &self,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<LabelledVolume>, Diagnostic> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(filters)
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| api_error("listing volumes", &e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| LabelledVolume {
                name: v.name,
                labels: v.labels,
                created_at: v.created_at.map(|d| d.to_string()),
            })
            .collect())
    }
}
