//! `--deploy`: the bundle deployed by its own scripts before the drill
//! (`setup-swarm.sh --label-nodes --create-secrets --deploy`, `ha-setup.sh
//! --compose`), with the operator's secret files, and removed after it:
//! the stack or project, its volumes on this engine, the secrets and node
//! labels the scripts created. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pf_render::{Bundle, Plan};

use super::cli::{Docker, Engine};
use super::inspect;
use super::stack::Orchestrator;
use crate::error::DrillError;
use crate::proc;

/// How long the bundle's deploy script may take.
const DEPLOY_LIMIT: Duration = Duration::from_secs(600);
/// How long the stack may take to run every service, healthy.
pub(crate) const CONVERGE_LIMIT: Duration = Duration::from_secs(300);

/// A bundle written for deploying, removed with [`down`].
pub(crate) struct Deployed {
    dir: PathBuf,
}

/// Writes the bundle to a new folder in the temp folder.
pub(crate) fn write_bundle(bundle: &Bundle) -> Result<Deployed, DrillError> {
    let dir =
        std::env::temp_dir().join(format!("pf-drill-deploy-{}", crate::setup::random_hex(4)?));
    let deployed = Deployed { dir };
    for a in bundle.artifacts() {
        write(&deployed.dir.join(&a.path), &a.contents, a.mode)?;
    }
    Ok(deployed)
}

/// Runs the bundle's deploy script against the engine, with the secret
/// files of `secrets`.
pub(crate) fn up(
    docker: &Docker,
    engine: &Engine,
    on: Orchestrator,
    deployed: &Deployed,
    secrets: &Path,
) -> Result<(), DrillError> {
    let secrets = std::path::absolute(secrets)
        .map_err(|e| DrillError::io(format!("bad secrets folder {}", secrets.display()), &e))?;
    if !secrets.is_dir() {
        return Err(DrillError::env(format!(
            "the secrets folder {} does not exist: --deploy needs the secret files the bundle's \
             README lists, one value per file",
            secrets.display()
        )));
    }
    let dir = &deployed.dir;
    let script = match on {
        Orchestrator::Swarm => vec![
            "scripts/setup-swarm.sh",
            "--label-nodes",
            "--create-secrets",
            "--deploy",
        ],
        Orchestrator::Compose => vec!["scripts/ha-setup.sh", "--compose"],
    };
    let mut cmd = Command::new("bash");
    cmd.args(&script)
        .current_dir(dir)
        .env("SECRETS_DIR", &secrets);
    match engine {
        Engine::Default => {}
        Engine::Context(c) => {
            cmd.env("DOCKER_CONTEXT", c).env_remove("DOCKER_HOST");
        }
        Engine::Host(h) => {
            cmd.env("DOCKER_HOST", h).env_remove("DOCKER_CONTEXT");
        }
    }
    // The scripts call `docker`: the same program the drill uses.
    if let Some(bin) = docker.program().parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(p) = std::env::join_paths(dirs) {
            cmd.env("PATH", p);
        }
    }
    let (ok, stdout, stderr) = proc::run(&mut cmd, DEPLOY_LIMIT, &docker.cancel)?;
    if !ok {
        let all = format!("{stdout}\n{stderr}");
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = &lines[lines.len().saturating_sub(6)..];
        return Err(DrillError::env(format!(
            "the bundle's {} failed:\n{}",
            script.join(" "),
            tail.join("\n")
        )));
    }
    Ok(())
}

/// Waits until every service runs all its tasks (Swarm) or every container
/// runs and is healthy (Compose): `Ok(None)`, or what is still missing.
pub(crate) fn converge(
    docker: &Docker,
    on: Orchestrator,
    name: &str,
) -> Result<Option<String>, DrillError> {
    let end = Instant::now() + CONVERGE_LIMIT;
    let mut pending;
    loop {
        pending = missing(docker, on, name)?;
        if pending.is_empty() || Instant::now() >= end {
            break;
        }
        docker.cancel.sleep(Duration::from_secs(2))?;
    }
    Ok((!pending.is_empty()).then(|| pending.join(", ")))
}

