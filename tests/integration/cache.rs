//! The seeded-volume cache with the real engine: a new checkout's database starts from the
//! snapshot another checkout built (through a prepared copy, or a copy made at its first
//! start) and holds the same schema and rows as one built from scratch; any changed input
//! misses; an unfinished snapshot or copy is removed, never used; prune.
//! Snapshots are machine-wide, so these tests run one at a time and remove what they built.

use crate::support::*;
use std::sync::Mutex;
use std::time::Duration;

/// One cache test at a time: they share the engine's snapshots.
static SERIAL: Mutex<()> = Mutex::new(());

/// A checkout of the stack with the cache on (the suite turns it off elsewhere).
struct Checkout(TestProject);

impl Checkout {
    fn new(stack: &str, migration: &str, seed: &str) -> Option<Self> {
        let project = engine_project(stack, &["DB_PORT"])?;
        project.write("migrations/0001_products.sql", migration);
        project.write("seeds/01_products.sql", seed);
        Some(Self(project))
    }

    fn devenv(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.0.devenv(args);
        cmd.env_remove("DEVENV_NO_CACHE");
        cmd
    }

    /// Adds a second migration.
    fn write_migration_2(&self) {
        self.0.write(
            "migrations/0002_price.sql",
            "ALTER TABLE products ADD COLUMN price int;\n",
        );
    }

    /// Runs `devenv ARGS`, asserts it succeeded, returns stderr.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_out(args).1
    }

    /// Runs `devenv ARGS`, asserts it succeeded, returns (stdout, stderr).
    fn ok_out(&self, args: &[&str]) -> (String, String) {
        let (code, out, err) = output(&mut self.devenv(args));
        assert_eq!(code, 0, "devenv {args:?} failed:\n{out}\n{err}");
        (out, err)
    }

    /// The database's schema and rows as pg_dump prints them (minus its per-run lines), with
    /// the bookkeeping tables' columns that say when, not what.
    fn dump(&self) -> String {
        let container = self.0.container("db");
        let dump = docker(&[
            "exec",
            &container,
            "pg_dump",
            "-U",
            "shop",
            "-d",
            "shop",
            "--exclude-table-data=_sqlx_migrations",
            "--exclude-table-data=_devenv_seeds",
        ]);
        let mut lines: Vec<String> = dump
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .map(str::to_string)
            .collect();
        lines.push(self.0.psql(
            "select version, description, success, checksum from _sqlx_migrations order by 1",
        ));
        lines.push(
            self.0
                .psql("select name, checksum from _devenv_seeds order by 1"),
        );
        lines.join("\n")
    }
}

/// Asserts two dumps are equal, showing the first line where they differ.
fn assert_same_dump(built: &str, restored: &str) {
    let differs = built
        .lines()
        .zip(restored.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b);
    assert!(
        differs.is_none() && built.lines().count() == restored.lines().count(),
        "snapshot and fresh build differ at {differs:?} ({} vs {} lines)",
        built.lines().count(),
        restored.lines().count()
    );
}

/// Removes the completion mark from a snapshot or prepared copy volume.
fn remove_mark(volume: &str) {
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/v"),
        "--entrypoint",
        "rm",
        "devenv-fixture/postgres:16",
        "-f",
        "/v/.devenv-snapshot-complete",
    ]);
}

const MIGRATION: &str = "CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL);\nCREATE INDEX products_name ON products (name);\n";

