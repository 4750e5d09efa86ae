//! `devenv init --from`: a Compose project read (`compose`, `fields`, `service`), its services
//! mapped onto the catalog or kept as image services (`image`, `ports`, `map`), secrets and
//! host URLs made variables (`variables`), written as devenv.toml (`write`) with an account
//! of everything not carried over (`report`).

pub mod compose;
pub mod fields;
pub mod image;
pub mod map;
pub mod ports;
pub mod report;
pub mod service;
pub mod variables;
pub mod write;

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use compose::Compose;
use image::ImageRef;
use indexmap::IndexMap;
use report::{Outcome, Report, ServiceOutcome};
use service::Prepared;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use variables::{HostPorts, Variables};
use write::{OutStack, OutVar};

/// What to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Compose files, merged in order.
    pub files: Vec<PathBuf>,
    /// Profiles whose services are imported too.
    pub profiles: Vec<String>,
    /// The project name to write (else Compose's).
    pub project: Option<String>,
    /// Where devenv.toml goes (bind mounts are made relative to it).
    pub out_dir: PathBuf,
}

/// An import's result: the devenv.toml text and the account of it.
#[derive(Debug)]
pub struct Imported {
    /// devenv.toml.
    pub text: String,
    /// What was kept, changed and dropped.
    pub report: Report,
}

/// Reads the Compose files and builds devenv.toml.
pub fn import(options: &Options) -> Result<Imported, Diagnostic> {
    let compose = compose::read(&options.files, std::env::vars().collect())?;
    let mut report = Report {
        files: compose
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        ..Default::default()
    };
    if compose.dotenv_read {
        report
            .env_files
            .push(compose.dir.join(".env").display().to_string());
    }
    top_level(&compose, &mut report);
    clashes(&compose, &mut report);
    let (selected, reasons) = select(&compose, &options.profiles, &mut report)?;
    let mut prepared = Vec::new();
    for (name, spec) in &compose.services {
        if selected.contains(name) {
            prepared.push(service::prepare(&compose, name, spec, &mut report)?);
        }
    }
    let mut stack = OutStack {
        project: project_name(&compose, options),
        ..Default::default()
    };
    report.project = stack.project.clone();
    map_all(
        &compose,
        options,
        &prepared,
        &reasons,
        &mut stack,
        &mut report,
    );
    for name in compose.vars.unset.borrow().iter() {
        report.note(None, format!("`{name}` is referenced with no default and is unset: Compose would use an empty string"));
    }
    stack.header = vec![
        format!("Imported from {} by `devenv init --from`.", report.files.join(" + ")),
        "Lines starting with `# compose:` are what could not be carried over; `devenv init --from` printed why.".to_string(),
    ];
    Ok(Imported {
        text: write::render(&stack),
        report,
    })
}

/// Top-level keys: `version` ignored, networks and volume settings devenv does not have.
fn top_level(compose: &Compose, report: &mut Report) {
    for key in &compose.other_keys {
        match key.as_str() {
            "version" => report.note(None, "`version` is obsolete in the Compose spec; ignored"),
            _ => report.not_carried(None, key.clone(), "no devenv equivalent"),
        }
    }
    for (name, spec) in &compose.networks {
        let name = fields::scalar(name).unwrap_or_default();
        let what = if name == "default" {
            "the default network's settings (name, driver)"
        } else {
            "a network of its own"
        };
        report.not_carried(
            None,
            format!("networks {name}: {}", service::render(spec)),
            format!("{what}: devenv gives the project one network, <project>_default"),
        );
    }
    for (name, spec) in &compose.volumes {
        let name = fields::scalar(name).unwrap_or_default();
        for (key, value) in spec.as_mapping().into_iter().flatten() {
            let key = fields::scalar(key).unwrap_or_default();
            let value = service::render(value);
            match key.as_str() {
                "driver" if value == "local" => {}
                "name" => report.not_carried(
                    None,
                    format!("volumes {name}: name {value}"),
                    "devenv names volumes <project>_<service>-<volume>",
                ),
                _ => report.not_carried(
                    None,
                    format!("volumes {name}: {key} {value}"),
                    "no devenv equivalent for this volume setting",
                ),
            }
        }
    }
}

