//! Reads `devenv.toml`, merges catalog entries, and checks everything a later step relies on.
//! Every error points at the file, line and column it is about and says how to fix it.

use super::interpolate;
use super::model::*;
use super::raw::{RawCatalogEntry, RawHealth, RawSeed, RawService, RawStack};
use crate::catalog::Catalog;
use crate::source::{Diagnostic, SourceFile, did_you_mean};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Reads and validates the stack file at `path`.
pub fn load(path: &Path) -> Result<Stack, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Diagnostic::new(format!("no stack file at {}", path.display())).with_help(
                "create one with `devenv init --template postgres-redis` (see `devenv init --list`), or point at it with `--file PATH`",
            )
        } else {
            Diagnostic::new(format!("cannot read {}: {e}", path.display()))
        }
    })?;
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let shown = display_name(path);
    load_source(&SourceFile::new(shown, text), &root, path)
}

/// A short name for messages: the file name relative to the current directory when it can be.
fn display_name(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

/// Validates already-read stack text; `root` is where relative paths resolve.
pub fn load_source(src: &SourceFile, root: &Path, file: &Path) -> Result<Stack, Diagnostic> {
    let raw: RawStack = toml::from_str(&src.text).map_err(|e| toml_error(src, &e))?;
    Loader {
        src,
        catalog: Catalog::get(),
        root,
    }
    .build(raw, root, file)
}

/// Turns a TOML or serde error into a diagnostic with a fix where one can be guessed.
fn toml_error(src: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim().to_string();
    let span = error.span().unwrap_or(0..0);
    let offending = src.slice(span.clone()).trim().to_string();
    let help = if message.contains("expected a sequence") {
        let item = if offending.starts_with('"') {
            offending.clone()
        } else {
            format!("\"{offending}\"")
        };
        Some(format!("this key takes a list: write `[{item}]`"))
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        Some(match did_you_mean(field, candidates.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("allowed keys here: {}", candidates.join(", ")),
        })
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        Some(format!("add `{field} = ...` to this table"))
    } else {
        None
    };
    let mut diagnostic = src.diagnostic(span, message);
    diagnostic.help = help;
    diagnostic
}

struct Loader<'a> {
    src: &'a SourceFile,
    catalog: &'static Catalog,
    root: &'a Path,
}

/// A string to check for variable references, with where it was written.
struct Interpolated {
    text: String,
    span: Range<usize>,
}