/// The prepared copies (volumes) that also carry `label` (`key=value`).
fn prepared_copies(label: &str) -> Vec<String> {
    docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label={label}"),
        "--filter",
        "label=devenv.cache=prepared",
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

fn seed(rows: usize) -> String {
    let values: Vec<String> = (1..=rows)
        .map(|i| format!("({i}, 'product {i}')"))
        .collect();
    format!("INSERT INTO products VALUES {};\n", values.join(", "))
}

#[test]
fn a_new_checkout_starts_from_the_snapshot_and_holds_what_a_fresh_build_holds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(POSTGRES, MIGRATION, &seed(500)) else {
        return;
    };
    let err = first.ok(&["up"]);
    assert_mentions(
        &err,
        &["no database snapshot for these migrations and seeds yet"],
    );
    let built = first.ok(&["cache", "build"]);
    assert_mentions(&built, &["built snapshot", "prepared a copy of snapshot"]);
    // The second checkout takes the prepared copy: its volume is a second name of it.
    let second = Checkout::new(POSTGRES, MIGRATION, &seed(500)).unwrap();
    let err = second.ok(&["up"]);
    assert_mentions(
        &err,
        &["database volume started from snapshot", "up to date"],
    );
    let backing = docker(&[
        "volume",
        "inspect",
        "-f",
        "{{ index .Labels \"devenv.cache.backing\" }}",
        &format!("{}_db-data", second.0.name),
    ]);
    assert!(backing.contains("-copy-"), "{backing}");
    // The third finds no copy left (the suite makes none in the background): its database's
    // first start copies the snapshot, and holds the same.
    let third = Checkout::new(POSTGRES, MIGRATION, &seed(500)).unwrap();
    let err = third.ok(&["up"]);
    assert_mentions(&err, &["database volume started from snapshot"]);
    assert_same_dump(&first.dump(), &third.dump());
    // A snapshot that third's container still mounts is kept by prune, and said.
    let (json, _) = first
        .0
        .run_ok(&["cache", "prune", "--project", &first.0.name, "--json"]);
    let pruned: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(pruned["in_use"].as_array().unwrap().len(), 1, "{pruned}");
    // Made again (down, up), the second's container starts on its data as it is.
    second.0.psql("insert into products values (9999, 'kept')");
    second.ok(&["down"]);
    let err = second.ok(&["up"]);
    assert!(!err.contains("snapshot"), "{err}");
    assert_eq!(second.0.psql("select count(*) from products").trim(), "501");
    second.0.psql("delete from products where id = 9999");
    // `down --volumes` removes the prepared copy under the volume too.
    second.ok(&["down", "--volumes", "--yes"]);
    assert!(!docker_has("volume", backing.trim()), "the copy stays");
    second.ok(&["up"]);
    assert_ne!(
        first.0.env_value("DB_PASSWORD"),
        second.0.env_value("DB_PASSWORD"),
        "each checkout has its own password"
    );
    let status = second.ok(&["migrate", "status"]);
    assert!(!status.contains("pending"), "{status}");
    assert_same_dump(&first.dump(), &second.dump());
    assert_eq!(second.0.psql("select count(*) from products").trim(), "500");
    // Its own password logs in from the host (the restore set it).
    if require("psql", has_program("psql", &["--version"])) {
        let login = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &second.0.env_value("DB_PORT")])
            .args(["-U", "shop", "-d", "shop", "-tAc", "select 1"])
            .env("PGPASSWORD", second.0.env_value("DB_PASSWORD"))
            .output()
            .unwrap();
        assert!(login.status.success(), "{login:?}");
    }
    // Sizes are recorded on the machine that built the snapshot.
    let (list, _) = first.0.run_ok(&["cache", "ls", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let ours: Vec<&serde_json::Value> = list["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["project"] == first.0.name.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{list}");
    assert!(
        ours[0]["size_bytes"].as_u64().unwrap() > 1_000_000,
        "{list}"
    );
}

#[test]
fn a_changed_migration_or_seed_misses_and_down_volumes_then_up_hits() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(POSTGRES, MIGRATION, &seed(10)) else {
        return;
    };
    first.ok(&["up"]);
    first.ok(&["cache", "build"]);
    first.ok(&["down", "--volumes", "--yes"]);
    let err = first.ok(&["up"]);
    assert_mentions(&err, &["database volume started from snapshot"]);
    let changed_migration = Checkout::new(
        POSTGRES,
        &format!("{MIGRATION}ALTER TABLE products ADD COLUMN price int;\n"),
        &seed(10),
    )
    .unwrap();
    let err = changed_migration.ok(&["up"]);
    assert_mentions(&err, &["no database snapshot", "applied 1 migration"]);
    let changed_seed = Checkout::new(POSTGRES, MIGRATION, &seed(11)).unwrap();
    let err = changed_seed.ok(&["up"]);
    assert_mentions(&err, &["no database snapshot"]);
    assert_eq!(
        changed_seed.0.psql("select count(*) from products").trim(),
        "11"
    );
    let off = Checkout::new(POSTGRES, MIGRATION, &seed(10)).unwrap();
    let err = off.ok(&["up", "--no-cache"]);
    assert!(!err.contains("snapshot"), "--no-cache: {err}");
}

