//! Stateful groups: the PostgreSQL members, the Redis data nodes and the
//! Sentinels. Each group is a replication group or a quorum, decided here
//! once for all of them: how their names resolve on Swarm, and in which
//! step of a deploy each member may restart.
//!
//! Swarm applies `update_config.parallelism` to the tasks of one service,
//! and one `docker stack deploy` updates every changed service at once: a
//! change shared by a group (its entrypoint, a Sentinel setting, the image)
//! would restart every member together, the whole quorum or both ends of a
//! replication link. `setup-swarm.sh --deploy` therefore deploys in steps,
//! the k-th member of every group in step k and everything stateless in
//! step 1, and waits until a step has converged before the next.

use pf_model::model::EndpointMode;

use super::deployment::Deployment;
use super::instance::{Instance, Kind};

/// The kinds whose instances form a stateful group, in stack order.
const GROUPS: [Kind; 3] = [Kind::Postgres, Kind::Redis, Kind::Sentinel];

/// Sets the endpoint mode and update step of every stateful deployment.
pub(super) fn assign<'a>(
    instances: impl Iterator<Item = &'a mut Instance>,
    endpoint_mode: EndpointMode,
) {
    let mut seen = [0u32; GROUPS.len()];
    for instance in instances {
        let Some(group) = GROUPS.iter().position(|k| *k == instance.kind) else {
            continue;
        };
        let Some(d) = instance.deployment.as_mut() else {
            continue;
        };
        seen[group] += 1;
        d.update_step = seen[group];
        d.endpoint_mode = endpoint_mode;
    }
}

/// The number of steps a deploy takes: the size of the largest group.
pub fn steps<'a>(deployments: impl Iterator<Item = &'a Deployment>) -> u32 {
    deployments.map(|d| d.update_step).max().unwrap_or(1)
}
