//! Overlay network rules, and the bound on instances (each one is an
//! address of the overlay).

use super::Finding;
use crate::codes::Code;
use crate::model::{EndpointMode, TopologyFile};

/// Most instances (tasks) a stack may have. The largest benchmark
/// topology, 10,000 services of 3 replicas, has 30,040 and renders its
/// Compose file (30,000 services) in about 240 MB; 10,000 services of
/// 1,000 replicas took 6 GB and were killed.
const MAX_INSTANCES: u64 = 50_000;

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let net = &file.network;
    if !net.encrypted {
        out.push(Finding::new(
            Code::NetworkUnencrypted,
            "network.encrypted",
            "overlay traffic between hosts is not encrypted",
            "set `encrypted = true` and allow IP protocol 50 (ESP) between hosts",
        ));
    }
    if net.endpoint_mode == EndpointMode::Dnsrr {
        out.push(Finding::new(
            Code::EndpointModeDnsrr,
            "network.endpoint-mode",
            "on Swarm a stopped Redis node's name stops resolving, and Sentinel waits on DNS for it before it fails over",
            "keep `endpoint-mode = \"vip\"` unless the hosts lack IPVS; with dnsrr, make sure the hosts' resolvers answer at once for unknown names",
        ));
    }
    if net.subnet.is_everything() {
        out.push(Finding::new(
            Code::SubnetOpenToAll,
            "network.subnet",
            format!("`{}` is every address", net.subnet),
            "use a private range of your own, for example `172.26.0.0/16`",
        ));
    }
    // Each task takes an address, a rolling update (start-first) needs a
    // second one per task, each service has a VIP, and Docker keeps the
    // network, broadcast and gateway addresses.
    let tasks: u64 = file
        .services
        .iter()
        .map(|s| u64::from(s.replicas))
        .sum::<u64>()
        + u64::from(file.load_balancer.instances)
        + u64::from(file.postgres.replicas + 1)
        + u64::from(file.redis.replicas + 1)
        + u64::from(file.redis.sentinel.count)
        + if file.monitoring.prometheus { 5 } else { 0 };
    if tasks > MAX_INSTANCES {
        let (largest, replicas) = file
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.replicas))
            .max_by_key(|&(i, r)| (r, std::cmp::Reverse(i)))
            .unwrap_or_default();
        out.push(Finding::new(
            Code::TooManyInstances,
            format!("services[{largest}].replicas"),
            format!(
                "the stack has {tasks} instances, more than the {MAX_INSTANCES} the generator renders (this service has {replicas})"
            ),
            "lower the replicas, or split the deployment into several stacks",
        ));
    }
    let services = file.services.len() as u64 + 8;
    let needed = tasks * 2 + services + 3;
    // The stack splits the subnet into a front and an internal data network,
    // one half each; the apps join both, so either half must hold them all.
    // On Compose the data network hands out addresses from its lower half
    // only: the upper half holds the fixed addresses of Redis and Sentinels.
    if let Some(size) = net.subnet.ipv4_size()
        && size / 4 < needed
    {
        out.push(Finding::new(
            Code::SubnetTooSmall,
            "network.subnet",
            format!(
                "{} leaves {} addresses for the tasks of each network but the stack needs about {needed}",
                net.subnet,
                size / 4
            ),
            "use a larger subnet, for example a /16",
        ));
    }
}
