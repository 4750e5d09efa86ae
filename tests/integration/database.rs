//! Migrations and seeds against the PostgreSQL and MariaDB fixtures, and SQLite with no
//! container at all.

use crate::support::*;

const MARIADB: &str = r#"[project]
name = "{name}"

[services.db]
use = "mariadb"
image = "mariadb:11"
env = { MARIADB_USER = "shop", MARIADB_PASSWORD = "${DB_PASSWORD}", MARIADB_DATABASE = "shop" }

[env.DB_PASSWORD]
secret = true

[env.DATABASE_URL]
value = "mysql://shop:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/shop"

[database]
service = "db"
url = "${DATABASE_URL}"
migrations = "migrations"
seeds = ["seeds"]
"#;

fn with_schema(project: &TestProject) {
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);\n",
    );
    project.write(
        "migrations/0002_price.sql",
        "ALTER TABLE products ADD COLUMN price INT NOT NULL DEFAULT 0;\n",
    );
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (id, name, price) VALUES (1, 'tea', 3), (2, 'cake', 5);\n",
    );
}

fn run_ok(project: &TestProject, args: &[&str]) -> (String, String) {
    let (code, out, err) = output(&mut project.devenv(args));
    assert_eq!(code, 0, "devenv {args:?} failed:\n{out}\n{err}");
    (out, err)
}

fn postgres_project() -> Option<TestProject> {
    docker_ready().then(|| {
        let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
        with_schema(&project);
        project
    })
}

#[test]
fn postgres_up_migrates_and_seeds_once() {
    let Some(project) = postgres_project() else {
        return;
    };
    let (_, err) = run_ok(&project, &["up"]);
    assert!(
        err.contains("applied 2 migration(s)") && err.contains("seeded seeds/01_products.sql"),
        "{err}"
    );
    assert_eq!(project.psql("select count(*) from products"), "2");
    assert_eq!(
        project
            .psql("select string_agg(version::text, ',' order by version) from _sqlx_migrations"),
        "1,2"
    );
    let (_, err) = run_ok(&project, &["up"]);
    assert!(
        err.contains("nothing to change"),
        "second up applies and seeds nothing: {err}"
    );
    assert_eq!(
        project.psql("select count(*) from products"),
        "2",
        "the seed did not run twice"
    );

    // A new migration through `devenv migrate`.
    let (out, _) = run_ok(&project, &["migrate", "new", "add stock"]);
    assert_eq!(out.trim(), "migrations/0003_add_stock.sql");
    project.write(
        "migrations/0003_add_stock.sql",
        "ALTER TABLE products ADD COLUMN stock INT NOT NULL DEFAULT 10;\n",
    );
    let (_, err) = run_ok(&project, &["migrate"]);
    assert!(
        err.contains("applied migrations/0003_add_stock.sql"),
        "{err}"
    );
    assert_eq!(project.psql("select sum(stock) from products"), "20");
    let (out, _) = run_ok(&project, &["migrate", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "applied", "applied"]);
}

#[test]
fn postgres_broken_migration_names_the_file_and_keeps_earlier_work() {
    let Some(project) = postgres_project() else {
        return;
    };
    run_ok(&project, &["up"]);
    project.write(
        "migrations/0003_broken.sql",
        "ALTER TABLE products ADD COLUMN ok INT;\nALTER TABLE products ADD COLUM x INT;\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("migration migrations/0003_broken.sql failed (line 2, column 34)"),
        "{err}"
    );
    assert!(err.contains("syntax error at or near \"INT\""), "{err}");
    assert_eq!(
        project.psql("select count(*) from products"),
        "2",
        "earlier data intact"
    );
    assert_eq!(
        project.psql("select count(*) from _sqlx_migrations where version = 3"),
        "0",
        "nothing recorded for the failed one"
    );
    assert_eq!(
        project.psql("select count(*) from information_schema.columns where table_name = 'products' and column_name = 'ok'"),
        "0",
        "its first statement was rolled back with it"
    );
    assert_eq!(
        project.psql("select count(*) from pg_locks where locktype = 'advisory'"),
        "0",
        "no migration lock left behind"
    );
    project.write(
        "migrations/0003_broken.sql",
        "ALTER TABLE products ADD COLUMN ok INT;\n",
    );
    run_ok(&project, &["migrate"]);
}

#[test]
fn postgres_edited_migration_is_a_checksum_error_with_the_fix() {
    let Some(project) = postgres_project() else {
        return;
    };
    run_ok(&project, &["up"]);
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT);\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("migrations/0001_products.sql was edited after it was applied"),
        "{err}"
    );
    assert!(
        err.contains("devenv db reset") && err.contains("devenv migrate new"),
        "{err}"
    );
    let (code, out, _) = output(&mut project.devenv(&["migrate", "status"]));
    assert_eq!(code, 1);
    assert!(out.contains("modified"), "{out}");
}

#[test]
fn postgres_reseed_and_reset() {
    let Some(project) = postgres_project() else {
        return;
    };
    run_ok(&project, &["up"]);
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (id, name) VALUES (3, 'scone');\n",
    );
    let (_, err) = run_ok(&project, &["seed"]);
    assert!(err.contains("changed since it ran; not re-run"), "{err}");
    assert_eq!(project.psql("select count(*) from products"), "2");
    let (_, err) = run_ok(&project, &["seed", "--reseed"]);
    assert!(err.contains("re-seeded seeds/01_products.sql"), "{err}");
    assert_eq!(project.psql("select count(*) from products"), "3");

    let (code, _, err) = output(&mut project.devenv(&["db", "reset"]));
    assert_eq!(code, 1, "no terminal, no --yes: refuse");
    assert!(err.contains("--yes"), "{err}");
    project.psql("insert into products (id, name) values (99, 'gone after reset')");
    let (_, err) = run_ok(&project, &["db", "reset", "--yes"]);
    assert!(err.contains("applied 2 migration(s)"), "{err}");
    assert_eq!(
        project.psql("select string_agg(name, ',' order by id) from products"),
        "scone"
    );
}

