//! Reading a topology file: TOML syntax, unknown keys, types and units.

use std::path::Path;

use pf_diag::{Diagnostic, Finding};

use crate::codes::Code;
use crate::model::TopologyFile;
use crate::source::SourceMap;
use crate::units::HELP_MARKER;

/// A topology that parsed, with its source for locating later diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The raw, not yet validated topology.
    pub file: TopologyFile,
    /// The text it came from.
    pub source: SourceMap,
}

/// Why a topology could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path as given.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a well-formed topology.
    #[error("{origin} is not a well-formed topology")]
    Invalid {
        /// The file, as named in the diagnostics.
        origin: String,
        /// Every problem found, in file order: a syntax error alone (nothing
        /// else is read before the file parses), or every unknown key, wrong
        /// type and malformed value.
        diagnostics: Vec<Diagnostic>,
    },
}

/// The largest topology file read, in bytes. A topology is a few
/// kilobytes; the synthetic 10,000-service benchmark topology (the most
/// services a topology may have) is 2.9 MiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and parses the topology at `path`. The path is kept as given, for
/// diagnostics. At most [`MAX_FILE_BYTES`] are read: a larger file (or an
/// endless one such as `/dev/zero`) is an I/O error, not a memory exhaustion.
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| LoadError::Io {
        path: shown.clone(),
        source,
    })?;
    load_from(file, &shown)
}

/// Reads and parses a topology from `reader` (standard input, for
/// example); `origin` names it in diagnostics. At most
/// [`MAX_FILE_BYTES`] are read, as by [`load`].
pub fn load_from(reader: impl std::io::Read, origin: &str) -> Result<Loaded, LoadError> {
    let bytes = read_bounded(reader).map_err(|source| LoadError::Io {
        path: origin.to_owned(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => from_str(&text, origin),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = SourceMap::new(&text, origin);
            Err(invalid(
                &source,
                Code::TomlSyntax,
                "the file is not valid UTF-8".into(),
                "TOML files must be UTF-8; re-save the file as UTF-8 and check the marked position"
                    .into(),
                valid_up_to..valid_up_to + 1,
            ))
        }
    }
}

/// The reader's bytes, reading one byte past the limit to tell a file of
/// exactly the limit from a longer one (the size in the metadata of a
/// device or a pipe says nothing).
fn read_bounded(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {} MiB, the most a topology may be (a topology is a few kilobytes): is it the right file?",
                MAX_FILE_BYTES / 1024 / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// Parses a topology from `text`; `origin` names it in diagnostics.
pub fn from_str(text: &str, origin: &str) -> Result<Loaded, LoadError> {
    let source = SourceMap::new(text, origin);
    let root = toml::de::DeTable::parse(text).map_err(|e| {
        invalid(
            &source,
            Code::TomlSyntax,
            e.message().trim_end().to_owned(),
            "fix the TOML syntax at the marked position".into(),
            e.span().unwrap_or(0..0),
        )
    })?;
    source.set_document(root.get_ref());
    match serde::Deserialize::deserialize(toml::de::Deserializer::from(root)) {
        Ok(file) => Ok(Loaded { file, source }),
        // serde stopped at the first error: find the others. The document
        // is parsed again (it parsed once), so a valid file pays nothing.
        Err(first) => {
            let problems = match toml::de::DeTable::parse(text) {
                Ok(root) => crate::recover::all_errors(&root, text.len(), classify),
                Err(_) => Vec::new(),
            };
            let problems = if problems.is_empty() {
                let (code, message, help) = classify(first.message());
                vec![(code, message, help, first.span().unwrap_or(0..0))]
            } else {
                problems
            };
            let mut diagnostics: Vec<Diagnostic> = problems
                .into_iter()
                .map(|(code, message, help, span)| {
                    Finding::new(code, "", message, help).at(source.locate(span))
                })
                .collect();
            diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
            diagnostics.dedup();
            Err(LoadError::Invalid {
                origin: origin.to_owned(),
                diagnostics,
            })
        }
    }
}

fn invalid(
    source: &SourceMap,
    code: Code,
    message: String,
    help: String,
    span: std::ops::Range<usize>,
) -> LoadError {
    LoadError::Invalid {
        origin: source.origin().to_owned(),
        diagnostics: vec![Finding::new(code, "", message, help).at(source.locate(span))],
    }
}

/// Turns a serde message into a code, a message and a help text.
fn classify(raw: &str) -> (Code, String, String) {
    let raw = raw.trim_end();
    if let Some((message, help)) = raw.split_once(HELP_MARKER) {
        return (Code::InvalidValue, message.to_owned(), help.to_owned());
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let help = match pf_diag::closest(field, &allowed) {
            Some(best) => format!(
                "did you mean `{best}`? allowed here: {}",
                allowed.join(", ")
            ),
            None if allowed.is_empty() => "remove this key".to_owned(),
            None => format!("remove it; allowed here: {}", allowed.join(", ")),
        };
        return (Code::UnknownKey, format!("unknown key `{field}`"), help);
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (
            Code::MissingKey,
            format!("missing key `{field}`"),
            format!("add `{field} = ...` to this table; `pf-render schema` describes it"),
        );
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return (
            Code::InvalidValue,
            format!("unknown value `{value}`"),
            format!("use one of: {}", allowed.join(", ")),
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = plain_type(expected);
        return (
            Code::OutOfRange,
            format!("{found} is out of range"),
            format!("use {expected}"),
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = plain_type(expected);
        return (
            Code::WrongType,
            format!("expected {expected}, found {found}"),
            format!("write {expected} here"),
        );
    }
    if raw.starts_with("invalid length") {
        return (
            Code::WrongType,
            raw.to_owned(),
            "see `pf-render schema` for what this key accepts".to_owned(),
        );
    }
    (
        Code::InvalidValue,
        raw.to_owned(),
        "see `pf-render schema` for what this key accepts".to_owned(),
    )
}

/// Serde names Rust types (`u16`, `a sequence`); a person wants TOML words.
fn plain_type(expected: &str) -> String {
    match expected {
        "u8" => "an integer from 0 to 255".into(),
        "u16" => "an integer from 0 to 65535".into(),
        "u32" | "u64" | "usize" => "a non-negative integer".into(),
        "i32" | "i64" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "`true` or `false`".into(),
        "a sequence" => "an array, like `[\"a\", \"b\"]`".into(),
        "a map" => "a table".into(),
        "a string" => "a quoted string".into(),
        other if other.starts_with("struct ") => "a table".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_serde_messages() {
        assert_eq!(
            classify("unknown field `replica`, expected one of `replicas`, `image`").0,
            Code::UnknownKey
        );
        assert_eq!(classify("missing field `image`").0, Code::MissingKey);
        assert_eq!(
            classify("invalid type: string \"3\", expected u32").0,
            Code::WrongType
        );
        assert_eq!(
            classify("unknown variant `fast`, expected one of `a`").0,
            Code::InvalidValue
        );
        let (code, message, help) = classify("invalid value: integer `70000`, expected u16");
        assert_eq!(code, Code::OutOfRange);
        assert_eq!(message, "integer `70000` is out of range");
        assert_eq!(help, "use an integer from 0 to 65535");
        let (_, message, _) = classify("invalid type: string \"3\", expected u32");
        assert_eq!(
            message,
            "expected a non-negative integer, found string \"3\""
        );
    }
}