#[test]
fn a_snapshot_without_its_completion_mark_is_removed_and_never_used() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(POSTGRES, MIGRATION, &seed(10)) else {
        return;
    };
    first.ok(&["up"]);
    let (json, _) = first.ok_out(&["cache", "build", "--json"]);
    let key = serde_json::from_str::<serde_json::Value>(&json).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let snapshot = format!("devenv-cache-{}", &key[..24]);
    // What a build killed before its end leaves: the volume, without the mark (and no
    // prepared copy, which is made after the mark).
    for copy in prepared_copies(&format!("devenv.cache.key={key}")) {
        docker(&["volume", "rm", &copy]);
    }
    remove_mark(&snapshot);
    let second = Checkout::new(POSTGRES, MIGRATION, &seed(10)).unwrap();
    let err = second.ok(&["up"]);
    assert_mentions(
        &err,
        &[
            "was not used and is removed: it has no completion mark",
            "applied 1 migration",
        ],
    );
    assert!(
        !docker_has("volume", &snapshot),
        "the broken snapshot stays"
    );
    assert_eq!(second.0.psql("select count(*) from products").trim(), "10");
}

#[test]
fn a_prepared_copy_without_its_mark_is_removed_and_never_used() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(POSTGRES, MIGRATION, &seed(10)) else {
        return;
    };
    first.ok(&["up"]);
    first.ok(&["cache", "build"]);
    let copies = prepared_copies(&format!("devenv.cache.project={}", first.0.name));
    let copy = copies
        .first()
        .expect("cache build prepares a copy")
        .as_str();
    // What a copy cut short leaves: the files, without the mark written last.
    remove_mark(copy);
    let second = Checkout::new(POSTGRES, MIGRATION, &seed(10)).unwrap();
    let err = second.ok(&["up"]);
    assert_mentions(
        &err,
        &[
            "a prepared copy of database snapshot",
            "was not used and is removed: it has no completion mark",
            "applied 1 migration",
        ],
    );
    assert!(!docker_has("volume", copy), "the broken copy stays");
    assert_eq!(second.0.psql("select count(*) from products").trim(), "10");
    // The snapshot itself stays and serves the next new volume.
    second.ok(&["down", "--volumes", "--yes"]);
    let err = second.ok(&["up"]);
    assert_mentions(&err, &["database volume started from snapshot"]);
}

#[test]
fn prune_removes_snapshots_not_used_lately_and_only_of_the_project_named() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(POSTGRES, MIGRATION, &seed(3)) else {
        return;
    };
    first.ok(&["up"]);
    first.ok(&["cache", "build"]);
    let name = first.0.name.as_str();
    let (json, _) = first.0.run_ok(&[
        "cache",
        "prune",
        "--project",
        name,
        "--unused-for",
        "1",
        "--json",
    ]);
    let kept: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        !kept["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["project"] == first.0.name.as_str()),
        "a snapshot used today went: {kept}"
    );
    let (json, _) = first
        .0
        .run_ok(&["cache", "prune", "--project", name, "--json"]);
    let pruned: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        pruned["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["project"] == first.0.name.as_str()),
        "{pruned}"
    );
    let (list, _) = first.0.run_ok(&["cache", "ls", "--json"]);
    assert!(!list.contains(&first.0.name), "{list}");
}

/// MariaDB's dump of the `shop` database, bookkeeping tables by their content columns.
fn mariadb_dump(project: &TestProject) -> String {
    let container = project.container("db");
    let password = format!("-p{}", project.env_value("DB_PASSWORD"));
    let sql = |query: &str| {
        docker(&[
            "exec", &container, "mariadb", "-ushop", &password, "shop", "-N", "-e", query,
        ])
    };
    let dump = docker(&[
        "exec",
        &container,
        "mariadb-dump",
        "-ushop",
        &password,
        "--skip-dump-date",
        "--ignore-table=shop._sqlx_migrations",
        "--ignore-table=shop._devenv_seeds",
        "shop",
    ]);
    format!(
        "{dump}\n{}\n{}",
        sql("select version, description, success, hex(checksum) from _sqlx_migrations order by 1"),
        sql("select name, checksum from _devenv_seeds order by 1")
    )
}

