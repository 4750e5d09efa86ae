//! The forms a Compose service key may take, read into one shape each: `environment` (list or
//! map), `env_file`, `healthcheck`, `depends_on` (short and long), `ports`, `volumes` and
//! `command`. Pure: strings stay as written (interpolation is the caller's choice).

use indexmap::IndexMap;
use serde_norway::Value;

/// A scalar as Compose reads it (`5432`, `true` and `"x"` are all text); None for others.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string or a list of strings (`env_file`, `profiles`, `dns`).
pub fn string_or_list(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// `environment` as a map or a `KEY=VALUE` list; a key without a value (`- KEY`) is None
/// (Compose passes it from the shell).
pub fn environment(value: &Value) -> IndexMap<String, Option<String>> {
    let mut env = IndexMap::new();
    match value {
        Value::Mapping(map) => {
            for (key, value) in map {
                if let Some(key) = scalar(key) {
                    env.insert(key, scalar(value));
                }
            }
        }
        Value::Sequence(items) => {
            for item in items.iter().filter_map(scalar) {
                match item.split_once('=') {
                    Some((key, value)) => env.insert(key.to_string(), Some(value.to_string())),
                    None => env.insert(item, None),
                };
            }
        }
        _ => {}
    }
    env
}

/// One `env_file` entry: its path and whether Compose requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileRef {
    /// Path relative to the compose file.
    pub path: String,
    /// `required: false` lets it be missing.
    pub required: bool,
}

/// `env_file` as a string, a list of strings, or a list of `{ path, required }`.
pub fn env_files(value: &Value) -> Vec<EnvFileRef> {
    let items = match value {
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::Mapping(map) => Some(EnvFileRef {
                path: map.get("path").and_then(scalar)?,
                required: map.get("required").and_then(Value::as_bool).unwrap_or(true),
            }),
            other => scalar(other).map(|path| EnvFileRef {
                path,
                required: true,
            }),
        })
        .collect()
}

/// What a dependency waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `service_started` (the short form's meaning).
    Started,
    /// `service_healthy`.
    Healthy,
    /// `service_completed_successfully`: a one-shot job that must exit 0.
    Completed,
}

/// One `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The service depended on.
    pub service: String,
    /// What is waited for.
    pub condition: Condition,
    /// Long-form keys other than `condition` (`restart`, `required`), as written.
    pub extra: Vec<String>,
}

/// `depends_on` as a list of names or a map of `{ condition, restart, required }`.
pub fn depends_on(value: &Value) -> Vec<Dependency> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .filter_map(scalar)
            .map(|service| Dependency {
                service,
                condition: Condition::Started,
                extra: Vec::new(),
            })
            .collect(),
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(name, spec)| {
                let service = scalar(name)?;
                let spec = spec.as_mapping();
                let condition = match spec.and_then(|s| s.get("condition")).and_then(scalar) {
                    Some(c) if c == "service_healthy" => Condition::Healthy,
                    Some(c) if c == "service_completed_successfully" => Condition::Completed,
                    _ => Condition::Started,
                };
                let extra = spec
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| {
                        let k = scalar(k)?;
                        (k != "condition")
                            .then(|| format!("{k}: {}", scalar(v).unwrap_or_default()))
                    })
                    .collect();
                Some(Dependency {
                    service,
                    condition,
                    extra,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A `healthcheck` read into devenv's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    /// The command run in the container (`CMD-SHELL` and a plain string become `sh -c`);
    /// None when the check is disabled (`NONE`, `disable: true`) or has no `test`.
    pub cmd: Option<Vec<String>>,
    /// `interval`.
    pub interval: Option<String>,
    /// `timeout`.
    pub timeout: Option<String>,
    /// `retries`.
    pub retries: Option<u32>,
    /// `start_period`.
    pub start_period: Option<String>,
    /// Keys devenv has no place for (`start_interval`, `disable`), as `key: value`.
    pub unsupported: Vec<String>,
}

/// `healthcheck` in any of its forms: `test` as `[CMD, ...]`, `[CMD-SHELL, "..."]`,
/// `[NONE]` or a string; `disable: true`.
pub fn healthcheck(value: &Value) -> Healthcheck {
    let mut check = Healthcheck::default();
    let Some(map) = value.as_mapping() else {
        return check;
    };
    let disabled = map.get("disable").and_then(Value::as_bool) == Some(true);
    for (key, value) in map {
        let key = scalar(key).unwrap_or_default();
        match key.as_str() {
            "test" => check.cmd = test_command(value),
            "interval" => check.interval = scalar(value),
            "timeout" => check.timeout = scalar(value),
            "start_period" => check.start_period = scalar(value),
            "retries" => check.retries = scalar(value).and_then(|r| r.parse().ok()),
            _ => check
                .unsupported
                .push(format!("{key}: {}", scalar(value).unwrap_or_default())),
        }
    }
    if disabled {
        check.cmd = None;
    }
    check
}

fn test_command(value: &Value) -> Option<Vec<String>> {
    let shell = |line: String| Some(vec!["sh".to_string(), "-c".to_string(), line]);
    match value {
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().filter_map(scalar).collect();
            match items.split_first() {
                Some((first, rest)) if first == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
                Some((first, rest)) if first == "CMD-SHELL" && !rest.is_empty() => {
                    shell(rest.join(" "))
                }
                _ => None,
            }
        }
        other => scalar(other)
            .filter(|s| !s.trim().is_empty())
            .and_then(shell),
    }
}

