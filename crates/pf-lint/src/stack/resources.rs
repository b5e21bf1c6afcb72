//! Limits, health checks and restart policies (catalog checks 11-15).

use super::{Role, Stack, Svc};
use crate::rules::{Rule, Target};
use crate::source::FileCx;
use crate::yaml::Node;

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    for svc in &stack.services {
        limits(cx, svc, stack.target);
        health(cx, svc);
        restart(cx, svc, stack.target);
    }
}

fn limits(cx: &mut FileCx<'_>, svc: &Svc<'_>, target: Target) {
    let limit = |k: &str| svc.at(&["deploy", "resources", "limits", k]);
    let compose = target == Target::Compose;
    let anchor = svc.anchor(&["deploy", "resources", "limits"]);
    let path = "deploy.resources.limits";

    let memory = limit("memory").or(if compose {
        svc.node.get("mem_limit")
    } else {
        None
    });
    if memory.is_none_or(|m| m.is_null()) {
        svc.report(
            cx,
            Rule::MemoryLimitMissing,
            anchor,
            path,
            format!("`{}` has no memory limit", svc.name),
            "set `deploy.resources.limits.memory` (for example `512M`)",
        );
    }
    let cpus = limit("cpus").or(if compose { svc.node.get("cpus") } else { None });
    if cpus.is_none_or(|c| c.is_null()) {
        svc.report(
            cx,
            Rule::CpuLimitMissing,
            anchor,
            path,
            format!("`{}` has no CPU limit", svc.name),
            "set `deploy.resources.limits.cpus` (a quoted string: `'0.5'`)",
        );
    }
    let pids = limit("pids").or(if compose {
        svc.node.get("pids_limit")
    } else {
        None
    });
    // docker-bench counts 0 and -1 as "no limit" too.
    let set = pids
        .and_then(Node::as_str)
        .and_then(|p| p.trim().parse::<i64>().ok())
        .is_some_and(|p| p > 0);
    if !set {
        svc.report(
            cx,
            Rule::PidsLimitMissing,
            pids.map_or(anchor, |p| p.pos),
            path,
            format!("`{}` has no PIDs limit", svc.name),
            "set `deploy.resources.limits.pids` (file format 3.9+), for example 1024",
        );
    }
}

fn health(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    let Some((key, hc)) = svc.node.entry("healthcheck") else {
        svc.report(
            cx,
            Rule::HealthcheckMissing,
            svc.key.pos,
            "healthcheck",
            format!("`{}` has no health check", svc.name),
            "add a `healthcheck` that probes the process on 127.0.0.1 inside the container",
        );
        return;
    };
    let test: Vec<(String, crate::yaml::Pos)> = hc
        .get("test")
        .map(|t| {
            t.strings()
                .into_iter()
                .map(|(s, p)| (s.to_owned(), p))
                .collect()
        })
        .unwrap_or_default();
    let disabled = hc.get("disable").and_then(Node::as_bool) == Some(true)
        || test.first().is_some_and(|(t, _)| t == "NONE");
    if disabled {
        svc.report(
            cx,
            Rule::HealthcheckMissing,
            key.pos,
            "healthcheck",
            format!("`{}` disables its health check", svc.name),
            "remove `disable: true` / `NONE` and probe the process",
        );
        return;
    }
    let command: String = test
        .iter()
        .filter(|(t, _)| !matches!(t.as_str(), "CMD" | "CMD-SHELL"))
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')'))
        .collect();
    if matches!(svc.role, Role::Database | Role::Cache | Role::Sentinel) {
        let alpine = svc
            .image
            .and_then(|i| i.tag)
            .is_some_and(|t| t.contains("alpine"));
        for tool in ["curl", "wget"] {
            if words.contains(&tool) && (tool == "curl" || !alpine) {
                let pos = test
                    .iter()
                    .find(|(t, _)| t.contains(tool))
                    .map_or(key.pos, |(_, p)| *p);
                svc.report(
                    cx,
                    Rule::HealthcheckToolMissing,
                    pos,
                    "healthcheck.test",
                    format!(
                        "`{}` probes with `{tool}`, which the `{}` image does not ship",
                        svc.name,
                        svc.image.map_or("", |i| i.full)
                    ),
                    "use the server's own client: `pg_isready -h 127.0.0.1`, `redis-cli -e -p PORT ping`",
                );
            }
        }
    }
    for (t, pos) in &test {
        if let Some(var) = unescaped_variable(t) {
            svc.report(
                cx,
                Rule::HealthcheckUnescapedVariable,
                *pos,
                "healthcheck.test",
                format!(
                    "`${var}` in the health check of `{}` is replaced when the file is loaded",
                    svc.name
                ),
                format!("write `$${var}` for the container's variable"),
            );
        }
    }
}