#[test]
fn an_external_migration_command_gets_database_url() {
    let Some(project) = postgres_project() else {
        return;
    };
    let stack = project.read("devenv.toml").replace(
        "migrations = \"migrations\"",
        "migrate = { command = [\"./migrate.sh\", \"up\"] }",
    );
    project.write("devenv.toml", &stack);
    project.write("migrate.sh", "#!/bin/sh\necho \"tool ran with $1\"\nprintf '%s' \"$DATABASE_URL\" > url.txt\npsql \"$DATABASE_URL\" -qc 'create table from_tool(id int)'\n");
    std::fs::set_permissions(
        project.path("migrate.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    if !require("psql", has_program("psql", &["--version"])) {
        return;
    }
    let (_, err) = run_ok(&project, &["up", "--no-seed"]);
    assert!(
        err.contains("migrate | tool ran with up"),
        "output streamed with a prefix: {err}"
    );
    assert_eq!(project.read("url.txt"), project.env_value("DATABASE_URL"));
    assert_eq!(project.psql("select count(*) from from_tool"), "0");
    project.write("migrate.sh", "#!/bin/sh\necho 'tool says no' >&2\nexit 4\n");
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("the migrate command `./migrate.sh up` failed")
            && err.contains("tool says no"),
        "{err}"
    );
}

#[test]
fn mariadb_up_migrates_and_seeds_once_and_names_a_broken_file() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(MARIADB, &["DB_PORT"]);
    with_schema(&project);
    let (_, err) = run_ok(&project, &["up"]);
    assert!(
        err.contains("applied 2 migration(s)") && err.contains("seeded seeds/01_products.sql"),
        "{err}"
    );
    let (_, err) = run_ok(&project, &["up"]);
    assert!(err.contains("nothing to change"), "{err}");
    let query = |sql: &str| {
        docker(&[
            "exec",
            "-e",
            &format!("MYSQL_PWD={}", project.env_value("DB_PASSWORD")),
            &format!("{}-db-1", project.name),
            "mariadb",
            "-ushop",
            "-N",
            "-e",
            sql,
            "shop",
        ])
    };
    assert_eq!(query("select count(*) from products"), "2");
    project.write(
        "migrations/0003_broken.sql",
        "ALTER TABLE nowhere ADD COLUMN x INT;\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("migration migrations/0003_broken.sql failed") && err.contains("nowhere"),
        "{err}"
    );
    assert_eq!(
        query("select count(*) from _sqlx_migrations where version = 3"),
        "0"
    );
    assert_eq!(query("select count(*) from products"), "2");
}

#[test]
fn sqlite_needs_no_container() {
    let project = TestProject::new(
        "[project]\nname = \"{name}\"\n[database]\nurl = \"sqlite:data/dev.db\"\nmigrations = \"migrations\"\nseeds = [\"seeds\"]\n",
    );
    with_schema(&project);
    let (_, err) = run_ok(&project, &["migrate"]);
    assert!(err.contains("applied migrations/0002_price.sql"), "{err}");
    let (_, err) = run_ok(&project, &["seed"]);
    assert!(err.contains("seeded seeds/01_products.sql"), "{err}");
    assert!(project.path("data/dev.db").exists());
    let (_, err) = run_ok(&project, &["db", "reset", "--yes"]);
    assert!(
        err.contains("applied 2 migration(s)") && err.contains("seeded"),
        "{err}"
    );
    let (out, _) = run_ok(&project, &["migrate", "status"]);
    assert!(out.contains("0001_products.sql  applied"), "{out}");
}

/// A project whose database password needs percent-encoding in the URL (`@`, `%`, `/`).
fn with_awkward_password(project: &TestProject, scheme: &str) {
    let port = project.env_value("DB_PORT");
    let mut env = project.read(".env");
    env.push_str(&format!(
        "DB_PASSWORD='p@ss%w/rd'\nDATABASE_URL={scheme}://shop:p%40ss%25w%2Frd@127.0.0.1:{port}/shop\n"
    ));
    project.write(".env", &env);
}

/// `devenv db shell` with SQL on stdin (no terminal), as a script would run it.
fn db_shell(project: &TestProject, sql: &str) -> (i32, String, String) {
    output(project.devenv(&["db", "shell"]).write_stdin(sql))
}

#[test]
fn db_shell_logs_in_with_a_percent_encoded_password_on_mariadb() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(MARIADB, &["DB_PORT"]);
    with_awkward_password(&project, "mysql");
    with_schema(&project);
    run_ok(&project, &["up"]);
    let (code, out, err) = db_shell(&project, "SELECT count(*) AS n FROM products;\n");
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["n", "2"],
        "{err}"
    );
    assert!(
        !err.contains("p@ss") && !out.contains("p@ss"),
        "the password stays hidden"
    );
}

#[test]
fn db_shell_runs_sql_from_stdin_on_postgres_with_a_percent_encoded_password() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
    with_awkward_password(&project, "postgres");
    run_ok(&project, &["up"]);
    let (code, out, err) = db_shell(&project, "SELECT 1 AS one;\n");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("one") && out.contains("(1 row)"),
        "{out}\n{err}"
    );
}
