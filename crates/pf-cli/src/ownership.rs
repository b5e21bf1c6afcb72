//! Whether an existing output folder may be replaced: pf-render owns only
//! what it wrote.
//!
//! Replacing a folder deletes everything in it, so it is only done when
//! nothing would be lost: every entry in the folder must be accounted for,
//! as
//!
//! - a file the folder's `.pf-render.json` lists, with the same SHA-256
//!   and mode (written by pf-render, not edited since), or
//! - a file with exactly the bytes and mode the new bundle writes there, or
//! - a folder on the way to such a file, or the manifest itself.
//!
//! Anything else (a file the user added or edited, an extra folder, a
//! link, a socket) makes the render refuse, naming what it found, unless
//! `--force`. An empty folder has nothing to lose. A folder without a
//! manifest (not ours, or written before manifests existed) therefore
//! passes only when it already holds nothing but the new bundle's files.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use pf_render::{Bundle, MANIFEST, Manifest, ManifestFile};
use sha2::{Digest, Sha256};

use crate::output::shown;
use crate::walk::{Kind, Tree};

/// How many findings a refusal lists; the rest are counted.
const SHOWN: usize = 10;

/// A manifest is a few hundred bytes per file; anything bigger is not one.
const MANIFEST_MAX: u64 = 64 << 20;

/// Why a folder may not be replaced: what in it pf-render did not write.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// One line per entry not accounted for, in path order.
    pub(crate) findings: Vec<String>,
    /// The folder's own manifest, if it has one pf-render understands.
    has_manifest: bool,
}

impl Refusal {
    /// The lines printed after `refusing to replace DIR: ...`: the first
    /// findings, how many more, and what to do.
    pub(crate) fn details(&self) -> String {
        let mut text = String::new();
        for f in self.findings.iter().take(SHOWN) {
            let _ = writeln!(text, "  {f}");
        }
        if self.findings.len() > SHOWN {
            let _ = writeln!(text, "  ... and {} more", self.findings.len() - SHOWN);
        }
        if !self.has_manifest {
            let _ = writeln!(
                text,
                "  (it has no {MANIFEST}: pf-render did not write this folder, or a version before manifests did)"
            );
        }
        let _ = write!(
            text,
            "  = help: rendering replaces the whole folder, so these would be lost. Move your own files out \
             (secret files and .env.production belong outside the bundle, see its README), \
             render into another folder with -o, or pass --force to replace the folder anyway"
        );
        text
    }
}

/// Ok when replacing the walked folder `tree` with `bundle` loses nothing
/// (see the module documentation).
pub(crate) fn check(bundle: &Bundle, tree: &Tree) -> Result<(), Refusal> {
    let old = tree
        .entries
        .iter()
        .find(|e| e.path == MANIFEST && e.meta.kind == Kind::File)
        .and_then(|_| read_manifest(tree));
    let new = bundle
        .get(MANIFEST)
        .and_then(|a| Manifest::parse(&a.contents));
    let mut kept_dirs = BTreeSet::new();
    for path in [&old, &new]
        .into_iter()
        .flatten()
        .flat_map(|m| m.files.iter().map(|f| f.path.as_str()))
    {
        let mut parent = Path::new(path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            kept_dirs.insert(p.to_string_lossy().into_owned());
            parent = p.parent();
        }
    }
    let mut findings = Vec::new();
    for entry in &tree.entries {
        let path = entry.path.as_str();
        let finding = match entry.meta.kind {
            Kind::Dir if kept_dirs.contains(path) => continue,
            Kind::Dir => format!("{}/ (a folder pf-render did not write)", shown(path)),
            Kind::Symlink => format!("{} (a symbolic link)", shown(path)),
            Kind::Other => format!("{} (not a regular file)", shown(path)),
            Kind::File if path == MANIFEST && old.is_some() => continue,
            Kind::File => {
                let listed = old.as_ref().and_then(|m| m.file(path));
                let rendered = new.as_ref().and_then(|m| m.file(path));
                // Only a file one of the manifests names is worth reading.
                let digest = (listed.is_some() || rendered.is_some())
                    .then(|| sha256(tree, path))
                    .flatten();
                let same = |f: Option<&ManifestFile>| {
                    f.zip(digest.as_deref()).is_some_and(|(f, d)| {
                        f.sha256 == d && f.mode_bits() == Some(entry.meta.mode)
                    })
                };
                if same(listed) || same(rendered) {
                    continue;
                }
                if listed.is_some() {
                    format!("{} (edited since pf-render wrote it)", shown(path))
                } else {
                    format!("{} (not written by pf-render)", shown(path))
                }
            }
        };
        findings.push(finding);
    }
    findings.sort();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Refusal {
            findings,
            has_manifest: old.is_some(),
        })
    }
}

fn read_manifest(tree: &Tree) -> Option<Manifest> {
    let mut text = String::new();
    tree.open(MANIFEST)
        .ok()?
        .take(MANIFEST_MAX)
        .read_to_string(&mut text)
        .ok()?;
    Manifest::parse(&text)
}

/// Lower-case hex SHA-256 of the file at `path`, read in pieces; `None`
/// when it cannot be read (it then counts as not ours).
fn sha256(tree: &Tree, path: &str) -> Option<String> {
    let mut file = tree.open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    Some(hex)
}
