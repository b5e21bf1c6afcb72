//! Where things are in a topology file: byte spans of keys and values,
//! looked up by key path, and line/column for a byte offset.

use std::ops::Range;
use std::sync::OnceLock;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use pf_diag::Location;

/// The text of a topology file with the span of every key, so that a
/// diagnostic about `redis.sentinel.quorum` can point at its line.
///
/// The loader hands over the spans of the document it parsed; a source
/// map made from text alone parses it on the first lookup.
#[derive(Debug, Clone)]
pub struct SourceMap {
    origin: String,
    text: String,
    /// Start of each line, for offset -> line/column (on first use: a
    /// valid file never needs it).
    line_starts: OnceLock<Vec<usize>>,
    keys: OnceLock<Keys>,
}

/// Every key of the document as a tree in one array: the children of a
/// table or array are contiguous, so a lookup walks down its path (the
/// depth of the path, not an index of every path of the file) and the
/// whole tree is one allocation.
#[derive(Debug, Clone, Default)]
struct Keys {
    nodes: Vec<Node>,
    /// Keys whose text in the file is not the key (quoted, escaped).
    decoded: Vec<Box<str>>,
    /// The children of the document's root table.
    root: Range<u32>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    key: Range<u32>,
    value: Range<u32>,
    /// Children in `Keys::nodes`: keys of a table, items of an array.
    children: Range<u32>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Leaf,
    /// An array item: no key of its own.
    Item,
    /// A key written as it is in the file.
    Key,
    /// A key whose text is `Keys::decoded[i]`.
    Decoded(u32),
}

impl SourceMap {
    /// Indexes `text`, read from `origin` (a path or a label such as `<stdin>`).
    /// A document that does not parse still gets line lookups, without key spans.
    pub fn new(text: &str, origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            text: text.to_owned(),
            line_starts: OnceLock::new(),
            keys: OnceLock::new(),
        }
    }

    /// Keeps the key spans of `root`, the parsed `text`, so that locating a
    /// diagnostic does not parse the file again.
    pub(crate) fn set_document(&self, root: &DeTable<'_>) {
        // Set once, right after parsing; a second call would carry the same spans.
        let _ = self.keys.set(Keys::of(root, &self.text));
    }

    /// The file name or label the text came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The location of a byte span.
    pub fn locate(&self, span: Range<usize>) -> Location {
        let mut start = span.start.min(self.text.len());
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let line_starts = self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        });
        let line = line_starts.partition_point(|&s| s <= start).max(1) - 1;
        let line_start = line_starts[line];
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let column = self.text[line_start..start].chars().count() + 1;
        let mut end = span.end.clamp(start, line_end.max(start));
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        Location {
            file: self.origin.clone(),
            line: line + 1,
            column,
            width: self.text[start..end].chars().count().max(1),
            source_line: self.text[line_start..line_end]
                .trim_end_matches('\r')
                .to_owned(),
        }
    }

    /// The span of the key at `path` (`redis.sentinel.quorum`,
    /// `services[1].replicas`), or of the nearest ancestor present in the file
    /// (a missing key is reported at its table).
    pub fn key_span(&self, path: &str) -> Option<Range<usize>> {
        self.lookup(path).map(|s| range(&s.key))
    }

    /// Like [`SourceMap::key_span`], but the span of the value.
    pub fn value_span(&self, path: &str) -> Option<Range<usize>> {
        self.lookup(path).map(|s| range(&s.value))
    }

    /// The location of the key at `path`, falling back to the start of the file.
    pub fn locate_path(&self, path: &str) -> Location {
        self.locate(self.key_span(path).unwrap_or(0..0))
    }

    fn lookup(&self, path: &str) -> Option<&Node> {
        let keys = self.keys.get_or_init(|| {
            DeTable::parse(&self.text)
                .map(|root| Keys::of(root.get_ref(), &self.text))
                .unwrap_or_default()
        });
        keys.find(keys.root.clone(), path, &self.text)
            .map(|(_, n)| n)
    }
}

fn span(r: Range<usize>) -> Range<u32> {
    // Files over 4 GiB are not topologies; clamp rather than wrap.
    let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    clamp(r.start)..clamp(r.end)
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}

