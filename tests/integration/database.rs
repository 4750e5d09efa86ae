//! Migrations and seeds against the PostgreSQL and MariaDB fixtures, and SQLite with no
//! container at all.

use crate::support::*;

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

fn postgres_project() -> Option<TestProject> {
    let project = shop()?;
    with_schema(&project);
    Some(project)
}

/// `postgres_project`, up, migrated and seeded.
fn postgres_project_up() -> Option<TestProject> {
    let project = postgres_project()?;
    project.up_ok(&[]);
    Some(project)
}

#[test]
fn postgres_up_migrates_and_seeds_once() {
    let Some(project) = postgres_project() else {
        return;
    };
    let (_, err) = project.run_ok(&["up"]);
    assert_mentions(
        &err,
        &["applied 2 migration(s)", "seeded seeds/01_products.sql"],
    );
    assert_eq!(project.psql("select count(*) from products"), "2");
    assert_eq!(
        project
            .psql("select string_agg(version::text, ',' order by version) from _sqlx_migrations"),
        "1,2"
    );
    let (_, err) = project.run_ok(&["up"]);
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
    let (out, _) = project.run_ok(&["migrate", "new", "add stock"]);
    assert_eq!(out.trim(), "migrations/0003_add_stock.sql");
    project.write(
        "migrations/0003_add_stock.sql",
        "ALTER TABLE products ADD COLUMN stock INT NOT NULL DEFAULT 10;\n",
    );
    let (_, err) = project.run_ok(&["migrate"]);
    assert_mentions(&err, &["applied migrations/0003_add_stock.sql"]);
    assert_eq!(project.psql("select sum(stock) from products"), "20");
    let (out, _) = project.run_ok(&["migrate", "status", "--json"]);
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
    let Some(project) = postgres_project_up() else {
        return;
    };
    project.write(
        "migrations/0003_broken.sql",
        "ALTER TABLE products ADD COLUMN ok INT;\nALTER TABLE products ADD COLUM x INT;\n",
    );
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &[
            "migration migrations/0003_broken.sql failed (line 2, column 34)",
            "syntax error at or near \"INT\"",
        ],
    );
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
    project.run_ok(&["migrate"]);
}

#[test]
fn postgres_edited_migration_is_a_checksum_error_with_the_fix() {
    let Some(project) = postgres_project_up() else {
        return;
    };
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT);\n",
    );
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &[
            "migrations/0001_products.sql was edited after it was applied",
            "devenv db reset",
            "devenv migrate new",
        ],
    );
    let (code, out, _) = output(&mut project.devenv(&["migrate", "status"]));
    assert_eq!(code, 1);
    assert_mentions(&out, &["modified"]);
}

#[test]
fn postgres_reseed_and_reset() {
    let Some(project) = postgres_project_up() else {
        return;
    };
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (id, name) VALUES (3, 'scone');\n",
    );
    let (_, err) = project.run_ok(&["seed"]);
    assert_mentions(&err, &["changed since it ran; not re-run"]);
    assert_eq!(project.psql("select count(*) from products"), "2");
    let (_, err) = project.run_ok(&["seed", "--reseed"]);
    assert_mentions(&err, &["re-seeded seeds/01_products.sql"]);
    assert_eq!(project.psql("select count(*) from products"), "3");

    let err = project.fails(&["db", "reset"]); // no terminal, no --yes: refuse
    assert_mentions(&err, &["--yes"]);
    project.psql("insert into products (id, name) values (99, 'gone after reset')");
    let (_, err) = project.run_ok(&["db", "reset", "--yes"]);
    assert_mentions(&err, &["applied 2 migration(s)"]);
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
    let (_, err) = project.run_ok(&["up", "--no-seed"]);
    assert!(
        err.contains("migrate | tool ran with up"),
        "output streamed with a prefix: {err}"
    );
    assert_eq!(project.read("url.txt"), project.env_value("DATABASE_URL"));
    assert_eq!(project.psql("select count(*) from from_tool"), "0");
    project.write("migrate.sh", "#!/bin/sh\necho 'tool says no' >&2\nexit 4\n");
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &[
            "the migrate command `./migrate.sh up` failed",
            "tool says no",
        ],
    );
}

