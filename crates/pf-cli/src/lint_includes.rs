//! nginx `include` for `pf-render lint`: resolved relative to the
//! including file, within the folder being linted (a named file: its
//! folder), read with the walker that never follows a link. Anything
//! else is named as not checked by the catalog (`nginx-include-not-checked`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use pf_lint::{Included, IncludedFile, Includes};

use crate::walk::{self, Tree};

/// Where a linted nginx file sits: the folder includes may read, and the
/// file's folder inside it (relative, `/`-separated).
#[derive(Debug, Clone)]
struct Origin {
    root: PathBuf,
    dir: String,
}

/// Resolves includes of the files it was told about.
pub(crate) struct FolderIncludes {
    cwd: PathBuf,
    origins: RefCell<HashMap<String, Origin>>,
    trees: RefCell<HashMap<PathBuf, Result<Tree, String>>>,
}

impl FolderIncludes {
    pub(crate) fn new(cwd: &Path) -> Self {
        Self {
            cwd: cwd.to_path_buf(),
            origins: RefCell::new(HashMap::new()),
            trees: RefCell::new(HashMap::new()),
        }
    }

    /// The file `name` (as reported) is `rel` (relative, `/`-separated)
    /// inside the linted folder `root`.
    pub(crate) fn add(&self, name: &str, root: &Path, rel: &str) {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        self.origins.borrow_mut().insert(
            name.to_owned(),
            Origin {
                root: root.to_path_buf(),
                dir,
            },
        );
    }

    /// The path inside `root` that `pattern` names from `dir`, or why none.
    fn target(&self, origin: &Origin, pattern: &str) -> Result<String, String> {
        let outside = || format!("it is outside the linted folder {}", origin.root.display());
        let joined = if pattern.starts_with('/') {
            let root = pf_lint::normalize(&self.cwd.join(&origin.root));
            let path = pf_lint::normalize(Path::new(pattern));
            let rel = path.strip_prefix(&root).map_err(|_| outside())?;
            rel.to_string_lossy().into_owned()
        } else if origin.dir.is_empty() {
            pattern.to_owned()
        } else {
            format!("{}/{pattern}", origin.dir)
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop().ok_or_else(outside)?;
                }
                p => parts.push(p),
            }
        }
        Ok(parts.join("/"))
    }
}

impl Includes for FolderIncludes {
    fn resolve(&self, from: &str, pattern: &str) -> Included {
        let Some(origin) = self.origins.borrow().get(from).cloned() else {
            return Included::NotChecked(format!("{from} was not read from a folder"));
        };
        let target = match self.target(&origin, pattern) {
            Ok(t) => t,
            Err(why) => return Included::NotChecked(why),
        };
        let matcher = match pf_lint::glob(&target) {
            Ok(m) => m,
            Err(e) => return Included::NotChecked(format!("`{pattern}` is not a pattern: {e}")),
        };
        let mut trees = self.trees.borrow_mut();
        let tree = trees
            .entry(origin.root.clone())
            .or_insert_with(|| Tree::read(&origin.root, &|_| true).map_err(|e| e.to_string()));
        let tree = match tree {
            Ok(t) => t,
            Err(e) => return Included::NotChecked(format!("the folder cannot be read: {e}")),
        };
        let mut files = Vec::new();
        // In name order, as nginx reads a glob.
        let mut matched: Vec<&walk::Entry> = tree
            .entries
            .iter()
            .filter(|e| matcher.is_match(&e.path))
            .collect();
        matched.sort_by(|a, b| a.path.cmp(&b.path));
        for entry in matched {
            match entry.meta.kind {
                walk::Kind::File => {
                    let mut text = String::new();
                    let read = tree
                        .open(&entry.path)
                        .and_then(|mut f| f.read_to_string(&mut text));
                    if let Err(e) = read {
                        return Included::NotChecked(format!("{} cannot be read: {e}", entry.path));
                    }
                    let name = origin.root.join(&entry.path).to_string_lossy().into_owned();
                    self.add(&name, &origin.root, &entry.path);
                    files.push(IncludedFile { name, text });
                }
                walk::Kind::Symlink => {
                    return Included::NotChecked(format!(
                        "{} is a symbolic link, and links are never followed",
                        entry.path
                    ));
                }
                walk::Kind::Dir | walk::Kind::Other => {}
            }
        }
        let wildcard = pattern.contains(['*', '?', '[']);
        if files.is_empty() && !wildcard {
            return Included::NotChecked(format!("there is no file {target} in the linted folder"));
        }
        Included::Files(files)
    }
}
