//! Writing a bundle into a folder atomically: the folder is either the
//! complete new bundle or exactly what it was before, even if the process
//! is killed part-way; and a folder is only replaced when nothing in it
//! would be lost.
//!
//! In order, all relative to the parent folder opened once:
//!
//! 1. Lock: an exclusive `flock` on the parent folder itself, held until
//!    the end. Renders of the same target serialize (64 parallel first
//!    renders once raced to rename into the same new folder); no lock file
//!    is left behind, and the lock is released by the kernel when a render
//!    dies.
//! 2. Remove leftovers: under the lock no other render of this target is
//!    running, so every `.NAME.pf-new-*` / `.NAME.pf-old-*` folder next to
//!    it is debris of a killed render, whatever its pid (a pid says nothing
//!    across PID namespaces). Only real folders owned by the caller are
//!    removed; anything else with such a name is left alone.
//! 3. Look at the target without following a link: a link or a non-folder
//!    is refused; a folder that already holds exactly the bundle is left as
//!    it is ([`crate::unchanged`]); otherwise it must be ours to replace
//!    ([`crate::ownership`]) unless `--force`.
//! 4. Write the staging folder ([`crate::staging`]), fsync it, and swap it
//!    in with one `renameat2(RENAME_EXCHANGE)` (or `RENAME_NOREPLACE` for a
//!    new target); the old bundle is then removed. Where the file system
//!    lacks `RENAME_EXCHANGE`, the fallback is two renames, which leaves a
//!    short window without a target but never a half-written one.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Component, Path, PathBuf};

use pf_render::Bundle;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::ownership::{self, Refusal};
use crate::staging::{self, Purpose, Staging};
use crate::walk::Tree;

/// Why a bundle could not be written. In every case the target folder is
/// as it was.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// An I/O step failed.
    #[error("cannot write {path}")]
    Io {
        /// The path being written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The target exists and is not a folder.
    #[error("{path} exists and is not a folder")]
    NotAFolder {
        /// The target.
        path: PathBuf,
    },
    /// The target is a symbolic link: never followed, never replaced.
    #[error(
        "{path} is a symbolic link; pf-render does not follow links (not even with --force): name the folder itself"
    )]
    Link {
        /// The target.
        path: PathBuf,
    },
    /// The target has no name to put a staging folder next to (`/`).
    #[error("{path} cannot be replaced: it has no parent folder")]
    NoParent {
        /// The target.
        path: PathBuf,
    },
    /// The target holds files pf-render did not write, or edited ones.
    #[error("refusing to replace {path}: it holds files pf-render did not write, or edited since")]
    Foreign {
        /// The target.
        path: PathBuf,
        /// What was found.
        refusal: Refusal,
    },
}

fn io<E: Into<std::io::Error>>(path: &Path) -> impl FnOnce(E) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source: source.into(),
    }
}

/// What [`replace_dir`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// The folder now holds the new bundle.
    Replaced,
    /// The folder already held exactly this bundle and was left as it was.
    Unchanged,
}

