//! Reading a topology is bounded: a file over `pf_model::MAX_FILE_BYTES`,
//! or an endless one like `/dev/zero`, is an I/O error (exit 2) after at
//! most that many bytes, never a machine out of memory.

use std::process::{Command, Output};

/// `pf-render ARGS` under a 1 GiB address-space limit, so that a
/// regression fails this test instead of exhausting the machine.
fn pf_render_limited(args: &[&str], dir: &std::path::Path) -> Output {
    let mut script = String::from("ulimit -v 1048576; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pf-render runs")
}

fn assert_too_large(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{what}: exit 2 expected; stderr:\n{stderr}\nstdout:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.contains("larger than 4 MiB"),
        "{what}: no clear message:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_file_over_the_limit_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Valid TOML comments, 4 MiB + 1 byte.
    let limit = usize::try_from(pf_model::MAX_FILE_BYTES).expect("fits");
    let mut text = "# padding\n".repeat(limit / 10 + 1);
    text.truncate(limit + 1);
    std::fs::write(dir.path().join("big.toml"), &text).expect("write");
    for command in ["check", "swarm", "compose"] {
        let output = pf_render_limited(&[command, "big.toml"], dir.path());
        assert_too_large(&output, command);
    }
    // Exactly the limit is read (and then fails as a topology, exit 1).
    text.truncate(limit);
    std::fs::write(dir.path().join("edge.toml"), &text).expect("write");
    let output = pf_render_limited(&["check", "edge.toml"], dir.path());
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_endless_file_is_refused_after_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = pf_render_limited(&["check", "/dev/zero"], dir.path());
    assert_too_large(&output, "/dev/zero");
}
