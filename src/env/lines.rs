//! Where in a `.env` text dotenvy stops: its logical lines (a quoted value may span several
//! physical lines), the byte offset of the first one it rejects, and the `${VAR:-default}`
//! syntax dotenv readers do not support. Offsets are bytes into the text, so `\r\n` endings
//! and multi-line values land on the line they belong to.

/// One logical line as dotenvy reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LogicalLine<'a> {
    /// Byte offset of its first character in the text.
    start: usize,
    /// Its text without the final line ending (cut before an inline comment, empty for a
    /// comment line).
    text: &'a str,
    /// False when the text ends inside a quote or an escape.
    complete: bool,
}

/// dotenvy's scanner states between characters (`iter.rs`'s `ParseState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    Complete,
    Escape,
    StrongOpen,
    StrongOpenEscape,
    WeakOpen,
    WeakOpenEscape,
    Comment,
    WhiteSpace,
}

/// Scans one physical line from `state`: the state at its end, and where a comment starts.
fn scan(mut state: Scan, line: &str) -> (Scan, Option<usize>) {
    for (pos, c) in line.char_indices() {
        state = match state {
            Scan::WhiteSpace => match c {
                '#' => return (Scan::Comment, Some(pos)),
                '\\' => Scan::Escape,
                '"' => Scan::WeakOpen,
                '\'' => Scan::StrongOpen,
                _ => Scan::Complete,
            },
            Scan::Escape => Scan::Complete,
            Scan::Complete => match c {
                c if c.is_whitespace() && c != '\n' && c != '\r' => Scan::WhiteSpace,
                '\\' => Scan::Escape,
                '"' => Scan::WeakOpen,
                '\'' => Scan::StrongOpen,
                _ => Scan::Complete,
            },
            Scan::WeakOpen => match c {
                '\\' => Scan::WeakOpenEscape,
                '"' => Scan::Complete,
                _ => Scan::WeakOpen,
            },
            Scan::WeakOpenEscape => Scan::WeakOpen,
            Scan::StrongOpen => match c {
                '\\' => Scan::StrongOpenEscape,
                '\'' => Scan::Complete,
                _ => Scan::StrongOpen,
            },
            Scan::StrongOpenEscape => Scan::StrongOpen,
            Scan::Comment => return (Scan::Comment, None),
        };
    }
    (state, None)
}

/// Splits `text` into dotenvy's logical lines.
fn logical_lines(text: &str) -> Vec<LogicalLine<'_>> {
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let start = pos;
        let mut state = Scan::Complete;
        loop {
            let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
            let physical_start = pos;
            pos = end;
            if text[start..end].trim_start().starts_with('#') {
                lines.push(LogicalLine {
                    start,
                    text: "",
                    complete: true,
                });
                break;
            }
            let (next, comment) = scan(state, &text[physical_start..end]);
            state = next;
            if state == Scan::Complete {
                let body = text[start..end]
                    .strip_suffix('\n')
                    .unwrap_or(&text[start..end]);
                let body = body.strip_suffix('\r').unwrap_or(body);
                lines.push(LogicalLine {
                    start,
                    text: body,
                    complete: true,
                });
                break;
            }
            if let Some(at) = comment {
                lines.push(LogicalLine {
                    start,
                    text: &text[start..physical_start + at],
                    complete: true,
                });
                break;
            }
            if pos >= text.len() {
                lines.push(LogicalLine {
                    start,
                    text: &text[start..],
                    complete: false,
                });
                break;
            }
        }
    }
    lines
}

/// Byte offset in `text` of what dotenvy rejects first: the character it stopped at, or for a
/// quote that is never closed the start of the line that opened it. `None` when dotenvy
/// accepts every line.
pub fn first_rejected(text: &str) -> Option<usize> {
    for line in logical_lines(text) {
        let indent = line.text.len() - line.text.trim_start().len();
        if !line.complete {
            return Some(line.start + indent);
        }
        let fed = format!("{}\n", line.text);
        let rejected = dotenvy::from_read_iter(fed.as_bytes()).find_map(|item| match item {
            Err(dotenvy::Error::LineParse(part, index)) => Some((part, index)),
            _ => None,
        });
        let Some((part, index)) = rejected else {
            continue;
        };
        // dotenvy reports either the whole line or only its value (the end of the line).
        let trimmed = line.text.trim_end();
        let base = if part != line.text && trimmed.ends_with(part.as_str()) {
            trimmed.len() - part.len()
        } else {
            0
        };
        // The index counts characters within the value, bytes within a whole line.
        let within = if base == 0 {
            index.min(part.len())
        } else {
            part.char_indices()
                .nth(index)
                .map_or(part.len().saturating_sub(1), |(i, _)| i)
        };
        return Some(line.start + base + within);
    }
    None
}

/// Byte offset of the first `${NAME:-x}` / `${NAME-x}` outside single quotes and comments.
pub fn unsupported_default(text: &str) -> Option<usize> {
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let offset = line_start;
        line_start += line.len();
        if line.trim_start().starts_with('#') {
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
                        return Some(offset + i);
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(usize, &str, bool)> {
        logical_lines(text)
            .into_iter()
            .map(|l| (l.start, l.text, l.complete))
            .collect()
    }

    #[test]
    fn logical_lines_follow_dotenvy() {
        assert_eq!(
            texts("A=1\r\n# c\nB=\"x\ny\" # note\nC=2"),
            [
                (0, "A=1", true),
                (5, "", true),
                (9, "B=\"x\ny\" ", true),
                (24, "C=2", true)
            ]
        );
        assert_eq!(texts("A='open\nB=1\n"), [(0, "A='open\nB=1\n", false)]);
    }

    #[test]
    fn the_rejected_character_is_found_on_its_own_line() {
        let text = "A=1\r\nB=2\r\nC=b c\r\n";
        assert_eq!(first_rejected(text), Some(text.find("c\r").unwrap()));
        let text = "A=1\n  B C=2\n";
        assert_eq!(first_rejected(text), Some(text.find("C=").unwrap()));
        let text = "A=1\nB=x y # note\n";
        assert_eq!(first_rejected(text), Some(text.find("y ").unwrap()));
        assert_eq!(first_rejected("A=1\nB=\"open\nC=3\n"), Some(4));
        assert_eq!(first_rejected("A=1\n# B=\"\n"), None);
    }

    #[test]
    fn defaults_are_found_at_their_byte() {
        let text = "A=1\r\nB=${A:-x}\r\n";
        assert_eq!(unsupported_default(text), text.find("${"));
        assert_eq!(unsupported_default("A='${B:-x}'\n"), None);
    }
}
