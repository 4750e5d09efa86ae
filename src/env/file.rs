//! Creating and completing the project's `.env`: the user's file, so devenv only ever adds the
//! keys it lacks (at the end, under a dated comment) and never rewrites a line of theirs.

use super::dotenv::{self, EnvFile};
use super::{Loaded, Values};
use crate::diagnostic::Diagnostic;
use crate::stack::{Stack, VariableKind};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// The `.env` file name.
pub const ENV_FILE: &str = ".env";

/// What `ensure` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EnsureReport {
    /// `.env` did not exist and was created.
    pub created: bool,
    /// Keys appended to an existing `.env`.
    pub added: Vec<String>,
    /// `.env` was added to `.gitignore`.
    pub ignored_in_git: bool,
}

/// What `ensure` does when it would write generated secrets into a `.env` that git tracks
/// (their values would go into the next commit).
#[derive(Clone, Copy)]
pub enum IfTracked<'a> {
    /// Write them without a word.
    Write,
    /// Pass a warning to the callback, then write them.
    Warn(&'a dyn Fn(&str)),
    /// Write nothing; fail with an error naming the file and the ways out.
    Refuse,
}

/// Path of the stack's `.env`.
pub fn path(stack: &Stack) -> PathBuf {
    stack.root.join(ENV_FILE)
}

/// Makes sure `.env` exists and has every key the stack uses; returns it and the resolved
/// values afterwards.
pub fn ensure(
    stack: &Stack,
    if_tracked: IfTracked<'_>,
) -> Result<(Loaded, EnsureReport), Diagnostic> {
    let path = path(stack);
    let existing = dotenv::read(&path)?;
    let mut report = EnsureReport::default();
    let file_values = existing
        .as_ref()
        .map(|f| f.values.clone())
        .unwrap_or_default();
    let additions = missing_entries(stack, &file_values);
    if !additions.is_empty() {
        guard_tracked(stack, &additions, if_tracked)?;
    }
    let text = match &existing {
        None => {
            report.created = true;
            render_new(stack, &additions)
        }
        Some(file) if additions.is_empty() => file.text.clone(),
        Some(file) => {
            report.added = additions.keys().cloned().collect();
            append(&file.text, &additions)
        }
    };
    if report.created || !report.added.is_empty() {
        crate::fsutil::write_atomic(&path, text.as_bytes(), Some(0o600))
            .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
        report.ignored_in_git = ignore_in_git(&stack.root).unwrap_or(false);
    }
    let file = dotenv::parse(&path, text)?;
    Ok((Loaded::from_file(stack, Some(file)), report))
}

/// `text` with `additions` appended under a dated comment.
fn append(text: &str, additions: &IndexMap<String, String>) -> String {
    let mut text = text.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# Added by devenv on {}: keys devenv.toml uses that this file lacked\n",
        super::today()
    ));
    for (key, value) in additions {
        text.push_str(&format!("{key}={}\n", dotenv::quote(value)));
    }
    text
}

/// Applies `if_tracked` when `additions` hold generated secrets and git tracks `.env`.
fn guard_tracked(
    stack: &Stack,
    additions: &IndexMap<String, String>,
    if_tracked: IfTracked<'_>,
) -> Result<(), Diagnostic> {
    let secrets: Vec<&str> = stack
        .variables
        .values()
        .filter(|v| v.secret && additions.contains_key(&v.name))
        .map(|v| v.name.as_str())
        .collect();
    if secrets.is_empty()
        || matches!(if_tracked, IfTracked::Write)
        || !crate::git::in_work_tree(&stack.root)
        || !crate::git::is_tracked(&stack.root, ENV_FILE)
    {
        return Ok(());
    }
    let path = path(stack);
    match if_tracked {
        IfTracked::Warn(warn) => {
            warn(&format!(
                "{} is tracked by git: the generated {} will be in your next commit unless you untrack it (`git rm --cached {ENV_FILE}`)",
                path.display(),
                secrets.join(", ")
            ));
            Ok(())
        }
        _ => Err(Diagnostic::new(format!(
            "{} is tracked by git: devenv will not write generated secrets ({}) into it",
            path.display(),
            secrets.join(", ")
        ))
        .with_help(format!(
            "untrack it: `git rm --cached {ENV_FILE}` and `echo {ENV_FILE} >> .gitignore` (commit both), then run again; or pass --yes to write them into the tracked file anyway"
        ))),
    }
}

