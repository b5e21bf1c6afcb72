//! `pf-render swarm|compose`: writing bundles, replacing folders
//! atomically, and the `--check` drift report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run pf-render")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Every file under `dir`, relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn renders_both_targets_and_lists_the_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for target in ["swarm", "compose"] {
        let out = tmp.path().join(target);
        let o = pf(&[target, "topologies/prod.toml", "-o", s(&out)]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let main = if target == "swarm" {
            "docker-stack.yml"
        } else {
            "docker-compose.ha.yml"
        };
        assert!(out.join(main).is_file());
        assert!(stdout.contains(main), "{stdout}");
        // The prod warning is shown, but does not stop rendering.
        assert!(String::from_utf8_lossy(&o.stderr).contains("lb-tries-exceed-servers"));
    }
}

#[test]
fn two_runs_give_identical_bundles() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(
        code(&pf(&["swarm", "topologies/prod.toml", "-o", s(&a)])),
        0
    );
    assert_eq!(
        code(&pf(&["swarm", "topologies/prod.toml", "-o", s(&b)])),
        0
    );
    assert_eq!(tree(&a), tree(&b));
    assert!(tree(&a).len() > 5);
}

#[test]
fn check_reports_drift_with_a_diff() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("b");
    assert_eq!(
        code(&pf(&["compose", "topologies/prod.toml", "-o", s(&out)])),
        0
    );
    let clean = pf(&["compose", "topologies/prod.toml", "--check", s(&out)]);
    assert_eq!(
        code(&clean),
        0,
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );

    // One byte changed.
    let file = out.join("docker-compose.ha.yml");
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replacen("replicas", "replicaz", 1);
    let text = if text.contains("replicaz") {
        text
    } else {
        text.replacen("image:", "imagE:", 1)
    };
    std::fs::write(&file, text).expect("write");
    let drift = pf(&["compose", "topologies/prod.toml", "--check", s(&out)]);
    assert_eq!(code(&drift), 1);
    let report = String::from_utf8_lossy(&drift.stdout);
    assert!(report.contains("--- a/docker-compose.ha.yml"), "{report}");
    assert!(report.contains("+++ b/docker-compose.ha.yml"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "{report}"
    );
    assert!(report.contains("is out of date"), "{report}");

    // Extra and missing files are drift too. (The edited file is not ours
    // any more: only --force replaces it.)
    assert_eq!(
        code(&pf(&["compose", "topologies/prod.toml", "-o", s(&out)])),
        2
    );
    assert_eq!(
        code(&pf(&[
            "compose",
            "topologies/prod.toml",
            "-o",
            s(&out),
            "--force"
        ])),
        0
    );
    std::fs::write(out.join("stray.txt"), "x").expect("write");
    let extra = pf(&["compose", "topologies/prod.toml", "--check", s(&out)]);
    assert_eq!(code(&extra), 1);
    assert!(String::from_utf8_lossy(&extra.stdout).contains("extra: stray.txt"));
    std::fs::remove_file(out.join("stray.txt")).expect("rm");
    std::fs::remove_file(out.join("docker-compose.ha.yml")).expect("rm");
    let missing = pf(&["compose", "topologies/prod.toml", "--check", s(&out)]);
    assert_eq!(code(&missing), 1);
    assert!(String::from_utf8_lossy(&missing.stdout).contains("missing: docker-compose.ha.yml"));
}

#[test]
fn a_failed_validation_leaves_the_folder_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("bundle");
    assert_eq!(
        code(&pf(&["swarm", "topologies/prod.toml", "-o", s(&out)])),
        0
    );
    let before = tree(&out);
    let bad = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(root().join("topologies/prod.toml"))
        .expect("read")
        .replace("quorum = 2", "quorum = 4");
    std::fs::write(&bad, text).expect("write");
    let o = pf(&["swarm", s(&bad), "-o", s(&out)]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("sentinel-quorum-out-of-range"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing was written"));
    assert_eq!(
        tree(&out),
        before,
        "the folder changed after a failed validation"
    );
    // No staging folder is left next to it.
    let siblings: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(siblings.len(), 2, "{siblings:?}");
}

/// A file added to a bundle is not ours to delete: the render refuses
/// (exit 2) and names it; `--force` replaces the whole folder.
#[test]
fn a_second_render_replaces_the_whole_folder_only_with_force() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("bundle");
    assert_eq!(
        code(&pf(&["swarm", "topologies/prod.toml", "-o", s(&out)])),
        0
    );
    std::fs::write(out.join("leftover.txt"), "old").expect("write");
    let refused = pf(&["swarm", "topologies/prod.toml", "-o", s(&out)]);
    assert_eq!(code(&refused), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("leftover.txt"));
    assert!(
        out.join("leftover.txt").exists(),
        "a user's file was deleted"
    );
    assert_eq!(
        code(&pf(&[
            "swarm",
            "topologies/prod.toml",
            "-o",
            s(&out),
            "--force"
        ])),
        0
    );
    assert!(
        !out.join("leftover.txt").exists(),
        "old files survive a forced re-render"
    );
}

/// Re-rendering an unchanged topology writes nothing (no fsyncs, no
/// unlinks: the files keep their inodes); a difference on disk gets the
/// whole folder replaced (with --force when the difference is an edit).
#[test]
fn an_unchanged_bundle_is_not_written_again() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("bundle");
    let render = || pf(&["swarm", "topologies/prod.toml", "-o", s(&out)]);
    let inode = |p: &str| std::fs::metadata(out.join(p)).expect("stat").ino();
    let first = render();
    assert_eq!(code(&first), 0);
    assert!(String::from_utf8_lossy(&first.stdout).contains("wrote"));
    let before = inode("docker-stack.yml");

    let again = render();
    assert_eq!(code(&again), 0);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("unchanged, nothing written"), "{stdout}");
    assert_eq!(inode("docker-stack.yml"), before, "the file was rewritten");

    // An edited file is not ours any more: only --force replaces it.
    std::fs::write(out.join("README.md"), "edited by hand").expect("write");
    assert_eq!(code(&render()), 2);
    let replaced = pf(&["swarm", "topologies/prod.toml", "-o", s(&out), "--force"]);
    assert_eq!(code(&replaced), 0);
    assert!(String::from_utf8_lossy(&replaced.stdout).contains("wrote"));
    assert_ne!(
        inode("docker-stack.yml"),
        before,
        "the folder was not replaced"
    );
    assert_ne!(
        std::fs::read_to_string(out.join("README.md")).expect("read"),
        "edited by hand"
    );
}

#[test]
fn io_errors_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let o = pf(&["swarm", "topologies/prod.toml", "-o", s(&file)]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(code(&pf(&["swarm", "no/such/topology.toml"])), 2);
    assert_eq!(
        code(&pf(&["swarm"])),
        2,
        "missing argument is a usage error"
    );
}
