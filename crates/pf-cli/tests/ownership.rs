//! `pf-render swarm|compose FILE -o DIR` owns only what it wrote: it
//! replaces DIR when DIR is new, empty, or an unmodified bundle of its own
//! (per its `.pf-render.json` manifest), and otherwise refuses (exit 2,
//! naming the files) and writes nothing, unless `--force`.

mod support;

use std::path::Path;

use support::{Node, PROD, code, names, prod_changed, run, stderr, topology, tree};

/// Renders `file` into `out` from `cwd`, expecting success.
fn render_ok(cwd: &Path, file: &Path, out: &Path) {
    let o = run(cwd, &[Path::new("swarm"), file, Path::new("-o"), out]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Asserts a refusal: exit 2, the message names `named`, and nothing in
/// `parent` changed (no staging folder, no lock file, DIR as it was).
fn assert_refused(cwd: &Path, args: &[&Path], parent: &Path, named: &[&str]) -> String {
    let before = tree(parent);
    let o = run(cwd, args);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "not refused:\n{err}");
    assert!(err.contains("refusing to replace"), "{err}");
    for n in named {
        assert!(err.contains(n), "`{n}` not named:\n{err}");
    }
    assert!(err.contains("--force"), "the way out is not named:\n{err}");
    assert_eq!(tree(parent), before, "a refused render changed {parent:?}");
    err
}

#[test]
fn dot_next_to_the_topology_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    topology(tmp.path(), "prod.toml", PROD);
    std::fs::write(tmp.path().join("notes.md"), "mine").expect("write");
    for dot in [".", "./", "sub/..", "../$NAME"] {
        let dot = dot.replace(
            "$NAME",
            &tmp.path().file_name().expect("name").to_string_lossy(),
        );
        if dot == "sub/.." {
            std::fs::create_dir_all(tmp.path().join("sub")).expect("mkdir");
        }
        let args = [
            Path::new("swarm"),
            Path::new("prod.toml"),
            Path::new("-o"),
            Path::new(&dot),
        ];
        assert_refused(tmp.path(), &args, tmp.path(), &["prod.toml", "notes.md"]);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("prod.toml")).expect("the topology survives"),
            PROD
        );
    }
}

/// The name a refusal must show, and how to make it.
type Case = (&'static str, fn(&Path));

#[test]
fn folders_with_foreign_files_are_refused() {
    let cases: [Case; 4] = [
        (".git", |d| {
            std::fs::create_dir_all(d.join(".git/objects")).expect("mkdir");
            std::fs::write(d.join(".git/HEAD"), "ref: refs/heads/main\n").expect("write");
        }),
        ("notes.txt", |d| {
            std::fs::write(d.join("notes.txt"), "remember").expect("write");
        }),
        ("secrets/postgres_password", |d| {
            std::fs::create_dir_all(d.join("secrets")).expect("mkdir");
            std::fs::write(d.join("secrets/postgres_password"), "hunter2").expect("write");
        }),
        ("empty-folder", |d| {
            std::fs::create_dir(d.join("empty-folder")).expect("mkdir");
        }),
    ];
    for (name, make) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = topology(tmp.path(), "prod.toml", PROD);
        let out = tmp.path().join("deploy");
        std::fs::create_dir(&out).expect("mkdir");
        make(&out);
        let args = [Path::new("swarm"), &file, Path::new("-o"), &out];
        assert_refused(tmp.path(), &args, tmp.path(), &[name]);
    }
}

