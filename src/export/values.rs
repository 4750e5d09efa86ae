//! The stack's `${VAR}` values as a CI job or a cluster sees them: no `.env`, each
//! variable at its default, every secret written as a reference to the target's own secret
//! store (`${{ secrets.NAME }}`, `$NAME`, `$(NAME)`), never as a value.

use crate::stack::interpolate::{self, Segment};
use crate::stack::{Stack, VariableKind};

/// Where the stack's services are reached from the exported job or pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// On 127.0.0.1 at their default host ports (GitHub Actions publishes service ports on
    /// the runner).
    Loopback,
    /// At the service's name on its container port (GitLab CI's service aliases, a
    /// Kubernetes Service): `127.0.0.1:${DB_PORT}` becomes `db:5432`.
    ServiceName,
}

/// How one target writes the stack's values.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The stack.
    pub stack: &'a Stack,
    /// How a secret variable is referred to (`DB_PASSWORD` → `${{ secrets.DB_PASSWORD }}`).
    pub secret: fn(&str) -> String,
    /// How literal text is escaped for the target (GitLab expands `$`, Kubernetes `$(`).
    pub literal: fn(&str) -> String,
    /// Where services are reached.
    pub network: Network,
    /// The name a service is reached at under `Network::ServiceName`.
    pub host: fn(&str) -> String,
}

/// A value expanded for a target, with the secrets it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The text.
    pub text: String,
    /// Secret variables referred to, in order of appearance.
    pub secrets: Vec<String>,
}

impl Expanded {
    /// The secret this value is, when it is exactly one secret reference.
    pub fn whole_secret(&self, ctx: &Context) -> Option<&str> {
        match self.secrets.as_slice() {
            [one] if self.text == (ctx.secret)(one) => Some(one),
            _ => None,
        }
    }
}

impl Context<'_> {
    /// Expands `template` (a stack value) for the target.
    pub fn expand(&self, template: &str) -> Expanded {
        let mut out = Expanded {
            text: String::new(),
            secrets: Vec::new(),
        };
        self.expand_into(template, &mut out, 0);
        out
    }

    fn expand_into(&self, template: &str, out: &mut Expanded, depth: usize) {
        // The loader refuses malformed values and variable loops; the guard is for safety.
        let Ok(segments) = interpolate::parse(template) else {
            out.text.push_str(&(self.literal)(template));
            return;
        };
        for segment in segments {
            match segment {
                Segment::Literal(text) => out.text.push_str(&(self.literal)(&text)),
                Segment::Var(var) => match self.stack.variables.get(&var.name) {
                    Some(variable) if variable.secret => {
                        out.text.push_str(&(self.secret)(&variable.name));
                        if !out.secrets.contains(&variable.name) {
                            out.secrets.push(variable.name.clone());
                        }
                    }
                    Some(variable) => match (&variable.kind, self.network) {
                        (
                            VariableKind::HostPort {
                                service,
                                container_port,
                            },
                            Network::ServiceName,
                        ) => {
                            for loopback in ["127.0.0.1:", "localhost:"] {
                                if out.text.ends_with(loopback) {
                                    let keep = out.text.len() - loopback.len();
                                    out.text.truncate(keep);
                                    out.text.push_str(&(self.host)(service));
                                    out.text.push(':');
                                }
                            }
                            out.text.push_str(&container_port.to_string());
                        }
                        _ => match &variable.value {
                            Some(value) if depth < 16 => self.expand_into(value, out, depth + 1),
                            _ => self.fallback(&var.default, out, depth),
                        },
                    },
                    None => self.fallback(&var.default, out, depth),
                },
            }
        }
    }

    /// A variable the stack does not define: its `:-` default, else nothing (no `.env` in CI).
    fn fallback(&self, default: &Option<String>, out: &mut Expanded, depth: usize) {
        if let Some(default) = default
            && depth < 16
        {
            self.expand_into(default, out, depth + 1);
        }
    }

    /// Every variable of the stack that has a value here, in `.env` order: the environment a
    /// job or pod gives devenv and the project's programs.
    pub fn variables(&self) -> Vec<(String, Expanded)> {
        self.stack
            .variables
            .values()
            .filter(|v| v.secret || v.value.is_some())
            .map(|v| (v.name.clone(), self.expand(&format!("${{{}}}", v.name))))
            .collect()
    }

    /// The names of the stack's secret variables.
    pub fn secret_names(&self) -> Vec<String> {
        self.stack
            .variables
            .values()
            .filter(|v| v.secret)
            .map(|v| v.name.clone())
            .collect()
    }
}

/// Literal text taken as it is.
pub fn verbatim(text: &str) -> String {
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::example as shop;

    fn ctx(stack: &Stack, network: Network) -> Context<'_> {
        Context {
            stack,
            secret: |name| format!("<{name}>"),
            literal: |text| text.replace('$', "$$"),
            network,
            host: |service| format!("{service}.svc"),
        }
    }

    #[test]
    fn secrets_are_references_and_ports_their_defaults() {
        let stack = shop();
        let loopback = ctx(&stack, Network::Loopback);
        let url = loopback.expand("${DATABASE_URL}");
        assert_eq!(
            url.text,
            "postgres://shop:<DB_PASSWORD>@127.0.0.1:5432/shop"
        );
        assert_eq!(url.secrets, ["DB_PASSWORD"]);
        assert_eq!(url.whole_secret(&loopback), None);
        let password = loopback.expand("${DB_PASSWORD}");
        assert_eq!(password.whole_secret(&loopback), Some("DB_PASSWORD"));
        assert_eq!(loopback.expand("a$$b ${NOPE:-x}").text, "a$$b x");
    }

    #[test]
    fn in_a_cluster_services_are_reached_by_name_on_their_container_port() {
        let stack = shop();
        let cluster = ctx(&stack, Network::ServiceName);
        assert_eq!(
            cluster.expand("${DATABASE_URL}").text,
            "postgres://shop:<DB_PASSWORD>@db.svc:5432/shop"
        );
        assert_eq!(cluster.expand("port ${DB_PORT}").text, "port 5432");
        let names: Vec<String> = cluster.variables().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"DB_PASSWORD".to_string()), "{names:?}");
        assert_eq!(cluster.secret_names(), ["DB_PASSWORD"]);
    }
}
