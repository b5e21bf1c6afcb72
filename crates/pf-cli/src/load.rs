//! Reading topologies: from a file or from standard input (`-`), and the
//! start of every command that needs one valid topology: load it,
//! validate it, print the diagnostics, and stop when it is not usable.

use std::path::Path;

use pf_model::{LoadError, Loaded, Topology};

use crate::exit::Outcome;
use crate::output::{Stream, error, error_chain, human};

/// The name a topology read from standard input gets without `--stdin-filename`.
pub(crate) const STDIN_LABEL: &str = "<stdin>";

/// Loads the topology at `path`; `-` reads standard input, named
/// `stdin_name` (or `<stdin>`) in diagnostics.
pub(crate) fn read(path: &Path, stdin_name: Option<&str>) -> Result<Loaded, LoadError> {
    if path == Path::new("-") {
        let name = stdin_name.unwrap_or(STDIN_LABEL);
        pf_model::load_from(std::io::stdin().lock(), name)
    } else {
        pf_model::load(path)
    }
}

/// The valid topology in `file`, with its diagnostics printed on stderr;
/// or the outcome to exit with (1 for an invalid topology, or for warnings
/// with `deny_warnings`; 2 for an unreadable file). `not_done` says what
/// did not happen because of it ("nothing was written: ...").
pub(crate) fn valid_topology(
    file: &Path,
    deny_warnings: bool,
    not_done: &str,
) -> Result<Topology, Outcome> {
    let loaded = match pf_model::load(file) {
        Ok(l) => l,
        Err(LoadError::Invalid { diagnostics, .. }) => {
            for d in &diagnostics {
                error(&format!("{}\n", human(d, Stream::Stderr)));
            }
            error(not_done);
            return Err(Outcome::Findings);
        }
        Err(e) => {
            error(&error_chain(&e));
            return Err(Outcome::Failure);
        }
    };
    let checked = loaded.validate();
    for d in &checked.diagnostics {
        error(&format!("{}\n", human(d, Stream::Stderr)));
    }
    let warnings = checked.diagnostics.iter().filter(|d| !d.is_error()).count();
    match checked.topology {
        Some(t) if !(deny_warnings && warnings > 0) => Ok(t),
        _ => {
            error(not_done);
            Err(Outcome::Findings)
        }
    }
}
