//! The apps' part of the onboarding guide: each `[apps.NAME]` as the guide shows it (command,
//! directory, address, health check, setup, env file, watch paths, log), sorted into backend
//! and frontend, and the programs the apps need on the newcomer's machine.

use crate::env::Values;
use crate::stack::{
    App, AppCommand, AppSetup, AppWatch, HealthCheck, RestartPolicy, Stack, program_of, var_prefix,
};
use serde::Serialize;
use std::path::Path;

/// The guide's section an app is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves the others: depends on no app and gets no `env_file`.
    Backend,
    /// Talks to another app: depends on one, or gets an `env_file` (a dev server's
    /// `.env.local` pointing at a backend).
    Frontend,
}

/// Which section `app` goes in: a frontend depends on another app or gets an `env_file`;
/// every other app is a backend.
pub fn role(stack: &Stack, app: &App) -> Role {
    let on_an_app = app.depends_on.iter().any(|d| stack.apps.contains_key(d));
    if on_an_app || app.env_file.is_some() {
        Role::Frontend
    } else {
        Role::Backend
    }
}

/// One app as the guide shows it; every text is Markdown, variables as `${NAME}`.
#[derive(Debug, Serialize)]
pub struct AppDoc {
    name: String,
    node: String,
    role: Role,
    description: Option<String>,
    command: String,
    cwd: String,
    url: Option<String>,
    port: Option<String>,
    test_command: String,
    health: String,
    depends_on: Option<String>,
    setup: Option<String>,
    env_file: Option<EnvFileDoc>,
    watch: Option<String>,
    restart: &'static str,
    log: String,
}

impl AppDoc {
    /// The section it is shown in.
    pub fn role(&self) -> Role {
        self.role
    }
}

/// An app's `env_file`: where, and each `KEY=value` line it gets.
#[derive(Debug, Serialize)]
struct EnvFileDoc {
    path: String,
    lines: Vec<String>,
}

/// Every app of the stack, in devenv.toml's order; `placeholders` shows variables as `${NAME}`.
pub fn app_docs(stack: &Stack, placeholders: &Values) -> Vec<AppDoc> {
    stack
        .apps
        .values()
        .map(|app| app_doc(stack, app, placeholders))
        .collect()
}

fn app_doc(stack: &Stack, app: &App, placeholders: &Values) -> AppDoc {
    AppDoc {
        name: app.name.clone(),
        node: var_prefix(&app.name).to_ascii_lowercase(),
        role: role(stack, app),
        description: app.description.clone(),
        command: command_text(&app.command, placeholders),
        cwd: directory(&app.cwd),
        url: app
            .port
            .as_ref()
            .map(|p| format!("http://127.0.0.1:${{{}}}", p.var)),
        port: app
            .port
            .as_ref()
            .map(|p| format!("`{}`, {} unless `.env` says otherwise", p.var, p.default)),
        test_command: if app.cwd.as_os_str().is_empty() {
            "devenv run -- <test command>".into()
        } else {
            format!("cd {} && devenv run -- <test command>", app.cwd.display())
        },
        health: health_text(app),
        depends_on: (!app.depends_on.is_empty()).then(|| code_list(&app.depends_on)),
        setup: app.setup.as_ref().map(|s| setup_text(s, placeholders)),
        env_file: app.env_file.as_ref().map(|file| EnvFileDoc {
            path: file.path.display().to_string(),
            lines: file
                .vars
                .iter()
                .map(|(key, value)| format!("{key}={}", placeholders.expand(value)))
                .collect(),
        }),
        watch: app.watch.as_ref().map(watch_text),
        restart: match app.restart {
            RestartPolicy::Never => "never",
            RestartPolicy::OnFailure => "when it fails",
            RestartPolicy::Always => "whenever it exits",
        },
        log: format!(".devenv/logs/{}.log", app.name),
    }
}

