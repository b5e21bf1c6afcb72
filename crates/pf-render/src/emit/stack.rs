//! `docker-stack.yml` for `docker stack deploy`.
//!
//! Only keys the Swarm loader uses: no `container_name`, `depends_on` or
//! `restart` (ignored by `docker stack deploy`), `deploy.restart_policy`
//! instead. Configs are immutable in Swarm, so each is named after the hash
//! of its contents: a changed file becomes a new config and a rolling update.

use pf_model::model::{RollbackFailureAction, UpdateFailureAction};

use super::yaml::{
    Deploy, File, FileObject, Lint, Mount, ObjectRef, Ordered, Placement, Port, Resources,
    RestartPolicy, SecretRef, Service, UpdateConfig, Volume, data_volume, network, publish_mode,
    tmpfs,
};
use super::{Cx, artifact_key, yaml_text};
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files;
use crate::hash;
use crate::plan::{Deployment, Instance, Plan};

/// v3.9 is the lowest version with everything used here
/// (`deploy.resources.limits.pids`; `max_replicas_per_node` is 3.8).
const VERSION: &str = "3.9";

/// Read-only for the owner: a secret mounted for the user that reads it.
const SECRET_MODE: u32 = 0o400;

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let file = document(cx.plan, bundle)?;
    let text = yaml_text(files::STACK, &file)?;
    // Freed before the text is kept: for 10,000 services each is tens of MB.
    drop(file);
    bundle.add_owned(files::STACK, text);
    Ok(())
}

/// The file's document, before it is written as YAML: read by
/// [`crate::deployment_document`] (the drill compares it with what runs).
pub(crate) fn document<'a>(plan: &'a Plan, bundle: &Bundle) -> Result<File<'a>, RenderError> {
    let mut file = File {
        version: Some(VERSION),
        name: None,
        services: Ordered::default(),
        networks: Ordered::default(),
        volumes: Ordered::default(),
        configs: Ordered::default(),
        secrets: Ordered::default(),
        lint: (!plan.waivers.is_empty()).then_some(Lint {
            waivers: &plan.waivers,
        }),
    };
    let mut config_keys: Vec<String> = Vec::new();
    for (instance, d) in plan.services() {
        for f in &instance.files {
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
                        plan.stack,
                        hash::short(contents.as_bytes())
                    )),
                    file: Some(format!("./{}", f.artifact)),
                    external: false,
                },
            );
            config_keys.push(key);
        }
        if let Some(volume) = instance.data.as_ref().and_then(|v| v.volume.as_ref()) {
            file.volumes.push(volume.clone(), Volume::default());
        }
        file.services
            .push(instance.name.clone(), service(plan, instance, d));
    }
    for secret in &plan.secrets {
        // Created from files by setup-swarm.sh --create-secrets; never in the stack.
        file.secrets.push(
            secret.name.clone(),
            FileObject {
                name: Some(secret.swarm_name.clone()),
                file: None,
                external: true,
            },
        );
    }
    for net in [&plan.networks.front, &plan.networks.data] {
        file.networks.push(net.name.clone(), network(net));
    }
    Ok(file)
}

fn service<'a>(plan: &'a Plan, instance: &'a Instance, d: &'a Deployment) -> Service<'a> {
    let rollout = &plan.rollout;
    let restart = &plan.restart;
    let constraints = d.placement.constraints();
    let placement = (!constraints.is_empty() || d.placement.max_replicas_per_node.is_some())
        .then_some(Placement {
            constraints,
            max_replicas_per_node: d.placement.max_replicas_per_node,
        });
    // Owned by the user that reads them, readable by nobody else (the TLS
    // key, the replication password); root-owned 0444 where the image's
    // user is unknown.
    let secrets = d
        .secrets
        .iter()
        .map(|s| match d.secret_reader {
            Some(owner) => SecretRef::Long {
                source: s,
                target: s,
                uid: owner.uid.to_string(),
                gid: owner.gid.to_string(),
                mode: SECRET_MODE,
            },
            None => SecretRef::Short(s),
        })
        .collect();
    Service {
        secrets,
        ports: d
            .ports
            .iter()
            .map(|p| Port {
                target: p.target,
                published: p.published,
                protocol: "tcp",
                mode: publish_mode(p.mode),
            })
            .collect(),
        volumes: data_volume(instance)
            .into_iter()
            .chain(tmpfs(d))
            .collect::<Vec<Mount<'_>>>(),
        configs: instance
            .files
            .iter()
            .map(|f| ObjectRef {
                source: artifact_key(&f.artifact),
                target: f.path.display().to_string(),
                mode: f.mode,
            })
            .collect(),
        deploy: Deploy {
            replicas: Some(d.replicas),
            endpoint_mode: Some(d.endpoint_mode.as_str()),
            placement,
            resources: Resources::of(&d.resources),
            restart_policy: Some(RestartPolicy {
                condition: restart.condition.as_str(),
                delay: restart.delay.to_string(),
                max_attempts: restart.max_attempts,
                window: restart.max_attempts.map(|_| restart.window.to_string()),
            }),
            update_config: Some(UpdateConfig {
                parallelism: rollout.parallelism,
                delay: rollout.delay.to_string(),
                failure_action: match rollout.failure_action {
                    UpdateFailureAction::Continue => "continue",
                    UpdateFailureAction::Pause => "pause",
                    UpdateFailureAction::Rollback => "rollback",
                },
                monitor: rollout.monitor.to_string(),
                max_failure_ratio: rollout.max_failure_ratio,
                order: d.update_order.as_str(),
            }),
            rollback_config: Some(UpdateConfig {
                parallelism: rollout.rollback.parallelism,
                delay: rollout.rollback.delay.to_string(),
                failure_action: match rollout.rollback.failure_action {
                    RollbackFailureAction::Continue => "continue",
                    RollbackFailureAction::Pause => "pause",
                },
                monitor: rollout.rollback.monitor.to_string(),
                max_failure_ratio: rollout.max_failure_ratio,
                order: d.rollback_order.as_str(),
            }),
        },
        ..Service::common(plan, d)
    }
}
