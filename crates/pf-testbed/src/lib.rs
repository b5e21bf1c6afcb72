//! The container test tier's topology transformation.
//!
//! The test tier (`scripts/test-containers.sh`) deploys real bundles on a
//! small machine that has no registry. Before rendering, it rewrites a copy
//! of the topology with [`localize`]:
//!
//! - every image becomes the local look-alike built from Debian packages
//!   ([`ImageMap`]); Grafana, which Debian does not package, is turned off;
//! - `capacity` becomes the test machine ([`Machine`]), reservations are
//!   scaled down so that every instance fits on one node, and CPU limits are
//!   capped at a node's CPUs (Docker rejects more);
//! - on several nodes the overlay is not encrypted (the test kernel has no
//!   ESP; see `docs/containers.md`).
//!
//! Everything else stays as written, so the bundle under test is the one a
//! user gets for that topology. Each edit is reported as a [`Change`]. The
//! topology files in the repository and the goldens are never touched: the
//! result is a new file.

mod apps;
mod error;
mod facts;
mod images;
mod localize;
mod machine;

pub use apps::{App, apps};
pub use error::Error;
pub use facts::facts;
pub use images::{ImageMap, ROLES};
pub use localize::{Change, Localized, localize};
pub use machine::{CPU_SHARE, MEMORY_SHARE, Machine};

/// Loads and validates a topology, or explains why it is not valid.
pub fn validated(text: &str, origin: &str) -> Result<pf_model::Topology, Error> {
    let invalid = |report: String| Error::InvalidInput {
        origin: origin.to_owned(),
        report,
    };
    let loaded = pf_model::from_str(text, origin).map_err(|e| match e {
        pf_model::LoadError::Invalid { diagnostics, .. } => invalid(report(&diagnostics)),
        other => invalid(other.to_string()),
    })?;
    let checked = loaded.validate();
    match checked.topology {
        Some(t) => Ok(t),
        None => Err(invalid(report(&checked.diagnostics))),
    }
}

/// The diagnostics as the CLI prints them.
pub(crate) fn report(diagnostics: &[pf_model::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(pf_model::Diagnostic::to_human)
        .collect::<Vec<_>>()
        .join("\n")
}
