//! The two networks of a stack, and which instance joins which. The front
//! network joins the load balancer to what it proxies; the data network
//! (internal: no route out, nothing published) joins PostgreSQL, Redis and
//! Sentinels to their clients. Each takes one half of the topology's
//! subnet, so every allow-list written for that subnet (pg_hba.conf, the
//! nginx status endpoint) still covers both.

use std::net::{IpAddr, Ipv4Addr};

use pf_model::units::Cidr;
use serde::Serialize;

use super::Kind;
use crate::target::Target;

/// One of the stack's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Net {
    /// The load balancer and what it proxies to.
    Front,
    /// The data services and their clients.
    Data,
}

/// Both networks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Networks {
    /// The front network.
    pub front: NetworkPlan,
    /// The data network.
    pub data: NetworkPlan,
}

/// One network as the stack or compose file declares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct NetworkPlan {
    /// Its name in the file (`ha-front`).
    pub name: String,
    /// `overlay` (Swarm) or `bridge` (one host).
    pub driver: Driver,
    /// Its half of the subnet; `None` when the subnet is a single address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Cidr>,
    /// Where Docker picks the addresses of containers that have no fixed
    /// one (Compose data network: the lower half of `subnet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<Cidr>,
    /// Where the plan picks fixed addresses (Compose data network: the
    /// upper half of `subnet`, outside `ip_range`, so Docker never hands
    /// one of them to another container).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_range: Option<Cidr>,
    /// No route out, nothing published.
    pub internal: bool,
    /// Containers outside the stack may attach (a person's debug shell).
    pub attachable: bool,
    /// IPsec between nodes (Swarm overlay `encrypted` option).
    pub encrypted: bool,
}

/// A network driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// Multi-host (Swarm).
    Overlay,
    /// One host.
    Bridge,
}

impl Driver {
    /// The Compose-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overlay => "overlay",
            Self::Bridge => "bridge",
        }
    }
}

/// The stack's base network name; the networks are `ha-front` and `ha-data`.
const BASE: &str = "ha";

impl Networks {
    /// The networks for `subnet` on `target` (the local target creates
    /// none; it gets the same names for a complete plan).
    pub(super) fn new(subnet: Cidr, target: &Target, encrypted: bool) -> Self {
        let swarm = *target == Target::Swarm;
        let (low, high) = subnet.halves().unzip();
        // Compose only: a stopped container's name stops resolving, so the
        // instances others must reach while it is down get fixed IPv4
        // addresses (Swarm has no fixed addresses; its VIPs keep resolving).
        let (ip_range, fixed_range) = match low.and_then(Cidr::halves) {
            Some((dynamic, fixed)) if *target == Target::Compose && fixed.addr().is_ipv4() => {
                (Some(dynamic), Some(fixed))
            }
            _ => (None, None),
        };
        let driver = if swarm {
            Driver::Overlay
        } else {
            Driver::Bridge
        };
        Self {
            front: NetworkPlan {
                name: format!("{BASE}-front"),
                driver,
                subnet: high,
                ip_range: None,
                fixed_range: None,
                internal: false,
                attachable: false,
                encrypted: swarm && encrypted,
            },
            data: NetworkPlan {
                name: format!("{BASE}-data"),
                driver,
                subnet: low,
                ip_range,
                fixed_range,
                internal: true,
                // Nothing outside the stack may join the data network: the
                // ops scripts `docker exec` into running tasks instead.
                attachable: false,
                encrypted: swarm && encrypted,
            },
        }
    }

    /// The fixed address of the `n`th (0-based) instance that needs one,
    /// on the data network; `None` where the target has no fixed addresses.
    pub(super) fn fixed_address(&self, n: u32) -> Option<Ipv4Addr> {
        let range = self.data.fixed_range?;
        let IpAddr::V4(base) = range.addr() else {
            return None;
        };
        let size = range.ipv4_size()?;
        // The first address of the range is skipped: it reads like a
        // network address although it is an ordinary host of the subnet.
        let offset = n.checked_add(1)?;
        (u64::from(offset) < size).then(|| Ipv4Addr::from(u32::from(base) + offset))
    }

    /// A network by its role.
    pub fn get(&self, net: Net) -> &NetworkPlan {
        match net {
            Net::Front => &self.front,
            Net::Data => &self.data,
        }
    }
}

/// The networks an instance of `kind` joins unless its tier says
/// otherwise: the front network for the load balancer and the apps, the
/// data network for everything that is not the load balancer (an app
/// leaves it when it connects to no data service).
pub(super) fn default_networks(kind: Kind) -> Vec<Net> {
    let mut out = Vec::new();
    if matches!(kind, Kind::LoadBalancer | Kind::App) {
        out.push(Net::Front);
    }
    if kind != Kind::LoadBalancer {
        out.push(Net::Data);
    }
    out
}
