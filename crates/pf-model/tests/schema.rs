//! The committed JSON Schema is current, is itself valid JSON Schema, and
//! accepts every committed topology while rejecting malformed ones.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> serde_json::Value {
    serde_json::from_str(&pf_model::json_schema()).expect("the schema is JSON")
}

fn topology_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read topology");
    let value: toml::Value = toml::from_str(&text).expect("topology is TOML");
    serde_json::to_value(value).expect("TOML converts to JSON")
}

fn topologies() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["topologies", "examples"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn committed_schema_is_current() {
    let path = root().join("schema/topology.schema.json");
    let expected = pf_model::json_schema();
    if std::env::var_os("PF_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &expected).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "schema/topology.schema.json is stale: run `PF_UPDATE_SCHEMA=1 cargo test -p pf-model --test schema` \
         or `pf-render schema > schema/topology.schema.json`"
    );
}

#[test]
fn schema_is_valid_json_schema() {
    let schema = schema();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "the schema fails its meta-schema"
    );
    // Field docs become descriptions and field rules become constraints.
    let text = pf_model::json_schema();
    assert!(text.contains("Sentinels that must agree the master is down"));
    assert!(text.contains("\"minimum\": 1"));
    assert!(text.contains("\"additionalProperties\": false"));
}

#[test]
fn every_topology_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    for path in topologies() {
        let instance = topology_json(&path);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("#:schema "),
            "{} must start with a `#:schema` line for editors",
            path.display()
        );
    }
}

#[test]
fn schema_rejects_unknown_keys_and_bad_ranges() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let mut instance = topology_json(&root().join("topologies/prod.toml"));
    instance["redis"]["sentinel"]["quorom"] = 2.into();
    assert!(!validator.is_valid(&instance), "unknown key accepted");
    let mut instance = topology_json(&root().join("topologies/prod.toml"));
    instance["load-balancer"]["instances"] = 0.into();
    assert!(!validator.is_valid(&instance), "instances = 0 accepted");
}

/// The schema's image pattern and the parser agree (editors flag what
/// `check` rejects), except `latest`, which the pattern cannot exclude
/// without look-ahead.
#[test]
fn image_pattern_agrees_with_the_parser() {
    let schema = schema();
    let image = schema["$defs"]["ImageRef"].clone();
    let validator = jsonschema::validator_for(&image).expect("image schema compiles");
    let digest = format!("sha256:{}", "0".repeat(64));
    let cases = [
        "nginx:1.28.0".to_owned(),
        "Registry.Example.com/app:1.0".to_owned(),
        "localhost:5000/team/app:1.2@".to_owned() + &digest,
        format!("nginx@{digest}"),
        "[::1]:5000/a:1".to_owned(),
        "a__b/c-d---e:x".to_owned(),
        "a//b:1.0".to_owned(),
        "ng..inx:1.0".to_owned(),
        "a:b:c:1.0".to_owned(),
        "localhost:5000/a/../../etc:1.0.0".to_owned(),
        "Nginx:1".to_owned(),
        "nginx".to_owned(),
        "nginx@sha256:abc".to_owned(),
        "a_:1".to_owned(),
    ];
    for case in cases {
        let parsed = case.parse::<pf_model::units::ImageRef>().is_ok();
        let matched = validator.is_valid(&serde_json::Value::String(case.clone()));
        assert_eq!(parsed, matched, "{case}: parser {parsed}, schema {matched}");
    }
}
