//! Pure rendering of a validated topology into a bundle of files.
//!
//! ```text
//! &Topology --plan(target)--> Plan --emit--> Bundle { artifacts }
//! ```
//!
//! [`plan()`] makes every decision (names, addresses, ports, networks,
//! deployments) once; [`emit()`] writes the plan down and decides nothing.
//! [`render`] is both, and a pure function: no I/O, no clock, no randomness. The same
//! topology gives the same bytes on any machine. YAML comes from typed serde
//! structs; text configs come from minijinja templates embedded in the
//! binary, rendered with strict undefined behaviour.
//!
//! Every bundle ends with [`MANIFEST`] (`.pf-render.json`, a [`Manifest`]):
//! each other file with its SHA-256 and mode, so the writer can tell a
//! folder it wrote from one it must not replace.
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
pub mod failure;
mod files;
mod hash;
mod manifest;
pub mod plan;
mod target;
mod templates;
#[cfg(test)]
mod yaml_oracle;
mod yaml_writer;

pub use bundle::{Artifact, Bundle};
pub use error::RenderError;
pub use failure::{FailureDomains, failure_domains};
pub use manifest::{MANIFEST, Manifest, ManifestFile};
pub use plan::Plan;
pub use target::{LocalOptions, Target};

use pf_model::Topology;

/// Decides everything about a rendering of `topology` for `target`: every
/// instance's name, host, address, ports, files, networks and deployment.
/// Pure and infallible: the topology is valid.
///
/// ```
/// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/prod.toml")).unwrap();
/// # let topology = pf_model::from_str(&text, "topologies/prod.toml").unwrap().validate().topology.unwrap();
/// let plan = pf_render::plan(&topology, pf_render::Target::local());
/// let primary = &plan.postgres.primary().instance;
/// assert_eq!(primary.listen.to_string(), "127.0.2.1");
/// assert!(primary.data.as_ref().unwrap().path.ends_with("data/postgres-1"));
/// // The same plan is what gets written.
/// let bundle = pf_render::emit(&plan).unwrap();
/// assert!(bundle.get(&plan.lb.config.artifact).is_some());
/// ```
pub fn plan(topology: &Topology, target: Target) -> Plan {
    Plan::new(topology, target)
}

/// Writes every file of `plan`.
///
/// Errors are bugs of the generator (a template that fails to render, a
/// YAML structure that fails to serialize), never problems of the
/// topology: those were rejected by validation.
pub fn emit(plan: &Plan) -> Result<Bundle, RenderError> {
    let mut bundle = Bundle::new(&plan.origin, plan.target.clone());
    emit::all(plan, &mut bundle)?;
    bundle.finish()?;
    Ok(bundle)
}

/// The Swarm stack file or Compose file of `bundle` (rendered from `plan`
/// by [`emit()`]) as JSON: the document its YAML holds, key for key, for
/// tools that compare it with what runs (`pf-render drill --on`, `pf-render
/// plan`) without a YAML parser. `None` for the local target, which has
/// no such file.
pub fn deployment_document(
    plan: &Plan,
    bundle: &Bundle,
) -> Result<Option<serde_json::Value>, RenderError> {
    emit::deployment_document(plan, bundle)
}

/// Renders every file of `topology` for `target`: [`plan()`], then [`emit()`].
pub fn render(topology: &Topology, target: Target) -> Result<Bundle, RenderError> {
    emit(&plan(topology, target))
}
