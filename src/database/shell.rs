//! `devenv db shell`: the database's own client (psql, mariadb or mysql, sqlite3), logged in
//! with the credentials of the target's URL, user and password percent-decoded.

use super::{Kind, Target};
use crate::diagnostic::Diagnostic;
use crate::stack::Stack;
use percent_encoding::percent_decode_str;
use std::process::Command;

/// Who logs in where, from a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// User name (decoded).
    pub user: String,
    /// Password (decoded; empty when the URL has none).
    pub password: String,
    /// Database name (decoded; empty when the URL names none).
    pub database: String,
}

impl Login {
    /// Reads user, password and database from `scheme://user:password@host:port/database`.
    pub fn from_url(url: &str, shown: &str) -> Result<Self, Diagnostic> {
        let parsed = url::Url::parse(url).map_err(|e| {
            Diagnostic::new(format!("cannot read the database URL {shown}: {e}")).with_help(
                "check `url` in [database] and its variables in .env; characters such as `@`, `/` and `%` in a password must be percent-encoded (`%40`, `%2F`, `%25`)",
            )
        })?;
        let decode = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
        Ok(Self {
            user: decode(parsed.username()),
            password: parsed.password().map(decode).unwrap_or_default(),
            database: decode(parsed.path().trim_start_matches('/')),
        })
    }
}

/// The command that opens the database's shell: `sqlite3` on the host for SQLite, else the
/// client inside the database service's container. `tty` when stdin is a terminal.
pub fn command(stack: &Stack, target: &Target, tty: bool) -> Result<Command, Diagnostic> {
    if target.kind == Kind::Sqlite {
        let mut cmd = Command::new("sqlite3");
        cmd.arg(super::sqlite_path(&target.url).unwrap_or_default());
        return Ok(cmd);
    }
    let service = stack
        .database
        .as_ref()
        .and_then(|d| d.service.clone())
        .ok_or_else(|| {
            Diagnostic::new("[database] names no service to open a shell in")
                .with_help("add `service = \"db\"` to [database]")
        })?;
    let container = crate::plan::container_name(&stack.project.name, &service);
    let login = Login::from_url(&target.url, &target.shown)?;
    let (env, argv) = client(target.kind, login);
    Ok(crate::engine::shell::interactive_exec(
        &container, &env, &argv, tty,
    ))
}

/// The client's environment and command line inside the container.
fn client(kind: Kind, login: Login) -> (Vec<(&'static str, String)>, Vec<String>) {
    let Login {
        user,
        password,
        database,
    } = login;
    if kind == Kind::Postgres {
        let argv = ["psql", "-h", "127.0.0.1", "-U", &user, "-d", &database];
        return (
            vec![("PGPASSWORD", password)],
            argv.map(String::from).to_vec(),
        );
    }
    // MariaDB images ship `mariadb`, MySQL images `mysql`.
    let argv = [
        "sh",
        "-c",
        "if command -v mariadb >/dev/null; then exec mariadb \"$@\"; else exec mysql \"$@\"; fi",
        "sh",
        "-h",
        "127.0.0.1",
        "-u",
        &user,
        &database,
    ];
    (
        vec![("MYSQL_PWD", password)],
        argv.map(String::from).to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shell_for(url: &str) -> Command {
        let stack = crate::stack::tests_support::shop_at(Path::new("/p"));
        let target = Target::from_url(url, Path::new("/p")).unwrap();
        command(&stack, &target, false).unwrap()
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn env(cmd: &Command, name: &str) -> Option<String> {
        cmd.get_envs()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn the_password_is_percent_decoded_and_kept_out_of_the_arguments() {
        let cmd = shell_for("postgres://sh%40p:p%40ss%25w%2Frd@127.0.0.1:5432/shop");
        assert_eq!(cmd.get_program(), "docker");
        assert_eq!(env(&cmd, "PGPASSWORD").as_deref(), Some("p@ss%w/rd"));
        assert_eq!(
            args(&cmd),
            [
                "exec",
                "-i",
                "-e",
                "PGPASSWORD",
                "shop-db-1",
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "sh@p",
                "-d",
                "shop"
            ]
        );
        let cmd = shell_for("mariadb://shop:p%40ss%25w%2Frd@127.0.0.1:3306/shop");
        assert_eq!(env(&cmd, "MYSQL_PWD").as_deref(), Some("p@ss%w/rd"));
        assert!(args(&cmd).ends_with(&["-u".into(), "shop".into(), "shop".into()]));
        assert!(!args(&cmd).iter().any(|a| a.contains("p@ss")));
    }

    #[test]
    fn sqlite_opens_the_file_on_the_host() {
        let cmd = shell_for("sqlite:dev.db");
        assert_eq!(cmd.get_program(), "sqlite3");
        assert_eq!(args(&cmd), ["/p/dev.db"]);
    }

    #[test]
    fn a_url_without_password_logs_in_without_one() {
        let login = Login::from_url("postgres://app@h/db", "postgres://app@h/db").unwrap();
        assert_eq!(
            login,
            Login {
                user: "app".into(),
                password: String::new(),
                database: "db".into()
            }
        );
    }
}
