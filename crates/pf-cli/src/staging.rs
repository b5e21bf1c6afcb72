//! The staging folder a bundle is written into before it is swapped in,
//! and removing folder trees, both without following any link.
//!
//! The folder is `.NAME.pf-new-<16 random hex digits>` next to the target:
//! a name nobody can predict and plant in advance, made with `mkdirat`
//! (which fails on anything already there, link or not) and opened with
//! `O_NOFOLLOW`. It stays 0700 while it is written, so nobody else can read
//! a half-written bundle or put anything into it; every file and folder
//! gets its final mode explicitly (`fchmod`, so the umask plays no part)
//! just before the swap. Everything below it is made relative to the open
//! folder, never through a path that could be redirected.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use pf_render::Bundle;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// The mode of every folder of a written bundle.
const DIR_MODE: u32 = 0o755;

/// Files kept open between writing and fsyncing them, at most.
const OPEN_FILES: usize = 256;

/// What the folder of a render is for; part of its name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// The new bundle, being written.
    New,
    /// The old bundle, moved aside (when the file system cannot exchange).
    Old,
}

/// `.NAME.pf-new-` or `.NAME.pf-old-`: the start of the names of the
/// folders renders of target `name` make next to it.
pub(crate) fn prefix(name: &OsStr, purpose: Purpose) -> OsString {
    let mut p = OsString::from(".");
    p.push(name);
    p.push(match purpose {
        Purpose::New => ".pf-new-",
        Purpose::Old => ".pf-old-",
    });
    p
}

/// A fresh name for a folder of target `name`, with a random suffix.
pub(crate) fn fresh_name(name: &OsStr, purpose: Purpose) -> io::Result<OsString> {
    let mut bytes = [0u8; 8];
    rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty())?;
    let mut n = prefix(name, purpose);
    for b in bytes {
        n.push(format!("{b:02x}"));
    }
    Ok(n)
}

/// A staging folder made by this render.
pub(crate) struct Staging {
    /// Its name in the parent folder.
    pub(crate) name: OsString,
    /// Its path, for messages.
    pub(crate) path: PathBuf,
    root: OwnedFd,
}

