//! Focused tests of the `pf-render` binary: exit codes, exact locations,
//! the three output formats, several files at once, `explain`, `schema`
//! and `--help`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use pf_model::Code;
use tempfile::TempDir;

/// The workspace root; `topologies/prod.toml` is relative to it.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const PROD: &str = "topologies/prod.toml";

fn pf_render(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pf-render runs")
}

/// Runs in the workspace root.
fn pf(args: &[&str]) -> Output {
    pf_render(Path::new(ROOT), args)
}

fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("pf-render exited (was not killed by a signal)")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn prod_text() -> String {
    std::fs::read_to_string(Path::new(ROOT).join(PROD)).expect("read topologies/prod.toml")
}

/// `text` with `old` (which must occur exactly once) replaced by `new`.
fn edit(text: &str, old: &str, new: &str) -> String {
    assert_eq!(
        text.matches(old).count(),
        1,
        "`{old}` must occur exactly once in prod.toml"
    );
    text.replacen(old, new, 1)
}

/// The 1-based line and column (in characters) where `needle`, which must
/// occur exactly once, starts in `text`.
fn position(text: &str, needle: &str) -> (u64, u64) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "`{needle}` must occur exactly once"
    );
    let offset = text.find(needle).expect("present");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line as u64, column as u64)
}

/// A topology written into its own temporary directory.
struct TempTopology {
    dir: TempDir,
    name: &'static str,
    text: String,
}

impl TempTopology {
    fn new(name: &'static str, text: String) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        std::fs::write(dir.path().join(name), &text).expect("write the topology");
        Self { dir, name, text }
    }

    fn path(&self) -> String {
        self.dir.path().join(self.name).display().to_string()
    }

    /// Runs `pf-render check [args] <name>` in the temporary directory.
    fn check(&self, args: &[&str]) -> Output {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        all.push(self.name);
        pf_render(self.dir.path(), &all)
    }
}

/// The diagnostics of `--format json` output (its `findings`).
fn json_diagnostics(output: &Output) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let text = stdout(output);
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("--format json is not JSON ({e}):\n{text}"));
    assert_eq!(value["version"], 1, "{text}");
    let Some(serde_json::Value::Array(items)) = value.get("findings").cloned() else {
        panic!("--format json has no `findings` array:\n{text}");
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::Object(map) => map,
            other => panic!("a diagnostic is not an object: {other}"),
        })
        .collect()
}

/// Asserts that `topology` reports exactly one error, `code`, at `needle`,
/// in both the human and the JSON output.
fn assert_single_error_at(topology: &TempTopology, code: Code, needle: &str) {
    let (line, column) = position(&topology.text, needle);

    let human = topology.check(&[]);
    assert_eq!(exit_code(&human), 1, "{}", stdout(&human));
    let text = stdout(&human);
    assert_eq!(text.matches("error[").count(), 1, "{text}");
    assert!(
        text.contains(&format!("error[{code}]: ")),
        "expected error[{code}]:\n{text}"
    );
    let arrow = format!("--> {}:{line}:{column}\n", topology.name);
    assert!(
        text.contains(&arrow),
        "expected `{arrow}` (the position of `{needle}`) in:\n{text}"
    );

    let json = topology.check(&["--format", "json"]);
    assert_eq!(exit_code(&json), 1);
    let errors: Vec<_> = json_diagnostics(&json)
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert_eq!(error["code"], code.name());
    assert_eq!(error["file"], topology.name);
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(line), Some(column))
    );
}

