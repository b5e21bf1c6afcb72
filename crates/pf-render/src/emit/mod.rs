//! Emitting artifacts from the plan. Config files first, then the stack or
//! compose file, which names each config by the hash of its contents.

mod apps;
mod compose;
mod docs;
mod monitoring;
mod nginx;
mod postgres;
mod redis;
mod scripts;
mod stack;
mod yaml;

use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::plan::Plan;
use crate::target::Target;

/// What every emitter reads: the plan, and nothing else.
pub(crate) struct Cx<'a> {
    /// Every decision of this rendering.
    pub(crate) plan: &'a Plan,
}

pub(crate) fn all(plan: &Plan, bundle: &mut Bundle) -> Result<(), RenderError> {
    let cx = Cx { plan };
    nginx::emit(&cx, bundle)?;
    apps::emit(&cx, bundle)?;
    postgres::emit(&cx, bundle)?;
    redis::emit(&cx, bundle)?;
    monitoring::emit(&cx, bundle)?;
    scripts::emit(&cx, bundle)?;
    docs::emit(&cx, bundle)?;
    match plan.target {
        Target::Swarm => stack::emit(&cx, bundle),
        Target::Compose => compose::emit(&cx, bundle),
        // Plain processes: no orchestrator file; the drill starts them.
        Target::Local(_) => Ok(()),
    }
}

/// The stack or Compose file of `plan` as JSON (`None` for the local
/// target, which has none): the document its YAML file holds.
pub(crate) fn deployment_document(
    plan: &Plan,
    bundle: &Bundle,
) -> Result<Option<serde_json::Value>, RenderError> {
    let (artifact, value) = match plan.target {
        Target::Swarm => (
            crate::files::STACK,
            serde_json::to_value(stack::document(plan, bundle)?),
        ),
        Target::Compose => (
            crate::files::COMPOSE,
            serde_json::to_value(compose::document(plan, bundle)?),
        ),
        Target::Local(_) => return Ok(None),
    };
    value.map(Some).map_err(|e| RenderError::Yaml {
        artifact: artifact.to_owned(),
        reason: e.to_string(),
    })
}

/// The key of a bundle file in a stack's `configs:` (`nginx/load-balancer.conf` -> `nginx_load-balancer_conf`).
pub(crate) fn artifact_key(path: &str) -> String {
    path.replace(['/', '.'], "_")
}

/// A YAML document as text, from its typed form. In the unit tests, every
/// document is also compared with serde_yaml_ng's (`yaml_oracle`).
pub(crate) fn yaml_text(
    artifact: &str,
    value: &impl serde::Serialize,
) -> Result<String, RenderError> {
    let text = crate::yaml_writer::to_string(value).map_err(|e| RenderError::Yaml {
        artifact: artifact.to_owned(),
        reason: e.to_string(),
    })?;
    #[cfg(test)]
    crate::yaml_oracle::check(value, &text);
    Ok(text)
}