/// Why writing into the staging folder failed: the path and the cause.
pub(crate) type StageError = (PathBuf, io::Error);

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Staging {
    /// Makes a new, empty staging folder for target `name` in `parent`
    /// (shown as `parent_path`), mode 0700.
    pub(crate) fn create(
        parent: BorrowedFd<'_>,
        parent_path: &Path,
        name: &OsStr,
    ) -> Result<Self, StageError> {
        let mut tries = 0;
        loop {
            let fresh = fresh_name(name, Purpose::New).map_err(|e| (parent_path.to_owned(), e))?;
            let path = parent_path.join(&fresh);
            match rustix::fs::mkdirat(parent, &fresh, Mode::from_raw_mode(0o700)) {
                Ok(()) => {}
                // Someone made that name first (64 random bits: only on purpose).
                Err(Errno::EXIST) if tries < 8 => {
                    tries += 1;
                    continue;
                }
                Err(e) => return Err((path, e.into())),
            }
            let root = rustix::fs::openat(parent, &fresh, DIR_FLAGS, Mode::empty())
                .map_err(|e| (path.clone(), e.into()))?;
            // The umask may have taken bits from 0700; and a folder swapped in
            // under this name by someone else is not ours to fill.
            let st = rustix::fs::fstat(&root).map_err(|e| (path.clone(), e.into()))?;
            if st.st_uid != rustix::process::geteuid().as_raw() {
                return Err((
                    path,
                    io::Error::other("the staging folder was replaced by another user's"),
                ));
            }
            rustix::fs::fchmod(&root, Mode::from_raw_mode(0o700))
                .map_err(|e| (path.clone(), e.into()))?;
            return Ok(Self {
                name: fresh,
                path,
                root,
            });
        }
    }

    /// Writes every file of `bundle` with its mode, fsyncs files and
    /// folders, then gives the folders their final mode (the staging
    /// folder itself last).
    pub(crate) fn write(&self, bundle: &Bundle) -> Result<(), StageError> {
        let mut dirs: BTreeMap<String, OwnedFd> = BTreeMap::new();
        let mut written: Vec<(PathBuf, File)> = Vec::new();
        for artifact in bundle.artifacts() {
            let path = self.path.join(&artifact.path);
            let (dir, file_name) = match artifact.path.rsplit_once('/') {
                Some((dir, file)) => (Some(dir), file),
                None => (None, artifact.path.as_str()),
            };
            let at = match dir {
                Some(dir) => self.folder(&mut dirs, dir)?,
                None => self.root.as_fd(),
            };
            check_component(file_name).map_err(|e| (path.clone(), e))?;
            let fd = rustix::fs::openat(
                at,
                file_name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| (path.clone(), e.into()))?;
            let mut file = File::from(fd);
            file.write_all(artifact.contents.as_bytes())
                .map_err(|e| (path.clone(), e))?;
            rustix::fs::fchmod(&file, Mode::from_raw_mode(artifact.mode))
                .map_err(|e| (path.clone(), e.into()))?;
            // Start writing the data back now, without waiting: the fsyncs
            // below then find every file already on its way, and one journal
            // commit covers them all instead of one commit per file. Dirty
            // pages are never dropped by this advice, only clean ones.
            let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
            written.push((path, file));
            if written.len() == OPEN_FILES {
                sync_files(&mut written)?;
            }
        }
        sync_files(&mut written)?;
        for (rel, fd) in &dirs {
            let path = self.path.join(rel);
            rustix::fs::fchmod(fd, Mode::from_raw_mode(DIR_MODE))
                .and_then(|()| rustix::fs::fsync(fd))
                .map_err(|e| (path, e.into()))?;
        }
        rustix::fs::fchmod(&self.root, Mode::from_raw_mode(DIR_MODE))
            .and_then(|()| rustix::fs::fsync(&self.root))
            .map_err(|e| (self.path.clone(), e.into()))
    }

    /// The open folder `rel` (`a/b`) under the staging folder, made (0700)
    /// with its parents when missing.
    fn folder<'a>(
        &'a self,
        dirs: &'a mut BTreeMap<String, OwnedFd>,
        rel: &str,
    ) -> Result<BorrowedFd<'a>, StageError> {
        let mut done = String::new();
        for part in rel.split('/') {
            let parent_key = done.clone();
            if !done.is_empty() {
                done.push('/');
            }
            done.push_str(part);
            if dirs.contains_key(&done) {
                continue;
            }
            let path = self.path.join(&done);
            check_component(part).map_err(|e| (path.clone(), e))?;
            let at = match dirs.get(&parent_key) {
                Some(fd) if !parent_key.is_empty() => fd.as_fd(),
                _ => self.root.as_fd(),
            };
            rustix::fs::mkdirat(at, part, Mode::from_raw_mode(0o700))
                .map_err(|e| (path.clone(), e.into()))?;
            let fd = rustix::fs::openat(at, part, DIR_FLAGS, Mode::empty())
                .map_err(|e| (path.clone(), e.into()))?;
            dirs.insert(done.clone(), fd);
        }
        dirs.get(rel)
            .map(AsFd::as_fd)
            .ok_or_else(|| (self.path.join(rel), io::Error::other("folder not made")))
    }
}

/// A bundle path component must be a plain name: the renderer makes them,
/// so anything else is a bug, refused before it can reach the file system.
fn check_component(part: &str) -> io::Result<()> {
    if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a plain file name (a bug in pf-render)",
        ));
    }
    Ok(())
}

/// Durable before the rename makes them visible.
fn sync_files(files: &mut Vec<(PathBuf, File)>) -> Result<(), StageError> {
    for (path, file) in files.drain(..) {
        file.sync_all().map_err(|e| (path, e))?;
    }
    Ok(())
}

/// Removes `name` in `parent` and, if it is a folder, everything in it,
/// without following links: a link is removed as a link.
pub(crate) fn remove_tree(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Ok(rustix::fs::unlinkat(parent, name, AtFlags::empty())?);
    }
    let dir = rustix::fs::openat(parent, name, DIR_FLAGS, Mode::empty())?;
    for child in crate::walk::names(dir.as_fd())? {
        remove_tree(dir.as_fd(), &child)?;
    }
    Ok(rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?)
}
