//! Standard output that cannot be written (`/dev/full`, a pipe whose
//! reader is gone): every command exits 2 with a message on stderr, never
//! a panic (exit 101) and never a silent success.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};

use support::{PROD, topology};

/// Where standard output goes.
#[derive(Debug, Clone, Copy)]
enum Sink {
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose read end is closed: every write fails with EPIPE.
    ClosedPipe,
}

fn run_into(cwd: &Path, args: &[&str], sink: Sink) -> Output {
    let stdout = match sink {
        Sink::Full => Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("open /dev/full"),
        ),
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            Stdio::from(writer)
        }
    };
    support::pf()
        .args(args)
        .current_dir(cwd)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run pf-render")
}

/// A command line, and what to prepare in the folder before it runs.
type Case = (&'static str, &'static [&'static str], fn(&Path));

fn nothing(_: &Path) {}

fn rendered(dir: &Path) {
    let o = support::run(dir, &["swarm", "prod.toml", "-o", "bundle"]);
    assert_eq!(support::code(&o), 0, "{}", support::stderr(&o));
}

fn drifted(dir: &Path) {
    rendered(dir);
    std::fs::write(dir.join("bundle/README.md"), "edited\n").expect("write");
}

const CASES: &[Case] = &[
    ("wrote", &["swarm", "prod.toml", "-o", "bundle"], nothing),
    (
        "unchanged",
        &["swarm", "prod.toml", "-o", "bundle"],
        rendered,
    ),
    (
        "up to date",
        &["swarm", "prod.toml", "--check", "bundle"],
        rendered,
    ),
    (
        "drift",
        &["swarm", "prod.toml", "--check", "bundle"],
        drifted,
    ),
    ("check", &["check", "prod.toml"], nothing),
    (
        "check json",
        &["check", "--format", "json", "prod.toml"],
        nothing,
    ),
    ("lint", &["lint", "bundle"], rendered),
    (
        "lint json",
        &["lint", "--format", "json", "bundle"],
        rendered,
    ),
    ("schema", &["schema"], nothing),
    (
        "explain",
        &["explain", "sentinel-quorum-out-of-range"],
        nothing,
    ),
    ("explain --catalog", &["explain", "--catalog"], nothing),
    ("--help", &["--help"], nothing),
    ("swarm --help", &["swarm", "--help"], nothing),
    ("--version", &["--version"], nothing),
];

#[test]
fn every_command_reports_an_unwritable_stdout() {
    let mut wrong = Vec::new();
    for sink in [Sink::Full, Sink::ClosedPipe] {
        for (what, args, prepare) in CASES {
            let tmp = tempfile::tempdir().expect("tempdir");
            topology(tmp.path(), "prod.toml", PROD);
            prepare(tmp.path());
            let o = run_into(tmp.path(), args, sink);
            let err = support::stderr(&o);
            let ok = o.status.code() == Some(2)
                && err.contains("error: cannot write to stdout")
                && !err.contains("panicked");
            if !ok {
                wrong.push(format!(
                    "{what} into {sink:?}: {:?}, stderr ends: {}",
                    o.status.code(),
                    err.lines().rev().take(2).collect::<Vec<_>>().join(" | ")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The render itself is not undone: the bundle is written, only the list
/// of files could not be printed.
#[test]
fn a_written_bundle_stays_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    topology(tmp.path(), "prod.toml", PROD);
    let o = run_into(
        tmp.path(),
        &["swarm", "prod.toml", "-o", "bundle"],
        Sink::Full,
    );
    assert_eq!(o.status.code(), Some(2));
    let check = support::run(tmp.path(), &["swarm", "prod.toml", "--check", "bundle"]);
    assert_eq!(support::code(&check), 0, "{}", support::stdout(&check));
}
