//! `devenv init`: list the catalog, or write a devenv.toml from a starter, a catalog entry or
//! a Compose project (`--from`, see `crate::import`).

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
    if !args.from.is_empty() {
        return from_compose(args, name, ui);
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

/// The `--json` document of `devenv init --from`.
#[derive(serde::Serialize)]
struct ImportDocument<'a> {
    /// The file written.
    written: String,
    /// What was kept, changed and dropped.
    import: &'a crate::import::report::Report,
}

/// `devenv init --from FILE...`: imports a Compose project, checks that devenv loads the
/// result, writes it and prints the report.
fn from_compose(args: &InitArgs, name: Option<&str>, ui: &Ui) -> Result<()> {
    let cwd = std::env::current_dir()
        .map_err(|e| Diagnostic::new(format!("cannot read the current directory: {e}")))?;
    if let Some(name) = name.filter(|n| !is_project_name(n)) {
        return Err(Error::usage(format!(
            "invalid project name `{name}`: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
        )));
    }
    let path = cwd.join(STACK_FILE);
    if path.exists() && !args.force {
        return Err(Error::failure(
            Diagnostic::new(format!("{STACK_FILE} already exists here"))
                .with_help("keep it, or pass `--force` to replace it with the import"),
        ));
    }
    let imported = crate::import::import(&crate::import::Options {
        files: args.from.clone(),
        profiles: args.profile.clone(),
        project: name.map(str::to_string),
        out_dir: cwd.clone(),
    })?;
    let source = crate::diagnostic::SourceFile::new(STACK_FILE, imported.text.as_str());
    crate::stack::load_source(&source, &cwd, &path).map_err(|e| {
        Diagnostic::new(format!("the imported stack does not load: {}", e.message)).with_help(
            "this is a defect of the import; please report it with the compose file (nothing was written)",
        )
    })?;
    crate::fsutil::write_atomic(&path, imported.text.as_bytes(), None)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
    if args.json {
        ui.json(&ImportDocument {
            written: path.display().to_string(),
            import: &imported.report,
        });
        return Ok(());
    }
    for line in imported.report.lines() {
        ui.out(line);
    }
    ui.info(format!(
        "{} {STACK_FILE} for project `{}` from {}",
        ui.paint(Style::Good, "wrote"),
        imported.report.project,
        imported.report.files.join(" + ")
    ));
    ui.info("next: read the `# compose:` comments in it, then `devenv up` (or `devenv generate`)");
    Ok(())
}
