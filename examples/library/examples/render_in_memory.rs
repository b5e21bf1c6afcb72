//! Renders a topology in memory (no files written) and inspects one
//! artifact: what another tool embedding pf-render would do.
//!
//! `cargo run -p pf-examples --example render_in_memory`

// An example program prints its findings.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use pf_render::Target;

fn main() {
    let text = include_str!("../../../topologies/prod.toml");
    let checked = match pf_model::from_str(text, "topologies/prod.toml") {
        Ok(loaded) => loaded.validate(),
        Err(e) => {
            eprintln!("prod.toml does not load: {e}");
            std::process::exit(2);
        }
    };
    let Some(topology) = checked.topology else {
        eprintln!(
            "prod.toml is invalid: {} diagnostic(s)",
            checked.diagnostics.len()
        );
        std::process::exit(1);
    };
    let bundle = match pf_render::render(&topology, Target::Swarm) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("rendering failed: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "{} files for {}:",
        bundle.artifacts().len(),
        bundle.target()
    );
    for a in bundle.artifacts() {
        println!("  {:o} {:>6} bytes  {}", a.mode, a.contents.len(), a.path);
    }
    // Inspect one artifact: the upstreams nginx balances over.
    if let Some(nginx) = bundle.get("nginx/load-balancer.conf") {
        println!("\nupstream servers in nginx/load-balancer.conf:");
        for line in nginx
            .contents
            .lines()
            .filter(|l| l.trim_start().starts_with("server tasks."))
        {
            println!("  {}", line.trim());
        }
    }
}
