//! Load balancer rules.

use super::Finding;
use crate::codes::Code;
use crate::model::{LbMethod, NextUpstream, PublishMode, TopologyFile, UpdateOrder};
use crate::units::{ByteSize, Duration};

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let lb = &file.load_balancer;
    if lb.next_upstream_tries > 0 {
        for (i, svc) in file.services.iter().enumerate() {
            if svc.replicas > 0 && lb.next_upstream_tries > svc.replicas {
                out.push(Finding::new(
                    Code::LbTriesExceedServers,
                    format!("services[{i}].replicas"),
                    format!(
                        "next-upstream-tries {} is more than the {} server(s) of `{}`",
                        lb.next_upstream_tries, svc.replicas, svc.name
                    ),
                    "nginx stops at the number of servers; lower the tries or add replicas",
                ));
            }
        }
    }
    if lb.max_fails == 0 {
        out.push(Finding::new(
            Code::LbPassiveChecksOff,
            "load-balancer.max-fails",
            "max-fails = 0 turns passive health checks off",
            "use 3 failures within 30s, as the guide does",
        ));
    }
    if lb.method == LbMethod::IpHash && lb.publish_mode == PublishMode::Ingress {
        out.push(Finding::new(
            Code::LbIpHashIngress,
            "load-balancer.publish-mode",
            "ip-hash behind the ingress routing mesh sends every client to one backend",
            "set `publish-mode = \"host\"` so nginx sees client addresses",
        ));
    }
    for (i, cidr) in lb.status.allow.iter().enumerate() {
        let path = format!("load-balancer.status.allow[{i}]");
        if cidr.is_everything() {
            out.push(Finding::new(
                Code::LbStatusOpen,
                path,
                format!("`{cidr}` lets every address read the status page"),
                format!(
                    "allow loopback and the overlay subnet instead: \"127.0.0.1/32\", \"{}\"",
                    file.network.subnet
                ),
            ));
        } else if !cidr.addr().is_loopback() && !file.network.subnet.contains(*cidr) {
            out.push(Finding::new(
                Code::LbStatusAllowOutsideNetwork,
                path,
                format!(
                    "`{cidr}` is neither loopback nor inside the overlay {}",
                    file.network.subnet
                ),
                "the status port is not published; allow only loopback and overlay addresses",
            ));
        }
    }
    if lb.zone_size < ByteSize::from_bytes(64 * 1024) {
        out.push(Finding::new(
            Code::LbZoneTooSmall,
            "load-balancer.zone-size",
            format!("zone-size {} is below 64k", lb.zone_size.nginx()),
            "use 64k or more",
        ));
    }
    if lb.next_upstream.contains(&NextUpstream::NonIdempotent) {
        out.push(Finding::new(
            Code::LbNonIdempotentRetries,
            "load-balancer.next-upstream",
            "non_idempotent lets nginx replay POST and PATCH requests on another backend",
            "remove `non_idempotent` unless every endpoint is idempotent",
        ));
    }
    if lb.tls.is_none() {
        out.push(Finding::new(
            Code::LbTlsOff,
            "load-balancer",
            "the load balancer serves plain HTTP",
            "add `[load-balancer.tls]` with `certificate-secret` and `key-secret`",
        ));
    }
    if lb.connect_timeout >= Duration::from_secs(1) {
        out.push(Finding::new(
            Code::LbConnectTimeoutSlow,
            "load-balancer.connect-timeout",
            format!(
                "connect-timeout {} holds every request sent to a dead task that long: backend failover is not under 1 s",
                lb.connect_timeout
            ),
            "use 500ms (in-cluster connections take well under a millisecond)",
        ));
    }
    edge_nodes(file, out);
}

/// Host-mode ports: nginx runs on the labelled edge nodes, one per node,
/// and a start-first update needs an edge node without nginx.
fn edge_nodes(file: &TopologyFile, out: &mut Vec<Finding>) {
    let lb = &file.load_balancer;
    if lb.publish_mode != PublishMode::Host || lb.instances == 0 {
        return;
    }
    let nodes = file.capacity.nodes;
    let edge = lb.edge_node_count();
    if lb.edge_nodes.is_some() && (edge < lb.instances || edge > nodes) {
        out.push(Finding::new(
            Code::LbEdgeNodesOutOfRange,
            "load-balancer.edge-nodes",
            if edge < lb.instances {
                format!(
                    "{edge} edge node(s) cannot run {} load balancers with host-mode ports (one per node)",
                    lb.instances
                )
            } else {
                format!("{edge} edge nodes, but `capacity.nodes` is {nodes}")
            },
            super::use_range(lb.instances, nodes.max(lb.instances)),
        ));
        return;
    }
    if lb.start_first_fits(file.rollout.batch()) {
        return;
    }
    // A start-first batch places `parallelism` new tasks before stopping
    // old ones, each on an edge node that runs no nginx yet.
    let needed = lb
        .instances
        .saturating_add(file.rollout.batch().min(lb.instances));
    let raise = if nodes >= needed {
        format!("or set `edge-nodes = {needed}`")
    } else {
        format!("{nodes} node(s) leave no spare edge node")
    };
    if lb.update_order == Some(UpdateOrder::StartFirst) {
        out.push(Finding::new(
            Code::LbStartFirstWithoutSpareNode,
            "load-balancer.update-order",
            format!(
                "a start-first update of {} host-published load balancer(s) on {edge} edge node(s) never finishes: the new task has no free node",
                lb.instances
            ),
            format!("use `update-order = \"stop-first\"` ({raise})"),
        ));
        return;
    }
    // Inherited from the stack-wide rollout: the plan uses stop-first.
    let (path, setting, fix) =
        if lb.update_order.is_none() && file.rollout.order == UpdateOrder::StartFirst {
            (
                "load-balancer.instances",
                "updated",
                "set `load-balancer.update-order = \"stop-first\"` to say so",
            )
        } else if file.rollout.rollback.order == UpdateOrder::StartFirst {
            (
                "rollout.rollback.order",
                "rolled back",
                "set `rollout.rollback.order = \"stop-first\"`",
            )
        } else {
            return;
        };
    out.push(Finding::new(
        Code::LbStartFirstOverridden,
        path,
        format!(
            "the load balancer is {setting} stop-first, not start-first as `rollout` says: its {} host-published task(s) fill all {edge} edge node(s), so a new task could not be placed",
            lb.instances
        ),
        format!("{fix} ({raise})"),
    ));
}
