//! Stack-file errors seen through the binary (`devenv generate`), and image references with a
//! digest asked of the real engine.

use crate::support::{TestProject, docker_ready, output};

fn health_with_interval(interval: &str) -> String {
    format!(
        "[project]\nname = \"{{name}}\"\n\n[services.web]\nimage = \"nginx\"\nports = [\"8080\"]\nhealth = {{ cmd = [\"true\"], interval = \"{interval}\" }}\n"
    )
}

#[test]
fn a_duration_too_large_is_an_error_at_its_line() {
    for interval in ["18446744073709551615s1s", "999999999999999999h"] {
        let project = TestProject::new(&health_with_interval(interval));
        let (code, _, err) = output(&mut project.devenv(&["generate"]));
        assert_eq!(code, 1, "{interval}: {err}");
        assert!(err.contains("devenv.toml:7:"), "{interval}: {err}");
        assert!(err.contains("is too large"), "{interval}: {err}");
        assert!(err.contains("2562047h"), "{interval}: {err}");
        assert!(!project.path("docker-compose.yml").exists());
    }
}

#[test]
fn the_largest_duration_is_accepted() {
    let project = TestProject::new(&health_with_interval("2562047h"));
    let (code, _, err) = output(&mut project.devenv(&["generate"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        project
            .read("docker-compose.yml")
            .contains("interval: 9223369200s")
    );
}

/// A reference pinned by digest is pulled by that digest: the engine is asked for a valid
/// reference (with no registry reachable the pull then fails for that reason, not for the
/// reference's format).
#[test]
fn an_image_pinned_by_digest_is_pulled_by_its_digest() {
    if !docker_ready() {
        return;
    }
    let digest = format!("sha256:{}", "0".repeat(64));
    for image in [
        format!("devenv-fixture/absent@{digest}"),
        format!("localhost:1/devenv-fixture/absent:1@{digest}"),
    ] {
        let project = TestProject::engine(
            &format!("[project]\nname = \"{{name}}\"\n\n[services.app]\nimage = \"{image}\"\n"),
            &[],
        );
        let (code, _, err) = output(&mut project.devenv(&["up"]));
        assert_eq!(code, 1, "{image}: {err}");
        assert!(err.contains("could not be pulled"), "{image}: {err}");
        assert!(!err.contains("invalid reference format"), "{image}: {err}");
    }
}