#[test]
fn an_edited_bundle_or_an_added_env_file_is_refused_and_force_replaces_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let changed = topology(tmp.path(), "changed.toml", &prod_changed());
    let out = tmp.path().join("bundle");
    render_ok(tmp.path(), &file, &out);

    // A file edited by hand, then a new topology to render: the edit would be lost.
    let stack = out.join("docker-stack.yml");
    let edited = std::fs::read_to_string(&stack).expect("read") + "# my change\n";
    std::fs::write(&stack, &edited).expect("write");
    let args = [Path::new("swarm"), &changed, Path::new("-o"), &out];
    assert_refused(tmp.path(), &args, tmp.path(), &["docker-stack.yml"]);
    // The same topology again: the folder is not unchanged (edited), still refused.
    let same = [Path::new("swarm"), &file, Path::new("-o"), &out];
    assert_refused(tmp.path(), &same, tmp.path(), &["docker-stack.yml"]);

    // --force replaces it.
    let forced = [
        Path::new("swarm"),
        &changed,
        Path::new("-o"),
        &out,
        Path::new("--force"),
    ];
    let o = run(tmp.path(), &forced);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_ne!(std::fs::read_to_string(&stack).expect("read"), edited);

    // A user file added to an unmodified bundle.
    std::fs::write(out.join(".env.production"), "POSTGRES_USER=me\n").expect("write");
    assert_refused(tmp.path(), &args, tmp.path(), &[".env.production"]);
    // A mode changed by hand counts as a modification too.
    std::fs::remove_file(out.join(".env.production")).expect("rm");
    support::sh(&format!("chmod 0600 '{}'", out.join("README.md").display()));
    assert_refused(tmp.path(), &args, tmp.path(), &["README.md"]);
}

#[test]
fn its_own_bundle_is_replaced_and_an_empty_folder_is_used() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let changed = topology(tmp.path(), "changed.toml", &prod_changed());
    let out = tmp.path().join("bundle");
    std::fs::create_dir(&out).expect("an empty folder");
    render_ok(tmp.path(), &file, &out);
    let first = tree(&out);
    assert!(first.contains_key(".pf-render.json"), "no manifest");
    render_ok(tmp.path(), &changed, &out);
    let second = tree(&out);
    assert_ne!(first, second, "the new bundle was not written");
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    // Only the bundle is left next to the topologies: no lock or staging debris.
    assert_eq!(names(tmp.path()), ["bundle", "changed.toml", "prod.toml"]);
}

/// The manifest names every other file with its SHA-256 and mode, in
/// path order, and nothing else; its bytes do not depend on the folder.
#[test]
fn the_manifest_lists_every_file_with_its_hash_and_mode() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    for target in ["swarm", "compose"] {
        let out = tmp.path().join(target);
        let o = run(
            tmp.path(),
            &[Path::new(target), &file, Path::new("-o"), &out],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let text = std::fs::read_to_string(out.join(".pf-render.json")).expect("manifest");
        let m: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(m["tool"], "pf-render");
        assert_eq!(m["format"], 1);
        assert_eq!(m["target"], target);
        assert!(
            m["topology"]
                .as_str()
                .is_some_and(|t| t.ends_with("prod.toml"))
        );
        let files = m["files"].as_array().expect("files");
        let listed: Vec<&str> = files
            .iter()
            .map(|f| f["path"].as_str().expect("path"))
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "not in path order");
        let on_disk: Vec<String> = tree(&out)
            .into_iter()
            .filter(|(p, n)| matches!(n, Node::File(..)) && p != ".pf-render.json")
            .map(|(p, _)| p)
            .collect();
        assert_eq!(listed, on_disk);
        for f in files {
            let path = out.join(f["path"].as_str().expect("path"));
            let sum = std::process::Command::new("sha256sum")
                .arg(&path)
                .output()
                .expect("sha256sum");
            let sum = String::from_utf8_lossy(&sum.stdout);
            assert_eq!(
                Some(sum.split_whitespace().next().expect("digest")),
                f["sha256"].as_str()
            );
            assert_eq!(
                f["mode"].as_str(),
                Some(format!("{:04o}", support::mode(&path)).as_str())
            );
        }
    }
}

