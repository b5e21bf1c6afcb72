//! Whether a folder already holds exactly a bundle, so that writing it
//! again can be skipped.
//!
//! Re-rendering an unchanged topology is the common case (CI jobs,
//! pre-commit hooks), and replacing an identical folder costs an fsync per
//! file and an unlink per old file; on a file system mounted with `discard`
//! each unlink waits for the disk (BENCHMARKS.md). Skipping is only done
//! when the folder's end state would be the same: the same regular files
//! with the same bytes and modes, the same folders, nothing else.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pf_render::Bundle;

/// True when `dir` holds exactly the bundle's files (bytes and mode) and
/// folders, and nothing else. Any error reading it answers false: the
/// caller then writes the bundle, which reports the error if it persists.
pub(crate) fn holds_exactly(bundle: &Bundle, dir: &Path) -> bool {
    let mut files = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    if !walk(dir, "", &mut files, &mut dirs) {
        return false;
    }
    let mut wanted_dirs = BTreeSet::new();
    for artifact in bundle.artifacts() {
        if !files.remove(artifact.path.as_str()) {
            return false;
        }
        let mut parent = Path::new(&artifact.path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            wanted_dirs.insert(p.to_string_lossy().into_owned());
            parent = p.parent();
        }
        let path = dir.join(&artifact.path);
        let same_meta = fs::symlink_metadata(&path).is_ok_and(|m| {
            m.permissions().mode() & 0o7777 == artifact.mode
                && m.len() == artifact.contents.len() as u64
        });
        if !same_meta || !same_bytes(&path, artifact.contents.as_bytes()) {
            return false;
        }
    }
    files.is_empty() && dirs == wanted_dirs
}

/// Whether the file at `path` holds exactly `expected`, read in pieces: a
/// bundle file can be tens of MB, and reading it whole would add that to
/// the peak memory of the render.
fn same_bytes(path: &Path, expected: &[u8]) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
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

/// Lists the regular files and folders under `dir` as `/`-separated paths
/// relative to the top; false if anything else (a link, a socket) is there
/// or the folder cannot be read.
fn walk(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeSet<String>,
    dirs: &mut BTreeSet<String>,
) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return false;
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if kind.is_dir() {
            if !walk(&entry.path(), &rel, files, dirs) {
                return false;
            }
            dirs.insert(rel);
        } else if kind.is_file() {
            files.insert(rel);
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
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
        crate::write::replace_dir(b, &out).expect("writes");
        dir
    }

    #[test]
    fn an_identical_folder_is_recognised() {
        let b = bundle();
        let dir = written(&b);
        assert!(holds_exactly(&b, &dir.path().join("out")));
    }

    #[test]
    fn any_difference_means_write() {
        let b = bundle();
        let script = "scripts/health-check.sh";
        let changes: [Change; 8] = [
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
        ];
        assert_eq!(b.get(script).map(|a| a.mode), Some(0o755));
        for (what, change) in changes {
            let dir = written(&b);
            let out = dir.path().join("out");
            change(&out);
            assert!(!holds_exactly(&b, &out), "{what}");
        }
        assert!(!holds_exactly(&b, Path::new("/nonexistent/pf-render")));
    }
}
