//! The committed fuzz corpus (`fuzz/corpus/*/`), replayed in the normal test
//! suite with the fuzz targets' checks, so that an input the fuzzer once
//! needed keeps working without a fuzzing build: loading and validating
//! never panic, a topology is built exactly when there is no error, and a
//! valid one is planned for every target (the plan serializes to JSON) and
//! renders twice to the same bytes.

mod support;

use pf_render::Target;

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    let mut inputs = 0;
    let mut valid = 0;
    for target in ["load_validate", "load_validate_render"] {
        let dir = support::root().join("fuzz/corpus").join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for path in files {
            let name = path.display();
            let bytes = std::fs::read(&path).expect("read corpus file");
            inputs += 1;
            let text = String::from_utf8_lossy(&bytes);
            let Ok(loaded) = pf_model::from_str(&text, "fuzz.toml") else {
                continue;
            };
            let checked = loaded.validate();
            for d in &checked.diagnostics {
                let _ = d.to_human();
            }
            let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
            assert_eq!(checked.topology.is_some(), errors == 0, "{name}");
            let Some(topology) = checked.topology else {
                continue;
            };
            valid += 1;
            for target in [Target::Swarm, Target::Compose, Target::local()] {
                serde_json::to_string(&pf_render::plan(&topology, target.clone()))
                    .unwrap_or_else(|e| panic!("{name} ({target}): the plan: {e}"));
                let first = pf_render::render(&topology, target.clone())
                    .unwrap_or_else(|e| panic!("{name} ({target}): {e}"));
                let second = pf_render::render(&topology, target.clone()).expect("rendered once");
                assert_eq!(first, second, "{name} ({target}): two renderings differ");
            }
        }
    }
    assert!(
        inputs >= 20,
        "the committed corpus has only {inputs} inputs"
    );
    assert!(
        valid >= 5,
        "only {valid} corpus inputs are valid topologies"
    );
}
