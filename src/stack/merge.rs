//! Catalog merge: what a service's `use = "..."` entry fills in where the stack file is silent.
//! Values from the stack file keep their own spans; values from the catalog point at the
//! service table (and are marked, since a bad one is the catalog's fault, not the user's).

use super::interpolate;
use super::model::{HostPort, Probe, Service, Variable, VariableKind, var_prefix};
use super::raw::{RawCatalogEntry, RawHealth, RawService, Scalar};
use super::spans::Spans;
use crate::catalog::{Catalog, CatalogEntry};
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use indexmap::IndexMap;
use std::ops::Range;
use toml::Spanned;

/// A setting and where it was written.
pub(super) struct Written<T> {
    /// The value.
    pub value: T,
    /// Its span in the stack file; the service table's for a catalog value.
    pub span: Range<usize>,
    /// Whether it came from the catalog entry.
    pub from_catalog: bool,
}

impl<T> Written<T> {
    fn stack(value: T, span: Range<usize>) -> Self {
        Self {
            value,
            span,
            from_catalog: false,
        }
    }

    fn catalog(value: T, span: Range<usize>) -> Self {
        Self {
            value,
            span,
            from_catalog: true,
        }
    }
}

/// The catalog entry a service's `use` names, or an error suggesting the closest one.
pub(super) fn entry<'c>(
    src: &SourceFile,
    catalog: &'c Catalog,
    use_: Option<&Spanned<String>>,
) -> Result<Option<&'c CatalogEntry>, Diagnostic> {
    let Some(use_) = use_ else {
        return Ok(None);
    };
    catalog.service(use_.get_ref()).map(Some).ok_or_else(|| {
        let names = catalog.services.iter().map(|s| s.name.as_str());
        let help = match did_you_mean(use_.get_ref(), names) {
            Some(best) => {
                format!("did you mean `{best}`? (`devenv init --list` shows the catalog)")
            }
            None => "`devenv init --list` shows the catalog".to_string(),
        };
        src.diagnostic(
            use_.span(),
            format!("unknown catalog entry `{}`", use_.get_ref()),
        )
        .with_help(help)
    })
}

/// The image: the stack's (recorded for the reference check), else the catalog's default.
pub(super) fn image(
    raw: &RawService,
    entry: Option<&CatalogEntry>,
    spans: &mut Spans,
) -> Option<String> {
    match (&raw.image, entry) {
        (Some(image), _) => {
            spans.interpolated(image.get_ref(), image.span());
            Some(image.get_ref().clone())
        }
        (None, Some(entry)) => Some(entry.default_image()),
        (None, None) => None,
    }
}

/// The command: the stack's (each item recorded for the reference check), else the catalog's.
pub(super) fn command(
    raw: Option<Spanned<Vec<Spanned<String>>>>,
    cat: Option<&RawCatalogEntry>,
    spans: &mut Spans,
) -> Option<Vec<String>> {
    match raw {
        Some(command) => Some(
            command
                .into_inner()
                .into_iter()
                .map(|item| {
                    spans.interpolated(item.get_ref(), item.span());
                    item.into_inner()
                })
                .collect(),
        ),
        None => cat.and_then(|c| c.command.clone()),
    }
}

/// The ports as written: the stack's list replaces the catalog's.
pub(super) fn ports(
    raw: Option<Spanned<Vec<Spanned<Scalar>>>>,
    cat: Option<&RawCatalogEntry>,
    table_span: &Range<usize>,
) -> Vec<Written<String>> {
    list_or_catalog(
        raw,
        |port| port.0,
        cat.map(|c| c.ports.as_slice()),
        table_span,
    )
}

/// The volumes as written: the stack's list replaces the catalog's.
pub(super) fn volumes(
    raw: Option<Spanned<Vec<Spanned<String>>>>,
    cat: Option<&RawCatalogEntry>,
    table_span: &Range<usize>,
) -> Vec<Written<String>> {
    list_or_catalog(raw, |v| v, cat.map(|c| c.volumes.as_slice()), table_span)
}

/// The stack's list, each item where it was written, or else the catalog's, pointing at the
/// service table.
fn list_or_catalog<T>(
    raw: Option<Spanned<Vec<Spanned<T>>>>,
    text: impl Fn(T) -> String,
    catalog: Option<&[String]>,
    table_span: &Range<usize>,
) -> Vec<Written<String>> {
    match raw {
        Some(list) => list
            .into_inner()
            .into_iter()
            .map(|item| {
                let span = item.span();
                Written::stack(text(item.into_inner()), span)
            })
            .collect(),
        None => catalog
            .unwrap_or_default()
            .iter()
            .map(|text| Written::catalog(text.clone(), table_span.clone()))
            .collect(),
    }
}

/// The health table: the stack's replaces the catalog's.
pub(super) fn health(
    raw: Option<Spanned<RawHealth>>,
    cat: Option<&RawCatalogEntry>,
    table_span: &Range<usize>,
) -> Option<Written<RawHealth>> {
    match raw {
        Some(health) => {
            let span = health.span();
            Some(Written::stack(health.into_inner(), span))
        }
        None => cat
            .and_then(|c| c.health.clone())
            .map(|h| Written::catalog(h, table_span.clone())),
    }
}

/// The environment the catalog sets for `service`: its secrets as `${SERVICE_KEY}`
/// references, its other values escaped so they are taken literally.
pub(super) fn catalog_env(
    service: &str,
    cat: Option<&RawCatalogEntry>,
) -> IndexMap<String, String> {
    let mut env = IndexMap::new();
    for (key, conv) in cat.map(|c| &c.env).into_iter().flatten() {
        if conv.secret {
            env.insert(key.clone(), format!("${{{}_{key}}}", var_prefix(service)));
        } else if let Some(value) = &conv.value {
            env.insert(key.clone(), interpolate::escape(value));
        }
    }
    env
}

/// The protocol-level probe a catalog entry names.
pub(super) fn probe(cat: Option<&RawCatalogEntry>) -> Option<Probe> {
    cat.and_then(|c| c.probe.as_deref()).map(|p| match p {
        "postgres" => Probe::Postgres,
        "mysql" => Probe::Mysql,
        "amqp" => Probe::Amqp,
        _ => Probe::Redis,
    })
}

/// The variables a service contributes: its host ports and the catalog secrets it did not set.
pub(super) fn service_variables(service: &Service, catalog: &Catalog) -> Vec<Variable> {
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
