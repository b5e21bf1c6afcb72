//! `pf_render::deployment_document` is the stack or Compose file as JSON:
//! key for key what its YAML holds (read back by serde_yaml_ng, this
//! crate's test oracle), so tools can compare it with what runs without a
//! YAML parser.

mod support;

use pf_render::Target;

#[test]
fn the_json_document_is_what_the_yaml_file_holds() {
    for topology in support::topologies() {
        for (target, file) in [
            (Target::Swarm, "docker-stack.yml"),
            (Target::Compose, "docker-compose.ha.yml"),
        ] {
            let text = std::fs::read_to_string(support::root().join(&topology)).expect("read");
            let checked = pf_model::from_str(&text, &topology)
                .expect("loads")
                .validate();
            let plan = pf_render::plan(&checked.topology.expect("valid"), target.clone());
            let bundle = pf_render::emit(&plan).expect("renders");
            let yaml = &bundle.get(file).expect("the file").contents;
            let from_yaml: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("YAML");
            let json = pf_render::deployment_document(&plan, &bundle)
                .expect("serializes")
                .expect("a document");
            assert_eq!(json, from_yaml, "{topology} ({target})");
        }
    }
}

#[test]
fn the_local_target_has_no_document() {
    let text = std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("read");
    let checked = pf_model::from_str(&text, "prod.toml")
        .expect("loads")
        .validate();
    let plan = pf_render::plan(
        &checked.topology.expect("valid"),
        Target::Local(pf_render::LocalOptions::new("/tmp/pf-local", false)),
    );
    let bundle = pf_render::emit(&plan).expect("renders");
    assert_eq!(
        pf_render::deployment_document(&plan, &bundle).expect("no error"),
        None
    );
}
