//! `pf-render completions SHELL` and `pf-render man`: the scripts load in
//! the real shells and complete what a person types, and every man page
//! renders in groff without a warning. bash, zsh, fish and groff are
//! needed (scripts/install-test-tools.sh installs them); a missing one
//! fails the test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{code, pf, stderr, stdout};

/// Runs `program ARGS`, or fails saying how to install it.
fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_remove("BASH_ENV")
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): install it with `apt-get install {}` \
                 (scripts/install-test-tools.sh does)",
                if program == "groff" {
                    "groff-base"
                } else {
                    program
                }
            )
        })
}

/// The completion script for `shell`, written into `dir`.
fn script(dir: &Path, shell: &str) -> PathBuf {
    let out = pf().args(["completions", shell]).output().expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let path = dir.join(format!("pf-render.{shell}"));
    std::fs::write(&path, &out.stdout).expect("write script");
    path
}

/// What bash completes for the words of `line` (the last one being
/// completed, empty after a trailing space), with the function that
/// `complete -p pf-render` names, as bash calls it on TAB.
fn bash_complete(script: &Path, line: &str) -> Vec<String> {
    let program = r#"source "$1"
spec=$(complete -p pf-render) || exit 3
fn=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
read -r -a COMP_WORDS <<<"$2"
[[ $2 == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
"$fn" pf-render "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = tool(
        "bash",
        &[
            "--norc",
            "-c",
            program,
            "bash",
            &script.display().to_string(),
            line,
        ],
    );
    assert!(out.status.success(), "bash: {}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

#[test]
fn bash_registers_the_command_and_completes_commands_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = script(dir.path(), "bash");
    let out = tool(
        "bash",
        &[
            "--norc",
            "-c",
            "source \"$1\" && complete -p pf-render",
            "bash",
            &script.display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let spec = stdout(&out);
    assert!(
        spec.starts_with("complete ")
            && spec.contains(" -F ")
            && spec.trim_end().ends_with(" pf-render"),
        "{spec}"
    );
    assert_eq!(bash_complete(&script, "pf-render sw"), ["swarm"]);
    assert_eq!(
        bash_complete(&script, "pf-render c"),
        ["check", "compose", "completions"]
    );
    // Options and values of a subcommand (clap-rs/clap#6421 broke these
    // for hyphenated commands; see shell.rs).
    assert_eq!(
        bash_complete(&script, "pf-render lint --format "),
        ["human", "json", "github", "sarif", "junit"]
    );
    assert_eq!(
        bash_complete(&script, "pf-render check --deny"),
        ["--deny-warnings"]
    );
    let shells = bash_complete(&script, "pf-render completions ");
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(
            shells.iter().any(|s| s == shell),
            "{shell} not in {shells:?}"
        );
    }
    assert_eq!(bash_complete(&script, "pf-render completions z"), ["zsh"]);
}

#[test]
fn fish_completes_commands_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = script(dir.path(), "fish");
    let complete = |line: &str| -> Vec<String> {
        let out = tool(
            "fish",
            &[
                "--no-config",
                "-c",
                "source $argv[1]; complete -C $argv[2]",
                &script.display().to_string(),
                line,
            ],
        );
        assert!(out.status.success(), "fish: {}", stderr(&out));
        // `candidate<TAB>description`.
        stdout(&out)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(complete("pf-render sw"), ["swarm"]);
    assert_eq!(complete("pf-render lint --format s"), ["sarif"]);
    assert!(complete("pf-render check --").contains(&"--deny-warnings".to_owned()));
}

#[test]
fn zsh_loads_the_script_as_the_completion_of_pf_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = script(dir.path(), "zsh");
    let path = script.display().to_string();
    let out = tool("zsh", &["-n", &path]);
    assert!(out.status.success(), "zsh -n: {}", stderr(&out));
    // compinit, then the script as a file on the command line: it registers
    // its function for pf-render with compdef.
    let out = tool(
        "zsh",
        &[
            "-f",
            "-c",
            "autoload -U compinit && compinit -u -D && source $1 && print -r -- $_comps[pf-render] && whence -w _pf-render",
            "zsh",
            &path,
        ],
    );
    assert!(out.status.success(), "zsh: {}", stderr(&out));
    assert_eq!(stdout(&out), "_pf-render\n_pf-render: function\n");
    let text = std::fs::read_to_string(&script).expect("read");
    for command in ["check", "swarm", "compose", "lint", "drill", "man"] {
        assert!(text.contains(&format!("'{command}:")), "{command} missing");
    }
}

/// `pf-render man [COMMAND]` through groff, with every warning on.
fn groff(args: &[&str]) -> (String, String) {
    let page = pf().arg("man").args(args).output().expect("run");
    assert_eq!(code(&page), 0, "{}", stderr(&page));
    let mut child = Command::new("groff")
        // Plain text: no overstriking for bold and underline.
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run groff ({e}): `apt-get install groff-base` (scripts/install-test-tools.sh does)")
        });
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &page.stdout)
        .expect("feed groff");
    let out = child.wait_with_output().expect("groff");
    assert!(out.status.success(), "groff: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

#[test]
fn every_man_page_renders_without_a_warning() {
    let (main, warnings) = groff(&[]);
    assert_eq!(warnings, "", "pf-render(1)");
    assert!(main.contains("NAME"), "{main}");
    assert!(main.contains(&format!("pf-render {}", env!("CARGO_PKG_VERSION"))));
    // Every command named in SUBCOMMANDS has its own page.
    let commands: Vec<String> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pf-render-"))
        .filter_map(|l| l.strip_suffix("(1)"))
        .map(str::to_owned)
        .collect();
    for expected in [
        "check",
        "swarm",
        "compose",
        "lint",
        "drill",
        "inspect",
        "completions",
        "man",
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} not in {commands:?}"
        );
    }
    for command in &commands {
        let (page, warnings) = groff(&[command]);
        assert_eq!(warnings, "", "pf-render-{command}(1)");
        // groff justifies lines: compare words.
        let words = page.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains(&format!("NAME pf-render-{command} - ")),
            "pf-render-{command}(1):\n{page}"
        );
    }
    let (check, _) = groff(&["check"]);
    assert!(check.contains("--deny-warnings"), "{check}");
}

#[test]
fn man_of_an_unknown_command_is_a_usage_error() {
    let out = pf().args(["man", "nope"]).output().expect("run");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no command `nope`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
}
