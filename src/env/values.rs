//! The value of every stack variable for this run: the process environment, then `.env`, then
//! the stack's defaults (Compose's order), with `${...}` references expanded.

use crate::stack::{Stack, VariableKind, interpolate};
use indexmap::IndexMap;

/// Resolved variable values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(pub IndexMap<String, String>);

impl Values {
    /// Resolves every variable of `stack` given the `.env` values; the process environment
    /// wins over `.env`, as in Compose.
    pub fn resolve(stack: &Stack, dotenv: &IndexMap<String, String>) -> Self {
        Self::resolve_with(stack, &|name| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        })
    }

    /// Resolves from `.env` values and stack defaults only (what `.env` itself should say).
    pub fn resolve_file_only(stack: &Stack, dotenv: &IndexMap<String, String>) -> Self {
        Self::resolve_with(stack, &|name| dotenv.get(name).cloned())
    }

    /// Resolves with `given` answering first for each variable (`None`: the stack's default).
    pub fn resolve_with(stack: &Stack, given: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut values = IndexMap::new();
        for var in stack.variables.values() {
            if let Some(value) = given(&var.name) {
                values.insert(var.name.clone(), value);
            } else if let VariableKind::HostPort { .. } = var.kind {
                values.insert(var.name.clone(), var.value.clone().unwrap_or_default());
            }
        }
        // Defaults that reference other variables, in dependency order (the stack has no loops).
        loop {
            let mut progressed = false;
            for var in stack.variables.values() {
                if values.contains_key(&var.name) {
                    continue;
                }
                let Some(template) = &var.value else { continue };
                let refs = interpolate::references(template).unwrap_or_default();
                let ready = refs.iter().all(|r| {
                    values.contains_key(&r.name)
                        || !stack.variables.contains_key(&r.name)
                        || stack.variables[&r.name].value.is_none()
                });
                if ready {
                    let expanded = interpolate::expand(template, &|n| values.get(n).cloned())
                        .unwrap_or_default();
                    values.insert(var.name.clone(), expanded);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        crate::redact::register_stack(stack, &values);
        Self(values)
    }

    /// Expands a stack value template.
    pub fn expand(&self, template: &str) -> String {
        interpolate::expand(template, &|name| self.0.get(name).cloned())
            .unwrap_or_else(|_| template.to_string())
    }

    /// A value by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The host port a service's port is published on.
    pub fn host_port(&self, port: &crate::stack::Port) -> u16 {
        match &port.host {
            crate::stack::HostPort::Fixed(fixed) => *fixed,
            crate::stack::HostPort::Variable { name, default } => self
                .get(name)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(*default),
        }
    }

    /// Secret variables that have no value yet (must be generated or filled in).
    pub fn missing_secrets<'a>(&self, stack: &'a Stack) -> Vec<&'a str> {
        stack
            .variables
            .values()
            .filter(|v| v.secret && self.get(&v.name).is_none_or(str::is_empty))
            .map(|v| v.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shop() -> Stack {
        crate::stack::tests_support::shop_at(Path::new("."))
    }

    #[test]
    fn dotenv_values_override_defaults_and_feed_derived_values() {
        let stack = shop();
        let dotenv: IndexMap<String, String> = [
            ("DB_PASSWORD".to_string(), "pw".to_string()),
            ("DB_PORT".to_string(), "6000".to_string()),
        ]
        .into_iter()
        .collect();
        let values = Values::resolve(&stack, &dotenv);
        assert_eq!(values.get("CACHE_PORT"), Some("6379"));
        assert_eq!(
            values.get("DATABASE_URL"),
            Some("postgres://shop:pw@127.0.0.1:6000/shop")
        );
        assert_eq!(values.expand("${DB_PASSWORD}!"), "pw!");
        assert!(values.missing_secrets(&stack).is_empty());
    }

    #[test]
    fn missing_secrets_are_listed() {
        let values = Values::resolve(&shop(), &IndexMap::new());
        assert_eq!(values.missing_secrets(&shop()), ["DB_PASSWORD"]);
    }
}
