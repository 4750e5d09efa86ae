//! `[apps.NAME]`: the project's own processes (backend, frontend, workers), read from the
//! stack file into [`App`]s. App and service names share one namespace; every app with a
//! `port` gets the variable `<APP>_PORT` that the whole file may interpolate and `.env` may
//! override. [`Stack::check_programs`] is the check that needs this machine (is the program
//! on PATH?), kept out of loading so that `docs` or `generate` work where the tools are absent.

use super::load::Loader;
use super::merge::Written;
use super::model::*;
use super::parse::{NameKind, port_var_name};
use super::raw::{
    RawApp, RawAppCommand, RawAppEnvFile, RawAppSetup, RawAppWatch, RawRestart, Scalar,
};
use super::spans::Spans;
use crate::diagnostic::{Diagnostic, Location};
use indexmap::IndexMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

impl Loader<'_> {
    /// Every `[apps.NAME]`, with its port variable added to `variables`.
    pub(super) fn apps(
        &self,
        raw: IndexMap<Spanned<String>, Spanned<RawApp>>,
        services: &IndexMap<String, Service>,
        variables: &mut IndexMap<String, Variable>,
        spans: &mut Spans,
    ) -> Result<IndexMap<String, App>, Diagnostic> {
        let mut apps = IndexMap::new();
        for (key, raw_app) in raw {
            self.name(NameKind::App, &key)?;
            if services.contains_key(key.get_ref()) {
                return Err(self
                    .err(
                        key.span(),
                        format!("`{}` is both a service and an app", key.get_ref()),
                    )
                    .with_help("apps and services share one namespace: rename the app (e.g. `api` → `api-server`)"));
            }
            let name = key.into_inner();
            let app = self.app(&name, raw_app.into_inner(), spans)?;
            if let Some(var) = port_variable(&app) {
                if let Some(existing) = variables.get(&var.name) {
                    return Err(self
                        .err(
                            spans.port(&name, 0),
                            format!(
                                "the port variable `{}` of app `{name}` is already defined: {}",
                                var.name, existing.description
                            ),
                        )
                        .with_help("rename the app or the service so that their names differ in more than `-` and `_`"));
                }
                variables.insert(var.name.clone(), var);
            }
            apps.insert(name, app);
        }
        Ok(apps)
    }

    fn app(&self, name: &str, raw: RawApp, spans: &mut Spans) -> Result<App, Diagnostic> {
        let command_span = raw.command.span();
        let command = self.app_command(raw.command, spans)?;
        let cwd = self.app_cwd(raw.cwd.as_ref())?;
        let image = raw
            .image
            .map(|image| self.app_image(image, spans))
            .transpose()?;
        let port = raw.port.map(|port| {
            spans.add_port(name, 0, port.span());
            AppPort {
                var: port_var_name(name, 0, *port.get_ref()),
                default: port.into_inner(),
            }
        });
        let mut env = IndexMap::new();
        for (key, value) in raw.env.into_iter().flatten() {
            self.name(NameKind::EnvironmentVariable, &key)?;
            spans.interpolated(&value.get_ref().0, value.span());
            env.insert(key.into_inner(), value.into_inner().0);
        }
        for dep in raw.depends_on.iter().flatten() {
            spans.add_depends_on(name, dep.get_ref(), dep.span());
        }
        let health = raw
            .health
            .map(|health| {
                let written = Written {
                    span: health.span(),
                    value: health.into_inner(),
                    from_catalog: false,
                };
                self.health(&written, port.as_ref().map(|p| p.default))
                    .map_err(|e| match port {
                        None if e.message.contains("needs a `port`") => e.with_help(
                            "give the app a `port`, or add `port = 8080` to its health check",
                        ),
                        _ => e,
                    })
            })
            .transpose()?;
        Ok(App {
            name: name.to_string(),
            description: raw.description,
            command,
            command_location: self.location(command_span),
            image,
            cwd,
            port,
            port_env: raw.port_env.unwrap_or(true),
            env,
            env_file: raw
                .env_file
                .map(|f| self.env_file(f.into_inner(), spans))
                .transpose()?,
            depends_on: raw
                .depends_on
                .into_iter()
                .flatten()
                .map(Spanned::into_inner)
                .collect(),
            health,
            restart: match raw.restart.map(Spanned::into_inner) {
                Some(RawRestart::Never) => RestartPolicy::Never,
                Some(RawRestart::Always) => RestartPolicy::Always,
                Some(RawRestart::OnFailure) | None => RestartPolicy::OnFailure,
            },
            setup: raw.setup.map(|s| self.setup(s, spans)).transpose()?,
            watch: raw
                .watch
                .map(|w| {
                    let span = w.span();
                    self.watch(w.into_inner(), span)
                })
                .transpose()?,
        })
    }

    /// A command: a non-empty string or argv array; each piece may interpolate variables.
    fn app_command(
        &self,
        raw: Spanned<RawAppCommand>,
        spans: &mut Spans,
    ) -> Result<AppCommand, Diagnostic> {
        let span = raw.span();
        let command = match raw.into_inner() {
            RawAppCommand::Shell(line) => AppCommand::Shell(line),
            RawAppCommand::Argv(argv) => AppCommand::Argv(argv),
        };
        let empty = match &command {
            AppCommand::Shell(line) => line.trim().is_empty(),
            AppCommand::Argv(argv) => argv.first().is_none_or(|p| p.trim().is_empty()),
        };
        if empty {
            return Err(self.err(span, "the command is empty").with_help(
                "write a command line (`command = \"npm run dev\"`) or a program and its arguments (`command = [\"npm\", \"run\", \"dev\"]`)",
            ));
        }
        for piece in command.argv().iter().skip(match command {
            AppCommand::Shell(_) => 2,
            AppCommand::Argv(_) => 0,
        }) {
            spans.interpolated(piece, span.clone());
        }
        Ok(command)
    }

    /// An image reference: one word (no spaces), which may interpolate variables.
    fn app_image(&self, raw: Spanned<String>, spans: &mut Spans) -> Result<String, Diagnostic> {
        let image = raw.get_ref();
        if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
            return Err(self
                .err(raw.span(), format!("`{image}` is not an image reference"))
                .with_help("write a reference such as `image = \"registry.example.com/shop/api:1.4\"` (no spaces), or leave `image` out"));
        }
        spans.interpolated(image, raw.span());
        Ok(raw.into_inner())
    }

    /// The working directory: relative to devenv.toml, and it must exist.
    fn app_cwd(&self, raw: Option<&Spanned<String>>) -> Result<PathBuf, Diagnostic> {
        let Some(cwd) = raw else {
            return Ok(PathBuf::new());
        };
        let path = PathBuf::from(cwd.get_ref());
        if path.is_absolute() || cwd.get_ref().starts_with('~') {
            return Err(self
                .err(
                    cwd.span(),
                    format!("`{}` is not a relative path", cwd.get_ref()),
                )
                .with_help("write the directory relative to devenv.toml (e.g. `cwd = \"api\"`)"));
        }
        if !self.root.join(&path).is_dir() {
            return Err(self
                .err(
                    cwd.span(),
                    format!("the directory `{}` does not exist", cwd.get_ref()),
                )
                .with_help(
                    "create it, or correct `cwd` (relative to devenv.toml; leave it out for devenv.toml's directory)",
                ));
        }
        Ok(path)
    }

    fn env_file(&self, raw: RawAppEnvFile, spans: &mut Spans) -> Result<AppEnvFile, Diagnostic> {
        let mut vars = IndexMap::new();
        for (key, value) in raw.vars {
            self.name(NameKind::EnvironmentVariable, &key)?;
            spans.interpolated(&value.get_ref().0, value.span());
            let Scalar(value) = value.into_inner();
            vars.insert(key.into_inner(), value);
        }
        Ok(AppEnvFile {
            path: self.project_path(&raw.path)?,
            vars,
        })
    }

    fn setup(&self, raw: Spanned<RawAppSetup>, spans: &mut Spans) -> Result<AppSetup, Diagnostic> {
        let raw = raw.into_inner();
        Ok(AppSetup {
            command_location: self.location(raw.command.span()),
            command: self.app_command(raw.command, spans)?,
            inputs: raw
                .inputs
                .iter()
                .map(|input| self.project_path(input))
                .collect::<Result<_, _>>()?,
        })
    }

    fn watch(&self, raw: RawAppWatch, span: Range<usize>) -> Result<AppWatch, Diagnostic> {
        // The supervisor compiles them again; a bad one is caught here, where its line is known.
        if let Err(e) = crate::apps::ignore::Ignore::new(&raw.ignore) {
            let mut diagnostic = self.err(span, e.message);
            diagnostic.help = e.help;
            return Err(diagnostic);
        }
        Ok(AppWatch {
            paths: raw
                .paths
                .iter()
                .map(|path| self.project_path(path))
                .collect::<Result<_, _>>()?,
            ignore: raw.ignore,
        })
    }

    /// Where `span` is, for a check made after loading.
    fn location(&self, span: Range<usize>) -> Option<Box<Location>> {
        self.src.diagnostic(span, String::new()).location
    }
}

