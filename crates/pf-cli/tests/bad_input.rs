//! Inputs too big, too deep or too strange to commit as fixtures, generated
//! at run time: the empty file, non-UTF-8, binary noise, 10 MB, 100 000
//! levels of nesting, duplicate keys. Each one, through the real binary:
//!
//! - `check` exits 1 (or 2 for I/O) with a located `--> file:line:col`
//!   message and no panic;
//! - `swarm FILE -o DIR` exits the same way, leaves a pre-existing DIR
//!   byte-identical (mtimes too), and creates nothing when DIR did not exist.
//!
//! `swarm`/`compose -o DIR` is also run on every committed invalid fixture; I/O
//! errors (a folder, a missing file) exit 2 and create nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

const PROD: &str = include_str!("../../../topologies/prod.toml");

fn pf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pf-render runs")
}

/// Every entry under `dir`: relative path -> (bytes, mode, mtime), folders included.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, SystemTime)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("list folder") {
            let path = entry.expect("folder entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let bytes = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).expect("read file")
            };
            let rel = path.strip_prefix(dir).expect("under dir").to_owned();
            out.insert(
                rel,
                (
                    bytes,
                    meta.permissions().mode(),
                    meta.modified().expect("mtime"),
                ),
            );
        }
    }
    out
}

