//! What an import did, service by service: what became of each service, which variables it
//! declared and why, what it could not carry over and why. Printed as text or as the
//! versioned `--json` document; it names values never, only keys, so nothing secret shows.

use serde::Serialize;

/// The whole account of one import.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The project name written.
    pub project: String,
    /// The Compose files read, in merge order.
    pub files: Vec<String>,
    /// The env files read (`.env` beside the file, `env_file`s).
    pub env_files: Vec<String>,
    /// The profiles whose services were imported (beyond those in no profile).
    pub profiles: Vec<String>,
    /// Each Compose service and what became of it.
    pub services: Vec<ServiceOutcome>,
    /// The `[env]` variables declared, and why each is secret or plain.
    pub variables: Vec<VariableOutcome>,
    /// What could not be carried over.
    pub dropped: Vec<Dropped>,
    /// What changed meaning on the way (no data lost, but worth knowing).
    pub notes: Vec<Note>,
}

/// What became of one Compose service.
#[derive(Debug, Serialize)]
pub struct ServiceOutcome {
    /// The Compose service name.
    pub name: String,
    /// `catalog`, `image` or `not_imported`.
    pub outcome: Outcome,
    /// The catalog entry it uses, when `catalog`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// The image written, when imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Why not imported, when `not_imported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The kinds of [`ServiceOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A catalog service (`use = "..."`).
    Catalog,
    /// A plain image service.
    Image,
    /// Left out (a `build:` without image, a profile not chosen).
    NotImported,
}

/// One `[env]` variable the import declared.
#[derive(Debug, Serialize)]
pub struct VariableOutcome {
    /// Its name.
    pub name: String,
    /// `secret = true` (generated into `.env`).
    pub secret: bool,
    /// Why secret, or why a plain value.
    pub why: String,
}

/// Something not carried over.
#[derive(Debug, Serialize)]
pub struct Dropped {
    /// The service it belonged to, or None for a top-level key.
    pub service: Option<String>,
    /// The Compose key.
    pub key: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// A change of meaning worth knowing.
#[derive(Debug, Serialize)]
pub struct Note {
    /// The service concerned, or None.
    pub service: Option<String>,
    /// What.
    pub text: String,
}

impl Report {
    /// Records a key not carried over.
    pub fn not_carried(
        &mut self,
        service: Option<&str>,
        key: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.dropped.push(Dropped {
            service: service.map(str::to_string),
            key: key.into(),
            reason: reason.into(),
        });
    }

    /// Records a change of meaning.
    pub fn note(&mut self, service: Option<&str>, text: impl Into<String>) {
        self.notes.push(Note {
            service: service.map(str::to_string),
            text: text.into(),
        });
    }

    /// The report as text lines, for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("read: {}", self.files.join(", "))];
        if !self.env_files.is_empty() {
            lines.push(format!("env files read: {}", self.env_files.join(", ")));
        }
        if !self.profiles.is_empty() {
            lines.push(format!("profiles imported: {}", self.profiles.join(", ")));
        }
        lines.push("services:".into());
        for s in &self.services {
            let what = match s.outcome {
                Outcome::Catalog => format!(
                    "catalog `{}` ({})",
                    s.catalog.as_deref().unwrap_or_default(),
                    s.image.as_deref().unwrap_or_default()
                ),
                Outcome::Image => format!("image {}", s.image.as_deref().unwrap_or_default()),
                Outcome::NotImported => {
                    format!("not imported: {}", s.reason.as_deref().unwrap_or_default())
                }
            };
            lines.push(format!("  {:<20} {what}", s.name));
        }
        if !self.variables.is_empty() {
            lines.push("variables:".into());
            for v in &self.variables {
                let kind = if v.secret { "secret" } else { "plain" };
                lines.push(format!("  {:<28} {kind}: {}", v.name, v.why));
            }
        }
        let scoped = |service: &Option<String>| {
            service
                .as_deref()
                .map_or_else(|| "(file)".to_string(), str::to_string)
        };
        if !self.dropped.is_empty() {
            lines.push("not carried over:".into());
            for d in &self.dropped {
                lines.push(format!("  {}: {}: {}", scoped(&d.service), d.key, d.reason));
            }
        }
        if !self.notes.is_empty() {
            lines.push("notes:".into());
            for n in &self.notes {
                lines.push(format!("  {}: {}", scoped(&n.service), n.text));
            }
        }
        lines
    }
}
