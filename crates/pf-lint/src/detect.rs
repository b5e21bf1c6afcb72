//! What kind of file a text is, and which target a stack file is for.

use crate::rules::{FileKind, Target};
use crate::yaml::Node;

/// The kind of a file, from its name and contents; `None` when it is none
/// of the kinds the catalog reads.
pub fn detect(name: &str, text: &str) -> Option<FileKind> {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base == "pg_hba.conf" {
        return Some(FileKind::PgHba);
    }
    if base.ends_with(".yml") || base.ends_with(".yaml") {
        return is_stack(text).then_some(FileKind::Stack);
    }
    // Scripts and documents can quote config lines; they are not configs.
    if text.starts_with("#!")
        || [".md", ".sh", ".toml", ".json", ".py"]
            .iter()
            .any(|e| base.ends_with(e))
    {
        return None;
    }
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    if lines
        .iter()
        .any(|t| t[0] == "sentinel" && t.get(1) == Some(&"monitor"))
    {
        return Some(FileKind::Sentinel);
    }
    let block = |t: &Vec<&str>| {
        matches!(
            t[0],
            "http" | "events" | "stream" | "server" | "upstream" | "location"
        ) && t.last().is_some_and(|l| l.ends_with('{'))
    };
    if lines.iter().any(block) {
        return Some(FileKind::Nginx);
    }
    const HBA: &[&str] = &[
        "local",
        "host",
        "hostssl",
        "hostnossl",
        "hostgssenc",
        "hostnogssenc",
    ];
    if lines
        .iter()
        .all(|t| HBA.contains(&t[0]) && t.len() >= 4 || t[0].starts_with("include"))
    {
        return Some(FileKind::PgHba);
    }
    // Redis configs are `directive args`, never `key = value`.
    const REDIS_ONLY: &[&str] = &[
        "requirepass",
        "masterauth",
        "replicaof",
        "slaveof",
        "appendonly",
        "protected-mode",
        "maxmemory",
        "aclfile",
        "rename-command",
        "dbfilename",
        "replica-priority",
        "min-replicas-to-write",
    ];
    if lines.iter().all(|t| t.get(1) != Some(&"="))
        && lines
            .iter()
            .any(|t| REDIS_ONLY.contains(&t[0].to_ascii_lowercase().as_str()))
    {
        return Some(FileKind::Redis);
    }
    None
}

fn is_stack(text: &str) -> bool {
    crate::yaml::parse(text)
        .map(|d| d.root.get("services").is_some_and(Node::is_map))
        // A YAML file that does not parse is still reported, if named so.
        .unwrap_or_else(|_| text.lines().any(|l| l.starts_with("services:")))
}

/// The target of a stack file and what decided it.
pub(crate) fn target(root: &Node) -> (Target, String) {
    if let Some(v) = root.get("version").and_then(Node::as_str)
        && v.starts_with('3')
    {
        return (
            Target::Swarm,
            format!("assumed from `version: \"{v}\"`; use --target compose for docker compose"),
        );
    }
    for (name, svc) in root.get("services").map(Node::entries).unwrap_or_default() {
        let Some(deploy) = svc.get("deploy") else {
            continue;
        };
        for key in [
            "placement",
            "update_config",
            "rollback_config",
            "endpoint_mode",
        ] {
            if deploy.get(key).is_some() {
                return (
                    Target::Swarm,
                    format!(
                        "assumed from `deploy.{key}` in service `{}`; use --target compose for docker compose",
                        name.as_str().unwrap_or_default()
                    ),
                );
            }
        }
        if deploy.get("mode").and_then(Node::as_str) == Some("global") {
            return (
                Target::Swarm,
                "assumed from `deploy.mode: global`; use --target compose for docker compose"
                    .to_owned(),
            );
        }
    }
    for (name, net) in root.get("networks").map(Node::entries).unwrap_or_default() {
        if net.get("driver").and_then(Node::as_str) == Some("overlay") {
            return (
                Target::Swarm,
                format!(
                    "assumed from the overlay network `{}`; use --target compose for docker compose",
                    name.as_str().unwrap_or_default()
                ),
            );
        }
    }
    (
        Target::Compose,
        "assumed: no `version: \"3.x\"` and no Swarm-only keys; use --target swarm for docker stack deploy".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognised_by_contents() {
        assert_eq!(
            detect("a.yml", "services:\n  a:\n    image: x\n"),
            Some(FileKind::Stack)
        );
        assert_eq!(
            detect("prometheus.yml", "global:\n  scrape_interval: 15s\n"),
            None
        );
        assert_eq!(detect("x.conf", "http {\n}\n"), Some(FileKind::Nginx));
        assert_eq!(
            detect(
                "hba",
                "# c\nlocal all all trust\nhost all all 10.0.0.0/8 scram-sha-256\n"
            ),
            Some(FileKind::PgHba)
        );
        assert_eq!(
            detect("m.conf", "bind 0.0.0.0\nappendonly yes\n"),
            Some(FileKind::Redis)
        );
        assert_eq!(
            detect("s.conf", "port 26379\nsentinel monitor m h 6379 2\n"),
            Some(FileKind::Sentinel)
        );
        assert_eq!(
            detect("postgresql.conf", "port = 5432\nmaxmemory = 1\n"),
            None
        );
        assert_eq!(detect("empty", ""), None);
        assert_eq!(detect("README.md", "```nginx\nhttp {\n}\n```\n"), None);
    }
}
