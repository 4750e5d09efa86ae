//! Whether a stack's database can start from a snapshot, and the snapshot's key: a hash of
//! everything that decides what initdb, the migrations and the seeds leave in the volume.
//!
//! The key covers: the image id (not its name: a re-tagged image is another image), the
//! service's environment and command as the container gets them, the data directory, and the
//! name and content of every migration file and seed file. For PostgreSQL the password is left
//! out: a restore sets the checkout's own password in single-user mode, so worktrees and clones
//! with their own generated passwords share one snapshot. For MySQL/MariaDB the passwords are
//! in the key: a restore cannot change them without the old root password, so each distinct
//! password has its own snapshot.

use crate::config::UserConfig;
use crate::database::{Kind, Target, format, seed};
use crate::engine::ImageLaunch;
use crate::env::Values;
use crate::plan::{ContainerSpec, MountKind};
use crate::stack::{Seed, Stack};
use serde::Serialize;
use std::path::Path;

/// Bumped when what a snapshot holds or how it is restored changes.
const FORMAT: u32 = 1;

/// Variables left out of a PostgreSQL key (set again at restore).
const PG_PASSWORD: &str = "POSTGRES_PASSWORD";

/// Why a stack's database does not use the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// `--no-cache`, `DEVENV_NO_CACHE=1` or `[database] cache = false`.
    TurnedOff,
    /// No `[database]` with a service (SQLite has no volume).
    NoDatabaseService,
    /// The migrations run through a command of the project: their result is not a function of
    /// files devenv can hash.
    MigrateCommand,
    /// A seed is a command (same reason).
    SeedCommand,
    /// The service mounts host paths (init scripts): not captured by the key.
    BindMounts,
    /// The service has no named volume, or more than one.
    VolumeCount(usize),
    /// Its image is not present yet (it will be pulled; the next new volume may hit).
    ImageMissing,
    /// Its image runs as another user than root: the restore copies as root before the
    /// image's entrypoint, which such an image does not expect.
    ImageUser(String),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TurnedOff => f.write_str("the cache is turned off"),
            Self::NoDatabaseService => f.write_str("the stack has no database service"),
            Self::MigrateCommand => f.write_str("migrations run through a command"),
            Self::SeedCommand => f.write_str("a seed is a command"),
            Self::BindMounts => f.write_str("the database service mounts host paths"),
            Self::VolumeCount(n) => write!(f, "the database service has {n} named volumes, not 1"),
            Self::ImageMissing => f.write_str("the database image is not present yet"),
            Self::ImageUser(user) => {
                write!(f, "the database image runs as user `{user}`, not root")
            }
        }
    }
}

/// What restoring or building a snapshot for this stack works with.
#[derive(Debug, Clone)]
pub struct CachePlan {
    /// The key (hex SHA-256).
    pub key: String,
    /// The snapshot volume's name.
    pub snapshot: String,
    /// The database service.
    pub service: String,
    /// Its kind.
    pub kind: Kind,
    /// Its container spec this run.
    pub spec: ContainerSpec,
    /// The project's data volume.
    pub volume: String,
    /// Where the data volume is mounted.
    pub target: String,
    /// The role whose password a PostgreSQL restore sets, with that password.
    pub role_password: Option<(String, String)>,
    /// How its image starts a container (what the restore's first-start script execs).
    pub launch: ImageLaunch,
}

/// The snapshot volume of a key.
pub fn snapshot_name(key: &str) -> String {
    format!("devenv-cache-{}", &key[..24.min(key.len())])
}

/// What a stack that can use the cache has, before anything is hashed: the cheap checks.
#[derive(Debug, Clone)]
pub struct Eligible {
    /// Its kind.
    pub kind: Kind,
    /// The database service's container spec this run.
    pub spec: ContainerSpec,
    /// The project's data volume.
    pub volume: String,
    /// Where it is mounted.
    pub target: String,
}

/// Whether `stack`'s database can use the cache (no file is read, no engine asked).
pub fn eligible(
    stack: &Stack,
    values: &Values,
    config: &UserConfig,
    turned_off: bool,
) -> Result<Eligible, Skip> {
    let database = stack.database.as_ref().ok_or(Skip::NoDatabaseService)?;
    if turned_off || !database.cache || std::env::var_os("DEVENV_NO_CACHE").is_some() {
        return Err(Skip::TurnedOff);
    }
    let service = database
        .service
        .as_ref()
        .and_then(|s| stack.services.get(s))
        .ok_or(Skip::NoDatabaseService)?;
    let kind = Target::of(stack, values)
        .map(|t| t.kind)
        .map_err(|_| Skip::NoDatabaseService)?;
    if kind == Kind::Sqlite {
        return Err(Skip::NoDatabaseService);
    }
    if database.migrate_command.is_some() {
        return Err(Skip::MigrateCommand);
    }
    if database.seeds.iter().any(|s| matches!(s, Seed::Command(_))) {
        return Err(Skip::SeedCommand);
    }
    let spec = crate::plan::container_spec(stack, service, values, config);
    if spec.mounts.iter().any(|m| m.kind == MountKind::Bind) {
        return Err(Skip::BindMounts);
    }
    let volumes: Vec<_> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .collect();
    let [data] = volumes.as_slice() else {
        return Err(Skip::VolumeCount(volumes.len()));
    };
    let (volume, target) = (data.source.clone(), data.target.clone());
    Ok(Eligible {
        kind,
        spec,
        volume,
        target,
    })
}

