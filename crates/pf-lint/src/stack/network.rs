//! Networks and published ports (catalog checks 21-25).

use super::{Role, Stack, Svc};
use crate::rules::{Rule, Target};
use crate::source::FileCx;
use crate::yaml::{Node, Pos};

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    let networks = stack.root.get("networks");
    for svc in &stack.services {
        let joined = joined_networks(svc);
        if joined.is_empty() && svc.node.get("network_mode").is_none() {
            svc.report(
                cx,
                Rule::NetworksNotSet,
                svc.key.pos,
                "networks",
                format!("`{}` joins the default network", svc.name),
                "declare networks per tier and list the ones this service needs",
            );
        }
        if matches!(svc.role, Role::Database | Role::Cache | Role::Sentinel) {
            let list = if joined.is_empty() {
                vec![("default", svc.key.pos)]
            } else {
                joined
            };
            for (name, pos) in list {
                let internal = networks
                    .and_then(|n| n.get(name))
                    .and_then(|n| n.get("internal"))
                    .and_then(Node::as_bool)
                    == Some(true);
                if !internal {
                    svc.report(
                        cx,
                        Rule::DataNetworkNotInternal,
                        pos,
                        "networks",
                        format!("`{}` is on the network `{name}`, which is not internal", svc.name),
                        "put databases and caches on a network with `internal: true`, shared only with the services that use them",
                    );
                }
            }
        }
        ports(cx, svc);
    }
    for (key, net) in networks.map(Node::entries).unwrap_or_default() {
        if net.get("external").and_then(Node::as_bool) == Some(true) {
            continue;
        }
        let driver = net.get("driver").and_then(Node::as_str);
        let overlay =
            driver == Some("overlay") || (driver.is_none() && stack.target == Target::Swarm);
        let encrypted = net
            .get("driver_opts")
            .and_then(|o| o.get("encrypted"))
            .is_some();
        if overlay && !encrypted {
            cx.simple(
                Rule::OverlayUnencrypted,
                key.pos,
                format!("networks.{}", key.as_str().unwrap_or_default()),
                format!(
                    "the overlay network `{}` is not encrypted",
                    key.as_str().unwrap_or_default()
                ),
                "add `driver_opts: {encrypted: \"\"}` and allow IP protocol 50 (ESP) between the hosts",
            );
        }
    }
}

/// Network names a service joins, with where they are written.
fn joined_networks<'a>(svc: &Svc<'a>) -> Vec<(&'a str, Pos)> {
    match svc.node.get("networks") {
        None => Vec::new(),
        Some(n) if n.is_map() => n
            .entries()
            .iter()
            .filter_map(|(k, _)| k.as_str().map(|s| (s, k.pos)))
            .collect(),
        Some(n) => n.strings(),
    }
}

/// One published port.
struct Published {
    pos: Pos,
    host_ip: Option<String>,
    port: Option<u64>,
}

fn parse_port(item: &Node) -> Option<Published> {
    if item.is_map() {
        return Some(Published {
            pos: item.pos,
            host_ip: item
                .get("host_ip")
                .and_then(Node::as_str)
                .map(str::to_owned),
            port: item
                .get("published")
                .and_then(Node::as_str)
                .and_then(|p| p.split('-').next())
                .and_then(|p| p.parse().ok()),
        });
    }
    let s = item.as_str()?;
    let s = s.split('/').next().unwrap_or(s);
    // [ip:][host:]container; an IPv6 address is in brackets.
    let (ip, rest) = if let Some(stripped) = s.strip_prefix('[') {
        let (ip, rest) = stripped.split_once("]:")?;
        (Some(ip.to_owned()), rest)
    } else {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() == 3 {
            (Some(parts[0].to_owned()), &s[parts[0].len() + 1..])
        } else {
            (None, s)
        }
    };
    let host = match rest.split_once(':') {
        Some((h, _)) => h.split('-').next().and_then(|h| h.parse().ok()),
        // `- "80"` publishes container port 80 on an ephemeral host port.
        None => None,
    };
    Some(Published {
        pos: item.pos,
        host_ip: ip,
        port: host,
    })
}

fn ports(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    let Some((key, list)) = svc.node.entry("ports") else {
        return;
    };
    let items = list.items();
    if items.is_empty() {
        return;
    }
    if svc.role != Role::LoadBalancer {
        svc.report(
            cx,
            Rule::PortsPublishedByNonLb,
            key.pos,
            "ports",
            format!("`{}` publishes ports, but is not the load balancer", svc.name),
            "remove `ports`; reach the service through the load balancer, an SSH tunnel or `docker exec`",
        );
    }
    for item in items {
        let Some(p) = parse_port(item) else { continue };
        let all = p
            .host_ip
            .as_deref()
            .is_none_or(|ip| ip.is_empty() || ip == "0.0.0.0" || ip == "::");
        if all {
            svc.report(
                cx,
                Rule::PortNotBoundToHostIp,
                p.pos,
                "ports",
                format!("a port of `{}` listens on every host interface", svc.name),
                "bind it to one address: `127.0.0.1:8080:80`, or `host_ip` in the long syntax",
            );
        }
        if let Some(port) = p.port
            && port < 1024
            && port != 80
            && port != 443
        {
            svc.report(
                cx,
                Rule::PrivilegedPortPublished,
                p.pos,
                "ports",
                format!("`{}` publishes the privileged port {port}", svc.name),
                "publish a port above 1023, or put the service behind the load balancer",
            );
        }
    }
}
