//! The user's own settings (`$XDG_CONFIG_HOME/devenv/config.toml`), separate from any project:
//! today the `[images]` table that rewrites image references (registry mirrors, local builds).

use crate::diagnostic::{Diagnostic, SourceFile};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The user config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Image reference → replacement (`"postgres:16" = "mirror.example/postgres:16"`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Where the file was read from (not part of the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl UserConfig {
    /// Where the file lives: `$XDG_CONFIG_HOME/devenv/config.toml`, else `~/.config/devenv/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
            .map(|dir| dir.join("devenv").join("config.toml"))
    }

    /// Reads the user config; a missing file is an empty config.
    pub fn load() -> Result<Self, Diagnostic> {
        let Some(path) = Self::default_path() else {
            return Ok(Self::default());
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: Some(path),
                    ..Self::default()
                });
            }
            Err(e) => {
                return Err(Diagnostic::new(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut config: Self = toml::from_str(&text).map_err(|e| {
            let source = SourceFile::new(path.clone(), text.clone());
            source.diagnostic(e.span().unwrap_or(0..0), e.message().trim()).with_help(
                "the user config holds an `[images]` table: `\"postgres:16\" = \"mirror.example/postgres:16\"`",
            )
        })?;
        config.path = Some(path);
        Ok(config)
    }

    /// The image to use for `image`, after rewrites.
    pub fn rewrite_image(&self, image: &str) -> String {
        self.images
            .get(image)
            .cloned()
            .unwrap_or_else(|| image.to_string())
    }

    /// Where to tell the user to add a rewrite.
    pub fn describe_path(&self) -> String {
        self.path.as_ref().map_or_else(
            || "$XDG_CONFIG_HOME/devenv/config.toml".to_string(),
            |p| p.display().to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_exact_references_only() {
        let config: UserConfig =
            toml::from_str("[images]\n\"postgres:16\" = \"devenv-fixture/postgres:16\"\n").unwrap();
        assert_eq!(
            config.rewrite_image("postgres:16"),
            "devenv-fixture/postgres:16"
        );
        assert_eq!(config.rewrite_image("postgres:15"), "postgres:15");
    }
}