/// Replaces `target` with the bundle's files, or leaves it alone when it
/// already holds exactly them. With `force`, a folder that holds files
/// pf-render did not write is replaced too (links in it are removed as
/// links, never followed).
pub(crate) fn replace_dir(
    bundle: &Bundle,
    target: &Path,
    force: bool,
) -> Result<Written, WriteError> {
    let (parent_path, name) = split(target)?;
    // Folders made on the way get 0755 less the umask: a stricter umask is
    // the user's choice for folders that are not the bundle's.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&parent_path)
        .map_err(io(&parent_path))?;
    let parent = rustix::fs::openat(
        rustix::fs::CWD,
        &parent_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io(&parent_path))?;
    rustix::fs::flock(&parent, FlockOperation::LockExclusive).map_err(io(&parent_path))?;
    remove_leftovers(parent.as_fd(), &name);

    let existed = match rustix::fs::statat(&parent, &name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => false,
        Err(e) => return Err(io(target)(e)),
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => true,
            FileType::Symlink => {
                return Err(WriteError::Link {
                    path: target.to_owned(),
                });
            }
            _ => {
                return Err(WriteError::NotAFolder {
                    path: target.to_owned(),
                });
            }
        },
    };
    if existed {
        match Tree::read_at(parent.as_fd(), &name, &|_| true) {
            Ok(tree) => {
                if crate::unchanged::holds_exactly(bundle, &tree) {
                    return Ok(Written::Unchanged);
                }
                if !force {
                    ownership::check(bundle, &tree).map_err(|refusal| WriteError::Foreign {
                        path: target.to_owned(),
                        refusal,
                    })?;
                }
            }
            // With --force an unreadable folder is replaced all the same.
            Err(_) if force => {}
            Err(e) => return Err(io(target)(e)),
        }
    }

    let staging = Staging::create(parent.as_fd(), &parent_path, &name)
        .map_err(|(path, source)| WriteError::Io { path, source })?;
    let result = staging
        .write(bundle)
        .map_err(|(path, source)| WriteError::Io { path, source })
        .and_then(|()| swap_in(&parent, &parent_path, &staging.name, &name, existed, target));
    if result.is_err() {
        // Leave nothing behind: the target was not touched.
        let _ = staging::remove_tree(parent.as_fd(), &staging.name);
    }
    result.map(|()| Written::Replaced)
}

/// The parent folder and the name of `target`. A target ending in `.` or
/// `..` (`-o .`) names a real folder: it is resolved first, so it gets the
/// same checks as any other.
fn split(target: &Path) -> Result<(PathBuf, OsString), WriteError> {
    let resolved;
    let path = match target.components().next_back() {
        Some(Component::Normal(_)) => target,
        _ => {
            resolved = std::fs::canonicalize(target).map_err(io(target))?;
            &resolved
        }
    };
    match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => {
            let p = if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_owned()
            };
            Ok((p, n.to_owned()))
        }
        _ => Err(WriteError::NoParent {
            path: target.to_owned(),
        }),
    }
}

/// Removes what killed renders of `name` left in `parent` (best effort:
/// what cannot be removed stays, as before). Called under the lock.
fn remove_leftovers(parent: BorrowedFd<'_>, name: &OsStr) {
    let Ok(names) = crate::walk::names(parent) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    let prefixes = [
        staging::prefix(name, Purpose::New),
        staging::prefix(name, Purpose::Old),
    ];
    for entry in names {
        let bytes = entry.as_encoded_bytes();
        if !prefixes
            .iter()
            .any(|p| bytes.starts_with(p.as_encoded_bytes()))
        {
            continue;
        }
        let ours = rustix::fs::statat(parent, &entry, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::Directory && st.st_uid == me
        });
        if ours {
            let _ = staging::remove_tree(parent, &entry);
        }
    }
}

fn swap_in(
    parent: &OwnedFd,
    parent_path: &Path,
    staging: &OsStr,
    name: &OsStr,
    existed: bool,
    target: &Path,
) -> Result<(), WriteError> {
    if !existed {
        match rustix::fs::renameat_with(parent, staging, parent, name, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            // A file system without RENAME_NOREPLACE: under the lock, the
            // name was free a moment ago.
            Err(Errno::INVAL | Errno::NOSYS) => {
                rustix::fs::renameat(parent, staging, parent, name).map_err(io(target))?;
            }
            Err(e) => return Err(io(target)(e)),
        }
    } else if rustix::fs::renameat_with(parent, staging, parent, name, RenameFlags::EXCHANGE)
        .is_ok()
    {
        // After the exchange, the staging name holds the old bundle.
        staging::remove_tree(parent.as_fd(), staging).map_err(io(&parent_path.join(staging)))?;
    } else {
        let old = staging::fresh_name(name, Purpose::Old).map_err(io(target))?;
        rustix::fs::renameat(parent, name, parent, &old).map_err(io(target))?;
        if let Err(e) = rustix::fs::renameat(parent, staging, parent, name) {
            let _ = rustix::fs::renameat(parent, &old, parent, name);
            return Err(io(target)(e));
        }
        staging::remove_tree(parent.as_fd(), &old).map_err(io(&parent_path.join(&old)))?;
    }
    rustix::fs::fsync(parent).map_err(io(parent_path))
}
