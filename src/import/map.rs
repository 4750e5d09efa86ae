//! One imported Compose service as a devenv service: a catalog entry with its conventions
//! where the image is one, a plain image service otherwise; every key that has no devenv
//! place becomes a `# compose:` comment and a report entry.

use super::compose::Compose;
use super::fields::Condition;
use super::image::{ImageRef, compatible_health};
use super::ports::MappedPorts;
use super::report::Report;
use super::service::Prepared;
use super::variables::Variables;
use super::write::{OutHealth, OutService};
use crate::catalog::CatalogEntry;
use crate::stack::{interpolate, parse_duration};
use std::collections::HashSet;
use std::path::Path;

/// What mapping one service reads besides the service itself.
pub struct Context<'a> {
    /// The Compose files.
    pub compose: &'a Compose,
    /// Names of the services imported.
    pub imported: &'a HashSet<String>,
    /// The compose directory relative to devenv.toml's (None: outside it).
    pub bind_prefix: Option<&'a Path>,
    /// Why the service is imported although it sits in profiles.
    pub profile_reason: Option<String>,
}

/// Maps `p`; `image` is normalised and `entry` its catalog entry, if any.
pub fn service(
    p: &Prepared,
    image: &ImageRef,
    entry: Option<&CatalogEntry>,
    ports: MappedPorts,
    ctx: &Context,
    vars: &mut Variables,
    report: &mut Report,
) -> OutService {
    let mut out = OutService {
        name: p.name.clone(),
        use_: entry.map(|e| e.name.clone()),
        image: interpolate::escape(&image.normalised()),
        ports: ports.written.unwrap_or_default(),
        host_ip: ports.host_ip,
        comments: ports.comments,
        ..Default::default()
    };
    if let Some(reason) = &ctx.profile_reason {
        out.comments.push(reason.clone());
    }
    for (key, value) in &p.env {
        let text = vars
            .lift(&p.name, key, value, &ctx.compose.vars)
            .or_else(|| {
                value
                    .literal
                    .as_ref()
                    .and_then(|l| vars.rewrite_url(l, None))
            })
            .unwrap_or_else(|| value.text.clone());
        out.env.insert(key.clone(), text);
    }
    if let Some(entry) = entry {
        catalog_conventions(&mut out, p, entry);
    }
    command(&mut out, p, entry, report);
    mounts(&mut out, p, entry, ctx, report);
    health(&mut out, p, image, report);
    dependencies(&mut out, p, ctx, report);
    for (key, value) in &p.leftovers {
        let reason = leftover_reason(key);
        out.comments
            .push(format!("compose: {key}: {value} ({reason})"));
        report.not_carried(Some(&p.name), key.clone(), reason);
    }
    out
}

/// The catalog's environment where Compose left things to the image.
fn catalog_conventions(out: &mut OutService, p: &Prepared, entry: &CatalogEntry) {
    if entry.name == "postgres" && !p.env.contains_key("POSTGRES_DB") {
        // The image names the database after the user when POSTGRES_DB is unset; the
        // catalog's default (`app`) would change that.
        let user = out
            .env
            .get("POSTGRES_USER")
            .cloned()
            .unwrap_or_else(|| "postgres".to_string());
        out.env.insert("POSTGRES_DB".into(), user);
        out.comments.push("POSTGRES_DB written out: the image names the database after POSTGRES_USER when unset, the catalog would say `app`".into());
    }
    for (key, conv) in &entry.entry.env {
        if out.env.contains_key(key) {
            continue;
        }
        if conv.secret {
            out.comments.push(format!(
                "the catalog adds {key} from a generated secret `{}_{key}` (compose did not set it)",
                crate::stack::var_prefix(&p.name)
            ));
        } else if let Some(value) = &conv.value {
            out.comments.push(format!(
                "the catalog adds {key}={value} (compose did not set it)"
            ));
        }
    }
}

