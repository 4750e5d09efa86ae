//! `devenv docs`: the onboarding guide (`docs/local-development.md`) rendered from the stack and
//! `templates/`, so it cannot drift from what `devenv up` does. Text inside
//! `<!-- devenv:custom NAME -->` ... `<!-- devenv:end -->` is the team's and survives regeneration.

use super::app_docs::{self, AppDoc};
use super::header::{self, HeaderState};
use crate::database::format::{self, Format};
use crate::diagnostic::Diagnostic;
use crate::endpoint::connection_url;
use crate::env::Values;
use crate::plan::{self, ContainerSpec};
use crate::stack::{HealthCheck, HostPort, Seed, Service, Stack, Volume, var_prefix};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the guide goes unless told otherwise.
pub const DEFAULT_OUTPUT: &str = "docs/local-development.md";
const CUSTOM_START: &str = "<!-- devenv:custom ";
const CUSTOM_END: &str = "<!-- devenv:end -->";

#[derive(Serialize)]
struct ServiceDoc {
    name: String,
    node: String,
    image: String,
    purpose: String,
    host_ports: String,
    container_ports: String,
    volumes: String,
    health: String,
    url: Option<String>,
}

#[derive(Serialize)]
struct VarDoc {
    name: String,
    description: String,
    default: String,
    secret: &'static str,
}

/// The guide's body (no header) for a stack, with default custom sections.
pub fn render(stack: &Stack) -> String {
    // Variables shown as `${NAME}` so no secret or local port lands in the docs.
    let placeholders = Values(
        stack
            .variables
            .keys()
            .map(|k| (k.clone(), format!("${{{k}}}")))
            .collect(),
    );
    let services: Vec<ServiceDoc> = stack
        .services
        .values()
        .map(|s| service_doc(stack, s, &placeholders))
        .collect();
    let memory_gb = (stack.services.len() as u64).div_ceil(2).max(2) * 2;
    let apps = app_docs::app_docs(stack, &placeholders);
    let (backend, frontend): (Vec<&AppDoc>, Vec<&AppDoc>) = apps
        .iter()
        .partition(|a| a.role() == app_docs::Role::Backend);
    crate::templates::render(
        "local-development.md.j2",
        minijinja::context! {
            project => stack.project.declared_name.clone(),
            description => stack.project.description.clone(),
            services => minijinja::Value::from(minijinja::value::Serde(&services)),
            apps => minijinja::Value::from(minijinja::value::Serde(&apps)),
            backend => minijinja::Value::from(minijinja::value::Serde(&backend)),
            frontend => minijinja::Value::from(minijinja::value::Serde(&frontend)),
            app_names => stack.apps.keys().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
            programs => app_docs::programs(stack),
            edges => minijinja::Value::from(minijinja::value::Serde(&dependency_edges(stack))),
            variables => minijinja::Value::from(minijinja::value::Serde(&variable_docs(stack))),
            database => minijinja::Value::from(minijinja::value::Serde(&database_doc(stack))),
            first_service => stack.services.keys().next().cloned().unwrap_or_else(|| "SERVICE".into()),
            memory_gb => memory_gb,
        },
    )
}

