//! `docker-stack.yml` for `docker stack deploy`.
//!
//! Only keys the Swarm loader uses: no `container_name`, `depends_on` or
//! `restart` (ignored by `docker stack deploy`), `deploy.restart_policy`
//! instead. Configs are immutable in Swarm, so each is named after the hash
//! of its contents: a changed file becomes a new config and a rolling update.

use super::services::{self, Networks, Spec};
use super::yaml::{
    Deploy, File, FileObject, Ipam, Limits, Lint, Mount, Network, ObjectRef, Ordered, Placement,
    Port, Reservations, Resources, RestartPolicy, SecretRef, Service, Subnet, UpdateConfig, Volume,
};
use super::{Cx, artifact_key, yaml_text};
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files;
use crate::hash;

/// v3.9 is the lowest version with everything used here
/// (`deploy.resources.limits.pids`; `max_replicas_per_node` is 3.8).
const VERSION: &str = "3.9";

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let specs = services::all(cx);
    let nets = Networks::new(cx);
    let waivers = services::waivers(cx, &specs);
    let mut file = File {
        version: Some(VERSION),
        name: None,
        services: Ordered::default(),
        networks: Ordered::default(),
        volumes: Ordered::default(),
        configs: Ordered::default(),
        secrets: Ordered::default(),
        lint: (!waivers.is_empty()).then_some(Lint { waivers }),
    };
    let mut config_keys: Vec<String> = Vec::new();
    // Each spec is consumed by its service: its strings and environment
    // move into the YAML tree instead of being copied (10,000 services).
    for spec in specs {
        for f in &spec.files {
            let key = artifact_key(&f.artifact);
            if config_keys.contains(&key) {
                continue;
            }
            let contents =
                bundle
                    .contents(&f.artifact)
                    .ok_or_else(|| RenderError::MissingArtifact {
                        artifact: f.artifact.clone(),
                    })?;
            file.configs.push(
                key.clone(),
                FileObject {
                    name: Some(format!(
                        "{}_{key}_{}",
                        cx.plan.stack,
                        hash::short(contents.as_bytes())
                    )),
                    file: Some(format!("./{}", f.artifact)),
                    external: false,
                },
            );
            config_keys.push(key);
        }
        if let Some((volume, _)) = &spec.volume {
            file.volumes.push(volume.clone(), Volume::default());
        }
        file.services
            .push(spec.instance.name.clone(), service(cx, &nets, spec));
    }
    for secret in &cx.plan.secrets {
        // Created from files by setup-swarm.sh --create-secrets; never in the stack.
        file.secrets.push(
            secret.name.clone(),
            FileObject {
                name: Some(format!("{}_{}", cx.plan.stack, secret.name)),
                file: None,
                external: true,
            },
        );
    }
    let mut driver_opts = std::collections::BTreeMap::new();
    if cx.t.network.encrypted {
        driver_opts.insert("encrypted".to_owned(), String::new());
    }
    let ipam = |subnet: &Option<String>| Ipam {
        config: subnet
            .iter()
            .map(|s| Subnet { subnet: s.clone() })
            .collect(),
    };
    file.networks.push(
        nets.front.clone(),
        Network {
            driver: "overlay",
            driver_opts: driver_opts.clone(),
            attachable: false,
            internal: false,
            ipam: ipam(&nets.front_subnet),
        },
    );
    file.networks.push(
        nets.data.clone(),
        Network {
            driver: "overlay",
            driver_opts,
            // Lets a person attach a debug container (psql, redis-cli).
            attachable: true,
            internal: true,
            ipam: ipam(&nets.data_subnet),
        },
    );
    let text = yaml_text(files::STACK, &file)?;
    // Freed before the text is kept: for 10,000 services each is tens of MB.
    drop(file);
    bundle.add_owned(files::STACK, text);
    Ok(())
}

fn service(cx: &Cx<'_>, nets: &Networks, spec: Spec) -> Service {
    let rollout = &cx.t.rollout;
    let restart = &cx.t.restart;
    let mut constraints = Vec::new();
    if spec.pinned {
        constraints.push(format!(
            "node.labels.{}.{} == true",
            cx.plan.stack, spec.instance.name
        ));
    }
    let placement =
        (!constraints.is_empty() || spec.max_replicas_per_node.is_some()).then_some(Placement {
            constraints,
            max_replicas_per_node: spec.max_replicas_per_node,
        });
    let mode = match spec.publish_mode {
        pf_model::model::PublishMode::Host => "host",
        pf_model::model::PublishMode::Ingress => "ingress",
    };
    let networks = nets.of(&spec);
    let tmpfs = services::tmpfs(&spec);
    Service {
        image: spec.image,
        entrypoint: spec.entrypoint,
        command: spec.command,
        environment: spec.environment,
        ports: spec
            .ports
            .iter()
            .map(|&(target, published)| Port {
                target,
                published,
                protocol: "tcp",
                mode,
            })
            .collect(),
        networks,
        read_only: spec.read_only.is_some(),
        volumes: spec
            .volume
            .iter()
            .map(|(source, target)| Mount {
                kind: "volume",
                source: source.clone(),
                target: (*target).to_owned(),
                read_only: false,
            })
            .chain(tmpfs)
            .collect(),
        configs: spec
            .files
            .iter()
            .map(|f| ObjectRef {
                source: artifact_key(&f.artifact),
                target: f.target.to_owned(),
                mode: f.mode,
            })
            .collect(),
        secrets: spec.secrets.iter().cloned().map(SecretRef).collect(),
        healthcheck: spec.healthcheck.clone(),
        stop_grace_period: spec.stop_grace_period.map(|d| d.to_string()),
        deploy: Deploy {
            replicas: Some(spec.replicas),
            endpoint_mode: Some(if spec.dnsrr { "dnsrr" } else { "vip" }),
            placement,
            resources: Resources {
                limits: Limits {
                    cpus: spec.sizing.limit_cpus.to_string(),
                    memory: spec.sizing.limit_memory.docker(),
                    pids: spec.sizing.pids,
                },
                reservations: Reservations {
                    cpus: spec.sizing.reserve_cpus.to_string(),
                    memory: spec.sizing.reserve_memory.docker(),
                },
            },
            restart_policy: Some(RestartPolicy {
                condition: restart.condition.as_str(),
                delay: restart.delay.to_string(),
                max_attempts: restart.max_attempts,
                window: restart.window.to_string(),
            }),
            update_config: Some(UpdateConfig {
                parallelism: rollout.parallelism,
                delay: rollout.delay.to_string(),
                failure_action: match rollout.failure_action {
                    pf_model::model::UpdateFailureAction::Continue => "continue",
                    pf_model::model::UpdateFailureAction::Pause => "pause",
                    pf_model::model::UpdateFailureAction::Rollback => "rollback",
                },
                monitor: rollout.monitor.to_string(),
                max_failure_ratio: rollout.max_failure_ratio,
                order: spec.order.as_str(),
            }),
            rollback_config: Some(UpdateConfig {
                parallelism: rollout.rollback.parallelism,
                delay: rollout.rollback.delay.to_string(),
                failure_action: match rollout.rollback.failure_action {
                    pf_model::model::RollbackFailureAction::Continue => "continue",
                    pf_model::model::RollbackFailureAction::Pause => "pause",
                },
                monitor: rollout.rollback.monitor.to_string(),
                max_failure_ratio: rollout.max_failure_ratio,
                order: if spec.stateful {
                    "stop-first"
                } else {
                    rollout.rollback.order.as_str()
                },
            }),
        },
        ..Service::default()
    }
}
