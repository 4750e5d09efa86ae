//! One checkout's resources are never another's: before `up`, `down` or `restart` touches a
//! project's containers, network or volumes, the directory that created them (their
//! working-dir label) must be this one. A live other checkout is an error naming it and the
//! ways to give this one its own name; a checkout whose directory is gone is adopted only with
//! consent (`--adopt`, or a yes on the terminal), and the adoption is remembered in
//! `.devenv/adopted`.

use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::engine::owners::{Owned, ResourceKind};
use crate::stack::Stack;
use crate::ui::Ui;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The file under `.devenv/` listing directories whose resources this checkout adopted.
const ADOPTED_FILE: &str = "adopted";

/// Resources of the project that another directory created, grouped by that directory.
pub fn foreign(owned: &[Owned], here: &Path, adopted: &[PathBuf]) -> BTreeMap<PathBuf, Vec<Owned>> {
    let here = canonical(here);
    let mut by_dir: BTreeMap<PathBuf, Vec<Owned>> = BTreeMap::new();
    for item in owned {
        let Some(owner) = &item.owner else { continue };
        let owner_canonical = canonical(owner);
        if owner_canonical == here || adopted.iter().any(|a| canonical(a) == owner_canonical) {
            continue;
        }
        by_dir.entry(owner.clone()).or_default().push(item.clone());
    }
    by_dir
}

/// Makes sure the project's resources on the engine belong to this checkout (see the module
/// doc). `adopt` is the `--adopt` flag.
pub async fn claim(engine: &Engine, stack: &Stack, adopt: bool, ui: &Ui) -> Result<(), Diagnostic> {
    let owned = engine.project_owners(&stack.project.name).await?;
    let adopted = read_adopted(&stack.root);
    let foreign = foreign(&owned, &stack.root, &adopted);
    if foreign.is_empty() {
        return Ok(());
    }
    if let Some((dir, items)) = foreign.iter().find(|(dir, _)| dir.is_dir()) {
        return Err(in_use_elsewhere(stack, dir, items));
    }
    let dirs: Vec<&PathBuf> = foreign.keys().collect();
    let listing = foreign
        .iter()
        .map(|(dir, items)| format!("{} ({})", dir.display(), describe(items)))
        .collect::<Vec<_>>()
        .join("; ");
    ui.warn(format!(
        "project `{}` was created from a directory that no longer exists: {listing}",
        stack.project.name
    ));
    if !adopt {
        ask_to_adopt(stack, ui)?;
    }
    record_adopted(&stack.root, &dirs)?;
    ui.info(format!(
        "adopted them for {}; its data volumes are kept",
        stack.root.display()
    ));
    Ok(())
}

fn in_use_elsewhere(stack: &Stack, dir: &Path, items: &[Owned]) -> Diagnostic {
    let name = &stack.project.name;
    Diagnostic::new(format!(
        "project `{name}` belongs to another checkout: {} ({})",
        dir.display(),
        describe(items)
    ))
    .with_help(format!(
        "devenv never touches another checkout's containers or data. Give this checkout its own name: \
         `devenv --name {name}-2 up`, `DEVENV_PROJECT={name}-2 devenv up`, or another `[project] name` in {}; \
         a git worktree gets its own name by itself",
        stack.file.display()
    ))
}

fn ask_to_adopt(stack: &Stack, ui: &Ui) -> Result<(), Diagnostic> {
    if !std::io::stdin().is_terminal() {
        return Err(Diagnostic::new(format!(
            "not adopting project `{}` without consent: no terminal to ask on",
            stack.project.name
        ))
        .with_help("pass `--adopt` to take its containers and volumes over for this directory, or `--name` to start a separate project"));
    }
    ui.confirm(
        &format!(
            "Take them over for {} (containers and volumes with their data)?",
            stack.root.display()
        ),
        "not adopting",
        "",
    )
}

/// A short list such as `containers shop-db-1, shop-cache-1; volume shop_db-data`.
fn describe(items: &[Owned]) -> String {
    let mut parts = Vec::new();
    for kind in [
        ResourceKind::Container,
        ResourceKind::Volume,
        ResourceKind::Network,
    ] {
        let names: Vec<&str> = items
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.name.as_str())
            .collect();
        if !names.is_empty() {
            let plural = if names.len() > 1 { "s" } else { "" };
            parts.push(format!("{kind}{plural} {}", names.join(", ")));
        }
    }
    parts.join("; ")
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read_adopted(root: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(root.join(crate::project::STATE_DIR).join(ADOPTED_FILE))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect()
}

fn record_adopted(root: &Path, dirs: &[&PathBuf]) -> Result<(), Diagnostic> {
    let state = crate::project::state_dir(root)?;
    let mut all = read_adopted(root);
    all.extend(dirs.iter().map(|d| (*d).clone()));
    all.sort();
    all.dedup();
    let text: String = all.iter().map(|d| format!("{}\n", d.display())).collect();
    let path = state.join(ADOPTED_FILE);
    std::fs::write(&path, text)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(kind: ResourceKind, name: &str, owner: Option<&str>) -> Owned {
        Owned {
            kind,
            name: name.into(),
            owner: owner.map(PathBuf::from),
        }
    }

    #[test]
    fn resources_of_this_directory_or_unlabelled_ones_are_ours() {
        let items = [
            owned(ResourceKind::Container, "shop-db-1", Some("/src/shop")),
            owned(ResourceKind::Volume, "shop_db-data", None),
        ];
        assert!(foreign(&items, Path::new("/src/shop"), &[]).is_empty());
    }

    #[test]
    fn another_directory_is_foreign_unless_adopted() {
        let items = [
            owned(ResourceKind::Container, "shop-db-1", Some("/src/other")),
            owned(ResourceKind::Volume, "shop_db-data", Some("/src/other")),
        ];
        let found = foreign(&items, Path::new("/src/shop"), &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            describe(&found[Path::new("/src/other")]),
            "container shop-db-1; volume shop_db-data"
        );
        assert!(
            foreign(
                &items,
                Path::new("/src/shop"),
                &[PathBuf::from("/src/other")]
            )
            .is_empty()
        );
    }
}
