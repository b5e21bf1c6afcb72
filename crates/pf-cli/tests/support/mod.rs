//! Helpers for the CLI tests of output folders: running `pf-render` in a
//! folder, topologies to render, and reading a folder back exactly
//! (modes, owners and links included, never following a link).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The production topology.
pub const PROD: &str = include_str!("../../../../topologies/prod.toml");

/// The `pf-render` binary under test.
pub fn pf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
}

/// Runs `pf-render ARGS` in `cwd`.
pub fn run<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Output {
    pf().args(args)
        .current_dir(cwd)
        .output()
        .expect("run pf-render")
}

/// The exit code; a death by signal (or a panic's 101) is shown as such.
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("pf-render was killed: {:?}", o.status))
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `text` with `old` (which must occur exactly once) replaced by `new`.
pub fn edit(text: &str, old: &str, new: &str) -> String {
    assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once");
    text.replacen(old, new, 1)
}

/// A Compose file with a privileged service: an error of the lint catalog
/// (`privileged`, line 4).
pub const PRIVILEGED_COMPOSE: &str =
    "services:\n  app:\n    image: nginx:1.27.3\n    privileged: true\n";

/// `dir/topologies/prod.toml` and its Swarm bundle rendered into `dir/bundle`.
pub fn prod_and_bundle(dir: &Path, bundle: &str) {
    std::fs::create_dir_all(dir.join("topologies")).expect("mkdir topologies");
    std::fs::write(dir.join("topologies/prod.toml"), PROD).expect("write prod.toml");
    let out = run(dir, &["-q", "swarm", "topologies/prod.toml", "-o", bundle]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// prod with one number changed: a valid topology whose bundle differs.
pub fn prod_changed() -> String {
    edit(PROD, "max-fails = 3", "max-fails = 4")
}

/// Writes `text` as `name` in `dir` and returns its path.
pub fn topology(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write topology");
    path
}

/// One entry of a folder as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A regular file: bytes, permission bits, owner.
    File(Vec<u8>, u32, u32),
    /// A folder: permission bits, owner.
    Dir(u32, u32),
    /// A symbolic link and where it points.
    Link(PathBuf),
    /// Anything else.
    Other,
}

/// Every entry under `dir` (not `dir` itself), relative path -> node; links
/// are read, never followed. Empty when `dir` does not exist.
pub fn tree(dir: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.expect("entry").path();
            let rel = p
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            let m = std::fs::symlink_metadata(&p).expect("lstat");
            let mode = m.permissions().mode() & 0o7777;
            let node = if m.file_type().is_symlink() {
                Node::Link(std::fs::read_link(&p).expect("readlink"))
            } else if m.is_dir() {
                stack.push(p.clone());
                Node::Dir(mode, m.uid())
            } else if m.is_file() {
                Node::File(std::fs::read(&p).expect("read"), mode, m.uid())
            } else {
                Node::Other
            };
            out.insert(rel, node);
        }
    }
    out
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The permission bits of `path` (not following a link).
pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("lstat")
        .permissions()
        .mode()
        & 0o7777
}

/// Runs a shell command line (for `chown`, `umask`, ...), asserting success.
pub fn sh(line: &str) {
    let status = Command::new("sh")
        .args(["-c", line])
        .status()
        .expect("run sh");
    assert!(status.success(), "`{line}` failed");
}