#[test]
fn mariadb_up_migrates_and_seeds_once_and_names_a_broken_file() {
    let Some(project) = engine_project(MARIADB, &["DB_PORT"]) else {
        return;
    };
    with_schema(&project);
    let (_, err) = project.run_ok(&["up"]);
    assert_mentions(
        &err,
        &["applied 2 migration(s)", "seeded seeds/01_products.sql"],
    );
    let (_, err) = project.run_ok(&["up"]);
    assert_mentions(&err, &["nothing to change"]);
    let query = |sql: &str| {
        docker(&[
            "exec",
            "-e",
            &format!("MYSQL_PWD={}", project.env_value("DB_PASSWORD")),
            &project.container("db"),
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
    let err = project.fails(&["migrate"]);
    assert_mentions(
        &err,
        &["migration migrations/0003_broken.sql failed", "nowhere"],
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
    let (_, err) = project.run_ok(&["migrate"]);
    assert_mentions(&err, &["applied migrations/0002_price.sql"]);
    let (_, err) = project.run_ok(&["seed"]);
    assert_mentions(&err, &["seeded seeds/01_products.sql"]);
    assert!(project.path("data/dev.db").exists());
    let (_, err) = project.run_ok(&["db", "reset", "--yes"]);
    assert_mentions(&err, &["applied 2 migration(s)", "seeded"]);
    let (out, _) = project.run_ok(&["migrate", "status"]);
    assert_mentions(&out, &["0001_products.sql  applied"]);
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
    project.run_ok(&["up"]);
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
    project.run_ok(&["up"]);
    let (code, out, err) = db_shell(&project, "SELECT 1 AS one;\n");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("one") && out.contains("(1 row)"),
        "{out}\n{err}"
    );
}

/// A PostgreSQL stack that is up, with no migration applied yet.
fn postgres_up_without_migrations() -> Option<TestProject> {
    docker_ready().then(|| {
        let project = TestProject::engine(SHOP, &["DB_PORT", "CACHE_PORT"]);
        project.run_ok(&["up", "--no-migrate", "--no-seed"]);
        project
    })
}

#[test]
fn two_migration_files_with_one_version_are_refused_naming_both() {
    let Some(project) = postgres_up_without_migrations() else {
        return;
    };
    project.write("migrations/0001_a.sql", "CREATE TABLE a (id INT);\n");
    project.write("migrations/0001_b.sql", "CREATE TABLE b (id INT);\n");
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("migrations/0001_a.sql") && err.contains("migrations/0001_b.sql"),
        "names both files: {err}"
    );
    assert!(err.contains("version 1"), "{err}");
    assert_eq!(
        project.psql("select count(*) from pg_tables where tablename in ('a', 'b')"),
        "0",
        "nothing was applied"
    );

    std::fs::remove_file(project.path("migrations/0001_b.sql")).unwrap();
    std::fs::remove_file(project.path("migrations/0001_a.sql")).unwrap();
    project.write("migrations/0001_a.up.sql", "CREATE TABLE a (id INT);\n");
    project.write("migrations/0001_a.down.sql", "DROP TABLE a;\n");
    project.write("migrations/1_b.sql", "CREATE TABLE b (id INT);\n");
    let (code, _, err) = output(&mut project.devenv(&["migrate"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("migrations/0001_a.up.sql") && err.contains("migrations/1_b.sql"),
        "{err}"
    );
    std::fs::remove_file(project.path("migrations/1_b.sql")).unwrap();
    project.run_ok(&["migrate"]);
}

#[test]
fn mariadb_failing_seed_says_what_ddl_committed() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(MARIADB, &["DB_PORT"]);
    with_schema(&project);
    std::fs::remove_file(project.path("seeds/01_products.sql")).unwrap();
    project.write(
        "seeds/01_bad.sql",
        "INSERT INTO products (id, name) VALUES (1, 'tea');\nCREATE TABLE seed_extra (id INT);\nINSERT INTO products (id, name) VALUES (2, 'cake');\nINSERT INTO nowhere VALUES (3);\n",
    );
    let (code, _, err) = output(&mut project.devenv(&["up"]));
    assert_eq!(code, 1, "{err}");
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
    // What MySQL really did: the CREATE TABLE committed the INSERT before it and ended the
    // transaction, so the INSERT after it committed on its own.
    assert_eq!(
        query("select group_concat(id order by id) from products"),
        "1,2"
    );
    assert_eq!(query("select count(*) from seed_extra"), "0");
    assert!(
        err.contains("seed seeds/01_bad.sql failed at line 4") && err.contains("nowhere"),
        "{err}"
    );
    assert!(
        !err.contains("rolled back;") && err.contains("nothing was rolled back"),
        "no claim of a rollback that did not happen: {err}"
    );
    assert!(
        err.contains("the CREATE TABLE on line 2 committed") && err.contains("(lines 1, 2, 3)"),
        "says what stays: {err}"
    );
    assert_eq!(query("select count(*) from _devenv_seeds"), "0");
}

#[test]
fn mariadb_volume_with_another_password_fails_fast_naming_the_volume() {
    if !docker_ready() {
        return;
    }
    let project = TestProject::engine(MARIADB, &["DB_PORT"]);
    project.run_ok(&["up", "--no-migrate", "--no-seed"]);
    project.run_ok(&["down"]);
    let old = project.env_value("DB_PASSWORD");
    let env = project
        .read(".env")
        .replace(&old, "not-the-password-the-volume-has");
    project.write(".env", &env);
    let (code, _, err) = output(&mut project.devenv(&["up", "--timeout", "60"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refuses the credentials in .env") && err.contains("devenv down --volumes"),
        "refused by MySQL error 1045: {err}"
    );
    assert!(err.contains(&format!("volume {}_", project.name)), "{err}");
}
