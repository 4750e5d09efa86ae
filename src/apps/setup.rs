//! An app's `setup` (`cargo build`, `npm install`): run before the app starts when it never
//! ran, or when its command or a file of its `inputs` changed since it last succeeded (the
//! hash is kept in `.devenv/setup/<app>.sha256`). Its output is streamed to the caller; a
//! failure stops `up` with its last lines.

use crate::diagnostic::Diagnostic;
use crate::env::Values;
use crate::hash::sha256_hex;
use crate::stack::{App, Stack};
use std::path::PathBuf;

/// Whether setup ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupRun {
    /// It ran and succeeded.
    Ran,
    /// Its inputs are as when it last succeeded.
    UpToDate,
}

/// Whether `app` has a setup that has not succeeded with its current command and inputs.
pub fn is_due(stack: &Stack, app: &App) -> bool {
    app.setup.is_some() && !up_to_date(stack, app, &inputs_hash(stack, app))
}

/// Whether the setup last succeeded with inputs of this hash.
fn up_to_date(stack: &Stack, app: &App, hash: &str) -> bool {
    std::fs::read_to_string(record_path(stack, &app.name))
        .is_ok_and(|recorded| recorded.trim() == hash)
}

/// Runs `app`'s setup if it has one and it is due; each output line goes to `on_line`.
pub async fn run_if_due(
    stack: &Stack,
    app: &App,
    values: &Values,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<Option<SetupRun>, Diagnostic> {
    let Some(setup) = &app.setup else {
        return Ok(None);
    };
    let hash = inputs_hash(stack, app);
    if up_to_date(stack, app, &hash) {
        return Ok(Some(SetupRun::UpToDate));
    }
    let env: Vec<(String, String)> = super::environment(app, values).into_iter().collect();
    let argv = match &setup.command {
        crate::stack::AppCommand::Shell(line) => {
            vec!["sh".into(), "-c".into(), values.expand(line)]
        }
        crate::stack::AppCommand::Argv(argv) => argv.iter().map(|a| values.expand(a)).collect(),
    };
    let label = format!("{} setup", app.name);
    crate::database::command::run(&argv, &stack.root.join(&app.cwd), &env, &label, on_line)
        .await
        .map_err(|e| {
            e.with_help(format!(
                "fix what its output says (the command is [apps.{}].setup in devenv.toml), then run `devenv up` again; `devenv up --no-setup` skips it",
                app.name
            ))
        })?;
    crate::project::state_dir(&stack.root)?;
    let record = record_path(stack, &app.name);
    std::fs::create_dir_all(record.parent().expect("the record has a directory"))
        .and_then(|()| std::fs::write(&record, format!("{hash}\n")))
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", record.display())))?;
    Ok(Some(SetupRun::Ran))
}

/// `.devenv/setup/<app>.sha256`.
fn record_path(stack: &Stack, app: &str) -> PathBuf {
    stack
        .root
        .join(crate::project::STATE_DIR)
        .join("setup")
        .join(format!("{app}.sha256"))
}

/// A hash of the setup command and of each input's path and content (a missing input counts
/// as such, so that its appearance reruns setup).
fn inputs_hash(stack: &Stack, app: &App) -> String {
    let Some(setup) = &app.setup else {
        return String::new();
    };
    let mut text = format!("{:?}\n", setup.command);
    for input in &setup.inputs {
        let content = std::fs::read(stack.root.join(input))
            .map(|bytes| sha256_hex(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_else(|_| "missing".into());
        text.push_str(&format!("{}\0{content}\n", input.display()));
    }
    sha256_hex(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn setup_runs_first_and_again_only_when_an_input_changed() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[project]\nname = \"x\"\n[apps.api]\ncommand = \"x\"\nsetup = { command = \"echo built >> builds.txt; echo building\", inputs = [\"Cargo.lock\"] }\n";
        std::fs::write(dir.path().join("devenv.toml"), text).unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), "v1\n").unwrap();
        let stack = crate::stack::load(&dir.path().join("devenv.toml")).unwrap();
        let app = &stack.apps["api"];
        let values = Values::default();
        let lines = Mutex::new(Vec::new());
        let on_line = |line: &str| lines.lock().unwrap().push(line.to_string());
        let run = || run_if_due(&stack, app, &values, &on_line);
        assert_eq!(run().await.unwrap(), Some(SetupRun::Ran));
        assert_eq!(lines.lock().unwrap().as_slice(), ["api setup | building"]);
        assert_eq!(run().await.unwrap(), Some(SetupRun::UpToDate));
        std::fs::write(dir.path().join("Cargo.lock"), "v2\n").unwrap();
        assert_eq!(run().await.unwrap(), Some(SetupRun::Ran));
        assert_eq!(run().await.unwrap(), Some(SetupRun::UpToDate));
        let builds = std::fs::read_to_string(dir.path().join("builds.txt")).unwrap();
        assert_eq!(builds.lines().count(), 2, "setup ran twice");
    }

    #[tokio::test]
    async fn a_failing_setup_says_so_with_its_last_lines_and_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[project]\nname = \"x\"\n[apps.api]\ncommand = \"x\"\nsetup = { command = \"echo 'error: no lockfile'; exit 2\" }\n";
        std::fs::write(dir.path().join("devenv.toml"), text).unwrap();
        let stack = crate::stack::load(&dir.path().join("devenv.toml")).unwrap();
        let app = &stack.apps["api"];
        let e = run_if_due(&stack, app, &Values::default(), &|_| {})
            .await
            .unwrap_err();
        assert!(e.message.contains("error: no lockfile"), "{e}");
        assert!(e.help.unwrap().contains("--no-setup"));
        assert!(!record_path(&stack, "api").exists());
    }
}