/// The plan for `stack`'s database, or why it does not use the cache. `image_id` is the
/// service image's id (`None`: not present).
pub fn plan(
    stack: &Stack,
    values: &Values,
    config: &UserConfig,
    image_id: Option<&str>,
    turned_off: bool,
) -> Result<CachePlan, Skip> {
    let eligible = eligible(stack, values, config, turned_off)?;
    let image_id = image_id.ok_or(Skip::ImageMissing)?;
    Ok(plan_from(stack, eligible, image_id))
}

/// The plan of an eligible stack: the key over its files (read and hashed here).
pub fn plan_from(stack: &Stack, eligible: Eligible, image_id: &str) -> CachePlan {
    let database = stack
        .database
        .as_ref()
        .expect("an eligible stack has a database");
    let Eligible {
        kind,
        spec,
        volume,
        target,
    } = eligible;
    let (migrations, migration_format) = migration_inputs(&stack.root, database);
    let inputs = KeyInputs {
        format: FORMAT,
        kind,
        image_id,
        env: key_env(&spec.env, kind),
        command: spec.command.as_deref(),
        target: &target,
        migrations,
        migration_format,
        seeds: seed_files(&stack.root, &database.seeds),
    };
    let key = key(&inputs);
    let role_password = (kind == Kind::Postgres)
        .then(|| {
            let get = |name: &str| env_value(&spec.env, name);
            let password = get(PG_PASSWORD).filter(|p| !p.is_empty())?;
            Some((
                get("POSTGRES_USER").unwrap_or_else(|| "postgres".into()),
                password,
            ))
        })
        .flatten();
    CachePlan {
        snapshot: snapshot_name(&key),
        key,
        service: spec.service.clone(),
        kind,
        volume,
        target,
        role_password,
        spec,
        launch: ImageLaunch {
            id: image_id.to_string(),
            ..ImageLaunch::default()
        },
    }
}

/// What the key is computed from.
#[derive(Debug, Serialize)]
struct KeyInputs<'a> {
    format: u32,
    kind: Kind,
    image_id: &'a str,
    env: Vec<String>,
    command: Option<&'a [String]>,
    target: &'a str,
    migrations: Vec<(String, String)>,
    /// The migrations' format, when not sqlx's.
    #[serde(skip_serializing_if = "Option::is_none")]
    migration_format: Option<&'static str>,
    seeds: Vec<(String, String)>,
}

fn key(inputs: &KeyInputs) -> String {
    crate::hash::sha256_hex(&serde_json::to_string(inputs).expect("key inputs serialize"))
}

/// The container's `KEY=value` entries that go into the key, sorted.
fn key_env(env: &[String], kind: Kind) -> Vec<String> {
    let mut env: Vec<String> = env
        .iter()
        .filter(|e| !(kind == Kind::Postgres && e.starts_with(&format!("{PG_PASSWORD}="))))
        .cloned()
        .collect();
    env.sort();
    env
}

