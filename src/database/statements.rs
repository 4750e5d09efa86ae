//! MySQL statements of a SQL text, found the way the server reads a multi-statement query
//! (`;` outside quotes, backticks and comments), with the line each starts on. Used to say
//! which statement of a seed failed and which ones MySQL committed on its own (DDL).

/// One statement of a SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// 1-based line of its first character.
    pub line: usize,
    /// Its text, from its first word to its `;` (excluded).
    pub text: &'a str,
}

impl Statement<'_> {
    /// Its first two words, upper case (`CREATE TABLE`), for messages.
    pub fn verb(&self) -> String {
        self.text
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase()
    }

    /// Whether MySQL commits at once when it runs this (schema changes and a few more),
    /// ending the transaction it ran in.
    pub fn commits_implicitly(&self) -> bool {
        let verb = self.verb();
        let first = verb.split(' ').next().unwrap_or_default();
        match first {
            "CREATE" => !verb.ends_with("TEMPORARY"),
            "DROP" => !verb.ends_with("TEMPORARY"),
            "ALTER" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "LOCK" => true,
            _ => false,
        }
    }
}

/// The statements of `sql` in order (comments and blank pieces are no statements).
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = sql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        match c {
            '\n' => line += 1,
            '-' if next == Some('-') => {
                skip_line(&mut chars);
                line += 1;
                continue;
            }
            '#' => {
                skip_line(&mut chars);
                line += 1;
                continue;
            }
            '/' if next == Some('*') => {
                chars.next();
                let mut previous = ' ';
                for (_, inner) in chars.by_ref() {
                    line += usize::from(inner == '\n');
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
                continue;
            }
            ';' => {
                if let Some(from) = start.take() {
                    statements.push(Statement {
                        line: start_line,
                        text: sql[from..at].trim_end(),
                    });
                }
                continue;
            }
            _ => {}
        }
        if c.is_whitespace() {
            continue;
        }
        if start.is_none() {
            start = Some(at);
            start_line = line;
        }
        if matches!(c, '\'' | '"' | '`') {
            line += skip_quoted(&mut chars, c);
        }
    }
    if let Some(from) = start {
        statements.push(Statement {
            line: start_line,
            text: sql[from..].trim_end(),
        });
    }
    statements
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

fn skip_line(chars: &mut Chars<'_>) {
    for (_, c) in chars.by_ref() {
        if c == '\n' {
            break;
        }
    }
}

/// Skips to the closing `quote` (doubled quotes and backslash escapes stay inside); returns
/// the newlines passed.
fn skip_quoted(chars: &mut Chars<'_>, quote: char) -> usize {
    let mut newlines = 0;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => newlines += 1,
            '\\' if quote != '`' => {
                if let Some((_, escaped)) = chars.next() {
                    newlines += usize::from(escaped == '\n');
                }
            }
            c if c == quote => {
                if chars.peek().map(|&(_, n)| n) == Some(quote) {
                    chars.next();
                } else {
                    break;
                }
            }
            _ => {}
        }
    }
    newlines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments_with_their_lines() {
        let sql = "-- a seed; with a comment\nINSERT INTO t VALUES ('a;b', \"it\\'s;\");\n\n/* one;\n two */ CREATE TABLE `x;y` (id INT);\n# done;\nINSERT INTO t VALUES ('multi\nline'); insert into u values (1)\n";
        let found: Vec<(usize, String)> = split(sql).iter().map(|s| (s.line, s.verb())).collect();
        assert_eq!(
            found,
            [
                (2, "INSERT INTO".to_string()),
                (5, "CREATE TABLE".to_string()),
                (7, "INSERT INTO".to_string()),
                (8, "INSERT INTO".to_string()),
            ]
        );
        assert_eq!(split(sql)[1].text, "CREATE TABLE `x;y` (id INT)");
        assert!(split("  \n-- nothing\n;;").is_empty());
    }

    #[test]
    fn ddl_commits_implicitly_temporary_tables_and_rows_do_not() {
        let commits = |sql: &str| split(sql)[0].commits_implicitly();
        assert!(commits("create table t (id int)"));
        assert!(commits("ALTER TABLE t ADD x INT"));
        assert!(commits("truncate t"));
        assert!(!commits("CREATE TEMPORARY TABLE t (id INT)"));
        assert!(!commits("INSERT INTO t VALUES (1)"));
        assert!(!commits("UPDATE t SET id = 2"));
    }
}