/// Values for the keys `.env` lacks: ports at their defaults, fresh secrets, derived values
/// expanded (apps that read `.env` without expansion still get working values).
fn missing_entries(
    stack: &Stack,
    file_values: &IndexMap<String, String>,
) -> IndexMap<String, String> {
    let mut known = file_values.clone();
    for var in stack.variables.values() {
        if var.secret && !known.contains_key(&var.name) {
            known.insert(var.name.clone(), super::secrets::generate());
        }
    }
    let values = Values::resolve(stack, &known);
    stack
        .variables
        .values()
        .filter(|v| !file_values.contains_key(&v.name))
        .map(|v| {
            let value = known
                .get(&v.name)
                .cloned()
                .or_else(|| values.get(&v.name).map(str::to_string));
            (v.name.clone(), value.unwrap_or_default())
        })
        .collect()
}

/// The text of a new `.env`, grouped like `.env.example`.
fn render_new(stack: &Stack, values: &IndexMap<String, String>) -> String {
    let mut text = format!(
        "# Local settings of `{}` for this machine, created by devenv from devenv.toml.\n\
         # This file is yours: devenv only adds missing keys (at the end) and changes host ports it\n\
         # remaps. Keep it out of version control; .env.example is the shared description.\n",
        stack.project.name
    );
    let mut last_group: Option<Option<&str>> = None;
    for var in stack.variables.values() {
        let group = var.service();
        if last_group != Some(group) {
            text.push_str(&match group {
                Some(service) => format!("\n# --- service `{service}` ---\n"),
                None => format!("\n# --- project `{}` ---\n", stack.project.name),
            });
            last_group = Some(group);
        }
        let note = match &var.kind {
            VariableKind::HostPort { .. } => String::new(),
            _ if var.secret => " (generated secret)".to_string(),
            _ => String::new(),
        };
        for line in var.description.lines() {
            text.push_str(&format!("# {line}{note}\n"));
        }
        text.push_str(&format!(
            "{}={}\n",
            var.name,
            dotenv::quote(values.get(&var.name).map_or("", String::as_str))
        ));
    }
    text
}

/// Sets host-port keys in `.env` to new values, and in the same write every derived value
/// that still equals what devenv.toml gives with the old ports. Every other byte is kept.
/// Returns the keys changed.
pub fn apply_port_changes(
    stack: &Stack,
    file: &EnvFile,
    ports: &IndexMap<String, String>,
) -> Result<Vec<String>, Diagnostic> {
    let old = Values::resolve_file_only(stack, &file.values);
    let mut new_values = file.values.clone();
    new_values.extend(ports.clone());
    let new = Values::resolve_file_only(stack, &new_values);
    let mut updates = ports.clone();
    for var in stack
        .variables
        .values()
        .filter(|v| matches!(v.kind, VariableKind::Declared))
    {
        let Some(template) = &var.value else { continue };
        let refs = crate::stack::interpolate::references(template).unwrap_or_default();
        if refs.is_empty() || updates.contains_key(&var.name) {
            continue;
        }
        let was = old.expand(template);
        let now = new.expand(template);
        if was != now && file.values.get(&var.name) == Some(&was) {
            updates.insert(var.name.clone(), now);
        }
    }
    let text = replace_keys(&file.text, &updates);
    let path = path(stack);
    crate::fsutil::write_atomic(&path, text.as_bytes(), Some(0o600))
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(updates.keys().cloned().collect())
}

/// Replaces the lines that set `updates`' keys (keeping an `export ` prefix and the line
/// ending); every other line stays byte for byte. Keys not found are appended.
pub fn replace_keys(text: &str, updates: &IndexMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let trimmed = body.trim_start();
        let (export, rest) = match trimmed.strip_prefix("export ") {
            Some(rest) => ("export ", rest.trim_start()),
            None => ("", trimmed),
        };
        let key = rest.split('=').next().unwrap_or_default().trim();
        match updates.get_key_value(key) {
            Some((key, value)) if rest.contains('=') && !done.contains(&key.as_str()) => {
                let indent = &body[..body.len() - trimmed.len()];
                out.push_str(&format!(
                    "{indent}{export}{key}={}{ending}",
                    dotenv::quote(value)
                ));
                done.push(key);
            }
            _ => out.push_str(line),
        }
    }
    for (key, value) in updates {
        if !done.contains(&key.as_str()) {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{key}={}\n", dotenv::quote(value)));
        }
    }
    out
}

