//! One Compose service read into what the mapping needs: values interpolated where devenv
//! needs them final (image, ports, mounts, durations), kept as written where devenv
//! interpolates them itself with the same syntax (environment, command, health command),
//! `env_file`s read, and every key devenv has no place for recorded in the report.

use super::compose::{Compose, read_env_file};
use super::fields::{self, Dependency, Healthcheck, Mount, PortEntry, scalar};
use super::report::Report;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::stack::interpolate;
use indexmap::IndexMap;
use serde_norway::{Mapping, Value};

/// An environment value.
#[derive(Debug, Clone)]
pub struct EnvValue {
    /// The value in devenv's syntax (Compose's: `${VAR:-d}`, `$$`).
    pub text: String,
    /// The value itself, when it references no variable.
    pub literal: Option<String>,
    /// The variable when the value is exactly one reference (`${X:-d}`): name and default.
    pub reference: Option<(String, Option<String>)>,
}

impl EnvValue {
    /// A literal value (from an env file), escaped for devenv.
    pub fn literal(value: &str) -> Self {
        Self {
            text: interpolate::escape(value),
            literal: Some(value.to_string()),
            reference: None,
        }
    }

    /// A value as written in a Compose file.
    pub fn written(text: &str) -> Self {
        let refs = interpolate::references(text).unwrap_or_default();
        let literal = refs
            .is_empty()
            .then(|| interpolate::expand(text, &|_| None).ok())
            .flatten();
        let reference = match refs.as_slice() {
            [only] if only.range == (0..text.len()) => {
                Some((only.name.clone(), only.default.clone()))
            }
            _ => None,
        };
        Self {
            text: text.to_string(),
            literal,
            reference,
        }
    }
}

/// One published port: interpolated, with the host part as written.
#[derive(Debug, Clone)]
pub struct Port {
    /// The port, interpolated.
    pub entry: PortEntry,
    /// The published part as written (`${POSTGRES_HOST_PORT:-5432}`).
    pub published_written: Option<String>,
}

/// A Compose service ready for mapping.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Service name.
    pub name: String,
    /// `image`, interpolated.
    pub image: Option<String>,
    /// Whether it has `build:`.
    pub build: bool,
    /// `env_file` values under `environment`, in order.
    pub env: IndexMap<String, EnvValue>,
    /// `ports`.
    pub ports: Vec<Port>,
    /// `volumes`, interpolated.
    pub mounts: Vec<Mount>,
    /// `healthcheck`.
    pub health: Option<Healthcheck>,
    /// `depends_on`.
    pub deps: Vec<Dependency>,
    /// `command` as written.
    pub command: Option<Vec<String>>,
    /// `entrypoint` as written.
    pub entrypoint: Option<Vec<String>>,
    /// Keys with no devenv place: key and a short rendering of the value.
    pub leftovers: Vec<(String, String)>,
}

/// Reads service `name`.
pub fn prepare(
    compose: &Compose,
    name: &str,
    spec: &Mapping,
    report: &mut Report,
) -> Result<Prepared, Diagnostic> {
    let resolve = |key: &str, text: &str| {
        compose
            .vars
            .resolve(text)
            .map_err(|e| interpolation_error(compose, name, key, text, &e))
    };
    // Text devenv interpolates itself must parse now, not fail devenv's loader later.
    let check = |key: &str, text: &str| {
        interpolate::parse(text)
            .map(|_| ())
            .map_err(|e| interpolation_error(compose, name, key, text, &e))
    };
    let mut out = Prepared {
        name: name.to_string(),
        ..Default::default()
    };
    for (key, value) in spec {
        let key = scalar(key).unwrap_or_default();
        match key.as_str() {
            "image" => out.image = scalar(value).map(|i| resolve("image", &i)).transpose()?,
            "build" => out.build = true,
            "environment" => {
                for (k, v) in fields::environment(value) {
                    let text = v.unwrap_or_else(|| format!("${{{k}}}"));
                    check(&format!("environment {k}"), &text)?;
                    out.env.insert(k, EnvValue::written(&text));
                }
            }
            "env_file" => {}
            "ports" => out.ports = ports(value, &resolve)?,
            "volumes" => out.mounts = mounts(value, &resolve)?,
            "healthcheck" => out.health = Some(health(value, &resolve)?),
            "depends_on" => out.deps = fields::depends_on(value),
            "command" => out.command = command(value, name, &key, report),
            "entrypoint" => out.entrypoint = command(value, name, &key, report),
            // Chosen before services are prepared (`import::select`).
            "profiles" => {}
            _ => out.leftovers.push((key, render(value))),
        }
    }
    let written = out.command.iter().chain(&out.entrypoint).flatten();
    let health_cmd = out.health.iter().flat_map(|h| h.cmd.iter().flatten());
    for text in written.chain(health_cmd) {
        check("command", text)?;
    }
    if let Some(files) = spec.get("env_file") {
        let mut from_files = IndexMap::new();
        for file in fields::env_files(files) {
            let path = resolve("env_file", &file.path)?;
            for (k, v) in env_file(compose, name, &path, file.required, report)? {
                from_files.insert(k, EnvValue::literal(&v));
            }
        }
        // `environment` wins over `env_file`.
        from_files.extend(std::mem::take(&mut out.env));
        out.env = from_files;
    }
    Ok(out)
}

