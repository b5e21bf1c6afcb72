//! The fixture corpora, run through the real `pf-render` binary.
//!
//! Every file in `tests/fixtures/invalid/` is a topology with exactly one
//! defect. Its first line names the code of the one error it must produce
//! (`# expect: sentinel-quorum-out-of-range`); it may produce warnings too.
//! Every file in `tests/fixtures/warnings/` is a valid topology that must
//! produce the warning its first line names.
//!
//! A fixture may mark the line of its defect with a `# <-- defect` comment;
//! the diagnostic must then point at that line. The human output of every
//! fixture is an insta snapshot (`tests/snapshots/`), so a change to any
//! message, help text or location shows up in review.
//!
//! The binary runs in the fixture's directory with the bare file name, so
//! snapshots contain no absolute paths.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use pf_model::{Code, Severity};

const INVALID_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invalid");
const WARNINGS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/warnings");
const MARKER: &[u8] = b"# <-- defect";

/// insta keeps the failures of `glob!` on one process-wide stack, so two
/// globs running in parallel test threads count each other's failures (a
/// missing snapshot in one fails the other). The glob tests take turns.
static GLOB: Mutex<()> = Mutex::new(());

fn one_glob_at_a_time() -> MutexGuard<'static, ()> {
    GLOB.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a fixture file says about itself.
struct Fixture {
    /// The bare file name, as passed to `check`.
    name: String,
    /// The code named by the first line, `# expect: <code>`.
    code: Code,
    /// The 1-based line carrying the `# <-- defect` marker, if any.
    marker_line: Option<usize>,
}

impl Fixture {
    fn read(path: &Path) -> Self {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("fixture file names are UTF-8")
            .to_owned();
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let first = std::str::from_utf8(lines[0])
            .unwrap_or_else(|_| panic!("{name}: the first line must be UTF-8"))
            .trim_end();
        let code_name = first.strip_prefix("# expect: ").unwrap_or_else(|| {
            panic!("{name}: the first line must be `# expect: <code>`, found {first:?}")
        });
        let code: Code = code_name
            .parse()
            .unwrap_or_else(|()| panic!("{name}: `{code_name}` is not a diagnostic code"));
        let stem = name.strip_suffix(".toml").unwrap_or(&name);
        assert!(
            stem == code_name || stem.starts_with(&format!("{code_name}-")),
            "{name}: the file must be named `{code_name}.toml` or `{code_name}-<variant>.toml`"
        );
        let marked: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.windows(MARKER.len()).any(|w| w == MARKER))
            .map(|(i, _)| i + 1)
            .collect();
        assert!(
            marked.len() <= 1,
            "{name}: more than one `# <-- defect` marker (lines {marked:?})"
        );
        Fixture {
            name,
            code,
            marker_line: marked.first().copied(),
        }
    }
}

fn pf_render(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pf-render runs")
}

fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("pf-render exited (was not killed by a signal)")
}

/// The `--> file:line:col` of the first diagnostic with this severity and code.
fn location(stdout: &str, severity: Severity, code: Code, file: &str) -> (usize, usize) {
    let header = format!("{severity}[{code}]: ");
    let mut lines = stdout.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with(&header))
        .unwrap_or_else(|| panic!("no `{header}` line in:\n{stdout}"));
    let arrow = lines.next().unwrap_or_default().trim_start();
    let place = arrow.strip_prefix("--> ").unwrap_or_else(|| {
        panic!("the line after `{header}` is not `--> file:line:col`: {arrow:?}")
    });
    let mut parts = place.rsplitn(3, ':');
    let column = parts.next().and_then(|c| c.parse::<usize>().ok());
    let line = parts.next().and_then(|l| l.parse::<usize>().ok());
    let shown_file = parts.next();
    match (shown_file, line, column) {
        (Some(f), Some(line), Some(column)) if f == file && line >= 1 && column >= 1 => {
            (line, column)
        }
        _ => panic!("`{arrow}` is not `--> {file}:<line>:<col>`"),
    }
}

/// Control characters (other than newline and tab) escaped, so that
/// snapshots of binary or NUL-laden fixtures stay plain text. Everything
/// else is the exact output.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The JSON report of one file: (severity, code, line, column) of every diagnostic.
fn json_report(dir: &Path, name: &str) -> Vec<(String, String, u64, u64)> {
    let output = pf_render(dir, &["check", "--format", "json", name]);
    let stdout = String::from_utf8(output.stdout).expect("JSON output is UTF-8");
    let value: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: --format json is not JSON ({e}):\n{stdout}"));
    value["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: --format json has no `findings` array"))
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            let number = |k: &str| d[k].as_u64().unwrap_or_default();
            (
                text("severity"),
                text("code"),
                number("line"),
                number("column"),
            )
        })
        .collect()
}

