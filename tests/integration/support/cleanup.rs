//! Removing what tests make, whether they pass or fail: guards for what a test creates beside
//! devenv (image tags, unlabelled volumes, foreign containers), and the removal of everything a
//! test project left in the engine.

use super::{docker, has_program};

/// A `docker` command run when the guard is dropped: at the end of the test, or while a failed
/// assertion unwinds. Declare it before the `TestProject` that uses what it guards, so that the
/// project's containers (dropped first) no longer hold it.
#[must_use = "dropping the guard removes what it guards at once"]
pub struct Cleanup {
    args: Vec<String>,
}

impl Cleanup {
    /// Tags `image` as `tag` now; removes the tag (never the image) when dropped.
    pub fn image_tag(image: &str, tag: &str) -> Self {
        docker(&["tag", image, tag]);
        Self::on_drop(&["image", "rm", tag])
    }

    /// Creates a volume without labels now; removes it when dropped.
    pub fn volume(name: &str) -> Self {
        docker(&["volume", "create", name]);
        Self::on_drop(&["volume", "rm", "-f", name])
    }

    /// Creates a container without labels now; removes it and its anonymous volumes when
    /// dropped.
    pub fn container(name: &str, image: &str) -> Self {
        docker(&["create", "--name", name, image]);
        Self::on_drop(&["rm", "-f", "-v", name])
    }

    fn on_drop(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(&self.args)
            .output();
    }
}

/// Removes the containers (with their anonymous volumes), the network and the labelled volumes
/// of `project`, whatever state a test left them in.
pub fn remove_project_objects(project: &str) {
    if !has_program("docker", &["version"]) {
        return;
    }
    let filter = format!("label=com.docker.compose.project={project}");
    let listed = |args: &[&str]| -> Vec<String> {
        std::process::Command::new("docker")
            .args(args)
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let quiet = |args: &[&str]| {
        let _ = std::process::Command::new("docker").args(args).output();
    };
    for id in listed(&["ps", "-aq", "--filter", &filter]) {
        quiet(&["rm", "-f", "-v", &id]);
    }
    quiet(&["network", "rm", &format!("{project}_default")]);
    for volume in listed(&["volume", "ls", "-q", "--filter", &filter]) {
        // A database volume made on a prepared copy of a snapshot: the copy goes too.
        let backing = listed(&[
            "volume",
            "inspect",
            "-f",
            "{{ index .Labels \"devenv.cache.backing\" }}",
            &volume,
        ]);
        quiet(&["volume", "rm", &volume]);
        for copy in backing {
            quiet(&["volume", "rm", &copy]);
        }
    }
    // Database snapshots the project built (the cache's tests).
    let built_by = format!("label=devenv.cache.project={project}");
    for volume in listed(&["volume", "ls", "-q", "--filter", &built_by]) {
        quiet(&["volume", "rm", &volume]);
    }
}

/// A child process killed and reaped when dropped, so a failing test leaves none running.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// Starts `command` with its output discarded.
    pub fn spawn(command: &mut std::process::Command) -> Self {
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
