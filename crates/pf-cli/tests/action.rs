//! The composite GitHub Action (`action.yml`), run here: its `run:` steps
//! are taken from the file and executed by bash in order, as the runner
//! would, with a fake runner environment (`GITHUB_OUTPUT`, `GITHUB_PATH`,
//! `RUNNER_TEMP`, ...) and the `${{ }}` expressions of `env:` evaluated from
//! the inputs and earlier steps' outputs. `uses:` steps (the cache, the
//! SARIF upload) need GitHub and are not run; what they are given is
//! checked. `cargo` and `docker` are stand-ins on PATH that record how they
//! were called and run the pf-render under test. Every script also passes
//! shellcheck, and no input reaches a script as shell code.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    serde_yaml_ng::from_str(&text).expect("action.yml parses")
}

fn steps(action: &Value) -> &Vec<Value> {
    action["runs"]["steps"].as_sequence().expect("runs.steps")
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// The value of a `${{ ... }}` expression this action uses: `inputs.X`,
/// `steps.ID.outputs.NAME`, or a comparison `inputs.X == 'v'`. Anything
/// else fails the test, so the evaluator cannot silently misread one.
fn eval(
    expr: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let expr = expr.trim();
    if let Some((left, right)) = expr.split_once(" == ") {
        let right = right.trim().trim_matches('\'');
        return (eval(left, inputs, outputs) == right).to_string();
    }
    if let Some(name) = expr.strip_prefix("inputs.") {
        return inputs
            .get(name)
            .unwrap_or_else(|| panic!("no input `{name}`"))
            .clone();
    }
    if let Some(rest) = expr.strip_prefix("steps.") {
        let (id, name) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
        return outputs
            .get(&format!("{id}.{name}"))
            .cloned()
            .unwrap_or_default();
    }
    panic!("the test does not evaluate `{expr}`: extend eval()")
}

/// `text` with every `${{ expr }}` evaluated.
fn substitute(
    text: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        out.push_str(&eval(&rest[start + 3..end], inputs, outputs));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A step's `if:`, when it has one.
fn condition(
    step: &Value,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> bool {
    step.get("if")
        .is_none_or(|c| eval(&str_of(c), inputs, outputs) == "true")
}

/// What one run of the action did.
struct Run {
    /// Exit status of the last step run (0 when every step passed).
    status: i32,
    /// Name of the step that failed, if one did.
    failed: Option<String>,
    /// Everything the steps printed.
    log: String,
    /// `steps.ID.outputs.NAME` values.
    outputs: BTreeMap<String, String>,
    /// The `with:` of each `uses:` step that would run, by the action it uses.
    uses: Vec<(String, BTreeMap<String, String>)>,
    /// Lines the steps added to GITHUB_PATH.
    path_added: Vec<String>,
}

impl Run {
    /// `steps.ID.outputs.NAME` (as `ID.NAME`), or a failure showing the log.
    fn output(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .unwrap_or_else(|| panic!("no output {key}; the steps printed:\n{}", self.log))
    }
}

/// A runner's temp folder, workspace and tools folder for one test.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["temp", "workspace", "fakes"] {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        Self { dir }
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("temp")
    }

    fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    fn fakes(&self) -> PathBuf {
        self.dir.path().join("fakes")
    }

    /// A stand-in program on PATH.
    fn fake(&self, name: &str, script: &str) {
        let path = self.fakes().join(name);
        std::fs::write(&path, script).expect("write fake");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// Runs the action's steps with `given` inputs (the rest default).
    fn run(&self, given: &[(&str, &str)]) -> Run {
        let action = action();
        let mut inputs: BTreeMap<String, String> = action["inputs"]
            .as_mapping()
            .expect("inputs")
            .iter()
            .map(|(k, v)| (str_of(k), v.get("default").map(str_of).unwrap_or_default()))
            .collect();
        for (k, v) in given {
            assert!(inputs.contains_key(*k), "no input `{k}`");
            inputs.insert((*k).to_owned(), (*v).to_owned());
        }
        let github_output = self.temp().join("github_output");
        let github_path = self.temp().join("github_path");
        let mut run = Run {
            status: 0,
            failed: None,
            log: String::new(),
            outputs: BTreeMap::new(),
            uses: Vec::new(),
            path_added: Vec::new(),
        };
        for step in steps(&action) {
            if !condition(step, &inputs, &run.outputs) {
                continue;
            }
            if let Some(uses) = step.get("uses") {
                let with = step
                    .get("with")
                    .and_then(Value::as_mapping)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (str_of(k), substitute(&str_of(v), &inputs, &run.outputs))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                run.uses.push((str_of(uses), with));
                continue;
            }
            let script = str_of(&step["run"]);
            std::fs::write(&github_output, "").expect("reset GITHUB_OUTPUT");
            let path = format!(
                "{}:{}:{}",
                self.fakes().display(),
                run.path_added.join(":"),
                std::env::var("PATH").unwrap_or_default()
            );
            let mut cmd = Command::new("bash");
            cmd.args([
                "--noprofile",
                "--norc",
                "-e",
                "-o",
                "pipefail",
                "-c",
                &script,
            ])
            .current_dir(self.workspace())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("GITHUB_ACTION_PATH", root())
            .env("GITHUB_WORKSPACE", self.workspace())
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_PATH", &github_path)
            .env("RUNNER_TEMP", self.temp())
            .env("RUNNER_OS", "Linux")
            .env("PF_RENDER_UNDER_TEST", env!("CARGO_BIN_EXE_pf-render"));
            if let Some(env) = step.get("env").and_then(Value::as_mapping) {
                for (k, v) in env {
                    cmd.env(str_of(k), substitute(&str_of(v), &inputs, &run.outputs));
                }
            }
            let out = cmd.output().expect("bash runs");
            run.log.push_str(&String::from_utf8_lossy(&out.stdout));
            run.log.push_str(&String::from_utf8_lossy(&out.stderr));
            let id = step.get("id").map(str_of);
            for line in std::fs::read_to_string(&github_output)
                .expect("GITHUB_OUTPUT")
                .lines()
            {
                let (k, v) = line.split_once('=').expect("NAME=value");
                let id = id.as_deref().expect("a step that writes outputs has an id");
                run.outputs.insert(format!("{id}.{k}"), v.to_owned());
            }
            if let Ok(added) = std::fs::read_to_string(&github_path) {
                run.path_added = added.lines().map(str::to_owned).collect();
            }
            run.status = out.status.code().unwrap_or(-1);
            if run.status != 0 {
                run.failed = Some(str_of(&step["name"]));
                break;
            }
        }
        run
    }
}

/// The prod bundle, rendered into the workspace as `deploy/`, with one
/// hand-written Compose file that breaks the catalog.
fn workspace_with_findings(runner: &Runner) {
    let ws = runner.workspace();
    support::prod_and_bundle(&ws, "deploy");
    std::fs::write(
        ws.join("deploy/docker-compose.yml"),
        support::PRIVILEGED_COMPOSE,
    )
    .expect("write compose");
}

/// `pf-render` under test, installed where `cargo install --root R` would put it.
const FAKE_CARGO: &str = r#"#!/bin/bash
printf '%s\n' "$@" >"$RUNNER_TEMP/cargo-args"
root=
while [[ $# -gt 0 ]]; do
  if [[ $1 == --root ]]; then root=$2; fi
  shift
done
mkdir -p "$root/bin"
cp "$PF_RENDER_UNDER_TEST" "$root/bin/pf-render"
"#;

#[test]
fn every_run_step_is_bash_that_passes_shellcheck_and_takes_inputs_only_from_env() {
    let action = action();
    assert_eq!(str_of(&action["runs"]["using"]), "composite");
    let mut scripts = 0;
    for step in steps(&action) {
        let name = str_of(&step["name"]);
        let Some(run) = step.get("run") else {
            assert!(step.get("uses").is_some(), "{name}: neither run nor uses");
            continue;
        };
        scripts += 1;
        let script = str_of(run);
        assert_eq!(str_of(&step["shell"]), "bash", "{name}");
        // An expression in a script is text pasted into shell code: an
        // input (or a file name in one) could run commands.
        assert!(!script.contains("${{"), "{name}: an expression inside run:");
        let out = Command::new("shellcheck")
            .args(["--shell=bash", "--severity=style", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(script.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap_or_else(|e| panic!("shellcheck ({e}): apt-get install shellcheck"));
        assert!(
            out.status.success(),
            "{name}: shellcheck:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(scripts, 4);
    // Every input and step output an expression names exists.
    let inputs = action["inputs"].as_mapping().expect("inputs");
    let text = std::fs::read_to_string(root().join("action.yml")).expect("read");
    for name in text.split("inputs.").skip(1).map(|s| {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .next()
            .unwrap_or("")
    }) {
        assert!(
            inputs.contains_key(Value::String(name.to_owned())),
            "`inputs.{name}` is no input"
        );
    }
}

#[test]
fn lint_installs_with_cargo_fails_on_findings_and_hands_sarif_to_code_scanning() {
    let runner = Runner::new();
    runner.fake("cargo", FAKE_CARGO);
    workspace_with_findings(&runner);
    let run = runner.run(&[("paths", "deploy")]);
    // Installed from the action's own source, into a folder keyed by it.
    let args = std::fs::read_to_string(runner.temp().join("cargo-args")).expect("cargo ran");
    let install_root = run.output("setup.root").to_owned();
    assert!(install_root.starts_with(&runner.temp().display().to_string()));
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "install",
            "--locked",
            "--path",
            &format!("{}/crates/pf-cli", root().display()),
            "--root",
            &install_root,
        ]
    );
    assert_eq!(run.path_added, [format!("{install_root}/bin")]);
    assert!(run.output("setup.key").starts_with("pf-render-Linux-"));
    // The cache step is given the same folder and key.
    let (cache, with) = &run.uses[0];
    assert_eq!(cache, "actions/cache@v4");
    assert_eq!(with["path"], install_root);
    assert_eq!(with["key"], run.output("setup.key"));
    // Findings: annotations in the log, a SARIF log for code scanning, and
    // the job fails at the last step.
    assert_eq!(run.output("run.exit-code"), "1", "{}", run.log);
    assert!(
        run.log
            .contains("::error file=deploy/docker-compose.yml,line=4"),
        "{}",
        run.log
    );
    let sarif_path = runner.workspace().join(run.output("run.sarif-file"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).expect("SARIF written"))
            .expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(
        results.iter().any(|r| r["ruleId"] == "privileged"),
        "{sarif}"
    );
    let (upload, with) = &run.uses[1];
    assert_eq!(upload, "github/codeql-action/upload-sarif@v4");
    assert_eq!(with["sarif_file"], "pf-render.sarif");
    assert_eq!(with["category"], "pf-render");
    assert_eq!(
        run.failed.as_deref(),
        Some("Fail on findings"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("::error title=pf-render::pf-render lint found problems (exit 1)")
    );

    // The next run finds the build in place (restored by the cache) and
    // does not build again; without the hand-written file, it passes.
    std::fs::remove_file(runner.temp().join("cargo-args")).expect("rm");
    std::fs::remove_file(runner.workspace().join("deploy/docker-compose.yml")).expect("rm");
    let run = runner.run(&[("paths", "deploy"), ("upload-sarif", "false")]);
    assert!(!runner.temp().join("cargo-args").exists(), "built again");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.output("run.exit-code"), "0");
    assert!(run.uses.iter().all(|(u, _)| !u.contains("upload-sarif")));
}

#[test]
fn check_from_path_expands_globs_and_passes_arguments() {
    let runner = Runner::new();
    std::fs::write(
        runner.fakes().join("pf-render"),
        format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_pf-render")
        ),
    )
    .expect("write");
    std::fs::set_permissions(
        runner.fakes().join("pf-render"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let ws = runner.workspace();
    std::fs::create_dir_all(ws.join("topologies")).expect("mkdir");
    for name in ["prod.toml", "copy.toml"] {
        std::fs::copy(
            root().join("topologies/prod.toml"),
            ws.join("topologies").join(name),
        )
        .expect("copy");
    }
    let base = [
        ("command", "check"),
        ("install", "path"),
        ("paths", "topologies/*.toml"),
    ];
    // prod has one warning: a pass, unless warnings are denied.
    let run = runner.run(&base);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(
        run.log.matches("::warning file=topologies/").count(),
        2,
        "{}",
        run.log
    );
    let run = runner.run(&[base[0], base[1], base[2], ("args", "--deny-warnings")]);
    assert_eq!(run.output("run.exit-code"), "1", "{}", run.log);
    assert_eq!(run.failed.as_deref(), Some("Fail on findings"));
}

#[test]
fn inputs_are_words_never_shell_code() {
    let runner = Runner::new();
    runner.fake("cargo", FAKE_CARGO);
    let marker = runner.dir.path().join("pwned");
    let hostile = format!("$(touch {m}) `touch {m}`; touch {m}", m = marker.display());
    let run = runner.run(&[("paths", &hostile), ("args", &hostile)]);
    assert!(!marker.exists(), "an input ran as a command:\n{}", run.log);
    // The words reached pf-render as arguments: a usage error, nothing to upload.
    assert_eq!(run.output("run.exit-code"), "2", "{}", run.log);
    assert_eq!(run.failed.as_deref(), Some("Run pf-render"));
    assert!(run.uses.iter().all(|(u, _)| !u.contains("upload-sarif")));
}

#[test]
fn bad_inputs_stop_before_anything_is_installed() {
    let runner = Runner::new();
    runner.fake("cargo", FAKE_CARGO);
    for (given, message) in [
        (
            ("command", "deploy"),
            "command must be check or lint, not 'deploy'",
        ),
        (
            ("install", "brew"),
            "install must be cargo, path or image, not 'brew'",
        ),
        (("install", "image"), "install: image needs the image input"),
    ] {
        let run = runner.run(&[given]);
        assert_eq!(
            run.failed.as_deref(),
            Some("Check the inputs"),
            "{}",
            run.log
        );
        assert_eq!(run.status, 2);
        assert!(run.log.contains(message), "{}", run.log);
        assert!(!runner.temp().join("cargo-args").exists());
    }
}

#[test]
fn the_image_runs_as_the_runner_user_with_the_workspace_at_its_own_path() {
    let runner = Runner::new();
    // `docker run --rm -u U:G -v A:B -w DIR IMAGE ARGS...` runs ARGS with
    // the binary under test in DIR; every call is recorded.
    runner.fake(
        "docker",
        r#"#!/bin/bash
printf '%s\n' "$*" >>"$RUNNER_TEMP/docker-calls"
case $1 in
  image) exit 0 ;;
  run)
    shift
    dir=$PWD
    while [[ $1 == -* ]]; do
      case $1 in
        --rm) shift ;;
        -w) dir=$2; shift 2 ;;
        *) shift 2 ;;
      esac
    done
    shift # the image
    cd "$dir" && exec "$PF_RENDER_UNDER_TEST" "$@"
    ;;
esac
exit 1
"#,
    );
    workspace_with_findings(&runner);
    let run = runner.run(&[
        ("install", "image"),
        ("image", "pf-render:0.1.0"),
        ("paths", "deploy"),
        ("upload-sarif", "false"),
    ]);
    assert_eq!(run.output("run.exit-code"), "1", "{}", run.log);
    let calls = std::fs::read_to_string(runner.temp().join("docker-calls")).expect("docker ran");
    let ws = runner.workspace().display().to_string();
    let user = format!(
        "{}:{}",
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw()
    );
    assert!(
        calls.starts_with("image inspect pf-render:0.1.0\nrun --rm pf-render:0.1.0 --version\n"),
        "{calls}"
    );
    assert!(
        calls.contains(&format!(
            "run --rm -u {user} -v {ws}:{ws} -w {ws} pf-render:0.1.0 -q lint --format sarif -- deploy"
        )),
        "{calls}"
    );
    assert!(run.path_added.is_empty());
}

/// The YAML code blocks of a Markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The repository as `cargo metadata` names it (`owner/name`).
fn repository() -> String {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let url = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .expect("workspace repository")
        .trim_matches('"');
    url.strip_prefix("https://github.com/")
        .expect("a GitHub repository")
        .to_owned()
}

/// The workflows in docs/ci.md parse, use this action by the repository's
/// name, and give it only inputs it has.
#[test]
fn the_documented_workflows_use_the_action_as_it_is() {
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    let action = action();
    let inputs = action["inputs"].as_mapping().expect("inputs");
    let name = repository();
    let mut uses_found = 0;
    for block in yaml_blocks(&docs) {
        let doc: Value =
            serde_yaml_ng::from_str(&block).unwrap_or_else(|e| panic!("{e}:\n{block}"));
        let Some(jobs) = doc.get("jobs").and_then(Value::as_mapping) else {
            continue;
        };
        for job in jobs.values() {
            for step in job["steps"].as_sequence().expect("steps") {
                let Some(uses) = step.get("uses").map(str_of) else {
                    continue;
                };
                if uses.starts_with("actions/") {
                    continue;
                }
                let (repo, version) = uses.split_once('@').expect("uses: owner/name@ref");
                assert_eq!(repo, name, "docs name another repository");
                assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
                uses_found += 1;
                for key in step["with"].as_mapping().expect("with").keys() {
                    assert!(inputs.contains_key(key), "`{}` is no input", str_of(key));
                }
            }
        }
    }
    assert!(
        uses_found >= 2,
        "{uses_found} uses of the action in docs/ci.md"
    );
}
