//! Stack-wide settings: network, capacity, rollout and restart policy.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use crate::units::{ByteSize, Cidr, Cpus, Duration};

/// The overlay network shared by every service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    /// Subnet of the overlay, pinned so pg_hba.conf and allow-lists name it exactly (`172.26.0.0/16`).
    pub subnet: Cidr,
    /// Encrypt overlay traffic with IPsec. Hosts must then allow IP protocol 50 (ESP) between them.
    #[serde(default = "defaults::yes")]
    pub encrypted: bool,
    /// How the names of the PostgreSQL, Redis and Sentinel services resolve on Swarm: `vip` (a
    /// virtual IP that keeps resolving while a task is down; needs IPVS in the hosts' kernels) or
    /// `dnsrr` (each task's own address; no IPVS, but a stopped task's name stops resolving).
    #[serde(default)]
    pub endpoint_mode: EndpointMode,
}

/// How a Swarm service name resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointMode {
    /// One virtual IP per service, routed by the kernel's IPVS: the name resolves while the
    /// task is down and keeps its address across restarts. IPVS drops connections idle for
    /// 900 s, so the generated PostgreSQL and Redis configs send keepalives well before.
    #[default]
    Vip,
    /// DNS round robin: the name resolves to the task's own address, without IPVS, and stops
    /// resolving while the task is down (Sentinel then waits on DNS for it).
    Dnsrr,
}

impl EndpointMode {
    /// The value as Docker writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vip => "vip",
            Self::Dnsrr => "dnsrr",
        }
    }
}

/// The hosts the stack runs on. Reservations must fit; limits should leave the headroom free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capacity {
    /// Number of hosts (Swarm nodes; 1 for a single Compose host).
    #[validate(range(min = 1, max = 1000))]
    pub nodes: u32,
    /// CPU cores per host.
    pub cpus_per_node: Cpus,
    /// Memory per host.
    pub memory_per_node: ByteSize,
    /// Fraction of every host kept free for spikes; the guide reserves 20% (`0.2`).
    #[validate(range(min = 0.0, max = 0.9))]
    #[serde(default = "default_headroom")]
    pub headroom: f64,
}

fn default_headroom() -> f64 {
    0.2
}

/// Rolling update policy (`deploy.update_config`), with its rollback policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rollout {
    /// Tasks updated at once; the guide updates one at a time.
    #[validate(range(min = 1, max = 100))]
    #[serde(default = "defaults::one")]
    pub parallelism: u32,
    /// Wait between update batches; the guide waits 10s.
    #[serde(default = "defaults::secs::<10>")]
    pub delay: Duration,
    /// What to do when an updated task fails; the guide rolls back.
    #[serde(default)]
    pub failure_action: UpdateFailureAction,
    /// How long a new task is watched for failure after each batch.
    #[serde(default = "defaults::secs::<30>")]
    pub monitor: Duration,
    /// Fraction of failed tasks tolerated during an update.
    #[validate(range(min = 0.0, max = 1.0))]
    #[serde(default)]
    pub max_failure_ratio: f64,
    /// Start the new task before stopping the old one (stateless tiers). Stateful
    /// single instances always use `stop-first`.
    #[serde(default = "start_first")]
    pub order: UpdateOrder,
    /// The rollback policy (`deploy.rollback_config`).
    #[serde(default)]
    #[validate(nested)]
    pub rollback: Rollback,
}

impl Rollout {
    /// The most tasks an update or a rollback replaces at once.
    pub fn batch(&self) -> u32 {
        self.parallelism.max(self.rollback.parallelism)
    }
}

fn start_first() -> UpdateOrder {
    UpdateOrder::StartFirst
}

impl Default for Rollout {
    fn default() -> Self {
        Self {
            parallelism: 1,
            delay: Duration::from_secs(10),
            failure_action: UpdateFailureAction::Rollback,
            monitor: Duration::from_secs(30),
            max_failure_ratio: 0.0,
            order: UpdateOrder::StartFirst,
            rollback: Rollback::default(),
        }
    }
}

/// Rollback policy (`deploy.rollback_config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rollback {
    /// Tasks rolled back at once.
    #[validate(range(min = 1, max = 100))]
    #[serde(default = "defaults::one")]
    pub parallelism: u32,
    /// Wait between rollback batches.
    #[serde(default = "defaults::secs::<0>")]
    pub delay: Duration,
    /// What to do when a rolled-back task fails (`rollback` is not valid here).
    #[serde(default)]
    pub failure_action: RollbackFailureAction,
    /// How long a task is watched after each batch.
    #[serde(default = "defaults::secs::<30>")]
    pub monitor: Duration,
    /// Order of stop and start during rollback.
    #[serde(default)]
    pub order: UpdateOrder,
}

impl Default for Rollback {
    fn default() -> Self {
        Self {
            parallelism: 1,
            delay: Duration::from_secs(0),
            failure_action: RollbackFailureAction::Pause,
            monitor: Duration::from_secs(30),
            order: UpdateOrder::StopFirst,
        }
    }
}

/// What Swarm does when an update fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateFailureAction {
    /// Keep updating.
    Continue,
    /// Stop and wait for a person.
    Pause,
    /// Roll back to the previous version.
    #[default]
    Rollback,
}

/// What Swarm does when a rollback fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackFailureAction {
    /// Keep rolling back.
    Continue,
    /// Stop and wait for a person.
    #[default]
    Pause,
}

/// Order of stopping the old task and starting the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    /// Stop the old task first (required for stateful single instances).
    #[default]
    StopFirst,
    /// Start the new task first (no capacity gap for stateless tiers).
    StartFirst,
}

impl UpdateOrder {
    /// The value as Docker writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopFirst => "stop-first",
            Self::StartFirst => "start-first",
        }
    }
}

/// Restart policy (`deploy.restart_policy`; Compose `restart`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RestartPolicy {
    /// When to restart.
    #[serde(default)]
    pub condition: RestartCondition,
    /// Wait before each restart: a crash loop restarts at most this often.
    #[serde(default = "defaults::secs::<5>")]
    pub delay: Duration,
    /// Restarts allowed within `window`; unset (the default) restarts for as long as it takes.
    /// Swarm gives a service up for good once the cap is reached, even after the cause is
    /// gone, until the next service update: the guide promises automatic restart.
    #[validate(range(min = 1, max = 100))]
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The window in which `max-attempts` is counted (used only with `max-attempts`).
    #[serde(default = "defaults::secs::<120>")]
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            condition: RestartCondition::Any,
            delay: Duration::from_secs(5),
            max_attempts: None,
            window: Duration::from_secs(120),
        }
    }
}

/// When a stopped container is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartCondition {
    /// Whatever the exit status.
    #[default]
    Any,
    /// Only after a non-zero exit.
    OnFailure,
}

impl RestartCondition {
    /// The value as Docker writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::OnFailure => "on-failure",
        }
    }
}
