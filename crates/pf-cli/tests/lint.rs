//! `pf-render lint` on hand-written files (the HA guide's snippets and a
//! guide-style Compose file), on a generated bundle, and its formats,
//! exit codes and `explain`.

use std::path::Path;
use std::process::{Command, Output};

/// The workspace root; fixture paths are relative to it, so reports name
/// them the same way on every machine.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const FIXTURES: &str = "crates/pf-lint/tests/fixtures";

fn pf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .expect("pf-render runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// The 1-based line of the `nth` (0-based) line of a fixture containing `needle`.
fn line_of(name: &str, needle: &str, nth: usize) -> u64 {
    let text = std::fs::read_to_string(Path::new(ROOT).join(fixture(name))).expect("fixture");
    let found: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    *found
        .get(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in {name}")) as u64
}

/// `(code, line)` of every finding, from the JSON report.
fn findings(args: &[&str]) -> Vec<(String, u64)> {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let out = pf(&all);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_owned(),
                f["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

fn assert_found(found: &[(String, u64)], code: &str, line: u64) {
    assert!(
        found.contains(&(code.to_owned(), line)),
        "{code} at line {line} not found in {found:?}"
    );
}

#[test]
fn the_guide_style_compose_file_as_a_swarm_stack() {
    let file = fixture("guide-compose.ha.yml");
    let out = pf(&["lint", &file]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!("guide-compose-swarm", stdout(&out));

    let f = findings(&[&file]);
    let name = "guide-compose.ha.yml";
    let service = |s: &str| line_of(name, &format!("  {s}:"), 0);
    // Missing limits: on the service, or on `limits:` when it exists.
    assert_found(&f, "memory-limit-missing", service("nginx-lb"));
    assert_found(&f, "memory-limit-missing", service("backend2"));
    assert_found(&f, "pids-limit-missing", line_of(name, "limits:", 0));
    assert!(!f.contains(&("memory-limit-missing".into(), line_of(name, "limits:", 0))));
    // Missing health checks.
    assert_found(&f, "healthcheck-missing", service("nginx-lb"));
    assert_found(&f, "healthcheck-missing", service("redis-master"));
    assert!(!f.contains(&("healthcheck-missing".into(), service("postgres-primary"))));
    // Secrets in the environment, in URLs and on the command line.
    assert_found(&f, "env-secret-value", line_of(name, "REDIS_PASSWORD=", 0));
    assert_found(&f, "env-secret-value", line_of(name, "SECRET_KEY=", 1));
    assert_found(
        &f,
        "env-secret-value",
        line_of(name, "POSTGRES_PASSWORD:", 0),
    );
    assert_found(&f, "credentials-in-url", line_of(name, "DATABASE_URL=", 0));
    assert_found(&f, "secret-in-command", line_of(name, "--requirepass", 0));
    // Keys `docker stack deploy` ignores.
    for key in ["container_name:", "restart:", "depends_on:"] {
        assert_found(&f, "key-ignored-by-stack-deploy", line_of(name, key, 0));
    }
    // And the rest of the HA picture.
    assert_found(&f, "too-few-sentinels", service("redis-sentinel-1"));
    assert_found(&f, "ports-published-by-non-lb", line_of(name, "ports:", 1));
    assert_found(
        &f,
        "image-tag-floating",
        line_of(name, "image: promptforge-backend:latest", 0),
    );
    assert_found(
        &f,
        "healthcheck-unescaped-variable",
        line_of(name, "pg_isready", 0),
    );
    assert_found(
        &f,
        "data-network-not-internal",
        line_of(name, "- promptforge-ha", 3),
    );
}

#[test]
fn the_guide_style_compose_file_for_docker_compose() {
    let file = fixture("guide-compose.ha.yml");
    let out = pf(&["lint", "--target", "compose", &file]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!("guide-compose-compose", stdout(&out));
    let f = findings(&["--target", "compose", &file]);
    let name = "guide-compose.ha.yml";
    // Compose honours these keys: no ignored-key findings, but
    // no-new-privileges and host-bound ports are checked.
    assert!(!f.iter().any(|(c, _)| c == "key-ignored-by-stack-deploy"));
    assert_found(
        &f,
        "no-new-privileges-missing",
        line_of(name, "  nginx-lb:", 0),
    );
    assert_found(
        &f,
        "port-not-bound-to-host-ip",
        line_of(name, "\"80:80\"", 0),
    );
    assert_found(&f, "restart-policy-unbounded", line_of(name, "restart:", 0));
}

#[test]
fn the_guides_own_snippets() {
    let file = fixture("guide-snippets.yml");
    let out = pf(&["lint", &file]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!("guide-snippets", stdout(&out));
    let f = findings(&[&file]);
    let name = "guide-snippets.yml";
    assert_found(
        &f,
        "env-secret-value",
        line_of(name, "GF_SECURITY_ADMIN_PASSWORD=admin", 0),
    );
    assert_found(&f, "healthcheck-missing", line_of(name, "  grafana:", 0));
    assert_found(
        &f,
        "memory-limit-missing",
        line_of(name, "  prometheus:", 0),
    );
    assert_found(
        &f,
        "image-tag-floating",
        line_of(name, "image: prom/prometheus", 0),
    );
    assert_found(&f, "ports-published-by-non-lb", line_of(name, "ports:", 0));
    // The guide's backend1 fragment has limits, but no PIDs limit and no image.
    assert_found(&f, "pids-limit-missing", line_of(name, "limits:", 0));
    assert!(!f.contains(&(
        "memory-limit-missing".into(),
        line_of(name, "  backend1:", 0)
    )));
}

#[test]
fn a_hand_written_stack() {
    let file = fixture("hand-written-stack.yml");
    let out = pf(&["lint", &file]);
    assert_eq!(code(&out), 1);
    insta::assert_snapshot!("hand-written-stack", stdout(&out));
    let f = findings(&[&file]);
    let name = "hand-written-stack.yml";
    assert_found(
        &f,
        "key-rejected-by-stack-deploy",
        line_of(name, "mem_limit:", 0),
    );
    assert_found(&f, "cpus-not-string", line_of(name, "cpus: 0.5", 0));
    assert_found(&f, "invalid-deploy-value", line_of(name, "rollbak", 0));
    assert_found(&f, "update-all-at-once", line_of(name, "parallelism: 3", 0));
    assert_found(&f, "start-first-stateful", line_of(name, "start-first", 0));
    assert_found(&f, "docker-socket-mounted", line_of(name, "docker.sock", 0));
    assert_found(&f, "healthcheck-tool-missing", line_of(name, "curl", 0));
    assert_found(&f, "too-few-sentinels", line_of(name, "  sentinel:", 0));
    // No placement at all: the finding sits on the sentinel's `deploy:`.
    assert_found(&f, "sentinels-not-spread", line_of(name, "    deploy:", 2));
    assert_found(&f, "config-not-versioned", line_of(name, "app_conf:", 0));
    assert_found(&f, "overlay-unencrypted", line_of(name, "  back:", 0));
    assert_found(&f, "env-secret-value", line_of(name, "API_TOKEN:", 0));
}

#[test]
fn a_rendered_bundle_passes_with_waivers_and_named_exceptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    for target in ["swarm", "compose"] {
        let out_dir = dir.path().join(target);
        let render = pf(&[
            target,
            "topologies/prod.toml",
            "-o",
            &out_dir.to_string_lossy(),
        ]);
        assert_eq!(
            code(&render),
            0,
            "{}",
            String::from_utf8_lossy(&render.stderr)
        );
        let out = pf(&["lint", "--deny-warnings", &out_dir.to_string_lossy()]);
        let text = stdout(&out);
        assert_eq!(code(&out), 0, "{text}");
        assert!(
            !text.contains("error[") && !text.contains("warning["),
            "{text}"
        );
        assert!(text.contains("waived at"), "{text}");
        assert!(
            text.contains("nginx/load-balancer.conf: 0 error(s), 0 warning(s)"),
            "{text}"
        );
        let exception = if target == "swarm" {
            "note[no-new-privileges-missing]"
        } else {
            "note[overlay-unencrypted]"
        };
        assert!(text.contains(exception), "{text}");
    }
}

#[test]
fn formats_and_exit_codes() {
    let file = fixture("guide-snippets.yml");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&pf(&["lint", "--format", "json", &file]))).expect("JSON");
    let first = &json["findings"][0];
    for key in [
        "file", "line", "column", "severity", "code", "message", "help", "path", "service",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert_eq!(json["files"][0]["target"], "compose");
    let github = stdout(&pf(&["lint", "--format", "github", &file]));
    assert!(
        github
            .lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{github}"
    );

    // Warnings only: 0, or 1 with --deny-warnings.
    let dir = tempfile::tempdir().expect("tempdir");
    let warn_only = dir.path().join("s.conf");
    std::fs::write(&warn_only, "requirepass x\nprotected-mode no\n").expect("write");
    let path = warn_only.to_string_lossy().into_owned();
    assert_eq!(code(&pf(&["lint", &path])), 0);
    assert_eq!(code(&pf(&["lint", "--deny-warnings", &path])), 1);
    // --kind names what detection cannot tell.
    let bare = dir.path().join("bare.conf");
    std::fs::write(&bare, "port 26379\n").expect("write");
    let bare = bare.to_string_lossy().into_owned();
    assert_eq!(code(&pf(&["lint", &bare])), 2);
    let as_sentinel = pf(&["lint", "--kind", "sentinel", &bare]);
    assert_eq!(code(&as_sentinel), 0);
    assert!(stdout(&as_sentinel).contains("warning[sentinel-without-password]"));

    // Usage and I/O errors: 2.
    let unknown = dir.path().join("notes.txt");
    std::fs::write(&unknown, "hello\n").expect("write");
    let out = pf(&["lint", &unknown.to_string_lossy()]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind"));
    assert_eq!(code(&pf(&["lint", "no/such/file.yml"])), 2);
    assert_eq!(code(&pf(&["lint"])), 2);
    assert_eq!(code(&pf(&["lint", "--target", "k8s", &file])), 2);
}

#[test]
fn explain_knows_lint_rules() {
    let out = pf(&["explain", "env-secret-value"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("env-secret-value (error)"), "{text}");
    assert!(text.contains("KICS a88baa34"), "{text}");
    let out = pf(&["explain", "no-new-privileges-missing"]);
    assert!(
        stdout(&out).contains("Exception on swarm"),
        "{}",
        stdout(&out)
    );
    let catalog = stdout(&pf(&["explain", "--catalog"]));
    let committed =
        std::fs::read_to_string(Path::new(ROOT).join("docs/security-catalog.md")).expect("docs");
    assert_eq!(catalog, committed);
}
