//! `docker-compose.ha.yml`: the guide's single-host layout.
//!
//! One service per instance (`backend1`.., `postgres-primary`,
//! `redis-sentinel-1`..) with the guide's container names, so its runbook
//! commands (`docker stop promptforge-backend-1`) work verbatim. Files are
//! bind-mounted read-only from the bundle; secrets are files in the user's
//! secrets folder outside the bundle (`${SECRETS_DIR:-../<stack>-secrets}`:
//! the bundle folder is replaced on every render).

use std::borrow::Cow;

use pf_model::model::RestartCondition;

use super::yaml::{
    DependsOn, Deploy, File, FileObject, Lint, Mount, Ordered, Port, Resources, Service, Volume,
    data_volume, network, publish_mode, tmpfs,
};
use super::{Cx, yaml_text};
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files;
use crate::plan::{Deployment, Instance, Plan};

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let file = document(cx.plan, bundle)?;
    let text = yaml_text(files::COMPOSE, &file)?;
    // Freed before the text is kept: for 10,000 services each is tens of MB.
    drop(file);
    bundle.add_owned(files::COMPOSE, text);
    Ok(())
}

/// The file's document, before it is written as YAML: read by
/// [`crate::deployment_document`] (the drill compares it with what runs).
pub(crate) fn document<'a>(plan: &'a Plan, bundle: &Bundle) -> Result<File<'a>, RenderError> {
    let mut file = File {
        version: None,
        name: Some(plan.stack.clone()),
        services: Ordered::default(),
        networks: Ordered::default(),
        volumes: Ordered::default(),
        configs: Ordered::default(),
        secrets: Ordered::default(),
        lint: (!plan.waivers.is_empty()).then_some(Lint {
            waivers: &plan.waivers,
        }),
    };
    for (instance, d) in plan.services() {
        for f in &instance.files {
            if bundle.contents(&f.artifact).is_none() {
                return Err(RenderError::MissingArtifact {
                    artifact: f.artifact.clone(),
                });
            }
        }
        if let Some(volume) = instance.data.as_ref().and_then(|v| v.volume.as_ref()) {
            file.volumes.push(volume.clone(), Volume::default());
        }
        file.services
            .push(instance.name.clone(), service(plan, instance, d));
    }
    // Compose interpolates this on purpose: the same SECRETS_DIR as the
    // scripts, with the same default, relative to the bundle folder.
    let secrets_dir = files::secrets_dir(&plan.stack);
    for secret in &plan.secrets {
        file.secrets.push(
            secret.name.clone(),
            FileObject {
                name: None,
                file: Some(format!("${{SECRETS_DIR:-{secrets_dir}}}/{}", secret.name)),
                external: false,
            },
        );
    }
    for net in [&plan.networks.front, &plan.networks.data] {
        file.networks.push(net.name.clone(), network(net));
    }
    Ok(file)
}

fn service<'a>(plan: &'a Plan, instance: &'a Instance, d: &'a Deployment) -> Service<'a> {
    let restart = &plan.restart;
    let volumes: Vec<Mount<'_>> = instance
        .files
        .iter()
        .map(|f| Mount {
            kind: "bind",
            source: Cow::Owned(format!("./{}", f.artifact)),
            target: f.path.display().to_string(),
            read_only: true,
        })
        .chain(data_volume(instance))
        .chain(tmpfs(d))
        .collect();
    let depends_on = (!d.depends_on.is_empty()).then(|| {
        let mut o = Ordered::default();
        for name in &d.depends_on {
            o.push(
                name.clone(),
                DependsOn {
                    condition: "service_healthy",
                },
            );
        }
        o
    });
    Service {
        container_name: Some(&instance.container),
        hostname: Some(&instance.name),
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
        // Entrypoints that drop privileges (gosu, nginx workers) still work:
        // they give privileges up, they never gain them.
        security_opt: vec!["no-new-privileges:true"],
        volumes,
        depends_on,
        // Compose's `restart` cannot bound attempts for "always"; it can for on-failure.
        restart: Some(match (restart.condition, restart.max_attempts) {
            (RestartCondition::Any, _) => "unless-stopped".to_owned(),
            (RestartCondition::OnFailure, Some(n)) => format!("on-failure:{n}"),
            (RestartCondition::OnFailure, None) => "on-failure".to_owned(),
        }),
        deploy: Deploy {
            resources: Resources::of(&d.resources),
            ..Deploy::default()
        },
        ..Service::common(plan, d)
    }
}
