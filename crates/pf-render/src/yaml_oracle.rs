//! The oracle of the YAML writer (unit tests only): `serde_yaml_ng`, which
//! writes YAML with libyaml. `emit::yaml_text` hands every document it
//! writes in a unit test to [`check`], which holds the writer to three
//! things:
//!
//! 1. the text reads back (with `serde_yaml_ng`) as the value written;
//! 2. it is `serde_yaml_ng`'s bytes, once every string the writer quotes
//!    on purpose in another style is replaced by the same plain
//!    placeholder on both sides: indentation, `- ` items, `{}`/`[]`, keys,
//!    numbers and every other string are compared byte for byte;
//! 3. each of those strings is one of the documented deliberate
//!    differences (`yaml_writer`'s module documentation): double-quoted
//!    because it is not one line of printable ASCII, or single-quoted
//!    because a YAML 1.1 reader would take it for another type.

use std::cell::Cell;

use serde::Serialize;
use serde_yaml_ng::Value;

use crate::yaml_writer::{self, reads_as_other_type};

thread_local! {
    static CHECKED: Cell<usize> = const { Cell::new(0) };
}

/// Documents checked on this thread so far.
pub(crate) fn checked() -> usize {
    CHECKED.with(Cell::get)
}

/// Holds `written`, the writer's text of `value`, to `serde_yaml_ng`.
pub(crate) fn check<T: ?Sized + Serialize>(value: &T, written: &str) {
    let tree = serde_yaml_ng::to_value(value).expect("serde_yaml_ng takes every rendered value");
    let back: Value = serde_yaml_ng::from_str(written)
        .unwrap_or_else(|e| panic!("the writer's YAML does not parse: {e}\n{written}"));
    assert_eq!(
        back, tree,
        "the writer's YAML reads back differently:\n{written}"
    );
    // The tree writes as the typed value does, so what is compared below
    // is what was rendered.
    let again = yaml_writer::to_string(&tree).expect("the writer takes the tree");
    assert_eq!(
        again, written,
        "the typed value and its tree write differently"
    );
    let mut placeholders = 0;
    let neutral = neutralize(&tree, &mut placeholders);
    let ours = yaml_writer::to_string(&neutral).expect("the writer takes the tree");
    let theirs = serde_yaml_ng::to_string(&neutral).expect("serde_yaml_ng writes the tree");
    assert_eq!(
        ours, theirs,
        "the YAML writer and serde_yaml_ng disagree ({placeholders} strings replaced)"
    );
    CHECKED.with(|c| c.set(c.get() + 1));
}

/// `value` with each string the two writers write differently replaced.
fn neutralize(value: &Value, placeholders: &mut usize) -> Value {
    match value {
        Value::String(s) => Value::String(neutral(s, placeholders)),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|item| neutralize(item, placeholders))
                .collect(),
        ),
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| (neutralize(k, placeholders), neutralize(v, placeholders)))
                .collect(),
        ),
        Value::Tagged(tagged) => panic!("a tag in a rendered document: {tagged:?}"),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

