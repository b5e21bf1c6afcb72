//! Whether a folder already holds exactly a bundle, so that writing it
//! again can be skipped.
//!
//! Re-rendering an unchanged topology is the common case (CI jobs,
//! pre-commit hooks), and replacing an identical folder costs an fsync per
//! file and an unlink per old file; on a file system mounted with `discard`
//! each unlink waits for the disk (BENCHMARKS.md). Skipping is only done
//! when the folder's end state would be the same: the same regular files
//! with the same bytes and modes, the same folders, nothing else; and only
//! when the folder is really ours, owned by the caller and writable by
//! nobody else. Otherwise a folder someone else made (or can still change)
//! would be handed back as the bundle we wrote; it is replaced instead, by
//! a fresh copy, when the ownership rules allow it ([`crate::ownership`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;

use pf_render::Bundle;

use crate::walk::{Kind, Meta, Tree};

/// Write permission for the group or others.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// True when the walked folder holds exactly the bundle's files (bytes and
/// mode) and folders, nothing else, and it and everything in it belong to
/// the caller and are not group- or world-writable. Any error reading it
/// answers false: the caller then replaces it, or reports the error.
pub(crate) fn holds_exactly(bundle: &Bundle, tree: &Tree) -> bool {
    let me = rustix::process::geteuid().as_raw();
    let ours = |m: &Meta| m.uid == me && m.mode & WRITABLE_BY_OTHERS == 0;
    if !ours(&tree.meta) || !tree.entries.iter().all(|e| ours(&e.meta)) {
        return false;
    }
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for e in &tree.entries {
        match e.meta.kind {
            Kind::File => {
                files.insert(e.path.as_str(), e.meta);
            }
            Kind::Dir => {
                dirs.insert(e.path.clone());
            }
            Kind::Symlink | Kind::Other => return false,
        }
    }
    let mut wanted_dirs = BTreeSet::new();
    for artifact in bundle.artifacts() {
        let Some(meta) = files.remove(artifact.path.as_str()) else {
            return false;
        };
        let mut parent = Path::new(&artifact.path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            wanted_dirs.insert(p.to_string_lossy().into_owned());
            parent = p.parent();
        }
        let same_meta = meta.mode == artifact.mode && meta.size == artifact.contents.len() as u64;
        if !same_meta || !same_bytes(tree, &artifact.path, artifact.contents.as_bytes()) {
            return false;
        }
    }
    files.is_empty() && dirs == wanted_dirs
}

/// Whether the file at `path` holds exactly `expected`, read in pieces: a
/// bundle file can be tens of MB, and reading it whole would add that to
/// the peak memory of the render.
fn same_bytes(tree: &Tree, path: &str, expected: &[u8]) -> bool {
    let Ok(mut file) = tree.open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut rest = expected;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return rest.is_empty(),
            Ok(n) => match rest.strip_prefix(&buf[..n]) {
                Some(tail) => rest = tail,
                None => return false,
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// What a test does to a written folder, and its name.
    type Change = (&'static str, fn(&Path));

    /// prod's Swarm bundle: nested folders, scripts (0o755) and configs (0o644).
    fn bundle() -> Bundle {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/prod.toml");
        let topology = pf_model::load(&file)
            .expect("prod loads")
            .validate()
            .topology
            .expect("prod is valid");
        pf_render::render(&topology, pf_render::Target::Swarm).expect("renders")
    }

    fn written(b: &Bundle) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        crate::write::replace_dir(b, &out, false).expect("writes");
        dir
    }

    fn holds(b: &Bundle, dir: &Path) -> bool {
        Tree::read(dir, &|_| true).is_ok_and(|t| holds_exactly(b, &t))
    }

    #[test]
    fn an_identical_folder_is_recognised() {
        let b = bundle();
        let dir = written(&b);
        assert!(holds(&b, &dir.path().join("out")));
    }

    #[test]
    fn any_difference_means_write() {
        let b = bundle();
        let script = "scripts/health-check.sh";
        let changes: &[Change] = &[
            ("contents", |d| {
                fs::write(d.join("README.md"), "edited\n").expect("write");
            }),
            ("same length, one byte changed", |d| {
                let p = d.join("docker-stack.yml");
                let mut bytes = fs::read(&p).expect("read");
                let middle = bytes.len() / 2;
                bytes[middle] ^= 1;
                fs::write(&p, bytes).expect("write");
            }),
            ("mode", |d| {
                let p = d.join("scripts/health-check.sh");
                fs::set_permissions(p, fs::Permissions::from_mode(0o644)).expect("chmod");
            }),
            ("missing file", |d| {
                fs::remove_file(d.join("README.md")).expect("rm");
            }),
            ("extra file", |d| {
                fs::write(d.join("nginx/extra.conf"), "").expect("write")
            }),
            ("extra empty folder", |d| {
                fs::create_dir(d.join("empty")).expect("mkdir")
            }),
            ("symlink instead of a file", |d| {
                fs::rename(d.join("README.md"), d.join("real.md")).expect("mv");
                std::os::unix::fs::symlink("real.md", d.join("README.md")).expect("ln");
            }),
            ("missing folder", |d| {
                fs::remove_dir_all(d.join("redis")).expect("rm")
            }),
            ("setuid script", |d| {
                let p = d.join("scripts/health-check.sh");
                fs::set_permissions(p, fs::Permissions::from_mode(0o4755)).expect("chmod");
            }),
            ("group-writable folder", |d| {
                fs::set_permissions(d.join("nginx"), fs::Permissions::from_mode(0o775))
                    .expect("chmod");
            }),
            ("world-writable bundle folder", |d| {
                fs::set_permissions(d, fs::Permissions::from_mode(0o757)).expect("chmod");
            }),
        ];
        assert_eq!(b.get(script).map(|a| a.mode), Some(0o755));
        for (what, change) in changes {
            let dir = written(&b);
            let out = dir.path().join("out");
            change(&out);
            assert!(!holds(&b, &out), "{what}");
        }
        assert!(!holds(&b, Path::new("/nonexistent/pf-render")));
    }
}
