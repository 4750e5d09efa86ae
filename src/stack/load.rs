//! Reads `devenv.toml` and turns it into a [`Stack`]: the orchestration of the parsers
//! (`parse`), the catalog merge (`merge`), the host-access policy (`policy`) and the
//! cross-checks (`validate`). Every error points at the file, line and column it is about and
//! says how to fix it.

use super::merge::{self, Written};
use super::model::*;
use super::parse::{
    NameKind, PortSpec, VOLUME_HELP, VolumeError, VolumeSpec, parse_duration, port_var_name,
};
use super::policy;
use super::raw::{
    RawCatalogEntry, RawDatabase, RawEnvVar, RawHealth, RawProject, RawSeed, RawService, RawStack,
    Scalar,
};
use super::spans::Spans;
use super::validate;
use crate::catalog::Catalog;
use crate::database::format::Format;
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use indexmap::IndexMap;
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

/// The conversion of one stack file: the source (for diagnostics), the catalog and the root.
pub(super) struct Loader<'a> {
    pub(super) src: &'a SourceFile,
    catalog: &'static Catalog,
    pub(super) root: &'a Path,
}

/// A diagnostic at `span` from a parser error whose text is the message.
fn at(src: &SourceFile, span: Range<usize>, error: impl std::fmt::Display) -> Diagnostic {
    src.diagnostic(span, error.to_string())
}