#[test]
fn prod_topology_is_valid() {
    let output = pf(&["check", PROD]);
    assert_eq!(
        exit_code(&output),
        0,
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let text = stdout(&output);
    assert!(!text.contains("error["), "{text}");
    assert!(text.contains(&format!("{PROD}: 0 error(s), ")), "{text}");
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn a_missing_file_exits_2_and_is_named() {
    let output = pf(&["check", "topologies/no-such-topology.toml"]);
    assert_eq!(exit_code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("topologies/no-such-topology.toml"),
        "stderr does not name the file:\n{err}"
    );
    assert!(!stdout(&output).contains("error["), "{}", stdout(&output));
}

#[test]
fn a_directory_is_an_io_error() {
    let output = pf(&["check", "topologies"]);
    assert_eq!(exit_code(&output), 2, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("topologies"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unknown_key_in_sentinel_is_located() {
    let text = edit(
        &prod_text(),
        "[redis.sentinel]\n",
        "[redis.sentinel]\nqourum = 2\n",
    );
    let topology = TempTopology::new("unknown-key.toml", text);
    assert_single_error_at(&topology, Code::UnknownKey, "qourum = 2");
    let human = stdout(&topology.check(&[]));
    assert!(human.contains("unknown key `qourum`"), "{human}");
    assert!(human.contains("did you mean `quorum`?"), "{human}");
}

#[test]
fn bad_duration_is_located_at_its_value() {
    let text = edit(&prod_text(), "down-after = \"5s\"", "down-after = \"5 s\"");
    let topology = TempTopology::new("bad-duration.toml", text);
    assert_single_error_at(&topology, Code::InvalidValue, "\"5 s\"");
    let human = stdout(&topology.check(&[]));
    assert!(human.contains("invalid duration `5 s`"), "{human}");
}

#[test]
fn quorum_above_sentinel_count_is_located() {
    let text = edit(&prod_text(), "quorum = 2", "quorum = 4");
    assert!(
        text.contains("count = 3"),
        "the test assumes prod.toml runs 3 Sentinels"
    );
    let topology = TempTopology::new("quorum.toml", text);
    assert_single_error_at(&topology, Code::SentinelQuorumOutOfRange, "quorum = 4");
    let json = json_diagnostics(&topology.check(&["--format", "json"]));
    let error = json
        .iter()
        .find(|d| d["severity"] == "error")
        .expect("one error");
    assert_eq!(error["path"], "redis.sentinel.quorum");
    assert!(
        error["help"]
            .as_str()
            .is_some_and(|h| h.contains("between 1 and 3")),
        "{error:?}"
    );
}

#[test]
fn json_objects_have_exactly_the_documented_keys() {
    let invalid = TempTopology::new(
        "quorum.toml",
        edit(&prod_text(), "quorum = 2", "quorum = 4"),
    );
    let output = pf(&["check", "--format", "json", PROD, &invalid.path()]);
    assert_eq!(exit_code(&output), 1);
    let diagnostics = json_diagnostics(&output);
    assert!(
        diagnostics.len() >= 2,
        "prod.toml's warning and the quorum error: {diagnostics:?}"
    );
    let expected: BTreeSet<&str> = [
        "file", "line", "column", "severity", "code", "message", "help", "path",
    ]
    .into();
    for d in &diagnostics {
        let keys: BTreeSet<&str> = d.keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "{d:?}");
        assert!(d["line"].as_u64().is_some_and(|n| n >= 1), "{d:?}");
        assert!(d["column"].as_u64().is_some_and(|n| n >= 1), "{d:?}");
        assert!(
            matches!(d["severity"].as_str(), Some("error" | "warning")),
            "{d:?}"
        );
        let code = d["code"].as_str().expect("code is a string");
        assert!(code.parse::<Code>().is_ok(), "unknown code {code}");
        assert!(
            d["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{d:?}"
        );
        assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()), "{d:?}");
        assert!(d["path"].is_string(), "{d:?}");
    }
    let severities: BTreeSet<&str> = diagnostics
        .iter()
        .filter_map(|d| d["severity"].as_str())
        .collect();
    assert_eq!(severities, ["error", "warning"].into());
}

#[test]
fn json_of_a_clean_topology_has_no_findings() {
    // prod.toml's one warning is 3 tries for the 2 frontends.
    let clean = TempTopology::new(
        "clean.toml",
        edit(
            &prod_text(),
            "next-upstream-tries = 3",
            "next-upstream-tries = 2",
        ),
    );
    let output = clean.check(&["--format", "json", "--deny-warnings"]);
    assert_eq!(exit_code(&output), 0, "{}", stdout(&output));
    assert!(json_diagnostics(&output).is_empty());
}

/// `^::(error|warning) file=[^,]+,line=\d+,col=\d+,title=[a-z-]+::.+$`
fn is_github_annotation(line: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (end > 0).then(|| &s[end..])
    }
    fn parse(line: &str) -> Option<()> {
        let rest = line.strip_prefix("::")?;
        let rest = rest
            .strip_prefix("error ")
            .or_else(|| rest.strip_prefix("warning "))?;
        let rest = rest.strip_prefix("file=")?;
        let (file, rest) = rest.split_once(',')?;
        if file.is_empty() || file.contains('\n') {
            return None;
        }
        let rest = digits(rest.strip_prefix("line=")?)?;
        let rest = digits(rest.strip_prefix(",col=")?)?;
        let rest = rest.strip_prefix(",title=")?;
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
        if end == 0 {
            return None;
        }
        let data = rest[end..].strip_prefix("::")?;
        (!data.is_empty() && !data.contains(['\n', '\r'])).then_some(())
    }
    parse(line).is_some()
}

#[test]
fn github_matcher_accepts_and_rejects() {
    assert!(is_github_annotation(
        "::error file=a.toml,line=3,col=1,title=toml-syntax::bad"
    ));
    assert!(is_github_annotation(
        "::warning file=x/y z.toml,line=10,col=22,title=lb-tls-off::m (help: h)"
    ));
    for bad in [
        "::notice file=a.toml,line=3,col=1,title=x::m",
        "::error file=,line=3,col=1,title=x::m",
        "::error file=a.toml,line=,col=1,title=x::m",
        "::error file=a.toml,line=3,col=1,title=X::m",
        "::error file=a.toml,line=3,col=1,title=x::",
        "error file=a.toml,line=3,col=1,title=x::m",
    ] {
        assert!(!is_github_annotation(bad), "{bad}");
    }
}

#[test]
fn github_format_is_one_annotation_per_line() {
    let quorum = TempTopology::new(
        "quorum.toml",
        edit(&prod_text(), "quorum = 2", "quorum = 4"),
    );
    let syntax = TempTopology::new(
        "syntax.toml",
        edit(&prod_text(), "[monitoring]", "[monitoring"),
    );
    let output = pf(&[
        "check",
        "--format",
        "github",
        PROD,
        &quorum.path(),
        &syntax.path(),
    ]);
    assert_eq!(exit_code(&output), 1);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    // prod.toml's warning, then the quorum file's warning and error, then the syntax error.
    assert_eq!(lines.len(), 4, "{text}");
    for line in &lines {
        assert!(is_github_annotation(line), "not a workflow command: {line}");
    }
    assert!(lines.iter().any(|l| l.starts_with("::warning ")), "{text}");
    let (line, column) = position(&quorum.text, "quorum = 4");
    let expected = format!(",line={line},col={column},title=sentinel-quorum-out-of-range::");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error ") && l.contains(&expected)),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("title=toml-syntax::")),
        "{text}"
    );
}

#[test]
fn deny_warnings_fails_on_prod_warning() {
    let output = pf(&["check", "--deny-warnings", PROD]);
    assert_eq!(exit_code(&output), 1, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("warning["), "{text}");
    assert!(!text.contains("error["), "{text}");
}

#[test]
fn valid_and_invalid_files_are_both_reported() {
    let invalid = TempTopology::new(
        "quorum.toml",
        edit(&prod_text(), "quorum = 2", "quorum = 4"),
    );
    let path = invalid.path();
    let output = pf(&["check", PROD, &path]);
    assert_eq!(exit_code(&output), 1, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("{PROD}: 0 error(s), 1 warning(s)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{path}: 1 error(s), 1 warning(s)")),
        "{text}"
    );
    assert!(text.contains(&format!("--> {path}:")), "{text}");
    assert!(
        text.contains("error[sentinel-quorum-out-of-range]"),
        "{text}"
    );
}