/// One row of the services table.
fn service_doc(stack: &Stack, service: &Service, placeholders: &Values) -> ServiceDoc {
    let spec = plan::container_spec(stack, service, placeholders, &Default::default());
    let host_ports = service
        .ports
        .iter()
        .map(|p| match &p.host {
            HostPort::Variable { name, default } => format!("{default} (`{name}`)"),
            HostPort::Fixed(port) => format!("{port} (fixed)"),
        })
        .collect::<Vec<_>>();
    ServiceDoc {
        name: service.name.clone(),
        node: var_prefix(&service.name).to_ascii_lowercase(),
        image: service.image.clone(),
        purpose: service.description.clone().unwrap_or_else(|| "-".into()),
        host_ports: or_dash(host_ports.join(", ")),
        container_ports: or_dash(
            service
                .ports
                .iter()
                .map(|p| format!("{}/{}", p.container, p.protocol))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        volumes: or_dash(volumes_cell(stack, service)),
        health: health_cell(service, placeholders),
        url: documented_url(service, &spec),
    }
}

/// The service's connection URL with its first host port shown as its variable.
fn documented_url(service: &Service, spec: &ContainerSpec) -> Option<String> {
    let url = connection_url(service, spec)?;
    let first_var = service.ports.first().and_then(|p| match &p.host {
        HostPort::Variable { name, default } => Some((name.clone(), *default)),
        HostPort::Fixed(_) => None,
    });
    Some(match first_var {
        Some((name, default)) => url.replace(&format!(":{default}"), &format!(":${{{name}}}")),
        None => url,
    })
}

/// The volumes of a service, one `source → target` per line.
fn volumes_cell(stack: &Stack, service: &Service) -> String {
    service
        .volumes
        .iter()
        .map(|v| match v {
            Volume::Named { name, target, .. } => format!(
                "`{}` → `{target}`",
                plan::volume_name(&stack.project.declared_name, name)
            ),
            Volume::Bind { source, target, .. } => format!("`{source}` → `{target}`"),
        })
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// The health check of a service as a table cell.
fn health_cell(service: &Service, placeholders: &Values) -> String {
    match service.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Command(cmd)) => {
            let shown: Vec<String> = cmd.iter().map(|c| placeholders.expand(c)).collect();
            format!("`{}`", shown.join(" ").replace('|', "\\|"))
        }
        Some(HealthCheck::Tcp(port)) => format!("TCP {port}"),
        Some(HealthCheck::Http { path, port }) => format!("HTTP GET {path} on {port}"),
        None => "-".into(),
    }
}

/// The dependency graph's edges (services' and apps'), between Mermaid node names.
fn dependency_edges(stack: &Stack) -> Vec<serde_json::Value> {
    let services = stack.services.values().map(|s| (&s.name, &s.depends_on));
    let apps = stack.apps.values().map(|a| (&a.name, &a.depends_on));
    services
        .chain(apps)
        .flat_map(|(name, depends_on)| {
            depends_on.iter().map(move |d| {
                serde_json::json!({ "from": var_prefix(name).to_ascii_lowercase(), "to": var_prefix(d).to_ascii_lowercase() })
            })
        })
        .collect()
}

/// The variables table: descriptions and defaults, never a secret's value.
fn variable_docs(stack: &Stack) -> Vec<VarDoc> {
    stack
        .variables
        .values()
        .map(|v| VarDoc {
            name: v.name.clone(),
            description: v.description.replace('|', "\\|").replace('\n', " "),
            default: if v.secret {
                "generated".into()
            } else {
                v.value
                    .as_ref()
                    .map_or_else(|| "-".into(), |d| format!("`{d}`"))
            },
            secret: if v.secret { "yes" } else { "no" },
        })
        .collect()
}

/// The database section: where it is, its migrations (format and table) and seeds.
fn database_doc(stack: &Stack) -> Option<serde_json::Value> {
    stack.database.as_ref().map(|d| {
        let dir = d.migrations.clone().unwrap_or_else(|| "migrations".into());
        // Detected as `migrate` detects it; unreadable or mixed files leave sqlx's wording.
        let format = format::read_dir(&stack.root, &dir)
            .and_then(|files| format::choose(&stack.root, &files, d.format))
            .map_or(Format::Sqlx, |c| c.format);
        let reader = match format {
            Format::Sqlx => "sqlx-cli",
            other => other.name(),
        };
        serde_json::json!({
            "format": (format != Format::Sqlx).then(|| format.name()),
            "table": format.table(),
            "table_reader": reader,
            "service": d.service.clone().unwrap_or_else(|| "SQLite".into()),
            "url": d.url.clone().unwrap_or_default(),
            "migrations": d.migrations.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "migrations".into()),
            "migrate_command": d.migrate_command.as_ref().map(|c| c.join(" ")),
            "seeds": d.seeds.iter().map(|s| match s {
                Seed::Path(p) => format!("`{}`", p.display()),
                Seed::Command(c) => format!("`{}`", c.join(" ")),
            }).collect::<Vec<_>>().join(", "),
        })
    })
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

