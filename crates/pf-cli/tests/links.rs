//! `--check DIR` and `lint DIR` never follow a link inside DIR: a link is
//! reported (drift: "is a symlink"; lint: a note on stderr), never read,
//! and link cycles cannot make them loop.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::{PROD, code, stderr, stdout, topology};

/// Runs pf-render with a time limit: a walk that loops is killed and fails
/// the test instead of hanging it. Output goes to files, not pipes: a report
/// larger than a pipe's buffer would block the child while it is polled.
fn run_limited(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = tempfile::tempfile().expect("stdout file");
    let err = tempfile::tempfile().expect("stderr file");
    let mut child = support::pf()
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdout(Stdio::from(out.try_clone().expect("dup")))
        .stderr(Stdio::from(err.try_clone().expect("dup")))
        .spawn()
        .expect("start pf-render");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pf-render {args:?} ran for 30 s: it loops");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: read_all(out),
        stderr: read_all(err),
    }
}

/// Everything written to `file`, from its start.
fn read_all(mut file: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    file.rewind().expect("rewind");
    file.read_to_end(&mut bytes).expect("read");
    bytes
}

fn rendered(tmp: &Path) -> std::path::PathBuf {
    topology(tmp, "prod.toml", PROD);
    let o = support::run(tmp, &["swarm", "prod.toml", "-o", "bundle"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    tmp.join("bundle")
}

/// A bundle file replaced by a link to the process environment: the old
/// `--check` followed it and printed the environment into the diff.
#[test]
fn check_reports_a_link_and_never_reads_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = rendered(tmp.path());
    std::fs::remove_file(bundle.join("README.md")).expect("rm");
    std::os::unix::fs::symlink("/proc/self/environ", bundle.join("README.md")).expect("ln");
    std::fs::write(tmp.path().join("outside.conf"), "SECRET_OUTSIDE\n").expect("write");
    std::os::unix::fs::symlink(
        tmp.path().join("outside.conf"),
        bundle.join("nginx/extra.conf"),
    )
    .expect("ln");
    let o = run_limited(
        tmp.path(),
        &["swarm", "prod.toml", "--check", "bundle"],
        &[("PF_TEST_CANARY", "CANARY_FROM_THE_ENVIRONMENT")],
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    for leaked in ["CANARY_FROM_THE_ENVIRONMENT", "SECRET_OUTSIDE"] {
        assert!(
            !out.contains(leaked) && !stderr(&o).contains(leaked),
            "{out}"
        );
    }
    assert!(out.contains("README.md: is a symlink"), "{out}");
    assert!(out.contains("nginx/extra.conf: is a symlink"), "{out}");
}

/// `ln -s . a; ln -s . b` inside the folder made both commands run forever.
#[test]
fn link_cycles_end_check_and_lint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = rendered(tmp.path());
    std::os::unix::fs::symlink(".", bundle.join("a")).expect("ln");
    std::os::unix::fs::symlink(".", bundle.join("b")).expect("ln");
    std::os::unix::fs::symlink("..", bundle.join("nginx/up")).expect("ln");

    let check = run_limited(
        tmp.path(),
        &["swarm", "prod.toml", "--check", "bundle"],
        &[],
    );
    assert_eq!(code(&check), 1, "{}", stderr(&check));
    for link in ["a", "b", "nginx/up"] {
        assert!(
            stdout(&check).contains(&format!("{link}: is a symlink")),
            "{}",
            stdout(&check)
        );
    }

    let lint = run_limited(tmp.path(), &["lint", "bundle"], &[]);
    assert_eq!(code(&lint), 0, "{}{}", stdout(&lint), stderr(&lint));
    for link in ["bundle/a", "bundle/b", "bundle/nginx/up"] {
        assert!(
            stderr(&lint).contains(&format!("note: {link}: a symbolic link, not followed")),
            "{}",
            stderr(&lint)
        );
    }
    // Each file is linted once, under its own name.
    let json = run_limited(tmp.path(), &["lint", "--format", "json", "bundle"], &[]);
    assert_eq!(code(&json), 0);
    assert!(!stdout(&json).contains("bundle/a/"), "{}", stdout(&json));
}

/// A link in a linted folder to a config outside it: the old lint read
/// the file behind it and reported its findings under the link's name.
#[test]
fn lint_does_not_read_through_links() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = rendered(tmp.path());
    let outside = tmp.path().join("elsewhere");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(outside.join("redis.conf"), "port 6379\nprotected-mode no\n").expect("write");
    std::os::unix::fs::symlink(outside.join("redis.conf"), bundle.join("redis/evil.conf"))
        .expect("ln");
    std::os::unix::fs::symlink(&outside, bundle.join("redis/more")).expect("ln");
    let o = run_limited(tmp.path(), &["lint", "bundle"], &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("evil.conf"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("more/"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("note: bundle/redis/evil.conf: a symbolic link, not followed"),
        "{}",
        stderr(&o)
    );
    // Named on the command line, a link is the user's choice and is read.
    let named = run_limited(tmp.path(), &["lint", "bundle/redis/evil.conf"], &[]);
    assert_eq!(code(&named), 1, "{}", stdout(&named));
}
