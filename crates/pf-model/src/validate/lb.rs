//! Load balancer rules.

use super::Finding;
use crate::codes::Code;
use crate::model::{LbMethod, NextUpstream, PublishMode, TopologyFile};
use crate::units::ByteSize;

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
}