/// Custom sections of a text: (name, content between the markers).
fn custom_sections(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(CUSTOM_START) {
        let after = &rest[start + CUSTOM_START.len()..];
        let Some(close) = after.find("-->") else {
            break;
        };
        let name = after[..close].trim().to_string();
        let content_start = after[close + 3..]
            .strip_prefix('\n')
            .map_or(close + 3, |_| close + 4);
        let body = &after[content_start..];
        let Some(end) = body.find(CUSTOM_END) else {
            break;
        };
        out.push((name, body[..end].to_string()));
        rest = &body[end + CUSTOM_END.len()..];
    }
    out
}

/// The text with every custom section emptied: what the hash covers.
fn without_custom(text: &str) -> String {
    let mut out = text.to_string();
    for (name, content) in custom_sections(text) {
        let marker = format!("{CUSTOM_START}{name} -->\n{content}{CUSTOM_END}");
        out = out.replacen(
            &marker,
            &format!("{CUSTOM_START}{name} -->\n{CUSTOM_END}"),
            1,
        );
    }
    out
}

/// The full file: fresh body with the existing file's custom sections put back.
pub fn content(stack: &Stack, existing: Option<&str>) -> String {
    let mut body = render(stack);
    if let Some(existing) = existing {
        let kept = custom_sections(existing);
        for (name, default) in custom_sections(&body.clone()) {
            if let Some((_, mine)) = kept.iter().find(|(n, _)| *n == name) {
                let from = format!("{CUSTOM_START}{name} -->\n{default}{CUSTOM_END}");
                let to = format!("{CUSTOM_START}{name} -->\n{mine}{CUSTOM_END}");
                body = body.replacen(&from, &to, 1);
            }
        }
    }
    header::with_markdown_header(&body, &without_custom)
}

/// Outcome of writing or checking the guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocsOutcome {
    /// Written (created or updated).
    Written(PathBuf),
    /// Already current.
    Unchanged(PathBuf),
}

