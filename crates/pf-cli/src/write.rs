//! Writing a bundle into a folder atomically: the folder is either the
//! complete new bundle or exactly what it was before, even if the process
//! is killed part-way.
//!
//! Files go to a temporary sibling folder first (same parent, so the final
//! step is a rename on one file system), which is fsynced, then swapped
//! with the target in one `renameat2(RENAME_EXCHANGE)`; the old contents
//! are removed afterwards. Where the kernel or file system lacks
//! `RENAME_EXCHANGE`, the fallback is two renames, which leaves a short
//! window without a target but never a half-written one. A folder that
//! already holds exactly the bundle is left as it is ([`crate::unchanged`]).
//! A render killed part-way leaves its staging folder behind; the next
//! render of the same target removes it.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pf_render::Bundle;

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// An I/O step failed; the target folder is unchanged.
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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
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
/// already holds exactly them.
pub(crate) fn replace_dir(bundle: &Bundle, target: &Path) -> Result<Written, WriteError> {
    if target.exists() && !target.is_dir() {
        return Err(WriteError::NotAFolder {
            path: target.to_owned(),
        });
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_owned());
    remove_stale(&parent, &name);
    // Checked after the cleanup, so a render killed earlier leaves nothing
    // behind even when the next one has nothing to write.
    if crate::unchanged::holds_exactly(bundle, target) {
        return Ok(Written::Unchanged);
    }
    let staging = parent.join(format!(".{name}.pf-new-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let result =
        write_tree(bundle, &staging).and_then(|()| swap_in(&staging, target, &parent, &name));
    if result.is_err() {
        // Leave nothing behind: the target was not touched.
        let _ = fs::remove_dir_all(&staging);
    }
    result.map(|()| Written::Replaced)
}

/// Removes the staging and old-bundle folders of `name` that renders killed
/// part-way left in `parent` (`.NAME.pf-new-PID`, `.NAME.pf-old-PID`). A
/// folder whose process is still running belongs to a concurrent render and
/// is left alone. Best effort: what cannot be removed stays, as before.
fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.pf-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_prefix("new-").or(rest.strip_prefix("old-")))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Files kept open between writing and fsyncing them, at most.
const OPEN_FILES: usize = 256;

fn write_tree(bundle: &Bundle, root: &Path) -> Result<(), WriteError> {
    fs::create_dir_all(root).map_err(io(root))?;
    // Every folder made here, fsynced after the files so the entries are durable too.
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::from([root.to_owned()]);
    let mut written: Vec<(PathBuf, fs::File)> = Vec::new();
    for artifact in bundle.artifacts() {
        let path = root.join(&artifact.path);
        if let Some(dir) = path.parent()
            && !dirs.contains(dir)
        {
            fs::create_dir_all(dir).map_err(io(dir))?;
            dirs.extend(
                dir.ancestors()
                    .take_while(|d| *d != root)
                    .map(Path::to_path_buf),
            );
        }
        let mut file = fs::File::create(&path).map_err(io(&path))?;
        file.write_all(artifact.contents.as_bytes())
            .map_err(io(&path))?;
        file.set_permissions(fs::Permissions::from_mode(artifact.mode))
            .map_err(io(&path))?;
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
    for dir in &dirs {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// Durable before the rename makes them visible.
fn sync_files(files: &mut Vec<(PathBuf, fs::File)>) -> Result<(), WriteError> {
    for (path, file) in files.drain(..) {
        file.sync_all().map_err(io(&path))?;
    }
    Ok(())
}

fn swap_in(staging: &Path, target: &Path, parent: &Path, name: &str) -> Result<(), WriteError> {
    if !target.exists() {
        fs::rename(staging, target).map_err(io(target))?;
    } else {
        let cwd = rustix::fs::CWD;
        let exchanged =
            rustix::fs::renameat_with(cwd, staging, cwd, target, rustix::fs::RenameFlags::EXCHANGE);
        if exchanged.is_err() {
            let old = parent.join(format!(".{name}.pf-old-{}", std::process::id()));
            fs::rename(target, &old).map_err(io(target))?;
            if let Err(e) = fs::rename(staging, target) {
                let _ = fs::rename(&old, target);
                return Err(io(target)(e));
            }
            fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            // After the exchange, `staging` holds the old bundle.
            fs::remove_dir_all(staging).map_err(io(staging))?;
        }
    }
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io(parent))
}