/// Adds `.env` to `.gitignore` when the project is in a git work tree that does not ignore it.
/// Returns whether it changed `.gitignore`.
fn ignore_in_git(root: &Path) -> std::io::Result<bool> {
    crate::git::ignore(root, ENV_FILE, "Local settings and secrets (devenv)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop_in(dir: &Path) -> Stack {
        crate::stack::tests_support::shop_at(dir)
    }

    #[test]
    fn creates_env_with_secrets_and_mode_600() {
        let dir = tempfile::tempdir().unwrap();
        let stack = shop_in(dir.path());
        let (loaded, report) = ensure(&stack, IfTracked::Write).unwrap();
        let file = loaded.file.unwrap();
        assert!(report.created);
        let password = &file.values["DB_PASSWORD"];
        assert!(password.len() >= 32);
        assert_eq!(
            file.values["DATABASE_URL"],
            format!("postgres://shop:{password}@127.0.0.1:5432/shop")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(".env"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (_, again) = ensure(&stack, IfTracked::Write).unwrap();
        assert_eq!(
            again,
            EnsureReport::default(),
            "a complete .env is left alone"
        );
    }

    #[test]
    fn appends_missing_keys_and_keeps_user_lines() {
        let dir = tempfile::tempdir().unwrap();
        let user = "# my notes\nDB_PASSWORD='mine # not a comment'\nEXTRA=1";
        std::fs::write(dir.path().join(".env"), user).unwrap();
        let (loaded, report) = ensure(&shop_in(dir.path()), IfTracked::Write).unwrap();
        let file = loaded.file.unwrap();
        assert_eq!(report.added, ["DB_PORT", "CACHE_PORT", "DATABASE_URL"]);
        assert!(
            file.text
                .starts_with(&format!("{user}\n\n# Added by devenv on ")),
            "{}",
            file.text
        );
        assert_eq!(file.values["DB_PASSWORD"], "mine # not a comment");
        assert_eq!(
            file.values["DATABASE_URL"],
            "postgres://shop:mine # not a comment@127.0.0.1:5432/shop"
        );
    }

    #[test]
    fn remapping_a_port_keeps_every_other_byte_and_updates_derived_values() {
        let dir = tempfile::tempdir().unwrap();
        let stack = shop_in(dir.path());
        let user = "# mine\r\nexport DB_PORT=5432 # local pg\nDB_PASSWORD=pw\n\n  # indented note\nDATABASE_URL=postgres://shop:pw@127.0.0.1:5432/shop\nCACHE_PORT=6379";
        std::fs::write(dir.path().join(".env"), user).unwrap();
        let file = dotenv::read(&dir.path().join(".env")).unwrap().unwrap();
        let ports: IndexMap<String, String> = [("DB_PORT".to_string(), "5433".to_string())]
            .into_iter()
            .collect();
        let changed = apply_port_changes(&stack, &file, &ports).unwrap();
        assert_eq!(changed, ["DB_PORT", "DATABASE_URL"]);
        let text = std::fs::read_to_string(dir.path().join(".env")).unwrap();
        assert_eq!(
            text,
            "# mine\r\nexport DB_PORT=5433\nDB_PASSWORD=pw\n\n  # indented note\nDATABASE_URL=postgres://shop:pw@127.0.0.1:5433/shop\nCACHE_PORT=6379"
        );
    }

    #[test]
    fn a_customised_derived_value_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let stack = shop_in(dir.path());
        std::fs::write(
            dir.path().join(".env"),
            "DB_PORT=5432\nDB_PASSWORD=pw\nDATABASE_URL=postgres://elsewhere/db\n",
        )
        .unwrap();
        let file = dotenv::read(&dir.path().join(".env")).unwrap().unwrap();
        let ports: IndexMap<String, String> = [("DB_PORT".to_string(), "5433".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            apply_port_changes(&stack, &file, &ports).unwrap(),
            ["DB_PORT"]
        );
    }

    #[test]
    fn adds_env_to_gitignore_in_a_git_repository() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".gitignore"), "target").unwrap();
        let (_, report) = ensure(&shop_in(dir.path()), IfTracked::Write).unwrap();
        assert!(report.ignored_in_git);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            "target\n# Local settings and secrets (devenv)\n.env\n"
        );
    }
}