#[test]
fn invalid_fixtures() {
    let _turn = one_glob_at_a_time();
    insta::glob!("fixtures/invalid/*.toml", |path| {
        let fixture = Fixture::read(path);
        let name = fixture.name.as_str();
        let code = fixture.code;
        assert_eq!(
            code.severity(),
            Severity::Error,
            "{name}: an invalid fixture must expect an error code, `{code}` is a warning"
        );
        let dir = path.parent().expect("a fixture is in a directory");

        let output = pf_render(dir, &["check", name]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !stderr.contains("panicked"),
            "{name}: pf-render panicked:\n{stderr}"
        );
        assert!(stderr.is_empty(), "{name}: unexpected stderr:\n{stderr}");
        assert_eq!(
            exit_code(&output),
            1,
            "{name}: an invalid topology exits 1; stdout:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("error[{code}]")),
            "{name}: expected error[{code}], got:\n{stdout}"
        );
        // One defect, one error; except that a file without tables lacks
        // each required one, and says so once per table.
        let errors = stdout.matches("error[").count();
        let all_missing = stdout.matches("error[missing-key]").count() == errors;
        assert_eq!(
            if code == Code::MissingKey && all_missing {
                1
            } else {
                errors
            },
            1,
            "{name}: expected exactly one error, got:\n{stdout}"
        );
        let (line, column) = location(&stdout, Severity::Error, code, name);
        if let Some(marked) = fixture.marker_line {
            assert_eq!(
                line, marked,
                "{name}: error reported at line {line}, the defect is marked on line {marked}"
            );
        }
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{name}: {errors} error(s), "))),
            "{name}: no summary line:\n{stdout}"
        );

        // The JSON report agrees with the human one.
        let json_errors: Vec<_> = json_report(dir, name)
            .into_iter()
            .filter(|(severity, ..)| severity == "error")
            .collect();
        assert_eq!(
            json_errors.first(),
            Some(&(
                "error".to_owned(),
                code.name().to_owned(),
                line as u64,
                column as u64
            )),
            "{name}: --format json disagrees with the human output"
        );
        assert_eq!(json_errors.len(), errors, "{name}: as many errors in JSON");
        assert!(json_errors.iter().all(|e| e.1 == code.name()), "{name}");

        insta::assert_snapshot!(printable(&stdout));
    });
}

#[test]
fn warning_fixtures() {
    let _turn = one_glob_at_a_time();
    insta::glob!("fixtures/warnings/*.toml", |path| {
        let fixture = Fixture::read(path);
        let name = fixture.name.as_str();
        let code = fixture.code;
        assert_eq!(
            code.severity(),
            Severity::Warning,
            "{name}: a warning fixture must expect a warning code, `{code}` is an error"
        );
        let dir = path.parent().expect("a fixture is in a directory");

        let output = pf_render(dir, &["check", name]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(stderr.is_empty(), "{name}: unexpected stderr:\n{stderr}");
        assert_eq!(
            exit_code(&output),
            0,
            "{name}: warnings alone exit 0; stdout:\n{stdout}"
        );
        assert!(
            !stdout.contains("error["),
            "{name}: a warning fixture has errors:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("warning[{code}]")),
            "{name}: expected warning[{code}], got:\n{stdout}"
        );
        let (line, _) = location(&stdout, Severity::Warning, code, name);
        if let Some(marked) = fixture.marker_line {
            assert_eq!(
                line, marked,
                "{name}: warning reported at line {line}, the cause is marked on line {marked}"
            );
        }

        let denied = pf_render(dir, &["check", "--deny-warnings", name]);
        assert_eq!(
            exit_code(&denied),
            1,
            "{name}: --deny-warnings turns a warning into exit 1"
        );
        assert_eq!(
            String::from_utf8_lossy(&denied.stdout),
            stdout,
            "{name}: --deny-warnings changes the exit code, not the report"
        );

        insta::assert_snapshot!(printable(&stdout));
    });
}

/// The codes the fixtures in `dir` expect.
fn expected_codes(dir: &str) -> BTreeSet<Code> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| Fixture::read(&p).code)
        .collect()
}

fn uncovered(severity: Severity, covered: &BTreeSet<Code>) -> Vec<&'static str> {
    Code::ALL
        .iter()
        .filter(|c| c.severity() == severity && !covered.contains(c))
        .map(|c| c.name())
        .collect()
}

#[test]
fn every_error_code_has_an_invalid_fixture() {
    let missing = uncovered(Severity::Error, &expected_codes(INVALID_DIR));
    assert!(
        missing.is_empty(),
        "error codes without a fixture in tests/fixtures/invalid: {missing:?}"
    );
}

#[test]
fn every_warning_code_has_a_warning_fixture() {
    let missing = uncovered(Severity::Warning, &expected_codes(WARNINGS_DIR));
    assert!(
        missing.is_empty(),
        "warning codes without a fixture in tests/fixtures/warnings: {missing:?}"
    );
}
