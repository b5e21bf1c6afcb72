//! The stack and compose files are accepted by their real consumers:
//! `docker stack config` (the Swarm loader and v3 schema, no daemon
//! needed), `docker stack deploy` printing no "Ignoring" line, and the
//! compose-spec JSON schema.

mod support;

use std::process::Command;

use pf_render::Target;

#[test]
fn docker_stack_config_accepts_every_stack() {
    let docker = support::tool("docker");
    for (topology, target, bundle) in support::all_bundles() {
        if target != Target::Swarm {
            continue;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        support::write_bundle(&bundle, dir.path());
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

/// `docker stack config` accepts keys that `docker stack deploy` then
/// ignores; only deploy prints "Ignoring ...". It prints those lines before
/// it contacts the daemon, so a dead socket makes this safe: it can never
/// deploy anything.
#[test]
fn docker_stack_deploy_ignores_nothing() {
    let docker = support::tool("docker");
    for (topology, target, bundle) in support::all_bundles() {
        if target != Target::Swarm {
            continue;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        support::write_bundle(&bundle, dir.path());
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