/// The first `$NAME` or `${NAME}` not written as `$$`.
pub(super) fn unescaped_variable(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            if chars.get(i + 1) == Some(&'$') {
                i += 2;
                continue;
            }
            let rest: String = chars[i + 1..]
                .iter()
                .skip_while(|c| **c == '{')
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .collect();
            if rest
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            {
                return Some(rest);
            }
        }
        i += 1;
    }
    None
}

fn restart(cx: &mut FileCx<'_>, svc: &Svc<'_>, target: Target) {
    let policy = svc.at(&["deploy", "restart_policy"]);
    let condition = policy
        .and_then(|p| p.get("condition"))
        .and_then(Node::as_str);
    let attempts = policy
        .and_then(|p| p.get("max_attempts"))
        .and_then(Node::as_u64)
        .unwrap_or(0);
    let unbounded = |cx: &mut FileCx<'_>, pos, what: String| {
        svc.report(
            cx,
            Rule::RestartPolicyUnbounded,
            pos,
            "deploy.restart_policy",
            format!("`{}` {what}", svc.name),
            "bound it (`deploy.restart_policy.max_attempts` with a `window`; `on-failure:5` in Compose), or waive it as an HA trade-off",
        );
    };
    match target {
        Target::Swarm => {
            if condition == Some("none") {
                return;
            }
            match policy {
                None => unbounded(
                    cx,
                    svc.anchor(&["deploy", "restart_policy"]),
                    "has no `deploy.restart_policy`: Swarm restarts it forever".to_owned(),
                ),
                Some(_) if attempts == 0 => unbounded(
                    cx,
                    svc.anchor(&["deploy", "restart_policy", "max_attempts"]),
                    "restarts forever (no `max_attempts`)".to_owned(),
                ),
                Some(_) => {}
            }
        }
        Target::Compose => {
            if let Some(v) = svc.node.get("restart") {
                let r = v.as_str().unwrap_or_default();
                match r.split(':').next().unwrap_or_default() {
                    "no" | "" => svc.report(
                        cx,
                        Rule::RestartPolicyMissing,
                        v.pos,
                        "restart",
                        format!("`{}` is never restarted (`restart: \"{r}\"`)", svc.name),
                        "use `restart: on-failure:5` or `unless-stopped`",
                    ),
                    "on-failure" if r.contains(':') => {}
                    _ => unbounded(cx, v.pos, format!("restarts forever (`restart: {r}`)")),
                }
                return;
            }
            match (policy, condition) {
                (None, _) | (Some(_), Some("none")) => svc.report(
                    cx,
                    Rule::RestartPolicyMissing,
                    svc.key.pos,
                    "restart",
                    format!(
                        "`{}` has no restart policy: a crashed container stays down",
                        svc.name
                    ),
                    "add `restart: on-failure:5` (bounded) or `unless-stopped`",
                ),
                (Some(_), Some("on-failure")) if attempts > 0 => {}
                (Some(p), _) => unbounded(
                    cx,
                    p.pos,
                    "restarts forever (Docker Engine bounds only `on-failure`)".to_owned(),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unescaped_variable;

    #[test]
    fn double_dollars_are_escapes() {
        assert_eq!(
            unescaped_variable("pg_isready -U \"$$POSTGRES_USER\""),
            None
        );
        assert_eq!(
            unescaped_variable("pg_isready -U $POSTGRES_USER"),
            Some("POSTGRES_USER".into())
        );
        assert_eq!(unescaped_variable("echo ${A}"), Some("A".into()));
        assert_eq!(unescaped_variable("cost: 5$"), None);
    }
}