/// `command` and `entrypoint`: devenv has no entrypoint, so a command written for another
/// entrypoint is not carried over either (it would run as the image entrypoint's arguments).
fn command(out: &mut OutService, p: &Prepared, entry: Option<&CatalogEntry>, report: &mut Report) {
    let shown = |c: &Vec<String>| c.join(" ");
    match (&p.entrypoint, &p.command) {
        (Some(entrypoint), command) => {
            not_carried(
                out,
                report,
                &p.name,
                format!(
                    "compose: entrypoint: {} (devenv has no entrypoint key)",
                    shown(entrypoint)
                ),
                "entrypoint",
                "devenv services have no entrypoint key; the image's own entrypoint runs",
            );
            if let Some(command) = command {
                not_carried(
                    out,
                    report,
                    &p.name,
                    format!(
                        "compose: command: {} (arguments of that entrypoint, so not carried over)",
                        shown(command)
                    ),
                    "command",
                    "written for the entrypoint above, which devenv cannot set",
                );
            }
        }
        (None, Some(command)) => out.command = Some(command.clone()),
        (None, None) => {}
    }
    if out.command.is_none()
        && let Some(catalog_command) = entry.and_then(|e| e.entry.command.as_ref())
    {
        out.comments.push(format!(
            "the catalog's command applies: {}",
            catalog_command.join(" ")
        ));
    }
}

/// `volumes`: named volumes (scoped to the service by devenv), bind mounts inside the
/// project, the Docker socket as `docker_socket`; the rest reported.
fn mounts(
    out: &mut OutService,
    p: &Prepared,
    entry: Option<&CatalogEntry>,
    ctx: &Context,
    report: &mut Report,
) {
    let mut anonymous = 0;
    for m in &p.mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        if !m.other_options.is_empty() {
            not_carried(
                out,
                report,
                &p.name,
                format!(
                    "compose: mount {} options {} (no devenv equivalent)",
                    m.target,
                    m.other_options.join(",")
                ),
                format!("volumes {} options {}", m.target, m.other_options.join(",")),
                "mount options other than ro have no devenv equivalent",
            );
        }
        match (m.kind.as_str(), m.source.as_deref()) {
            ("volume", None) => {
                anonymous += 1;
                let name = if anonymous == 1 {
                    "data".to_string()
                } else {
                    format!("data-{anonymous}")
                };
                out.volumes.push(format!("{name}:{}{ro}", m.target));
                out.comments.push(format!("compose's anonymous volume at {} is the named volume `{name}` here: it now survives `devenv down`", m.target));
                report.note(
                    Some(&p.name),
                    format!(
                        "anonymous volume {} became a named volume (kept across down)",
                        m.target
                    ),
                );
            }
            ("volume", Some(source)) => named_volume(out, p, source, &m.target, ro, ctx, report),
            ("bind", Some(source)) => bind(out, p, source, &m.target, ro, ctx, report),
            (kind, _) => {
                not_carried(
                    out,
                    report,
                    &p.name,
                    format!(
                        "compose: {kind} mount at {} (devenv has no {kind} mounts)",
                        m.target
                    ),
                    format!("volumes {kind} {}", m.target),
                    format!("devenv has no {kind} mounts"),
                );
            }
        }
    }
    if p.mounts.is_empty() && entry.is_some_and(|e| !e.entry.volumes.is_empty()) {
        out.comments.push("compose keeps no data here; the catalog adds a persistent volume (add `volumes = []` for none)".into());
    }
}

fn named_volume(
    out: &mut OutService,
    p: &Prepared,
    source: &str,
    target: &str,
    ro: &str,
    ctx: &Context,
    report: &mut Report,
) {
    let users = ctx
        .compose
        .services
        .iter()
        .filter(|(name, _)| ctx.imported.contains(*name))
        .filter(|(_, spec)| {
            super::service::render(spec.get("volumes").unwrap_or(&serde_norway::Value::Null))
                .contains(&format!("{source}:"))
        })
        .count();
    if users > 1 {
        report.note(Some(&p.name), format!("volume `{source}` is shared in compose; devenv gives each service its own (`{}-{source}`)", p.name));
        out.comments.push(format!(
            "compose shares volume `{source}` between services; devenv's is this service's own"
        ));
    }
    out.volumes.push(format!("{source}:{target}{ro}"));
}

