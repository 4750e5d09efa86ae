//! The labels devenv puts on everything it creates: Compose's own (so `docker compose ps -p`
//! and `docker ps --filter label=...` see the stack) plus devenv's.

use std::collections::HashMap;

/// Compose project name.
pub const PROJECT: &str = "com.docker.compose.project";
/// Compose service name.
pub const SERVICE: &str = "com.docker.compose.service";
/// Replica number (always 1 here).
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
/// Whether this is a one-off `run` container.
pub const ONEOFF: &str = "com.docker.compose.oneoff";
/// Hash of the container's configuration: a change means recreate.
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
/// Version of the tool that created it.
pub const VERSION: &str = "com.docker.compose.version";
/// Project directory.
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
/// Stack file the project came from.
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
/// Network name within the project.
pub const NETWORK: &str = "com.docker.compose.network";
/// Volume name within the project.
pub const VOLUME: &str = "com.docker.compose.volume";
/// Set on everything devenv creates.
pub const MANAGED: &str = "dev.devenv.managed";

/// The labels every resource of a project carries.
pub fn project_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (PROJECT.to_string(), project.to_string()),
        (VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()),
        (MANAGED.to_string(), "true".to_string()),
    ])
}

/// The labels of a resource created for the project in directory `owner`: the project's own
/// plus the working directory, so another checkout with the same project name is told apart.
pub fn owned_labels(project: &str, owner: &std::path::Path) -> HashMap<String, String> {
    let mut labels = project_labels(project);
    labels.insert(WORKING_DIR.to_string(), owner.display().to_string());
    labels
}

/// The labels of a project's named volume `name` (`shop_db-data`): its owner's, and the
/// volume's short name as Compose labels it (`db-data`).
pub fn project_volume_labels(
    project: &str,
    name: &str,
    owner: &std::path::Path,
) -> HashMap<String, String> {
    let short = name.strip_prefix(&format!("{project}_")).unwrap_or(name);
    let mut labels = owned_labels(project, owner);
    labels.insert(VOLUME.into(), short.to_string());
    labels
}

/// A `filters` map selecting a project's resources.
pub fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{PROJECT}={project}")])])
}
