//! What `docker stack deploy` does with a file: keys it ignores or
//! rejects, `cpus` that must be strings, immutable configs, and the enum
//! values the engine accepts.

use super::{Stack, Svc};
use crate::rules::{Rule, Target};
use crate::source::FileCx;
use crate::yaml::Node;

/// docker/cli `cli/compose/types/types.go` UnsupportedProperties.
const UNSUPPORTED: &[&str] = &[
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "userns_mode",
];

/// DeprecatedProperties.
const DEPRECATED: &[&str] = &["container_name", "expose"];

/// ForbiddenProperties: a hard error.
const FORBIDDEN: &[&str] = &[
    "extends",
    "volume_driver",
    "volumes_from",
    "cpu_quota",
    "cpu_shares",
    "cpuset",
    "mem_limit",
    "memswap_limit",
];

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    if stack.target == Target::Swarm
        && let Some((key, _)) = stack.root.entry("name")
    {
        cx.simple(
            Rule::KeyRejectedByStackDeploy,
            key.pos,
            "name",
            "a top-level `name` is not in the v3 file format: `docker stack config` rejects the file",
            "remove it: the stack name is the argument of `docker stack deploy`",
        );
    }
    for svc in &stack.services {
        keys(cx, svc);
        cpus(cx, svc);
        enums(cx, svc);
        if svc.image.is_none() {
            svc.report(
                cx,
                Rule::ImageMissing,
                svc.key.pos,
                "",
                format!("service `{}` has no `image`", svc.name),
                "build and push the image, then set `image: registry/name:version`",
            );
        }
        if svc.at(&["deploy", "mode"]).and_then(Node::as_str) == Some("global")
            && let Some((k, _)) = svc.at(&["deploy"]).and_then(|d| d.entry("replicas"))
        {
            svc.report(
                cx,
                Rule::ReplicasWithGlobalMode,
                k.pos,
                "deploy.replicas",
                "`replicas` with `mode: global`",
                "remove `replicas` (global runs one task per node) or use `mode: replicated`",
            );
        }
        if let Some((k, _)) = svc.node.entry("container_name")
            && svc.replicas.is_some_and(|r| r > 1)
        {
            svc.report(
                cx,
                Rule::ContainerNameWithReplicas,
                k.pos,
                "container_name",
                format!(
                    "`container_name` on `{}`, which runs {} replicas",
                    svc.name,
                    svc.replicas.unwrap_or_default()
                ),
                "remove `container_name`, or define one service per instance",
            );
        }
    }
    for section in ["configs", "secrets"] {
        for (key, obj) in stack
            .root
            .get(section)
            .map(Node::entries)
            .unwrap_or_default()
        {
            if obj.get("file").is_some() && obj.get("name").is_none() {
                cx.simple(
                    Rule::ConfigNotVersioned,
                    key.pos,
                    format!("{section}.{}", key.as_str().unwrap_or_default()),
                    format!(
                        "{} `{}` is read from a file but has no versioned `name`",
                        &section[..section.len() - 1],
                        key.as_str().unwrap_or_default()
                    ),
                    "add `name: <stack>_<key>_<content hash>` so a changed file becomes a new object",
                );
            }
        }
    }
}

fn keys(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    for (key, _) in svc.node.entries() {
        let Some(k) = key.as_str() else { continue };
        let (rule, message, help) = if FORBIDDEN.contains(&k) {
            (
                Rule::KeyRejectedByStackDeploy,
                format!(
                    "`{k}` makes `docker stack deploy` fail (\"compose file contains unsupported options\")"
                ),
                if k.starts_with("mem") || k.starts_with("cpu") {
                    "set resource limits in `deploy.resources.limits`"
                } else {
                    "remove it; repeat the settings in the service (YAML anchors can share them)"
                },
            )
        } else if UNSUPPORTED.contains(&k) || DEPRECATED.contains(&k) {
            (
                Rule::KeyIgnoredByStackDeploy,
                format!(
                    "`docker stack deploy` ignores `{k}` (\"Ignoring {} options\")",
                    if DEPRECATED.contains(&k) {
                        "deprecated"
                    } else {
                        "unsupported"
                    }
                ),
                match k {
                    "restart" => {
                        "use `deploy.restart_policy` (condition, delay, max_attempts, window)"
                    }
                    "container_name" => "remove it: Swarm names tasks `<stack>_<service>.<slot>`",
                    "build" => "build and push the image before deploying",
                    "links" | "external_links" => {
                        "remove it: services on a shared network reach each other by name"
                    }
                    "security_opt" | "privileged" => {
                        "remove it: Swarm services cannot set it (see the no-new-privileges exception)"
                    }
                    _ => "remove it, or deploy this file with docker compose",
                },
            )
        } else if k == "depends_on" {
            (
                Rule::KeyIgnoredByStackDeploy,
                "`docker stack deploy` drops `depends_on` without a word: Swarm starts every service at once".to_owned(),
                "make clients retry until their dependencies answer; health checks keep unready tasks out of DNS",
            )
        } else {
            continue;
        };
        svc.report(cx, rule, key.pos, k, message, help);
    }
}

fn cpus(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    for section in ["limits", "reservations"] {
        if let Some(n) = svc.at(&["deploy", "resources", section, "cpus"])
            && n.is_number()
        {
            svc.report(
                cx,
                Rule::CpusNotString,
                n.pos,
                &format!("deploy.resources.{section}.cpus"),
                format!("`cpus: {}` is a number", n.as_str().unwrap_or_default()),
                format!("quote it: `cpus: '{}'`", n.as_str().unwrap_or_default()),
            );
        }
    }
}

fn enums(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    let checks: [(&[&str], &[&str]); 5] = [
        (
            &["deploy", "update_config", "failure_action"],
            &["continue", "pause", "rollback"],
        ),
        (
            &["deploy", "rollback_config", "failure_action"],
            &["continue", "pause"],
        ),
        (
            &["deploy", "update_config", "order"],
            &["stop-first", "start-first"],
        ),
        (
            &["deploy", "rollback_config", "order"],
            &["stop-first", "start-first"],
        ),
        (
            &["deploy", "restart_policy", "condition"],
            &["none", "on-failure", "any"],
        ),
    ];
    for (path, allowed) in checks {
        if let Some(n) = svc.at(path)
            && let Some(v) = n.as_str()
            && !allowed.contains(&v)
        {
            svc.report(
                cx,
                Rule::InvalidDeployValue,
                n.pos,
                &path.join("."),
                format!(
                    "`{}: {v}` is not a value the engine accepts",
                    path[path.len() - 1]
                ),
                format!("use one of: {}", allowed.join(", ")),
            );
        }
    }
}