fn command(value: &Value, service: &str, key: &str, report: &mut Report) -> Option<Vec<String>> {
    let parsed = fields::command(value);
    if parsed.is_none() {
        report.not_carried(
            Some(service),
            key,
            "cannot be split into arguments (an unclosed quote?): write it as a list",
        );
    }
    parsed
}

fn ports(
    value: &Value,
    resolve: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Vec<Port>, Diagnostic> {
    let mut out = Vec::new();
    for item in value.as_sequence().into_iter().flatten() {
        let port = match item {
            Value::Mapping(map) => {
                let written = fields::long_port(map);
                let mut entry = written.clone();
                entry.published = written
                    .published
                    .as_deref()
                    .map(|p| resolve("ports", p))
                    .transpose()?;
                entry.host_ip = written
                    .host_ip
                    .as_deref()
                    .map(|p| resolve("ports", p))
                    .transpose()?;
                Port {
                    entry,
                    published_written: written.published,
                }
            }
            other => {
                let text = scalar(other).unwrap_or_default();
                Port {
                    entry: fields::short_port(&resolve("ports", &text)?),
                    published_written: written_published(&text),
                }
            }
        };
        out.push(port);
    }
    Ok(out)
}

/// The published part of a short port as written: the field before the last `:` (a
/// `${VAR:-d}` holds colons of its own, so split outside braces).
fn written_published(text: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut fields = vec![String::new()];
    for c in text.split('/').next().unwrap_or_default().chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                fields.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = fields.last_mut() {
            last.push(c);
        }
    }
    (fields.len() >= 2).then(|| fields[fields.len() - 2].clone())
}

