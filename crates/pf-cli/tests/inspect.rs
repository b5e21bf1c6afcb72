//! `pf-render inspect FILE --target T`: prints the plan the renderer uses,
//! as JSON, with the exit codes of the other commands.

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

/// prod, named as the command line names it (the plan records the origin).
fn prod() -> pf_model::Topology {
    let text = std::fs::read_to_string(Path::new(ROOT).join(PROD)).expect("read prod");
    pf_model::from_str(&text, PROD)
        .expect("loads")
        .validate()
        .topology
        .expect("valid")
}

/// What the command prints is the library's plan, for each target.
#[test]
fn prints_the_plan_of_each_target() {
    for (arg, target) in [
        ("swarm", pf_render::Target::Swarm),
        ("compose", pf_render::Target::Compose),
        ("local", pf_render::Target::local()),
    ] {
        let o = pf(Path::new(ROOT), &["inspect", PROD, "--target", arg]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let printed: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
        let plan = pf_render::plan(&prod(), target);
        let expected = serde_json::to_value(&plan).expect("serializes");
        assert_eq!(printed["target"]["name"], arg);
        assert_eq!(printed, expected, "{arg}");
        assert_eq!(
            pf(
                Path::new(ROOT),
                &["inspect", PROD, "--target", arg, "--format", "json"]
            )
            .stdout,
            o.stdout,
            "--format json is the default"
        );
    }
}

#[test]
fn an_invalid_topology_exits_1_with_its_diagnostics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(Path::new(ROOT).join(PROD))
        .expect("prod")
        .replacen("quorum = 2", "quorum = 7", 1);
    std::fs::write(dir.path().join("bad.toml"), text).expect("write");
    let o = pf(dir.path(), &["inspect", "bad.toml", "--target", "swarm"]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty(), "nothing on stdout");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:"), "{err}");
    assert!(err.contains("quorum"), "{err}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let root = Path::new(ROOT);
    for args in [
        &["inspect", "no-such-file.toml", "--target", "swarm"][..],
        &["inspect", PROD, "--target", "kubernetes"][..],
        &["inspect", PROD][..],
        &["inspect", PROD, "--target", "swarm", "--format", "yaml"][..],
    ] {
        let o = pf(root, args);
        assert_eq!(
            code(&o),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_names_the_targets_and_exit_codes() {
    let o = pf(Path::new(ROOT), &["inspect", "--help"]);
    assert_eq!(code(&o), 0);
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--target",
        "swarm",
        "compose",
        "local",
        "Exit status",
        "/tmp/pf-local",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    let top = pf(Path::new(ROOT), &["--help"]);
    assert!(String::from_utf8_lossy(&top.stdout).contains("inspect"));
}
