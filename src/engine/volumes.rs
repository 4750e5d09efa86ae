//! Volumes and images as the seeded-volume cache needs them: an image's id, labelled volumes
//! created and listed by label.

use super::{Engine, api_error, is_not_found};
use crate::diagnostic::Diagnostic;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::ListVolumesOptionsBuilder;
use std::collections::HashMap;

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

impl Engine {
    /// The id (`sha256:...`) of a local image; `None` when it is absent.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>, Diagnostic> {
        match self.docker.inspect_image(image).await {
            Ok(inspect) => Ok(inspect.id),
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
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
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
