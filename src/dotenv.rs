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
