//! The one way pf-cli reads a folder it was given: `--check DIR`,
//! `lint DIR`, and the output folder before it is replaced.
//!
//! - A symbolic link inside the folder is an entry of kind
//!   [`Kind::Symlink`]: it is reported by the caller, never entered or
//!   read. Files are opened one path component at a time, relative to
//!   their folder and with `O_NOFOLLOW`, so a link swapped in after the
//!   walk is not followed either. (A link to `/proc/self/environ` once put
//!   the environment into a drift report.)
//! - It cannot loop: without links the tree is finite, and a folder that
//!   contains itself through a bind mount is caught by the (device, inode)
//!   of the folders on the current path.
//! - Modes are masked once, by [`MODE_MASK`].

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

/// The permission bits compared and reported everywhere: all of 0o7777,
/// setuid, setgid and sticky included. Bundles never set those three, so a
/// clean folder compares equal either way, while a script that became
/// setuid is a difference a drift check must show (a 0o777 mask hid it).
pub(crate) const MODE_MASK: u32 = 0o7777;

/// Folders deeper than this are not walked: no bundle comes near it, and
/// each level holds a file descriptor while its subfolders are read.
const MAX_DEPTH: usize = 128;

/// What an entry is, read without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link: never followed.
    Symlink,
    /// A socket, FIFO or device.
    Other,
}

/// Type, permission bits and owner of a file or folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// What it is.
    pub(crate) kind: Kind,
    /// Permission bits, masked by [`MODE_MASK`].
    pub(crate) mode: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Device and inode: the identity of a folder.
    id: (u64, u64),
}

impl Meta {
    // The stat field types differ between architectures.
    #[allow(clippy::useless_conversion)]
    fn of(st: &Stat) -> Self {
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        };
        Self {
            kind,
            mode: st.st_mode & MODE_MASK,
            uid: st.st_uid,
            size: u64::try_from(i64::from(st.st_size)).unwrap_or(0),
            id: (u64::from(st.st_dev), u64::from(st.st_ino)),
        }
    }
}

/// One entry under the walked folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Path relative to the walked folder, with `/` (a name that is not
    /// UTF-8 is shown with replacement characters).
    pub(crate) path: String,
    /// Type, mode, owner and size.
    pub(crate) meta: Meta,
}

/// A walked folder: its own metadata and every entry under it, in name
/// order, the entries of a folder before those of its subfolders.
#[derive(Debug)]
pub(crate) struct Tree {
    root: OwnedFd,
    /// The folder itself.
    pub(crate) meta: Meta,
    /// Every entry under it.
    pub(crate) entries: Vec<Entry>,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Tree {
    /// Walks the folder at `path`. A link in `path` itself is followed (the
    /// caller named it); nothing inside is. Subfolders for which `descend`
    /// (given their relative path) says false are listed, not entered.
    pub(crate) fn read(path: &Path, descend: &dyn Fn(&str) -> bool) -> io::Result<Self> {
        let root = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Self::walk(root, descend)
    }

    /// Walks the folder `name` in the open folder `parent`; a link there is
    /// an error (`ELOOP` or `ENOTDIR`), not followed.
    pub(crate) fn read_at(
        parent: BorrowedFd<'_>,
        name: &OsStr,
        descend: &dyn Fn(&str) -> bool,
    ) -> io::Result<Self> {
        let root = rustix::fs::openat(parent, name, DIR_FLAGS, Mode::empty())?;
        Self::walk(root, descend)
    }

    fn walk(root: OwnedFd, descend: &dyn Fn(&str) -> bool) -> io::Result<Self> {
        let meta = Meta::of(&rustix::fs::fstat(&root)?);
        let mut entries = Vec::new();
        let mut path = vec![meta.id];
        walk_dir(root.as_fd(), "", &mut path, descend, &mut entries)?;
        Ok(Self {
            root,
            meta,
            entries,
        })
    }

    /// Opens the regular file at `path` (relative, `/`-separated) for
    /// reading, following no link at any step.
    pub(crate) fn open(&self, path: &str) -> io::Result<File> {
        let mut parts = path.split('/').peekable();
        let mut dir: Option<OwnedFd> = None;
        while let Some(part) = parts.next() {
            if part.is_empty() || part == "." || part == ".." {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("not a plain relative path: {path}"),
                ));
            }
            let at = dir.as_ref().map_or(self.root.as_fd(), AsFd::as_fd);
            if parts.peek().is_some() {
                dir = Some(rustix::fs::openat(at, part, DIR_FLAGS, Mode::empty())?);
            } else {
                // O_NONBLOCK: a FIFO swapped in cannot make the open hang.
                let fd = rustix::fs::openat(
                    at,
                    part,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                if Meta::of(&rustix::fs::fstat(&fd)?).kind != Kind::File {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{path} is not a regular file"),
                    ));
                }
                return Ok(File::from(fd));
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"))
    }
}

