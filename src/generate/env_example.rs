//! `.env.example`: every variable the stack uses, grouped by service, described, with secrets
//! as `<REPLACE_ME>`. Values come from devenv.toml only, never from a real `.env`.

use crate::env::dotenv;
use crate::stack::{Stack, VariableKind};
use crate::templates;
use serde::Serialize;

/// The placeholder written for every secret.
pub const PLACEHOLDER: &str = "<REPLACE_ME>";

#[derive(Serialize)]
struct Group {
    title: String,
    vars: Vec<Var>,
}

#[derive(Serialize)]
struct Var {
    name: String,
    value: String,
    description_lines: Vec<String>,
}

/// Renders the body of `.env.example` (without the generated-file header).
pub fn render(stack: &Stack) -> String {
    let mut groups: Vec<Group> = Vec::new();
    let titles = stack
        .services
        .keys()
        .map(|s| (Some(s.as_str()), format!("service `{s}`")))
        .chain(std::iter::once((
            None,
            format!("project `{}`", stack.project.declared_name),
        )));
    for (service, title) in titles {
        let vars: Vec<Var> = stack
            .variables
            .values()
            .filter(|v| v.service() == service)
            .map(|v| {
                let value = if v.secret {
                    PLACEHOLDER.to_string()
                } else {
                    v.value
                        .as_deref()
                        .map(dotenv::render_template)
                        .unwrap_or_default()
                };
                let mut description_lines: Vec<String> =
                    v.description.lines().map(str::to_string).collect();
                if v.secret {
                    description_lines.push("Secret: `devenv env init` generates one.".into());
                } else if matches!(v.kind, VariableKind::HostPort { .. }) {
                    description_lines
                        .push("devenv picks another free port here when this one is taken.".into());
                }
                Var {
                    name: v.name.clone(),
                    value,
                    description_lines,
                }
            })
            .collect();
        if !vars.is_empty() {
            groups.push(Group { title, vars });
        }
    }
    templates::render(
        "env.example.j2",
        minijinja::context! { groups => minijinja::Value::from(minijinja::value::Serde(&groups)) },
    )
}