/// The variable `<APP>_PORT` of an app with a port.
fn port_variable(app: &App) -> Option<Variable> {
    let port = app.port.as_ref()?;
    Some(Variable {
        name: port.var.clone(),
        description: format!("Port of app `{}`", app.name),
        kind: VariableKind::AppPort {
            app: app.name.clone(),
        },
        secret: false,
        value: Some(port.default.to_string()),
    })
}

/// Shell words that are not programs: builtins and keywords (`cd web && npm run dev`).
const SHELL_WORDS: &[&str] = &[
    ".", ":", "cd", "exec", "export", "source", "set", "unset", "eval", "if", "for", "while",
    "until", "case", "time", "test", "[", "{", "(", "!", "true", "false", "ulimit", "umask",
    "trap", "wait", "command",
];

/// The program a command starts, when it can be told without a shell: argv's first item, or
/// the first word of a command line made of plain words (no quotes, variables, redirections
/// or assignments).
pub fn program_of(command: &AppCommand) -> Option<String> {
    let program = match command {
        AppCommand::Argv(argv) => argv.first()?.clone(),
        AppCommand::Shell(line) => {
            let first = line.split_whitespace().next()?;
            let plain = first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./+@%,".contains(c));
            if !plain || SHELL_WORDS.contains(&first) {
                return None;
            }
            first.to_string()
        }
    };
    (!program.contains("${") && !program.is_empty()).then_some(program)
}