/// Container names and host ports several services claim (across profiles too): Compose
/// cannot run those together; reported, not fatal.
fn clashes(compose: &Compose, report: &mut Report) {
    let mut names: IndexMap<String, Vec<&str>> = IndexMap::new();
    let mut ports: IndexMap<String, Vec<&str>> = IndexMap::new();
    for (service, spec) in &compose.services {
        if let Some(name) = spec.get("container_name").and_then(fields::scalar) {
            let name = compose.vars.resolve(&name).unwrap_or(name);
            names.entry(name).or_default().push(service);
        }
        for port in spec
            .get("ports")
            .and_then(|p| p.as_sequence())
            .into_iter()
            .flatten()
        {
            let text = fields::scalar(port).unwrap_or_default();
            let entry = fields::short_port(&compose.vars.resolve(&text).unwrap_or(text));
            if let Some(published) = entry.published {
                let users = ports.entry(published).or_default();
                if !users.contains(&service.as_str()) {
                    users.push(service);
                }
            }
        }
    }
    for (name, users) in names.iter().filter(|(_, u)| u.len() > 1) {
        report.note(None, format!("container_name `{name}` is set on {}: Compose cannot run them together (devenv names containers itself)", users.join(", ")));
    }
    for (port, users) in ports.iter().filter(|(_, u)| u.len() > 1) {
        report.note(
            None,
            format!(
                "host port {port} is published by {} (services of different profiles, or a clash)",
                users.join(", ")
            ),
        );
    }
}

