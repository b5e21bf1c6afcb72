//! The template environment: every template embedded in the binary,
//! compiled once, strict about undefined values so a missing field is a
//! loud bug instead of an empty string in a production config.

use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::emit;
use crate::error::RenderError;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are a valid syntax");
        env.set_syntax(syntax);
        // Output is config files and shell, never HTML.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("sq", crate::escape::shell_word);
        env.add_filter("md", crate::escape::markdown_text);
        env.add_filter("sql_literal", sql_literal);
        for (name, source) in emit::TEMPLATES.iter().flat_map(|set| set.iter()) {
            // Templates are part of the binary; one that does not compile
            // cannot pass the test suite, so this only fires in development.
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name} does not compile: {e:#}"));
        }
        env
    })
}

/// Renders template `name` with `context`.
pub(crate) fn render(name: &str, context: impl Serialize) -> Result<String, RenderError> {
    render_value(name, &value(context))
}

/// `context` as a template value: converting is a copy of every string in
/// it, so several templates of one context share one conversion.
pub(crate) fn value(context: impl Serialize) -> Value {
    Value::from(Serde(context))
}

/// Renders template `name` with a context converted by [`value`].
pub(crate) fn render_value(name: &str, context: &Value) -> Result<String, RenderError> {
    let env = environment();
    env.get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|source| RenderError::Template {
            template: name.to_owned(),
            source,
        })
}

/// `'it''s'`: a SQL string literal.
fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_compiles() {
        let env = environment();
        for (name, _) in emit::TEMPLATES.iter().flat_map(|set| set.iter()) {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn quoting_filters() {
        assert_eq!(sql_literal("it's"), "'it''s'");
    }
}