impl Loader<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.src.diagnostic(span, message)
    }

    fn build(&self, raw: RawStack, root: &Path, file: &Path) -> Result<Stack, Diagnostic> {
        let project_raw = raw.project.into_inner();
        let name = &project_raw.name;
        if !is_project_name(name.get_ref()) {
            return Err(self.err(name.span(), format!("invalid project name `{}`", name.get_ref())).with_help(
                "Compose project names use lowercase letters, digits, `-` and `_`, and start with a letter or digit (e.g. `my-app`)",
            ));
        }
        let project = Project {
            name: name.get_ref().clone(),
            declared_name: name.get_ref().clone(),
            origin: Default::default(),
            description: project_raw.description,
            remap_ports: project_raw.remap_ports.unwrap_or(true),
        };

        let mut services = IndexMap::new();
        let mut variables = IndexMap::new();
        let mut checks: Vec<Interpolated> = Vec::new();
        let mut depends_spans: HashMap<(String, String), Range<usize>> = HashMap::new();
        let mut port_spans: HashMap<(String, usize), Range<usize>> = HashMap::new();

        for (key, raw_service) in raw.services {
            let span = key.span();
            let name = key.into_inner();
            if !is_service_name(&name) {
                return Err(self.err(span, format!("invalid service name `{name}`")).with_help(
                    "service names use lowercase letters, digits, `-` and `_`, and start with a letter or digit",
                ));
            }
            let table_span = raw_service.span();
            let raw_service = raw_service.into_inner();
            for dep in raw_service.depends_on.iter().flatten() {
                depends_spans.insert((name.clone(), dep.get_ref().clone()), dep.span());
            }
            let service =
                self.service(&name, raw_service, table_span, &mut checks, &mut port_spans)?;
            for var in service_variables(&service, self.catalog) {
                variables.insert(var.name.clone(), var);
            }
            services.insert(name, service);
        }

        for (key, raw_var) in raw.env {
            let span = key.span();
            let name = key.into_inner();
            if !interpolate::is_var_name(&name) {
                return Err(self
                    .err(span, format!("invalid variable name `{name}`"))
                    .with_help(
                        "variable names use letters, digits and `_`, and do not start with a digit",
                    ));
            }
            if let Some(existing) = variables.get(&name) {
                return Err(self
                    .err(
                        span,
                        format!("`{name}` is already defined: {}", existing.description),
                    )
                    .with_help(format!(
                        "rename this variable; `{name}` is set for you (override its value in .env)"
                    )));
            }
            let raw_var = raw_var.into_inner();
            if let Some(value) = &raw_var.value {
                checks.push(Interpolated {
                    text: value.get_ref().0.clone(),
                    span: value.span(),
                });
            }
            variables.insert(
                name.clone(),
                Variable {
                    description: raw_var
                        .description
                        .unwrap_or_else(|| format!("Set in devenv.toml as [env.{name}]")),
                    name,
                    kind: VariableKind::Declared,
                    secret: raw_var.secret,
                    value: raw_var.value.map(|v| v.into_inner().0),
                },
            );
        }

        let database = match raw.database {
            None => None,
            Some(db) => {
                let db_span = db.span();
                let db = db.into_inner();
                if let Some(service) = &db.service
                    && !services.contains_key(service.get_ref())
                {
                    return Err(self.unknown_service(service, services.keys()));
                }
                if db.service.is_none() && db.url.is_none() {
                    return Err(self
                        .err(db_span, "[database] needs a `service` (and usually a `url`), or a `url` for SQLite")
                        .with_help("e.g. `service = \"db\"` and `url = \"${DATABASE_URL}\"`, or `url = \"sqlite:data/dev.db\"`"));
                }
                if let Some(url) = &db.url {
                    checks.push(Interpolated {
                        text: url.get_ref().clone(),
                        span: url.span(),
                    });
                }
                let migrations = db
                    .migrations
                    .as_ref()
                    .map(|p| self.project_path(p))
                    .transpose()?;
                let migrate_command = match db.migrate {
                    Some(command) if command.get_ref().command.is_empty() => {
                        return Err(self.err(command.span(), "the migrate command is empty").with_help(
                            "write the program and its arguments: `migrate = { command = [\"alembic\", \"upgrade\", \"head\"] }`",
                        ));
                    }
                    Some(command) => Some(command.into_inner().command),
                    None => None,
                };
                let mut seeds = Vec::new();
                for seed in db.seeds.into_iter().flatten() {
                    let span = seed.span();
                    seeds.push(match seed.into_inner() {
                        RawSeed::Path(path) => {
                            Seed::Path(self.project_path(&Spanned::new(span, path))?)
                        }
                        RawSeed::Command(command) if command.command.is_empty() => {
                            return Err(self.err(span, "the seed command is empty"));
                        }
                        RawSeed::Command(command) => Seed::Command(command.command),
                    });
                }
                Some(Database {
                    service: db.service.map(Spanned::into_inner),
                    url: db.url.map(Spanned::into_inner),
                    migrations,
                    migrate_command,
                    seeds,
                })
            }
        };

        self.check_references(&checks, &variables)?;
        self.check_variable_cycles(&variables, &checks)?;
        self.check_dependencies(&services, &depends_spans)?;
        self.check_duplicate_ports(&services, &port_spans)?;

        Ok(Stack {
            project,
            services,
            variables,
            database,
            root: root.to_path_buf(),
            file: file.to_path_buf(),
        })
    }

    fn unknown_service<'k>(
        &self,
        name: &Spanned<String>,
        known: impl Iterator<Item = &'k String>,
    ) -> Diagnostic {
        let known: Vec<&str> = known.map(String::as_str).collect();
        let help = match did_you_mean(name.get_ref(), known.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("services in this stack: {}", known.join(", ")),
        };
        self.err(
            name.span(),
            format!("no service named `{}`", name.get_ref()),
        )
        .with_help(help)
    }

    fn service(
        &self,
        name: &str,
        raw: RawService,
        table_span: Range<usize>,
        checks: &mut Vec<Interpolated>,
        port_spans: &mut HashMap<(String, usize), Range<usize>>,
    ) -> Result<Service, Diagnostic> {
        let host_access = self.host_access(name, &raw)?;
        let entry = match &raw.use_ {
            None => None,
            Some(use_) => Some(self.catalog.service(use_.get_ref()).ok_or_else(|| {
                let names = self.catalog.services.iter().map(|s| s.name.as_str());
                let help = match did_you_mean(use_.get_ref(), names) {
                    Some(best) => {
                        format!("did you mean `{best}`? (`devenv init --list` shows the catalog)")
                    }
                    None => "`devenv init --list` shows the catalog".to_string(),
                };
                self.err(
                    use_.span(),
                    format!("unknown catalog entry `{}`", use_.get_ref()),
                )
                .with_help(help)
            })?),
        };
        let cat: Option<&RawCatalogEntry> = entry.map(|e| &e.entry);

        let image = match (&raw.image, entry) {
            (Some(image), _) => {
                checks.push(Interpolated {
                    text: image.get_ref().clone(),
                    span: image.span(),
                });
                image.get_ref().clone()
            }
            (None, Some(entry)) => entry.default_image(),
            (None, None) => {
                return Err(self
                    .err(table_span, format!("service `{name}` has neither `image` nor `use`"))
                    .with_help("add `use = \"postgres\"` (a catalog entry) or `image = \"repository:tag\"`"));
            }
        };

        let command = match raw.command {
            Some(command) => {
                let items: Vec<String> = command
                    .into_inner()
                    .into_iter()
                    .map(|item| {
                        checks.push(Interpolated {
                            text: item.get_ref().clone(),
                            span: item.span(),
                        });
                        item.into_inner()
                    })
                    .collect();
                Some(items)
            }
            None => cat.and_then(|c| c.command.clone()),
        };

        let mut ports = Vec::new();
        match raw.ports {
            Some(list) => {
                for (index, item) in list.into_inner().into_iter().enumerate() {
                    let port =
                        self.port(name, ports.len(), &item.get_ref().0, Some(item.span()))?;
                    port_spans.insert((name.to_string(), index), item.span());
                    ports.push(port);
                }
            }
            None => {
                for text in cat.map(|c| c.ports.as_slice()).unwrap_or_default() {
                    ports.push(self.port(name, ports.len(), text, None)?);
                    port_spans.insert((name.to_string(), ports.len() - 1), table_span.clone());
                }
            }
        }

        let mut env = IndexMap::new();
        for (key, conv) in cat.map(|c| &c.env).into_iter().flatten() {
            if conv.secret {
                env.insert(key.clone(), format!("${{{}_{key}}}", var_prefix(name)));
            } else if let Some(value) = &conv.value {
                env.insert(key.clone(), interpolate::escape(value));
            }
        }
        for (key, value) in raw.env.into_iter().flatten() {
            if key.get_ref().is_empty() || key.get_ref().contains('=') {
                return Err(self
                    .err(
                        key.span(),
                        format!("invalid environment variable name `{}`", key.get_ref()),
                    )
                    .with_help("names must be non-empty and must not contain `=`"));
            }
            checks.push(Interpolated {
                text: value.get_ref().0.clone(),
                span: value.span(),
            });
            env.insert(key.into_inner(), value.into_inner().0);
        }

        let volumes = match raw.volumes {
            Some(list) => list
                .into_inner()
                .iter()
                .map(|v| self.volume(name, v.get_ref(), v.span()))
                .collect::<Result<Vec<_>, _>>()?,
            None => cat
                .map(|c| c.volumes.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|v| self.volume(name, v, table_span.clone()))
                .collect::<Result<Vec<_>, _>>()?,
        };

        let health = match raw.health {
            Some(health) => Some(self.health(health.get_ref(), health.span(), &ports)?),
            None => cat
                .and_then(|c| c.health.as_ref())
                .map(|h| self.health(h, table_span.clone(), &ports))
                .transpose()?,
        };

        let probe = cat.and_then(|c| c.probe.as_deref()).map(|p| match p {
            "postgres" => Probe::Postgres,
            "mysql" => Probe::Mysql,
            _ => Probe::Redis,
        });

        let host_ip = match raw.host_ip {
            Some(ip) => {
                if ip.get_ref().parse::<std::net::IpAddr>().is_err() {
                    return Err(self
                        .err(ip.span(), format!("`{}` is not an IP address", ip.get_ref()))
                        .with_help("use `127.0.0.1` (this machine only, the default) or `0.0.0.0` (all interfaces)"));
                }
                ip.into_inner()
            }
            None => "127.0.0.1".to_string(),
        };

        let mut profiles = Vec::new();
        for profile in raw.profiles.into_iter().flatten() {
            if !is_volume_name(profile.get_ref()) {
                return Err(self
                    .err(
                        profile.span(),
                        format!("invalid profile name `{}`", profile.get_ref()),
                    )
                    .with_help("profile names use letters, digits, `-`, `_` and `.`"));
            }
            profiles.push(profile.into_inner());
        }

        Ok(Service {
            name: name.to_string(),
            catalog: raw.use_.map(Spanned::into_inner),
            description: raw
                .description
                .or_else(|| cat.map(|c| c.description.clone())),
            image,
            command,
            ports,
            env,
            volumes,
            depends_on: raw
                .depends_on
                .into_iter()
                .flatten()
                .map(Spanned::into_inner)
                .collect(),
            health,
            probe,
            url: cat.and_then(|c| c.url.clone()),
            profiles,
            host_ip,
            host_access,
        })
    }

    /// `privileged`, `network_mode = "host"` and `docker_socket` give a container power over
    /// the machine: each needs `allow_host_access = true` in the same service.
    fn host_access(&self, service: &str, raw: &RawService) -> Result<HostAccess, Diagnostic> {
        let mut access = HostAccess::default();
        let mut asked: Vec<(Range<usize>, &str, &str)> = Vec::new();
        if let Some(p) = &raw.privileged
            && *p.get_ref()
        {
            access.privileged = true;
            asked.push((
                p.span(),
                "privileged = true",
                "gives the container full control of this machine",
            ));
        }
        if let Some(mode) = &raw.network_mode {
            match mode.get_ref().as_str() {
                "host" => {
                    access.host_network = true;
                    asked.push((
                        mode.span(),
                        "network_mode = \"host\"",
                        "puts the container on this machine's network, bypassing port publishing",
                    ));
                }
                "bridge" => {}
                other => {
                    return Err(self
                        .err(mode.span(), format!("unsupported network_mode `{other}`"))
                        .with_help("leave it out (the project network), or `\"host\"` with `allow_host_access = true`"));
                }
            }
        }
        if let Some(d) = &raw.docker_socket
            && *d.get_ref()
        {
            access.docker_socket = true;
            asked.push((
                d.span(),
                "docker_socket = true",
                "lets the container control Docker, and through it this machine",
            ));
        }
        if !raw.allow_host_access
            && let Some((span, key, why)) = asked.first()
        {
            return Err(self
                .err(
                    span.clone(),
                    format!("service `{service}` asks for `{key}`, which {why}"),
                )
                .with_help(format!(
                    "if that is intended, add `allow_host_access = true` to [services.{service}]"
                )));
        }
        Ok(access)
    }

    /// `"5432"`, `"5432/udp"` (host port from a variable) or `"15432:5432"` (fixed).
    fn port(
        &self,
        service: &str,
        index: usize,
        text: &str,
        span: Option<Range<usize>>,
    ) -> Result<Port, Diagnostic> {
        let bad = |why: &str| {
            let d = match &span {
                Some(span) => self.err(
                    span.clone(),
                    format!("invalid port `{text}` in service `{service}`: {why}"),
                ),
                None => Diagnostic::new(format!(
                    "catalog entry for `{service}` has an invalid port `{text}`"
                )),
            };
            d.with_help(format!(
                "write \"5432\" (host port from {}, default 5432) or \"15432:5432\" (always host port 15432)",
                port_var_name(service, index, 5432)
            ))
        };
        let (spec, protocol) = match text.split_once('/') {
            Some((spec, proto @ ("tcp" | "udp"))) => (spec, proto),
            Some(_) => return Err(bad("the protocol must be tcp or udp")),
            None => (text, "tcp"),
        };
        let parse = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
        let (host, container) = match spec.split_once(':') {
            Some((host, container)) => (
                Some(parse(host).ok_or_else(|| bad("the host port is not 1-65535"))?),
                container,
            ),
            None => (None, spec),
        };
        let container = parse(container).ok_or_else(|| bad("the container port is not 1-65535"))?;
        let host = match host {
            Some(fixed) => HostPort::Fixed(fixed),
            None => HostPort::Variable {
                name: port_var_name(service, index, container),
                default: container,
            },
        };
        Ok(Port {
            container,
            host,
            protocol: protocol.to_string(),
        })
    }

    /// `"data:/path[:ro]"` (named, scoped to the service) or `"./dir:/path[:ro]"` (bind).
    fn volume(&self, service: &str, text: &str, span: Range<usize>) -> Result<Volume, Diagnostic> {
        let help = "write \"data:/var/lib/data\" (a named volume) or \"./dir:/container/path:ro\" (a project directory)";
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, read_only) = match parts.as_slice() {
            [source, target] => (*source, *target, false),
            [source, target, "ro"] => (*source, *target, true),
            [source, target, "rw"] => (*source, *target, false),
            _ => {
                return Err(self
                    .err(
                        span,
                        format!("invalid volume `{text}` in service `{service}`"),
                    )
                    .with_help(help));
            }
        };
        if !target.starts_with('/') {
            return Err(self
                .err(
                    span,
                    format!("volume `{text}`: the container path `{target}` must be absolute"),
                )
                .with_help(help));
        }
        if source.starts_with('.') || source.starts_with('/') || source.starts_with('~') {
            self.contained(source, span.clone())?;
            return Ok(Volume::Bind {
                source: source.to_string(),
                target: target.to_string(),
                read_only,
            });
        }
        if !is_volume_name(source) {
            return Err(self
                .err(span, format!("invalid volume name `{source}`"))
                .with_help(help));
        }
        Ok(Volume::Named {
            name: format!("{service}-{source}"),
            target: target.to_string(),
            read_only,
        })
    }

    fn health(
        &self,
        raw: &RawHealth,
        span: Range<usize>,
        ports: &[Port],
    ) -> Result<Health, Diagnostic> {
        let help = "use one of: `{ cmd = [\"pg_isready\"] }`, `{ tcp = 5432 }`, `{ http = \"/health\", port = 8080 }`";
        let check = match (&raw.cmd, raw.tcp, &raw.http) {
            (Some(cmd), None, None) if !cmd.is_empty() => HealthCheck::Command(cmd.clone()),
            (None, Some(port), None) => HealthCheck::Tcp(port),
            (None, None, Some(path)) => {
                let port = raw
                    .port
                    .or_else(|| ports.first().map(|p| p.container))
                    .ok_or_else(|| {
                        self.err(span.clone(), "an http health check needs a `port`")
                            .with_help("add `port = 8080` (the container port)")
                    })?;
                let path = if path.starts_with('/') {
                    path.clone()
                } else {
                    format!("/{path}")
                };
                HealthCheck::Http { path, port }
            }
            _ => {
                return Err(self
                    .err(
                        span,
                        "a health check needs exactly one of `cmd`, `tcp` or `http`",
                    )
                    .with_help(help));
            }
        };
        let duration = |value: &Option<Spanned<String>>, default: Duration| match value {
            None => Ok(default),
            Some(v) => parse_duration(v.get_ref()).ok_or_else(|| {
                self.err(v.span(), format!("`{}` is not a duration", v.get_ref()))
                    .with_help("write a number with a unit: `500ms`, `2s`, `1m`")
            }),
        };
        Ok(Health {
            check,
            interval: duration(&raw.interval, Duration::from_secs(2))?,
            timeout: duration(&raw.timeout, Duration::from_secs(5))?,
            retries: raw.retries.unwrap_or(30),
            start_period: duration(&raw.start_period, Duration::ZERO)?,
        })
    }

    /// A path inside the project: relative, with no `..` leading out of it.
    fn project_path(&self, path: &Spanned<String>) -> Result<PathBuf, Diagnostic> {
        self.contained(path.get_ref(), path.span())?;
        Ok(PathBuf::from(path.get_ref()))
    }

    fn contained(&self, path: &str, span: Range<usize>) -> Result<(), Diagnostic> {
        let mut depth: i32 = 0;
        for component in Path::new(path).components() {
            match component {
                Component::Normal(_) => depth += 1,
                Component::ParentDir => depth -= 1,
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => depth = -1,
            }
            if depth < 0 {
                break;
            }
        }
        let help = "use a path inside the project, relative to devenv.toml (e.g. `./init`)";
        if depth < 0 || path.starts_with('~') {
            return Err(self
                .err(span, format!("`{path}` is outside the project directory"))
                .with_help(help));
        }
        // A path that exists must also stay inside once symlinks are followed
        // (component-wise prefix: the root plus a separator, never a sibling `root-other`).
        let full = self.root.join(path);
        if let (Ok(real), Ok(real_root)) = (full.canonicalize(), self.root.canonicalize())
            && !real.starts_with(&real_root)
        {
            return Err(self
                .err(
                    span,
                    format!(
                        "`{path}` leads outside the project directory (through a symlink, to {})",
                        real.display()
                    ),
                )
                .with_help(help));
        }
        Ok(())
    }

    fn check_references(
        &self,
        checks: &[Interpolated],
        variables: &IndexMap<String, Variable>,
    ) -> Result<(), Diagnostic> {
        for item in checks {
            let refs = interpolate::references(&item.text).map_err(|e| {
                self.err(
                    self.inner_span(item, e.offset..e.offset + 1),
                    format!("invalid interpolation: {}", e.message),
                )
            })?;
            for var in refs {
                if var.default.is_some() || variables.contains_key(&var.name) {
                    continue;
                }
                let help = match did_you_mean(&var.name, variables.keys().map(String::as_str)) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "declare it with `[env.{0}]` (a `value`, or `secret = true`), or give a default: `${{{0}:-value}}`",
                        var.name
                    ),
                };
                return Err(self
                    .err(
                        self.inner_span(item, var.range.clone()),
                        format!("undefined variable `{}`", var.name),
                    )
                    .with_help(help));
            }
        }
        Ok(())
    }

    /// Maps a range inside a string value to the source when the value was written plainly.
    fn inner_span(&self, item: &Interpolated, inner: Range<usize>) -> Range<usize> {
        let written = self.src.slice(item.span.clone());
        if written.len() >= 2 && written[1..written.len() - 1] == item.text {
            item.span.start + 1 + inner.start..item.span.start + 1 + inner.end
        } else {
            item.span.clone()
        }
    }

    fn check_variable_cycles(
        &self,
        variables: &IndexMap<String, Variable>,
        checks: &[Interpolated],
    ) -> Result<(), Diagnostic> {
        let edges = |name: &str| -> Vec<String> {
            variables
                .get(name)
                .and_then(|v| v.value.as_deref())
                .and_then(|value| interpolate::references(value).ok())
                .map(|refs| refs.into_iter().map(|r| r.name).collect())
                .unwrap_or_default()
        };
        if let Some(cycle) = find_cycle(variables.keys().cloned(), edges) {
            let first = &cycle[0];
            let span = checks
                .iter()
                .find(|c| variables.get(first).and_then(|v| v.value.as_ref()) == Some(&c.text))
                .map(|c| c.span.clone())
                .unwrap_or(0..0);
            return Err(self
                .err(
                    span,
                    format!(
                        "variables reference each other in a loop: {}",
                        cycle.join(" → ")
                    ),
                )
                .with_help(
                    "break the loop: one of them needs a value that does not reference the others",
                ));
        }
        Ok(())
    }

    fn check_dependencies(
        &self,
        services: &IndexMap<String, Service>,
        spans: &HashMap<(String, String), Range<usize>>,
    ) -> Result<(), Diagnostic> {
        for service in services.values() {
            for dep in &service.depends_on {
                let span = spans
                    .get(&(service.name.clone(), dep.clone()))
                    .cloned()
                    .unwrap_or(0..0);
                if !services.contains_key(dep) {
                    return Err(
                        self.unknown_service(&Spanned::new(span, dep.clone()), services.keys())
                    );
                }
            }
        }
        let edges = |name: &str| {
            services
                .get(name)
                .map(|s| s.depends_on.clone())
                .unwrap_or_default()
        };
        if let Some(cycle) = find_cycle(services.keys().cloned(), edges) {
            let span = spans
                .get(&(cycle[0].clone(), cycle[1].clone()))
                .cloned()
                .unwrap_or(0..0);
            return Err(self
                .err(
                    span,
                    format!(
                        "services depend on each other in a loop: {}",
                        cycle.join(" → ")
                    ),
                )
                .with_help(
                    "remove one `depends_on` entry so that the services can start in order",
                ));
        }
        Ok(())
    }

    fn check_duplicate_ports(
        &self,
        services: &IndexMap<String, Service>,
        spans: &HashMap<(String, usize), Range<usize>>,
    ) -> Result<(), Diagnostic> {
        let mut seen: HashMap<(u16, String), &str> = HashMap::new();
        for service in services.values() {
            for (index, port) in service.ports.iter().enumerate() {
                let key = (port.default_host_port(), port.protocol.clone());
                if let Some(other) = seen.insert(key.clone(), &service.name) {
                    let span = spans
                        .get(&(service.name.clone(), index))
                        .cloned()
                        .unwrap_or(0..0);
                    return Err(self
                        .err(
                            span,
                            format!(
                                "host port {} is published by both `{other}` and `{}`",
                                key.0, service.name
                            ),
                        )
                        .with_help(format!(
                            "publish `{}` on another host port, e.g. `ports = [\"{}:{}\"]`",
                            service.name,
                            key.0 + 1,
                            port.container
                        )));
                }
            }
        }
        Ok(())
    }
}

