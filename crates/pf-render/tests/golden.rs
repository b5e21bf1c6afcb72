//! Golden files: every artifact of every committed topology, for both
//! targets, as one reviewed insta snapshot per file under `golden/`
//! (`golden/<topology>/<target>/<path with / as __>.snap`).
//!
//! CI runs with `INSTA_UPDATE=no`: a changed artifact fails the test and
//! nothing is written. After a deliberate change, run
//! `INSTA_UPDATE=always cargo test -p pf-render --test golden`, then read
//! every changed `.snap` in `git diff` before committing.

mod support;

use std::collections::BTreeSet;

use pf_render::Target;

fn snapshot_name(artifact: &str) -> String {
    artifact.replace('/', "__")
}

#[test]
fn every_artifact_matches_its_golden_file() {
    for (topology, target, bundle) in support::all_bundles() {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(
            support::root()
                .join("golden")
                .join(support::stem(&topology))
                .join(target.name()),
        );
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_input_file(support::root().join(&topology));
        settings.bind(|| {
            for artifact in bundle.artifacts() {
                insta::assert_snapshot!(snapshot_name(&artifact.path), artifact.contents);
            }
        });
    }
}

/// A golden file no rendering produces any more is stale: fail, so it is
/// deleted rather than left to mislead a reviewer.
#[test]
fn no_unreferenced_golden_files() {
    let mut expected = BTreeSet::new();
    for (topology, target, bundle) in support::all_bundles() {
        for artifact in bundle.artifacts() {
            expected.insert(format!(
                "{}/{}/{}.snap",
                support::stem(&topology),
                target.name(),
                snapshot_name(&artifact.path)
            ));
        }
    }
    let root = support::root().join("golden");
    let mut found = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read golden") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(&root) {
                let rel = rel.to_string_lossy().into_owned();
                if rel.ends_with(".snap") || rel.ends_with(".snap.new") {
                    found.insert(rel);
                }
            }
        }
    }
    let stale: Vec<_> = found.difference(&expected).collect();
    assert!(
        stale.is_empty(),
        "unreferenced or pending golden files (delete or review them): {stale:#?}"
    );
}

/// Same input, same bytes: two renderings in one process and a rendering
/// from a second copy of the topology text are identical.
#[test]
fn rendering_is_deterministic() {
    for topology in support::topologies() {
        for target in [Target::Swarm, Target::Compose] {
            let a = support::render(&topology, target.clone());
            let b = support::render(&topology, target.clone());
            assert_eq!(a, b, "{topology} {target}");
        }
    }
}
