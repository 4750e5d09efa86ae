//! The `[env]` variables an import declares: secret-looking literals lifted out of services
//! (secret, or a plain value where the project hard-codes the same value elsewhere), Compose
//! variables the kept text still references, and the connection URLs rewritten for the host.

use super::compose::Vars;
use super::report::VariableOutcome;
use super::service::{EnvValue, Prepared};
use super::write::OutVar;
use crate::redact::is_secret_name;
use crate::stack::interpolate;
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};

/// Whether an environment key holds a credential: a secret name (`PASSWORD`, `SECRET`,
/// `TOKEN`, `KEY` as a part) or a password under another name (`MYSQL_PWD`, `REDIS_AUTH`).
pub fn is_credential_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('_').collect();
    is_secret_name(key)
        || parts.iter().any(|p| {
            ["PWD", "PASS", "PASSWD"]
                .iter()
                .any(|s| p.eq_ignore_ascii_case(s))
        })
        || parts.last().is_some_and(|p| p.eq_ignore_ascii_case("AUTH"))
}

/// Where a service's container port is reached from the host.
#[derive(Debug, Clone)]
pub enum HostPort {
    /// Through the port variable (`DB_PORT`).
    Variable(String),
    /// A fixed host port.
    Fixed(u16),
}

/// Imported services' published ports: service → container port → host port.
pub type HostPorts = HashMap<String, HashMap<u16, HostPort>>;

/// The variables being declared.
#[derive(Debug, Default)]
pub struct Variables {
    /// Declared, in order.
    pub declared: IndexMap<String, OutVar>,
    /// Why each is secret or plain.
    pub outcomes: Vec<VariableOutcome>,
    /// Names devenv defines itself (port variables, catalog secrets).
    pub reserved: HashSet<String>,
    /// Credential value → the variable it was lifted into.
    by_value: HashMap<String, String>,
    /// How often each credential value appears in credential places across the file.
    uses: HashMap<String, usize>,
}

impl Variables {
    /// Counts credential values over every service (imported or not).
    pub fn new(services: &[Prepared], vars: &Vars, reserved: HashSet<String>) -> Self {
        // Each (key, value) counts once: two services reading one env file are one place.
        let mut places: HashSet<(String, String)> = HashSet::new();
        for service in services {
            for (key, value) in &service.env {
                let resolved = resolved(value, vars);
                if is_credential_key(key) && !resolved.is_empty() {
                    places.insert((key.clone(), resolved.clone()));
                }
                if let Some(url) = Url::split(&resolved)
                    && let Some(password) = url.password()
                {
                    places.insert((key.clone(), password));
                }
            }
        }
        let mut uses: HashMap<String, usize> = HashMap::new();
        for (_, value) in places {
            *uses.entry(value).or_default() += 1;
        }
        Self {
            uses,
            reserved,
            ..Default::default()
        }
    }

    /// Lifts a credential value of `service` into a variable; returns the text that
    /// replaces it (`${NAME}`), or None when the value stays as it is.
    pub fn lift(
        &mut self,
        service: &str,
        key: &str,
        value: &EnvValue,
        vars: &Vars,
    ) -> Option<String> {
        if !is_credential_key(key) {
            return None;
        }
        let plain_value = match (&value.literal, &value.reference) {
            (Some(literal), _) => literal.clone(),
            (None, Some((name, default))) => vars
                .dotenv
                .get(name)
                .cloned()
                .or_else(|| default.clone())
                .unwrap_or_default(),
            // Text around references: Compose's result, never the text (it holds the value).
            (None, None) => vars.resolve(&value.text).unwrap_or_default(),
        };
        let resolved = resolved(value, vars);
        if resolved.is_empty() {
            return None;
        }
        if let Some(name) = self.by_value.get(&resolved) {
            return Some(format!("${{{name}}}"));
        }
        let wanted = value
            .reference
            .as_ref()
            .map_or_else(|| key.to_string(), |(name, _)| name.clone());
        let name = self.free_name(&wanted, service);
        let hard_coded = self.uses.get(&resolved).copied().unwrap_or(0) >= 2;
        let (why, var) = if hard_coded {
            (
                format!(
                    "`{key}` of `{service}`: the project hard-codes the same value elsewhere (another service or a URL), so it stays that value"
                ),
                OutVar {
                    value: Some(interpolate::escape(&plain_value)),
                    secret: false,
                    description: format!(
                        "`{key}` of `{service}` (the project hard-codes this value elsewhere)"
                    ),
                },
            )
        } else {
            (
                format!(
                    "`{key}` of `{service}` looks secret: generated into .env, never written here"
                ),
                OutVar {
                    value: None,
                    secret: true,
                    description: secret_description(key, service, &resolved),
                },
            )
        };
        self.outcomes.push(VariableOutcome {
            name: name.clone(),
            secret: var.secret,
            why,
        });
        self.declared.insert(name.clone(), var);
        self.by_value.insert(resolved, name.clone());
        Some(format!("${{{name}}}"))
    }

