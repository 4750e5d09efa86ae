//! Reading Compose files: YAML 1.2 (serde_norway), the override file Compose merges by
//! itself, several `--from` files merged in order, the `.env` beside the first file and the
//! process environment for interpolation (Compose's rules: the environment wins over `.env`).

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::stack::interpolate;
use indexmap::IndexMap;
use serde_norway::{Mapping, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The default file names that make Compose merge an override file beside them.
const OVERRIDES: [(&str, &str); 4] = [
    ("compose.yaml", "compose.override.yaml"),
    ("compose.yml", "compose.override.yml"),
    ("docker-compose.yml", "docker-compose.override.yml"),
    ("docker-compose.yaml", "docker-compose.override.yaml"),
];

/// One or more Compose files merged, with what interpolation reads.
#[derive(Debug)]
pub struct Compose {
    /// The files read, in merge order (an override found beside the first one included).
    pub files: Vec<PathBuf>,
    /// The directory relative paths in the files resolve from (the first file's).
    pub dir: PathBuf,
    /// Top-level `name`, else `COMPOSE_PROJECT_NAME` from the environment or `.env`.
    pub name: Option<String>,
    /// `services`, each still a YAML mapping (strings not yet interpolated).
    pub services: IndexMap<String, Mapping>,
    /// Top-level `volumes`.
    pub volumes: Mapping,
    /// Top-level `networks`.
    pub networks: Mapping,
    /// Other top-level keys (`version`, `secrets`, `configs`, `x-*`...), by name.
    pub other_keys: Vec<String>,
    /// Interpolation.
    pub vars: Vars,
    /// Whether the `.env` beside the first file was read.
    pub dotenv_read: bool,
}

/// Interpolation values: the process environment, then `.env`; unset names are remembered.
#[derive(Debug, Default)]
pub struct Vars {
    /// Values from `.env`.
    pub dotenv: IndexMap<String, String>,
    /// Values from the process environment (captured at start, so tests can set them).
    pub process: IndexMap<String, String>,
    /// Variables referenced with no default and no value (Compose warns and uses "").
    pub unset: RefCell<BTreeSet<String>>,
}

impl Vars {
    /// The value of `name`, environment first.
    pub fn get(&self, name: &str) -> Option<String> {
        self.process
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .cloned()
    }

    /// Whether `name` has a value from the environment or `.env`.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `text` interpolated as Compose would (`${A:-d}`, `${A-d}`, `$A`, `$$`).
    pub fn resolve(&self, text: &str) -> Result<String, interpolate::SyntaxError> {
        for var in interpolate::references(text)? {
            if var.default.is_none() && !self.is_set(&var.name) {
                self.unset.borrow_mut().insert(var.name);
            }
        }
        interpolate::expand(text, &|name| self.get(name))
    }
}

/// Reads `files` (the first one's override too when it has a default name and `files` is a
/// single file), merged in order.
pub fn read(files: &[PathBuf], process: IndexMap<String, String>) -> Result<Compose, Diagnostic> {
    let first = files
        .first()
        .ok_or_else(|| Diagnostic::new("`--from` needs a Compose file"))?;
    let dir = first
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let mut paths = files.to_vec();
    if files.len() == 1
        && let Some(over) = override_of(first)
    {
        paths.push(over);
    }
    let mut merged = Mapping::new();
    for path in &paths {
        let doc = read_yaml(path)?;
        merge_top(&mut merged, doc);
    }
    let dotenv_path = dir.join(".env");
    let dotenv = read_dotenv(&dotenv_path)?;
    let vars = Vars {
        dotenv: dotenv.clone().unwrap_or_default(),
        process,
        unset: RefCell::default(),
    };
    let name = merged
        .get("name")
        .and_then(super::fields::scalar)
        .or_else(|| vars.get("COMPOSE_PROJECT_NAME"));
    let section = |key: &str| {
        merged
            .get(key)
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default()
    };
    let services = section("services")
        .into_iter()
        .filter_map(|(k, v)| Some((super::fields::scalar(&k)?, v.as_mapping()?.clone())))
        .collect();
    let other_keys = merged
        .keys()
        .filter_map(super::fields::scalar)
        .filter(|k| !matches!(k.as_str(), "services" | "volumes" | "networks" | "name"))
        .collect();
    Ok(Compose {
        files: paths,
        dir,
        name,
        services,
        volumes: section("volumes"),
        networks: section("networks"),
        other_keys,
        vars,
        dotenv_read: dotenv.is_some(),
    })
}

/// The override file Compose merges beside `file`, when it exists.
fn override_of(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?.to_str()?;
    let (_, over) = OVERRIDES.iter().find(|(base, _)| *base == name)?;
    let path = file.with_file_name(over);
    path.is_file().then_some(path)
}

/// One YAML document as a mapping; a syntax error points at its file, line and column.
fn read_yaml(path: &Path) -> Result<Mapping, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(format!("cannot read {}: {e}", path.display()))
            .with_help("pass the path of a Compose file: `devenv init --from docker-compose.yml`")
    })?;
    let value: Value = serde_norway::from_str(&text).map_err(|e| {
        let source = SourceFile::new(path, text.as_str());
        let message = format!("{} is not valid YAML: {e}", path.display());
        let diagnostic = match e.location() {
            Some(at) => source.diagnostic(at.index()..at.index() + 1, message),
            None => Diagnostic::new(message),
        };
        diagnostic.with_help("fix the YAML (`docker compose config` shows the same error)")
    })?;
    match value {
        Value::Mapping(map) => Ok(map),
        Value::Null => Ok(Mapping::new()),
        _ => Err(Diagnostic::new(format!(
            "{} is not a Compose file: its top level is not a mapping",
            path.display()
        ))
        .with_help("a Compose file starts with `services:`")),
    }
}

