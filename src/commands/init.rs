//! `devenv init`: list the catalog, or write a devenv.toml from a starter or catalog entry.

use crate::catalog::Catalog;
use crate::cli::InitArgs;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::project::STACK_FILE;
use crate::stack::is_project_name;
use crate::ui::{Style, Ui};

/// Runs `devenv init`.
pub fn run(args: &InitArgs, name: Option<&str>, ui: &Ui) -> Result<()> {
    let catalog = Catalog::get();
    if args.list {
        ui.out("Starter stacks:");
        for starter in &catalog.starters {
            ui.out(format!("  {:<16} {}", starter.name, starter.description));
        }
        ui.out("");
        ui.out("Services (one-service stack with `devenv init --template NAME`, or `use = \"NAME\"` in devenv.toml):");
        for entry in &catalog.services {
            ui.out(format!(
                "  {:<16} {} ({})",
                entry.name,
                entry.entry.description,
                entry.default_image()
            ));
        }
        return Ok(());
    }
    let template = args.template.as_deref().unwrap_or_default();
    let cwd = std::env::current_dir()
        .map_err(|e| Diagnostic::new(format!("cannot read the current directory: {e}")))?;
    let project = match name {
        Some(name) if is_project_name(name) => name.to_string(),
        Some(name) => {
            return Err(Error::usage(format!(
                "invalid project name `{name}`: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
            )));
        }
        None => crate::project::name_from(
            &cwd.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let text = if let Some(starter) = catalog.starter(template) {
        starter.text.replace("{{ project }}", &project)
    } else if let Some(entry) = catalog.service(template) {
        crate::templates::render(
            "devenv.toml.j2",
            minijinja::context! {
                project => project.clone(),
                service => entry.name.clone(),
                image => entry.default_image(),
                description => entry.entry.description.clone(),
            },
        )
    } else {
        let names = catalog
            .starters
            .iter()
            .map(|s| s.name.as_str())
            .chain(catalog.services.iter().map(|s| s.name.as_str()));
        let hint = did_you_mean(template, names)
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "no starter or catalog entry named `{template}`; {hint}`devenv init --list` shows them"
        )));
    };
    let path = cwd.join(STACK_FILE);
    if path.exists() && !args.force {
        return Err(Error::failure(
            Diagnostic::new(format!("{STACK_FILE} already exists here"))
                .with_help("keep it, or pass `--force` to replace it with the template"),
        ));
    }
    crate::fsutil::write_atomic(&path, text.as_bytes(), None)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
    ui.info(format!(
        "{} {STACK_FILE} for project `{project}` from `{template}`",
        ui.paint(Style::Good, "wrote")
    ));
    ui.info(
        "next: `devenv up` starts it; `devenv generate` writes docker-compose.yml and .env.example",
    );
    Ok(())
}