/// The setup command, and when it runs.
fn setup_text(setup: &AppSetup, placeholders: &Values) -> String {
    let command = command_text(&setup.command, placeholders);
    let inputs: Vec<String> = setup
        .inputs
        .iter()
        .map(|i| i.display().to_string())
        .collect();
    if inputs.is_empty() {
        format!("`{command}` (once)")
    } else {
        format!("`{command}`, again when {} changes", code_list(&inputs))
    }
}

/// The watched directories, and what they ignore.
fn watch_text(watch: &AppWatch) -> String {
    let paths: Vec<String> = watch.paths.iter().map(|p| directory(p)).collect();
    if watch.ignore.is_empty() {
        code_list(&paths)
    } else {
        format!("{} (not {})", code_list(&paths), code_list(&watch.ignore))
    }
}

/// The programs the apps and their setups start, each with who needs it (`node` (web),
/// `python3` (api's setup)): what a newcomer must install. Paths (`.venv/bin/python`, made
/// by a setup or kept in the project) and commands that start with shell syntax are left out.
pub fn programs(stack: &Stack) -> Vec<String> {
    let mut needed: Vec<(String, Vec<String>)> = Vec::new();
    for app in stack.apps.values() {
        let setup = app
            .setup
            .as_ref()
            .map(|s| (&s.command, format!("{}'s setup", app.name)));
        for (command, user) in std::iter::once((&app.command, app.name.clone())).chain(setup) {
            let Some(program) = program_of(command).filter(|p| !p.contains('/')) else {
                continue;
            };
            match needed.iter_mut().find(|(p, _)| *p == program) {
                Some((_, users)) => users.push(user),
                None => needed.push((program, vec![user])),
            }
        }
    }
    needed
        .into_iter()
        .map(|(program, users)| format!("`{program}` ({})", users.join(", ")))
        .collect()
}

