//! `pf-render drill --on swarm|compose` up to the point where it would
//! disrupt a stack, against a stand-in `docker` program (a shell script on
//! PATH that answers from canned JSON and logs every call): it refuses a
//! stack that does not match the rendered bundle, asks before disrupting
//! and refuses without a terminal unless `--yes`, and never kills or scales
//! anything before that. The real proof, against real engines, is
//! `scripts/test-containers.sh` (docs/containers.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_yaml_ng::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const PROD: &str = "topologies/prod.toml";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `docker service inspect` of the prod stack exactly as the rendered
/// docker-stack.yml deploys it; `edit` changes it before it is printed.
fn deployed_prod(edit: impl Fn(&mut Vec<serde_json::Value>)) -> (Vec<String>, String) {
    let topology = pf_model::load(Path::new(ROOT).join(PROD))
        .expect("prod loads")
        .validate()
        .topology
        .expect("prod is valid");
    // The CLI names the topology as given on its command line.
    let bundle = pf_render::render(&topology, pf_render::Target::Swarm).expect("renders");
    let stack: Value =
        serde_yaml_ng::from_str(&bundle.get("docker-stack.yml").expect("stack file").contents)
            .expect("stack YAML");
    let config_name = |k: &str| {
        stack["configs"][k]["name"]
            .as_str()
            .expect("config name")
            .to_owned()
    };
    let secret_name = |k: &str| {
        stack["secrets"][k]["name"]
            .as_str()
            .expect("secret name")
            .to_owned()
    };
    let mut names = Vec::new();
    let mut items = Vec::new();
    for (key, svc) in stack["services"].as_mapping().expect("services") {
        let key = key.as_str().expect("service key");
        let name = format!("promptforge_{key}");
        let image = svc["image"].as_str().expect("image");
        let configs: Vec<serde_json::Value> = svc["configs"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| {
                serde_json::json!({"File": {"Name": c["target"].as_str()},
                    "ConfigName": config_name(c["source"].as_str().expect("source"))})
            })
            .collect();
        let secrets: Vec<serde_json::Value> = svc["secrets"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|s| {
                // Short syntax, or long syntax with the reader's uid and mode.
                let source = s
                    .as_str()
                    .or_else(|| s["source"].as_str())
                    .expect("secret source");
                serde_json::json!({"SecretName": secret_name(source)})
            })
            .collect();
        items.push(serde_json::json!({"ID": key, "Spec": {
            "Name": name,
            "Labels": {"com.docker.stack.image": image, "com.docker.stack.namespace": "promptforge"},
            "TaskTemplate": {"ContainerSpec": {"Image": format!("{image}@sha256:0"), "Configs": configs, "Secrets": secrets}},
            "Mode": {"Replicated": {"Replicas": svc["deploy"]["replicas"].as_u64().unwrap_or(1)}}
        }}));
        names.push(name);
    }
    edit(&mut items);
    (names, serde_json::to_string(&items).expect("json"))
}

/// A folder with a `docker` script answering like a Swarm manager running
/// the stack, and the log of its calls.
fn fake_docker(name: &str, services: &[String], inspect: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("pf-drill-on-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    let log = dir.join("calls.log");
    std::fs::write(dir.join("inspect.json"), inspect).expect("write");
    std::fs::write(dir.join("services.txt"), services.join("\n") + "\n").expect("write");
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> '{log}'
case "$1 $2" in
"version --format") echo 20.10.24 ;;
"info --format") echo "active true" ;;
"service ls") cat '{dir}/services.txt' ;;
"service inspect") cat '{dir}/inspect.json' ;;
*) echo "fake docker: $* is not expected here" >&2; exit 1 ;;
esac
"#,
        log = log.display(),
        dir = dir.display()
    );
    let program = dir.join("docker");
    std::fs::write(&program, script).expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, log)
}

fn drill_on(dir: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(env!("CARGO_BIN_EXE_pf-render"))
        .args(["drill", PROD, "--on", "swarm"])
        .args(args)
        .current_dir(ROOT)
        .env("PATH", path)
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null())
        .output()
        .expect("pf-render runs")
}