impl Keys {
    fn of(root: &DeTable<'_>, text: &str) -> Self {
        // A key takes at least a few bytes of text (`k=1` and a line break):
        // sized once, the array is not copied while it grows.
        let mut keys = Self {
            nodes: Vec::with_capacity(text.len() / 8),
            ..Self::default()
        };
        keys.root = keys.table(root, text);
        keys
    }

    /// Adds the keys of `table` side by side, then what is under each.
    fn table(&mut self, table: &DeTable<'_>, text: &str) -> Range<u32> {
        let first = self.nodes.len();
        for (key, value) in table {
            let name: &str = key.get_ref();
            let kind = if text.get(key.span()) == Some(name) {
                Kind::Key
            } else {
                self.decoded.push(name.into());
                Kind::Decoded(u32::try_from(self.decoded.len() - 1).unwrap_or(u32::MAX))
            };
            self.nodes.push(Node {
                key: span(key.span()),
                value: span(value.span()),
                children: 0..0,
                kind,
            });
        }
        for (i, (_, value)) in table.iter().enumerate() {
            let children = self.below(value, text);
            self.nodes[first + i].children = children;
        }
        span(first..first + table.len())
    }

    fn array(&mut self, items: &[Spanned<DeValue<'_>>], text: &str) -> Range<u32> {
        let first = self.nodes.len();
        for item in items {
            self.nodes.push(Node {
                key: span(item.span()),
                value: span(item.span()),
                children: 0..0,
                kind: Kind::Item,
            });
        }
        for (i, item) in items.iter().enumerate() {
            let children = self.below(item, text);
            self.nodes[first + i].children = children;
        }
        span(first..first + items.len())
    }

    fn below(&mut self, value: &Spanned<DeValue<'_>>, text: &str) -> Range<u32> {
        match value.get_ref() {
            DeValue::Table(t) => self.table(t, text),
            DeValue::Array(items) => self.array(items, text),
            _ => 0..0,
        }
    }

    fn name<'a>(&'a self, node: &Node, text: &'a str) -> &'a str {
        match node.kind {
            Kind::Key => text.get(range(&node.key)).unwrap_or_default(),
            Kind::Decoded(i) => self.decoded.get(i as usize).map_or("", |s| s),
            Kind::Leaf | Kind::Item => "",
        }
    }

    /// The deepest key among the table entries `children` on `path`
    /// (`a.b[2].c`), with the length of the path it matched. Keys may contain
    /// `.`, so every key that matches up to a `.`, `[` or the end is
    /// followed; the longest match wins, and of equal ones the later key,
    /// as the former index of every path did.
    fn find(&self, children: Range<u32>, path: &str, text: &str) -> Option<(usize, &Node)> {
        let mut best: Option<(usize, &Node)> = None;
        for node in self.nodes.get(range(&children)).unwrap_or_default() {
            if !matches!(node.kind, Kind::Key | Kind::Decoded(_)) {
                return None;
            }
            let key = self.name(node, text);
            let Some(rest) = path.strip_prefix(key) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with(['.', '['])) {
                continue;
            }
            let (more, found) = self.descend(node, rest, text);
            let matched = key.len() + more;
            if best.is_none_or(|(b, _)| matched >= b) {
                best = Some((matched, found));
            }
        }
        best
    }

