//! Typed high-availability topology for PromptForge HA codegen.
//!
//! The pipeline this crate owns:
//!
//! ```text
//! TOML text --load/from_str--> TopologyFile (raw) --validate--> Topology (valid)
//! ```
//!
//! Loading reports syntax errors, unknown keys, wrong types and malformed
//! units with the file, line and column of the key. Validation runs the
//! field rules (ranges, lengths) and every cross-field rule, collects every
//! problem, and builds a [`Topology`] only when there is no error. Each
//! problem is a [`Diagnostic`] with a stable [`Code`].
//!
//! ```
//! let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/prod.toml")).unwrap();
//! let loaded = pf_model::from_str(&text, "prod.toml").unwrap();
//! let checked = loaded.validate();
//! assert!(checked.topology.is_some());
//! for d in &checked.diagnostics {
//!     println!("{}", d.to_human());
//! }
//! ```

pub mod codes;
mod load;
pub mod model;
pub mod naming;
mod recover;
mod source;
mod topology;
pub mod units;
mod validate;

pub use codes::Code;
pub use load::{LoadError, Loaded, MAX_FILE_BYTES, from_str, load, load_from};
pub use model::TopologyFile;
pub use pf_diag::{
    Diagnostic, DiagnosticCode, Finding, Location, Severity, printable, secret_like,
};
pub use source::SourceMap;
pub use topology::{Checked, Topology};

/// The JSON Schema of a topology file, as pretty-printed JSON with a
/// trailing newline (the form committed as `schema/topology.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
