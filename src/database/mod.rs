//! The project's database seen from the host: where it is (`[database].url`), and the
//! migrations, seeds, reset and shell that work on it. PostgreSQL, MySQL/MariaDB and SQLite,
//! through sqlx's runtime APIs (no compile-time database).

pub mod command;
pub mod files;
pub mod format;
pub mod lock;
pub mod migrate;
pub mod reset;
pub mod seed;
pub mod shell;
pub mod statements;
pub mod tools;

use crate::diagnostic::Diagnostic;
use crate::env::Values;
use crate::stack::Stack;
use seed::SeedState;
use sqlx::AnyConnection;
use sqlx::Connection;
use std::path::Path;

/// Which database engine a URL speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite (a file; no container).
    Sqlite,
}

/// The database a stack's commands work on.
#[derive(Debug, Clone)]
pub struct Target {
    /// Engine.
    pub kind: Kind,
    /// URL to connect with (SQLite paths made absolute).
    pub url: String,
    /// The URL with its password hidden, for messages.
    pub shown: String,
}

impl Target {
    /// Resolves `[database]` of a stack with the values in force.
    pub fn of(stack: &Stack, values: &Values) -> Result<Self, Diagnostic> {
        let database = stack.database.as_ref().ok_or_else(|| {
            Diagnostic::new("devenv.toml has no [database] section")
                .with_help("add one: `[database]` with `service = \"db\"`, `url = \"${DATABASE_URL}\"`, `migrations = \"migrations\"`")
        })?;
        let url = match &database.url {
            Some(template) => values.expand(template),
            None => {
                let service = database
                    .service
                    .as_deref()
                    .and_then(|s| stack.services.get(s));
                let spec = service
                    .map(|s| crate::plan::container_spec(stack, s, values, &Default::default()));
                service
                    .zip(spec.as_ref())
                    .and_then(|(service, spec)| crate::endpoint::connection_url(service, spec))
                    .ok_or_else(|| {
                        Diagnostic::new("[database] has no `url`, and its service offers none")
                            .with_help("add `url = \"${DATABASE_URL}\"` (declared under [env.DATABASE_URL]) to [database]")
                    })?
            }
        };
        Self::from_url(&url, &stack.root)
    }

    /// A target from a URL; relative SQLite paths resolve against `root`.
    pub fn from_url(url: &str, root: &Path) -> Result<Self, Diagnostic> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let kind = match scheme.as_str() {
            "postgres" | "postgresql" => Kind::Postgres,
            "mysql" | "mariadb" => Kind::Mysql,
            "sqlite" => Kind::Sqlite,
            _ => {
                return Err(Diagnostic::new(format!(
                    "the database URL `{}` is not postgres://, mysql:// or sqlite:",
                    hide_password(url)
                ))
                .with_help("check `url` in [database] and the variable it uses in .env"));
            }
        };
        let url = match kind {
            Kind::Mysql if scheme == "mariadb" => format!("mysql{}", &url["mariadb".len()..]),
            Kind::Sqlite => sqlite_url(url, root),
            _ => url.to_string(),
        };
        Ok(Self {
            kind,
            shown: hide_password(&url),
            url,
        })
    }

    /// Opens one dedicated connection (never a pool: the migration lock lives on it and ends
    /// with it).
    pub async fn connect(&self) -> Result<AnyConnection, Diagnostic> {
        sqlx::any::install_default_drivers();
        if let Some(parent) = sqlite_path(&self.url).and_then(|p| Path::new(p).parent()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Diagnostic::new(format!(
                    "cannot create {} for the SQLite database: {e}",
                    parent.display()
                ))
            })?;
        }
        AnyConnection::connect(&self.url)
            .await
            .map_err(|e| Diagnostic::new(format!("cannot connect to the database at {}: {e}", self.shown)).with_help(
                "is the stack up (`devenv up`)? `devenv status` shows the database service; check the URL's variables in .env",
            ))
    }
}

/// `sqlite:dev.db` → `sqlite:///abs/root/dev.db?mode=rwc` (created when missing).
fn sqlite_url(url: &str, root: &Path) -> String {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let absolute = if Path::new(path).is_absolute() {
        path.to_string()
    } else {
        root.join(path).display().to_string()
    };
    let query = if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        query.to_string()
    };
    format!("sqlite://{absolute}?{query}")
}