/// Writes the guide, refusing to lose edits outside the custom sections unless `force`.
pub fn write(stack: &Stack, output: &Path, force: bool) -> Result<DocsOutcome, Diagnostic> {
    let path = stack.root.join(output);
    let existing = std::fs::read_to_string(&path).ok();
    let fresh = content(stack, existing.as_deref());
    if existing.as_deref() == Some(fresh.as_str()) {
        return Ok(DocsOutcome::Unchanged(output.to_path_buf()));
    }
    if let Some(existing) = &existing
        && !force
        && header::inspect_normalized(existing, &without_custom) != HeaderState::Intact
    {
        return Err(Diagnostic::new(format!("{} was edited outside its devenv:custom sections", output.display())).with_help(
            "move those edits into a `<!-- devenv:custom NAME -->` section (or the templates), then `devenv docs --force`",
        ));
    }
    crate::fsutil::write_atomic(&path, fresh.as_bytes(), None)
        .map_err(|e| Diagnostic::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(DocsOutcome::Written(output.to_path_buf()))
}

/// Lines of unchanged context around each change in `check`'s diff.
const DIFF_CONTEXT: usize = 3;
/// Diff lines `check` shows before summing up the rest.
const DIFF_MAX_LINES: usize = 40;

/// A unified diff from the file on disk to what would be generated (empty when equal), at
/// most `DIFF_MAX_LINES` lines and a note of how many more there are.
pub fn check(stack: &Stack, output: &Path) -> Vec<String> {
    let existing = std::fs::read_to_string(stack.root.join(output)).unwrap_or_default();
    let fresh = content(stack, Some(&existing));
    let shown = output.display().to_string();
    short_diff(
        &existing,
        &fresh,
        &shown,
        &format!("{shown} (generated)"),
        DIFF_MAX_LINES,
    )
}

/// A unified diff of two texts with a few lines of context, capped at `max_lines` lines.
fn short_diff(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    max_lines: usize,
) -> Vec<String> {
    if old == new {
        return Vec::new();
    }
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(DIFF_CONTEXT)
        .header(old_name, new_name)
        .to_string();
    let mut lines: Vec<String> = diff.lines().map(str::to_string).collect();
    if lines.len() > max_lines {
        let more = lines.len() - max_lines;
        lines.truncate(max_lines);
        lines.push(format!("... {more} more lines"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Stack {
        crate::stack::tests_support::shop_at(Path::new("."))
    }

    #[test]
    fn the_guide_covers_services_variables_and_troubleshooting() {
        let text = content(&shop(), None);
        for needle in [
            "| `db` | `postgres:16` |",
            "5432 (`DB_PORT`)",
            "| `DB_PASSWORD` |",
            "| `DATABASE_URL` |",
            "## 6. Running tests",
            "`devenv run -- CMD`",
            "## 8. Troubleshooting",
            "```mermaid",
            "postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop",
            "devenv migrate new",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in\n{text}");
        }
        assert_eq!(
            header::inspect_normalized(&text, &without_custom),
            HeaderState::Intact
        );
        for absent in ["Backend", "Frontend", "An app does not start", "app<br/>"] {
            assert!(!text.contains(absent), "`{absent}` without apps in\n{text}");
        }
    }

    #[test]
    fn the_apps_get_backend_frontend_and_test_sections() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        let stack = crate::stack::load(&root.join("devenv.toml")).unwrap();
        let text = render(&stack);
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(
            headings,
            [
                "## 1. Prerequisites",
                "## 2. Services",
                "## 3. Backend",
                "## 4. Frontend",
                "## 5. Environment variables",
                "## 6. First run",
                "## 7. Database",
                "## 8. Running tests",
                "## 9. Daily workflow",
                "## 10. Troubleshooting",
            ]
        );
        let section = |title: &str| {
            let start = text.find(title).unwrap();
            let end = text[start + 3..]
                .find("\n## ")
                .map_or(text.len(), |e| start + 3 + e);
            text[start..end].to_string()
        };
        let backend = section("## 3. Backend");
        assert!(backend.contains("### `api`"), "{backend}");
        assert!(!backend.contains("### `web`"), "{backend}");
        assert!(section("## 4. Frontend").contains("- Env file: `web/.env.local`"));
        for needle in [
            "- Command: `.venv/bin/python app.py`, run in `api/`",
            "- Address: `http://127.0.0.1:${API_PORT}`",
            "- Setup: `python3 -m venv .venv",
            "- Watched: `api/`",
            "  `API_URL=http://127.0.0.1:${API_PORT}`",
            "**What the apps run**, on your PATH: `python3` (api's setup), `node` (web).",
            "  api([\"api<br/>app\"])\n",
            "  web --> api\n",
            "Then open `http://127.0.0.1:${WEB_PORT}` (`web`).",
            "| `api` | `api/` | `http://127.0.0.1:${API_PORT}` | `cd api && devenv run -- <test command>` |",
            "| Output of app `web` | `tail -f .devenv/logs/web.log` |",
            "**An app does not start.**",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in\n{text}");
        }
    }

    #[test]
    fn custom_sections_survive_and_do_not_count_as_edits() {
        let first = content(&shop(), None);
        let mine = first.replace(
            "_Team-specific troubleshooting goes here; `devenv docs` keeps this section._",
            "Ask Ana about the VPN.",
        );
        assert_eq!(
            header::inspect_normalized(&mine, &without_custom),
            HeaderState::Intact
        );
        let again = content(&shop(), Some(&mine));
        assert!(again.contains("Ask Ana about the VPN."));
        assert_eq!(again, mine);
        let edited = mine.replace("## 7. Daily workflow", "## 7. Daily work");
        assert_eq!(
            header::inspect_normalized(&edited, &without_custom),
            HeaderState::Edited
        );
    }

    #[test]
    fn the_diff_is_unified_and_capped() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let one = old.replace("line 50\n", "line fifty\n");
        let diff = short_diff(&old, &one, "a.md", "a.md (generated)", 40);
        assert_eq!(
            diff,
            [
                "--- a.md",
                "+++ a.md (generated)",
                "@@ -48,7 +48,7 @@",
                " line 47",
                " line 48",
                " line 49",
                "-line 50",
                "+line fifty",
                " line 51",
                " line 52",
                " line 53",
            ]
        );
        let many: String = (0..100).map(|i| format!("new {i}\n")).collect();
        let diff = short_diff(&old, &many, "a.md", "a.md (generated)", 40);
        assert_eq!(diff.len(), 41);
        assert_eq!(diff[40], "... 163 more lines");
        assert!(short_diff(&old, &old, "a", "b", 40).is_empty());
    }
}