fn mounts(
    value: &Value,
    resolve: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Vec<Mount>, Diagnostic> {
    let mut out = Vec::new();
    for item in value.as_sequence().into_iter().flatten() {
        // The short form is interpolated whole, the long form's source on its own: once each.
        let mount = match item {
            Value::Mapping(map) => {
                let mut mount = fields::long_mount(map);
                if let Some(source) = &mount.source {
                    mount.source = Some(resolve("volumes", source)?);
                }
                mount
            }
            other => fields::short_mount(&resolve("volumes", &scalar(other).unwrap_or_default())?),
        };
        out.push(mount);
    }
    Ok(out)
}

fn health(
    value: &Value,
    resolve: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<Healthcheck, Diagnostic> {
    let mut check = fields::healthcheck(value);
    for field in [
        &mut check.interval,
        &mut check.timeout,
        &mut check.start_period,
    ] {
        if let Some(text) = field {
            *field = Some(resolve("healthcheck", text)?);
        }
    }
    Ok(check)
}

/// An `env_file`'s values; a missing one is reported, or replaced by the example file
/// beside it (`.env.example` for `.env`), said so.
fn env_file(
    compose: &Compose,
    service: &str,
    path: &str,
    required: bool,
    report: &mut Report,
) -> Result<IndexMap<String, String>, Diagnostic> {
    let full = compose.dir.join(path);
    if full.is_file() {
        let shown = full.display().to_string();
        if !report.env_files.contains(&shown) {
            report.env_files.push(shown);
        }
        return read_env_file(&full);
    }
    let example = full.with_file_name(format!(
        "{}.example",
        full.file_name().unwrap_or_default().to_string_lossy()
    ));
    if example.is_file() {
        let shown = example.display().to_string();
        if !report.env_files.contains(&shown) {
            report.env_files.push(shown.clone());
            report.note(
                None,
                format!("env_file `{path}` does not exist; read `{shown}` in its place (copy it to `{path}` to run the compose file itself)"),
            );
        }
        return read_env_file(&example);
    }
    let why = if required {
        "does not exist (Compose would refuse to start); its variables are not imported"
    } else {
        "does not exist (optional); nothing read"
    };
    report.not_carried(Some(service), format!("env_file {path}"), why);
    Ok(IndexMap::new())
}

/// A short rendering of a value for a comment or the report (one line, at most 80 chars).
pub fn render(value: &Value) -> String {
    let text = match value {
        Value::Mapping(_) | Value::Sequence(_) => serde_json::to_string(value).unwrap_or_default(),
        other => scalar(other).unwrap_or_default(),
    };
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

/// A bad `${...}` in the Compose file, pointing at the line it is on. A credential's value
/// is never shown: the message names the file and line only.
fn interpolation_error(
    compose: &Compose,
    service: &str,
    key: &str,
    text: &str,
    error: &interpolate::SyntaxError,
) -> Diagnostic {
    let secret = key
        .split_whitespace()
        .last()
        .is_some_and(super::variables::is_credential_key);
    let shown = if secret {
        String::new()
    } else {
        format!(" in `{text}`")
    };
    let message = format!("service `{service}`, `{key}`: invalid interpolation{shown}: {error}");
    let help = "Compose's forms are `${VAR}`, `${VAR:-default}`, `${VAR-default}`; write `$$` for a literal `$`";
    let needle = text.lines().next().unwrap_or(text);
    for path in &compose.files {
        let Ok(source) = std::fs::read_to_string(path) else {
            continue;
        };
        let Some(at) = source.find(needle) else {
            continue;
        };
        let offset = at + error.offset.min(needle.len());
        let file = SourceFile::new(path, source);
        if secret {
            let (line, _) = file.line_col(offset);
            return Diagnostic::new(format!("{}:{line}: {message}", path.display()))
                .with_help(help);
        }
        return file.diagnostic(offset..offset + 1, message).with_help(help);
    }
    Diagnostic::new(message).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_volume_is_interpolated_once() {
        let value: Value =
            serde_norway::from_str("[\"./a$$b:/x\", {type: bind, source: ./c$$d, target: /y}]")
                .unwrap();
        let resolve =
            |_: &str, text: &str| Ok(crate::stack::interpolate::expand(text, &|_| None).unwrap());
        let mounts = mounts(&value, &resolve).unwrap();
        let sources: Vec<_> = mounts.iter().map(|m| m.source.clone().unwrap()).collect();
        assert_eq!(sources, ["./a$b", "./c$d"]);
    }

    #[test]
    fn the_written_host_port_keeps_its_variable() {
        assert_eq!(
            written_published("${HOST_IP:-127.0.0.1}:${POSTGRES_HOST_PORT:-5432}:5432").as_deref(),
            Some("${POSTGRES_HOST_PORT:-5432}")
        );
        assert_eq!(written_published("8080").as_deref(), None);
        assert_eq!(written_published("9090:9000/tcp").as_deref(), Some("9090"));
    }

    #[test]
    fn env_values_know_their_single_reference() {
        let v = EnvValue::written("${POSTGRES_PASSWORD:-postgres}");
        assert_eq!(
            v.reference,
            Some(("POSTGRES_PASSWORD".into(), Some("postgres".into())))
        );
        assert_eq!(v.literal, None);
        let v = EnvValue::written("a$$b");
        assert_eq!(v.literal.as_deref(), Some("a$b"));
        assert_eq!(EnvValue::literal("a$b").text, "a$$b");
        assert_eq!(EnvValue::written("x-${A}").reference, None);
    }
}
