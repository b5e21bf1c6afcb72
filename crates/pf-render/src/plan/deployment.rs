//! How the orchestrator runs an instance, independent of the file format:
//! image, networks, ports, secrets, health check, resources, update order
//! and placement. `emit/stack.rs` and `emit/compose.rs` write these as
//! their own YAML and decide nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::net::Ipv4Addr;

pub use pf_model::model::EndpointMode;
use pf_model::model::{Limits, PublishMode, Reservations, Resources, UpdateOrder};
use pf_model::units::{ByteSize, Cpus, Duration};
use serde::Serialize;

use super::network::Net;
use super::users::{FileOwner, secret_reader};

/// One service (Swarm) or one container (Compose).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Deployment {
    /// The image reference.
    pub image: String,
    /// Tasks of the service (Swarm); 1 per Compose service.
    pub replicas: u32,
    /// Keeps state on a volume: one instance, stop-first, pinned when the
    /// topology asks for node labels.
    pub stateful: bool,
    /// How the service name resolves (Swarm).
    pub endpoint_mode: EndpointMode,
    /// The networks it joins.
    pub networks: Vec<Net>,
    /// More names it answers to on the data network, besides its own: the
    /// PostgreSQL primary's `postgres-primary`, which moves to another
    /// member when the topology names another primary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Its fixed address on the data network (Compose, for instances that
    /// others must reach by address while it is stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Addr>,
    /// A read-only root file system, with a tmpfs at each of `tmpfs`.
    pub read_only: bool,
    /// Writable in-memory folders of a read-only instance.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<PathBuf>,
    /// Replaces the image's entrypoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Replaces the image's command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Environment, literal (the YAML emitters escape `$` for Compose
    /// interpolation); secrets only as `*_FILE` paths.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Published ports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortBinding>,
    /// Docker secrets mounted under `/run/secrets`, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Kernel settings of its own network namespace (`net.*`), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// The user that reads them, where the image says (Swarm mounts them
    /// owned by it, mode 0400; `None`: root-owned, mode 0444, readable by
    /// whatever user the image runs as).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_reader: Option<FileOwner>,
    /// Health check of the instance's own process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// How long a stop may take before the process is killed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    /// CPU, memory and PIDs of one task.
    pub resources: Resources,
    /// Start the new task before stopping the old one, or the reverse.
    pub update_order: UpdateOrder,
    /// The same for rollbacks.
    pub rollback_order: UpdateOrder,
    /// The step of a staged deploy in which it is updated (Swarm,
    /// `setup-swarm.sh --deploy`): 1 for stateless services, k for the k-th
    /// member of a stateful group, so no deploy restarts two members of a
    /// quorum or replication group at once.
    pub update_step: u32,
    /// Where the scheduler may put it (Swarm).
    #[serde(skip_serializing_if = "NodePlacement::is_free")]
    pub placement: NodePlacement,
    /// Compose: start only after these services are healthy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PortBinding {
    /// Port inside the container.
    pub target: u16,
    /// Port on the host (or the routing mesh).
    pub published: u16,
    /// Bound on the node running the task, or behind Swarm's routing mesh
    /// (one host: always the host).
    pub mode: PublishMode,
}

/// Where the Swarm scheduler may put the tasks of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct NodePlacement {
    /// Only on the node carrying this label set to `true`
    /// (`promptforge.postgres-primary`); `setup-swarm.sh --label-nodes`
    /// sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_label: Option<String>,
    /// At most this many tasks on one node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas_per_node: Option<u32>,
    /// Only on the nodes of a group, each carrying this label set to `true`
    /// (`promptforge.edge`: the load balancer's edge nodes, labelled by
    /// `setup-swarm.sh --label-nodes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_group: Option<String>,
}

impl NodePlacement {
    /// No constraint at all.
    pub fn is_free(&self) -> bool {
        self.node_label.is_none()
            && self.max_replicas_per_node.is_none()
            && self.node_group.is_none()
    }

    /// The Swarm constraints: the instance's own node, its group's nodes.
    pub fn constraints(&self) -> Vec<String> {
        self.node_label
            .iter()
            .chain(&self.node_group)
            .map(|label| format!("node.labels.{label} == true"))
            .collect()
    }
}

/// A container health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Healthcheck {
    /// `CMD ...` or `CMD-SHELL <command>`.
    pub test: Vec<String>,
    /// Time between two checks.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Failed checks in a row that make the container unhealthy.
    pub retries: u32,
    /// Grace time after start during which failures do not count.
    pub start_period: Duration,
}

impl Deployment {
    /// A single-task, stateless deployment on the default networks of its
    /// kind; the tier constructors change what differs.
    pub(super) fn new(
        kind: super::Kind,
        image: String,
        resources: Resources,
        order: UpdateOrder,
        rollback_order: UpdateOrder,
    ) -> Self {
        Self {
            secret_reader: secret_reader(kind, &image),
            image,
            replicas: 1,
            stateful: false,
            endpoint_mode: EndpointMode::Vip,
            networks: super::network::default_networks(kind),
            aliases: Vec::new(),
            address: None,
            read_only: false,
            tmpfs: Vec::new(),
            entrypoint: Vec::new(),
            command: Vec::new(),
            environment: BTreeMap::new(),
            ports: Vec::new(),
            secrets: Vec::new(),
            sysctls: BTreeMap::new(),
            healthcheck: None,
            stop_grace_period: None,
            resources,
            update_order: order,
            rollback_order,
            update_step: 1,
            placement: NodePlacement::default(),
            depends_on: Vec::new(),
        }
    }

    /// Keeps state on its volume: two servers on one data volume corrupt
    /// it, so never start-first, in updates and rollbacks alike.
    pub(super) fn stateful(mut self) -> Self {
        self.stateful = true;
        self.update_order = UpdateOrder::StopFirst;
        self.rollback_order = UpdateOrder::StopFirst;
        self
    }
}

/// A health check with the stack's common 5 s timeout.
pub(super) fn check(
    test: Vec<String>,
    interval: u64,
    retries: u32,
    start_period: Duration,
) -> Option<Healthcheck> {
    Some(Healthcheck {
        test,
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(5),
        retries,
        start_period,
    })
}

/// A health check run by the container's shell.
pub(super) fn shell(cmd: String) -> Vec<String> {
    vec!["CMD-SHELL".to_owned(), cmd]
}

/// Monitoring services are not sized in the topology; these fit the
/// exporters' and Prometheus's needs for a stack of this size.
pub(super) fn monitoring_resources(cpus_millis: u64, memory_mib: u64) -> Resources {
    Resources {
        limits: Limits {
            cpus: Cpus::from_millis(cpus_millis),
            memory: ByteSize::from_mib(memory_mib),
            pids: 256,
        },
        reservations: Reservations {
            cpus: Cpus::from_millis(cpus_millis / 4),
            memory: ByteSize::from_mib(memory_mib / 4),
        },
    }
}