/// Whether `program` can be executed from `cwd`: a path (with a `/`) is looked up from `cwd`,
/// a bare name on `PATH`.
pub fn program_found(program: &str, cwd: &Path) -> bool {
    if program.contains('/') {
        return is_executable(&cwd.join(program));
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program))))
        .unwrap_or(false)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Stack {
    /// Checks that every app's program (and its setup's) can be found on this machine: argv's
    /// first item, or the first plain word of a command line (a line with shell syntax up
    /// front is the shell's business). A relative path in the command of an app with a
    /// setup (`.venv/bin/python`, `node_modules/.bin/vite`) may be what the setup makes, so
    /// it need not exist yet. The error points at the command in devenv.toml.
    pub fn check_programs(&self) -> Result<(), Diagnostic> {
        match self.apps.values().find_map(|app| self.missing_program(app)) {
            Some(missing) => Err(missing),
            None => Ok(()),
        }
    }

    /// The first program of `app` (its command's, then its setup's) that cannot be found. A
    /// relative path (`.venv/bin/python`) of an app with a setup is not looked for: the setup
    /// may be what makes it.
    pub fn missing_program(&self, app: &App) -> Option<Diagnostic> {
        let cwd = self.root.join(&app.cwd);
        let setup = app.setup.as_ref();
        let commands = std::iter::once((&app.command, &app.command_location, setup.is_some()))
            .chain(setup.map(|s| (&s.command, &s.command_location, false)));
        for (command, location, after_setup) in commands {
            let Some(program) = program_of(command) else {
                continue;
            };
            let made_by_setup = after_setup && program.contains('/') && !program.starts_with('/');
            if !made_by_setup && !program_found(&program, &cwd) {
                return Some(Diagnostic {
                    message: format!("app `{}`: `{program}` is not found on PATH", app.name),
                    location: location.clone(),
                    help: Some(format!(
                        "install `{program}` (or add its directory to PATH), or correct the command; a path such as `./bin/{program}` is looked up from the app's `cwd`"
                    )),
                });
            }
        }
        None
    }
}