#[test]
fn a_missing_file_among_valid_ones_exits_2() {
    let output = pf(&["check", PROD, "topologies/no-such-topology.toml"]);
    assert_eq!(exit_code(&output), 2);
    assert!(
        stderr(&output).contains("topologies/no-such-topology.toml"),
        "{}",
        stderr(&output)
    );
    // The readable file is still checked and reported.
    assert!(
        stdout(&output).contains(&format!("{PROD}: 0 error(s)")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_io_error_outranks_findings() {
    let invalid = TempTopology::new(
        "quorum.toml",
        edit(&prod_text(), "quorum = 2", "quorum = 4"),
    );
    let output = pf(&["check", &invalid.path(), "topologies/no-such-topology.toml"]);
    assert_eq!(exit_code(&output), 2);
    assert!(
        stdout(&output).contains("error[sentinel-quorum-out-of-range]"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn explain_prints_the_documentation() {
    let output = pf(&["explain", "sentinel-quorum-out-of-range"]);
    assert_eq!(exit_code(&output), 0);
    let text = stdout(&output);
    let code = Code::SentinelQuorumOutOfRange;
    assert!(
        text.starts_with("sentinel-quorum-out-of-range (error)"),
        "{text}"
    );
    assert!(text.contains(code.description()), "{text}");
    assert!(text.contains(code.explanation()), "{text}");
}

#[test]
fn explain_of_an_unknown_code_exits_2() {
    let output = pf(&["explain", "no-such-code"]);
    assert_eq!(exit_code(&output), 2);
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("no-such-code"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn explain_all_lists_every_code() {
    let output = pf(&["explain", "--all"]);
    assert_eq!(exit_code(&output), 0);
    let text = stdout(&output);
    for code in Code::ALL {
        assert!(text.contains(&format!("### `{code}`")), "{code} missing");
    }
}

#[test]
fn schema_is_json() {
    let output = pf(&["schema"]);
    assert_eq!(exit_code(&output), 0);
    let schema: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("the schema is JSON");
    let properties = schema["properties"]
        .as_object()
        .expect("the schema has properties");
    for key in [
        "name",
        "network",
        "capacity",
        "load-balancer",
        "services",
        "postgres",
        "redis",
        "secrets",
    ] {
        assert!(properties.contains_key(key), "schema lacks `{key}`");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["check", "--help"][..]] {
        let output = pf(args);
        assert_eq!(exit_code(&output), 0, "{args:?}");
        let text = stdout(&output);
        assert!(text.contains("Exit status"), "{args:?}:\n{text}");
        for code in ["0", "1", "2"] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code}  "))),
                "{args:?}: exit code {code} is not documented:\n{text}"
            );
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["check"][..],
        &["check", "--format", "xml", PROD][..],
        &["frobnicate"][..],
        &[][..],
    ] {
        let output = pf(args);
        assert_eq!(exit_code(&output), 2, "{args:?}: {}", stderr(&output));
    }
}
