//! The start of every command that needs one valid topology: load it,
//! validate it, print the diagnostics, and stop when it is not usable.

use std::path::Path;

use pf_model::{LoadError, Topology};

use crate::exit::Outcome;
use crate::output::{error, error_chain};

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
        Err(LoadError::Invalid { diagnostic }) => {
            error(&format!("{}\n", diagnostic.to_human()));
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
        error(&format!("{}\n", d.to_human()));
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