    /// `wanted`, or `<SERVICE>_<wanted>`, or with a number, whichever is free.
    fn free_name(&self, wanted: &str, service: &str) -> String {
        let taken = |n: &str| self.declared.contains_key(n) || self.reserved.contains(n);
        if !taken(wanted) {
            return wanted.to_string();
        }
        let scoped = format!("{}_{wanted}", crate::stack::var_prefix(service));
        (1..)
            .map(|i| {
                if i == 1 {
                    scoped.clone()
                } else {
                    format!("{scoped}_{i}")
                }
            })
            .find(|n| !taken(n))
            .unwrap_or(scoped)
    }

    /// Declares the variables `text` references with no default that nothing declares:
    /// a value from `.env` (not for secret names), or a secret.
    pub fn declare_references(&mut self, text: &str, vars: &Vars, whose: &str) {
        for var in interpolate::references(text).unwrap_or_default() {
            if var.default.is_some()
                || self.declared.contains_key(&var.name)
                || self.reserved.contains(&var.name)
            {
                continue;
            }
            let secret = is_credential_key(&var.name);
            let value = (!secret).then(|| {
                interpolate::escape(&vars.dotenv.get(&var.name).cloned().unwrap_or_default())
            });
            let why = if secret {
                format!(
                    "referenced by {whose} with no default; a secret name, so generated into .env"
                )
            } else if vars.dotenv.contains_key(&var.name) {
                format!("referenced by {whose}; value from the .env beside the compose file")
            } else {
                format!(
                    "referenced by {whose} with no default and unset: empty, as Compose would use"
                )
            };
            self.outcomes.push(VariableOutcome {
                name: var.name.clone(),
                secret,
                why,
            });
            self.declared.insert(
                var.name.clone(),
                OutVar {
                    value,
                    secret,
                    description: format!("Referenced by {whose} in the compose file"),
                },
            );
        }
    }

    /// A URL with its password replaced by the variable it was lifted into and, with
    /// `ports`, its host by `127.0.0.1` and the service's host port: the form a program on
    /// the host uses. None when `text` is no URL to an imported service (or nothing changes).
    pub fn rewrite_url(&self, text: &str, ports: Option<&HostPorts>) -> Option<String> {
        let url = Url::split(text)?;
        let password = url
            .password()
            .and_then(|p| self.by_value.get(&p))
            .map(|name| format!("${{{name}}}"));
        let (host, port) = match ports {
            Some(ports) => {
                let service = ports.get(url.host)?;
                let container = url
                    .port
                    .and_then(|p| p.parse().ok())
                    .or_else(|| default_port(url.scheme))?;
                let port = match service.get(&container)? {
                    HostPort::Variable(name) => format!("${{{name}}}"),
                    HostPort::Fixed(port) => port.to_string(),
                };
                ("127.0.0.1".to_string(), Some(port))
            }
            None if password.is_some() => (
                interpolate::escape(url.host),
                url.port.map(interpolate::escape),
            ),
            None => return None,
        };
        let userinfo = match (url.user, password) {
            (Some(user), Some(password)) => format!("{}:{password}@", interpolate::escape(user)),
            (Some(_), None) => {
                format!("{}@", interpolate::escape(url.userinfo.unwrap_or_default()))
            }
            (None, _) => String::new(),
        };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        Some(format!(
            "{}://{userinfo}{host}{port}{}",
            interpolate::escape(url.scheme),
            interpolate::escape(url.tail)
        ))
    }
}

/// What a generated secret stands for; a length other than the generated one's is named,
/// since a program may expect it (a 32-character encryption key).
fn secret_description(key: &str, service: &str, original: &str) -> String {
    let length = original.chars().count();
    if length == crate::env::secrets::LENGTH {
        format!("`{key}` of `{service}`")
    } else {
        format!(
            "`{key}` of `{service}`; the project's value had {length} characters, devenv generates {}: set it in .env if the length matters",
            crate::env::secrets::LENGTH
        )
    }
}

/// A value as Compose would pass it (references resolved).
fn resolved(value: &EnvValue, vars: &Vars) -> String {
    value
        .literal
        .clone()
        .unwrap_or_else(|| vars.resolve(&value.text).unwrap_or_default())
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "postgres" | "postgresql" => 5432,
        "mysql" | "mariadb" => 3306,
        "redis" | "rediss" | "valkey" => 6379,
        "amqp" => 5672,
        "mongodb" => 27017,
        "nats" => 4222,
        "smtp" => 25,
        "http" => 80,
        "https" => 443,
        _ => return None,
    })
}

/// The parts of `scheme://[user[:password]@]host[:port][rest]`, as written.
#[derive(Debug)]
struct Url<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    user: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    tail: &'a str,
}