#[test]
fn mariadb_restores_for_the_same_passwords_and_holds_what_a_fresh_build_holds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(first) = Checkout::new(
        MARIADB,
        MIGRATION.replace(" text", " varchar(64)").as_str(),
        &seed(200),
    ) else {
        return;
    };
    first.ok(&["up"]);
    first.ok(&["cache", "build"]);
    let second = Checkout::new(
        MARIADB,
        &MIGRATION.replace(" text", " varchar(64)"),
        &seed(200),
    )
    .unwrap();
    let shared: String = first
        .0
        .read(".env")
        .lines()
        .filter(|l| l.starts_with("DB_PASSWORD=") || l.starts_with("DB_MARIADB_ROOT_PASSWORD="))
        .map(|l| format!("{l}\n"))
        .collect();
    let env = second.0.read(".env");
    second.0.write(".env", &format!("{env}{shared}"));
    let err = second.ok(&["up"]);
    assert_mentions(&err, &["database volume started from snapshot"]);
    assert_same_dump(&mariadb_dump(&first.0), &mariadb_dump(&second.0));
    let third = Checkout::new(
        MARIADB,
        &MIGRATION.replace(" text", " varchar(64)"),
        &seed(200),
    )
    .unwrap();
    let err = third.ok(&["up"]);
    assert_mentions(&err, &["no database snapshot", "applied 1 migration"]);
}

#[test]
fn db_reset_recreates_postgres_from_its_template_after_the_first_reset() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(project) = Checkout::new(POSTGRES, MIGRATION, &seed(300)) else {
        return;
    };
    project.ok(&["up", "--no-cache"]);
    project
        .0
        .psql("insert into products values (1000, 'added by hand')");
    let err = project.ok(&["db", "reset", "--yes"]);
    assert_mentions(
        &err,
        &["saved as the reset template", "applied 1 migration"],
    );
    let fresh = project.dump();
    project
        .0
        .psql("insert into products values (1001, 'added again')");
    let err = project.ok(&["db", "reset", "--yes"]);
    assert_mentions(&err, &["from its reset template"]);
    assert!(!err.contains("applied"), "{err}");
    assert_same_dump(&fresh, &project.dump());
    assert_eq!(
        project.0.psql("select count(*) from products").trim(),
        "300"
    );
    // With background work allowed, the reset sets the old database aside and a detached
    // `devenv cache spare` drops it and makes the spare copy; the next reset renames that.
    let spares = "select count(*) from pg_database where datname like '\\_devenv\\_spare\\_%'";
    let trash = "select count(*) from pg_database where datname like '\\_devenv\\_trash\\_%'";
    let in_background = || {
        let mut cmd = project.devenv(&["db", "reset", "--yes"]);
        cmd.env_remove("DEVENV_CACHE_BUILD");
        let (code, out, err) = output(&mut cmd);
        assert_eq!(code, 0, "{out}\n{err}");
        wait_until(
            "the spare copy and no database set aside",
            Duration::from_secs(60),
            || project.0.psql(spares).trim() == "1" && project.0.psql(trash).trim() == "0",
        );
        err
    };
    in_background();
    project
        .0
        .psql("insert into products values (1002, 'added once more')");
    let err = in_background();
    assert_mentions(&err, &["from its reset template (a spare copy)"]);
    assert_same_dump(&fresh, &project.dump());
    // Without background work the reset drops the old database itself: nothing is set aside.
    let err = project.ok(&["db", "reset", "--yes"]);
    assert_mentions(&err, &["from its reset template (a spare copy)"]);
    assert_eq!(project.0.psql(trash).trim(), "0");
    assert_eq!(
        project.0.psql(spares).trim(),
        "0",
        "the spare became the database"
    );
    project.write_migration_2();
    let err = project.ok(&["db", "reset", "--yes"]);
    assert_mentions(
        &err,
        &["saved as the reset template", "applied 2 migration"],
    );
    let templates = project
        .0
        .psql("select count(*) from pg_database where datname like '\\_devenv\\_reset\\_%'");
    assert_eq!(templates.trim(), "1", "the old template is dropped");
    assert_eq!(project.0.psql(spares).trim(), "0", "so is the old spare");
}
