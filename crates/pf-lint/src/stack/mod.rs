//! Stack and Compose files: what a service is, then the rule groups.

mod ha;
mod network;
mod resources;
mod secrets;
mod security;
mod swarm;

use crate::rules::{Rule, Target};
use crate::source::FileCx;
use crate::yaml::{Node, Pos};

/// What a service is for; decides which rules make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    LoadBalancer,
    Database,
    Cache,
    Sentinel,
    Other,
}

/// One service of the file.
pub(crate) struct Svc<'a> {
    pub(crate) name: &'a str,
    pub(crate) key: &'a Node,
    pub(crate) node: &'a Node,
    pub(crate) image: Option<Image<'a>>,
    pub(crate) role: Role,
    /// Keeps data on a named volume, or is a database, cache or Sentinel.
    pub(crate) stateful: bool,
    /// `None` for `mode: global`.
    pub(crate) replicas: Option<u64>,
}

/// An image reference split into its parts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Image<'a> {
    pub(crate) full: &'a str,
    /// The last path component of the repository (`postgres`, `prometheus`).
    pub(crate) repo: &'a str,
    pub(crate) tag: Option<&'a str>,
    pub(crate) digest: bool,
}

impl<'a> Image<'a> {
    pub(crate) fn parse(full: &'a str) -> Self {
        let (name, digest) = match full.split_once('@') {
            Some((n, _)) => (n, true),
            None => (full, false),
        };
        let last = name.rsplit('/').next().unwrap_or(name);
        let (repo, tag) = match last.split_once(':') {
            Some((r, t)) => (r, Some(t)),
            None => (last, None),
        };
        Self {
            full,
            repo,
            tag,
            digest,
        }
    }
}

/// The stack being checked.
pub(crate) struct Stack<'a> {
    pub(crate) root: &'a Node,
    pub(crate) target: Target,
    pub(crate) services: Vec<Svc<'a>>,
}

impl<'a> Svc<'a> {
    /// A finding about this service.
    pub(crate) fn report(
        &self,
        cx: &mut FileCx<'_>,
        rule: Rule,
        pos: Pos,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let path = if path.is_empty() {
            format!("services.{}", self.name)
        } else {
            format!("services.{}.{path}", self.name)
        };
        cx.report(
            pos,
            pf_diag::Finding::new(rule, path, message, help).in_service(self.name),
        );
    }