    /// Follows the rest of a path below `node` (`.c`, `[2].c`) as far as
    /// the file has it.
    fn descend<'a>(&'a self, node: &'a Node, rest: &str, text: &str) -> (usize, &'a Node) {
        let children = self.nodes.get(range(&node.children)).unwrap_or_default();
        let is_array = children.first().is_some_and(|c| c.kind == Kind::Item);
        if let Some(sub) = rest.strip_prefix('.')
            && !is_array
            && let Some((more, found)) = self.find(node.children.clone(), sub, text)
        {
            return (1 + more, found);
        }
        if let Some(sub) = rest.strip_prefix('[')
            && is_array
            && let Some((digits, after)) = sub.split_once(']')
            && (after.is_empty() || after.starts_with(['.', '[']))
            // Exactly the form `[{i}]` paths are written in.
            && (digits == "0" || !digits.starts_with('0'))
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Some(item) = digits.parse::<usize>().ok().and_then(|i| children.get(i))
        {
            let (more, found) = self.descend(item, after, text);
            return (digits.len() + 2 + more, found);
        }
        (0, node)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const DOC: &str = "name = \"x\"\n[redis.sentinel]\nquorum = 4\n\n[[services]]\nname = \"a\"\n[[services]]\nname = \"b\"\nreplicas = 1\n";

    #[test]
    fn finds_nested_keys_and_array_elements() {
        let map = SourceMap::new(DOC, "t.toml");
        let loc = map.locate_path("redis.sentinel.quorum");
        assert_eq!((loc.line, loc.column), (3, 1));
        let loc = map.locate_path("services[1].replicas");
        assert_eq!((loc.line, loc.column), (9, 1));
        assert_eq!(loc.source_line, "replicas = 1");
    }

    /// The index the walk replaced: every path of the file in a map.
    fn reference_index(text: &str) -> HashMap<String, (Range<usize>, Range<usize>)> {
        fn table(
            t: &DeTable<'_>,
            prefix: &str,
            index: &mut HashMap<String, (Range<usize>, Range<usize>)>,
        ) {
            for (key, value) in t {
                let path = if prefix.is_empty() {
                    key.get_ref().to_string()
                } else {
                    format!("{prefix}.{}", key.get_ref())
                };
                item(value, &path, key.span(), index);
            }
        }
        fn item(
            value: &Spanned<DeValue<'_>>,
            path: &str,
            key: Range<usize>,
            index: &mut HashMap<String, (Range<usize>, Range<usize>)>,
        ) {
            match value.get_ref() {
                DeValue::Table(t) => table(t, path, index),
                DeValue::Array(items) => {
                    for (i, it) in items.iter().enumerate() {
                        item(it, &format!("{path}[{i}]"), it.span(), index);
                    }
                }
                _ => {}
            }
            index.insert(path.to_owned(), (key, value.span()));
        }
        let mut index = HashMap::new();
        if let Ok(root) = DeTable::parse(text) {
            table(root.get_ref(), "", &mut index);
        }
        index
    }

    fn reference_lookup(
        index: &HashMap<String, (Range<usize>, Range<usize>)>,
        mut path: &str,
    ) -> Option<(Range<usize>, Range<usize>)> {
        loop {
            if let Some(spans) = index.get(path) {
                return Some(spans.clone());
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// Every path of the example topologies, and paths below, beside and
    /// above them, resolve as the former full index resolved them.
    #[test]
    fn the_walk_finds_what_the_index_found() {
        let quoted = "[a]\n\"b.c\" = 1\nb = { c = 2, d = [1, { e = 3 }] }\n\"x[0]\" = 4\nx = [5]\n[\"a.b\"]\nc = 6\n";
        for text in [
            include_str!("../../../topologies/prod.toml"),
            include_str!("../../../examples/large-multi-host.toml"),
            include_str!("../../../examples/minimal-single-host.toml"),
            DOC,
            quoted,
        ] {
            let index = reference_index(text);
            let from_text = SourceMap::new(text, "t.toml");
            let loaded = SourceMap::new(text, "t.toml");
            loaded.set_document(DeTable::parse(text).expect("parses").get_ref());
            let mut paths: Vec<String> = index.keys().cloned().collect();
            for p in index.keys() {
                for suffix in [
                    ".missing", "[0]", "[99]", "[01]", ".b.c", "x", "[1].e", ".c",
                ] {
                    paths.push(format!("{p}{suffix}"));
                }
            }
            paths.extend(
                [
                    "",
                    ".",
                    "[0]",
                    "nothing",
                    "a.b.c",
                    "a.b.d[1].e",
                    "a.x[0]",
                    "a.x[0].y",
                ]
                .map(String::from),
            );
            for path in &paths {
                let expected = reference_lookup(&index, path);
                for map in [&from_text, &loaded] {
                    let got = map.lookup(path).map(|n| (range(&n.key), range(&n.value)));
                    assert_eq!(got, expected, "{path}");
                }
            }
        }
    }

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        let map = SourceMap::new(DOC, "t.toml");
        let loc = map.locate_path("redis.sentinel.count");
        assert_eq!(loc.line, 2, "a missing key is reported at its table");
        assert_eq!(map.locate_path("nothing.here").line, 1);
    }
}