/// The names in an open folder, without `.` and `..`, sorted by bytes.
pub(crate) fn names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn walk_dir(
    dir: BorrowedFd<'_>,
    prefix: &str,
    ancestors: &mut Vec<(u64, u64)>,
    descend: &dyn Fn(&str) -> bool,
    out: &mut Vec<Entry>,
) -> io::Result<()> {
    let mut subfolders = Vec::new();
    for name in names(dir)? {
        let meta = Meta::of(&rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)?);
        let shown = name.to_string_lossy();
        let path = if prefix.is_empty() {
            shown.into_owned()
        } else {
            format!("{prefix}/{shown}")
        };
        if meta.kind == Kind::Dir && descend(&path) {
            subfolders.push((name, path.clone(), meta.id));
        }
        out.push(Entry { path, meta });
    }
    for (name, path, id) in subfolders {
        if ancestors.contains(&id) || ancestors.len() > MAX_DEPTH {
            return Err(io::Error::other(format!(
                "{path}: the folder contains itself (a bind mount?) or is nested too deep"
            )));
        }
        let fd = rustix::fs::openat(dir, &name, DIR_FLAGS, Mode::empty())?;
        // Replaced between the listing and the open: read what is there now
        // only if it is still the folder that was listed.
        if Meta::of(&rustix::fs::fstat(&fd)?).id != id {
            return Err(io::Error::other(format!(
                "{path} changed while it was read"
            )));
        }
        ancestors.push(id);
        walk_dir(fd.as_fd(), &path, ancestors, descend, out)?;
        ancestors.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn kinds(tree: &Tree) -> Vec<(String, Kind)> {
        tree.entries
            .iter()
            .map(|e| (e.path.clone(), e.meta.kind))
            .collect()
    }

    #[test]
    fn lists_in_order_and_never_follows_links() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        std::fs::create_dir_all(d.join("b/c")).expect("mkdir");
        std::fs::write(d.join("b/c/deep"), "x").expect("write");
        std::fs::write(d.join("b/file"), "x").expect("write");
        std::fs::write(d.join("z"), "x").expect("write");
        symlink(".", d.join("a-loop")).expect("ln");
        symlink("/etc/passwd", d.join("b/passwd")).expect("ln");
        let tree = Tree::read(d, &|_| true).expect("walk");
        assert_eq!(
            kinds(&tree),
            [
                ("a-loop".to_owned(), Kind::Symlink),
                ("b".to_owned(), Kind::Dir),
                ("z".to_owned(), Kind::File),
                ("b/c".to_owned(), Kind::Dir),
                ("b/file".to_owned(), Kind::File),
                ("b/passwd".to_owned(), Kind::Symlink),
                ("b/c/deep".to_owned(), Kind::File),
            ]
        );
        let skip = Tree::read(d, &|p| p != "b").expect("walk");
        assert_eq!(skip.entries.len(), 3);
    }

    #[test]
    fn opens_files_only_without_links() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        std::fs::create_dir(d.join("real")).expect("mkdir");
        std::fs::write(d.join("real/f"), "inside").expect("write");
        symlink("real", d.join("link")).expect("ln");
        symlink("real/f", d.join("flink")).expect("ln");
        let tree = Tree::read(d, &|_| true).expect("walk");
        let mut text = String::new();
        tree.open("real/f")
            .expect("open")
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(text, "inside");
        for bad in ["link/f", "flink", "real", "../x", "real/../real/f", ""] {
            assert!(tree.open(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_keep_the_special_bits() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = tmp.path().join("s.sh");
        std::fs::write(&f, "x").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
        let tree = Tree::read(tmp.path(), &|_| true).expect("walk");
        assert_eq!(tree.entries[0].meta.mode, 0o4755);
    }
}
