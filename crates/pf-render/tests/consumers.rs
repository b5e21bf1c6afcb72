//! The stack and compose files are accepted by their real consumers:
//! `docker stack config` (the Swarm loader and v3 schema, no daemon
//! needed), `docker stack deploy` printing no "Ignoring" line, and the
//! compose-spec JSON schema.

mod support;

use std::process::Command;

use pf_render::Target;

/// Every Swarm bundle, written to a temporary folder.
fn written_swarm_bundles() -> Vec<(String, tempfile::TempDir)> {
    support::all_bundles()
        .into_iter()
        .filter(|(_, target, _)| *target == Target::Swarm)
        .map(|(topology, _, bundle)| {
            let dir = tempfile::tempdir().expect("tempdir");
            support::write_bundle(&bundle, dir.path());
            (topology, dir)
        })
        .collect()
}

#[test]
fn docker_stack_config_accepts_every_stack() {
    let docker = support::tool("docker");
    for (topology, dir) in written_swarm_bundles() {
        let (ok, stdout, stderr) = support::run(
            Command::new(&docker)
                .args(["stack", "config", "-c", "docker-stack.yml"])
                .current_dir(dir.path()),
        );
        assert!(ok, "{topology}: docker stack config failed:\n{stderr}");
        assert!(
            stdout.contains("services:"),
            "{topology}: no merged config printed"
        );
        assert!(!stderr.contains("Ignoring"), "{topology}: {stderr}");
    }
}

/// `setup-swarm.sh --deploy` deploys the stack file in steps, each limited
/// to some services: every step file is a stack `docker stack config`
/// accepts (from stdin, as the script deploys it), every service is in one
/// step, and no step holds two members of a PostgreSQL, Redis or Sentinel
/// group.
#[test]
fn every_deploy_step_is_a_valid_stack_with_one_member_of_each_group() {
    let docker = support::tool("docker");
    for (topology, dir) in written_swarm_bundles() {
        let script = dir.path().join("scripts/setup-swarm.sh");
        let mut seen: Vec<String> = Vec::new();
        for step in 1.. {
            let out = Command::new("bash")
                .arg(&script)
                .arg(format!("--print-step={step}"))
                .output()
                .expect("setup-swarm.sh");
            if out.status.code() == Some(2) {
                assert!(step > 1, "{topology}: no step 1");
                break;
            }
            assert!(out.status.success(), "{topology}: step {step}");
            let file = dir.path().join(format!("step-{step}.yml"));
            std::fs::write(&file, &out.stdout).expect("write");
            let (ok, stdout, stderr) = support::run(
                Command::new(&docker)
                    .args(["stack", "config", "-c", "-"])
                    .stdin(std::fs::File::open(&file).expect("open"))
                    .current_dir(dir.path()),
            );
            assert!(ok, "{topology} step {step}: {stderr}");
            assert!(!stderr.contains("Ignoring"), "{topology}: {stderr}");
            let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&stdout).expect("YAML");
            let names: Vec<String> = doc["services"]
                .as_mapping()
                .expect("services")
                .keys()
                .map(|k| k.as_str().expect("name").to_owned())
                .collect();
            let members = |group: &dyn Fn(&str) -> bool| {
                names
                    .iter()
                    .filter(|n| !n.ends_with("-exporter") && group(n))
                    .count()
            };
            for (group, count) in [
                ("PostgreSQL", members(&|n| n.starts_with("postgres-"))),
                ("Sentinel", members(&|n| n.starts_with("redis-sentinel-"))),
                (
                    "Redis",
                    members(&|n| n.starts_with("redis-") && !n.starts_with("redis-sentinel-")),
                ),
            ] {
                assert!(
                    count <= 1,
                    "{topology} step {step}: two {group} members in {names:?}"
                );
            }
            seen.extend(names);
        }
        seen.sort();
        let whole = std::fs::read_to_string(dir.path().join("docker-stack.yml")).expect("stack");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&whole).expect("YAML");
        let mut all: Vec<String> = doc["services"]
            .as_mapping()
            .expect("services")
            .keys()
            .map(|k| k.as_str().expect("name").to_owned())
            .collect();
        all.sort();
        assert_eq!(seen, all, "{topology}: every service in exactly one step");
    }
}

