//! The service catalog and starter stacks shipped in `stacks/`, embedded at build time.

use crate::stack::raw::RawCatalogEntry;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use embedded::TEMPLATE_FILES;

/// A catalog entry: how to run one kind of service.
#[derive(Debug)]
pub struct CatalogEntry {
    /// Name used in `use = "..."`.
    pub name: String,
    /// Parsed entry.
    pub entry: RawCatalogEntry,
}

impl CatalogEntry {
    /// The default image reference (`postgres:16`).
    pub fn default_image(&self) -> String {
        format!("{}:{}", self.entry.image, self.entry.version)
    }
}

/// A ready `devenv.toml` combining several services.
#[derive(Debug)]
pub struct Starter {
    /// Name used with `devenv init --template`.
    pub name: String,
    /// First comment line of the file.
    pub description: String,
    /// The file text (the project name is `{{ project }}`).
    pub text: &'static str,
}

/// Everything in `stacks/`.
#[derive(Debug)]
pub struct Catalog {
    /// Service entries, by name.
    pub services: Vec<CatalogEntry>,
    /// Starter stacks, by name.
    pub starters: Vec<Starter>,
}

impl Catalog {
    /// The embedded catalog (parsed once). Entries are checked by the test suite, so a broken
    /// one is a build defect.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let services = embedded::SERVICE_FILES
                .iter()
                .map(|(file, text)| CatalogEntry {
                    name: file.trim_end_matches(".toml").to_string(),
                    entry: toml::from_str(text)
                        .unwrap_or_else(|e| panic!("stacks/services/{file}: {e}")),
                })
                .collect();
            let starters = embedded::STARTER_FILES
                .iter()
                .map(|(file, text)| Starter {
                    name: file.trim_end_matches(".toml").to_string(),
                    description: text
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches('#')
                        .trim()
                        .to_string(),
                    text,
                })
                .collect();
            Catalog { services, starters }
        })
    }

    /// A service entry by name.
    pub fn service(&self, name: &str) -> Option<&CatalogEntry> {
        self.services.iter().find(|s| s.name == name)
    }

    /// A starter stack by name.
    pub fn starter(&self, name: &str) -> Option<&Starter> {
        self.starters.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_the_required_entries() {
        let catalog = Catalog::get();
        for name in [
            "postgres",
            "mysql",
            "mariadb",
            "redis",
            "mongodb",
            "rabbitmq",
            "nats",
            "memcached",
            "minio",
            "mailpit",
            "redpanda",
        ] {
            let entry = catalog
                .service(name)
                .unwrap_or_else(|| panic!("missing catalog entry {name}"));
            assert!(!entry.entry.ports.is_empty(), "{name} publishes no port");
            assert!(entry.entry.health.is_some(), "{name} has no health check");
        }
        for name in ["postgres-redis", "mysql-redis"] {
            assert!(catalog.starter(name).is_some(), "missing starter {name}");
        }
    }

    #[test]
    fn every_entry_with_data_has_a_volume() {
        for entry in &Catalog::get().services {
            if !["memcached", "mailpit"].contains(&entry.name.as_str()) {
                assert!(
                    !entry.entry.volumes.is_empty(),
                    "{} keeps no data volume",
                    entry.name
                );
            }
        }
    }
}