/// A `command` or `entrypoint`: a list as it is, a string split as a shell would (Compose's
/// rule); None when the string cannot be split (an unclosed quote).
pub fn command(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Sequence(items) => Some(items.iter().filter_map(scalar).collect()),
        other => shlex::split(&scalar(other)?),
    }
}

/// One published port, as written (strings not yet interpolated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    /// Host address, when given.
    pub host_ip: Option<String>,
    /// Host port or range, when given.
    pub published: Option<String>,
    /// Container port or range.
    pub target: String,
    /// `tcp` or `udp`, when given.
    pub protocol: Option<String>,
}

/// A short-form port (`"8080"`, `"9090:9000"`, `"127.0.0.1:5432:5432/tcp"`); `text` is
/// already interpolated.
pub fn short_port(text: &str) -> PortEntry {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) => (spec, Some(protocol.to_string())),
        None => (text, None),
    };
    // An IPv6 host address is bracketed; split on the last two colons outside brackets.
    let parts: Vec<&str> = match spec.rfind(']') {
        Some(end) => {
            let rest: Vec<&str> = spec[end + 1..].trim_start_matches(':').split(':').collect();
            std::iter::once(&spec[..=end]).chain(rest).collect()
        }
        None => spec.split(':').collect(),
    };
    let (host_ip, published, target) = match parts.as_slice() {
        [target] => (None, None, *target),
        [published, target] => (None, Some(*published), *target),
        [ip, published, target] => (Some(*ip), Some(*published), *target),
        _ => (None, None, spec),
    };
    PortEntry {
        host_ip: host_ip.filter(|s| !s.is_empty()).map(str::to_string),
        published: published.filter(|s| !s.is_empty()).map(str::to_string),
        target: target.to_string(),
        protocol,
    }
}

/// A long-form port (`{ target, published, host_ip, protocol }`).
pub fn long_port(map: &serde_norway::Mapping) -> PortEntry {
    PortEntry {
        host_ip: map.get("host_ip").and_then(scalar),
        published: map.get("published").and_then(scalar),
        target: map.get("target").and_then(scalar).unwrap_or_default(),
        protocol: map.get("protocol").and_then(scalar),
    }
}

/// One mount, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `volume`, `bind`, `tmpfs` (or another type of the long form).
    pub kind: String,
    /// Volume name or host path; None for an anonymous volume or tmpfs.
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Options devenv has no place for (`z`, `nocopy`, `bind.propagation`...).
    pub other_options: Vec<String>,
}

/// A short-form mount (`name:/path`, `./dir:/path:ro,z`, `/anonymous`).
pub fn short_mount(text: &str) -> Mount {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, options] => (Some(*source), *target, *options),
        _ => (None, text, ""),
    };
    let options: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
    let kind = match source {
        Some(s) if s.starts_with(['.', '/', '~']) => "bind",
        _ => "volume",
    };
    Mount {
        kind: kind.to_string(),
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: options.contains(&"ro"),
        other_options: options
            .iter()
            .filter(|o| !matches!(**o, "ro" | "rw"))
            .map(|o| o.to_string())
            .collect(),
    }
}