/// The SQLite file a target points at.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// Replaces the password in a URL with `***`.
pub fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// The database name in a URL's path.
pub fn database_name(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let name = path.split('?').next().unwrap_or(path);
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified_and_passwords_hidden() {
        let t = Target::from_url(
            "postgres://shop:secret@127.0.0.1:5432/shop",
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(t.kind, Kind::Postgres);
        assert_eq!(t.shown, "postgres://shop:***@127.0.0.1:5432/shop");
        assert_eq!(
            Target::from_url("mariadb://a:b@h/db", Path::new("/p"))
                .unwrap()
                .url,
            "mysql://a:b@h/db"
        );
        let s = Target::from_url("sqlite:data/dev.db", Path::new("/p")).unwrap();
        assert_eq!(s.url, "sqlite:///p/data/dev.db?mode=rwc");
        assert_eq!(sqlite_path(&s.url), Some("/p/data/dev.db"));
        assert!(Target::from_url("redis://x", Path::new("/p")).is_err());
        assert_eq!(
            database_name("postgres://u:p@h:1/shop?sslmode=disable").as_deref(),
            Some("shop")
        );
    }
}

/// Which database steps to run.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    /// Apply migrations (SQL or the project's tool).
    pub migrate: bool,
    /// Run seeds.
    pub seed: bool,
    /// Re-run seeds that changed since they ran.
    pub reseed: bool,
    /// Say which tool's format the migrations were found to be in, before they run (when not
    /// sqlx's and not set in devenv.toml): `devenv migrate` does, `up` says it with what it applied.
    pub announce_format: bool,
}

/// What the database steps did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// SQL migrations applied now.
    pub applied: Vec<migrate::Applied>,
    /// The migrations' format and why, when SQL migrations were looked at.
    pub format: Option<format::Chosen>,
    /// Whether the project's migration tool ran.
    pub ran_migrate_command: bool,
    /// Seeds and what happened to each.
    pub seeds: Vec<seed::Outcome>,
}

/// The environment given to project commands: `.env`'s values, then `DATABASE_URL`.
pub fn command_env(
    env_file: &indexmap::IndexMap<String, String>,
    target: &Target,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = env_file
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.retain(|(k, _)| k != "DATABASE_URL");
    env.push(("DATABASE_URL".into(), target.url.clone()));
    env
}

/// Migrates and seeds the stack's database.
pub async fn run_steps(
    stack: &Stack,
    target: &Target,
    env_file: &indexmap::IndexMap<String, String>,
    steps: Steps,
    on_note: &(dyn Fn(&str) + Sync),
) -> Result<Report, Diagnostic> {
    let Some(database) = &stack.database else {
        return Ok(Report::default());
    };
    let env = command_env(env_file, target);
    let mut report = Report::default();
    // The migration connection is reused for the seeds when no migration ran on it (the warm
    // path: one login instead of two); after migrations ran, their session settings (a
    // pg_dump'ed schema sets search_path) must not reach the seeds, so the seeds get their own.
    let mut idle: Option<AnyConnection> = None;
    if steps.migrate {
        if let Some(argv) = &database.migrate_command {
            command::run(argv, &stack.root, &env, "migrate", on_note).await?;
            report.ran_migrate_command = true;
        } else if let Some(dir) = &database.migrations {
            let migrations = migrate::Migrations::load(&stack.root, dir, database.format).await?;
            if steps.announce_format
                && database.format.is_none()
                && migrations.chosen.format != format::Format::Sqlx
            {
                on_note(&migrations.chosen.describe());
            }
            let mut conn = target.connect().await?;
            let result = migrate::apply(&mut conn, &migrations, target, on_note).await;
            report.format = Some(migrations.chosen);
            match result {
                Ok(applied) if applied.is_empty() => idle = Some(conn),
                result => {
                    let _ = conn.close().await;
                    report.applied = result?;
                }
            }
        }
    }
    if steps.seed && !database.seeds.is_empty() {
        let items = seed::items(&stack.root, &database.seeds)?;
        let mut conn = match idle.take() {
            Some(conn) => conn,
            None => target.connect().await?,
        };
        let result = seed::run(
            &mut conn,
            target.kind,
            &stack.root,
            &items,
            steps.reseed,
            &env,
            on_note,
        )
        .await;
        let _ = conn.close().await;
        report.seeds = result?;
    }
    if let Some(conn) = idle {
        let _ = conn.close().await;
    }
    Ok(report)
}

impl Report {
    /// One line per thing that happened, for humans.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.ran_migrate_command {
            lines.push("ran the project's migration command".to_string());
        }
        if !self.applied.is_empty() {
            let total: std::time::Duration = self.applied.iter().map(|a| a.elapsed).sum();
            // Another tool's format is said where its migrations are applied (`up` included).
            let tool = match &self.format {
                Some(chosen) if chosen.format != format::Format::Sqlx => {
                    format!(" {} ({})", chosen.format, chosen.why)
                }
                _ => String::new(),
            };
            lines.push(format!(
                "applied {}{tool} migration(s) in {:.2}s",
                self.applied.len(),
                total.as_secs_f64()
            ));
        }
        for seed in &self.seeds {
            match seed.state {
                SeedState::Applied => lines.push(format!("seeded {}", seed.name)),
                SeedState::Reapplied => lines.push(format!("re-seeded {}", seed.name)),
                SeedState::Changed => lines.push(format!(
                    "seed {} changed since it ran; not re-run (`devenv seed --reseed` runs it again)",
                    seed.name
                )),
                SeedState::Unchanged => {}
            }
        }
        lines
    }
}
