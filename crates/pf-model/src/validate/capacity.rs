//! Capacity: reservations must fit, limits should leave the headroom free.

use super::Finding;
use crate::codes::Code;
use crate::model::{Resources, TopologyFile};
use crate::units::{ByteSize, Cpus};

/// One group of identical instances and where its resources are written.
struct Group<'a> {
    path: GroupPath,
    name: &'a str,
    count: u64,
    resources: &'a Resources,
}

/// Where a group's resources are written; formatted only for a finding.
enum GroupPath {
    /// `services[i].resources`.
    Service(usize),
    Fixed(&'static str),
}

impl std::fmt::Display for GroupPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Service(i) => write!(f, "services[{i}].resources"),
            Self::Fixed(path) => f.write_str(path),
        }
    }
}

fn groups(file: &TopologyFile) -> Vec<Group<'_>> {
    let mut g: Vec<Group<'_>> = file
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| Group {
            path: GroupPath::Service(i),
            name: s.name.as_str(),
            count: u64::from(s.replicas),
            resources: &s.resources,
        })
        .collect();
    g.push(Group {
        path: GroupPath::Fixed("load-balancer.resources"),
        name: "load balancer",
        count: u64::from(file.load_balancer.instances),
        resources: &file.load_balancer.resources,
    });
    g.push(Group {
        path: GroupPath::Fixed("postgres.resources"),
        name: "postgres",
        count: u64::from(file.postgres.replicas) + 1,
        resources: &file.postgres.resources,
    });
    g.push(Group {
        path: GroupPath::Fixed("redis.resources"),
        name: "redis",
        count: u64::from(file.redis.replicas) + 1,
        resources: &file.redis.resources,
    });
    g.push(Group {
        path: GroupPath::Fixed("redis.sentinel.resources"),
        name: "sentinel",
        count: u64::from(file.redis.sentinel.count),
        resources: &file.redis.sentinel.resources,
    });
    g
}

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let cap = &file.capacity;
    let nodes = u64::from(cap.nodes);
    let total_cpu = cap.cpus_per_node.millis() * nodes;
    let total_mem = u128::from(cap.memory_per_node.bytes()) * u128::from(nodes);
    // An out-of-range headroom is already an error; judge limits against the
    // nearest valid one instead of repeating the mistake as a warning (NaN,
    // an error too, as the guide's 20%).
    let headroom = if cap.headroom.is_nan() {
        0.2
    } else {
        cap.headroom.clamp(0.0, 0.9)
    };
    let usable = 1.0 - headroom;

    let (mut res_cpu, mut res_mem, mut lim_cpu, mut lim_mem) = (0u64, 0u128, 0u64, 0u128);
    for g in groups(file) {
        let r = &g.resources.reservations;
        let l = &g.resources.limits;
        res_cpu = res_cpu.saturating_add(r.cpus.millis().saturating_mul(g.count));
        res_mem += u128::from(r.memory.bytes()) * u128::from(g.count);
        lim_cpu = lim_cpu.saturating_add(l.cpus.millis().saturating_mul(g.count));
        lim_mem += u128::from(l.memory.bytes()) * u128::from(g.count);
        if l.cpus < r.cpus {
            out.push(Finding::new(
                Code::LimitsBelowReservations,
                format!("{}.limits.cpus", g.path),
                format!(
                    "{}: CPU limit {} is below its reservation {}",
                    g.name, l.cpus, r.cpus
                ),
                "raise the limit or lower the reservation",
            ));
        }
        if l.memory < r.memory {
            out.push(Finding::new(
                Code::LimitsBelowReservations,
                format!("{}.limits.memory", g.path),
                format!(
                    "{}: memory limit {} is below its reservation {}",
                    g.name, l.memory, r.memory
                ),
                "raise the limit or lower the reservation",
            ));
        }
        if r.cpus > cap.cpus_per_node {
            out.push(Finding::new(
                Code::ReservationsExceedCapacity,
                format!("{}.reservations.cpus", g.path),
                format!(
                    "{}: one instance reserves {} CPUs, more than a node has ({})",
                    g.name, r.cpus, cap.cpus_per_node
                ),
                "lower the reservation or use larger nodes",
            ));
        }
        if r.memory > cap.memory_per_node {
            out.push(Finding::new(
                Code::ReservationsExceedCapacity,
                format!("{}.reservations.memory", g.path),
                format!(
                    "{}: one instance reserves {}, more than a node has ({})",
                    g.name, r.memory, cap.memory_per_node
                ),
                "lower the reservation or use larger nodes",
            ));
        }
    }
    if res_cpu > total_cpu {
        out.push(Finding::new(
            Code::ReservationsExceedCapacity,
            "capacity.cpus-per-node",
            format!(
                "reservations add up to {} CPUs but {} node(s) have {}",
                Cpus::from_millis(res_cpu),
                cap.nodes,
                Cpus::from_millis(total_cpu)
            ),
            "add nodes, use larger nodes, or lower reservations",
        ));
    }
    if res_mem > total_mem {
        out.push(Finding::new(
            Code::ReservationsExceedCapacity,
            "capacity.memory-per-node",
            format!(
                "reservations add up to {} of memory but {} node(s) have {}",
                size(res_mem),
                cap.nodes,
                size(total_mem)
            ),
            "add nodes, use larger nodes, or lower reservations",
        ));
    }
    let cpu_budget = (total_cpu as f64 * usable).round() as u64;
    if lim_cpu > cpu_budget {
        out.push(Finding::new(
            Code::LimitsExceedHeadroom,
            "capacity.cpus-per-node",
            format!(
                "CPU limits add up to {} but {} node(s) minus {:.0}% headroom give {}",
                Cpus::from_millis(lim_cpu),
                cap.nodes,
                headroom * 100.0,
                Cpus::from_millis(cpu_budget)
            ),
            "add capacity, lower limits, or accept that instances compete under load",
        ));
    }
    let mem_budget = (total_mem as f64 * usable).round() as u128;
    if lim_mem > mem_budget {
        out.push(Finding::new(
            Code::LimitsExceedHeadroom,
            "capacity.memory-per-node",
            format!(
                "memory limits add up to {} but {} node(s) minus {:.0}% headroom give {}",
                size(lim_mem),
                cap.nodes,
                headroom * 100.0,
                size(mem_budget)
            ),
            "add capacity, lower limits, or accept that instances compete under load",
        ));
    }
}

/// A byte count for a message, rounded to MiB so sums stay readable.
fn size(bytes: u128) -> String {
    let mib = bytes / (1024 * 1024);
    ByteSize::from_mib(u64::try_from(mib).unwrap_or(u64::MAX / (1024 * 1024))).to_string()
}
