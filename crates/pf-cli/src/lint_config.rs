//! `.pf-lint.toml` for `pf-render lint`: discovered upward from each
//! linted path (or named with `--config`), with `--ignore` added to it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pf_lint::{CONFIG_FILE, Config, Rule, normalize};

use crate::output::{Stream, error, human, note, shown};

/// The largest configuration file read: a configuration is a few lines.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Every configuration in use, and which folder found which.
pub(crate) struct Configs {
    cwd: PathBuf,
    explicit: Option<usize>,
    list: Vec<Config>,
    by_dir: HashMap<PathBuf, usize>,
    ignore: Vec<Rule>,
}

impl Configs {
    /// `--config FILE` when given (read now), else discovery; `ignore`
    /// (`--ignore`) applies under every configuration. Problems in a
    /// configuration are printed; the result is then `Err`.
    pub(crate) fn new(explicit: Option<&Path>, ignore: Vec<Rule>) -> Result<Self, ()> {
        let cwd = std::env::current_dir().map_err(|e| {
            error(&format!("error: cannot read the current folder: {e}"));
        })?;
        let mut configs = Self {
            cwd,
            explicit: None,
            list: Vec::new(),
            by_dir: HashMap::new(),
            ignore,
        };
        if let Some(path) = explicit {
            let index = configs.read(path)?;
            configs.explicit = Some(index);
        }
        Ok(configs)
    }

    /// The current folder, that paths are relative to.
    pub(crate) fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The configuration for a linted `path` (a file, a folder, or for
    /// standard input the name it was given): `--config`, else the nearest
    /// `.pf-lint.toml` in the path's folder or above, else an empty one.
    pub(crate) fn for_path(&mut self, path: &Path, is_dir: bool) -> Result<usize, ()> {
        if let Some(i) = self.explicit {
            return Ok(i);
        }
        let start = if is_dir {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let start = normalize(&self.cwd.join(start));
        let mut seen = Vec::new();
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            if let Some(&i) = self.by_dir.get(d) {
                return Ok(self.remember(seen, i));
            }
            seen.push(d.to_path_buf());
            let candidate = d.join(CONFIG_FILE);
            if candidate.is_file() {
                let shown = candidate
                    .strip_prefix(&self.cwd)
                    .unwrap_or(&candidate)
                    .to_path_buf();
                let i = self.read(&shown)?;
                return Ok(self.remember(seen, i));
            }
            dir = d.parent();
        }
        let mut empty = Config::empty(self.cwd.clone());
        empty.ignore(&self.ignore);
        self.list.push(empty);
        Ok(self.remember(seen, self.list.len() - 1))
    }

    /// The configuration at `index`.
    pub(crate) fn get(&self, index: usize) -> &Config {
        &self.list[index]
    }

    fn remember(&mut self, dirs: Vec<PathBuf>, index: usize) -> usize {
        for d in dirs {
            self.by_dir.insert(d, index);
        }
        index
    }

    /// Reads and parses the configuration at `path`.
    fn read(&mut self, path: &Path) -> Result<usize, ()> {
        use std::io::Read as _;
        let name = path.display().to_string();
        let mut text = String::new();
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES).read_to_string(&mut text));
        if let Err(e) = read {
            error(&format!(
                "error: cannot read the lint configuration {}: {e}",
                shown(&name)
            ));
            return Err(());
        }
        let dir = normalize(&self.cwd.join(path))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        match Config::parse(&text, &name, dir) {
            Ok(mut config) => {
                note(&format!("using the lint configuration {}", shown(&name)));
                config.ignore(&self.ignore);
                self.list.push(config);
                Ok(self.list.len() - 1)
            }
            Err(problems) => {
                for d in &problems {
                    error(&format!("{}\n", human(d, Stream::Stderr)));
                }
                error(&format!(
                    "error: the lint configuration {} is not valid: nothing was linted",
                    shown(&name)
                ));
                Err(())
            }
        }
    }
}