fn env_value(env: &[String], name: &str) -> Option<String> {
    env.iter()
        .find_map(|e| e.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// (name, content hash) of every file in the migrations directory, sorted by name, and the
/// migrations' format when it is not sqlx's (set, or detected from the same files and the
/// project's references to a tool): it decides which history table the snapshot holds.
fn migration_inputs(
    root: &Path,
    database: &crate::stack::Database,
) -> (Vec<(String, String)>, Option<&'static str>) {
    let Some(dir) = database.migrations.as_deref() else {
        return (Vec::new(), None);
    };
    let mut read: Vec<(String, String)> = std::fs::read_dir(root.join(dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (
                e.file_name().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect();
    read.sort();
    let sql: Vec<format::SqlFile> = read
        .iter()
        .filter(|(name, _)| name.ends_with(".sql"))
        .map(|(name, text)| format::SqlFile {
            name: name.clone(),
            shown: dir.join(name),
            text: text.clone(),
        })
        .collect();
    let format = format::choose(root, &sql, database.format)
        .ok()
        .map(|chosen| chosen.format)
        .filter(|f| *f != format::Format::Sqlx)
        .map(format::Format::name);
    let hashes = read
        .into_iter()
        .map(|(name, text)| (name, crate::hash::sha256_hex(&text)))
        .collect();
    (hashes, format)
}

/// (path, content hash) of every seed file, in the order they run.
fn seed_files(root: &Path, seeds: &[Seed]) -> Vec<(String, String)> {
    seed::items(root, seeds)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| match item {
            seed::Item::File(path) => {
                let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
                Some((path, crate::hash::sha256_hex(&text)))
            }
            seed::Item::Command(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "[project]\nname = \"shop\"\n[services.db]\nuse = \"postgres\"\nenv = { POSTGRES_USER = \"shop\", POSTGRES_PASSWORD = \"${DB_PASSWORD}\", POSTGRES_DB = \"shop\" }\n[env.DB_PASSWORD]\nsecret = true\n[env.DATABASE_URL]\nvalue = \"postgres://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop\"\n[database]\nservice = \"db\"\nurl = \"${DATABASE_URL}\"\nmigrations = \"migrations\"\nseeds = [\"seeds\"]\n";

    fn project(stack: &str, password: &str) -> (tempfile::TempDir, Stack, Values) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("devenv.toml"), stack).unwrap();
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        std::fs::create_dir_all(dir.path().join("seeds")).unwrap();
        std::fs::write(
            dir.path().join("migrations/0001_a.sql"),
            "create table a (id int);",
        )
        .unwrap();
        std::fs::write(dir.path().join("seeds/01.sql"), "insert into a values (1);").unwrap();
        std::fs::write(
            dir.path().join(".env"),
            format!("DB_PASSWORD={password}\nDB_PORT=5432\n"),
        )
        .unwrap();
        let stack = crate::stack::load(&dir.path().join("devenv.toml")).unwrap();
        let values = crate::env::load(&stack).unwrap().values;
        (dir, stack, values)
    }

    fn key_of(stack: &Stack, values: &Values, image: &str) -> String {
        plan(stack, values, &UserConfig::default(), Some(image), false)
            .unwrap()
            .key
    }

    #[test]
    fn every_input_but_a_postgres_password_changes_the_key() {
        let (dir, stack, values) = project(STACK, "one");
        let base = key_of(&stack, &values, "sha256:1");
        let (_other, stack2, values2) = project(STACK, "two");
        assert_eq!(key_of(&stack2, &values2, "sha256:1"), base, "password");
        assert_ne!(key_of(&stack, &values, "sha256:2"), base, "image");
        let write = |file: &str, text: &str| std::fs::write(dir.path().join(file), text).unwrap();
        write("migrations/0002_b.sql", "create table b (id int);");
        let with_migration = key_of(&stack, &values, "sha256:1");
        assert_ne!(with_migration, base, "a new migration");
        write("seeds/01.sql", "insert into a values (2);");
        assert_ne!(
            key_of(&stack, &values, "sha256:1"),
            with_migration,
            "a seed edit"
        );
        std::fs::rename(
            dir.path().join("migrations/0002_b.sql"),
            dir.path().join("migrations/0002_b.up.sql"),
        )
        .unwrap();
        let paired = key_of(&stack, &values, "sha256:1");
        write(
            "go.mod",
            "require github.com/golang-migrate/migrate/v4 v4.18.1\n",
        );
        assert_ne!(
            key_of(&stack, &values, "sha256:1"),
            paired,
            "go.mod making the files golang-migrate's (another history table)"
        );
        let (_db, renamed, values3) = project(
            &STACK.replace("POSTGRES_DB = \"shop\"", "POSTGRES_DB = \"shop2\""),
            "one",
        );
        assert_ne!(
            key_of(&renamed, &values3, "sha256:1"),
            base,
            "the database name"
        );
    }

    #[test]
    fn the_plan_carries_the_role_and_says_why_a_stack_is_skipped() {
        let (_dir, stack, values) = project(STACK, "secret");
        let plan = plan(
            &stack,
            &values,
            &UserConfig::default(),
            Some("sha256:1"),
            false,
        )
        .unwrap();
        assert_eq!(plan.role_password, Some(("shop".into(), "secret".into())));
        assert_eq!(plan.volume, "shop_db-data");
        assert_eq!(plan.snapshot, format!("devenv-cache-{}", &plan.key[..24]));
        let off = super::plan(&stack, &values, &UserConfig::default(), Some("x"), true);
        assert_eq!(off.unwrap_err(), Skip::TurnedOff);
        let missing = super::plan(&stack, &values, &UserConfig::default(), None, false);
        assert_eq!(missing.unwrap_err(), Skip::ImageMissing);
        let (_d, seeded, v) = project(
            &STACK.replace("seeds = [\"seeds\"]", "seeds = [{ command = [\"true\"] }]"),
            "x",
        );
        let skip = super::plan(&seeded, &v, &UserConfig::default(), Some("x"), false);
        assert_eq!(skip.unwrap_err(), Skip::SeedCommand);
        let (_e, off_in_file, v) = project(&format!("{STACK}cache = false\n"), "x");
        let skip = super::plan(&off_in_file, &v, &UserConfig::default(), Some("x"), false);
        assert_eq!(skip.unwrap_err(), Skip::TurnedOff);
    }
}
