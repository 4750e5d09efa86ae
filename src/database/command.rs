//! Project commands run on the host for the database (a migration tool, a seed script): the
//! stack's environment plus `DATABASE_URL`, output streamed with a prefix, never through a shell.

use crate::source::Diagnostic;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `argv` in `root` with `env` added; streams its output prefixed by `label`.
pub fn run(
    argv: &[String],
    root: &Path,
    env: &[(String, String)],
    label: &str,
) -> Result<(), Diagnostic> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Diagnostic::new(format!("the {label} command is empty")))?;
    let program_path = if program.contains('/') {
        root.join(program)
    } else {
        program.into()
    };
    let mut child = Command::new(&program_path)
        .args(args)
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Diagnostic::new(format!("cannot run the {label} command `{}`: {e}", argv.join(" ")))
                .with_help("check that the program is installed and on PATH (or the script exists and is executable)")
        })?;
    let stderr = child.stderr.take().expect("piped");
    let prefix = format!("{label} |");
    let err_prefix = prefix.clone();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{err_prefix} {line}");
            lines.push(line);
        }
        lines
    });
    let mut output: Vec<String> = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
    {
        eprintln!("{prefix} {line}");
        output.push(line);
    }
    output.extend(reader.join().unwrap_or_default());
    let status = child
        .wait()
        .map_err(|e| Diagnostic::new(format!("waiting for the {label} command: {e}")))?;
    if status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = output
        .iter()
        .rev()
        .take(20)
        .rev()
        .map(String::as_str)
        .collect();
    Err(Diagnostic::new(format!(
        "the {label} command `{}` failed ({status}):\n{}",
        argv.join(" "),
        tail.join("\n")
    ))
    .with_help(format!(
        "fix what its output says, then run it again (`devenv {}`)",
        if label == "seed" { "seed" } else { "migrate" }
    )))
}
