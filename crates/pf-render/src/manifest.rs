//! The ownership manifest `.pf-render.json`, part of every bundle: which
//! files pf-render wrote into the folder, with their SHA-256 and mode.
//!
//! The writer in pf-cli reads it back before replacing a folder: a folder
//! is only replaced while every file in it is one the manifest lists,
//! unchanged (or one about to be written with the same bytes), so a file
//! the user added or edited is never deleted silently. Like every other
//! artifact it is byte-deterministic (no time, no tool version, files in
//! path order), so golden files and `--check` cover it too.

use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::hash::sha256_hex;

/// Where the manifest lives in a bundle.
pub const MANIFEST: &str = ".pf-render.json";

/// The `tool` of a manifest pf-render wrote.
pub(crate) const TOOL: &str = "pf-render";

/// The manifest format this version writes and reads.
pub(crate) const FORMAT: u32 = 1;

/// The contents of `.pf-render.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `pf-render`: who owns the folder.
    pub tool: String,
    /// The format version, 1: a reader refuses formats it does not know.
    pub format: u32,
    /// The topology file, as the bundle's generated-by headers name it.
    pub topology: String,
    /// The target (`swarm`, `compose`, `local`).
    pub target: String,
    /// Every other file of the bundle, in path order.
    pub files: Vec<ManifestFile>,
}

/// One file a manifest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path relative to the bundle folder, with `/`.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Permission bits in octal, as `ls -l` users read them (`0644`).
    pub mode: String,
}

impl ManifestFile {
    /// The permission bits, if `mode` is valid octal.
    pub fn mode_bits(&self) -> Option<u32> {
        u32::from_str_radix(&self.mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
    }
}

impl Manifest {
    /// The manifest of `bundle`'s artifacts (it must not hold one yet).
    pub(crate) fn of(bundle: &Bundle) -> Self {
        Self {
            tool: TOOL.to_owned(),
            format: FORMAT,
            topology: crate::escape::file_label(bundle.origin()),
            target: bundle.target().name().to_owned(),
            files: bundle
                .artifacts()
                .iter()
                .map(|a| ManifestFile {
                    path: a.path.clone(),
                    sha256: sha256_hex(a.contents.as_bytes()),
                    mode: format!("{:04o}", a.mode),
                })
                .collect(),
        }
    }

    /// The file's text: pretty JSON, one field per line, so a diff of two
    /// manifests shows which files changed.
    pub(crate) fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|mut t| {
            t.push('\n');
            t
        })
    }

    /// Reads a manifest; `None` when `text` is not one this version
    /// understands (not JSON, unknown fields, another tool or format):
    /// such a folder is not known to be ours.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str::<Self>(text)
            .ok()
            .filter(|m| m.tool == TOOL && m.format == FORMAT)
    }

    /// The entry of `path`, if listed.
    pub fn file(&self, path: &str) -> Option<&ManifestFile> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            tool: TOOL.to_owned(),
            format: FORMAT,
            topology: "t.toml".to_owned(),
            target: "swarm".to_owned(),
            files: vec![
                ManifestFile {
                    path: "a.sh".to_owned(),
                    sha256: "00".repeat(32),
                    mode: "0755".to_owned(),
                },
                ManifestFile {
                    path: "b/c.conf".to_owned(),
                    sha256: "11".repeat(32),
                    mode: "0644".to_owned(),
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_finds_files() {
        let m = manifest();
        let text = m.to_json().expect("serializes");
        assert_eq!(Manifest::parse(&text), Some(m.clone()));
        assert_eq!(
            m.file("b/c.conf").and_then(ManifestFile::mode_bits),
            Some(0o644)
        );
        assert_eq!(
            m.file("a.sh").and_then(ManifestFile::mode_bits),
            Some(0o755)
        );
        assert!(m.file("b").is_none());
    }

    #[test]
    fn foreign_or_unknown_manifests_are_not_ours() {
        let text = manifest().to_json().expect("serializes");
        for bad in [
            text.replace("\"pf-render\"", "\"other-tool\""),
            text.replace("\"format\": 1", "\"format\": 2"),
            text.replace("\"tool\"", "\"extra\": 1,\n  \"tool\""),
            "not json".to_owned(),
            String::new(),
        ] {
            assert_eq!(Manifest::parse(&bad), None, "{bad}");
        }
        let mut m = manifest();
        m.files[0].mode = "99999".to_owned();
        assert_eq!(m.files[0].mode_bits(), None);
    }
}