/// What the fake docker was asked to do: never a fault before consent.
fn calls(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

fn assert_nothing_disrupted(log: &Path) {
    let c = calls(log);
    for verb in ["kill", "scale", "exec", "stop", "start", "rm"] {
        assert!(
            !c.lines().any(|l| l.split_whitespace().any(|w| w == verb)),
            "the drill ran `docker ... {verb}` before it was allowed to:\n{c}"
        );
    }
}

#[test]
fn a_stack_deployed_from_another_rendering_is_refused() {
    let (names, inspect) = deployed_prod(|items| {
        // The deployed nginx.conf came from another rendering.
        let nginx = items
            .iter_mut()
            .find(|s| s["Spec"]["Name"] == "promptforge_nginx")
            .expect("nginx");
        nginx["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"] =
            serde_json::json!("promptforge_nginx_load-balancer_conf_0123456789");
    });
    let (dir, log) = fake_docker("mismatch", &names, &inspect);
    let out = drill_on(&dir, &["--yes"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refusing to drill the Swarm stack promptforge"),
        "{err}"
    );
    assert!(err.contains("service promptforge_nginx: configs"), "{err}");
    assert!(err.contains("0123456789"), "{err}");
    assert!(
        !err.contains("The drill will disrupt"),
        "asked before refusing:\n{err}"
    );
    assert_nothing_disrupted(&log);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_service_is_refused() {
    let (mut names, inspect) = deployed_prod(|items| {
        items.retain(|s| s["Spec"]["Name"] != "promptforge_redis-sentinel-3");
    });
    names.retain(|n| n != "promptforge_redis-sentinel-3");
    let (dir, log) = fake_docker("missing", &names, &inspect);
    let out = drill_on(&dir, &["--yes"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("service promptforge_redis-sentinel-3 is not deployed"),
        "{err}"
    );
    assert_nothing_disrupted(&log);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_matching_stack_is_described_and_not_touched_without_consent() {
    let (names, inspect) = deployed_prod(|_| {});
    let (dir, log) = fake_docker("consent", &names, &inspect);
    let out = drill_on(&dir, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // It says what it would disrupt, for every scenario, then refuses: no terminal, no --yes.
    assert!(
        err.contains("The drill will disrupt the Swarm stack promptforge"),
        "{err}"
    );
    assert!(
        err.contains("kill (SIGKILL) the current Redis master"),
        "{err}"
    );
    assert!(err.contains("LEAVE IT STOPPED"), "{err}");
    assert!(err.contains("pass --yes"), "{err}");
    assert!(err.contains("not confirmed"), "{err}");
    assert_nothing_disrupted(&log);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn with_yes_it_goes_on_and_reports_in_the_versioned_json() {
    // The stand-in cannot run a scenario (it answers no `docker ps`): the
    // scenario stops early, which is a finding (exit 1) in the same report.
    let (names, inspect) = deployed_prod(|_| {});
    let (dir, log) = fake_docker("yes", &names, &inspect);
    let out = drill_on(&dir, &["--yes", "--json", "--scenario", "load-balancer"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../schema/report.schema.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["command"], "drill");
    assert_eq!(report["version"], 1);
    assert!(
        report["on"]
            .as_str()
            .is_some_and(|o| o.starts_with("Swarm stack promptforge")),
        "{report}"
    );
    assert_eq!(report["scenarios"][0]["name"], "load-balancer");
    assert_eq!(report["findings"][0]["code"], "drill-scenario-stopped");
    assert!(
        calls(&log).contains("ps --no-trunc --filter status=running"),
        "{}",
        calls(&log)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_errors_exit_2_before_any_docker_call() {
    let (dir, log) = fake_docker("usage", &[], "[]");
    for args in [
        vec!["--stack", "x"],
        vec!["--on", "compose", "--keep"],
        vec!["--on", "compose", "--deploy"],
        vec!["--on", "swarm", "--context", "a", "-H", "unix:///x"],
        vec!["--on", "swarm", "--run-dir", "/tmp/x"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pf-render"))
            .args(["drill", PROD])
            .args(&args)
            .current_dir(ROOT)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
            .output()
            .expect("pf-render runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(calls(&log), "", "docker was called on a usage error");
    // Nothing deployed under that name: refused, nothing asked.
    let out = drill_on(&dir, &["--yes"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nothing is deployed as the Swarm stack promptforge"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