/// `s`, or a placeholder when the writers write it in different styles,
/// which must then be one of the deliberate differences.
fn neutral(s: &str, placeholders: &mut usize) -> String {
    let ours = yaml_writer::to_string(s).expect("the writer writes every string");
    let theirs = serde_yaml_ng::to_string(s).expect("serde_yaml_ng writes every string");
    if ours == theirs {
        return s.to_owned();
    }
    let printable_line = s.bytes().all(|b| (b' '..=b'~').contains(&b));
    let deliberate = if printable_line {
        ours.starts_with('\'') && reads_as_other_type(s)
    } else {
        ours.starts_with('"')
    };
    assert!(
        deliberate,
        "{s:?}: the writer wrote {ours:?}, serde_yaml_ng {theirs:?}, and that is no documented difference"
    );
    *placeholders += 1;
    format!("pf-oracle-placeholder-{placeholders}")
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use pf_model::Topology;

    use super::checked;
    use crate::Target;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The files of `dir` (sorted), optionally only those ending in `ext`.
    fn files(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
            .collect();
        files.sort();
        files
    }

    fn valid(text: &str) -> Option<Topology> {
        pf_model::from_str(text, "t.toml").ok()?.validate().topology
    }

    /// Renders `topology` for every target; returns how many YAML files
    /// the bundles hold.
    fn render_all(name: &str, topology: &Topology) -> usize {
        let mut yaml = 0;
        for target in [Target::Swarm, Target::Compose, Target::local()] {
            let bundle = crate::render(topology, target).unwrap_or_else(|e| panic!("{name}: {e}"));
            yaml += bundle
                .artifacts()
                .iter()
                .filter(|a| a.path.ends_with(".yml") || a.path.ends_with(".yaml"))
                .count();
        }
        yaml
    }

    /// Renders `topology` for every target, every YAML file through the
    /// oracle; the Swarm stack file.
    fn stack_file(name: &str, topology: &Topology) -> String {
        let before = checked();
        let yaml = render_all(name, topology);
        assert_eq!(
            checked() - before,
            yaml,
            "{name}: a YAML file bypassed the oracle"
        );
        let bundle = crate::render(topology, Target::Swarm).expect("renders");
        bundle
            .get("docker-stack.yml")
            .expect("stack")
            .contents
            .clone()
    }

    /// Every YAML file of every bundle of the committed topologies and of
    /// the fuzz corpus's valid inputs went through the oracle.
    #[test]
    fn every_rendered_yaml_document_agrees_with_serde_yaml_ng() {
        let mut inputs = files(&root().join("topologies"), Some("toml"));
        inputs.extend(files(&root().join("examples"), Some("toml")));
        let committed = inputs.len();
        inputs.extend(files(
            &root().join("fuzz/corpus/load_validate_render"),
            None,
        ));
        let before = checked();
        let mut yaml = 0;
        let mut rendered = 0;
        for path in &inputs {
            let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned();
            let Some(topology) = valid(&text) else {
                continue;
            };
            rendered += 1;
            yaml += render_all(&path.display().to_string(), &topology);
        }
        assert!(rendered > committed, "only {rendered} topologies rendered");
        assert!(yaml > 3 * rendered, "{yaml} YAML files");
        assert_eq!(checked() - before, yaml, "a YAML file bypassed the oracle");
    }

    /// Environment values are the free text a topology puts into the stack
    /// and compose files: every kind of string the writer quotes, escapes
    /// or leaves plain.
    #[test]
    fn hostile_environment_values_agree_with_serde_yaml_ng() {
        let prod = std::fs::read_to_string(root().join("topologies/prod.toml")).expect("prod");
        let old = r#"environment = { VITE_API_URL = "https://promptforge.example.com" }"#;
        assert_eq!(prod.matches(old).count(), 1);
        let values = [
            "yes",
            "No",
            "on",
            "~",
            "null",
            "1_000",
            "0o17",
            "012",
            "1e3",
            ".inf",
            "2001-12-14",
            "12:30:45",
            "<<",
            "=",
            "",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "#c",
            "- d",
            "? e",
            "---",
            "...",
            "'q'",
            "\"dq\"",
            "@at",
            "`tick`",
            "%pct",
            "!bang",
            "&amp",
            "*star",
            "{brace}",
            "[bracket]",
            "|pipe",
            ">gt",
            "line\nbreak",
            "tab\there",
            "caf\u{e9}",
            "\u{202e}rlo",
            "emoji \u{1F600}",
            "nul\u{1}ctl",
            "$HOME",
            "${VAR}",
            "$$",
            "a\\b",
            "x".repeat(300).as_str(),
        ]
        .map(str::to_owned);
        let table: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("V{i} = {}", toml_string(v)))
            .collect();
        let text = prod.replace(old, &format!("environment = {{ {} }}", table.join(", ")));
        let topology = valid(&text).expect("prod with hostile environment values is valid");
        let stack = stack_file("prod with hostile values", &topology);
        // The values reached the stack file.
        assert!(stack.contains("V0: 'yes'"), "{stack}");
        assert!(stack.contains(r#""line\nbreak""#), "{stack}");
    }

    /// The longest names a topology may give (63-character stack and
    /// service names, 64-character secret names, 128-character variable
    /// names) make the longest keys: every one is a simple key, which the
    /// writer writes (it does not write libyaml's `? key` form, for keys
    /// over 128 characters).
    #[test]
    fn the_longest_names_are_simple_keys() {
        let prod = std::fs::read_to_string(root().join("topologies/prod.toml")).expect("prod");
        let stack = format!("s{}", "t".repeat(62));
        let service = format!("f{}", "e".repeat(62));
        let secret = format!("s{}", "k".repeat(63));
        let variable = "V".repeat(128);
        let text = prod
            .replacen(r#"name = "promptforge""#, &format!("name = \"{stack}\""), 1)
            .replacen(r#"name = "frontend""#, &format!("name = \"{service}\""), 1)
            .replacen(
                r#"environment = { VITE_API_URL = "https://promptforge.example.com" }"#,
                &format!(r#"environment = {{ {variable} = "x" }}"#),
                1,
            )
            .replace("secret_key", &secret);
        let topology = valid(&text).expect("the longest names are valid");
        let stack = stack_file("prod with the longest names", &topology);
        for key in [&service, &secret, &variable] {
            assert!(stack.contains(&format!("{key}:")), "{key} is no key");
        }
    }

    /// A TOML basic string.
    fn toml_string(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}
