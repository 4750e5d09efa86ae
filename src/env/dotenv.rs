//! `.env` text: reading it with dotenvy's rules (an error names the file and the line, with a
//! caret on the character dotenvy stopped at) and quoting values so dotenvy, Compose and
//! shells read them back unchanged.

use super::lines;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::stack::interpolate::{self, Segment};
use indexmap::IndexMap;
use std::path::Path;

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

/// A `.env` file as read: its text (kept byte for byte) and the values dotenvy reads from it.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    /// The file's text.
    pub text: String,
    /// Key → value, with dotenvy's quoting and expansion rules applied.
    pub values: IndexMap<String, String>,
}

/// Reads `.env` at `path`; `Ok(None)` when there is none. A line dotenvy cannot parse is an
/// error naming the file and the line.
pub fn read(path: &Path) -> Result<Option<EnvFile>, Diagnostic> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Diagnostic::new(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    parse(path, text).map(Some)
}

/// Parses `.env` text; `path` names it in errors.
pub fn parse(path: &Path, text: String) -> Result<EnvFile, Diagnostic> {
    // A byte-order mark (editors on Windows add one) is not part of the first key.
    let content = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if let Some(at) = lines::unsupported_default(content) {
        let source = SourceFile::new(path, content);
        let line = source.line_col(at).0;
        return Err(source
            .diagnostic(
                at..at + 2,
                format!(
                    "{} line {line}: `${{VAR:-default}}` is not supported in .env",
                    path.display()
                ),
            )
            .with_help("dotenv readers expand only `${VAR}`: write the value itself, or put the default in devenv.toml"));
    }
    let mut values = IndexMap::new();
    for item in dotenvy::from_read_iter(content.as_bytes()) {
        match item {
            Ok((key, value)) => {
                values.insert(key, value);
            }
            Err(e) => return Err(rejected(path, content, &e)),
        }
    }
    crate::redact::register_named(&values);
    Ok(EnvFile { text, values })
}

/// The error for text dotenvy rejected: the line and the character it stopped at.
fn rejected(path: &Path, content: &str, error: &dotenvy::Error) -> Diagnostic {
    let Some(at) = lines::first_rejected(content) else {
        return Diagnostic::new(format!("cannot read {}: {error}", path.display()));
    };
    let source = SourceFile::new(path, content);
    let line = source.line_col(at).0;
    source
        .diagnostic(
            at..at + 1,
            format!("{} line {line} cannot be parsed", path.display()),
        )
        .with_help(
            "write KEY=value; quote values with spaces or `#` (\"a b\"), and close every quote",
        )
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

#[cfg(test)]
mod file_tests {
    use super::*;

    /// (line, column, line text) the error points at.
    fn pointed(text: &str) -> (usize, usize, String) {
        let err = parse(Path::new(".env"), text.to_string()).unwrap_err();
        let location = err.location.expect("a location");
        (location.line, location.col, location.line_text)
    }

    #[test]
    fn a_bad_line_in_a_crlf_file_is_pointed_at_on_that_line() {
        assert_eq!(pointed("A=1\r\nB=2\r\n=3\r\nD=4\r\n"), (3, 1, "=3".into()));
        assert_eq!(pointed("A=1\r\nB=2\r\nC D=3\r\n"), (3, 3, "C D=3".into()));
        assert_eq!(
            pointed("A=1\r\nB=2\r\nC=\"open\r\nD=4\r\n"),
            (3, 1, "C=\"open".into())
        );
        assert_eq!(
            pointed("A=1\r\n\r\nB=${A:-x}\r\n"),
            (3, 3, "B=${A:-x}".into())
        );
    }

    #[test]
    fn a_bad_value_names_its_real_line() {
        for (text, at) in [
            ("A=1\nB=b c\n", (2, 5)),
            ("A=1\n# x\nB=x y # note\n", (3, 5)),
            ("A=1\nB=\"a\nb\" c\n", (3, 4)),
            ("\u{feff}A=b\\q\n", (1, 5)),
        ] {
            let err = parse(Path::new(".env"), text.to_string()).unwrap_err();
            let shown = err.to_string();
            assert!(
                err.message.contains(&format!(".env line {} ", at.0)),
                "{text:?}: {shown}"
            );
            assert!(
                shown.contains(&format!(".env:{}:{}", at.0, at.1)),
                "{text:?}: {shown}"
            );
        }
    }

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
}
