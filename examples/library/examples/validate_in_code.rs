//! Builds a topology in code (no TOML file), breaks two rules on purpose,
//! validates it, and prints the diagnostics as a compiler would.
//!
//! `cargo run -p pf-examples --example validate_in_code`

// An example program prints its findings.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use pf_model::TopologyFile;
use pf_model::model::{Redis, Sentinel};

fn main() {
    // Start from a checked-in topology, then change it the way a tool
    // generating topologies would: through the typed model.
    let text = include_str!("../../../topologies/prod.toml");
    let mut topology: TopologyFile = match pf_model::from_str(text, "prod.toml") {
        Ok(loaded) => loaded.file,
        Err(e) => {
            eprintln!("prod.toml does not load: {e}");
            std::process::exit(2);
        }
    };
    let Redis { sentinel, .. } = &mut topology.redis;
    let Sentinel { count, quorum, .. } = sentinel;
    *count = 4; // even: a warning
    *quorum = 5; // more than the Sentinels: an error
    topology.services[0].replicas = 5;

    // Validation sees a topology built in code; diagnostics point into its
    // TOML form, labelled `<in-memory>`.
    let checked = topology.validate();
    for diagnostic in &checked.diagnostics {
        println!("{}\n", diagnostic.to_human());
    }
    match checked.topology {
        Some(valid) => println!("valid: {} app services", valid.spec().services.len()),
        None => println!("invalid: {} diagnostic(s)", checked.diagnostics.len()),
    }
}