#[test]
fn a_link_as_the_output_folder_is_refused_even_with_force() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).expect("mkdir");
    std::fs::write(real.join("keep.txt"), "mine").expect("write");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("ln");
    for force in [false, true] {
        let before = tree(tmp.path());
        let mut args = vec![Path::new("swarm"), &file, Path::new("-o"), &link];
        if force {
            args.push(Path::new("--force"));
        }
        let o = run(tmp.path(), &args);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
        assert_eq!(tree(tmp.path()), before);
    }
}

/// `--force` replaces the folder whatever it holds, but removes links
/// inside it as links: what they point to is left alone.
#[test]
fn force_never_follows_links() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let precious = tmp.path().join("precious");
    std::fs::create_dir(&precious).expect("mkdir");
    std::fs::write(precious.join("data"), "keep me").expect("write");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::os::unix::fs::symlink(&precious, out.join("link")).expect("ln");
    std::os::unix::fs::symlink(precious.join("data"), out.join("docker-stack.yml")).expect("ln");
    let o = run(
        tmp.path(),
        &[
            Path::new("swarm"),
            &file,
            Path::new("-o"),
            &out,
            Path::new("--force"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(precious.join("data")).expect("read"),
        "keep me"
    );
    assert!(!out.join("link").exists());
    assert!(matches!(
        tree(&out).get("docker-stack.yml"),
        Some(Node::File(..))
    ));
}

#[test]
fn a_long_list_of_foreign_files_is_cut_and_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    for i in 0..25 {
        std::fs::write(out.join(format!("f{i:02}")), "x").expect("write");
    }
    let args = [Path::new("swarm"), &file, Path::new("-o"), &out];
    let err = assert_refused(tmp.path(), &args, tmp.path(), &["f00", "f09", "15 more"]);
    assert!(!err.contains("f24"), "{err}");
}

/// The default folder is `out/<file stem>/<target>`; a file name whose stem
/// would leave `out/` is refused instead.
#[test]
fn the_default_folder_never_leaves_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join("swarm")).expect("mkdir");
    std::fs::write(tmp.path().join("swarm/keep.txt"), "mine").expect("write");
    topology(tmp.path(), "...toml", PROD);
    let before = tree(tmp.path());
    let o = run(tmp.path(), &["swarm", "...toml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("-o"), "{}", stderr(&o));
    assert_eq!(tree(tmp.path()), before, "something was written");

    topology(tmp.path(), "prod.toml", PROD);
    let o = run(tmp.path(), &["compose", "prod.toml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        tmp.path()
            .join("out/prod/compose/docker-compose.ha.yml")
            .is_file()
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("swarm/keep.txt")).expect("read"),
        "mine"
    );
}

/// Without a manifest (a bundle from before manifests, or the manifest
/// deleted), a folder is replaced only while every file in it is exactly
/// what is about to be written; a manifest that is not ours is itself a
/// foreign file.
#[test]
fn without_a_manifest_only_identical_files_pass() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = topology(tmp.path(), "prod.toml", PROD);
    let changed = topology(tmp.path(), "changed.toml", &prod_changed());
    let out = tmp.path().join("bundle");
    render_ok(tmp.path(), &file, &out);
    std::fs::remove_file(out.join(".pf-render.json")).expect("rm");
    // Same topology: nothing would be lost.
    render_ok(tmp.path(), &file, &out);
    assert!(out.join(".pf-render.json").is_file());

    std::fs::remove_file(out.join(".pf-render.json")).expect("rm");
    let args = [Path::new("swarm"), &changed, Path::new("-o"), &out];
    let err = assert_refused(tmp.path(), &args, tmp.path(), &["docker-stack.yml"]);
    assert!(err.contains("no .pf-render.json"), "{err}");

    render_ok(tmp.path(), &file, &out);
    std::fs::write(out.join(".pf-render.json"), "{\"tool\": \"other\"}\n").expect("write");
    assert_refused(tmp.path(), &args, tmp.path(), &[".pf-render.json"]);
}
