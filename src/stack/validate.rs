//! Cross-checks on the converted stack: variable references, dependency and variable cycles,
//! and host ports published twice. Each error points at the place recorded in [`Spans`].

use super::interpolate;
use super::model::{App, Service, Variable};
use super::spans::{Interpolated, Spans};
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Runs every cross-check, in the order their errors take precedence.
pub(super) fn check_all(
    src: &SourceFile,
    services: &IndexMap<String, Service>,
    apps: &IndexMap<String, App>,
    variables: &IndexMap<String, Variable>,
    spans: &Spans,
) -> Result<(), Diagnostic> {
    check_references(src, &spans.interpolated, variables)?;
    check_variable_cycles(src, variables, &spans.interpolated)?;
    check_dependencies(src, services, apps, spans)?;
    check_duplicate_ports(src, services, apps, spans)
}

/// `no service named ...` at `span`, suggesting the closest of `known`.
pub(super) fn unknown_service<'k>(
    src: &SourceFile,
    name: &str,
    span: Range<usize>,
    known: impl Iterator<Item = &'k String>,
) -> Diagnostic {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let help = match did_you_mean(name, known.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("services in this stack: {}", known.join(", ")),
    };
    src.diagnostic(span, format!("no service named `{name}`"))
        .with_help(help)
}

fn check_references(
    src: &SourceFile,
    checks: &[Interpolated],
    variables: &IndexMap<String, Variable>,
) -> Result<(), Diagnostic> {
    for item in checks {
        let refs = interpolate::references(&item.text).map_err(|e| {
            src.diagnostic(
                inner_span(src, item, e.offset..e.offset + 1),
                format!("invalid interpolation: {}", e.message),
            )
        })?;
        for var in refs {
            if var.default.is_some() || variables.contains_key(&var.name) {
                continue;
            }
            let help = match did_you_mean(&var.name, variables.keys().map(String::as_str)) {
                _ if var.name == "PORT" => "an app gets `PORT` when it runs: write `$$PORT` for its shell to expand it, or use the app's `${<APP>_PORT}`".to_string(),
                Some(best) => format!("did you mean `{best}`?"),
                None => format!(
                    "declare it with `[env.{0}]` (a `value`, or `secret = true`), or give a default: `${{{0}:-value}}`",
                    var.name
                ),
            };
            return Err(src
                .diagnostic(
                    inner_span(src, item, var.range.clone()),
                    format!("undefined variable `{}`", var.name),
                )
                .with_help(help));
        }
    }
    Ok(())
}

/// Maps a range inside a string value to the source when the value was written plainly.
fn inner_span(src: &SourceFile, item: &Interpolated, inner: Range<usize>) -> Range<usize> {
    let written = src.slice(item.span.clone());
    if written.len() >= 2 && written[1..written.len() - 1] == item.text {
        item.span.start + 1 + inner.start..item.span.start + 1 + inner.end
    } else {
        item.span.clone()
    }
}

fn check_variable_cycles(
    src: &SourceFile,
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
    let Some(cycle) = find_cycle(variables.keys().cloned(), edges) else {
        return Ok(());
    };
    let first = &cycle[0];
    let span = checks
        .iter()
        .find(|c| variables.get(first).and_then(|v| v.value.as_ref()) == Some(&c.text))
        .map(|c| c.span.clone())
        .unwrap_or(0..0);
    Err(src
        .diagnostic(
            span,
            format!(
                "variables reference each other in a loop: {}",
                cycle.join(" → ")
            ),
        )
        .with_help("break the loop: one of them needs a value that does not reference the others"))
}

fn check_dependencies(
    src: &SourceFile,
    services: &IndexMap<String, Service>,
    apps: &IndexMap<String, App>,
    spans: &Spans,
) -> Result<(), Diagnostic> {
    for service in services.values() {
        for dep in &service.depends_on {
            if apps.contains_key(dep) {
                return Err(src
                    .diagnostic(
                        spans.depends_on(&service.name, dep),
                        format!("service `{}` cannot depend on app `{dep}`", service.name),
                    )
                    .with_help("containers start before apps: remove this entry (an app may depend on a service, not the reverse)"));
            }
            if !services.contains_key(dep) {
                let span = spans.depends_on(&service.name, dep);
                return Err(unknown_service(src, dep, span, services.keys()));
            }
        }
    }
    for app in apps.values() {
        for dep in &app.depends_on {
            if !services.contains_key(dep) && !apps.contains_key(dep) {
                let known: Vec<&str> = services
                    .keys()
                    .chain(apps.keys())
                    .map(String::as_str)
                    .collect();
                let help = match did_you_mean(dep, known.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("services and apps in this stack: {}", known.join(", ")),
                };
                return Err(src
                    .diagnostic(
                        spans.depends_on(&app.name, dep),
                        format!("no service or app named `{dep}`"),
                    )
                    .with_help(help));
            }
        }
    }
    let edges = |name: &str| match (services.get(name), apps.get(name)) {
        (Some(service), _) => service.depends_on.clone(),
        (None, Some(app)) => app.depends_on.clone(),
        (None, None) => Vec::new(),
    };
    let Some(cycle) = find_cycle(services.keys().chain(apps.keys()).cloned(), edges) else {
        return Ok(());
    };
    let what = if cycle.iter().any(|n| apps.contains_key(n)) {
        "apps"
    } else {
        "services"
    };
    Err(src
        .diagnostic(
            spans.depends_on(&cycle[0], &cycle[1]),
            format!(
                "{what} depend on each other in a loop: {}",
                cycle.join(" → ")
            ),
        )
        .with_help(format!(
            "remove one `depends_on` entry so that the {what} can start in order"
        )))
}

fn check_duplicate_ports(
    src: &SourceFile,
    services: &IndexMap<String, Service>,
    apps: &IndexMap<String, App>,
    spans: &Spans,
) -> Result<(), Diagnostic> {
    let mut seen: HashMap<(u16, String), &str> = HashMap::new();
    for service in services.values() {
        for (index, port) in service.ports.iter().enumerate() {
            let key = (port.default_host_port(), port.protocol.clone());
            if let Some(other) = seen.insert(key.clone(), &service.name) {
                return Err(src
                    .diagnostic(
                        spans.port(&service.name, index),
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
    for app in apps.values() {
        let Some(port) = &app.port else { continue };
        if let Some(other) = seen.insert((port.default, "tcp".to_string()), &app.name) {
            return Err(src
                .diagnostic(
                    spans.port(&app.name, 0),
                    format!(
                        "port {} is used by both `{other}` and app `{}`",
                        port.default, app.name
                    ),
                )
                .with_help(format!(
                    "give app `{}` another port, e.g. `port = {}`",
                    app.name,
                    port.default.saturating_add(1)
                )));
        }
    }
    Ok(())
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
