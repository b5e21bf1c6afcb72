//! `docker-compose.ha.yml`: the guide's single-host layout.
//!
//! One service per instance (`backend1`.., `postgres-primary`,
//! `redis-sentinel-1`..) with the guide's container names, so its runbook
//! commands (`docker stop promptforge-backend-1`) work verbatim. Files are
//! bind-mounted read-only from the bundle; secrets are files in the user's
//! secrets folder outside the bundle (`${SECRETS_DIR:-../<stack>-secrets}`:
//! the bundle folder is replaced on every render).

use super::services::{self, Networks, Spec};
use super::yaml::{
    DependsOn, Deploy, File, FileObject, Ipam, Limits, Lint, Mount, Network, Ordered, Port,
    Reservations, Resources, SecretRef, Service, Subnet, Volume,
};
use super::{Cx, yaml_text};
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files;
use pf_model::model::RestartCondition;

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let specs = services::all(cx);
    let nets = Networks::new(cx);
    let waivers = services::waivers(cx, &specs);
    let mut file = File {
        version: None,
        name: Some(cx.plan.stack.clone()),
        services: Ordered::default(),
        networks: Ordered::default(),
        volumes: Ordered::default(),
        configs: Ordered::default(),
        secrets: Ordered::default(),
        lint: (!waivers.is_empty()).then_some(Lint { waivers }),
    };
    // Each spec is consumed by its service: its strings and environment
    // move into the YAML tree instead of being copied (10,000 services).
    for spec in specs {
        for f in &spec.files {
            if bundle.contents(&f.artifact).is_none() {
                return Err(RenderError::MissingArtifact {
                    artifact: f.artifact.clone(),
                });
            }
        }
        if let Some((volume, _)) = &spec.volume {
            file.volumes.push(volume.clone(), Volume::default());
        }
        file.services
            .push(spec.instance.name.clone(), service(cx, &nets, spec));
    }
    // Compose interpolates this on purpose: the same SECRETS_DIR as the
    // scripts, with the same default, relative to the bundle folder.
    let secrets_dir = files::secrets_dir(&cx.plan.stack);
    for secret in &cx.plan.secrets {
        file.secrets.push(
            secret.name.clone(),
            FileObject {
                name: None,
                file: Some(format!("${{SECRETS_DIR:-{secrets_dir}}}/{}", secret.name)),
                external: false,
            },
        );
    }
    for (name, subnet, internal) in [
        (&nets.front, &nets.front_subnet, false),
        (&nets.data, &nets.data_subnet, true),
    ] {
        file.networks.push(
            name.clone(),
            Network {
                driver: "bridge",
                driver_opts: std::collections::BTreeMap::new(),
                attachable: false,
                internal,
                ipam: Ipam {
                    config: subnet
                        .iter()
                        .map(|s| Subnet { subnet: s.clone() })
                        .collect(),
                },
            },
        );
    }
    let text = yaml_text(files::COMPOSE, &file)?;
    // Freed before the text is kept: for 10,000 services each is tens of MB.
    drop(file);
    bundle.add_owned(files::COMPOSE, text);
    Ok(())
}

fn service(cx: &Cx<'_>, nets: &Networks, spec: Spec) -> Service {
    let restart = &cx.t.restart;
    let mut volumes: Vec<Mount> = spec
        .files
        .iter()
        .map(|f| Mount {
            kind: "bind",
            source: format!("./{}", f.artifact),
            target: f.target.to_owned(),
            read_only: true,
        })
        .collect();
    volumes.extend(spec.volume.iter().map(|(source, target)| Mount {
        kind: "volume",
        source: source.clone(),
        target: (*target).to_owned(),
        read_only: false,
    }));
    volumes.extend(services::tmpfs(&spec));
    let depends_on = (!spec.depends_on.is_empty()).then(|| {
        let mut d = Ordered::default();
        for name in &spec.depends_on {
            d.push(
                name.clone(),
                DependsOn {
                    condition: "service_healthy",
                },
            );
        }
        d
    });
    let networks = nets.of(&spec);
    Service {
        image: spec.image,
        container_name: Some(spec.instance.container.clone()),
        hostname: Some(spec.instance.host.clone()),
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
                mode: "host",
            })
            .collect(),
        networks,
        read_only: spec.read_only.is_some(),
        // Entrypoints that drop privileges (gosu, nginx workers) still work:
        // they give privileges up, they never gain them.
        security_opt: vec!["no-new-privileges:true"],
        volumes,
        configs: Vec::new(),
        secrets: spec.secrets.iter().cloned().map(SecretRef).collect(),
        healthcheck: spec.healthcheck.clone(),
        stop_grace_period: spec.stop_grace_period.map(|d| d.to_string()),
        depends_on,
        // Compose's `restart` cannot bound attempts for "always"; it can for on-failure.
        restart: Some(match restart.condition {
            RestartCondition::Any => "unless-stopped".to_owned(),
            RestartCondition::OnFailure => format!("on-failure:{}", restart.max_attempts),
        }),
        deploy: Deploy {
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
            ..Deploy::default()
        },
    }
}
