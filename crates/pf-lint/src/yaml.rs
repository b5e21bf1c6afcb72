//! A YAML tree that remembers where every node starts.
//!
//! Built from `saphyr-parser` events rather than a typed model: a linter
//! must read files that are wrong, so nothing here rejects a key or a type.
//! Aliases are expanded and `<<` merge keys (YAML 1.1, which Compose and
//! `docker stack deploy` both honour) are applied, so a service that takes
//! its `deploy:` from an anchor is judged by what it really gets; the
//! positions then point at the anchored text, which is where a fix goes.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

/// A scalar as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    /// Plain (unquoted, not a block scalar): only these can be numbers,
    /// booleans or null.
    pub(crate) plain: bool,
}

/// A node's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
    Scalar(Scalar),
}

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) pos: Pos,
    pub(crate) value: Value,
}

/// A parse problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

/// A parsed document, plus keys that were defined twice in one mapping.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Node,
    pub(crate) duplicate_keys: Vec<Node>,
}

impl Node {
    fn scalar(pos: Pos, text: &str, plain: bool) -> Self {
        Self {
            pos,
            value: Value::Scalar(Scalar {
                text: text.to_owned(),
                plain,
            }),
        }
    }

    /// The value under `key` in a mapping (the last one if repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value under `key` in a mapping.
    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    /// Mapping entries (empty for other nodes).
    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    /// Sequence items (empty for other nodes).
    pub(crate) fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(i) => i,
            _ => &[],
        }
    }

    /// The text of a scalar that is not null.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) if !s.is_null() => Some(&s.text),
            _ => None,
        }
    }

    /// True for a null scalar (`~`, `null`, nothing).
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.is_null())
    }

    /// True for an unquoted number (`cpus: 0.5`).
    pub(crate) fn is_number(&self) -> bool {
        match &self.value {
            Value::Scalar(s) if s.plain => {
                let t = s.text.trim_start_matches(['+', '-']);
                !t.is_empty()
                    && (t.parse::<f64>().is_ok() || t.starts_with("0x") || t.starts_with("0o"))
                    && !t.eq_ignore_ascii_case("inf")
                    && !t.eq_ignore_ascii_case("nan")
            }
            _ => false,
        }
    }

    /// A boolean, accepting YAML 1.1 spellings as Compose does.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar(s) if s.plain => match s.text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            },
            // Compose also reads the quoted forms.
            Value::Scalar(s) => match s.text.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// An integer (plain or quoted).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        self.as_str().and_then(|s| s.trim().parse().ok())
    }

    /// True for a mapping.
    pub(crate) fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// Strings of a list, or of a single string (Compose accepts both in
    /// many places: `command`, `dns`, `tmpfs`, ...).
    pub(crate) fn strings(&self) -> Vec<(&str, Pos)> {
        match &self.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(|s| (s, i.pos)))
                .collect(),
            Value::Scalar(_) => self
                .as_str()
                .map(|s| vec![(s, self.pos)])
                .unwrap_or_default(),
            Value::Map(_) => Vec::new(),
        }
    }
}

impl Scalar {
    fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

/// Nodes that aliases and merge keys may copy in, in total: a few nested
/// aliases ("billion laughs") would otherwise expand exponentially.
const ALIAS_BUDGET: usize = 100_000;

fn size(node: &Node) -> usize {
    1 + match &node.value {
        Value::Map(e) => e.iter().map(|(k, v)| size(k) + size(v)).sum(),
        Value::Seq(i) => i.iter().map(size).sum(),
        Value::Scalar(_) => 0,
    }
}

struct Builder {
    /// Open collections: their node and, for mappings, a pending key.
    stack: Vec<(Node, Option<Node>, usize)>,
    /// What aliases have copied so far.
    copied: usize,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    duplicate_keys: Vec<Node>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, pending, _)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => insert(entries, key, node, &mut self.duplicate_keys),
                },
                Value::Scalar(_) => {}
            },
        }
    }
}

/// Adds an entry, expanding `<<` merges: keys already present win.
fn insert(entries: &mut Vec<(Node, Node)>, key: Node, value: Node, dups: &mut Vec<Node>) {
    let is_merge = matches!(&key.value, Value::Scalar(s) if s.plain && s.text == "<<");
    if is_merge {
        let sources: Vec<&Node> = match &value.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![&value],
        };
        for source in sources {
            for (k, v) in source.entries() {
                if !entries.iter().any(|(e, _)| same_key(e, k)) {
                    entries.push((k.clone(), v.clone()));
                }
            }
        }
        return;
    }
    if entries.iter().any(|(e, _)| same_key(e, &key)) {
        dups.push(key.clone());
    }
    entries.push((key, value));
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Scalar(x), Value::Scalar(y)) => x.text == y.text,
        _ => false,
    }
}

