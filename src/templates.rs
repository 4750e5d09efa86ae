//! The text templates in `templates/`, embedded at build time and rendered with minijinja.

use minijinja::Environment;
use std::sync::OnceLock;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("valid syntax config"),
        );
        for (name, text) in crate::catalog::TEMPLATE_FILES {
            env.add_template(name, text)
                .unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        }
        env
    })
}

/// Renders a template from `templates/`. Templates ship with the binary and are covered by
/// tests, so a rendering failure is a defect, reported as a panic naming the template.
pub fn render(name: &str, context: minijinja::Value) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| panic!("templates/{name}: {e:#}"))
}
