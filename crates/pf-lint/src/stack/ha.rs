//! High availability on a stack file: enough instances, spread over
//! nodes, safe rolling updates (catalog checks 16-20).

use std::collections::BTreeMap;

use super::{Role, Stack, Svc};
use crate::rules::{Rule, Target};
use crate::source::FileCx;
use crate::yaml::Node;

/// Tags that move.
const FLOATING: &[&str] = &[
    "latest", "stable", "mainline", "alpine", "lts", "edge", "current", "slim", "bookworm",
];

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    single_instances(cx, stack);
    sentinels(cx, stack);
    for svc in &stack.services {
        images(cx, svc);
        spread(cx, svc);
        rollout(cx, svc);
    }
}

/// A one-shot job is not a tier.
fn is_job(svc: &Svc<'_>) -> bool {
    svc.at(&["deploy", "restart_policy", "condition"])
        .and_then(Node::as_str)
        == Some("none")
        || svc.at(&["deploy", "mode"]).and_then(Node::as_str) == Some("replicated-job")
        || svc.node.get("restart").and_then(Node::as_str) == Some("no")
}

fn single_instances(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    // Compose runs one container per service, so a tier is every service
    // of one image (`backend1`, `backend2`, ...).
    let mut per_image: BTreeMap<&str, u64> = BTreeMap::new();
    for svc in &stack.services {
        if let (Some(i), Some(r)) = (svc.image, svc.replicas) {
            *per_image.entry(i.full).or_default() += r;
        }
    }
    for svc in &stack.services {
        if svc.stateful || is_job(svc) {
            continue;
        }
        let Some(replicas) = svc.replicas else {
            continue;
        };
        let count = match (stack.target, svc.image) {
            (Target::Compose, Some(i)) => per_image.get(i.full).copied().unwrap_or(replicas),
            _ => replicas,
        };
        if count < 2 {
            let pos = svc
                .at(&["deploy", "replicas"])
                .map_or(svc.key.pos, |n| n.pos);
            svc.report(
                cx,
                Rule::SingleReplicaStateless,
                pos,
                "deploy.replicas",
                format!("`{}` runs a single instance", svc.name),
                match stack.target {
                    Target::Swarm => "set `deploy.replicas: 2` or more",
                    Target::Compose => "run a second service with the same image (the guide's `backend1`, `backend2`, ...)",
                },
            );
        }
    }
}

fn node_constraints(svc: &Svc<'_>) -> Vec<String> {
    let mut c: Vec<String> = svc
        .at(&["deploy", "placement", "constraints"])
        .map(Node::strings)
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s.split_whitespace().collect::<String>())
        .filter(|s| s.starts_with("node.") && s.contains("=="))
        .collect();
    c.sort();
    c
}

fn max_per_node(svc: &Svc<'_>) -> Option<u64> {
    svc.at(&["deploy", "placement", "max_replicas_per_node"])
        .and_then(Node::as_u64)
}

fn sentinels(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    let sentinels: Vec<&Svc<'_>> = stack
        .services
        .iter()
        .filter(|s| s.role == Role::Sentinel)
        .collect();
    let Some(first) = sentinels.first() else {
        return;
    };
    let count: u64 = sentinels.iter().map(|s| s.replicas.unwrap_or(3)).sum();
    if count < 3 {
        first.report(
            cx,
            Rule::SentinelCountTooLow,
            first.key.pos,
            "",
            format!("{count} Sentinel instance(s); a failover needs a majority of at least three"),
            "run three Sentinels (five for two failures), each on its own host",
        );
    }
    if count < 2 {
        return; // nothing to share a node with
    }
    let mut seen: Vec<Vec<String>> = Vec::new();
    for s in &sentinels {
        let constraints = node_constraints(s);
        let shared = constraints.is_empty() || seen.contains(&constraints);
        let many = s.replicas.is_some_and(|r| r > 1);
        if (many && max_per_node(s) != Some(1)) || (!many && shared && max_per_node(s).is_none()) {
            s.report(
                cx,
                Rule::SentinelsNotSpread,
                s.anchor(&["deploy", "placement"]),
                "deploy.placement",
                format!(
                    "Sentinel `{}` may share a node with another Sentinel",
                    s.name
                ),
                "constrain each Sentinel to its own node (`node.labels.<stack>.<sentinel> == true`), or use `max_replicas_per_node: 1`",
            );
        }
        seen.push(constraints);
    }
}

fn spread(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    if svc.role == Role::Sentinel || svc.replicas.is_none_or(|r| r < 2) {
        return;
    }
    let preference = svc
        .at(&["deploy", "placement", "preferences"])
        .is_some_and(|p| p.items().iter().any(|i| i.get("spread").is_some()));
    if max_per_node(svc).is_none() && !preference {
        svc.report(
            cx,
            Rule::ReplicasNotSpread,
            svc.anchor(&["deploy", "placement"]),
            "deploy.placement",
            format!(
                "the {} replicas of `{}` may all run on one node",
                svc.replicas.unwrap_or_default(),
                svc.name
            ),
            "set `deploy.placement.max_replicas_per_node` (leave room for a lost node) or a `spread: node.id` preference",
        );
    }
}

fn rollout(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    if is_job(svc) {
        return;
    }
    for (key, rule) in [
        ("update_config", Rule::UpdateConfigMissing),
        ("rollback_config", Rule::RollbackConfigMissing),
    ] {
        if svc.at(&["deploy", key]).is_none() {
            svc.report(
                cx,
                rule,
                svc.anchor(&["deploy"]),
                &format!("deploy.{key}"),
                format!("`{}` has no `deploy.{key}`", svc.name),
                "state parallelism, delay, monitor, failure_action and order",
            );
        }
    }
    let replicas = svc.replicas.unwrap_or(0);
    if let Some(p) = svc.at(&["deploy", "update_config", "parallelism"])
        && let Some(n) = p.as_u64()
        && replicas >= 2
        && (n == 0 || n >= replicas)
    {
        svc.report(
            cx,
            Rule::UpdateAllAtOnce,
            p.pos,
            "deploy.update_config.parallelism",
            format!(
                "`parallelism: {n}` updates all {replicas} replicas of `{}` at once",
                svc.name
            ),
            format!("use a parallelism below {replicas}"),
        );
    }
    if svc.stateful && replicas <= 1 {
        for key in ["update_config", "rollback_config"] {
            if let Some(o) = svc.at(&["deploy", key, "order"])
                && o.as_str() == Some("start-first")
            {
                svc.report(
                    cx,
                    Rule::StartFirstStateful,
                    o.pos,
                    &format!("deploy.{key}.order"),
                    format!("`{}` keeps state but updates start-first", svc.name),
                    "use `order: stop-first`",
                );
            }
        }
    }
}

fn images(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    let Some(image) = svc.image else { return };
    if image.digest {
        return;
    }
    let floating = match image.tag {
        None => Some("no tag (means `latest`)".to_owned()),
        Some(t) if FLOATING.contains(&t) => Some(format!("the moving tag `{t}`")),
        Some(_) => None,
    };
    if let Some(what) = floating {
        let pos = svc.node.get("image").map_or(svc.key.pos, |n| n.pos);
        svc.report(
            cx,
            Rule::ImageTagFloating,
            pos,
            "image",
            format!("`{}` uses {what}", image.full),
            "pin a version (`nginx:1.28.0`) or a digest",
        );
    }
}