fn pos_of(marker: saphyr_parser::Marker) -> Pos {
    Pos {
        line: marker.line(),
        col: marker.col() + 1,
    }
}

/// Parses the first document of `text`.
pub(crate) fn parse(text: &str) -> Result<Document, ParseError> {
    let mut b = Builder {
        stack: Vec::new(),
        copied: 0,
        anchors: HashMap::new(),
        root: None,
        duplicate_keys: Vec::new(),
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| ParseError {
            pos: pos_of(*e.marker()),
            message: e.info().to_owned(),
        })?;
        let pos = pos_of(span.start);
        match event {
            Event::DocumentEnd => break,
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node::scalar(pos, &text, style == ScalarStyle::Plain);
                if anchor > 0 {
                    b.anchors.insert(anchor, node.clone());
                }
                b.push_value(node);
            }
            Event::Alias(id) => {
                let anchored = b.anchors.get(&id).ok_or_else(|| ParseError {
                    pos,
                    message: "unknown alias".to_owned(),
                })?;
                // A merge copies the entries once more.
                b.copied += 2 * size(anchored);
                if b.copied > ALIAS_BUDGET {
                    return Err(ParseError {
                        pos,
                        message: format!(
                            "aliases expand to more than {ALIAS_BUDGET} nodes; this is not a stack file"
                        ),
                    });
                }
                let node = anchored.clone();
                b.push_value(node);
            }
            Event::SequenceStart(anchor, _) => b.stack.push((
                Node {
                    pos,
                    value: Value::Seq(Vec::new()),
                },
                None,
                anchor,
            )),
            Event::MappingStart(anchor, _) => b.stack.push((
                Node {
                    pos,
                    value: Value::Map(Vec::new()),
                },
                None,
                anchor,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _, anchor)) = b.stack.pop() {
                    if anchor > 0 {
                        b.anchors.insert(anchor, node.clone());
                    }
                    b.push_value(node);
                }
            }
            _ => {}
        }
    }
    Ok(Document {
        root: b
            .root
            .unwrap_or_else(|| Node::scalar(Pos { line: 1, col: 1 }, "", true)),
        duplicate_keys: b.duplicate_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse(text).expect("parses").root
    }

    #[test]
    fn positions_are_one_based_and_point_at_keys_and_values() {
        let root = doc("services:\n  web:\n    image: nginx\n    cpus: 0.5\n");
        let (key, value) = root
            .at(&["services", "web"])
            .and_then(|w| w.entry("image"))
            .expect("image");
        assert_eq!(key.pos, Pos { line: 3, col: 5 });
        assert_eq!(value.pos, Pos { line: 3, col: 12 });
        let cpus = root.at(&["services", "web", "cpus"]).expect("cpus");
        assert!(cpus.is_number());
    }

    #[test]
    fn quoted_numbers_are_strings() {
        let root = doc("a: '0.5'\nb: 0.5\nc: \"1\"\nd: 1.5G\n");
        assert!(!root.get("a").expect("a").is_number());
        assert!(root.get("b").expect("b").is_number());
        assert!(!root.get("c").expect("c").is_number());
        assert!(!root.get("d").expect("d").is_number());
    }

    #[test]
    fn merge_keys_and_aliases_are_expanded() {
        let root = doc(
            "x-base: &base\n  restart: always\n  image: a:1\nservices:\n  s:\n    <<: *base\n    image: b:2\n",
        );
        let s = root.at(&["services", "s"]).expect("s");
        assert_eq!(s.get("image").and_then(Node::as_str), Some("b:2"));
        assert_eq!(s.get("restart").and_then(Node::as_str), Some("always"));
        assert_eq!(s.get("restart").expect("restart").pos.line, 2);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let d = parse("a: 1\na: 2\n").expect("parses");
        assert_eq!(d.duplicate_keys.len(), 1);
        assert_eq!(d.duplicate_keys[0].pos.line, 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h"])
        {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = parse(&text).expect_err("exponential");
        assert!(e.message.contains("aliases expand"), "{e:?}");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("a: [1, 2\nb: c\n").expect_err("unterminated flow sequence");
        assert!(e.pos.line >= 1, "{e:?}");
    }
}
