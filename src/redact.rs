//! Secrets redacted at the door: a process-wide set of secret values, masked as `***` in every
//! line, JSON document, error and log line devenv prints, in every form a value takes inside a
//! URL or a JSON string. `--reveal` turns masking off on purpose.
//!
//! Values are registered where variables are read (`.env`, the stack's resolved values): each
//! value of a `secret = true` variable and of any variable whose name has a `PASSWORD`,
//! `SECRET`, `TOKEN` or `KEY` part (split on `_`, any case). Values shorter than
//! [`MIN_LEN`] characters are not registered: they would mask ordinary text.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use std::borrow::Cow;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The shortest value that is registered.
pub const MIN_LEN: usize = 4;

/// Name parts that make a variable secret.
const SECRET_PARTS: [&str; 4] = ["PASSWORD", "SECRET", "TOKEN", "KEY"];

/// Every registered form of every secret, longest first.
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Set by `--reveal`.
static REVEAL: AtomicBool = AtomicBool::new(false);

/// Turns masking off (`--reveal`) or back on.
pub fn set_reveal(reveal: bool) {
    REVEAL.store(reveal, Ordering::Relaxed);
}

/// Whether a variable's name marks its value as secret (`DB_PASSWORD`, `api_key`,
/// `GITHUB_TOKEN`; not `KEYBOARD_LAYOUT` or `MONKEY`).
pub fn is_secret_name(name: &str) -> bool {
    name.split('_')
        .any(|part| SECRET_PARTS.iter().any(|s| part.eq_ignore_ascii_case(s)))
}

/// Registers the values of secret-named variables among `values` (a `.env` file's entries).
pub fn register_named<'a>(values: impl IntoIterator<Item = (&'a String, &'a String)>) {
    for (name, value) in values {
        if is_secret_name(name) {
            register(value);
        }
    }
}

/// Registers the values of a stack's secret variables (`secret = true` or a secret name)
/// from the values in force.
pub fn register_stack(stack: &crate::stack::Stack, values: &indexmap::IndexMap<String, String>) {
    for var in stack.variables.values() {
        if (var.secret || is_secret_name(&var.name))
            && let Some(value) = values.get(&var.name)
        {
            register(value);
        }
    }
}

/// Registers one secret value in every form it takes in output. The `.env.example`
/// placeholder is no secret: it is what tells the user to put one in.
pub fn register(value: &str) {
    if value.chars().count() < MIN_LEN || value == crate::generate::PLACEHOLDER {
        return;
    }
    let mut forms = FORMS.write().unwrap_or_else(|e| e.into_inner());
    for form in encodings(value) {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// The forms of a value: raw, percent-encoded (URL userinfo set, every non-alphanumeric
/// byte), form-urlencoded, and each of those JSON-escaped.
fn encodings(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_string(),
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
    ];
    if let Some(userinfo) = userinfo_encoded(value) {
        forms.push(userinfo);
    }
    let escaped: Vec<String> = forms
        .iter()
        .filter_map(|f| serde_json::to_string(f).ok())
        .map(|quoted| quoted[1..quoted.len() - 1].to_string())
        .collect();
    forms.extend(escaped);
    forms.sort();
    forms.dedup();
    forms
}

/// The value as `url` writes it in a URL's password (the userinfo percent-encode set).
fn userinfo_encoded(value: &str) -> Option<String> {
    let mut url = url::Url::parse("postgres://user@host/").ok()?;
    url.set_password(Some(value)).ok()?;
    url.password().map(str::to_string)
}

/// `text` with every registered secret masked (unchanged with `--reveal`).
pub fn redact(text: &str) -> Cow<'_, str> {
    if REVEAL.load(Ordering::Relaxed) {
        return Cow::Borrowed(text);
    }
    let forms = FORMS.read().unwrap_or_else(|e| e.into_inner());
    let mut text = Cow::Borrowed(text);
    for form in forms.iter() {
        if text.contains(form.as_str()) {
            text = Cow::Owned(text.replace(form.as_str(), MASK));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is process-wide: each test uses values no other test registers.

    #[test]
    fn names_are_split_on_underscores() {
        for secret in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "Secret",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in [
            "KEYBOARD_LAYOUT",
            "MONKEY",
            "DB_PORT",
            "PASSWORDLESS",
            "TOKENS",
        ] {
            assert!(!is_secret_name(plain), "{plain}");
        }
    }

    #[test]
    fn every_url_and_json_form_is_masked() {
        let value = "Sesame open/4:me@now+then&z\"q";
        register(value);
        let text = format!(
            "raw {value}; url postgres://u:Sesame%20open%2F4%3Ame%40now+then&z%22q@h/db; \
             query ?password=Sesame%20open%2F4%3Ame%40now%2Bthen%26z%22q; \
             form a=Sesame+open%2F4%3Ame%40now%2Bthen%26z%22q; json \"Sesame open/4:me@now+then&z\\\"q\""
        );
        let masked = redact(&text);
        assert_eq!(
            masked,
            "raw ***; url postgres://u:***@h/db; query ?password=***; form a=***; json \"***\""
        );
    }

    #[test]
    fn short_values_and_the_placeholder_are_not_registered() {
        register("ab1");
        register("<REPLACE_ME>");
        assert_eq!(redact("ab1 cab1 <REPLACE_ME>"), "ab1 cab1 <REPLACE_ME>");
    }

    #[test]
    fn names_decide_what_a_dotenv_registers() {
        let entries = [
            ("APP_TOKEN".to_string(), "tok-98765-xyz".to_string()),
            ("APP_NAME".to_string(), "storefront-public".to_string()),
        ];
        register_named(entries.iter().map(|(k, v)| (k, v)));
        assert_eq!(
            redact("tok-98765-xyz storefront-public"),
            "*** storefront-public"
        );
    }
}
