//! Checks of the project's files: generated files, `.env`, git, ports, images.

use super::Check;
use crate::engine::Engine;
use crate::env::{self, Loaded, check::Finding};
use crate::generate::{self, FileState};
use crate::ports;
use crate::source::Diagnostic;
use crate::stack::Stack;

/// Every project check.
pub async fn checks(stack: &Stack, engine: Option<&Engine>) -> Vec<Check> {
    let mut checks = vec![generated_files(stack)];
    let loaded = env::load(stack);
    checks.extend(env_checks(stack, &loaded));
    checks.push(gitignore(stack));
    let values = loaded
        .unwrap_or_else(|_| Loaded::without_file(stack))
        .values;
    checks.push(port_check(stack, engine, &values).await);
    checks.push(image_check(stack, engine, &values).await);
    checks
}

fn generated_files(stack: &Stack) -> Check {
    let title = "generated files present and in sync with devenv.toml";
    let mut missing = Vec::new();
    let mut stale = Vec::new();
    let mut edited = Vec::new();
    for file in generate::files(stack) {
        let name = file.path.display().to_string();
        match generate::state(&stack.root, &file) {
            Ok(FileState::UpToDate) => {}
            Ok(FileState::Missing) => missing.push(name),
            Ok(FileState::Stale) => stale.push(name),
            Ok(FileState::HandEdited | FileState::Foreign) | Err(_) => edited.push(name),
        }
    }
    if !stale.is_empty() {
        Check::fail(
            "generated-files",
            title,
            format!("out of date: {}", stale.join(", ")),
            "run `devenv generate` (or `devenv doctor --fix`) and commit the result",
        )
    } else if !edited.is_empty() {
        Check::warn(
            "generated-files",
            title,
            format!("edited by hand or not devenv's: {}", edited.join(", ")),
            "move the edits into devenv.toml, then `devenv generate --force`",
        )
    } else if !missing.is_empty() {
        Check::warn(
            "generated-files",
            title,
            format!("missing: {}", missing.join(", ")),
            "run `devenv generate` (or `devenv doctor --fix`)",
        )
    } else {
        Check::ok(
            "generated-files",
            title,
            "docker-compose.yml and .env.example match devenv.toml",
        )
    }
}

fn env_checks(stack: &Stack, loaded: &Result<Loaded, Diagnostic>) -> Vec<Check> {
    let file = match loaded.as_ref().map(|l| l.file.as_ref()) {
        Err(e) => {
            return vec![Check::fail(
                "env-file",
                ".env present and readable",
                e.to_string(),
                e.help
                    .clone()
                    .unwrap_or_else(|| "fix the line it names".into()),
            )];
        }
        Ok(None) => {
            return vec![Check::fail(
                "env-file",
                ".env present and readable",
                "there is no .env",
                "run `devenv env init` (or `devenv doctor --fix`)",
            )];
        }
        Ok(Some(file)) => file,
    };
    let mut checks = vec![Check::ok(
        "env-file",
        ".env present and readable",
        format!("{} keys", file.values.len()),
    )];
    let findings = env::check::check(stack, Some(file));
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.problem != "not used by devenv.toml")
        .collect();
    let title = ".env has every key, no placeholders left";
    checks.push(if let Some(first) = serious.first() {
        let detail = serious
            .iter()
            .map(|f| format!("{}: {}", f.key, f.problem))
            .collect::<Vec<_>>()
            .join("; ");
        let fix = if serious.iter().any(|f| f.problem == "missing") {
            "run `devenv env init` (or `devenv doctor --fix`): it appends the missing keys"
                .to_string()
        } else {
            first.fix.clone()
        };
        Check::fail("env-keys", title, detail, fix)
    } else {
        Check::ok("env-keys", title, "complete")
    });
    checks
}

fn gitignore(stack: &Stack) -> Check {
    let title = ".env ignored by git";
    if !crate::git::in_work_tree(&stack.root) {
        return Check::ok("env-gitignored", title, "not a git repository");
    }
    if crate::git::is_tracked(&stack.root, env::ENV_FILE) {
        let ignore = if crate::git::listed_in_gitignore(&stack.root, env::ENV_FILE) {
            ""
        } else {
            ", `echo .env >> .gitignore`"
        };
        return Check::fail(
            "env-gitignored",
            title,
            ".env is tracked by git: its secrets go into the repository with every commit (an ignore line does not untrack it)",
            format!(
                "untrack it (the file stays here): `git rm --cached .env`{ignore}, then commit; change any secret already pushed"
            ),
        );
    }
    if crate::git::is_ignored(&stack.root, env::ENV_FILE) {
        Check::ok("env-gitignored", title, ".env is ignored")
    } else {
        Check::fail(
            "env-gitignored",
            title,
            ".env is not ignored: its secrets could be committed",
            "add it: `echo .env >> .gitignore`",
        )
    }
}

async fn port_check(stack: &Stack, engine: Option<&Engine>, values: &env::Values) -> Check {
    let title = "host ports free or held by this project";
    let published = match engine {
        Some(engine) => engine.published_ports().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let wanted = ports::wanted(&ports::all_services(stack), values);
    let conflicts = ports::conflicts(&wanted, &published, &stack.project.name);
    if conflicts.is_empty() {
        let list: Vec<String> = wanted.iter().map(|p| p.host_port.to_string()).collect();
        return Check::ok(
            "ports",
            title,
            if list.is_empty() {
                "no published ports".into()
            } else {
                list.join(", ")
            },
        );
    }
    let detail = conflicts
        .iter()
        .map(|c| {
            format!(
                "{}: {} is held by {}",
                c.port.service, c.port.host_port, c.holder
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let via_proxy = conflicts.iter().all(|c| matches!(&c.holder, ports::Holder::Process { command, .. } if command == "docker-proxy"));
    if engine.is_none() && via_proxy {
        return Check::warn(
            "ports",
            title,
            format!(
                "{detail}; without the engine devenv cannot tell whether these are this project's containers"
            ),
            "start or reach the Docker Engine (see the daemon check), then run `devenv doctor` again",
        );
    }
    let remappable = conflicts.iter().all(|c| c.port.var.is_some());
    let fix = if remappable {
        "`devenv up` (or `devenv doctor --fix`) moves them to free ports in .env; or stop what holds them"
    } else {
        "stop what holds the fixed port, or change it in devenv.toml (\"15432:5432\")"
    };
    Check::fail("ports", title, detail, fix)
}

async fn image_check(stack: &Stack, engine: Option<&Engine>, values: &env::Values) -> Check {
    let title = "images present locally";
    let Some(engine) = engine else {
        return Check::skip("images", title, "no engine to ask");
    };
    let config = crate::config::UserConfig::load().unwrap_or_default();
    let mut missing = Vec::new();
    for service in stack.services.values() {
        let image = config.rewrite_image(&values.expand(&service.image));
        if !engine.image_present(&image).await.unwrap_or(false) && !missing.contains(&image) {
            missing.push(image);
        }
    }
    if missing.is_empty() {
        Check::ok("images", title, "all present")
    } else {
        Check::warn(
            "images",
            title,
            format!(
                "not present: {}; `devenv up` pulls them (needs the registry)",
                missing.join(", ")
            ),
            format!(
                "pull them now (`docker pull {}`), or map them in [images] of {}",
                missing[0],
                config.describe_path()
            ),
        )
    }
}