impl Loader<'_> {
    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.src.diagnostic(span, message)
    }

    /// Checks a name against its rule, at `span`.
    pub(super) fn name(&self, kind: NameKind, name: &Spanned<String>) -> Result<(), Diagnostic> {
        kind.check(name.get_ref())
            .map_err(|e| at(self.src, name.span(), &e).with_help(e.help()))
    }

    fn build(&self, raw: RawStack, root: &Path, file: &Path) -> Result<Stack, Diagnostic> {
        let project = self.project(raw.project.into_inner())?;
        let mut spans = Spans::default();
        let mut services = IndexMap::new();
        let mut variables = IndexMap::new();
        for (key, raw_service) in raw.services {
            self.name(NameKind::Service, &key)?;
            let name = key.into_inner();
            let table_span = raw_service.span();
            let raw_service = raw_service.into_inner();
            for dep in raw_service.depends_on.iter().flatten() {
                spans.add_depends_on(&name, dep.get_ref(), dep.span());
            }
            let service = self.service(&name, raw_service, table_span, &mut spans)?;
            for var in merge::service_variables(&service, self.catalog) {
                variables.insert(var.name.clone(), var);
            }
            services.insert(name, service);
        }
        let apps = self.apps(raw.apps, &services, &mut variables, &mut spans)?;
        for (key, raw_var) in raw.env {
            let variable = self.variable(key, raw_var.into_inner(), &variables, &mut spans)?;
            variables.insert(variable.name.clone(), variable);
        }
        let database = raw
            .database
            .map(|db| self.database(db, &services, &mut spans))
            .transpose()?;
        validate::check_all(self.src, &services, &apps, &variables, &spans)?;
        Ok(Stack {
            project,
            services,
            variables,
            database,
            apps,
            root: root.to_path_buf(),
            file: file.to_path_buf(),
        })
    }

    fn project(&self, raw: RawProject) -> Result<Project, Diagnostic> {
        self.name(NameKind::Project, &raw.name)?;
        let name = raw.name.into_inner();
        Ok(Project {
            declared_name: name.clone(),
            name,
            origin: Default::default(),
            description: raw.description,
            remap_ports: raw.remap_ports.unwrap_or(true),
        })
    }

    /// `[env.NAME]`: a declared variable, which must not shadow one the stack sets.
    fn variable(
        &self,
        key: Spanned<String>,
        raw: RawEnvVar,
        variables: &IndexMap<String, Variable>,
        spans: &mut Spans,
    ) -> Result<Variable, Diagnostic> {
        self.name(NameKind::Variable, &key)?;
        let span = key.span();
        let name = key.into_inner();
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
        if let Some(value) = &raw.value {
            spans.interpolated(&value.get_ref().0, value.span());
        }
        Ok(Variable {
            description: raw
                .description
                .unwrap_or_else(|| format!("Set in devenv.toml as [env.{name}]")),
            name,
            kind: VariableKind::Declared,
            secret: raw.secret,
            value: raw.value.map(|v| v.into_inner().0),
        })
    }

    fn database(
        &self,
        raw: Spanned<RawDatabase>,
        services: &IndexMap<String, Service>,
        spans: &mut Spans,
    ) -> Result<Database, Diagnostic> {
        let db_span = raw.span();
        let db = raw.into_inner();
        if let Some(service) = &db.service
            && !services.contains_key(service.get_ref())
        {
            return Err(validate::unknown_service(
                self.src,
                service.get_ref(),
                service.span(),
                services.keys(),
            ));
        }
        if db.service.is_none() && db.url.is_none() {
            return Err(self
                .err(db_span, "[database] needs a `service` (and usually a `url`), or a `url` for SQLite")
                .with_help("e.g. `service = \"db\"` and `url = \"${DATABASE_URL}\"`, or `url = \"sqlite:data/dev.db\"`"));
        }
        if let Some(url) = &db.url {
            spans.interpolated(url.get_ref(), url.span());
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
        let format = match &db.format {
            Some(name) => Some(Format::from_name(name.get_ref()).ok_or_else(|| {
                self.err(
                    name.span(),
                    format!(
                        "`{}` is not a migration format devenv knows",
                        name.get_ref()
                    ),
                )
                .with_help(format!(
                    "use one of {}, or leave `format` out to detect it from the files",
                    Format::ALL.map(|f| format!("\"{f}\"")).join(", ")
                ))
            })?),
            None => None,
        };
        let seeds = db
            .seeds
            .into_iter()
            .flatten()
            .map(|seed| self.seed(seed))
            .collect::<Result<_, _>>()?;
        Ok(Database {
            service: db.service.map(Spanned::into_inner),
            url: db.url.map(Spanned::into_inner),
            migrations,
            migrate_command,
            format,
            seeds,
            cache: db.cache.unwrap_or(true),
        })
    }

    fn seed(&self, seed: Spanned<RawSeed>) -> Result<Seed, Diagnostic> {
        let span = seed.span();
        match seed.into_inner() {
            RawSeed::Path(path) => Ok(Seed::Path(self.project_path(&Spanned::new(span, path))?)),
            RawSeed::Command(command) if command.command.is_empty() => {
                Err(self.err(span, "the seed command is empty"))
            }
            RawSeed::Command(command) => Ok(Seed::Command(command.command)),
        }
    }

    /// One service: the policy first, then each setting merged with the catalog and parsed.
    fn service(
        &self,
        name: &str,
        raw: RawService,
        table_span: Range<usize>,
        spans: &mut Spans,
    ) -> Result<Service, Diagnostic> {
        let host_access = policy::host_access(self.src, name, &raw)?;
        let entry = merge::entry(self.src, self.catalog, raw.use_.as_ref())?;
        let cat = entry.map(|e| &e.entry);
        let image = merge::image(&raw, entry, spans).ok_or_else(|| {
            self.err(
                table_span.clone(),
                format!("service `{name}` has neither `image` nor `use`"),
            )
            .with_help("add `use = \"postgres\"` (a catalog entry) or `image = \"repository:tag\"`")
        })?;
        let command = merge::command(raw.command, cat, spans);
        let mut ports = Vec::new();
        for (index, written) in merge::ports(raw.ports, cat, &table_span)
            .into_iter()
            .enumerate()
        {
            ports.push(self.port(name, index, &written)?);
            spans.add_port(name, index, written.span);
        }
        let env = self.env(name, raw.env, cat, spans)?;
        let volumes = merge::volumes(raw.volumes, cat, &table_span)
            .iter()
            .map(|written| self.volume(name, written))
            .collect::<Result<Vec<_>, _>>()?;
        let health = merge::health(raw.health, cat, &table_span)
            .map(|written| self.health(&written, ports.first().map(|p| p.container)))
            .transpose()?;
        let host_ip = self.host_ip(raw.host_ip)?;
        let profiles = self.profiles(raw.profiles)?;
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
            probe: merge::probe(cat),
            url: cat.and_then(|c| c.url.clone()),
            profiles,
            host_ip,
            host_access,
        })
    }

    /// The container environment: the catalog's, then the stack's keys over it.
    fn env(
        &self,
        service: &str,
        raw: Option<IndexMap<Spanned<String>, Spanned<Scalar>>>,
        cat: Option<&RawCatalogEntry>,
        spans: &mut Spans,
    ) -> Result<IndexMap<String, String>, Diagnostic> {
        let mut env = merge::catalog_env(service, cat);
        for (key, value) in raw.into_iter().flatten() {
            self.name(NameKind::EnvironmentVariable, &key)?;
            spans.interpolated(&value.get_ref().0, value.span());
            env.insert(key.into_inner(), value.into_inner().0);
        }
        Ok(env)
    }

    /// `"5432"`, `"5432/udp"` (host port from a variable) or `"15432:5432"` (fixed).
    fn port(
        &self,
        service: &str,
        index: usize,
        written: &Written<String>,
    ) -> Result<Port, Diagnostic> {
        let text = &written.value;
        let spec: PortSpec = text.parse().map_err(|why| {
            let d = if written.from_catalog {
                Diagnostic::new(format!(
                    "catalog entry for `{service}` has an invalid port `{text}`"
                ))
            } else {
                self.err(
                    written.span.clone(),
                    format!("invalid port `{text}` in service `{service}`: {why}"),
                )
            };
            d.with_help(format!(
                "write \"5432\" (host port from {}, default 5432) or \"15432:5432\" (always host port 15432)",
                port_var_name(service, index, 5432)
            ))
        })?;
        Ok(spec.into_port(service, index))
    }

    /// `"data:/path[:ro]"` (named, scoped to the service) or `"./dir:/path[:ro]"` (bind).
    fn volume(&self, service: &str, written: &Written<String>) -> Result<Volume, Diagnostic> {
        let span = written.span.clone();
        let spec: VolumeSpec = written.value.parse().map_err(|e| {
            let message = match &e {
                VolumeError::Shape(_) => format!("{e} in service `{service}`"),
                _ => e.to_string(),
            };
            self.err(span.clone(), message).with_help(VOLUME_HELP)
        })?;
        if spec.is_bind() {
            self.contained(&spec.source, span)?;
        }
        Ok(spec.into_volume(service))
    }

    /// A `health` table; an http check without `port` uses `default_port`.
    pub(super) fn health(
        &self,
        written: &Written<RawHealth>,
        default_port: Option<u16>,
    ) -> Result<Health, Diagnostic> {
        let raw = &written.value;
        let check = HealthCheck::parse(raw, default_port)
            .map_err(|e| at(self.src, written.span.clone(), e).with_help(e.help()))?;
        let duration = |value: &Option<Spanned<String>>, default: Duration| match value {
            None => Ok(default),
            Some(v) => parse_duration(v.get_ref())
                .map_err(|e| at(self.src, v.span(), &e).with_help(e.help())),
        };
        Ok(Health {
            check,
            interval: duration(&raw.interval, Duration::from_secs(2))?,
            timeout: duration(&raw.timeout, Duration::from_secs(5))?,
            retries: raw.retries.unwrap_or(30),
            start_period: duration(&raw.start_period, Duration::ZERO)?,
        })
    }

    fn host_ip(&self, raw: Option<Spanned<String>>) -> Result<String, Diagnostic> {
        let Some(ip) = raw else {
            return Ok("127.0.0.1".to_string());
        };
        if ip.get_ref().parse::<std::net::IpAddr>().is_err() {
            return Err(self
                .err(ip.span(), format!("`{}` is not an IP address", ip.get_ref()))
                .with_help("use `127.0.0.1` (this machine only, the default) or `0.0.0.0` (all interfaces)"));
        }
        Ok(ip.into_inner())
    }

    fn profiles(&self, raw: Option<Vec<Spanned<String>>>) -> Result<Vec<String>, Diagnostic> {
        let mut profiles = Vec::new();
        for profile in raw.into_iter().flatten() {
            self.name(NameKind::Profile, &profile)?;
            profiles.push(profile.into_inner());
        }
        Ok(profiles)
    }

    /// A path inside the project: relative, with no `..` leading out of it.
    pub(super) fn project_path(&self, path: &Spanned<String>) -> Result<PathBuf, Diagnostic> {
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
}