    /// The node at a path under the service.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&'a Node> {
        self.node.at(path)
    }

    /// Where a finding about a missing key goes: the deepest existing
    /// mapping on its path, else the service name.
    pub(crate) fn anchor(&self, path: &[&str]) -> Pos {
        let mut pos = self.key.pos;
        let mut node = self.node;
        for k in path {
            match node.entry(k) {
                Some((key, value)) => {
                    pos = key.pos;
                    node = value;
                }
                None => break,
            }
        }
        pos
    }

    /// Strings of `command` and `entrypoint`.
    fn launch_words(node: &Node) -> String {
        ["entrypoint", "command"]
            .iter()
            .filter_map(|k| node.get(k))
            .flat_map(|n| n.strings().into_iter().map(|(s, _)| s.to_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

const PROXIES: &[&str] = &[
    "nginx",
    "haproxy",
    "traefik",
    "envoy",
    "caddy",
    "httpd",
    "openresty",
];
const LB_WORDS: &[&str] = &[
    "lb",
    "proxy",
    "loadbalancer",
    "balancer",
    "gateway",
    "ingress",
    "edge",
];
const DATABASES: &[&str] = &[
    "postgres",
    "postgis",
    "timescaledb",
    "mysql",
    "mariadb",
    "mongo",
    "mongodb",
    "cockroach",
];
const CACHES: &[&str] = &[
    "redis",
    "valkey",
    "keydb",
    "memcached",
    "redis-stack-server",
];

fn role(name: &str, node: &Node, image: Option<&Image<'_>>) -> Role {
    let repo = image
        .map(|i| i.repo.to_ascii_lowercase())
        .unwrap_or_default();
    let launch = Svc::launch_words(node).to_ascii_lowercase();
    if launch.contains("sentinel")
        || (CACHES.contains(&repo.as_str()) && name.to_ascii_lowercase().contains("sentinel"))
    {
        return Role::Sentinel;
    }
    if CACHES.contains(&repo.as_str()) {
        return Role::Cache;
    }
    if DATABASES.contains(&repo.as_str()) {
        return Role::Database;
    }
    let words: Vec<String> = name
        .to_ascii_lowercase()
        .split(['-', '_', '.'])
        .map(str::to_owned)
        .collect();
    if PROXIES.contains(&repo.as_str()) && node.get("ports").is_some()
        || words.iter().any(|w| LB_WORDS.contains(&w.as_str()))
    {
        return Role::LoadBalancer;
    }
    Role::Other
}

/// True when a volume entry is a named volume (state that outlives the
/// container), not a bind mount or tmpfs.
pub(crate) fn is_named_volume(v: &Node) -> bool {
    if let Some(s) = v.as_str() {
        let source = s.split(':').next().unwrap_or_default();
        return s.contains(':')
            && !source.starts_with('/')
            && !source.starts_with('.')
            && !source.starts_with('~')
            && !source.starts_with('$');
    }
    v.get("type").and_then(Node::as_str) == Some("volume")
}

fn replicas(node: &Node, target: Target) -> Option<u64> {
    let deploy = node.get("deploy");
    if deploy.and_then(|d| d.get("mode")).and_then(Node::as_str) == Some("global") {
        return None;
    }
    if let Some(r) = deploy
        .and_then(|d| d.get("replicas"))
        .and_then(Node::as_u64)
    {
        return Some(r);
    }
    if target == Target::Compose
        && let Some(s) = node.get("scale").and_then(Node::as_u64)
    {
        return Some(s);
    }
    Some(1)
}

/// Lints a stack or Compose file.
pub(crate) fn check(cx: &mut FileCx<'_>, target: Option<Target>) {
    let text = cx.text;
    let doc = match crate::yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            cx.simple(
                Rule::YamlSyntax,
                e.pos,
                "",
                format!("YAML syntax: {}", e.message),
                "fix the syntax at the marked position",
            );
            return;
        }
    };
    for key in &doc.duplicate_keys {
        cx.simple(
            Rule::YamlDuplicateKey,
            key.pos,
            key.as_str().unwrap_or_default(),
            format!(
                "`{}` is defined twice in this mapping",
                key.as_str().unwrap_or_default()
            ),
            "remove one of them: the Compose and Swarm loaders reject the file",
        );
    }
    let root = &doc.root;
    let (target, reason) = match target {
        Some(t) => (t, "set by --target".to_owned()),
        None => crate::detect::target(root),
    };
    cx.target = Some(target);
    cx.target_reason = Some(reason);
    crate::waiver::from_yaml(cx, root);

    let services: Vec<Svc<'_>> = root
        .get("services")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter(|(_, v)| v.is_map())
        .map(|(k, v)| {
            let image = v.get("image").and_then(Node::as_str).map(Image::parse);
            let role = role(k.as_str().unwrap_or_default(), v, image.as_ref());
            let named_volume = v
                .get("volumes")
                .is_some_and(|vs| vs.items().iter().any(is_named_volume));
            Svc {
                name: k.as_str().unwrap_or_default(),
                key: k,
                node: v,
                image,
                role,
                stateful: named_volume
                    || matches!(role, Role::Database | Role::Cache | Role::Sentinel),
                replicas: replicas(v, target),
            }
        })
        .collect();
    let stack = Stack {
        root,
        target,
        services,
    };
    swarm::check(cx, &stack);
    security::check(cx, &stack);
    resources::check(cx, &stack);
    ha::check(cx, &stack);
    network::check(cx, &stack);
    secrets::check(cx, &stack);
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::{Input, Options, Report, Target, lint};

    /// Lints one stack text for a target.
    pub(crate) fn lint_stack(text: &str, target: Target) -> Report {
        let input = Input {
            name: "s.yml".into(),
            text: text.into(),
            kind: crate::FileKind::Stack,
        };
        lint(
            &[input],
            &Options {
                target: Some(target),
            },
        )
    }

    /// The codes found, with their lines.
    pub(crate) fn codes(report: &Report) -> Vec<(String, usize)> {
        report
            .findings
            .iter()
            .map(|f| (f.code.name().to_owned(), f.location.line))
            .collect()
    }

    pub(crate) fn has(report: &Report, code: &str, line: usize) -> bool {
        codes(report).contains(&(code.to_owned(), line))
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        let i = super::Image::parse("localhost:5000/team/app:1.2@sha256:abc");
        assert_eq!((i.repo, i.tag, i.digest), ("app", Some("1.2"), true));
        let i = super::Image::parse("nginx");
        assert_eq!((i.repo, i.tag), ("nginx", None));
    }
}