fn bind(
    out: &mut OutService,
    p: &Prepared,
    source: &str,
    target: &str,
    ro: &str,
    ctx: &Context,
    report: &mut Report,
) {
    if source == "/var/run/docker.sock" || source == "/run/docker.sock" {
        out.docker_socket = true;
        out.comments.push("the Docker socket is mounted: this container controls Docker on this machine (allow_host_access)".into());
        report.note(Some(&p.name), "mounts the Docker socket: it controls Docker on this machine (docker_socket, allow_host_access = true)");
        return;
    }
    let relative = Path::new(source);
    let inside = !source.starts_with(['/', '~'])
        && !relative
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    match ctx.bind_prefix.filter(|_| inside) {
        Some(prefix) => {
            let joined = prefix.join(relative.strip_prefix(".").unwrap_or(relative));
            let text = format!("./{}", joined.display()).replace("/./", "/");
            out.volumes.push(format!("{text}:{target}{ro}"));
            if target.starts_with("/docker-entrypoint-initdb.d") {
                out.comments.push(format!("{source} runs once, when the database is first initialised (an init script, e.g. roles; not a seed)"));
            }
        }
        None => {
            not_carried(
                out,
                report,
                &p.name,
                format!(
                    "compose: bind mount {source}:{target} (outside the project; devenv mounts only project paths)"
                ),
                format!("volumes {source}:{target}"),
                "a bind mount outside the project directory: devenv mounts only project paths",
            );
        }
    }
}

fn health(out: &mut OutService, p: &Prepared, image: &ImageRef, report: &mut Report) {
    let Some(check) = &p.health else {
        if let Some(cmd) = compatible_health(image) {
            out.health = Some(OutHealth {
                cmd,
                ..Default::default()
            });
        }
        return;
    };
    for extra in &check.unsupported {
        not_carried(
            out,
            report,
            &p.name,
            format!("compose: healthcheck {extra} (no devenv equivalent)"),
            format!("healthcheck {extra}"),
            "no devenv health key for it",
        );
    }
    let Some(cmd) = &check.cmd else {
        out.comments
            .push("compose disables the healthcheck; devenv keeps the catalog's or none".into());
        return;
    };
    let mut duration = |name: &str, value: &Option<String>| {
        let value = value.clone()?;
        if parse_duration(&value).is_ok() {
            return Some(value);
        }
        not_carried(
            out,
            report,
            &p.name,
            format!("compose: healthcheck {name}: {value} (not a duration devenv reads)"),
            format!("healthcheck {name}"),
            "not a duration devenv reads (500ms, 2s, 1m30s)",
        );
        None
    };
    out.health = Some(OutHealth {
        cmd: cmd.clone(),
        interval: duration("interval", &check.interval),
        timeout: duration("timeout", &check.timeout),
        start_period: duration("start_period", &check.start_period),
        retries: check.retries,
    });
}

fn dependencies(out: &mut OutService, p: &Prepared, ctx: &Context, report: &mut Report) {
    for dep in &p.deps {
        if !ctx.imported.contains(&dep.service) {
            not_carried(
                out,
                report,
                &p.name,
                format!("compose: depends_on {} (not imported)", dep.service),
                format!("depends_on {}", dep.service),
                "that service is not imported",
            );
            continue;
        }
        if dep.condition == Condition::Completed {
            out.comments.push(format!("compose waits for {} to finish (service_completed_successfully); devenv waits until it is ready", dep.service));
            report.note(
                Some(&p.name),
                format!(
                    "depends_on {}: service_completed_successfully became \"ready\"",
                    dep.service
                ),
            );
        }
        for extra in &dep.extra {
            not_carried(
                out,
                report,
                &p.name,
                format!(
                    "compose: depends_on {} {extra} (no devenv equivalent)",
                    dep.service
                ),
                format!("depends_on {} {extra}", dep.service),
                "no devenv equivalent",
            );
        }
        out.depends_on.push(dep.service.clone());
    }
}

/// A Compose setting left out: `comment` above the service in devenv.toml, and `key` with
/// `reason` in the import's report.
fn not_carried(
    out: &mut OutService,
    report: &mut Report,
    service: &str,
    comment: impl Into<String>,
    key: impl Into<String>,
    reason: impl Into<String>,
) {
    out.comments.push(comment.into());
    report.not_carried(Some(service), key, reason);
}

/// Why a Compose service key has no place in devenv.toml.
fn leftover_reason(key: &str) -> &'static str {
    match key {
        "container_name" => "devenv names containers <project>-<service>-1",
        "restart" => "devenv starts services on `devenv up`; no restart policy",
        "networks" => "devenv puts every service on the project's one network",
        "deploy" => "swarm/deploy settings have no devenv equivalent",
        "user" => "devenv services run as the image's user",
        "stdin_open" | "tty" => "devenv services run without a terminal",
        "expose" => "ports are shared on the project network anyway",
        _ => "no devenv equivalent",
    }
}
