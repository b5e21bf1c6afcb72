//! `.pf-lint.toml` (discovered upward or named with `--config`),
//! `--ignore` and `--exclude`, and nginx `include`s followed within the
//! linted folder.

use std::path::Path;
use std::process::{Command, Output};

const STACK: &str = include_str!("../../pf-lint/tests/fixtures/hand-written-stack.yml");
const GOOD_HTTP: &str = "server_tokens off;\nclient_header_timeout 10s;\nclient_body_timeout 10s;\nkeepalive_timeout 10s;\nsend_timeout 10s;\nclient_max_body_size 1m;\n";

fn pf(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("pf-render runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&out(o)).unwrap_or_else(|e| panic!("{e}\n{}{}", out(o), err(o)))
}

fn codes(o: &Output) -> Vec<String> {
    json(o)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

#[test]
fn the_nearest_configuration_applies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "app/deploy/docker-compose.yml", STACK);
    let args = ["lint", "--format", "json", "app/deploy/docker-compose.yml"];
    let before = codes(&pf(root, &args));
    assert!(before.iter().any(|c| c == "env-secret-value"), "{before:?}");

    // Found two folders up; a rule off, another one's severity raised.
    write(
        root,
        ".pf-lint.toml",
        "ignore = [\"env-secret-value\"]\n[severity]\ncapabilities-not-dropped = \"error\"\n",
    );
    let o = pf(root, &args);
    let after = codes(&o);
    assert!(!after.iter().any(|c| c == "env-secret-value"), "{after:?}");
    let report = json(&o);
    let ignored = before.iter().filter(|c| *c == "env-secret-value").count();
    assert_eq!(report["files"][0]["ignored"], ignored);
    let raised = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "capabilities-not-dropped")
        .expect("capabilities-not-dropped");
    assert_eq!(raised["severity"], "error");

    // A nearer one wins; --config names one instead of discovery.
    write(root, "app/.pf-lint.toml", "ignore = []\n");
    assert_eq!(codes(&pf(root, &args)), before);
    write(root, "other.toml", "ignore = [\"env-secret-value\"]\n");
    let mut with = vec!["lint", "--config", "other.toml"];
    with.extend_from_slice(&args[1..]);
    assert!(
        !codes(&pf(root, &with))
            .iter()
            .any(|c| c == "env-secret-value")
    );

    // -v names the configuration used.
    let o = pf(root, &["lint", "-v", "app/deploy/docker-compose.yml"]);
    assert!(
        err(&o).contains("using the lint configuration app/.pf-lint.toml"),
        "{}",
        err(&o)
    );
}

#[test]
fn unknown_rules_are_located_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "docker-compose.yml", STACK);
    write(
        root,
        ".pf-lint.toml",
        "ignore = [\"env-secret-valu\"]\n[per-file-ignores]\n\"*.yml\" = [\"no-such-rule\"]\n",
    );
    let o = pf(root, &["lint", "docker-compose.yml"]);
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    let e = err(&o);
    assert!(
        e.contains("error[lint-config-unknown-rule]: unknown rule `env-secret-valu`"),
        "{e}"
    );
    assert!(e.contains("--> .pf-lint.toml:1:11"), "{e}");
    assert!(e.contains("did you mean `env-secret-value`?"), "{e}");
    assert!(e.contains("--> .pf-lint.toml:3:12"), "{e}");
    assert_eq!(out(&o), "", "nothing is linted");
    write(root, ".pf-lint.toml", "ignores = []\n");
    let o = pf(root, &["lint", "docker-compose.yml"]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("error[lint-config-invalid]"),
        "{}",
        err(&o)
    );
}

#[test]
fn excludes_and_per_file_ignores() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "deploy/docker-compose.yml", STACK);
    write(root, "deploy/vendor/docker-compose.yml", STACK);
    write(root, "deploy/legacy/docker-compose.yml", STACK);
    write(
        root,
        "deploy/.pf-lint.toml",
        "exclude = [\"vendor/**\"]\n[per-file-ignores]\n\"legacy/*.yml\" = [\"env-secret-value\"]\n",
    );
    let o = pf(root, &["lint", "-v", "--format", "json", "deploy"]);
    let report = json(&o);
    let files: Vec<&str> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["file"].as_str().expect("file"))
        .collect();
    assert_eq!(
        files,
        [
            "deploy/docker-compose.yml",
            "deploy/legacy/docker-compose.yml"
        ]
    );
    assert!(
        err(&o).contains("deploy/vendor/docker-compose.yml: excluded by the lint configuration"),
        "{}",
        err(&o)
    );
    let secret_in = |file: &str| {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "env-secret-value" && f["file"] == file)
    };
    assert!(secret_in("deploy/docker-compose.yml"));
    assert!(!secret_in("deploy/legacy/docker-compose.yml"));

    // The command line: --exclude (relative to here) and --ignore.
    let o = pf(
        root,
        &[
            "lint",
            "--format",
            "json",
            "--exclude",
            "deploy/legacy/**",
            "--ignore",
            "env-secret-value",
            "deploy",
        ],
    );
    let report = json(&o);
    assert_eq!(report["files"].as_array().map(Vec::len), Some(1));
    assert!(!codes(&o).iter().any(|c| c == "env-secret-value"));
    let o = pf(root, &["lint", "--ignore", "env-secret-valu", "deploy"]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("did you mean `env-secret-value`?"),
        "{}",
        err(&o)
    );
    // Excluding every named file lints nothing, successfully (pre-commit passes names).
    let o = pf(
        root,
        &["lint", "--exclude", "**", "deploy/docker-compose.yml"],
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
}

#[cfg(unix)]
#[test]
fn nginx_includes_are_followed_within_the_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "outside.conf", GOOD_HTTP);
    write(root, "site/snippets/hardening.conf", GOOD_HTTP);
    std::os::unix::fs::symlink("snippets/hardening.conf", root.join("site/link.conf"))
        .expect("symlink");
    write(
        root,
        "site/nginx.conf",
        "events {}\nhttp {\n  include snippets/*.conf;\n  include /etc/nginx/mime.types;\n  include ../outside.conf;\n  include link.conf;\n  include missing.conf;\n}\n",
    );
    for target in ["site", "site/nginx.conf"] {
        let o = pf(root, &["lint", "--format", "json", target]);
        let report = json(&o);
        let found: Vec<(String, u64, String)> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().expect("code").to_owned(),
                    f["line"].as_u64().expect("line"),
                    f["message"].as_str().expect("message").to_owned(),
                )
            })
            .collect();
        // The snippet's hardening counts: no server_tokens or timeout finding.
        assert!(
            found
                .iter()
                .all(|(c, _, _)| c == "nginx-include-not-checked"),
            "{target}: {found:#?}"
        );
        let lines: Vec<u64> = found.iter().map(|(_, l, _)| *l).collect();
        assert_eq!(lines, [4, 5, 6, 7], "{target}: {found:#?}");
        assert!(
            found[1].2.contains("outside the linted folder"),
            "{found:#?}"
        );
        assert!(found[2].2.contains("symbolic link"), "{found:#?}");
        assert!(found[3].2.contains("no file"), "{found:#?}");
    }
    // Without the snippet, the hardening is missing.
    std::fs::remove_file(root.join("site/snippets/hardening.conf")).expect("rm");
    let o = pf(root, &["lint", "--format", "json", "site/nginx.conf"]);
    assert!(
        codes(&o).iter().any(|c| c == "nginx-server-tokens"),
        "{}",
        out(&o)
    );
}
