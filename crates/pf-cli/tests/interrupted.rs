//! A render killed (SIGKILL) part-way never leaves a half-written bundle:
//! the output folder is exactly the old bundle or exactly the new one,
//! never a mix and never missing, and the next render removes the staging
//! folder the killed one left behind.
//!
//! The kill points are chosen by watching the staging folder
//! `.<DIR>.pf-new-<random>` fill up (killed after 0, 1, a few, half, all but
//! one and all of its files), so they do not depend on the machine's speed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROD: &str = include_str!("../../../topologies/prod.toml");

/// The production topology with `services` app services instead of two
/// (the benchmarks' generator): a bigger bundle, so writing it takes a while.
fn big_topology(services: usize) -> String {
    pf_bench::topology(services)
}

fn pf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pf-render"));
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

fn render(topology: &Path, out: &Path) {
    let output = pf()
        .arg("swarm")
        .arg(topology)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run pf-render");
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir`: relative path -> bytes. `None` if `dir` is missing.
fn tree(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    if !dir.exists() {
        return None;
    }
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        // The folder may vanish under us while a render is running.
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.insert(rel.to_string_lossy().into_owned(), bytes);
            }
        }
    }
    Some(out)
}

/// Names in `dir` other than `keep`.
fn siblings(dir: &Path, keep: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != keep)
        .collect();
    names.sort();
    names
}

/// Kills the child if the test panics before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a render of `topology` into `out` and SIGKILLs it once its staging
/// folder holds `files` files (or when it exits by itself). Returns whether
/// it was killed before it finished.
fn render_and_kill_at(topology: &Path, out: &Path, files: usize) -> bool {
    let parent = out.parent().expect("out has a parent");
    let name = out.file_name().expect("out has a name").to_string_lossy();
    let child = pf()
        .arg("swarm")
        .arg(topology)
        .arg("-o")
        .arg(out)
        .spawn()
        .expect("start pf-render");
    let mut child = KillOnDrop(child);
    // The staging folder's name ends in random digits: the one being filled.
    let prefix = format!(".{name}.pf-new-");
    let staging = || -> Option<PathBuf> {
        std::fs::read_dir(parent)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.0.try_wait().expect("poll child").is_some() {
            return false;
        }
        if staging()
            .and_then(|s| tree(&s))
            .is_some_and(|t| t.len() >= files)
        {
            child.0.kill().expect("SIGKILL pf-render");
            let status = child.0.wait().expect("reap pf-render");
            // Killed by the signal, or it had just exited by itself.
            return status.code().is_none();
        }
        assert!(
            Instant::now() < deadline,
            "the render did not progress in 60 s"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_killed_render_leaves_the_old_or_the_new_bundle_and_its_debris_is_cleaned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old_topology = tmp.path().join("old.toml");
    let new_topology = tmp.path().join("new.toml");
    std::fs::write(&old_topology, big_topology(3)).expect("write");
    std::fs::write(&new_topology, big_topology(150)).expect("write");

    // The two bundles to expect, rendered without interruption.
    let reference = tmp.path().join("reference");
    std::fs::create_dir(&reference).expect("mkdir");
    render(&old_topology, &reference.join("old"));
    render(&new_topology, &reference.join("new"));
    let old = tree(&reference.join("old")).expect("old bundle");
    let new = tree(&reference.join("new")).expect("new bundle");
    assert_ne!(old, new);
    let total = new.len();

    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let out = work.join("bundle");
    let mut killed_mid_write = 0;
    let mut stale = 0;
    for files in [0, 1, 3, total / 2, total - 1, total] {
        render(&old_topology, &out);
        let killed = render_and_kill_at(&new_topology, &out, files);
        let now =
            tree(&out).unwrap_or_else(|| panic!("killed at {files} files: {out:?} is missing"));
        let is_old = now == old;
        assert!(
            is_old || now == new,
            "killed at {files}/{total} files: the folder is neither the old nor the new bundle \
             ({} files, {} of them as in the new bundle)",
            now.len(),
            now.iter().filter(|(k, v)| new.get(*k) == Some(*v)).count()
        );
        if killed && is_old {
            killed_mid_write += 1;
        }
        stale = siblings(&work, "bundle").len();
    }
    assert!(
        killed_mid_write >= 3,
        "only {killed_mid_write} kills landed while the bundle was being written; the test needs a bigger bundle"
    );
    assert!(
        stale > 0,
        "the killed renders left no staging folder to clean"
    );

    // The next render removes what the killed ones left behind.
    render(&new_topology, &out);
    assert_eq!(tree(&out).as_ref(), Some(&new));
    assert_eq!(
        siblings(&work, "bundle"),
        Vec::<String>::new(),
        "stale staging folders survive a render"
    );
}

/// Under the lock no other render of the target runs, so every staging
/// folder of it is debris, whatever pid it was named after (a live pid
/// here, or one from another PID namespace). Folders of other bundles,
/// other users' folders and anything that is not a folder are not ours.
#[test]
fn leftover_staging_folders_of_the_target_are_removed_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let topology = tmp.path().join("t.toml");
    std::fs::write(&topology, PROD).expect("write");
    let out = tmp.path().join("bundle");
    let make = |name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("half-written.yml"), "x").expect("write");
        dir
    };
    // Old-style names (a live pid: this test's) and new-style ones.
    let leftovers = [
        make(&format!(".bundle.pf-new-{}", std::process::id())),
        make(".bundle.pf-new-4294967295"),
        make(".bundle.pf-new-0123456789abcdef"),
        make(".bundle.pf-old-fedcba9876543210"),
    ];
    let other_bundle = make(".other.pf-new-4294967295");
    let other_user = make(".bundle.pf-new-00000000000000aa");
    let status = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&other_user)
        .status()
        .expect("chown");
    assert!(status.success());
    let elsewhere = make("elsewhere");
    let link = tmp.path().join(".bundle.pf-new-00000000000000bb");
    std::os::unix::fs::symlink(&elsewhere, &link).expect("ln");

    render(&topology, &out);
    for l in &leftovers {
        assert!(!l.exists(), "{l:?} was kept");
    }
    assert!(
        other_bundle.join("half-written.yml").exists(),
        "another bundle's folder was removed"
    );
    assert!(
        other_user.join("half-written.yml").exists(),
        "another user's folder was removed"
    );
    assert!(
        link.symlink_metadata().is_ok(),
        "a link with a staging name was removed"
    );
    assert!(
        elsewhere.join("half-written.yml").exists(),
        "a link was followed"
    );
}
