//! `check` reports a node whose loss breaks a group at the key to change;
//! `plan --failure-domains` prints the table (human and JSON) with the
//! exit codes of the other commands.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const PROD: &str = "topologies/prod.toml";

fn pf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pf-render runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// prod on two nodes: Sentinels 1 and 3 share node 1.
fn two_nodes(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(Path::new(ROOT).join(PROD)).expect("prod");
    let path = dir.join("two-nodes.toml");
    std::fs::write(&path, text.replace("nodes = 3", "nodes = 2")).expect("write");
    path
}

#[test]
fn check_locates_two_sentinels_on_one_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_nodes(dir.path());
    let o = pf(dir.path(), &["check", "two-nodes.toml", "--color", "never"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0, "warnings only: {out}");
    let line = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .position(|l| l == "count = 3")
        .expect("count line")
        + 1;
    assert!(
        out.contains("warning[node-loss-breaks-ha]: sentinels: losing node 1 of 2"),
        "{out}"
    );
    assert!(
        out.contains(&format!("--> two-nodes.toml:{line}:1")),
        "{out}"
    );
    // --deny-warnings turns it into a failure.
    let o = pf(dir.path(), &["check", "two-nodes.toml", "--deny-warnings"]);
    assert_eq!(code(&o), 1);
    // prod itself: no such warning.
    let o = pf(Path::new(ROOT), &["check", PROD]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("node-loss-breaks-ha"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn plan_prints_the_table_and_exits_by_the_verdict() {
    let o = pf(Path::new(ROOT), &["plan", PROD, "--failure-domains"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("node 3 lost:"), "{out}");
    assert!(
        out.contains("redis          ok      master lost; 1 replica(s) remain to promote"),
        "{out}"
    );
    assert!(out.contains("the loss of any one node leaves every group working"));

    let dir = tempfile::tempdir().expect("tempdir");
    two_nodes(dir.path());
    let o = pf(
        dir.path(),
        &[
            "plan",
            "two-nodes.toml",
            "--failure-domains",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["nodes"], 2);
    let sentinels = v["losses"][0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["group"] == "sentinels")
        .expect("sentinels");
    assert_eq!(sentinels["survives"], false);
    assert_eq!(sentinels["remaining"], 1);
    assert_eq!(sentinels["needed"], 2);
}

#[test]
fn plan_errors_are_usage_errors() {
    let o = pf(
        Path::new(ROOT),
        &["plan", "no-such.toml", "--failure-domains"],
    );
    assert_eq!(code(&o), 2);
}
