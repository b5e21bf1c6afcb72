//! Failure domains: a static proof that the Swarm placement survives the
//! loss of any one node.
//!
//! The input is the Swarm plan, the same placement the stack file gives
//! the scheduler: stateful members pinned by node labels (spread by
//! `setup-swarm.sh --label-nodes` round-robin, in stack order, over the
//! nodes), replicated services bounded by `max_replicas_per_node`, the load
//! balancer on its edge nodes. For each node in turn it asks what remains
//! when that node is lost. Where the placement leaves the scheduler free
//! (a member without a node label, a service without a per-node bound), the
//! worst case Swarm allows is assumed: everything that may be on the lost
//! node is.

use pf_model::Finding;
use pf_model::Topology;
use pf_model::codes::Code;
use serde::Serialize;

use crate::plan::{Deployment, Instance, PgRole, Plan};
use crate::target::Target;

/// What remains after the loss of each node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct FailureDomains {
    /// `capacity.nodes`.
    pub nodes: u32,
    /// The node each pinned stateful instance lands on (1-based), in the
    /// order `setup-swarm.sh --label-nodes` labels them.
    pub pinned: Vec<Pinned>,
    /// One entry per node, in node order.
    pub losses: Vec<NodeLoss>,
}

/// A stateful instance pinned to a node by its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Pinned {
    /// The instance (`redis-sentinel-2`).
    pub instance: String,
    /// The node label set to `true` (`promptforge.redis-sentinel-2`).
    pub label: String,
    /// 1-based node number, in the sorted order of the nodes' host names.
    pub node: u32,
}

/// What the loss of one node leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct NodeLoss {
    /// 1-based node number.
    pub node: u32,
    /// One verdict per group, in stack order.
    pub groups: Vec<GroupVerdict>,
}

/// Whether one group keeps what it needs when a node is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct GroupVerdict {
    /// `load-balancer`, an app name, `postgres`, `redis`, `sentinels`.
    pub group: String,
    /// Members (tasks) that remain in the worst case.
    pub remaining: u32,
    /// Members in all.
    pub total: u32,
    /// Members that must remain.
    pub needed: u32,
    /// `remaining >= needed`, and for PostgreSQL and Redis: a server that
    /// is, or can be promoted to, the primary (master).
    pub survives: bool,
    /// What it means, in a few words.
    pub detail: String,
    /// The topology key a diagnostic points at.
    #[serde(skip)]
    pub path: String,
    /// How to fix it, when it does not survive.
    #[serde(skip)]
    pub help: String,
}

/// Where the members of one group may be.
struct Group {
    name: String,
    path: String,
    /// Pinned members' nodes (0-based); `None`: unpinned, may be anywhere.
    members: Vec<Option<u32>>,
}

/// The failure domains of `topology` on Swarm.
pub fn failure_domains(topology: &Topology) -> FailureDomains {
    of_plan(&crate::plan(topology, Target::Swarm))
}

/// The failure domains of a Swarm plan.
pub fn of_plan(plan: &Plan) -> FailureDomains {
    let nodes = plan.capacity.nodes.max(1);
    let pinned: Vec<Pinned> = plan
        .services()
        .filter_map(|(i, d)| d.placement.node_label.as_ref().map(|l| (i, l)))
        .enumerate()
        .map(|(k, (i, label))| Pinned {
            instance: i.name.clone(),
            label: label.clone(),
            node: u32::try_from(k).unwrap_or(u32::MAX) % nodes + 1,
        })
        .collect();
    let node_of = |i: &Instance| {
        pinned
            .iter()
            .find(|p| p.instance == i.name)
            .map(|p| p.node - 1)
    };
    let sentinels = Group {
        name: "sentinels".into(),
        path: if plan
            .redis
            .sentinels
            .iter()
            .any(|s| node_of(&s.instance).is_none())
        {
            "redis.sentinel.placement".into()
        } else if plan.redis.settings.sentinel.quorum > sentinel_majority(plan) {
            "redis.sentinel.quorum".into()
        } else {
            "redis.sentinel.count".into()
        },
        members: plan
            .redis
            .sentinels
            .iter()
            .map(|s| node_of(&s.instance))
            .collect(),
    };
    let pg = Group {
        name: "postgres".into(),
        path: stateful_path("postgres", node_of(&plan.postgres.primary().instance)),
        // The primary first (primary_group reads it there), then the standbys.
        members: std::iter::once(plan.postgres.primary())
            .chain(
                plan.postgres
                    .members()
                    .filter(|m| m.role != PgRole::Primary),
            )
            .map(|m| node_of(&m.instance))
            .collect(),
    };
    let redis = Group {
        name: "redis".into(),
        path: stateful_path("redis", node_of(&plan.redis.master.instance)),
        members: plan.redis.nodes().map(|n| node_of(&n.instance)).collect(),
    };
    let majority = sentinel_majority(plan);
    let sentinel_quorum = plan.redis.settings.sentinel.quorum;
    let mut replicated: Vec<(String, String, &Deployment)> = Vec::new();
    if let Some(d) = &plan.lb.instance.deployment {
        replicated.push(("load-balancer".into(), "load-balancer.instances".into(), d));
    }
    for (k, app) in plan.apps.iter().enumerate() {
        for i in &app.instances {
            if let Some(d) = &i.deployment {
                replicated.push((app.name.clone(), format!("services[{k}].replicas"), d));
            }
        }
    }
    let losses = (0..nodes)
        .map(|lost| {
            let mut groups: Vec<GroupVerdict> = replicated
                .iter()
                .map(|(name, path, d)| tier(name, path, d, nodes))
                .collect();
            groups.push(primary_group(&pg, lost, nodes, "primary", "standby"));
            groups.push(primary_group(&redis, lost, nodes, "master", "replica"));
            groups.push(quorum(&sentinels, lost, nodes, majority, sentinel_quorum));
            NodeLoss {
                node: lost + 1,
                groups,
            }
        })
        .collect();
    FailureDomains {
        nodes,
        pinned,
        losses,
    }
}

