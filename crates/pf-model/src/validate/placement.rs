//! Placement: stateful members pinned by node labels must each get a node
//! of their own, or one node failure takes several of them down.

use super::Finding;
use crate::codes::Code;
use crate::model::{Placement, TopologyFile};

/// One replication group whose members `setup-swarm.sh --label-nodes`
/// spreads over the nodes, and where its size is written.
struct Group {
    path: &'static str,
    what: &'static str,
    members: u64,
    placement: Placement,
}

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let nodes = u64::from(file.capacity.nodes);
    // Sentinels have their own rule (`sentinels-share-nodes`): a quorum
    // fails differently from a replication group.
    let groups = [
        Group {
            path: "postgres.replicas",
            what: "PostgreSQL members (the primary and its replicas)",
            members: u64::from(file.postgres.replicas) + 1,
            placement: file.postgres.placement,
        },
        Group {
            path: "redis.replicas",
            what: "Redis data nodes (the master and its replicas)",
            members: u64::from(file.redis.replicas) + 1,
            placement: file.redis.placement,
        },
    ];
    for g in groups {
        // One member alone shares nothing; `placement = "anywhere"` is the
        // topology saying it accepts whatever Swarm does.
        if g.placement != Placement::NodeLabels || g.members < 2 || g.members <= nodes {
            continue;
        }
        out.push(Finding::new(
            Code::StatefulMembersShareNodes,
            g.path,
            format!(
                "{} {} on {} node(s): node labels put {} of them on one node, and losing that node loses them together",
                g.members,
                g.what,
                nodes,
                g.members.div_ceil(nodes.max(1))
            ),
            if nodes <= 1 {
                format!(
                    "unavoidable on one host (Compose); on Swarm set `capacity.nodes` to at least {}",
                    g.members
                )
            } else {
                format!(
                    "set `capacity.nodes` to at least {}, or lower the replicas to {}",
                    g.members,
                    nodes - 1
                )
            },
        ));
    }
}
