//! Two checkouts of one project: a second directory with the same project name never touches
//! the first one's containers or data; a vanished directory is adopted only with consent; a
//! git worktree runs as a project of its own.

use crate::support::*;
use std::path::Path;

/// A Redis-only stack: enough to own containers, a network and a volume, quick to start.
const CACHE_ONLY: &str = r#"
[project]
name = "{name}"

[services.cache]
use = "redis"
image = "redis:7"
volumes = ["data:/data"]
"#;

fn run(project: &TestProject, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = project.devenv_process(args);
    cmd.current_dir(dir);
    output(&mut assert_cmd::Command::from_std(cmd))
}

/// A second project directory whose devenv.toml has `name`, cleaned up as project `runs_as`.
fn second_checkout(stack: &str, name: &str, runs_as: String) -> TestProject {
    let project = TestProject::empty(runs_as);
    project.write("devenv.toml", &stack.replace("{name}", name));
    project
}

#[test]
fn a_second_directory_with_the_same_name_is_refused_and_the_first_keeps_running() {
    if !docker_ready() {
        return;
    }
    let first = TestProject::engine(CACHE_ONLY, &["CACHE_PORT"]);
    let (code, out, err) = output(&mut first.devenv(&["up"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let before = first.container_id("cache");

    let second = second_checkout(CACHE_ONLY, &first.name, format!("{}-2", first.name));
    let (code, out, err) = run(&first, second.root(), &["up"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let first_dir = std::fs::canonicalize(first.root()).unwrap();
    assert!(
        err.contains("belongs to another checkout") && err.contains(&*first_dir.to_string_lossy()),
        "the error names the other checkout: {err}"
    );
    assert!(
        err.contains("--name") && err.contains("DEVENV_PROJECT"),
        "{err}"
    );
    let (code, _, err) = run(&first, second.root(), &["down", "--volumes", "--yes"]);
    assert_eq!(
        code, 1,
        "down from the other directory is refused too: {err}"
    );

    assert_eq!(first.container_id("cache"), before, "never recreated");
    let (code, out, err) = output(&mut first.devenv(&["status"]));
    assert_eq!(code, 0, "the first checkout is still healthy: {out}\n{err}");

    // The fix the error offers works: the second checkout under its own name.
    let (code, out, err) = run(&first, second.root(), &["--name", &second.name, "up"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_ne!(second.container_id("cache"), before);
    for (project, dir) in [(&first, first.root()), (&first, second.root())] {
        let name_flag: &[&str] = if dir == first.root() {
            &[]
        } else {
            &["--name", &second.name]
        };
        let mut args = name_flag.to_vec();
        args.extend(["down", "--volumes", "--yes"]);
        let (code, out, err) = run(project, dir, &args);
        assert_eq!(code, 0, "{out}\n{err}");
    }
}

#[test]
fn a_vanished_checkout_is_adopted_only_with_consent() {
    if !docker_ready() {
        return;
    }
    let first = TestProject::engine(CACHE_ONLY, &["CACHE_PORT"]);
    let (code, out, err) = output(&mut first.devenv(&["up"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let port = first.env_value("CACHE_PORT");
    std::fs::remove_dir_all(first.root()).unwrap();

    let second = second_checkout(CACHE_ONLY, &first.name, first.name.clone());
    second.write(".env", &format!("CACHE_PORT={port}\n"));
    let (code, out, err) = run(&first, second.root(), &["up"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("no longer exists") && err.contains("--adopt"),
        "{err}"
    );

    let (code, out, err) = run(&first, second.root(), &["up", "--adopt"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(second.path(".devenv/adopted").is_file());
    let (code, out, err) = run(&first, second.root(), &["status"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = run(&first, second.root(), &["down", "--volumes", "--yes"]);
    assert_eq!(
        code, 0,
        "the adopted project is this checkout's now: {out}\n{err}"
    );
    assert!(
        docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={}", first.name)
        ])
        .is_empty(),
        "its volume went with --volumes"
    );
}

fn psql_in(container: &str, sql: &str) -> String {
    docker(&[
        "exec", container, "psql", "-U", "shop", "-d", "shop", "-tAc", sql,
    ])
}

#[test]
fn a_git_worktree_runs_beside_the_main_checkout_with_its_own_data_and_ports() {
    if !docker_ready() || !require("git", has_program("git", &["--version"])) {
        return;
    }
    let main = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    git(main.root(), &["init", "-q"]);
    git(main.root(), &["add", "devenv.toml"]);
    git(main.root(), &["commit", "-qm", "stack"]);
    let worktrees = tempfile::tempdir().unwrap();
    let tree = worktrees.path().join("Feature.X");
    git(
        main.root(),
        &["worktree", "add", "-q", &tree.to_string_lossy()],
    );
    let worktree_guard = TestProject::empty(format!("{}-feature-x", main.name));
    // The worktree starts from the main checkout's ports, which the main checkout holds.
    let (db_port, cache_port) = (main.env_value("DB_PORT"), main.env_value("CACHE_PORT"));
    std::fs::write(
        tree.join(".env"),
        format!("DB_PORT={db_port}\nCACHE_PORT={cache_port}\n"),
    )
    .unwrap();

    let (code, out, err) = output(&mut main.devenv(&["up"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = run(&main, &tree, &["up"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!("project `{}`", worktree_guard.name)),
        "the worktree's own project name is printed: {err}"
    );
    let worktree_env = std::fs::read_to_string(tree.join(".env")).unwrap();
    assert!(
        !worktree_env.contains(&format!("DB_PORT={db_port}\n")),
        "the main checkout's port was remapped: {worktree_env}"
    );

    let main_db = format!("{}-db-1", main.name);
    let tree_db = format!("{}-db-1", worktree_guard.name);
    for (container, row) in [(&main_db, "main"), (&tree_db, "worktree")] {
        psql_in(container, "create table if not exists notes(text text)");
        psql_in(container, &format!("insert into notes values ('{row}')"));
    }
    assert_eq!(
        psql_in(&main_db, "select string_agg(text, ',') from notes"),
        "main"
    );
    assert_eq!(
        psql_in(&tree_db, "select string_agg(text, ',') from notes"),
        "worktree"
    );

    let (code, out, err) = run(&main, main.root(), &["status", "--all", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&main.name) && out.contains(&worktree_guard.name),
        "{out}"
    );

    for dir in [main.root(), tree.as_path()] {
        let (code, out, err) = run(&main, dir, &["down", "--volumes", "--yes"]);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    assert!(docker(&["ps", "-aq", "--filter", &format!("name={}", main.name)]).is_empty());
}

#[test]
fn the_global_name_flag_leaves_other_name_arguments_alone() {
    let project = TestProject::new(CACHE_ONLY);
    project.write(
        "devenv.toml",
        &format!(
            "{}\n[database]\nurl = \"sqlite:app.db\"\nmigrations = \"migrations\"\n",
            CACHE_ONLY.replace("{name}", &project.name)
        ),
    );
    let (code, out, err) = output(&mut project.devenv(&["migrate", "new", "add stock"]));
    assert_eq!(
        code, 0,
        "`migrate new NAME` is not the project name: {out}\n{err}"
    );
    let (code, _, err) = output(&mut project.devenv(&["--name", "Bad Name", "status"]));
    assert_eq!(code, 2, "an invalid --name is a usage error: {err}");
    assert!(err.contains("invalid project name `Bad Name`"), "{err}");
}