/// A deterministic byte stream (xorshift), so a failure reproduces.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// The bad inputs: (file name, bytes, the code of the error they must give).
fn inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    // Just under the most `load` reads (larger files are an I/O error,
    // tests/input_bounds.rs): the parser and the reports still face
    // megabytes of input and a megabytes-long line.
    const NEAR_LIMIT: usize = pf_model::MAX_FILE_BYTES as usize - 64 * 1024;
    const DEEP: usize = 100_000;
    let mut padded = PROD.to_owned();
    while padded.len() < NEAR_LIMIT {
        padded.push_str("# padding: a comment line that makes the file four megabytes long\n");
    }
    padded.push_str("[capacity.extra]\nunknown = 1\n");
    let mut one_line = String::from("name = \"");
    one_line.push_str(&"a".repeat(NEAR_LIMIT));
    one_line.push_str("\"\n");
    let mut binary = b"\x7fELF\x02\x01\x01\0".to_vec();
    binary.extend(noise(64 * 1024, 0x5eed));
    vec![
        ("empty.toml", Vec::new(), "missing-key"),
        ("blank.toml", b"\n\n   \n\t\n".to_vec(), "missing-key"),
        (
            "bom-only.toml",
            "\u{feff}".as_bytes().to_vec(),
            "missing-key",
        ),
        (
            "non-utf8-first-byte.toml",
            b"\xff\xfename = \"x\"\n".to_vec(),
            "toml-syntax",
        ),
        (
            "non-utf8-in-string.toml",
            PROD.replacen("promptforge", "prompt\u{0}forge", 1)
                .into_bytes()
                .into_iter()
                .map(|b| if b == 0 { 0xc3 } else { b })
                .collect(),
            "toml-syntax",
        ),
        ("binary.toml", binary, "toml-syntax"),
        ("noise.toml", noise(1024 * 1024, 42), "toml-syntax"),
        ("four-megabytes.toml", padded.into_bytes(), "unknown-key"),
        (
            "four-megabyte-line.toml",
            one_line.into_bytes(),
            "invalid-value",
        ),
        (
            "nested-arrays.toml",
            format!("name = {}{}\n", "[".repeat(DEEP), "]".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "nested-arrays-unclosed.toml",
            format!("name = {}\n", "[".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "nested-inline-tables.toml",
            format!("name = {}{}\n", "{a = ".repeat(DEEP), "}".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "nested-dotted-key.toml",
            format!("{}a = 1\n", "a.".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "nested-table-header.toml",
            format!("[{}a]\n", "a.".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "nested-array-tables.toml",
            format!("[[{}a]]\n", "a.".repeat(DEEP)).into_bytes(),
            "toml-syntax",
        ),
        (
            "duplicate-key.toml",
            format!("{PROD}\n[redis.sentinel]\nquorum = 2\n").into_bytes(),
            "toml-syntax",
        ),
        (
            "duplicate-key-top.toml",
            PROD.replacen("name = \"promptforge\"", "name = \"a\"\nname = \"b\"", 1)
                .into_bytes(),
            "toml-syntax",
        ),
        (
            "duplicate-key-quoted.toml",
            PROD.replacen(
                "name = \"promptforge\"",
                "name = \"a\"\n\"name\" = \"b\"",
                1,
            )
            .into_bytes(),
            "toml-syntax",
        ),
        (
            "many-tables.toml",
            "[capacity]\n".repeat(100_000).into_bytes(),
            "toml-syntax",
        ),
    ]
}

/// `error[<code>]` is followed by `--> <file>:<line>:<col>` with a plausible line.
fn assert_located(name: &str, code: &str, report: &str, bytes: &[u8]) {
    let header = format!("error[{code}]: ");
    let mut lines = report.lines();
    assert!(
        lines.by_ref().any(|l| l.starts_with(&header)),
        "{name}: no `{header}` in:\n{}",
        head(report)
    );
    let arrow = lines.next().unwrap_or_default().trim_start();
    let place = arrow
        .strip_prefix(&format!("--> {name}:"))
        .unwrap_or_else(|| panic!("{name}: `{arrow}` is not `--> {name}:line:col`"));
    let (line, column) = place
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)))
        .unwrap_or_else(|| panic!("{name}: `{arrow}` has no line:col"));
    let file_lines = bytes.split(|b| *b == b'\n').count();
    assert!(
        line >= 1 && line <= file_lines && column >= 1,
        "{name}: {line}:{column} is outside the file ({file_lines} lines)"
    );
    // A megabytes-long line or value is cut around the column and clipped,
    // not printed whole (a 10 MB line once gave a 31 MB report).
    assert!(
        report.len() < 4096,
        "{name}: a {} byte report:\n{}",
        report.len(),
        head(report)
    );
}

fn head(text: &str) -> &str {
    let mut end = text.len().min(2000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn exit_code(name: &str, output: &Output) -> i32 {
    output.status.code().unwrap_or_else(|| {
        panic!(
            "{name}: pf-render was killed by a signal ({:?}): stack overflow or abort",
            output.status
        )
    })
}

#[test]
fn bad_inputs_exit_1_with_a_located_error_and_touch_no_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inputs_dir = tmp.path().join("inputs");
    std::fs::create_dir(&inputs_dir).expect("mkdir");
    for (name, bytes, code) in inputs() {
        std::fs::write(inputs_dir.join(name), &bytes).expect("write input");

        let checked = pf(&inputs_dir, &["check", name]);
        let stdout = String::from_utf8_lossy(&checked.stdout);
        let stderr = String::from_utf8_lossy(&checked.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
        assert_eq!(
            exit_code(name, &checked),
            1,
            "{name}: expected exit 1\nstdout:\n{}\nstderr:\n{}",
            head(&stdout),
            head(&stderr)
        );
        assert_located(name, code, &stdout, &bytes);
        // A file without tables lacks each required one and says so once
        // per table (nothing below them: those are consequences); any other
        // input has one defect.
        let errors = stdout.matches("error[").count();
        let missing = stdout.matches("error[missing-key]").count();
        let fine = if code == "missing-key" {
            errors == missing && (1..=7).contains(&errors)
        } else {
            errors == 1 || (errors == 1 + missing && missing > 0)
        };
        assert!(
            fine,
            "{name}: one {code} error expected (and missing tables):\n{}",
            head(&stdout)
        );
        // Over an existing folder: exit 1, the folder exactly as it was.
        let work = tmp.path().join(format!("work-{name}"));
        let out = work.join("bundle");
        std::fs::create_dir_all(out.join("nginx")).expect("mkdir");
        std::fs::write(out.join("docker-stack.yml"), "old stack\n").expect("write");
        std::fs::write(out.join("nginx/nginx.conf"), "old nginx\n").expect("write");
        let before = snapshot(&work);
        let input = inputs_dir.join(name);
        let input = input.to_str().expect("UTF-8 temp path");
        let rendered = pf(&work, &["swarm", input, "-o", "bundle"]);
        let stderr = String::from_utf8_lossy(&rendered.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
        assert_eq!(exit_code(name, &rendered), 1, "{name}:\n{}", head(&stderr));
        assert!(
            stderr.contains(&format!("error[{code}]")) && stderr.contains("--> "),
            "{name}: no located error on stderr:\n{}",
            head(&stderr)
        );
        assert!(stderr.contains("nothing was written"), "{name}");
        assert!(rendered.stdout.is_empty(), "{name}: wrote to stdout");
        assert_eq!(
            snapshot(&work),
            before,
            "{name}: the output folder or its parent changed"
        );

        // Into a folder that does not exist: it still does not.
        std::fs::remove_dir_all(&out).expect("rm");
        let rendered = pf(&work, &["compose", input, "-o", "bundle/deeper"]);
        assert_eq!(exit_code(name, &rendered), 1, "{name}");
        assert_eq!(
            std::fs::read_dir(&work).expect("ls").count(),
            0,
            "{name}: render created something next to the missing folder"
        );
        std::fs::remove_dir_all(&work).expect("rm");
        std::fs::remove_file(inputs_dir.join(name)).expect("rm");
    }
}

#[test]
fn unreadable_inputs_exit_2_and_touch_no_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join("a-folder.toml")).expect("mkdir");
    for name in ["a-folder.toml", "missing.toml", "missing/dir/x.toml"] {
        let checked = pf(tmp.path(), &["check", name]);
        assert_eq!(exit_code(name, &checked), 2, "{name}");
        let stderr = String::from_utf8_lossy(&checked.stderr);
        assert!(
            stderr.contains(name),
            "{name}: the message names the file:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");

        let rendered = pf(tmp.path(), &["swarm", name, "-o", "bundle"]);
        assert_eq!(exit_code(name, &rendered), 2, "{name}");
        assert!(
            !tmp.path().join("bundle").exists(),
            "{name}: an unreadable input created the output folder"
        );
    }
}

/// The committed invalid corpus too: `swarm FIXTURE -o DIR` exits 1 and
/// leaves DIR exactly as it was, for every fixture.
#[test]
fn every_invalid_fixture_leaves_the_output_folder_alone() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("bundle");
    std::fs::create_dir_all(out.join("scripts")).expect("mkdir");
    std::fs::write(out.join("docker-stack.yml"), "old stack\n").expect("write");
    std::fs::write(out.join("scripts/ha-setup.sh"), "#!/bin/sh\n").expect("write");
    let before = snapshot(tmp.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("list fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "only {} invalid fixtures", files.len());
    for file in &files {
        let name = file.file_name().expect("name").to_string_lossy();
        let input = file.to_str().expect("UTF-8 path");
        for target in ["swarm", "compose"] {
            let rendered = pf(tmp.path(), &[target, input, "-o", "bundle"]);
            let stderr = String::from_utf8_lossy(&rendered.stderr);
            assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
            assert_eq!(
                exit_code(&name, &rendered),
                1,
                "{name} ({target}):\n{stderr}"
            );
            assert!(stderr.contains("--> "), "{name}: no location:\n{stderr}");
        }
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{name}: the output folder changed"
        );
    }
}
