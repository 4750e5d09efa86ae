//! A `.env` that git tracks, in a real repository: `doctor` names it with the fix that untracks
//! it (and `--fix` leaves git alone), `up` refuses to write generated secrets into it without
//! `--yes`, before it contacts the engine.

use crate::support::*;

/// No engine: what these tests check happens before devenv needs one.
const NO_ENGINE: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/docker.sock");

/// The shop project in a git repository whose last commit holds `.env` with `env`.
fn committed_env(env: &str) -> Option<TestProject> {
    if !require("git", has_program("git", &["--version"])) {
        return None;
    }
    let project = TestProject::new(SHOP);
    project.write(".env", env);
    git(project.root(), &["init", "-q"]);
    git(project.root(), &["add", ".env", "devenv.toml"]);
    git(project.root(), &["commit", "-q", "-m", "settings"]);
    Some(project)
}

fn devenv_without_engine(project: &TestProject, args: &[&str]) -> (i32, String, String) {
    output(project.devenv(args).env(NO_ENGINE.0, NO_ENGINE.1))
}

fn gitignore_check(project: &TestProject, args: &[&str]) -> serde_json::Value {
    let (_, out, err) = devenv_without_engine(project, args);
    let report: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}):\n{out}\n{err}"));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "env-gitignored")
        .cloned()
        .unwrap_or_else(|| panic!("no env-gitignored check in {report}"))
}

#[test]
fn doctor_names_a_tracked_env_and_fix_leaves_the_index_alone() {
    let Some(project) = committed_env("DB_PORT=5432\n") else {
        return;
    };
    let check = gitignore_check(&project, &["doctor", "--json"]);
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("tracked by git"),
        "{check}"
    );
    let fix = check["fix"].as_str().unwrap();
    assert!(
        fix.contains("git rm --cached .env") && fix.contains(".gitignore"),
        "{fix}"
    );

    let (_, out, err) = devenv_without_engine(&project, &["doctor", "--fix"]);
    assert!(
        out.contains("git rm --cached .env"),
        "the fix is printed:\n{out}\n{err}"
    );
    assert_eq!(
        git(project.root(), &["ls-files", "--", ".env"]).trim(),
        ".env",
        "--fix does not untrack"
    );
    assert_eq!(
        project.read(".env"),
        "DB_PORT=5432\n",
        "--fix writes no generated secret into a tracked .env"
    );

    project.write(".gitignore", ".env\n");
    let check = gitignore_check(&project, &["doctor", "--json"]);
    assert_eq!(
        check["status"], "fail",
        "an ignore line does not untrack: {check}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("git rm --cached .env"),
        "{check}"
    );

    git(project.root(), &["rm", "-q", "--cached", ".env"]);
    let check = gitignore_check(&project, &["doctor", "--json"]);
    assert_eq!(check["status"], "ok", "untracked and ignored: {check}");
}

#[test]
fn up_refuses_to_write_a_secret_into_a_tracked_env_without_yes() {
    let Some(project) = committed_env("DB_PORT=5432\n") else {
        return;
    };
    let (code, _, err) = devenv_without_engine(&project, &["up"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(".env is tracked by git") && err.contains("DB_PASSWORD"),
        "{err}"
    );
    assert!(
        err.contains("git rm --cached .env") && err.contains("--yes"),
        "both ways out: {err}"
    );
    assert!(
        !err.contains("Docker") && !err.contains("docker.sock"),
        "refused before the engine was contacted: {err}"
    );
    assert_eq!(project.read(".env"), "DB_PORT=5432\n", "nothing written");

    let (code, _, err) = devenv_without_engine(&project, &["up", "--yes"]);
    assert_ne!(code, 0, "there is no engine to start anything on");
    assert!(
        err.contains("warning") && err.contains("tracked by git"),
        "--yes warns: {err}"
    );
    let env = project.read(".env");
    assert!(
        env.contains("DB_PASSWORD="),
        "--yes writes the secret: {env}"
    );
    assert!(
        !err.contains(env_value(&env, "DB_PASSWORD")),
        "the secret is never shown"
    );

    // Complete now: nothing to generate, so nothing to refuse; `up` goes on to the engine.
    let (code, _, err) = devenv_without_engine(&project, &["up"]);
    assert_ne!(code, 0);
    assert!(!err.contains("tracked by git"), "{err}");
}

#[test]
fn up_will_not_recreate_a_deleted_env_that_git_still_tracks() {
    let Some(project) = committed_env("DB_PORT=5432\n") else {
        return;
    };
    std::fs::remove_file(project.path(".env")).unwrap();
    let (code, _, err) = devenv_without_engine(&project, &["up"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("tracked by git"), "{err}");
    assert!(!project.path(".env").exists(), "nothing written");
}

fn env_value<'a>(env: &'a str, key: &str) -> &'a str {
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {env}"))
}
