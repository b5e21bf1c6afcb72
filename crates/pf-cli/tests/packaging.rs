//! The crates can be published: each publishable crate packages without
//! network (`cargo package --list --offline`), carries the metadata
//! crates.io shows, names its path dependencies with a version (publishing
//! replaces the path by it), and states a minimum Rust version that every
//! dependency it builds accepts. Unpublished crates say so, so a new crate
//! needs a decision.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The crates published to crates.io, dependencies first.
const PUBLISHED: &[&str] = &[
    "pf-diag",
    "pf-model",
    "pf-lint",
    "pf-render",
    "pf-drill",
    "pf-cli",
];
/// Workspace members that stay in this repository.
const UNPUBLISHED: &[&str] = &["pf-bench", "pf-examples", "pf-testbed"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `cargo ARGS` in the workspace root; its standard output, or a panic
/// with what cargo said.
fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(
        out.status.success(),
        "cargo {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo prints UTF-8")
}

/// `cargo metadata` for this machine's platform: other platforms'
/// dependencies are not downloaded here, and do not ship in our binary.
fn metadata() -> Value {
    let text = cargo(&[
        "metadata",
        "--format-version=1",
        "--locked",
        "--offline",
        "--filter-platform=x86_64-unknown-linux-gnu",
    ]);
    serde_json::from_str(&text).expect("cargo metadata prints JSON")
}

fn text<'a>(package: &'a Value, key: &str) -> &'a str {
    package[key].as_str().unwrap_or("")
}

/// A `1.88` or `1.88.0` version as a comparable triple.
fn version(v: &str) -> (u32, u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().expect("number"));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

fn members(meta: &Value) -> BTreeMap<String, &Value> {
    let ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| ids.contains(text(p, "id")))
        .map(|p| (text(p, "name").to_owned(), p))
        .collect()
}

/// The workspace's `rust-version` (every member inherits it).
fn workspace_msrv() -> String {
    env!("CARGO_PKG_RUST_VERSION").to_owned()
}

#[test]
fn every_member_is_published_or_says_it_is_not() {
    let meta = metadata();
    let names: BTreeSet<String> = members(&meta).into_keys().collect();
    let expected: BTreeSet<String> = PUBLISHED
        .iter()
        .chain(UNPUBLISHED)
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        names, expected,
        "a new workspace member: add it to PUBLISHED (with the metadata below) or UNPUBLISHED (publish = false)"
    );
    for (name, p) in members(&meta) {
        // `publish = false` is an empty registry list; `null` allows crates.io.
        let published = p["publish"].is_null();
        assert_eq!(
            published,
            PUBLISHED.contains(&name.as_str()),
            "{name}: publish = {}",
            p["publish"]
        );
    }
}

