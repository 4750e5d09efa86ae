//! Checks of the project's files: generated files, `.env`, git, ports, images.

use super::{Check, CheckId, Fix};
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::env::check::Problem;
use crate::env::{self, Loaded, check::Finding};
use crate::generate::{self, FileState};
use crate::ports;
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
            CheckId::GeneratedFiles,
            title,
            format!("out of date: {}", stale.join(", ")),
            "run `devenv generate` (or `devenv doctor --fix`) and commit the result",
        )
        .with_auto_fix(Fix::Regenerate)
    } else if !edited.is_empty() {
        Check::warn(
            CheckId::GeneratedFiles,
            title,
            format!("edited by hand or not devenv's: {}", edited.join(", ")),
            "move the edits into devenv.toml, then `devenv generate --force`",
        )
        // Only the missing ones: files edited by hand are never overwritten.
        .with_auto_fix(Fix::Regenerate)
    } else if !missing.is_empty() {
        Check::warn(
            CheckId::GeneratedFiles,
            title,
            format!("missing: {}", missing.join(", ")),
            "run `devenv generate` (or `devenv doctor --fix`)",
        )
        .with_auto_fix(Fix::Regenerate)
    } else {
        Check::ok(
            CheckId::GeneratedFiles,
            title,
            "docker-compose.yml and .env.example match devenv.toml",
        )
    }
}

fn env_checks(stack: &Stack, loaded: &Result<Loaded, Diagnostic>) -> Vec<Check> {
    let file = match loaded.as_ref().map(|l| l.file.as_ref()) {
        Err(e) => {
            return vec![Check::fail(
                CheckId::EnvFile,
                ".env present and readable",
                e.to_string(),
                e.help
                    .clone()
                    .unwrap_or_else(|| "fix the line it names".into()),
            )];
        }
        Ok(None) => {
            return vec![
                Check::fail(
                    CheckId::EnvFile,
                    ".env present and readable",
                    "there is no .env",
                    "run `devenv env init` (or `devenv doctor --fix`)",
                )
                .with_auto_fix(Fix::CompleteEnv),
            ];
        }
        Ok(Some(file)) => file,
    };
    let mut checks = vec![Check::ok(
        CheckId::EnvFile,
        ".env present and readable",
        format!("{} keys", file.values.len()),
    )];
    let findings = env::check::check(stack, Some(file));
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind != Problem::Unused)
        .collect();
    let title = ".env has every key, no placeholders left";
    checks.push(if let Some(first) = serious.first() {
        let detail = serious
            .iter()
            .map(|f| format!("{}: {}", f.key, f.problem))
            .collect::<Vec<_>>()
            .join("; ");
        if serious.iter().any(|f| f.kind == Problem::Missing) {
            let fix =
                "run `devenv env init` (or `devenv doctor --fix`): it appends the missing keys";
            Check::fail(CheckId::EnvKeys, title, detail, fix).with_auto_fix(Fix::CompleteEnv)
        } else {
            Check::fail(CheckId::EnvKeys, title, detail, first.fix.clone())
        }
    } else {
        Check::ok(CheckId::EnvKeys, title, "complete")
    });
    checks
}

fn gitignore(stack: &Stack) -> Check {
    let title = ".env ignored by git";
    if !crate::git::in_work_tree(&stack.root) {
        return Check::ok(CheckId::EnvGitignored, title, "not a git repository");
    }
    if crate::git::is_tracked(&stack.root, env::ENV_FILE) {
        let ignore = if crate::git::listed_in_gitignore(&stack.root, env::ENV_FILE) {
            ""
        } else {
            ", `echo .env >> .gitignore`"
        };
        return Check::fail(
            CheckId::EnvGitignored,
            title,
            ".env is tracked by git: its secrets go into the repository with every commit (an ignore line does not untrack it)",
            format!(
                "untrack it (the file stays here): `git rm --cached .env`{ignore}, then commit; change any secret already pushed"
            ),
        );
    }
    if crate::git::is_ignored(&stack.root, env::ENV_FILE) {
        Check::ok(CheckId::EnvGitignored, title, ".env is ignored")
    } else {
        Check::fail(
            CheckId::EnvGitignored,
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
    let mut conflicts = ports::conflicts(&wanted, &published, &stack.project.name);
    // A remote engine's ports are held here by the project's own forwarder.
    if let Some(engine) = engine
        && engine.endpoint.forwards_ports()
        && let Some(state) = crate::forward::load(&stack.root)
        && crate::forward::running(&state).await
    {
        conflicts.retain(|c| {
            !state
                .of(&c.port.service)
                .any(|f| f.local_port == c.port.host_port)
        });
    }
    if conflicts.is_empty() {
        let list: Vec<String> = wanted.iter().map(|p| p.host_port.to_string()).collect();
        return Check::ok(
            CheckId::Ports,
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
            CheckId::Ports,
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
    Check::fail(CheckId::Ports, title, detail, fix).with_auto_fix(Fix::RemapPorts)
}

async fn image_check(stack: &Stack, engine: Option<&Engine>, values: &env::Values) -> Check {
    let title = "images present locally";
    let Some(engine) = engine else {
        return Check::skip(CheckId::Images, title, "no engine to ask");
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
        Check::ok(CheckId::Images, title, "all present")
    } else {
        Check::warn(
            CheckId::Images,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use std::path::Path;

    fn env_keys(text: &str) -> Check {
        let stack = crate::stack::tests_support::shop_at(Path::new("."));
        let file = env::dotenv::parse(Path::new(".env"), text.to_string()).unwrap();
        env_checks(&stack, &Ok(Loaded::from_file(&stack, Some(file)))).remove(1)
    }

    #[test]
    fn missing_keys_name_the_env_fix_and_placeholders_do_not() {
        let missing = env_keys("DB_PORT=5432\nDB_PASSWORD=pw\n");
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(missing.auto_fix, Some(Fix::CompleteEnv));
        let placeholder = env_keys(
            "DB_PORT=5432\nCACHE_PORT=6379\nDB_PASSWORD=<REPLACE_ME>\nDATABASE_URL=postgres://shop:<REPLACE_ME>@127.0.0.1:5432/shop\n",
        );
        assert_eq!(placeholder.status, Status::Fail, "{placeholder:?}");
        assert_eq!(placeholder.auto_fix, None, "--fix cannot choose a password");
    }

    #[test]
    fn keys_the_stack_does_not_use_are_no_failure() {
        let check = env_keys(
            "DB_PORT=5432\nCACHE_PORT=6379\nDB_PASSWORD=pw\nDATABASE_URL=postgres://shop:pw@127.0.0.1:5432/shop\nSTRAY=1\n",
        );
        assert_eq!(check.status, Status::Ok, "{check:?}");
    }

    #[test]
    fn no_env_file_names_the_env_fix() {
        let stack = crate::stack::tests_support::shop_at(Path::new("."));
        let checks = env_checks(&stack, &Ok(Loaded::from_file(&stack, None)));
        assert_eq!(checks[0].id, CheckId::EnvFile);
        assert_eq!(checks[0].auto_fix, Some(Fix::CompleteEnv));
    }
}