/// `docker stack config` accepts keys that `docker stack deploy` then
/// ignores; only deploy prints "Ignoring ...". It prints those lines before
/// it contacts the daemon, so a dead socket makes this safe: it can never
/// deploy anything.
#[test]
fn docker_stack_deploy_ignores_nothing() {
    let docker = support::tool("docker");
    for (topology, dir) in written_swarm_bundles() {
        let (_, stdout, stderr) = support::run(
            Command::new(&docker)
                .args([
                    "stack",
                    "deploy",
                    "--detach=true",
                    "-c",
                    "docker-stack.yml",
                    "pf-probe",
                ])
                .env_remove("DOCKER_CONTEXT")
                .env("DOCKER_HOST", "unix:///nonexistent/pf-render-test.sock")
                .current_dir(dir.path()),
        );
        let all = format!("{stdout}{stderr}");
        assert!(
            all.contains("Cannot connect to the Docker daemon"),
            "{topology}: unexpected output: {all}"
        );
        assert!(
            !all.contains("Ignoring"),
            "{topology}: docker stack deploy ignores keys:\n{all}"
        );
    }
}

#[test]
fn the_ignoring_probe_can_fail() {
    let docker = support::tool("docker");
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = "version: '3.9'\nservices:\n  a:\n    image: nginx:1.28.0\n    container_name: x\n    restart: always\n";
    std::fs::write(dir.path().join("s.yml"), stack).expect("write");
    let (_, stdout, stderr) = support::run(
        Command::new(&docker)
            .args([
                "stack",
                "deploy",
                "--detach=true",
                "-c",
                "s.yml",
                "pf-probe",
            ])
            .env("DOCKER_HOST", "unix:///nonexistent/pf-render-test.sock")
            .current_dir(dir.path()),
    );
    assert!(
        format!("{stdout}{stderr}").contains("Ignoring"),
        "the probe would not notice ignored keys"
    );
}

#[test]
fn compose_spec_schema_accepts_every_compose_file() {
    let validate = support::tool("compose-spec-validate");
    for (topology, target, bundle) in support::all_bundles() {
        if target != Target::Compose {
            continue;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        support::write_bundle(&bundle, dir.path());
        let (ok, stdout, stderr) = support::run(
            Command::new(&validate)
                .arg("docker-compose.ha.yml")
                .current_dir(dir.path()),
        );
        assert!(
            ok,
            "{topology}: compose-spec validation failed:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn compose_spec_schema_rejects_a_broken_file() {
    let validate = support::tool("compose-spec-validate");
    let bundle = support::render("topologies/prod.toml", Target::Compose);
    let text = bundle
        .get("docker-compose.ha.yml")
        .expect("compose file")
        .contents
        .replace(
            "restart: unless-stopped",
            "restart: sometimes\n    bogus_key: 1",
        );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("c.yml"), text).expect("write");
    let (ok, _, _) = support::run(Command::new(&validate).arg("c.yml").current_dir(dir.path()));
    assert!(!ok, "an unknown service key passed the schema");
}

#[test]
fn docker_stack_config_rejects_a_broken_stack() {
    let docker = support::tool("docker");
    let bundle = support::render("topologies/prod.toml", Target::Swarm);
    // An unquoted cpus number is the classic mistake the v3 schema rejects.
    let text = bundle
        .get("docker-stack.yml")
        .expect("stack")
        .contents
        .replacen("cpus: '1.5'", "cpus: 1.5", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    support::write_bundle(&bundle, dir.path());
    std::fs::write(dir.path().join("docker-stack.yml"), text).expect("write");
    let (ok, _, stderr) = support::run(
        Command::new(&docker)
            .args(["stack", "config", "-c", "docker-stack.yml"])
            .current_dir(dir.path()),
    );
    assert!(!ok, "docker stack config accepted a numeric cpus");
    assert!(stderr.contains("cpus"), "{stderr}");
}
