//! The machine formats of `check`, `lint` and `drill`, checked by their
//! consumers' schemas: the versioned JSON report against the committed
//! `schema/report.schema.json`, SARIF against the official SARIF 2.1.0
//! schema and Microsoft's SARIF Multitool (installed by
//! `scripts/install-test-tools.sh`), JUnit XML by parsing it; and
//! standard input, colors, `-q` and `-v`.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The workspace root; paths are relative to it, so reports name them the
/// same way on every machine.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const INVALID: &str = "crates/pf-cli/tests/fixtures/invalid/sentinel-quorum-out-of-range.toml";
const UNKNOWN_KEY: &str = "crates/pf-cli/tests/fixtures/invalid/unknown-key-typo.toml";
const STACK: &str = "crates/pf-lint/tests/fixtures/hand-written-stack.yml";
const GUIDE: &str = "crates/pf-lint/tests/fixtures/guide-compose.ha.yml";

fn pf(args: &[&str]) -> Output {
    pf_with(args, None, &[])
}

/// `pf-render ARGS` in the workspace root, with `stdin` on standard input
/// and `env` set.
fn pf_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pf-render"));
    cmd.args(args)
        .current_dir(ROOT)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("pf-render runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        // A command that refuses its arguments exits without reading.
        let _ = input.write_all(text.as_bytes());
    }
    drop(input);
    child.wait_with_output().expect("pf-render exits")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(path: impl AsRef<Path>) -> String {
    let path = Path::new(ROOT).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A rendered swarm bundle of prod (waivers, exceptions, several kinds).
fn bundle() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("swarm");
    let bundle = bundle.to_string_lossy().into_owned();
    let o = pf(&["swarm", "topologies/prod.toml", "-o", &bundle]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    (dir, bundle)
}

/// Every command and input the JSON report covers here (drill's is
/// validated by tests/drill.rs, on every drill it runs).
fn json_runs(bundle: &str) -> Vec<(String, Output)> {
    let prod = read("topologies/prod.toml");
    let runs: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        (
            "check prod",
            vec!["check", "--format", "json", "topologies/prod.toml"],
            None,
        ),
        (
            "check two invalid",
            vec!["check", "--format", "json", INVALID, UNKNOWN_KEY],
            None,
        ),
        (
            "check stdin",
            vec![
                "check",
                "--format",
                "json",
                "-",
                "--stdin-filename",
                "in/prod.toml",
            ],
            Some(&prod),
        ),
        (
            "lint stack",
            vec!["lint", "--format", "json", STACK, GUIDE],
            None,
        ),
        (
            "lint bundle",
            vec!["lint", "--format", "json", bundle],
            None,
        ),
    ];
    runs.into_iter()
        .map(|(name, args, stdin)| (name.to_owned(), pf_with(&args, stdin, &[])))
        .collect()
}

fn report_schema() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&read("schema/report.schema.json")).expect("schema is JSON");
    assert!(
        jsonschema::meta::is_valid(&schema),
        "not a valid JSON Schema"
    );
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, name: &str, value: &Value) {
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{name}: {}\n{value:#}",
        problems.join("\n")
    );
}