/// The variables a service contributes: its host ports and the catalog secrets it did not set.
fn service_variables(service: &Service, catalog: &Catalog) -> Vec<Variable> {
    let mut vars = Vec::new();
    for port in &service.ports {
        if let HostPort::Variable { name, default } = &port.host {
            vars.push(Variable {
                name: name.clone(),
                description: format!(
                    "Host port of `{}` (container port {})",
                    service.name, port.container
                ),
                kind: VariableKind::HostPort {
                    service: service.name.clone(),
                    container_port: port.container,
                },
                secret: false,
                value: Some(default.to_string()),
            });
        }
    }
    let entry = service.catalog.as_deref().and_then(|c| catalog.service(c));
    for (key, conv) in entry.map(|e| &e.entry.env).into_iter().flatten() {
        let name = format!("{}_{key}", service.var_prefix());
        if conv.secret && service.env.get(key) == Some(&format!("${{{name}}}")) {
            vars.push(Variable {
                name,
                description: format!("{} (`{}`)", conv.description, service.name),
                kind: VariableKind::CatalogSecret {
                    service: service.name.clone(),
                    key: key.clone(),
                },
                secret: true,
                value: None,
            });
        }
    }
    vars
}

/// `DB_PORT` for the first port of `db`, `DB_PORT_8025` for a later one.
fn port_var_name(service: &str, index: usize, container: u16) -> String {
    if index == 0 {
        format!("{}_PORT", var_prefix(service))
    } else {
        format!("{}_PORT_{container}", var_prefix(service))
    }
}

/// Finds a cycle in a directed graph; returns it as `[a, b, ..., a]`.
fn find_cycle(
    nodes: impl Iterator<Item = String>,
    edges: impl Fn(&str) -> Vec<String>,
) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &dyn Fn(&str) -> Vec<String>,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = path.iter().position(|n| n == node) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges(node) {
            if let Some(cycle) = visit(&next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = HashSet::new();
    for node in nodes {
        if let Some(cycle) = visit(&node, &edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// Compose's rule: lowercase letters, digits, `-`, `_`, starting with a letter or digit.
pub fn is_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_service_name(name: &str) -> bool {
    is_project_name(name)
}

fn is_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `500ms`, `2s`, `1m`, `1h`, `1m30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number * 60),
            "h" => Duration::from_secs(number * 3600),
            _ => return None,
        };
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Renders a compose duration (`1s`, `500ms`).
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
