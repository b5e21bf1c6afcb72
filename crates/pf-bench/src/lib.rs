//! Synthetic topologies for benchmarks: the production topology with `n`
//! app services instead of two, so the cost of every stage can be measured
//! as the topology grows. Not part of the product's CLI.
//!
//! `cargo run -p pf-bench --bin gen-topologies -- DIR 1000` writes files.

use std::fmt::Write as _;

/// The production topology, whose services are replaced.
const PROD: &str = include_str!("../../../topologies/prod.toml");

/// A valid topology with `services` app services (each with 2 replicas, its
/// own route), sized so capacity, subnet and names stay valid at any count.
pub fn topology(services: usize) -> String {
    let head_end = PROD.find("[[services]]").expect("prod.toml has services");
    let tail_start = PROD.find("[postgres]").expect("prod.toml has postgres");
    let mut text = String::with_capacity(head_end + services * 420 + (PROD.len() - tail_start));
    // Room for every instance: the subnet is a /12, and nodes (twice the
    // size of prod's) grow with the services, 16 services per node, so that
    // 10,000 services stay within the 1,000 nodes a topology may have.
    let head = PROD[..head_end]
        .replace("subnet = \"172.26.0.0/16\"", "subnet = \"172.16.0.0/12\"")
        .replace(
            "allow = [\"127.0.0.1/32\", \"172.26.0.0/16\"]",
            "allow = [\"127.0.0.1/32\", \"172.16.0.0/12\"]",
        )
        .replace("nodes = 3", &format!("nodes = {}", 3 + services / 16))
        .replace("cpus-per-node = 16", "cpus-per-node = 32")
        .replace("memory-per-node = \"32G\"", "memory-per-node = \"64G\"");
    text.push_str(&head);
    for i in 0..services {
        // A name ending in a letter: `svc-1` with 3 replicas would make `svc-11`, a clash.
        let name = format!("s{i}-api");
        let _ = write!(
            text,
            "[[services]]\nname = \"{name}\"\nimage = \"registry.example.org/{name}:1.0.{i}\"\nreplicas = 3\nport = 8000\n\
             route = \"/{name}\"\nhealth-path = \"/{name}/health\"\nconnects-to = [\"postgres\", \"redis\"]\nsecrets-as = \"file\"\n\
             resources = {{ limits = {{ cpus = 0.5, memory = \"256M\" }}, reservations = {{ cpus = 0.25, memory = \"128M\" }} }}\n\n"
        );
    }
    text.push_str(&PROD[tail_start..]);
    // The prod secrets used only by the replaced services are dropped with them.
    text.replace(
        "secret_key = \"Application signing key (SECRET_KEY)\"\n",
        "",
    )
    .replace("gemini_api_key = \"Gemini API key (GEMINI_API_KEY)\"\n", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_topologies_are_valid_and_render() {
        for n in [1, 10, 100] {
            let text = topology(n);
            let loaded = pf_model::from_str(&text, "synthetic.toml").expect("parses");
            let checked = loaded.validate();
            let errors: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_human())
                .collect();
            assert!(errors.is_empty(), "{n} services: {errors:#?}");
            let topology = checked.topology.expect("valid");
            assert_eq!(topology.spec().services.len(), n);
            let bundle = pf_render::render(&topology, pf_render::Target::Swarm).expect("renders");
            assert!(bundle.artifacts().len() > 5);
        }
    }

    /// The largest size the benchmarks use is valid too (validation only:
    /// rendering it in a debug build takes too long for a unit test).
    #[test]
    fn ten_thousand_services_are_valid() {
        let checked = pf_model::from_str(&topology(10_000), "synthetic.toml")
            .expect("parses")
            .validate();
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_human())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
