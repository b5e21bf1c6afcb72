//! Every committed snapshot belongs to a fixture that still exists, and no
//! unreviewed `.snap.new` is lying around: CI never writes snapshots, so a
//! stale one would only mislead a reviewer.

use std::path::Path;

#[test]
fn every_snapshot_has_its_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(dir.join("snapshots")).expect("snapshots folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            stale.push(format!("{name} (unreviewed)"));
            continue;
        }
        // invalid_corpus__invalid_fixtures@<file>.snap -> fixtures/invalid/<file>
        let Some((test, file)) = name.strip_suffix(".snap").and_then(|n| n.split_once('@')) else {
            continue;
        };
        let folder = match test {
            "invalid_corpus__invalid_fixtures" => "invalid",
            "invalid_corpus__warning_fixtures" => "warnings",
            _ => continue,
        };
        if !dir.join("fixtures").join(folder).join(file).is_file() {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "snapshots without a fixture (delete them): {stale:#?}"
    );
}