/// `.env` read with Compose's rules (a value may hold unquoted spaces, which dotenvy refuses),
/// without touching the process environment.
fn read_dotenv(path: &Path) -> Result<Option<IndexMap<String, String>>, Diagnostic> {
    if !path.is_file() {
        return Ok(None);
    }
    read_env_file(path).map(Some)
}

/// An env file (`.env`, an `env_file`) as ordered pairs, read as Compose reads it:
/// `KEY=value` per line, `export ` allowed, `#` comments, quotes optional (an unquoted value
/// may hold spaces; ` #` starts a comment after it).
pub fn read_env_file(path: &Path) -> Result<IndexMap<String, String>, Diagnostic> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())))?;
    let mut values = IndexMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            let source = SourceFile::new(path, text.as_str());
            let offset = text.lines().take(index).map(|l| l.len() + 1).sum::<usize>();
            return Err(source
                .diagnostic(
                    offset..offset + 1,
                    format!("{} cannot be read as an env file", path.display()),
                )
                .with_help("write one `KEY=value` per line"));
        };
        values.insert(key.trim().to_string(), env_value(value.trim()));
    }
    Ok(values)
}

/// A value after `=`: quotes removed (`\n` kept as written in single quotes), or an inline
/// ` #` comment cut.
fn env_value(value: &str) -> String {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            let inner = &value[1..value.len() - 1];
            return if quote == '"' {
                inner.replace("\\n", "\n").replace("\\\"", "\"")
            } else {
                inner.to_string()
            };
        }
    }
    match value.find(" #") {
        Some(at) => value[..at].trim_end().to_string(),
        None => value.to_string(),
    }
}

/// Merges one file into what was read before, as Compose does: services key by key,
/// other top-level sections entry by entry.
fn merge_top(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        let name = super::fields::scalar(&key).unwrap_or_default();
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(existing)), Value::Mapping(incoming)) if name == "services" => {
                for (service, spec) in incoming {
                    match (existing.get_mut(&service), spec) {
                        (Some(Value::Mapping(a)), Value::Mapping(b)) => merge_service(a, b),
                        (_, spec) => {
                            existing.insert(service, spec);
                        }
                    }
                }
            }
            (Some(Value::Mapping(existing)), Value::Mapping(incoming)) => {
                for (k, v) in incoming {
                    existing.insert(k, v);
                }
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// One service merged over another: lists that Compose appends are appended, `environment`,
/// `labels` and `depends_on` merged by key, everything else replaced.
pub fn merge_service(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        let name = super::fields::scalar(&key).unwrap_or_default();
        let merged = match (base.get(&key), value) {
            (Some(old), new) if matches!(name.as_str(), "environment" | "labels") => {
                Value::Mapping(merge_maps(as_env_map(old), as_env_map(&new)))
            }
            (Some(old), new) if name == "depends_on" => {
                Value::Mapping(merge_maps(as_dep_map(old), as_dep_map(&new)))
            }
            (Some(Value::Sequence(old)), Value::Sequence(new))
                if matches!(
                    name.as_str(),
                    "ports" | "expose" | "volumes" | "env_file" | "dns"
                ) =>
            {
                let mut all = old.clone();
                all.extend(new.into_iter().filter(|v| !old.contains(v)));
                Value::Sequence(all)
            }
            (Some(Value::Mapping(old)), Value::Mapping(new)) if name != "command" => {
                Value::Mapping(merge_maps(old.clone(), new))
            }
            (_, new) => new,
        };
        base.insert(key, merged);
    }
}

