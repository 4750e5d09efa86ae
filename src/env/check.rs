//! `devenv env check`: how `.env` differs from what the stack needs, each finding with its fix.

use super::Values;
use super::dotenv::EnvFile;
use crate::generate::PLACEHOLDER;
use crate::stack::{Stack, VariableKind, interpolate};
use serde::Serialize;

/// One difference between `.env` and the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The key (or `.env` for the whole file).
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// Compares `.env` (or its absence) with the stack.
pub fn check(stack: &Stack, file: Option<&EnvFile>) -> Vec<Finding> {
    let Some(file) = file else {
        return vec![Finding {
            key: ".env".into(),
            problem: "there is no .env".into(),
            fix: "run `devenv env init` (or `devenv up`) to create it with generated secrets"
                .into(),
        }];
    };
    let mut findings = Vec::new();
    for var in stack.variables.values() {
        match file.values.get(&var.name) {
            None => findings.push(Finding {
                key: var.name.clone(),
                problem: "missing".into(),
                fix: "run `devenv env init` to add it (it appends missing keys and changes nothing else)".into(),
            }),
            Some(value) if value == PLACEHOLDER => findings.push(Finding {
                key: var.name.clone(),
                problem: format!("still set to {PLACEHOLDER}"),
                fix: format!("put the real value in .env, or delete the {} line and run `devenv env init` to generate one", var.name),
            }),
            Some(value) if var.secret && value.trim().is_empty() => findings.push(Finding {
                key: var.name.clone(),
                problem: "empty secret".into(),
                fix: format!("set {} in .env, or delete its line and run `devenv env init` to generate one", var.name),
            }),
            Some(value) if matches!(var.kind, VariableKind::HostPort { .. }) && value.trim().parse::<u16>().is_err() => {
                findings.push(Finding {
                    key: var.name.clone(),
                    problem: format!("`{value}` is not a port number"),
                    fix: format!("set {} to a free port (1-65535) in .env", var.name),
                })
            }
            Some(_) => {}
        }
    }
    let resolved = Values::resolve_file_only(stack, &file.values);
    for var in stack
        .variables
        .values()
        .filter(|v| matches!(v.kind, VariableKind::Declared))
    {
        let (Some(template), Some(current)) = (&var.value, file.values.get(&var.name)) else {
            continue;
        };
        if interpolate::references(template).map_or(true, |r| r.is_empty()) {
            continue;
        }
        let expected = resolved.expand(template);
        if *current != expected {
            findings.push(Finding {
                key: var.name.clone(),
                problem: "out of date: it no longer matches the values it is derived from".into(),
                fix: format!("set {}={} in .env (what devenv.toml derives), or change [env.{}] in devenv.toml", var.name, super::dotenv::quote(&expected), var.name),
            });
        }
    }
    for key in file
        .values
        .keys()
        .filter(|k| !stack.variables.contains_key(*k))
    {
        findings.push(Finding {
            key: key.clone(),
            problem: "not used by devenv.toml".into(),
            fix: format!("remove it from .env, or declare it in devenv.toml as [env.{key}] so every developer gets it"),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shop() -> Stack {
        crate::stack::tests_support::shop_at(Path::new("."))
    }

    fn file(text: &str) -> EnvFile {
        crate::env::dotenv::parse(Path::new(".env"), text.to_string()).unwrap()
    }

    #[test]
    fn a_complete_env_has_no_findings() {
        let env = file(
            "DB_PORT=5432\nCACHE_PORT=6379\nDB_PASSWORD=pw\nDATABASE_URL=postgres://shop:pw@127.0.0.1:5432/shop\n",
        );
        assert_eq!(check(&shop(), Some(&env)), []);
    }

    #[test]
    fn each_kind_of_problem_is_found() {
        let env = file(
            "DB_PORT=abc\nDB_PASSWORD=<REPLACE_ME>\nDATABASE_URL=postgres://shop:old@127.0.0.1:5432/shop\nSTRAY=1\n",
        );
        let found: Vec<(String, String)> = check(&shop(), Some(&env))
            .into_iter()
            .map(|f| (f.key, f.problem))
            .collect();
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "DB_PORT",
                "CACHE_PORT",
                "DB_PASSWORD",
                "DATABASE_URL",
                "STRAY"
            ],
            "{found:?}"
        );
        assert!(found[3].1.starts_with("out of date"));
        assert_eq!(check(&shop(), None)[0].key, ".env");
    }
}
