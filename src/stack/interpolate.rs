//! `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$VAR` and `$$` in stack values: the same
//! syntax Compose uses, so values can be written into docker-compose.yml unchanged.

use std::fmt;

/// One piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text taken as it is (`$$` already turned into `$`).
    Literal(String),
    /// A variable reference.
    Var(VarRef),
}

/// A `${NAME}` reference, with its fallback when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The variable name.
    pub name: String,
    /// The fallback after `:-` (used when unset or empty) or `-` (used when unset).
    pub default: Option<String>,
    /// True for `:-` (empty counts as unset), false for `-`.
    pub default_if_empty: bool,
    /// Byte range of the reference inside the string.
    pub range: std::ops::Range<usize>,
}

/// A malformed reference, with the byte offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the string.
    pub offset: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// True when `name` is a valid variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a string into literal text and variable references.
pub fn parse(input: &str) -> Result<Vec<Segment>, SyntaxError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < input.len() {
        let c = input[i..].chars().next().unwrap_or_default();
        if c != '$' {
            literal.push(c);
            i += c.len_utf8();
            continue;
        }
        let start = i;
        match bytes.get(i + 1) {
            Some(b'$') => {
                literal.push('$');
                i += 2;
            }
            Some(b'{') => {
                let (reference, end) = braced_reference(input, start)?;
                flush(&mut segments, &mut literal);
                segments.push(Segment::Var(reference));
                i = end;
            }
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let end = input[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(input.len(), |n| i + 1 + n);
                flush(&mut segments, &mut literal);
                segments.push(Segment::Var(VarRef {
                    name: input[i + 1..end].to_string(),
                    default: None,
                    default_if_empty: false,
                    range: start..end,
                }));
                i = end;
            }
            _ => {
                return Err(SyntaxError {
                    message:
                        "a lone `$`: write `$$` for a literal `$`, or `${NAME}` for a variable"
                            .into(),
                    offset: start,
                });
            }
        }
    }
    flush(&mut segments, &mut literal);
    Ok(segments)
}

/// The `${NAME}`, `${NAME:-default}` or `${NAME-default}` starting at `start`, and the offset
/// just past its closing brace.
fn braced_reference(input: &str, start: usize) -> Result<(VarRef, usize), SyntaxError> {
    let close = find_closing_brace(input, start + 2).ok_or_else(|| SyntaxError {
        message: "`${` is never closed: add `}` or write `$$` for a literal `$`".into(),
        offset: start,
    })?;
    let body = &input[start + 2..close];
    let (name, default, default_if_empty) = split_default(body);
    if !is_var_name(name) {
        return Err(SyntaxError {
            message: format!(
                "`${{{body}}}` is not a variable reference: names are letters, digits and `_` (write `$$` for a literal `$`)"
            ),
            offset: start,
        });
    }
    if let Some(d) = default {
        // Defaults may themselves reference variables; they must parse too.
        parse(d).map_err(|e| SyntaxError { offset: start, ..e })?;
    }
    let reference = VarRef {
        name: name.to_string(),
        default: default.map(str::to_string),
        default_if_empty,
        range: start..close + 1,
    };
    Ok((reference, close + 1))
}

fn flush(segments: &mut Vec<Segment>, literal: &mut String) {
    if !literal.is_empty() {
        segments.push(Segment::Literal(std::mem::take(literal)));
    }
}

/// Finds the `}` that closes a `${` opened just before `from`, allowing nested `${...}` in defaults.
fn find_closing_brace(input: &str, from: usize) -> Option<usize> {
    let bytes = input.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_default(body: &str) -> (&str, Option<&str>, bool) {
    if let Some(pos) = body.find(":-") {
        (&body[..pos], Some(&body[pos + 2..]), true)
    } else if let Some(pos) = body.find('-') {
        (&body[..pos], Some(&body[pos + 1..]), false)
    } else {
        (body, None, false)
    }
}

/// Every variable a string references, defaults included.
pub fn references(input: &str) -> Result<Vec<VarRef>, SyntaxError> {
    let mut out = Vec::new();
    for segment in parse(input)? {
        if let Segment::Var(var) = segment {
            if let Some(default) = &var.default {
                out.extend(references(default)?);
            }
            out.push(var);
        }
    }
    Ok(out)
}

/// Expands a string, asking `lookup` for each variable; an unset variable with no default
/// expands to the empty string, as in Compose.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, SyntaxError> {
    let mut out = String::new();
    for segment in parse(input)? {
        match segment {
            Segment::Literal(text) => out.push_str(&text),
            Segment::Var(var) => {
                let value = lookup(&var.name);
                let use_default = match &value {
                    None => true,
                    Some(v) => v.is_empty() && var.default_if_empty,
                };
                match (use_default, &var.default) {
                    (true, Some(default)) => out.push_str(&expand(default, lookup)?),
                    _ => out.push_str(&value.unwrap_or_default()),
                }
            }
        }
    }
    Ok(out)
}

/// Escapes a literal value so that it survives interpolation unchanged (`$` becomes `$$`).
pub fn escape(literal: &str) -> String {
    literal.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_plain_and_escaped() {
        assert_eq!(expand("x${A}y$A$$z", &lookup).unwrap(), "xalphayalpha$z");
    }

    #[test]
    fn defaults_follow_compose_rules() {
        assert_eq!(expand("${B:-def}", &lookup).unwrap(), "def");
        assert_eq!(expand("${EMPTY:-def}", &lookup).unwrap(), "def");
        assert_eq!(expand("${EMPTY-def}", &lookup).unwrap(), "");
        assert_eq!(expand("${B-def}", &lookup).unwrap(), "def");
        assert_eq!(expand("${B:-${A}}", &lookup).unwrap(), "alpha");
        assert_eq!(expand("${B}", &lookup).unwrap(), "");
    }

    #[test]
    fn references_include_those_in_defaults() {
        let names: Vec<_> = references("${X:-${Y}}-$Z")
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["Y", "X", "Z"]);
    }

    #[test]
    fn reference_ranges_point_into_the_string() {
        let refs = references("ab${CD}").unwrap();
        assert_eq!(refs[0].range, 2..7);
    }

    #[test]
    fn malformed_references_are_errors_with_offsets() {
        assert_eq!(parse("ab${X").unwrap_err().offset, 2);
        assert!(parse("${1X}").is_err());
        assert!(parse("a $ b").is_err());
        assert!(parse("${}").is_err());
    }

    #[test]
    fn escape_round_trips() {
        let raw = "p@$$w0rd${NOT}";
        assert_eq!(expand(&escape(raw), &lookup).unwrap(), raw);
    }

    #[test]
    fn unicode_is_kept() {
        assert_eq!(expand("héllo ${A} ✓", &lookup).unwrap(), "héllo alpha ✓");
    }
}
