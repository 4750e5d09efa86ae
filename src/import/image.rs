//! Image references: Docker Hub's implied parts dropped (`docker.io/library/postgres:15` is
//! `postgres:15`) and the catalog entry an image is an instance of, if any.

use crate::catalog::Catalog;

/// An image reference split into repository and the rest (`:tag`, `@digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository without Docker Hub's implied registry and `library/` (`postgres`,
    /// `valkey/valkey`, `cgr.dev/chainguard/minio`).
    pub repository: String,
    /// `:tag` and/or `@digest` as written, empty when neither.
    pub suffix: String,
}

impl ImageRef {
    /// Parses and normalises `image`.
    pub fn parse(image: &str) -> Self {
        let image = image.trim();
        // The tag's colon is the last one after the last slash (a registry may have a port).
        let name_end = image.find('@').unwrap_or(image.len());
        let slash = image[..name_end].rfind('/').map_or(0, |i| i + 1);
        let tag_at = image[slash..name_end].rfind(':').map(|i| slash + i);
        let split = tag_at.unwrap_or(name_end);
        let mut repository = &image[..split];
        for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
            if let Some(rest) = repository.strip_prefix(prefix) {
                repository = rest;
            }
        }
        let repository = repository.strip_prefix("library/").unwrap_or(repository);
        Self {
            repository: repository.to_string(),
            suffix: image[split..].to_string(),
        }
    }

    /// The normalised reference (`postgres:15-alpine`).
    pub fn normalised(&self) -> String {
        format!("{}{}", self.repository, self.suffix)
    }

    /// The last part of the repository (`minio` in `cgr.dev/chainguard/minio`).
    pub fn base_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }
}

/// A catalog entry an image runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogMatch {
    /// The entry's name (`use = "..."`).
    pub entry: String,
    /// Why the match is not plain, when it is not (a compatible image of another name).
    pub note: Option<String>,
}

/// Images that speak another entry's protocol under another name, with the health command
/// their own client gives.
const COMPATIBLE: [(&str, &str, &str); 1] = [("valkey", "redis", "valkey-cli")];

/// The catalog entry `image` is an instance of: its repository's last part equals the
/// entry's (`docker.io/postgres`, `cgr.dev/chainguard/minio`), or it is a known compatible
/// image (valkey for redis; the image is kept, never replaced by the entry's).
pub fn catalog_match(image: &ImageRef, catalog: &Catalog) -> Option<CatalogMatch> {
    let base = image.base_name();
    if let Some(entry) = catalog.services.iter().find(|e| {
        let entry_base = e.entry.image.rsplit('/').next().unwrap_or(&e.entry.image);
        entry_base == base
    }) {
        let note = (image.repository != entry.entry.image).then(|| {
            format!(
                "image `{}` kept; the catalog's own is `{}`",
                image.repository, entry.entry.image
            )
        });
        return Some(CatalogMatch {
            entry: entry.name.clone(),
            note,
        });
    }
    COMPATIBLE
        .iter()
        .find(|(name, _, _)| *name == base)
        .map(|(name, entry, _)| CatalogMatch {
            entry: entry.to_string(),
            note: Some(format!(
                "{name} is {entry}-compatible: catalog `{entry}` for its port, probe and conventions, image `{}` kept",
                image.normalised()
            )),
        })
}

/// The health command of a compatible image whose client has another name.
pub fn compatible_health(image: &ImageRef) -> Option<Vec<String>> {
    COMPATIBLE
        .iter()
        .find(|(name, _, _)| *name == image.base_name())
        .map(|(_, _, client)| vec![client.to_string(), "ping".to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_prefixes_are_dropped_and_tags_kept() {
        let cases = [
            ("library/postgres:15-alpine", "postgres:15-alpine"),
            ("docker.io/postgres:13.4", "postgres:13.4"),
            ("docker.io/library/redis:7.2.4", "redis:7.2.4"),
            ("axllent/mailpit", "axllent/mailpit"),
            ("localhost:5000/team/api:1.0", "localhost:5000/team/api:1.0"),
            ("postgres@sha256:abc", "postgres@sha256:abc"),
            ("cgr.dev/chainguard/minio", "cgr.dev/chainguard/minio"),
        ];
        for (written, normalised) in cases {
            assert_eq!(
                ImageRef::parse(written).normalised(),
                normalised,
                "{written}"
            );
        }
        assert_eq!(
            ImageRef::parse("localhost:5000/api").repository,
            "localhost:5000/api"
        );
    }

    #[test]
    fn catalog_entries_are_matched_by_repository_name() {
        let catalog = Catalog::get();
        let entry = |image: &str| catalog_match(&ImageRef::parse(image), catalog).map(|m| m.entry);
        assert_eq!(
            entry("library/postgres:15-alpine").as_deref(),
            Some("postgres")
        );
        assert_eq!(entry("docker.io/mysql:8").as_deref(), Some("mysql"));
        assert_eq!(entry("cgr.dev/chainguard/minio").as_deref(), Some("minio"));
        assert_eq!(entry("axllent/mailpit").as_deref(), Some("mailpit"));
        assert_eq!(entry("mongo:7").as_deref(), Some("mongodb"));
        assert_eq!(entry("rabbitmq:3-management").as_deref(), Some("rabbitmq"));
        assert_eq!(entry("clickhouse/clickhouse-server:25.12"), None);
        assert_eq!(entry("edoburu/pgbouncer:v1"), None);
    }

    #[test]
    fn valkey_runs_as_redis_but_keeps_its_image() {
        let image = ImageRef::parse("valkey/valkey:8.1-alpine");
        let m = catalog_match(&image, Catalog::get()).unwrap();
        assert_eq!(m.entry, "redis");
        assert!(m.note.unwrap().contains("valkey/valkey:8.1-alpine"));
        assert_eq!(compatible_health(&image).unwrap(), ["valkey-cli", "ping"]);
        assert_eq!(image.normalised(), "valkey/valkey:8.1-alpine");
    }
}
