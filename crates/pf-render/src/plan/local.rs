//! The local target's places: every instance runs as a plain process on
//! this machine, on its own loopback address, with its files under one run
//! folder.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use pf_model::TopologyFile;
use pf_model::units::Cidr;
use serde::Serialize;

use crate::target::LocalOptions;

/// The local target's folders and ports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct LocalPlan {
    /// The run folder (absolute).
    pub run_dir: PathBuf,
    /// Where the bundle itself is written: `<run>/bundle`.
    pub bundle_dir: PathBuf,
    /// Secret files: `<run>/secrets`.
    pub secrets_dir: PathBuf,
    /// Sockets and pid files: `<run>/run`.
    pub state_dir: PathBuf,
    /// Data folders, one per stateful instance: `<run>/data`.
    pub data_dir: PathBuf,
    /// Ports moved because binding below 1024 needs root, sorted.
    pub remapped_ports: Vec<PortRemap>,
}

/// A port the local target binds elsewhere than production does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PortRemap {
    /// The port of the topology.
    pub production: u16,
    /// The port the local target binds instead.
    pub local: u16,
}

impl LocalPlan {
    pub(super) fn new(t: &TopologyFile, options: &LocalOptions) -> Self {
        let run = &options.run_dir;
        let lb = &t.load_balancer;
        let mut remapped: Vec<PortRemap> = [lb.http_port, lb.https_port, lb.status.port]
            .into_iter()
            .chain(t.services.iter().map(|s| s.port))
            .filter(|p| port(options, *p) != *p)
            .map(|p| PortRemap {
                production: p,
                local: port(options, p),
            })
            .collect();
        remapped.sort_unstable();
        remapped.dedup();
        Self {
            run_dir: run.clone(),
            bundle_dir: run.join("bundle"),
            secrets_dir: run.join("secrets"),
            state_dir: run.join("run"),
            data_dir: run.join("data"),
            remapped_ports: remapped,
        }
    }

    /// The socket folder of an instance: `<run>/run/<instance>`. Every
    /// instance keeps the production port, so they cannot share one folder
    /// (the socket is named after the port).
    pub(super) fn socket_dir(&self, instance: &str) -> PathBuf {
        self.state_dir.join(instance)
    }
}

/// A port as the local target binds it: binding below 1024 needs root, so
/// the target may move such ports up by 10000 (80 -> 10080).
pub(super) fn port(options: &LocalOptions, port: u16) -> u16 {
    if options.remap_privileged_ports && port < 1024 {
        port + 10_000
    } else {
        port
    }
}

/// The loopback network every local instance lives in; it stands in for
/// the overlay subnet (allow-lists, pg_hba.conf).
pub(super) fn subnet() -> Cidr {
    "127.0.0.0/16"
        .parse()
        .expect("127.0.0.0/16 is a network address with its prefix")
}

/// Address groups of the local target: `127.0.<group>.<index>`.
pub(super) mod group {
    /// The load balancer.
    pub(crate) const LB: u8 = 1;
    /// PostgreSQL.
    pub(crate) const POSTGRES: u8 = 2;
    /// Redis data nodes.
    pub(crate) const REDIS: u8 = 3;
    /// Sentinels.
    pub(crate) const SENTINEL: u8 = 4;
    /// App service k (0-based) uses group `APPS + k`.
    pub(crate) const APPS: u8 = 10;
}

/// `127.0.<group>.<index>` (index is 1-based). The load balancer, PostgreSQL,
/// Redis and Sentinel groups always fit (validation bounds their counts).
pub(super) fn address(group: u8, index: u32) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, group, u8::try_from(index).unwrap_or(u8::MAX))
}

/// Addresses of app instances: `127.0.<10 + k>.<i>` for service k and
/// instance i while both fit in one byte; the instances that do not (more
/// than 245 services, more than 255 instances of one) get the next free
/// address from 127.1.0.0 up, so every address stays distinct.
#[derive(Debug, Default)]
pub(super) struct AppAddresses {
    overflow: u32,
}

impl AppAddresses {
    /// The address of instance `index` (1-based) of app service `service` (0-based).
    pub(super) fn next(&mut self, service: usize, index: u32) -> Ipv4Addr {
        let group = usize::from(group::APPS) + service;
        match (u8::try_from(group), u8::try_from(index)) {
            (Ok(g), Ok(i)) => Ipv4Addr::new(127, 0, g, i),
            _ => {
                let base = u32::from(Ipv4Addr::new(127, 1, 0, 0));
                let addr = Ipv4Addr::from(base.saturating_add(self.overflow));
                self.overflow += 1;
                addr
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_addresses_stay_distinct_past_one_byte() {
        let mut a = AppAddresses::default();
        assert_eq!(a.next(0, 1), Ipv4Addr::new(127, 0, 10, 1));
        assert_eq!(a.next(245, 255), Ipv4Addr::new(127, 0, 255, 255));
        assert_eq!(a.next(0, 256), Ipv4Addr::new(127, 1, 0, 0));
        assert_eq!(a.next(246, 1), Ipv4Addr::new(127, 1, 0, 1));
    }

    #[test]
    fn ports_below_1024_move_up_only_when_asked() {
        let mut o = LocalOptions::default();
        assert_eq!(port(&o, 80), 10_080);
        assert_eq!(port(&o, 8080), 8080);
        o.remap_privileged_ports = false;
        assert_eq!(port(&o, 80), 80);
    }
}
