//! The staging folder and the modes of what is written: a name nobody can
//! predict or plant, created without following links; modes that do not
//! depend on the umask; and an "unchanged" folder that is only kept when it
//! is really ours.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::{Node, PROD, code, mode, run, sh, stderr, stdout, topology, tree};

/// With umask 000 every folder came out 0777 and `out/` too.
#[test]
fn modes_do_not_follow_the_umask() {
    let tmp = tempfile::tempdir().expect("tempdir");
    topology(tmp.path(), "prod.toml", PROD);
    let bin = env!("CARGO_BIN_EXE_pf-render");
    for umask in ["000", "002", "077"] {
        sh(&format!(
            "cd '{}' && rm -rf out && umask {umask} && '{bin}' swarm prod.toml >/dev/null 2>&1",
            tmp.path().display()
        ));
        let bundle = tmp.path().join("out/prod/swarm");
        assert_eq!(mode(&bundle), 0o755, "umask {umask}: the bundle folder");
        for (path, node) in tree(&bundle) {
            match node {
                Node::Dir(m, _) => assert_eq!(m, 0o755, "umask {umask}: {path}"),
                Node::File(_, m, _) => {
                    let want = if path.ends_with(".sh") { 0o755 } else { 0o644 };
                    assert_eq!(m, want, "umask {umask}: {path}");
                }
                other => panic!("{path}: {other:?}"),
            }
        }
        // Folders made on the way keep the umask's restrictions, never more.
        for parent in ["out", "out/prod"] {
            let m = mode(&tmp.path().join(parent));
            let umask = u32::from_str_radix(umask, 8).expect("octal");
            assert_eq!(m, 0o755 & !umask, "{parent}");
        }
    }
}

/// The old staging name was `.NAME.pf-new-<pid>`, checked with exists():
/// whoever can write the parent could plant it for the next pids and
/// make renders fail (a file there) or write elsewhere (a link there).
#[test]
fn planted_staging_names_neither_stop_nor_redirect_a_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let work = tmp.path().join("work");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .expect("ns_last_pid")
        .trim()
        .parse()
        .expect("a pid");
    // The next pids, as files and as links to another folder.
    for pid in last + 1..last + 3000 {
        let planted = work.join(format!(".bundle.pf-new-{pid}"));
        if pid % 2 == 0 {
            std::fs::write(&planted, "planted").expect("plant a file");
        } else {
            std::os::unix::fs::symlink(&elsewhere, &planted).expect("plant a link");
        }
    }
    let out = work.join("bundle");
    let o = support::pf()
        .args([Path::new("swarm"), &file, Path::new("-o"), &out])
        .output()
        .expect("run");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(out.join("docker-stack.yml").is_file());
    assert_eq!(tree(&elsewhere).len(), 0, "the render wrote through a link");
    // What was planted is not ours: left as it was.
    let planted = support::names(&work)
        .into_iter()
        .filter(|n| n.starts_with(".bundle.pf-new-"))
        .count();
    assert_eq!(planted, 2999);
}

/// A folder that holds exactly the bundle is only kept as it is when the
/// caller owns it and nobody else can write it; otherwise it is replaced
/// by a fresh copy (its contents are ours, so replacing loses nothing).
#[test]
fn an_unchanged_folder_must_be_ours_to_be_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let out = tmp.path().join("bundle");
    let render = || {
        let o = run(
            tmp.path(),
            &[Path::new("swarm"), &file, Path::new("-o"), &out],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stdout(&o)
    };
    render();
    assert!(render().contains("unchanged"));
    let me = std::fs::metadata(tmp.path()).expect("stat").uid();

    // Another owner (uid 65534, nobody), same bytes and modes.
    sh(&format!("chown -R 65534:65534 '{}'", out.display()));
    assert!(
        render().contains("wrote"),
        "a folder owned by another user was kept as ours"
    );
    for (path, node) in tree(&out) {
        let uid = match node {
            Node::File(_, _, uid) | Node::Dir(_, uid) => uid,
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(uid, me, "{path}");
    }
    assert!(render().contains("unchanged"));

    // Group- or world-writable: the folder itself, or a folder in it.
    for (what, chmod) in [("bundle folder", ""), ("nginx folder", "/nginx")] {
        sh(&format!("chmod 0777 '{}{chmod}'", out.display()));
        assert!(render().contains("wrote"), "a writable {what} was kept");
        assert_eq!(mode(&out), 0o755);
        assert_eq!(mode(&out.join("nginx")), 0o755);
    }
}
