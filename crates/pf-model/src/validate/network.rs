//! Overlay network rules.

use super::Finding;
use crate::codes::Code;
use crate::model::TopologyFile;

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
    let services = file.services.len() as u64 + 8;
    let needed = tasks * 2 + services + 3;
    // The stack splits the subnet into a front and an internal data network,
    // one half each; the apps join both, so either half must hold them all.
    if let Some(size) = net.subnet.ipv4_size()
        && size / 2 < needed
    {
        out.push(Finding::new(
            Code::SubnetTooSmall,
            "network.subnet",
            format!(
                "{} gives each of the two networks {} addresses but the stack needs about {needed}",
                net.subnet,
                size / 2
            ),
            "use a larger subnet, for example a /16",
        ));
    }
}
