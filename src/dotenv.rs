//! `.env` values: how devenv writes them so dotenvy, Compose and shells read them back unchanged.

use crate::stack::interpolate::{self, Segment};

/// Quotes a literal value for a `.env` line. Plain values stay bare; anything else is
/// double-quoted with `\`, `"`, `$` and newlines escaped (dotenvy's escapes).
pub fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@,+=%<>".contains(c));
    if bare {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a stack value template (Compose syntax: `${VAR}`, `$$`) as a `.env` value that
/// dotenvy expands the same way: literal parts escaped, references as `${VAR}`.
pub fn render_template(template: &str) -> String {
    let Ok(segments) = interpolate::parse(template) else {
        return quote(template);
    };
    if segments.iter().all(|s| matches!(s, Segment::Literal(_))) {
        return quote(&interpolate::expand(template, &|_| None).unwrap_or_default());
    }
    let mut out = String::from("\"");
    for segment in segments {
        match segment {
            Segment::Literal(text) => {
                let quoted = quote(&text);
                out.push_str(
                    quoted
                        .strip_prefix('"')
                        .and_then(|q| q.strip_suffix('"'))
                        .unwrap_or(&quoted),
                );
            }
            Segment::Var(var) => out.push_str(&format!("${{{}}}", var.name)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(line_value: &str) -> String {
        let text = format!("A=a\nX={line_value}\n");
        dotenvy::from_read_iter(text.as_bytes())
            .map(Result::unwrap)
            .find(|(k, _)| k == "X")
            .unwrap()
            .1
    }

    #[test]
    fn literals_round_trip_through_dotenvy() {
        for value in [
            "plain",
            "with space",
            "q\"uote",
            "it's",
            "$HOME ${A}",
            "back\\slash",
            "multi\nline",
            "#hash",
            "ünï ✓",
            "",
        ] {
            assert_eq!(read_back(&quote(value)), value, "value {value:?}");
        }
    }

    #[test]
    fn templates_expand_like_the_stack() {
        assert_eq!(read_back(&render_template("x-${A}-$$y")), "x-a-$y");
    }
}

/// A `.env` file as read: its text (kept byte for byte) and the values dotenvy reads from it.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    /// The file's text.
    pub text: String,
    /// Key → value, with dotenvy's quoting and expansion rules applied.
    pub values: indexmap::IndexMap<String, String>,
}

/// Reads `.env` at `path`; `Ok(None)` when there is none. A line dotenvy cannot parse is an
/// error naming the file and the line.
pub fn read(path: &std::path::Path) -> Result<Option<EnvFile>, crate::source::Diagnostic> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(crate::source::Diagnostic::new(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    parse(path, text).map(Some)
}

/// Parses `.env` text; `path` names it in errors.
pub fn parse(path: &std::path::Path, text: String) -> Result<EnvFile, crate::source::Diagnostic> {
    let mut values = indexmap::IndexMap::new();
    // A byte-order mark (editors on Windows add one) is not part of the first key.
    let content = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if let Some((line, column)) = unsupported_default(content) {
        let source = crate::source::SourceFile::new(path.to_path_buf(), content.to_string());
        let start: usize = content
            .lines()
            .take(line - 1)
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + column;
        return Err(source
            .diagnostic(start..start + 2, format!("{} line {line}: `${{VAR:-default}}` is not supported in .env", path.display()))
            .with_help("dotenv readers expand only `${VAR}`: write the value itself, or put the default in devenv.toml"));
    }
    for item in dotenvy::from_read_iter(content.as_bytes()) {
        match item {
            Ok((key, value)) => {
                values.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(content, index)) => {
                let first = content.lines().next().unwrap_or_default();
                let line = text
                    .lines()
                    .position(|l| l.trim_start_matches('\u{feff}') == first)
                    .map_or(0, |n| n + 1);
                let source = crate::source::SourceFile::new(path.to_path_buf(), text.clone());
                let start: usize = text
                    .lines()
                    .take(line.saturating_sub(1))
                    .map(|l| l.len() + 1)
                    .sum();
                let column = content.char_indices().nth(index).map_or(0, |(i, _)| i);
                return Err(source
                    .diagnostic(start + column..start + column + 1, format!("{} line {line} cannot be parsed", path.display()))
                    .with_help("write KEY=value; quote values with spaces or `#` (\"a b\"), and close every quote"));
            }
            Err(e) => {
                return Err(crate::source::Diagnostic::new(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    }
    crate::redact::register_named(&values);
    Ok(EnvFile { text, values })
}

/// The first `${NAME:-x}` / `${NAME-x}` outside single quotes and comments: (1-based line, byte column).
fn unsupported_default(text: &str) -> Option<(usize, usize)> {
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let (mut in_single, mut in_double) = (false, false);
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if !in_single => i += 1,
                b'\'' if !in_double => in_single = !in_single,
                b'"' if !in_single => in_double = !in_double,
                b'#' if !in_single && !in_double && i > 0 && bytes[i - 1] == b' ' => break,
                b'$' if !in_single && bytes.get(i + 1) == Some(&b'{') => {
                    let body = &line[i + 2..];
                    let end = body.find('}').unwrap_or(body.len());
                    if body[..end].contains('-') {
                        return Some((index + 1, i));
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    None
}

/// Today's date as `YYYY-MM-DD` (UTC), for the comment above keys devenv appends.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod file_tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_bad_line_is_named_by_number() {
        let err = parse(Path::new(".env"), "A=1\n# ok\nB=\"unclosed\nC=3\n".into()).unwrap_err();
        assert_eq!(err.location.as_ref().map(|l| l.line), Some(3), "{err}");
        assert!(err.message.contains(".env line 3"), "{err}");
    }

    #[test]
    fn values_follow_dotenvy() {
        let file = parse(
            Path::new(".env"),
            "export A=1\nB='x y' # note\nC=\"${A}-2\"\n".into(),
        )
        .unwrap();
        assert_eq!(file.values["A"], "1");
        assert_eq!(file.values["B"], "x y");
        assert_eq!(file.values["C"], "1-2");
    }

    /// Case 19: the `.env` corpus, each with its documented value or an error naming the line.
    #[test]
    fn case_19_env_corpus() {
        let value = |text: &str| {
            parse(Path::new(".env"), text.to_string()).map(|f| f.values.get("A").cloned())
        };
        assert_eq!(value("\u{feff}A=1\n").unwrap().as_deref(), Some("1"), "BOM");
        assert_eq!(
            value("A=1\r\nB=2\r\n").unwrap().as_deref(),
            Some("1"),
            "CRLF"
        );
        assert_eq!(
            value("export A=1\n").unwrap().as_deref(),
            Some("1"),
            "export prefix"
        );
        assert_eq!(
            value("A='x # y $B'\n").unwrap().as_deref(),
            Some("x # y $B"),
            "single quotes are literal"
        );
        assert_eq!(
            value("B=b\nA=\"x ${B}\"\n").unwrap().as_deref(),
            Some("x b"),
            "double quotes expand"
        );
        assert_eq!(
            value("A=x # comment\n").unwrap().as_deref(),
            Some("x"),
            "inline comment"
        );
        assert_eq!(
            value("A=\"l1\nl2\"\n").unwrap().as_deref(),
            Some("l1\nl2"),
            "multiline quoted"
        );
        assert_eq!(
            value("A=${DEVENV_SURELY_UNDEFINED}\n").unwrap().as_deref(),
            Some(""),
            "undefined expands to empty"
        );
        let err = value("B=1\nA=${B:-b}\n").unwrap_err();
        assert!(
            err.message.contains(".env line 2") && err.message.contains("not supported"),
            "{err}"
        );
        assert_eq!(
            value("A='${B:-b}'\n").unwrap().as_deref(),
            Some("${B:-b}"),
            "literal in single quotes"
        );
        let err = value("A=1\nB=\"open\n").unwrap_err();
        assert!(err.message.contains("line 2"), "{err}");
    }

    #[test]
    fn today_looks_like_a_date() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }
}
