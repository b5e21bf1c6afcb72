//! `--check DIR`: compare a rendering in memory with a folder on disk.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pf_render::Bundle;

/// The differences between a bundle and a folder, as a unified diff; empty
/// when they are identical.
pub(crate) fn diff(bundle: &Bundle, dir: &Path) -> std::io::Result<String> {
    let mut report = String::new();
    let mut on_disk = BTreeSet::new();
    if dir.is_dir() {
        collect(dir, dir, &mut on_disk)?;
    } else {
        let _ = writeln!(
            report,
            "{} does not exist or is not a folder",
            dir.display()
        );
    }
    for artifact in bundle.artifacts() {
        let path = dir.join(&artifact.path);
        on_disk.remove(&artifact.path);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let current = String::from_utf8_lossy(&bytes);
                if current != artifact.contents {
                    let text =
                        similar::TextDiff::from_lines(current.as_ref(), artifact.contents.as_str());
                    let _ = write!(
                        report,
                        "{}",
                        text.unified_diff().context_radius(3).header(
                            &format!("a/{}", artifact.path),
                            &format!("b/{}", artifact.path)
                        )
                    );
                }
                let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
                if mode != artifact.mode {
                    let _ = writeln!(
                        report,
                        "mode of {}: {:o} on disk, {:o} rendered",
                        artifact.path, mode, artifact.mode
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = writeln!(report, "missing: {} (rendered, not on disk)", artifact.path);
            }
            Err(e) => return Err(e),
        }
    }
    for extra in on_disk {
        let _ = writeln!(report, "extra: {extra} (on disk, not rendered)");
    }
    Ok(report)
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
