//! `--check DIR`: compare a rendering in memory with a folder on disk.
//!
//! The folder is read with [`crate::walk`]: a link inside it is drift
//! ("is a symlink") and is never followed, so neither a link out of the
//! folder nor a link cycle can leak or loop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use pf_render::Bundle;

use crate::output::shown;
use crate::walk::{Kind, Tree};

/// The differences between a bundle and a folder, as a unified diff and
/// one line per other difference; empty when they are identical.
pub(crate) fn diff(bundle: &Bundle, dir: &Path) -> std::io::Result<String> {
    let mut report = String::new();
    let tree = match Tree::read(dir, &|_| true) {
        Ok(t) => Some(t),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            let _ = writeln!(
                report,
                "{} does not exist or is not a folder",
                dir.display()
            );
            None
        }
        Err(e) => return Err(e),
    };
    let mut on_disk: BTreeMap<&str, Kind> = tree
        .iter()
        .flat_map(|t| &t.entries)
        .map(|e| (e.path.as_str(), e.meta.kind))
        .collect();
    let modes: BTreeMap<&str, u32> = tree
        .iter()
        .flat_map(|t| &t.entries)
        .map(|e| (e.path.as_str(), e.meta.mode))
        .collect();
    // Folders that hold a rendered file are expected.
    let mut wanted = BTreeSet::new();
    for artifact in bundle.artifacts() {
        let path = artifact.path.as_str();
        let mut parent = Path::new(path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            wanted.insert(p.to_string_lossy().into_owned());
            parent = p.parent();
        }
        match (on_disk.remove(path), &tree) {
            (Some(Kind::File), Some(tree)) => {
                let mut bytes = Vec::new();
                tree.open(path)?.read_to_end(&mut bytes)?;
                let current = String::from_utf8_lossy(&bytes);
                if current != artifact.contents {
                    let text =
                        similar::TextDiff::from_lines(current.as_ref(), artifact.contents.as_str());
                    let _ = write!(
                        report,
                        "{}",
                        text.unified_diff()
                            .context_radius(3)
                            .header(&format!("a/{path}"), &format!("b/{path}"))
                    );
                }
                let mode = modes.get(path).copied().unwrap_or_default();
                if mode != artifact.mode {
                    let _ = writeln!(
                        report,
                        "mode of {path}: {mode:o} on disk, {:o} rendered",
                        artifact.mode
                    );
                }
            }
            (None, _) | (_, None) => {
                let _ = writeln!(report, "missing: {path} (rendered, not on disk)");
            }
            (Some(kind), Some(_)) => {
                let _ = writeln!(report, "{}", not_a_file(path, kind));
            }
        }
    }
    // Every folder with something in it; an extra folder is only named
    // when it is empty (what is in it is named by itself).
    let holding: BTreeSet<String> = on_disk
        .keys()
        .filter_map(|p| p.rsplit_once('/').map(|(dir, _)| dir.to_owned()))
        .collect();
    for (path, kind) in on_disk {
        let line = match kind {
            Kind::File => format!("extra: {} (on disk, not rendered)", shown(path)),
            Kind::Dir if wanted.contains(path) || holding.contains(path) => continue,
            Kind::Dir => format!(
                "extra: {}/ (empty folder on disk, not rendered)",
                shown(path)
            ),
            Kind::Symlink | Kind::Other => not_a_file(&shown(path), kind),
        };
        let _ = writeln!(report, "{line}");
    }
    Ok(report)
}

fn not_a_file(path: &str, kind: Kind) -> String {
    match kind {
        Kind::Symlink => format!("{path}: is a symlink, not followed (links are drift)"),
        Kind::Dir => format!("{path}: is a folder on disk, a file rendered"),
        Kind::File | Kind::Other => format!("{path}: is not a regular file"),
    }
}
