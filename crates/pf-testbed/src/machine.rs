//! The machine the test tier deploys on.

use crate::Error;

/// The nodes of the test Swarm (or the one Compose host) and what each has.
///
/// On this project's machines every node is a Docker engine on the same
/// 2-core host, and each engine reports all of the host's CPUs and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Number of nodes (Docker engines).
    pub nodes: u32,
    /// CPUs each node reports, in thousandths of a core.
    pub cpu_millis_per_node: u64,
    /// Memory each node reports, in bytes.
    pub memory_per_node: u64,
}

/// Share of one node's CPUs that the topology's reservations may take in
/// total. The generator adds the monitoring services' own reservations
/// (about 0.5 CPU) on top, and after a node loss everything must still fit
/// on one node, so the topology gets well under half.
pub const CPU_SHARE: f64 = 0.4;
/// Share of one node's memory that the topology's reservations may take.
pub const MEMORY_SHARE: f64 = 0.25;

impl Machine {
    /// Checks the numbers are usable.
    pub fn new(nodes: u32, cpu_millis_per_node: u64, memory_per_node: u64) -> Result<Self, Error> {
        if nodes == 0 || nodes > 16 {
            return Err(Error::Machine(format!(
                "{nodes} nodes: the test tier runs 1 to 16"
            )));
        }
        if cpu_millis_per_node < 1000 {
            return Err(Error::Machine("less than one CPU per node".into()));
        }
        if memory_per_node < 1 << 30 {
            return Err(Error::Machine("less than 1 GiB of memory per node".into()));
        }
        Ok(Self {
            nodes,
            cpu_millis_per_node,
            memory_per_node,
        })
    }

    /// The most CPU (thousandths) all reservations of the topology may add up to.
    pub fn cpu_budget(&self) -> u64 {
        (self.cpu_millis_per_node as f64 * CPU_SHARE) as u64
    }

    /// The most memory (bytes) all reservations of the topology may add up to.
    pub fn memory_budget(&self) -> u64 {
        (self.memory_per_node as f64 * MEMORY_SHARE) as u64
    }
}