/// A command as a reader would type it: a command line as written (variables as `${NAME}`,
/// `$$` as `$`), an argv array joined with its arguments quoted for a shell where needed.
fn command_text(command: &AppCommand, placeholders: &Values) -> String {
    match command {
        AppCommand::Shell(line) => placeholders.expand(line),
        AppCommand::Argv(argv) => argv
            .iter()
            .map(|arg| shell_quoted(&placeholders.expand(arg)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `arg` as a shell word: unchanged when plain, else in single quotes.
fn shell_quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}$".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// What the app's readiness check is, in words.
fn health_text(app: &App) -> String {
    let port_text = |port: u16| match &app.port {
        Some(own) if own.default == port => format!("`${{{}}}`", own.var),
        _ => port.to_string(),
    };
    match app.health.as_ref().map(|h| &h.check) {
        Some(HealthCheck::Http { path, port }) => {
            format!("`GET {path}` on port {} answers 2xx", port_text(*port))
        }
        Some(HealthCheck::Tcp(port)) => {
            format!("port {} accepts connections", port_text(*port))
        }
        Some(HealthCheck::Command(argv)) => format!("`{}` exits 0", argv.join(" ")),
        None if app.port.is_some() => "its port accepts connections".into(),
        None => "it keeps running".into(),
    }
}

/// A directory relative to the project, with a trailing `/` (`.` for the project's own).
fn directory(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        ".".into()
    } else {
        format!("{}/", path.display())
    }
}

/// `a`, `b`, `c` in backticks.
fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;

    /// The bundled example, loaded where it is (its apps need its directories).
    fn example() -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        let text = std::fs::read_to_string(root.join("devenv.toml")).unwrap();
        let source = SourceFile::new("devenv.toml", text);
        crate::stack::load_source(&source, &root, &root.join("devenv.toml")).unwrap()
    }

    fn placeholders(stack: &Stack) -> Values {
        Values(
            stack
                .variables
                .keys()
                .map(|k| (k.clone(), format!("${{{k}}}")))
                .collect(),
        )
    }

    /// A stack of `apps` tables (no directories needed) beside a database service.
    fn stack(apps: &str) -> Stack {
        let text =
            format!("[project]\nname = \"x\"\n[services.db]\nimage = \"postgres:16\"\n{apps}");
        let source = SourceFile::new("devenv.toml", text);
        let root = Path::new("/p");
        crate::stack::load_source(&source, root, &root.join("devenv.toml")).unwrap()
    }

    #[test]
    fn a_frontend_depends_on_an_app_or_gets_an_env_file() {
        let stack = stack(concat!(
            "[apps.api]\ncommand = \"serve\"\ndepends_on = [\"db\"]\n",
            "[apps.web]\ncommand = \"vite\"\ndepends_on = [\"api\"]\n",
            "[apps.admin]\ncommand = \"vite\"\nenv_file = { path = \".env.local\", vars = { A = \"1\" } }\n",
            "[apps.worker]\ncommand = \"work\"\n",
        ));
        let roles: Vec<(&str, Role)> = stack
            .apps
            .values()
            .map(|app| (app.name.as_str(), role(&stack, app)))
            .collect();
        assert_eq!(
            roles,
            [
                ("api", Role::Backend),
                ("web", Role::Frontend),
                ("admin", Role::Frontend),
                ("worker", Role::Backend),
            ],
            "depending on a service does not make a frontend"
        );
    }

    #[test]
    fn the_example_apps_are_shown_with_variables_never_values() {
        let stack = example();
        let docs = app_docs(&stack, &placeholders(&stack));
        let json = serde_json::to_value(&docs).unwrap();
        let api = &json[0];
        assert_eq!(api["role"], "backend");
        assert_eq!(api["command"], ".venv/bin/python app.py");
        assert_eq!(api["cwd"], "api/");
        assert_eq!(api["url"], "http://127.0.0.1:${API_PORT}");
        assert_eq!(api["port"], "`API_PORT`, 8000 unless `.env` says otherwise");
        assert_eq!(
            api["test_command"],
            "cd api && devenv run -- <test command>"
        );
        assert_eq!(
            api["health"],
            "`GET /health` on port `${API_PORT}` answers 2xx"
        );
        assert_eq!(api["depends_on"], "`db`, `cache`");
        assert!(
            api["setup"]
                .as_str()
                .unwrap()
                .ends_with(", again when `api/requirements.txt` changes"),
            "{api}"
        );
        assert_eq!(api["watch"], "`api/` (not `.venv`, `__pycache__`)");
        assert_eq!(api["log"], ".devenv/logs/api.log");
        let web = &json[1];
        assert_eq!(web["role"], "frontend");
        assert_eq!(
            web["command"],
            "node --env-file=.env.local server.mjs --port ${WEB_PORT}"
        );
        assert_eq!(web["env_file"]["path"], "web/.env.local");
        assert_eq!(
            web["env_file"]["lines"][0],
            "API_URL=http://127.0.0.1:${API_PORT}"
        );
        assert_eq!(
            programs(&stack),
            ["`python3` (api's setup)", "`node` (web)"]
        );
    }

    #[test]
    fn commands_read_as_typed_in_a_shell() {
        let stack = stack(concat!(
            "[apps.api]\ncommand = [\"serve\", \"--greeting\", \"it's me\", \"--port\", \"${API_PORT}\"]\nport = 8080\nhealth = { tcp = 9000 }\nrestart = \"never\"\n",
            "[apps.job]\ncommand = \"cd jobs && ./run $$HOME\"\n",
        ));
        let docs = app_docs(&stack, &placeholders(&stack));
        let json = serde_json::to_value(&docs).unwrap();
        assert_eq!(
            json[0]["command"],
            r"serve --greeting 'it'\''s me' --port ${API_PORT}"
        );
        assert_eq!(json[0]["health"], "port 9000 accepts connections");
        assert_eq!(json[0]["restart"], "never");
        assert_eq!(json[1]["command"], "cd jobs && ./run $HOME");
        assert_eq!(json[1]["cwd"], ".");
        assert_eq!(json[1]["health"], "it keeps running");
        assert_eq!(
            programs(&stack),
            ["`serve` (api)"],
            "shell syntax is not guessed at"
        );
    }
}