/// The services imported (by profile) and, for those in profiles, why.
fn select(
    compose: &Compose,
    asked: &[String],
    report: &mut Report,
) -> Result<(HashSet<String>, IndexMap<String, String>), Diagnostic> {
    let profiles_of = |spec: &serde_norway::Mapping| {
        spec.get("profiles")
            .map(fields::string_or_list)
            .unwrap_or_default()
    };
    let all: Vec<String> = compose.services.values().flat_map(profiles_of).collect();
    if let Some(unknown) = asked.iter().find(|p| !all.contains(p)) {
        let mut names: Vec<&str> = all.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        return Err(Diagnostic::new(format!(
            "no service of the compose file is in profile `{unknown}`"
        ))
        .with_help(format!(
            "its profiles: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    let mut chosen = asked.to_vec();
    if chosen.is_empty()
        && !compose.services.is_empty()
        && compose
            .services
            .values()
            .all(|s| !profiles_of(s).is_empty())
    {
        if !all.iter().any(|p| p == "default") {
            let mut names: Vec<&String> = all.iter().collect::<HashSet<_>>().into_iter().collect();
            names.sort();
            return Err(Diagnostic::new("every service of the compose file sits in a profile, so a profile-blind import would be empty")
                .with_help(format!("choose with `--profile NAME` (profiles: {})", names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))));
        }
        chosen.push("default".to_string());
        report.note(None, "every service sits in a profile: imported profile `default` (pass --profile to choose others)");
    }
    report.profiles = chosen.clone();
    let mut selected = HashSet::new();
    let mut reasons = IndexMap::new();
    for (name, spec) in &compose.services {
        let profiles = profiles_of(spec);
        if profiles.is_empty() {
            selected.insert(name.clone());
        } else if let Some(p) = profiles.iter().find(|p| chosen.contains(p)) {
            selected.insert(name.clone());
            reasons.insert(name.clone(), format!("compose: profiles [{}]: imported for profile `{p}`; devenv starts it by default", profiles.join(", ")));
        } else {
            report.services.push(ServiceOutcome {
                name: name.clone(),
                outcome: Outcome::NotImported,
                catalog: None,
                image: None,
                reason: Some(format!(
                    "in profile {} only (pass `--profile {}` to import it)",
                    profiles.join(", "),
                    profiles[0]
                )),
            });
        }
    }
    Ok((selected, reasons))
}

fn project_name(compose: &Compose, options: &Options) -> String {
    if let Some(name) = &options.project {
        return name.clone();
    }
    let dir = compose
        .dir
        .canonicalize()
        .unwrap_or_else(|_| compose.dir.clone());
    let from_dir = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::project::name_from(compose.name.as_deref().unwrap_or(&from_dir))
}

/// The compose directory relative to devenv.toml's, when inside it.
fn bind_prefix(compose: &Compose, out_dir: &Path) -> Option<PathBuf> {
    let dir = compose.dir.canonicalize().ok()?;
    let out = out_dir.canonicalize().ok()?;
    dir.strip_prefix(&out).ok().map(Path::to_path_buf)
}

/// Maps every selected service; fills `stack` and `report`.
fn map_all(
    compose: &Compose,
    options: &Options,
    prepared: &[Prepared],
    reasons: &IndexMap<String, String>,
    stack: &mut OutStack,
    report: &mut Report,
) {
    let catalog = Catalog::get();
    let imported: HashSet<String> = prepared
        .iter()
        .filter(|p| p.image.is_some())
        .map(|p| p.name.clone())
        .collect();
    let (mut mapped_ports, host_ports, reserved) = plan_ports(prepared, &imported, report);
    let mut vars = Variables::new(prepared, &compose.vars, reserved);
    // Credentials first, so that every URL naming one can use its variable.
    for p in prepared {
        for (key, value) in &p.env {
            vars.lift(&p.name, key, value, &compose.vars);
        }
    }
    let prefix = bind_prefix(compose, &options.out_dir);
    let mut all_interfaces = Vec::new();
    for p in prepared {
        let Some((image, matched, ports)) = mapped_ports.shift_remove(&p.name) else {
            not_imported(p, &mut vars, compose, stack, report);
            continue;
        };
        if ports.all_interfaces {
            all_interfaces.push(p.name.clone());
        }
        let ctx = map::Context {
            compose,
            imported: &imported,
            bind_prefix: prefix.as_deref(),
            profile_reason: reasons.get(&p.name).cloned(),
        };
        let entry = matched.as_ref().and_then(|m| catalog.service(&m.entry));
        let mut out = map::service(p, &image, entry, ports, &ctx, &mut vars, report);
        if let Some(note) = matched.as_ref().and_then(|m| m.note.clone()) {
            out.comments.insert(0, note.clone());
            report.note(Some(&p.name), note);
        }
        if p.build {
            out.comments.push(
                "compose: build: (devenv runs the image; build it with your own tooling)".into(),
            );
            report.not_carried(
                Some(&p.name),
                "build",
                format!(
                    "devenv runs the image `{}`; build it with your own tooling",
                    image.normalised()
                ),
            );
        }
        report.services.push(ServiceOutcome {
            name: p.name.clone(),
            outcome: if entry.is_some() {
                Outcome::Catalog
            } else {
                Outcome::Image
            },
            catalog: entry.map(|e| e.name.clone()),
            image: Some(image.normalised()),
            reason: None,
        });
        stack.services.push(out);
    }
    if !all_interfaces.is_empty() {
        report.note(None, format!("compose published ports of {} on every interface; devenv publishes on 127.0.0.1 (set `host_ip = \"0.0.0.0\"` to match)", all_interfaces.join(", ")));
    }
    host_urls(prepared, &host_ports, &mut vars, stack);
    declare_references(stack, compose, &mut vars);
    let declared = std::mem::take(&mut vars.declared);
    stack.env.extend(declared);
    report.variables.append(&mut vars.outcomes);
}

/// Each imported service's image, catalog entry and ports; where each container port is
/// reached from the host; the variable names devenv defines itself.
type Planned = IndexMap<String, (ImageRef, Option<image::CatalogMatch>, ports::MappedPorts)>;

fn plan_ports(
    prepared: &[Prepared],
    imported: &HashSet<String>,
    report: &mut Report,
) -> (Planned, HostPorts, HashSet<String>) {
    let catalog = Catalog::get();
    let mut taken = HashSet::new();
    let mut host_ports = HostPorts::new();
    let mut reserved = HashSet::new();
    let mut mapped_ports = IndexMap::new();
    for p in prepared.iter().filter(|p| imported.contains(&p.name)) {
        let image = ImageRef::parse(p.image.as_deref().unwrap_or_default());
        let matched = image::catalog_match(&image, catalog);
        let entry = matched.as_ref().and_then(|m| catalog.service(&m.entry));
        let ports = ports::map(&p.name, &p.ports, entry, &mut taken, report);
        for (container, host) in &ports.host {
            if let variables::HostPort::Variable(name) = host {
                reserved.insert(name.clone());
            }
            host_ports
                .entry(p.name.clone())
                .or_default()
                .insert(*container, host.clone());
        }
        for (key, conv) in entry.map(|e| &e.entry.env).into_iter().flatten() {
            if conv.secret {
                reserved.insert(format!("{}_{key}", crate::stack::var_prefix(&p.name)));
            }
        }
        mapped_ports.insert(p.name.clone(), (image, matched, ports));
    }
    (mapped_ports, host_ports, reserved)
}

/// A selected service that cannot be imported (a `build:` with no image): reported with its
/// ports; its secrets become variables, a migration command is suggested for `[database]`.
fn not_imported(
    p: &Prepared,
    vars: &mut Variables,
    compose: &Compose,
    stack: &mut OutStack,
    report: &mut Report,
) {
    let ports: Vec<String> = p
        .ports
        .iter()
        .map(|port| {
            format!(
                "{}:{}",
                port.entry.published.as_deref().unwrap_or("?"),
                port.entry.target
            )
        })
        .collect();
    let reason = format!(
        "`build:` with no image, which devenv cannot run{}",
        if ports.is_empty() {
            String::new()
        } else {
            format!(" (ports {})", ports.join(", "))
        }
    );
    stack.trailer.push(format!(
        "compose service `{}` not imported: {reason}",
        p.name
    ));
    if let Some(command) = &p.command
        && command.iter().any(|c| c.contains("migrate"))
    {
        let line = shlex::try_join(command.iter().map(String::as_str))
            .unwrap_or_else(|_| command.join(" "));
        stack.trailer.push(format!(
            "`{}` runs the project's migrations: `{line}`; on the host that is",
            p.name
        ));
        stack.trailer.push(format!(
            "[database] migrate = {{ command = {} }}",
            write::array(command)
        ));
        report.note(
            Some(&p.name),
            format!("the project's migration command: `{line}` (devenv: `[database] migrate`)"),
        );
    }
    let mut skipped = Vec::new();
    for (key, value) in &p.env {
        if vars.lift(&p.name, key, value, &compose.vars).is_none() {
            skipped.push(key.clone());
        }
    }
    if !skipped.is_empty() {
        report.not_carried(
            Some(&p.name),
            "environment",
            format!("not imported with its service: {}", skipped.join(", ")),
        );
    }
    report.services.push(ServiceOutcome {
        name: p.name.clone(),
        outcome: Outcome::NotImported,
        catalog: None,
        image: None,
        reason: Some(reason),
    });
}

/// Connection URLs to imported services, rewritten for programs on the host, as `[env]`.
fn host_urls(prepared: &[Prepared], ports: &HostPorts, vars: &mut Variables, stack: &mut OutStack) {
    for p in prepared {
        for (key, value) in &p.env {
            let Some(literal) = &value.literal else {
                continue;
            };
            let Some(url) = vars.rewrite_url(literal, Some(ports)) else {
                continue;
            };
            let mut name = key.clone();
            if vars
                .declared
                .get(&name)
                .is_some_and(|v| v.value.as_deref() != Some(url.as_str()))
                || vars.reserved.contains(&name)
            {
                name = format!("{}_{key}", crate::stack::var_prefix(&p.name));
            }
            if vars.declared.contains_key(&name) || stack.env.contains_key(&name) {
                continue;
            }
            vars.outcomes.push(report::VariableOutcome {
                name: name.clone(),
                secret: false,
                why: format!(
                    "`{key}` of `{}` rewritten for the host (127.0.0.1 and the published port)",
                    p.name
                ),
            });
            vars.declared.insert(
                name,
                OutVar {
                    value: Some(url),
                    secret: false,
                    description: format!("`{key}` of `{}`, for programs on the host", p.name),
                },
            );
        }
    }
}

/// Declares every variable the written text references with no default.
fn declare_references(stack: &OutStack, compose: &Compose, vars: &mut Variables) {
    for s in &stack.services {
        let whose = format!("`{}`", s.name);
        let texts = s
            .env
            .values()
            .chain(s.command.iter().flatten())
            .chain(s.health.iter().flat_map(|h| h.cmd.iter()))
            .chain(std::iter::once(&s.image));
        for text in texts {
            vars.declare_references(text, &compose.vars, &whose);
        }
    }
}
