//! The template environment: every template embedded in the binary,
//! compiled once, strict about undefined values so a missing field is a
//! loud bug instead of an empty string in a production config.

use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::error::RenderError;

/// Every template, by name: its path under `templates/` without `.j2`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name, ".j2")))),*]
    };
}

/// The templates, registered once in the environment. Typed YAML
/// (stack, compose, monitoring) needs none.
const TEMPLATES: &[(&str, &str)] = templates![
    "nginx/load-balancer.conf",
    "apps/secrets-env.sh",
    "postgres/postgresql.conf",
    "postgres/pg_hba.conf",
    "postgres/init-replication.sh",
    "postgres/member.sh",
    "postgres/backup-from-replica.sh",
    "redis/data-node.conf",
    "redis/sentinel.conf",
    "redis/redis-entrypoint.sh",
    "redis/sentinel-entrypoint.sh",
    "monitoring/redis-exporter-entrypoint.sh",
    "scripts/common.sh",
    "scripts/setup-swarm.sh",
    "scripts/ha-setup.sh",
    "scripts/ssl-setup.sh",
    "scripts/health-check.sh",
    "scripts/failover-test.sh",
    "scripts/backup.sh",
    "docs/README.md",
    "docs/env.example",
];

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
        for (name, source) in TEMPLATES {
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
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    /// A template file that is not in the list would never be rendered.
    #[test]
    fn every_template_file_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        for area in std::fs::read_dir(&root).expect("templates folder") {
            for file in std::fs::read_dir(area.expect("entry").path()).expect("area folder") {
                let path = file.expect("entry").path();
                let rel = path.strip_prefix(&root).expect("below templates");
                let name = rel.to_string_lossy().replace('\\', "/");
                files.push(name.strip_suffix(".j2").unwrap_or(&name).to_owned());
            }
        }
        files.sort();
        let mut listed: Vec<String> = TEMPLATES.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn quoting_filters() {
        assert_eq!(sql_literal("it's"), "'it''s'");
    }
}
