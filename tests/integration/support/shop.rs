//! The bundled example's stack, whole and without its apps. Shared with the library's own
//! unit tests (`stack::tests_support` includes this file), so the two cannot drift apart.

#![allow(dead_code)]

/// The bundled example's devenv.toml, apps included (they need the example's directories:
/// `example::copy` brings them along).
pub const SHOP_EXAMPLE: &str = include_str!("../../../examples/shop/devenv.toml");

/// The stack of the foundation issue: the bundled example's services, variables and database
/// (its devenv.toml above its apps heading), which most tests run without its apps.
pub const SHOP: &str = without_apps(SHOP_EXAMPLE);

/// `text` up to the example's apps heading (`# --- The shop's own apps`); a compile error
/// when the heading is gone.
const fn without_apps(text: &str) -> &str {
    let bytes = text.as_bytes();
    let heading = b"\n# --- The shop's own apps";
    let mut at = 0;
    while at + heading.len() <= bytes.len() {
        let mut matched = 0;
        while matched < heading.len() && bytes[at + matched] == heading[matched] {
            matched += 1;
        }
        if matched == heading.len() {
            return match std::str::from_utf8(bytes.split_at(at + 1).0) {
                Ok(head) => head,
                Err(_) => panic!("the example is not UTF-8"),
            };
        }
        at += 1;
    }
    panic!("examples/shop/devenv.toml has no `# --- The shop's own apps` heading")
}
