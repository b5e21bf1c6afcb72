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