fn missing(docker: &Docker, on: Orchestrator, name: &str) -> Result<Vec<String>, DrillError> {
    Ok(match on {
        Orchestrator::Swarm => {
            let filter = format!("label=com.docker.stack.namespace={name}");
            let out = docker.must(&[
                "service",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}} {{.Replicas}}",
            ])?;
            out.lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (svc, reps) = (f.next()?, f.next()?);
                    let (have, want) = reps.split_once('/')?;
                    (have != want).then(|| format!("{svc} {reps}"))
                })
                .collect()
        }
        Orchestrator::Compose => {
            let out = docker.must(&["compose", "-p", name, "ps", "-a", "--format", "json"])?;
            inspect::compose_containers(&out)
                .map_err(DrillError::env)?
                .into_iter()
                .filter(|c| c.state != "running" || !(c.health.is_empty() || c.health == "healthy"))
                .map(|c| format!("{} {} {}", c.service, c.state, c.health))
                .collect()
        }
    })
}

/// Removes what the deploy created; returns what could not be removed.
pub(crate) fn down(
    docker: &Docker,
    on: Orchestrator,
    name: &str,
    plan: &Plan,
    deployed: Deployed,
) -> Vec<String> {
    let mut left = Vec::new();
    let run = |args: &[&str], limit: Duration| {
        docker
            .run(args, limit)
            .ok()
            .filter(|o| o.ok)
            .map(|o| o.stdout)
    };
    match on {
        Orchestrator::Swarm => {
            let label = format!("label=com.docker.stack.namespace={name}");
            let _ = run(&["stack", "rm", name], Duration::from_secs(60));
            let end = Instant::now() + Duration::from_secs(120);
            while Instant::now() < end {
                let services = run(
                    &["service", "ls", "-q", "--filter", &label],
                    Duration::from_secs(30),
                )
                .unwrap_or_default();
                let containers = run(&["ps", "-aq", "--filter", &label], Duration::from_secs(30))
                    .unwrap_or_default();
                let networks = run(
                    &["network", "ls", "-q", "--filter", &label],
                    Duration::from_secs(30),
                )
                .unwrap_or_default();
                if services.trim().is_empty()
                    && containers.trim().is_empty()
                    && networks.trim().is_empty()
                {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            for v in run(
                &["volume", "ls", "-q", "--filter", &label],
                Duration::from_secs(30),
            )
            .unwrap_or_default()
            .lines()
            {
                if run(&["volume", "rm", "-f", v], Duration::from_secs(30)).is_none() {
                    left.push(format!("volume {v}"));
                }
            }
            for s in &plan.secrets {
                let secret = format!("{name}_{}", s.name);
                if run(&["secret", "inspect", &secret], Duration::from_secs(30)).is_some()
                    && run(&["secret", "rm", &secret], Duration::from_secs(30)).is_none()
                {
                    left.push(format!("secret {secret}"));
                }
            }
            let prefix = format!("{name}.");
            for node in run(&["node", "ls", "-q"], Duration::from_secs(30))
                .unwrap_or_default()
                .lines()
            {
                let labels = run(
                    &[
                        "node",
                        "inspect",
                        node,
                        "--format",
                        "{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}",
                    ],
                    Duration::from_secs(30),
                )
                .unwrap_or_default();
                for l in labels.split_whitespace().filter(|l| l.starts_with(&prefix)) {
                    if run(
                        &["node", "update", "--label-rm", l, node],
                        Duration::from_secs(30),
                    )
                    .is_none()
                    {
                        left.push(format!("node label {l}"));
                    }
                }
            }
        }
        Orchestrator::Compose => {
            let file = deployed
                .dir
                .join("docker-compose.ha.yml")
                .display()
                .to_string();
            if run(
                &[
                    "compose",
                    "-p",
                    name,
                    "-f",
                    &file,
                    "down",
                    "-v",
                    "--remove-orphans",
                    "--timeout",
                    "30",
                ],
                Duration::from_secs(180),
            )
            .is_none()
            {
                left.push(format!(
                    "compose project {name} (docker compose down failed)"
                ));
            }
        }
    }
    if std::fs::remove_dir_all(&deployed.dir).is_err() {
        left.push(format!("folder {}", deployed.dir.display()));
    }
    left
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), DrillError> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| DrillError::io(format!("cannot create {}", parent.display()), &e))?;
    }
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| DrillError::io(format!("cannot write {}", path.display()), &e))
}
