//! Concurrent renders of one target serialize on a lock: none fails, none
//! removes another's staging folder, and the result is one complete bundle.

mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{PROD, code, names, stderr, topology, tree};

/// Kills a child that a failing test leaves running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// 7 of 640 parallel first renders to one new folder failed with
/// "Directory not empty" (both saw no folder, the second rename failed).
#[test]
fn parallel_first_renders_all_succeed() {
    const ROUNDS: usize = 10;
    const PARALLEL: usize = 64;
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let reference = tmp.path().join("reference");
    let o = support::run(
        tmp.path(),
        &[Path::new("swarm"), &file, Path::new("-o"), &reference],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let expected = tree(&reference);
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let work = tmp.path().join(format!("round-{round}"));
        std::fs::create_dir(&work).expect("mkdir");
        let out = work.join("bundle");
        let children: Vec<KillOnDrop> = (0..PARALLEL)
            .map(|_| {
                KillOnDrop(
                    support::pf()
                        .args([Path::new("swarm"), &file, Path::new("-o"), &out])
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("start pf-render"),
                )
            })
            .collect();
        for mut child in children {
            let status = child.0.wait().expect("wait");
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.0.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                failures.push(format!(
                    "round {round}: {status}: {}",
                    err.lines().last().unwrap_or("")
                ));
            }
        }
        assert_eq!(
            tree(&out),
            expected,
            "round {round}: not the complete bundle"
        );
        assert_eq!(names(&work), ["bundle"], "round {round}: debris left");
    }
    assert!(
        failures.is_empty(),
        "{} of {} renders failed: {failures:#?}",
        failures.len(),
        ROUNDS * PARALLEL
    );
}

/// Output of a finished child.
fn finish(child: KillOnDrop) -> std::process::Output {
    let mut child = child;
    let inner = std::mem::replace(
        &mut child.0,
        std::process::Command::new("true").spawn().expect("true"),
    );
    inner.wait_with_output().expect("wait")
}

/// Waits until a staging folder of `bundle` appears in `work`.
fn staging_appears(work: &Path, writer: &mut KillOnDrop) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(n) = names(work)
            .into_iter()
            .find(|n| n.starts_with(".bundle.pf-new-"))
        {
            return n;
        }
        assert!(
            writer.0.try_wait().expect("poll").is_none(),
            "finished before the test looked"
        );
        assert!(Instant::now() < deadline, "no staging folder appeared");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The serialization itself, deterministically: while one render is
/// stopped in the middle of writing, a second render of the same folder
/// waits for it, then runs; the folder ends as the second one's bundle.
/// (Without the lock the second finished at once, and the first, resumed,
/// swapped its older bundle in over it.)
#[test]
fn a_second_render_waits_for_the_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let big = topology(tmp.path(), "big.toml", &pf_bench::topology(150));
    let small = topology(tmp.path(), "prod.toml", PROD);
    let reference = tmp.path().join("reference");
    let o = support::run(
        tmp.path(),
        &[Path::new("swarm"), &small, Path::new("-o"), &reference],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let out = work.join("bundle");
    let spawn = |file: &Path| {
        KillOnDrop(
            support::pf()
                .args([Path::new("swarm"), file, Path::new("-o"), &out])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start pf-render"),
        )
    };
    let mut first = spawn(&big);
    staging_appears(&work, &mut first);
    support::sh(&format!("kill -STOP {}", first.0.id()));
    let mut second = spawn(&small);
    std::thread::sleep(Duration::from_secs(1));
    let waited = second.0.try_wait().expect("poll").is_none();
    support::sh(&format!("kill -CONT {}", first.0.id()));
    let (first, second) = (finish(first), finish(second));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(waited, "the second render did not wait for the first");
    assert_eq!(
        tree(&out),
        tree(&reference),
        "the folder is not the last render's bundle"
    );
    assert_eq!(names(&work), ["bundle"]);
}

/// A render in another PID namespace: the old staging cleanup took its
/// pid (which does not exist here) for a dead process and removed its
/// staging folder while it was writing.
#[test]
fn a_render_in_another_pid_namespace_is_not_disturbed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let big = topology(tmp.path(), "big.toml", &pf_bench::topology(150));
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let out = work.join("bundle");
    let bin = env!("CARGO_BIN_EXE_pf-render");
    // Inside the namespace the render gets pid 30001, a pid that is not in use here.
    let script = format!(
        "echo 30000 > /proc/sys/kernel/ns_last_pid && '{bin}' swarm '{}' -o '{}'",
        big.display(),
        out.display()
    );
    let mut inside = KillOnDrop(
        std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) must be installed and the tests run as root"),
    );
    let staging = staging_appears(&work, &mut inside);
    // Stop it mid-write (its pid here: the grandchild of unshare, under
    // sh), render here meanwhile (quickly: a small topology), then let it
    // go on.
    let child_of = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .expect("children")
            .split_whitespace()
            .next()
            .expect("a child")
            .to_owned()
    };
    let render_pid = child_of(&child_of(&inside.0.id().to_string()));
    support::sh(&format!("kill -STOP {render_pid}"));
    let small = topology(tmp.path(), "prod.toml", PROD);
    let here = KillOnDrop(
        support::pf()
            .args([Path::new("swarm"), &small, Path::new("-o"), &out])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pf-render"),
    );
    std::thread::sleep(Duration::from_secs(1));
    support::sh(&format!("kill -CONT {render_pid}"));
    let here = finish(here);
    let inside = finish(inside);
    let status = inside.status;
    let err = String::from_utf8_lossy(&inside.stderr);
    assert!(
        status.success(),
        "the render in the namespace failed ({staging}): {err}"
    );
    assert_eq!(code(&here), 0, "{}", stderr(&here));
    assert!(out.join("docker-stack.yml").is_file());
    assert_eq!(names(&work), ["bundle"]);
}