fn merge_maps(mut base: Mapping, over: Mapping) -> Mapping {
    for (k, v) in over {
        base.insert(k, v);
    }
    base
}

fn as_env_map(value: &Value) -> Mapping {
    super::fields::environment(value)
        .into_iter()
        .map(|(k, v)| (Value::String(k), v.map_or(Value::Null, Value::String)))
        .collect()
}

fn as_dep_map(value: &Value) -> Mapping {
    match value {
        Value::Mapping(map) => map.clone(),
        other => super::fields::string_or_list(other)
            .into_iter()
            .map(|name| {
                let mut spec = Mapping::new();
                spec.insert("condition".into(), "service_started".into());
                (Value::String(name), Value::Mapping(spec))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(dotenv: &[(&str, &str)], process: &[(&str, &str)]) -> Vars {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Vars {
            dotenv: map(dotenv),
            process: map(process),
            unset: RefCell::default(),
        }
    }

    #[test]
    fn interpolation_follows_compose_rules() {
        let v = vars(&[("A", "from-dotenv"), ("E", "")], &[("A", "from-env")]);
        assert_eq!(v.resolve("${A}").unwrap(), "from-env");
        assert_eq!(v.resolve("${B:-17}").unwrap(), "17");
        assert_eq!(v.resolve("${E:-d}").unwrap(), "d");
        assert_eq!(v.resolve("${E-d}").unwrap(), "");
        assert_eq!(v.resolve("$${POSTGRES_USER}").unwrap(), "${POSTGRES_USER}");
        assert_eq!(v.resolve("mysql:${MYSQL_VERSION}").unwrap(), "mysql:");
        assert!(v.unset.borrow().contains("MYSQL_VERSION"));
        assert!(!v.unset.borrow().contains("B"));
    }

    #[test]
    fn the_dotenv_fills_what_the_environment_lacks() {
        let v = vars(&[("MYSQL_VERSION", "8")], &[]);
        assert_eq!(v.resolve("mysql:${MYSQL_VERSION}").unwrap(), "mysql:8");
    }

    #[test]
    fn an_override_merges_like_compose() {
        let mut base: Mapping = serde_norway::from_str(
            "image: redis\nports: ['1:1']\nenvironment: [A=1, B=2]\ncommand: [a, b]\ndepends_on: [db]",
        )
        .unwrap();
        let over: Mapping = serde_norway::from_str(
            "ports: ['8078:6379']\nenvironment: {B: 3, C: 4}\ncommand: [c]\ndepends_on: {cache: {condition: service_healthy}}",
        )
        .unwrap();
        merge_service(&mut base, over);
        assert_eq!(base["ports"].as_sequence().unwrap().len(), 2);
        let env = super::super::fields::environment(&base["environment"]);
        assert_eq!(env["A"].as_deref(), Some("1"));
        assert_eq!(env["B"].as_deref(), Some("3"));
        assert_eq!(env["C"].as_deref(), Some("4"));
        assert_eq!(
            super::super::fields::command(&base["command"]).unwrap(),
            ["c"]
        );
        assert_eq!(
            super::super::fields::depends_on(&base["depends_on"]).len(),
            2
        );
    }

    #[test]
    fn env_files_are_read_as_compose_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# c\nA=data encryption key with 32 char\nexport B=\"q #x\"\nC='s'\nD=v # note\nE=\n",
        )
        .unwrap();
        let env = read_env_file(&path).unwrap();
        assert_eq!(env["A"], "data encryption key with 32 char");
        assert_eq!(env["B"], "q #x");
        assert_eq!(env["C"], "s");
        assert_eq!(env["D"], "v");
        assert_eq!(env["E"], "");
        std::fs::write(&path, "A=1\nnot a pair\n").unwrap();
        assert_eq!(read_env_file(&path).unwrap_err().location.unwrap().line, 2);
    }

    #[test]
    fn yaml_1_2_keeps_no_as_a_string() {
        let map: Mapping = serde_norway::from_str("restart: no").unwrap();
        assert_eq!(map["restart"], Value::String("no".into()));
    }

    #[test]
    fn bad_yaml_points_at_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yml");
        std::fs::write(&path, "services:\n  db:\n    image: [unclosed\n").unwrap();
        let err = read(&[path], IndexMap::new()).unwrap_err();
        let location = err.location.expect("a location");
        assert!(location.line >= 3, "line {}", location.line);
        assert!(err.message.contains("not valid YAML"));
    }
}
