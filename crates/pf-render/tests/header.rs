//! The generated-by header names the topology by its file name alone,
//! escaped: how the path was typed never changes a byte, and no file name
//! can add a line to a generated file or end its comment.

mod support;

use std::path::Path;
use std::process::Command;

use pf_render::{Bundle, Target};

fn render_path(path: &Path, target: Target) -> Bundle {
    let loaded = pf_model::load(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let topology = loaded
        .validate()
        .topology
        .unwrap_or_else(|| panic!("{} is invalid", path.display()));
    pf_render::render(&topology, target).expect("renders")
}

/// `./topologies/prod.toml`, `topologies/prod.toml` and the absolute path
/// render the same bytes (a committed bundle checked with `--check` from
/// another folder or with another spelling reported drift on every file).
#[test]
fn three_spellings_of_one_path_render_identical_bytes() {
    let root = support::root();
    // Tests run in the crate folder: reach the file three ways from there.
    let spellings = [
        root.join("topologies/prod.toml"),
        Path::new("../../topologies/prod.toml").to_path_buf(),
        Path::new("./../../topologies/../topologies/prod.toml").to_path_buf(),
    ];
    for target in [Target::Swarm, Target::Compose] {
        let bundles: Vec<Bundle> = spellings
            .iter()
            .map(|p| render_path(p, target.clone()))
            .collect();
        for (spelling, bundle) in spellings.iter().zip(&bundles).skip(1) {
            assert_eq!(
                bundle.artifacts(),
                bundles[0].artifacts(),
                "{} renders other bytes than {} ({target})",
                spelling.display(),
                spellings[0].display()
            );
        }
        let stack = bundles[0].artifacts()[0]
            .contents
            .lines()
            .next()
            .expect("a line");
        assert!(
            stack.contains("from prod.toml (target"),
            "the header names the file: {stack}"
        );
    }
}

/// Equal lines, or the `name:` of a Swarm config, which ends in the hash
/// of the file (and so of its header), or a file hash in the manifest.
fn same_but_config_hash(a: &str, b: &str) -> bool {
    let hash_of = |line: &str| {
        line.trim_start()
            .strip_prefix("\"sha256\": \"")
            .is_some_and(|rest| rest.len() == 66 && rest.ends_with("\","))
    };
    a == b
        || (a.trim_start().starts_with("name: ")
            && a.rsplit_once('_').map(|p| p.0) == b.rsplit_once('_').map(|p| p.0))
        || (hash_of(a) && hash_of(b))
}

/// A hostile file name: line breaks with a command between them, the end
/// of an HTML comment, an escape sequence and a bidi override.
const HOSTILE: &str = "prod\ntouch pf-injected\n#-->\u{1b}[2J\u{202e}\r: x.toml";

#[test]
fn a_hostile_file_name_cannot_change_any_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(support::root().join("topologies/prod.toml"))
        .expect("read prod.toml");
    let hostile = dir.path().join(HOSTILE);
    std::fs::write(&hostile, &text).expect("write the hostile file");
    let plain = dir.path().join("prod.toml");
    std::fs::write(&plain, &text).expect("write prod.toml");

    for target in [Target::Swarm, Target::Compose] {
        let bad = render_path(&hostile, target.clone());
        let good = render_path(&plain, target.clone());
        assert_eq!(bad.artifacts().len(), good.artifacts().len());
        for (a, b) in bad.artifacts().iter().zip(good.artifacts()) {
            assert_eq!(a.path, b.path);
            let bad_lines: Vec<&str> = a.contents.lines().collect();
            let good_lines: Vec<&str> = b.contents.lines().collect();
            assert_eq!(
                bad_lines.len(),
                good_lines.len(),
                "{}: the file name added lines:\n{}",
                a.path,
                a.contents.lines().take(5).collect::<Vec<_>>().join("\n")
            );
            let differing: Vec<usize> = (0..bad_lines.len())
                .filter(|&i| !same_but_config_hash(bad_lines[i], good_lines[i]))
                .collect();
            // Only the header line (first, or second after a shebang), and
            // the README's "Rendered by ... from `<name>`" line.
            assert!(
                differing.len() <= 2 && differing.iter().all(|&i| i <= 4),
                "{}: lines {differing:?} differ",
                a.path
            );
            for &i in &differing {
                let line = bad_lines[i];
                assert!(
                    line.chars().all(|c| c.is_ascii_graphic() || c == ' '),
                    "{}: header is not plain ASCII: {line:?}",
                    a.path
                );
                if a.path.ends_with(".md") && line.starts_with("<!--") {
                    let inner = &line["<!--".len()..line.len() - "-->".len()];
                    assert!(line.ends_with("-->") && !inner.contains('>'), "{line}");
                }
            }
            if a.path.ends_with(".yml") {
                let bad_yaml: serde_yaml_ng::Value =
                    serde_yaml_ng::from_str(&a.contents).expect("YAML parses");
                let good_yaml: serde_yaml_ng::Value =
                    serde_yaml_ng::from_str(&b.contents).expect("YAML parses");
                // The stack names configs by content hash; its other lines
                // were compared above.
                assert!(
                    a.path == "docker-stack.yml" || bad_yaml == good_yaml,
                    "{}: the file name changed the YAML",
                    a.path
                );
            }
        }

        // Scripts: syntax, and the command in the file name never runs.
        let out = tempfile::tempdir().expect("bundle dir");
        support::write_bundle(&bad, out.path());
        for a in bad.artifacts().iter().filter(|a| a.path.ends_with(".sh")) {
            let script = out.path().join(&a.path);
            let (ok, _, stderr) = support::run(Command::new("bash").arg("-n").arg(&script));
            assert!(ok, "{}: bash -n: {stderr}", a.path);
            if a.path.starts_with("scripts/") {
                let _ = support::run(
                    Command::new("bash")
                        .arg(&script)
                        .arg("--help")
                        .current_dir(out.path()),
                );
            }
        }
        assert!(
            !out.path().join("pf-injected").exists()
                && !out.path().join("scripts/pf-injected").exists(),
            "a command in the topology's file name ran"
        );
    }
}