impl<'a> Url<'a> {
    fn split(text: &'a str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, Some(p)),
            _ => (hostport, None),
        };
        Some(Self {
            scheme,
            userinfo,
            user: userinfo.map(|u| u.split(':').next().unwrap_or(u)),
            host,
            port,
            tail,
        })
    }

    /// The password, percent-decoded.
    fn password(&self) -> Option<String> {
        let (_, password) = self.userinfo?.split_once(':')?;
        Some(
            percent_encoding::percent_decode_str(password)
                .decode_utf8_lossy()
                .into_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(env: &[(&str, &str)]) -> Prepared {
        Prepared {
            name: "svc".into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), EnvValue::written(v)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_referenced_credential_from_dotenv_is_never_written_in_clear() {
        let vars = Vars {
            dotenv: [("DB_PASS".to_string(), "hunter2".to_string())].into(),
            ..Vars::default()
        };
        let services = [prepared(&[("DSN", "mysql://u:${DB_PASS}@db/x")])];
        let mut v = Variables::new(&services, &vars, HashSet::new());
        v.declare_references("mysql://u:${DB_PASS}@db/x", &vars, "service `api`");
        let rendered = format!("{:?}", v.declared);
        assert!(!rendered.contains("hunter2"), "{rendered}");
        assert!(v.outcomes.iter().any(|o| o.name == "DB_PASS" && o.secret));
    }

    #[test]
    fn credential_keys() {
        for key in [
            "POSTGRES_PASSWORD",
            "SECRET_KEY",
            "GITHUB_TOKEN",
            "api_key",
            "MYSQL_PWD",
            "REDIS_AUTH",
        ] {
            assert!(is_credential_key(key), "{key}");
        }
        for key in [
            "POSTGRES_USER",
            "KEYBOARD",
            "AUTHOR",
            "DATABASE_URL",
            "AUTH_TYPE",
        ] {
            assert!(!is_credential_key(key), "{key}");
        }
    }

    #[test]
    fn a_lone_secret_becomes_secret_and_a_hard_coded_one_stays_plain() {
        let vars = Vars::default();
        let services = [
            prepared(&[("POSTGRES_PASSWORD", "saleor"), ("SECRET_KEY", "changeme")]),
            prepared(&[("DATABASE_URL", "postgres://saleor:saleor@db/saleor")]),
        ];
        let mut v = Variables::new(&services, &vars, HashSet::new());
        let pw = v.lift(
            "db",
            "POSTGRES_PASSWORD",
            &services[0].env["POSTGRES_PASSWORD"],
            &vars,
        );
        assert_eq!(pw.as_deref(), Some("${POSTGRES_PASSWORD}"));
        assert!(!v.declared["POSTGRES_PASSWORD"].secret);
        assert_eq!(
            v.declared["POSTGRES_PASSWORD"].value.as_deref(),
            Some("saleor")
        );
        v.lift("api", "SECRET_KEY", &services[0].env["SECRET_KEY"], &vars);
        assert!(v.declared["SECRET_KEY"].secret);
        assert_eq!(v.declared["SECRET_KEY"].value, None);
        assert_eq!(
            v.lift("db", "POSTGRES_USER", &EnvValue::written("saleor"), &vars),
            None
        );
    }

    #[test]
    fn the_same_value_reuses_its_variable_and_taken_names_are_scoped() {
        let vars = Vars::default();
        let services = [prepared(&[
            ("MYSQL_ROOT_PASSWORD", "root"),
            ("MYSQL_PWD", "root"),
        ])];
        let mut v = Variables::new(&services, &vars, ["PASSWORD".to_string()].into());
        v.lift(
            "mysql",
            "MYSQL_ROOT_PASSWORD",
            &EnvValue::written("root"),
            &vars,
        );
        let linked = v.lift("temporal", "MYSQL_PWD", &EnvValue::written("root"), &vars);
        assert_eq!(linked.as_deref(), Some("${MYSQL_ROOT_PASSWORD}"));
        let scoped = v.lift("api", "PASSWORD", &EnvValue::written("other"), &vars);
        assert_eq!(scoped.as_deref(), Some("${API_PASSWORD}"));
    }

    #[test]
    fn urls_are_rewritten_for_the_host() {
        let vars = Vars::default();
        let services = [prepared(&[
            ("POSTGRES_PASSWORD", "saleor"),
            ("U", "postgres://saleor:saleor@db/saleor"),
        ])];
        let mut v = Variables::new(&services, &vars, HashSet::new());
        v.lift(
            "db",
            "POSTGRES_PASSWORD",
            &services[0].env["POSTGRES_PASSWORD"],
            &vars,
        );
        let mut ports = HostPorts::new();
        ports.insert(
            "db".into(),
            [(5432, HostPort::Variable("DB_PORT".into()))].into(),
        );
        ports.insert("cache".into(), [(6379, HostPort::Fixed(16379))].into());
        assert_eq!(
            v.rewrite_url("postgres://saleor:saleor@db/saleor", Some(&ports))
                .as_deref(),
            Some("postgres://saleor:${POSTGRES_PASSWORD}@127.0.0.1:${DB_PORT}/saleor")
        );
        assert_eq!(
            v.rewrite_url("redis://cache:6379/1", Some(&ports))
                .as_deref(),
            Some("redis://127.0.0.1:16379/1")
        );
        assert_eq!(v.rewrite_url("http://localhost:9000/", Some(&ports)), None);
        assert_eq!(
            v.rewrite_url("postgres://saleor:saleor@db/saleor", None)
                .as_deref(),
            Some("postgres://saleor:${POSTGRES_PASSWORD}@db/saleor")
        );
    }
}
