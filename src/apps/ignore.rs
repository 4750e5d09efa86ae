//! Which changed paths an app's `watch` ignores: its `ignore` globs, and by default `.git`,
//! `target`, `node_modules`, devenv's own `.devenv/` (its logs and state would otherwise
//! restart the app they describe) and editors' swap and backup files. Pure: no file system.
//!
//! A pattern without `/` (`*.tmp`, `dist`) matches any one path component, so it ignores a
//! file of that name anywhere or a whole directory; a pattern with `/` (`api/generated/**`)
//! matches the path relative to devenv.toml's directory (or any of its parent directories).

use crate::diagnostic::Diagnostic;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::{Component, Path};

/// Components ignored under every watched path, whatever the app's `ignore` says.
pub const DEFAULT_IGNORED: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    crate::project::STATE_DIR,
    "*.swp",
    "*.swx",
    "*~",
    ".#*",
    "4913",
];

/// The compiled ignore rules of one app.
#[derive(Debug, Clone)]
pub struct Ignore {
    /// Patterns matched against single components (the defaults and patterns without `/`).
    components: GlobSet,
    /// Patterns matched against paths relative to the project root.
    paths: GlobSet,
}

impl Ignore {
    /// Compiles the defaults and `patterns` (an app's `ignore`).
    pub fn new(patterns: &[String]) -> Result<Self, Diagnostic> {
        let mut components = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for pattern in DEFAULT_IGNORED {
            components.add(glob(pattern)?);
        }
        for pattern in patterns {
            let trimmed = pattern.trim_start_matches("./").trim_end_matches('/');
            if trimmed.contains('/') {
                paths.add(glob(trimmed)?);
            } else {
                components.add(glob(trimmed)?);
            }
        }
        let build = |builder: GlobSetBuilder| {
            builder
                .build()
                .map_err(|e| Diagnostic::new(format!("invalid ignore pattern: {e}")))
        };
        Ok(Self {
            components: build(components)?,
            paths: build(paths)?,
        })
    }

    /// Whether `relative` (a path relative to the project root) is ignored when it was found
    /// under the watched path `base` (also relative to the root): a component below `base`
    /// matches a component pattern, or the path or one of its parents matches a path pattern.
    /// The components of `base` itself are never held against it (`paths = ["target/site"]`
    /// watches that directory).
    pub fn is_ignored(&self, relative: &Path, base: &Path) -> bool {
        let below = relative.strip_prefix(base).unwrap_or(relative);
        let component_ignored = below.components().any(|c| match c {
            Component::Normal(name) => self.components.is_match(Path::new(name)),
            _ => false,
        });
        if component_ignored {
            return true;
        }
        relative
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .any(|a| self.paths.is_match(a))
    }
}

fn glob(pattern: &str) -> Result<Glob, Diagnostic> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| {
            Diagnostic::new(format!("invalid ignore pattern `{pattern}`: {e}")).with_help(
                "write a glob such as `*.log`, `dist` or `api/generated/**` in the app's `watch.ignore`",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(patterns: &[&str], path: &str, base: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        Ignore::new(&patterns)
            .unwrap()
            .is_ignored(Path::new(path), Path::new(base))
    }

    #[test]
    fn defaults_ignore_vcs_build_dependency_state_and_editor_files() {
        for path in [
            "src/.git/HEAD",
            "api/target/debug/api",
            "web/node_modules/vite/index.js",
            ".devenv/logs/api.log",
            "src/.main.rs.swp",
            "src/main.rs~",
            "src/.#main.rs",
            "src/4913",
        ] {
            assert!(ignored(&[], path, ""), "{path}");
        }
        assert!(!ignored(&[], "src/main.rs", "src"));
        assert!(
            !ignored(&[], "src/targets.rs", "src"),
            "a whole component only"
        );
    }

    #[test]
    fn the_watched_path_itself_is_not_held_against_it() {
        assert!(!ignored(&[], "target/site/index.html", "target/site"));
        assert!(ignored(&[], "target/site/.git/x", "target/site"));
    }

    #[test]
    fn patterns_without_a_slash_match_any_component() {
        let patterns = ["*.tmp", "generated"];
        assert!(ignored(&patterns, "src/a/b.tmp", "src"));
        assert!(ignored(&patterns, "src/generated/schema.rs", "src"));
        assert!(!ignored(&patterns, "src/generator.rs", "src"));
        assert!(!ignored(&patterns, "src/b.tmp.rs", "src"));
    }

    #[test]
    fn patterns_with_a_slash_match_from_the_project_root() {
        let patterns = ["api/gen/**", "./web/dist/", "**/*.snap"];
        assert!(ignored(&patterns, "api/gen/a/b.rs", "api"));
        assert!(ignored(&patterns, "web/dist/app.js", "web"), "a directory");
        assert!(ignored(&patterns, "api/src/x.snap", "api"));
        assert!(!ignored(&patterns, "api/src/gen/b.rs", "api"), "anchored");
        assert!(!ignored(&patterns, "api/src/main.rs", "api"));
    }

    #[test]
    fn a_bad_pattern_is_an_error_naming_it() {
        let e = Ignore::new(&["src/[".to_string()]).unwrap_err();
        assert!(e.message.contains("`src/[`"), "{e}");
    }
}