/// More than half of the Sentinels.
fn sentinel_majority(plan: &Plan) -> u32 {
    u32::try_from(plan.redis.sentinels.len()).unwrap_or(u32::MAX) / 2 + 1
}

/// `<tier>.placement` when the tier is not pinned, else `<tier>.replicas`.
fn stateful_path(tier: &str, pinned: Option<u32>) -> String {
    match pinned {
        Some(_) => format!("{tier}.replicas"),
        None => format!("{tier}.placement"),
    }
}

/// Whether the member may be on node `lost` (unpinned: the worst case).
fn may_be_on(member: Option<u32>, lost: u32) -> bool {
    member.is_none_or(|n| n == lost)
}

/// A replicated service: the most tasks Swarm may put on one node are lost.
fn tier(name: &str, path: &str, d: &Deployment, nodes: u32) -> GroupVerdict {
    let total = d.replicas;
    let per_node = match d.placement.max_replicas_per_node {
        Some(m) if nodes > 1 => m.min(total),
        _ => total,
    };
    let remaining = total - per_node;
    let detail = if remaining >= 1 {
        format!("{remaining} of {total} tasks remain")
    } else if nodes == 1 {
        format!("all {total} tasks were on the only node")
    } else if d.placement.max_replicas_per_node.is_none() {
        format!("no max_replicas_per_node: all {total} task(s) may be on this node")
    } else {
        format!("{per_node} task(s) per node: none remain")
    };
    GroupVerdict {
        group: name.to_owned(),
        remaining,
        total,
        needed: 1,
        survives: remaining >= 1,
        detail,
        path: path.to_owned(),
        help: help(name, path),
    }
}

/// PostgreSQL or Redis: the first member is the primary; when its node is
/// lost, a member elsewhere must remain to promote.
fn primary_group(g: &Group, lost: u32, nodes: u32, primary: &str, standby: &str) -> GroupVerdict {
    let total = u32::try_from(g.members.len()).unwrap_or(u32::MAX);
    let gone = |m: &Option<u32>| nodes == 1 || may_be_on(*m, lost);
    let remaining = g.members.iter().filter(|m| !gone(m)).count();
    let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
    let primary_lost = g.members.first().is_some_and(gone);
    let (survives, detail) = if !primary_lost {
        (true, format!("the {primary} remains"))
    } else if remaining >= 1 {
        (
            true,
            format!("{primary} lost; {remaining} {standby}(s) remain to promote"),
        )
    } else if g.members.iter().any(Option::is_none) && nodes > 1 {
        (
            false,
            format!("unpinned: the {primary} and every {standby} may be on this node"),
        )
    } else {
        (
            false,
            format!("{primary} lost and no {standby} remains to promote"),
        )
    };
    GroupVerdict {
        group: g.name.clone(),
        remaining,
        total,
        needed: 1,
        survives,
        detail,
        path: g.path.clone(),
        help: help(&g.name, &g.path),
    }
}

