//! Project commands run on the host for the database (a migration tool, a seed script): the
//! stack's environment plus `DATABASE_URL`, never through a shell. Their output is streamed
//! line by line, prefixed, to the caller's printer (which suspends spinners, masks secrets and
//! honours `-q`); the last lines are kept for the error when the command fails.

use crate::diagnostic::Diagnostic;
use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How many of the last output lines a failure quotes.
const TAIL: usize = 20;

/// Runs `argv` in `root` with `env` added; each output line goes to `on_line` as
/// `"{label} | {line}"`.
pub async fn run(
    argv: &[String],
    root: &Path,
    env: &[(String, String)],
    label: &str,
    on_line: &(dyn Fn(&str) + Sync),
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Diagnostic::new(format!("cannot run the {label} command `{}`: {e}", argv.join(" ")))
                .with_help("check that the program is installed and on PATH (or the script exists and is executable)")
        })?;
    let mut stdout = child.stdout.take().map(|s| BufReader::new(s).split(b'\n'));
    let mut stderr = child.stderr.take().map(|s| BufReader::new(s).split(b'\n'));
    let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL);
    // Both pipes are read as lines come, so neither can fill up and block the program.
    while stdout.is_some() || stderr.is_some() {
        let line = tokio::select! {
            line = next_line(&mut stdout) => line,
            line = next_line(&mut stderr) => line,
        };
        let Some(line) = line else { continue };
        on_line(&format!("{label} | {line}"));
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = child
        .wait()
        .await
        .map_err(|e| Diagnostic::new(format!("waiting for the {label} command: {e}")))?;
    if status.success() {
        return Ok(());
    }
    Err(Diagnostic::new(format!(
        "the {label} command `{}` failed ({status}):\n{}",
        argv.join(" "),
        Vec::from(tail).join("\n")
    ))
    .with_help(format!(
        "fix what its output says, then run it again (`devenv {}`)",
        if label == "seed" { "seed" } else { "migrate" }
    )))
}

/// The next line of a pipe (bytes that are not UTF-8 shown as `�`); `None` (and the pipe
/// closed) at its end. A closed pipe never resolves, so `select!` waits on the other one.
async fn next_line(
    pipe: &mut Option<tokio::io::Split<BufReader<impl tokio::io::AsyncRead + Unpin>>>,
) -> Option<String> {
    let Some(lines) = pipe else {
        return std::future::pending().await;
    };
    match lines.next_segment().await {
        Ok(Some(line)) => Some(
            String::from_utf8_lossy(&line)
                .trim_end_matches('\r')
                .to_string(),
        ),
        Ok(None) | Err(_) => {
            *pipe = None;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn sh(script: &str) -> Vec<String> {
        ["sh", "-c", script].map(String::from).to_vec()
    }

    #[tokio::test]
    async fn both_streams_reach_the_printer_and_failures_quote_the_tail() {
        let seen = Mutex::new(Vec::new());
        let on_line = |line: &str| seen.lock().unwrap().push(line.to_string());
        let dir = std::env::temp_dir();
        run(
            &sh("echo out; printf 'err\\377\\r\\n' >&2"),
            &dir,
            &[],
            "migrate",
            &on_line,
        )
        .await
        .unwrap();
        let mut lines = seen.lock().unwrap().clone();
        lines.sort();
        assert_eq!(lines, ["migrate | err\u{fffd}", "migrate | out"]);

        let error = run(
            &sh("echo $GREETING; exit 3"),
            &dir,
            &[("GREETING".into(), "boom".into())],
            "seed",
            &on_line,
        )
        .await
        .unwrap_err();
        assert!(
            error.message.contains("failed (exit status: 3):\nboom"),
            "{}",
            error.message
        );
        assert!(error.help.unwrap().contains("devenv seed"));
    }
}