/// A long-form mount (`{ type, source, target, read_only, ... }`).
pub fn long_mount(map: &serde_norway::Mapping) -> Mount {
    let other_options = map
        .iter()
        .filter_map(|(k, _)| scalar(k))
        .filter(|k| !matches!(k.as_str(), "type" | "source" | "target" | "read_only"))
        .collect();
    Mount {
        kind: map
            .get("type")
            .and_then(scalar)
            .unwrap_or_else(|| "volume".into()),
        source: map.get("source").and_then(scalar),
        target: map.get("target").and_then(scalar).unwrap_or_default(),
        read_only: map.get("read_only").and_then(Value::as_bool) == Some(true),
        other_options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).expect("test YAML")
    }

    #[test]
    fn healthcheck_forms() {
        let list = healthcheck(&yaml(
            "test: [CMD, mc, ready, local]\ninterval: 1s\nretries: 5",
        ));
        assert_eq!(list.cmd.unwrap(), ["mc", "ready", "local"]);
        assert_eq!(list.interval.as_deref(), Some("1s"));
        assert_eq!(list.retries, Some(5));
        let shell = healthcheck(&yaml("test: [CMD-SHELL, pg_isready -U postgres]"));
        assert_eq!(shell.cmd.unwrap(), ["sh", "-c", "pg_isready -U postgres"]);
        let string = healthcheck(&yaml("test: wget -q http://x || exit 1\nstart_period: 1s"));
        assert_eq!(
            string.cmd.unwrap(),
            ["sh", "-c", "wget -q http://x || exit 1"]
        );
        assert_eq!(string.start_period.as_deref(), Some("1s"));
        assert_eq!(healthcheck(&yaml("test: [NONE]")).cmd, None);
        assert_eq!(
            healthcheck(&yaml("test: [CMD, x]\ndisable: true")).cmd,
            None
        );
        let extra = healthcheck(&yaml("test: [CMD, x]\nstart_interval: 3s"));
        assert_eq!(extra.unsupported, ["start_interval: 3s"]);
    }

    #[test]
    fn depends_on_short_and_long_forms() {
        let short = depends_on(&yaml("[db, cache]"));
        assert_eq!(short.len(), 2);
        assert_eq!(short[0].condition, Condition::Started);
        let long = depends_on(&yaml(
            "db: {condition: service_healthy}\nmigrate: {condition: service_completed_successfully, restart: true}\nweb: {condition: service_started}",
        ));
        assert_eq!(long[0].condition, Condition::Healthy);
        assert_eq!(long[1].condition, Condition::Completed);
        assert_eq!(long[1].extra, ["restart: true"]);
        assert_eq!(long[2].condition, Condition::Started);
    }

    #[test]
    fn environment_list_and_map() {
        let list = environment(&yaml("[A=1, B=x=y, C]"));
        assert_eq!(list["A"].as_deref(), Some("1"));
        assert_eq!(list["B"].as_deref(), Some("x=y"));
        assert_eq!(list["C"], None);
        let map = environment(&yaml("N: 500\nT: true\nE:"));
        assert_eq!(map["N"].as_deref(), Some("500"));
        assert_eq!(map["T"].as_deref(), Some("true"));
        assert_eq!(map["E"], None);
    }

    #[test]
    fn env_file_forms() {
        assert_eq!(env_files(&yaml("./.env"))[0].path, "./.env");
        let list = env_files(&yaml("[common.env, {path: x.env, required: false}]"));
        assert_eq!(list[1].path, "x.env");
        assert!(list[0].required && !list[1].required);
    }

    #[test]
    fn ports_short_and_long() {
        let p = short_port("127.0.0.1:9090:9000");
        assert_eq!(
            (
                p.host_ip.as_deref(),
                p.published.as_deref(),
                p.target.as_str()
            ),
            (Some("127.0.0.1"), Some("9090"), "9000")
        );
        let p = short_port("8080/udp");
        assert_eq!((p.published, p.protocol.as_deref()), (None, Some("udp")));
        let p = short_port("[::1]:80:8080");
        assert_eq!(p.host_ip.as_deref(), Some("[::1]"));
        let p = long_port(yaml("{target: 80, published: 8080}").as_mapping().unwrap());
        assert_eq!(
            (p.published.as_deref(), p.target.as_str()),
            (Some("8080"), "80")
        );
    }

    #[test]
    fn mounts_short_and_long() {
        let m = short_mount("./replica_user.sql:/docker-entrypoint-initdb.d/x.sql:ro,z");
        assert_eq!(m.kind, "bind");
        assert!(m.read_only);
        assert_eq!(m.other_options, ["z"]);
        let anonymous = short_mount("/var/lib/mysql");
        assert_eq!(
            (anonymous.source, anonymous.kind.as_str()),
            (None, "volume")
        );
        let tmpfs = long_mount(yaml("{type: tmpfs, target: /tmp}").as_mapping().unwrap());
        assert_eq!(tmpfs.kind, "tmpfs");
    }

    #[test]
    fn commands_split_like_a_shell() {
        let c = command(&yaml(r#"sh -c "pnpm exec prisma migrate deploy""#)).unwrap();
        assert_eq!(c, ["sh", "-c", "pnpm exec prisma migrate deploy"]);
        assert_eq!(command(&yaml("[a, 'b c']")).unwrap(), ["a", "b c"]);
        assert_eq!(command(&yaml(r#""unclosed 'quote""#)), None);
    }
}