#[test]
fn published_crates_carry_what_crates_io_shows() {
    let meta = metadata();
    let msrv = workspace_msrv();
    let root_mit = std::fs::read(root().join("LICENSE-MIT")).expect("LICENSE-MIT");
    let root_apache = std::fs::read(root().join("LICENSE-APACHE")).expect("LICENSE-APACHE");
    assert!(String::from_utf8_lossy(&root_apache).contains("Version 2.0, January 2004"));
    assert!(String::from_utf8_lossy(&root_mit).starts_with("MIT License"));
    let all = members(&meta);
    for name in PUBLISHED {
        let p = all[*name];
        for key in ["description", "repository", "readme"] {
            assert!(!text(p, key).is_empty(), "{name}: no {key}");
        }
        assert_eq!(text(p, "license"), "MIT OR Apache-2.0", "{name}");
        assert_eq!(text(p, "rust_version"), msrv, "{name}: rust-version");
        let keywords = p["keywords"].as_array().expect("keywords");
        assert!((1..=5).contains(&keywords.len()), "{name}: 1 to 5 keywords");
        for k in keywords.iter().filter_map(Value::as_str) {
            assert!(
                k.len() <= 20
                    && k.starts_with(|c: char| c.is_ascii_alphabetic())
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c)),
                "{name}: keyword `{k}` is not one crates.io accepts"
            );
        }
        assert!(
            !p["categories"].as_array().expect("categories").is_empty(),
            "{name}: no categories"
        );
        let dir = Path::new(text(p, "manifest_path"))
            .parent()
            .expect("crate folder")
            .to_owned();
        assert!(
            dir.join(text(p, "readme")).is_file(),
            "{name}: readme missing"
        );
        // The license texts travel with the package: the crate folder links
        // to the repository's files, and cargo packages what they hold.
        for (file, expected) in [("LICENSE-MIT", &root_mit), ("LICENSE-APACHE", &root_apache)] {
            let held =
                std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
            assert_eq!(
                &held, expected,
                "{name}/{file} differs from the repository's"
            );
        }
        // Publishing replaces a path dependency by its version: one without
        // a version (`*`) cannot be published.
        for dep in p["dependencies"].as_array().expect("dependencies") {
            let dev = dep["kind"].as_str() == Some("dev");
            if dep["path"].is_string() && !dev {
                let dep_name = text(dep, "name");
                let req = text(dep, "req");
                assert_ne!(
                    req, "*",
                    "{name}: path dependency {dep_name} has no version"
                );
                let dep_version = text(all[dep_name], "version");
                assert!(
                    req.trim_start_matches(['^', '=']) == dep_version,
                    "{name}: {dep_name} = \"{req}\" but the crate is {dep_version}"
                );
                assert!(
                    PUBLISHED.contains(&dep_name),
                    "{name} depends on unpublished {dep_name}"
                );
            }
        }
    }
}

/// No network: the package list comes from the working tree and the lock
/// file, so this runs wherever the tests run.
#[test]
fn published_crates_package_without_network() {
    for name in PUBLISHED {
        let list = cargo(&[
            "package",
            "--list",
            "--offline",
            "--locked",
            "--allow-dirty",
            "-p",
            name,
        ]);
        let files: BTreeSet<&str> = list.lines().collect();
        let entry = if *name == "pf-cli" {
            "src/main.rs"
        } else {
            "src/lib.rs"
        };
        for needed in [
            "Cargo.toml",
            "README.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            entry,
        ] {
            assert!(
                files.contains(needed),
                "{name}: {needed} not packaged:\n{list}"
            );
        }
        // The tests read the repository (topologies, tools); they stay in it.
        assert!(
            !files.iter().any(|f| f.starts_with("tests/")),
            "{name}: tests packaged:\n{list}"
        );
        if *name == "pf-render" {
            assert!(
                files.contains("templates/nginx/load-balancer.conf.j2"),
                "pf-render: its templates are compiled in and must be packaged:\n{list}"
            );
        }
    }
}

/// The minimum Rust version is not lower than any dependency's: cargo
/// would refuse to build one of them with the compiler we name. (The
/// language and standard library side: edition 2024 needs 1.85, `if let`
/// chains 1.88, and clippy's `incompatible_msrv` flags any standard item
/// newer than `rust-version`; see docs/releasing.md.)
#[test]
fn rust_version_covers_every_dependency() {
    let meta = metadata();
    let msrv = workspace_msrv();
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (text(p, "id"), p))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve")
        .iter()
        .map(|n| (text(n, "id"), n))
        .collect();
    // Everything the published crates build with (not their dev-dependencies).
    let mut todo: Vec<&str> = members(&meta)
        .into_iter()
        .filter(|(name, _)| PUBLISHED.contains(&name.as_str()))
        .map(|(_, p)| text(p, "id"))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let shipped = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if shipped {
                todo.push(text(dep, "pkg"));
            }
        }
    }
    // The walk reached the dependencies (a broken walk would pass above).
    assert!(seen.len() > 50, "only {} crates reached", seen.len());
    for id in &seen {
        let p = packages[id];
        if let Some(needed) = p["rust_version"].as_str() {
            assert!(
                version(needed) <= version(&msrv),
                "{} {} needs Rust {needed}, newer than rust-version = {msrv}: raise it (and say why in Cargo.toml)",
                text(p, "name"),
                text(p, "version")
            );
        }
    }
}
