//! Where things are in a topology file: byte spans of keys and values,
//! looked up by key path, and line/column for a byte offset.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Location;

/// The text of a topology file with the span of every key, so that a
/// diagnostic about `redis.sentinel.quorum` can point at its line.
///
/// The key index is built on first use: a valid file never pays for it.
#[derive(Debug, Clone)]
pub struct SourceMap {
    origin: String,
    text: String,
    /// Start of each line, for offset -> line/column.
    line_starts: Vec<usize>,
    index: OnceLock<HashMap<String, Spans>>,
}

/// Spans of one key: the key itself and its value.
#[derive(Debug, Clone)]
struct Spans {
    key: Range<usize>,
    value: Range<usize>,
}

impl SourceMap {
    /// Indexes `text`, read from `origin` (a path or a label such as `<stdin>`).
    /// A document that does not parse still gets line lookups, without key spans.
    pub fn new(text: &str, origin: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            origin: origin.to_owned(),
            text: text.to_owned(),
            line_starts,
            index: OnceLock::new(),
        }
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
        let line = self.line_starts.partition_point(|&s| s <= start).max(1) - 1;
        let line_start = self.line_starts[line];
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
        self.lookup(path).map(|s| s.key.clone())
    }

    /// Like [`SourceMap::key_span`], but the span of the value.
    pub fn value_span(&self, path: &str) -> Option<Range<usize>> {
        self.lookup(path).map(|s| s.value.clone())
    }

    /// The location of the key at `path`, falling back to the start of the file.
    pub fn locate_path(&self, path: &str) -> Location {
        self.locate(self.key_span(path).unwrap_or(0..0))
    }

    fn lookup(&self, path: &str) -> Option<&Spans> {
        let index = self.index.get_or_init(|| build_index(&self.text));
        let mut path = path;
        loop {
            if let Some(spans) = index.get(path) {
                return Some(spans);
            }
            // Walk up: `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a`.
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

fn build_index(text: &str) -> HashMap<String, Spans> {
    let mut index = HashMap::new();
    if let Ok(root) = DeTable::parse(text) {
        index_table(root.get_ref(), "", &mut index);
    }
    index
}

fn index_table(table: &DeTable<'_>, prefix: &str, index: &mut HashMap<String, Spans>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        index_value(value, &path, key.span(), index);
    }
}

fn index_value(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    key: Range<usize>,
    index: &mut HashMap<String, Spans>,
) {
    match value.get_ref() {
        DeValue::Table(t) => index_table(t, path, index),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                index_value(item, &format!("{path}[{i}]"), item.span(), index);
            }
        }
        _ => {}
    }
    index.insert(
        path.to_owned(),
        Spans {
            key,
            value: value.span(),
        },
    );
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        let map = SourceMap::new(DOC, "t.toml");
        let loc = map.locate_path("redis.sentinel.count");
        assert_eq!(loc.line, 2, "a missing key is reported at its table");
        assert_eq!(map.locate_path("nothing.here").line, 1);
    }
}
