//! Pure rendering of a validated topology into a bundle of files.
//!
//! ```text
//! &Topology --plan(target)--> Plan --emit--> Bundle { artifacts }
//! ```
//!
//! Every bundle ends with [`MANIFEST`] (`.pf-render.json`, a [`Manifest`]):
//! each other file with its SHA-256 and mode, so the writer can tell a
//! folder it wrote from one it must not replace.
//!
//! [`render`] is a pure function: no I/O, no clock, no randomness. The same
//! topology gives the same bytes on any machine. YAML comes from typed serde
//! structs; text configs come from minijinja templates embedded in the
//! binary, rendered with strict undefined behaviour.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/prod.toml")).unwrap();
//! let topology = pf_model::from_str(&text, "topologies/prod.toml").unwrap().validate().topology.unwrap();
//! let bundle = pf_render::render(&topology, pf_render::Target::Swarm).unwrap();
//! let stack = bundle.get("docker-stack.yml").unwrap();
//! assert!(stack.contents.contains("endpoint_mode: dnsrr"));
//! ```

mod bundle;
mod emit;
mod error;
mod escape;
mod files;
mod hash;
mod manifest;
mod plan;
mod target;
mod templates;
mod yaml_writer;

pub use bundle::{Artifact, Bundle};
pub use error::RenderError;
pub use manifest::{MANIFEST, Manifest, ManifestFile};
pub use target::{LocalOptions, Target};

use pf_model::Topology;

/// Renders every file of `topology` for `target`.
///
/// Errors are bugs of the generator (a template that fails to render, a
/// YAML structure that fails to serialize), never problems of the
/// topology: those were rejected by validation.
pub fn render(topology: &Topology, target: Target) -> Result<Bundle, RenderError> {
    render_with(topology, target, &LocalOptions::default())
}

/// Like [`render`], with the run folder and port policy of the local target
/// (ignored by the other targets).
pub fn render_with(
    topology: &Topology,
    target: Target,
    local: &LocalOptions,
) -> Result<Bundle, RenderError> {
    let plan = plan::Plan::new(topology, target, Some(local));
    let mut bundle = Bundle::new(topology.origin(), target);
    emit::all(topology, &plan, &mut bundle)?;
    bundle.finish()?;
    Ok(bundle)
}