#[test]
fn json_reports_validate_against_the_committed_schema() {
    let validator = report_schema();
    let (_dir, bundle) = bundle();
    for (name, o) in json_runs(&bundle) {
        assert!(matches!(code(&o), 0 | 1), "{name}: {}", err(&o));
        let value: Value = serde_json::from_str(&out(&o)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_valid(&validator, &name, &value);
        assert_eq!(value["version"], 1, "{name}");
        let findings = value["findings"].as_array().expect("findings");
        let errors = findings.iter().filter(|f| f["severity"] == "error").count();
        assert_eq!(value["summary"]["errors"], errors, "{name}");
        assert_eq!(
            value["summary"]["warnings"],
            findings.len() - errors,
            "{name}"
        );
        assert_eq!(
            code(&o) == 1,
            errors > 0,
            "{name}: exit code and errors agree"
        );
    }
}

/// The validator is not a rubber stamp: what the schema forbids fails.
#[test]
fn the_report_schema_rejects_malformed_reports() {
    let validator = report_schema();
    let good: Value =
        serde_json::from_str(&out(&pf(&["check", "--format", "json", INVALID]))).expect("JSON");
    assert!(validator.is_valid(&good));
    let mut bad = Vec::new();
    let mut v = good.clone();
    v.as_object_mut().expect("object").remove("version");
    bad.push(v);
    let mut v = good.clone();
    v["findings"][0]["severity"] = "info".into();
    bad.push(v);
    let mut v = good.clone();
    v["findings"][0]["extra"] = 1.into();
    bad.push(v);
    let mut v = good.clone();
    v["findings"][0]["line"] = 0.into();
    bad.push(v);
    let mut v = good;
    v["findings"][0]["code"] = "Not Kebab".into();
    bad.push(v);
    for v in bad {
        assert!(!validator.is_valid(&v), "accepted: {v:#}");
    }
}

fn tools() -> PathBuf {
    Path::new(ROOT).join(".tools")
}

const INSTALL: &str = "run `bash scripts/install-test-tools.sh` (as root) to install the SARIF Multitool and its schema under .tools/";

fn sarif_schema() -> jsonschema::Validator {
    let path = tools().join("node/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the SARIF 2.1.0 schema {} ({e}): {INSTALL}",
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
        "{}",
        path.display()
    );
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

/// Runs the SARIF Multitool's `validate` on a log; it exits 0 whatever it
/// finds, so its `error` lines are the verdict.
fn multitool_errors(dir: &Path, name: &str, sarif: &str) -> Vec<String> {
    let tool = tools().join("bin/sarif-multitool");
    assert!(tool.exists(), "{} is missing: {INSTALL}", tool.display());
    let input = dir.join(format!("{name}.sarif"));
    std::fs::write(&input, sarif).expect("write log");
    let o = Command::new(&tool)
        .args(["validate", "--output"])
        .arg(dir.join(format!("{name}.validation.sarif")))
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}: {INSTALL}", tool.display()));
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && text.contains("Analysis completed successfully"),
        "{name}: the multitool did not run:\n{text}"
    );
    text.lines()
        .filter(|l| l.contains(": error "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn sarif_validates_against_the_sarif_schema_and_the_multitool() {
    let validator = sarif_schema();
    let (dir, bundle) = bundle();
    let runs = [
        (
            "check",
            pf(&[
                "check",
                "--format",
                "sarif",
                INVALID,
                UNKNOWN_KEY,
                "topologies/prod.toml",
            ]),
        ),
        ("lint", pf(&["lint", "--format", "sarif", STACK, GUIDE])),
        ("lint-bundle", pf(&["lint", "--format", "sarif", &bundle])),
    ];
    for (name, o) in &runs {
        let text = out(o);
        let log: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_valid(&validator, name, &log);
        let errors = multitool_errors(dir.path(), name, &text);
        assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
        let run = &log["runs"][0];
        let results = run["results"].as_array().expect("results");
        assert!(!results.is_empty(), "{name}: no results");
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        for r in results {
            let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[index]["id"], r["ruleId"], "{name}");
        }
    }
    // Waivers are suppressions with their reasons, not missing results.
    let log: Value = serde_json::from_str(&out(&runs[2].1)).expect("JSON");
    let suppressed: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert!(!suppressed.is_empty());
    assert!(suppressed.iter().all(|r| {
        r["suppressions"][0]["justification"]
            .as_str()
            .is_some_and(|j| !j.is_empty())
    }));
    // A bad log fails both checks, so they can fail.
    let mut bad = log;
    bad["runs"][0]["results"][0]
        .as_object_mut()
        .expect("result")
        .remove("message");
    assert!(!validator.is_valid(&bad));
    let errors = multitool_errors(dir.path(), "bad", &bad.to_string());
    assert!(
        !errors.is_empty(),
        "the multitool accepted a result without a message"
    );
}

/// JUnit has no schema in a registry; the report is checked structurally:
/// it parses, counts add up, every finding is a case with its file and
/// line, and only what fails the command is a failure.
#[test]
fn junit_is_well_formed_and_counts_add_up() {
    let (_dir, bundle) = bundle();
    for (args, failures_expected) in [
        (
            vec![
                "check",
                "--format",
                "junit",
                INVALID,
                "topologies/prod.toml",
            ],
            1,
        ),
        (
            vec![
                "check",
                "--format",
                "junit",
                "--deny-warnings",
                "topologies/prod.toml",
            ],
            1,
        ),
        (vec!["lint", "--format", "junit", STACK], usize::MAX),
        (vec!["lint", "--format", "junit", &bundle], 0),
    ] {
        let o = pf(&args);
        let text = out(&o);
        let doc =
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let attr = |n: roxmltree::Node<'_, '_>, a: &str| -> usize {
            n.attribute(a)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{a} on {n:?}"))
        };
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        assert!(!suites.is_empty());
        let (mut tests, mut failures) = (0, 0);
        for suite in &suites {
            assert_eq!(suite.tag_name().name(), "testsuite");
            assert!(suite.attribute("name").is_some());
            let cases: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
            assert_eq!(attr(*suite, "tests"), cases.len());
            let failed = cases
                .iter()
                .filter(|c| c.children().any(|n| n.tag_name().name() == "failure"))
                .count();
            assert_eq!(attr(*suite, "failures"), failed);
            for case in &cases {
                assert_eq!(case.tag_name().name(), "testcase");
                assert!(case.attribute("name").is_some() && case.attribute("classname").is_some());
                for f in case.children().filter(|n| n.tag_name().name() == "failure") {
                    assert!(f.attribute("message").is_some() && f.attribute("type").is_some());
                    assert!(f.text().is_some_and(|t| t.contains("-->")), "{f:?}");
                }
            }
            tests += cases.len();
            failures += failed;
        }
        assert_eq!(attr(root, "tests"), tests);
        assert_eq!(attr(root, "failures"), failures);
        if failures_expected == usize::MAX {
            assert!(failures > 0, "{args:?}");
        } else {
            assert_eq!(failures, failures_expected, "{args:?}\n{text}");
        }
        assert_eq!(
            code(&o) == 1,
            failures > 0,
            "{args:?}: exit code and failures agree"
        );
    }
}

#[test]
fn stdin_is_read_under_the_given_name() {
    let text = read(INVALID);
    let o = pf_with(
        &["check", "-", "--stdin-filename", "dir/q.toml"],
        Some(&text),
        &[],
    );
    assert_eq!(code(&o), 1);
    assert!(out(&o).contains("--> dir/q.toml:"), "{}", out(&o));
    let o = pf_with(&["check", "-"], Some(&text), &[]);
    assert!(out(&o).contains("--> <stdin>:"), "{}", out(&o));
    assert_eq!(code(&pf_with(&["check", "-", "-"], Some(&text), &[])), 2);

    // Lint: the name tells the kind; without one, --kind does.
    let stack = read(STACK);
    let o = pf_with(
        &["lint", "-", "--stdin-filename", "docker-compose.yml"],
        Some(&stack),
        &[],
    );
    assert_eq!(code(&o), 1);
    assert!(out(&o).contains("--> docker-compose.yml:"), "{}", out(&o));
    let o = pf_with(&["lint", "-"], Some("server_tokens on;\n"), &[]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--stdin-filename"), "{}", err(&o));
    let o = pf_with(
        &["lint", "--kind", "nginx", "-"],
        Some("http { server_tokens on; }\n"),
        &[],
    );
    assert!(out(&o).contains("--> <stdin>:1:"), "{}", out(&o));
}

#[test]
fn colors_follow_the_option_and_the_environment() {
    let colored = |o: &Output| out(o).contains('\u{1b}');
    let args = ["check", INVALID];
    // Not a terminal: no color by default.
    assert!(!colored(&pf(&args)));
    assert!(colored(&pf(&["check", "--color", "always", INVALID])));
    assert!(colored(&pf_with(&args, None, &[("CLICOLOR_FORCE", "1")])));
    assert!(!colored(&pf_with(
        &args,
        None,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(!colored(&pf_with(
        &["check", "--color", "never", INVALID],
        None,
        &[("CLICOLOR_FORCE", "1")]
    )));
    assert!(colored(&pf_with(
        &["check", "--color", "always", INVALID],
        None,
        &[("NO_COLOR", "1")]
    )));
    // Machine formats never get color.
    assert!(!colored(&pf(&[
        "check", "--color", "always", "--format", "json", INVALID
    ])));
}

#[test]
fn quiet_and_verbose() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("b");
    let target = target.to_string_lossy();
    let o = pf(&["swarm", "-q", "topologies/prod.toml", "-o", &target]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(out(&o), "", "-q writes no `wrote` lines");
    let o = pf(&["swarm", "topologies/prod.toml", "-o", &target]);
    assert!(out(&o).contains("unchanged"), "{}", out(&o));
    let o = pf(&["check", "-q", INVALID]);
    assert!(
        out(&o).contains("error[") && !out(&o).contains("error(s)"),
        "{}",
        out(&o)
    );
    std::fs::write(dir.path().join("b/notes.txt"), "not a config\n").expect("write");
    let o = pf(&["lint", "-v", &target]);
    assert!(err(&o).contains("notes.txt: skipped"), "{}", err(&o));
    let o = pf(&["lint", &target]);
    assert!(!err(&o).contains("skipped"), "{}", err(&o));
    assert_eq!(
        code(&pf(&["check", "-q", "-v", INVALID])),
        2,
        "-q and -v conflict"
    );
}