/// Sentinels: a majority (to authorize a failover) and the quorum (to
/// agree the master is down) must remain.
fn quorum(g: &Group, lost: u32, nodes: u32, majority: u32, quorum: u32) -> GroupVerdict {
    let needed = majority.max(quorum);
    let need = if quorum > majority {
        format!("the quorum of {quorum}")
    } else {
        format!("the majority of {majority}")
    };
    let total = u32::try_from(g.members.len()).unwrap_or(u32::MAX);
    let remaining = g
        .members
        .iter()
        .filter(|m| nodes > 1 && !may_be_on(**m, lost))
        .count();
    let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
    let unpinned = g.members.iter().any(Option::is_none) && nodes > 1;
    let detail = if remaining >= needed {
        format!("{remaining} of {total} remain ({need})")
    } else if unpinned {
        format!(
            "unpinned: {} of {total} may be on this node",
            total - remaining
        )
    } else {
        format!(
            "{} of {total} on this node; {remaining} remain, below {need}",
            total - remaining
        )
    };
    let help = if quorum > majority && !unpinned {
        format!(
            "lower `quorum` to the majority of {majority}, so the Sentinels left after one loss can still agree"
        )
    } else {
        help(&g.name, &g.path)
    };
    GroupVerdict {
        group: g.name.clone(),
        remaining,
        total,
        needed,
        survives: remaining >= needed,
        detail,
        path: g.path.clone(),
        help,
    }
}

impl FailureDomains {
    /// True when the loss of any one node leaves every group working.
    pub fn survives_any_node(&self) -> bool {
        self.losses
            .iter()
            .all(|l| l.groups.iter().all(|g| g.survives))
    }

    /// One finding per group that some node's loss breaks, naming those
    /// nodes (`node-loss-breaks-ha`), at the topology key to change.
    pub fn findings(&self) -> Vec<Finding> {
        let Some(first) = self.losses.first() else {
            return Vec::new();
        };
        if self.nodes == 1 {
            return vec![Finding::new(
                Code::NodeLossBreaksHa,
                "capacity.nodes",
                "one node: losing it stops every tier",
                "run on at least 3 nodes for a stack that survives the loss of one \
                 (`pf-render plan FILE --failure-domains` shows what each loss leaves)",
            )];
        }
        let mut out = Vec::new();
        for (k, group) in first.groups.iter().enumerate() {
            let broken: Vec<(u32, &GroupVerdict)> = self
                .losses
                .iter()
                .filter_map(|l| l.groups.get(k).map(|g| (l.node, g)))
                .filter(|(_, g)| !g.survives)
                .collect();
            let Some((node, worst)) = broken.first() else {
                continue;
            };
            let nodes: Vec<String> = broken.iter().map(|(n, _)| n.to_string()).collect();
            out.push(Finding::new(
                Code::NodeLossBreaksHa,
                group.path.clone(),
                format!(
                    "{}: losing node {node} of {} leaves too little ({}){}",
                    group.group,
                    self.nodes,
                    worst.detail,
                    if broken.len() > 1 {
                        format!("; so does losing node {}", nodes[1..].join(", "))
                    } else {
                        String::new()
                    }
                ),
                worst.help.clone(),
            ));
        }
        out
    }
}

/// How to fix a broken group.
fn help(group: &str, path: &str) -> String {
    if path.ends_with(".placement") {
        return "use `placement = \"node-labels\"` (the default) so each member is pinned to \
                its own node"
            .into();
    }
    match group {
        "sentinels" => "run as many nodes as Sentinels, so no node carries two".into(),
        "postgres" | "redis" => "add a replica, or nodes so that it lands on another node".into(),
        "load-balancer" => "run at least 2 instances on at least 2 edge nodes".into(),
        _ => "run at least 2 replicas on at least 2 nodes".into(),
    }
}

/// The table `pf-render plan FILE --failure-domains` prints.
pub fn table(fd: &FailureDomains) -> String {
    let mut out = String::new();
    out.push_str(&format!("{} node(s); pinned by node label:\n", fd.nodes));
    for p in &fd.pinned {
        out.push_str(&format!("  node {}  {}\n", p.node, p.instance));
    }
    let width = fd
        .losses
        .iter()
        .flat_map(|l| &l.groups)
        .map(|g| g.group.len())
        .max()
        .unwrap_or(0);
    for loss in &fd.losses {
        out.push_str(&format!("\nnode {} lost:\n", loss.node));
        for g in &loss.groups {
            out.push_str(&format!(
                "  {:<width$}  {:<6}  {}\n",
                g.group,
                if g.survives { "ok" } else { "BROKEN" },
                g.detail
            ));
        }
    }
    out.push_str(if fd.survives_any_node() {
        "\nthe loss of any one node leaves every group working\n"
    } else {
        "\nsome node's loss breaks a group (see BROKEN above)\n"
    });
    out
}
