//! Resource limits, reservations and placement.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::units::{ByteSize, Cpus};

/// CPU and memory for one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resources {
    /// The most one instance may use.
    #[validate(nested)]
    pub limits: Limits,
    /// What the scheduler sets aside for one instance; must fit the capacity.
    #[validate(nested)]
    pub reservations: Reservations,
}

/// Upper bounds for one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// CPU cores.
    pub cpus: Cpus,
    /// Memory.
    pub memory: ByteSize,
    /// Most processes (and threads) at once; bounds fork bombs (CIS Docker 5.29).
    #[validate(range(min = 16, max = 1000000))]
    #[serde(default = "default_pids")]
    pub pids: u32,
}

fn default_pids() -> u32 {
    1024
}

/// Amounts the scheduler guarantees one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reservations {
    /// CPU cores.
    pub cpus: Cpus,
    /// Memory.
    pub memory: ByteSize,
}

/// Where the instances of a stateful group run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Each instance is pinned to the node carrying its own label
    /// (`node.labels.<stack>.<instance> == true`); the generated
    /// `label-nodes.sh` spreads the labels over the nodes.
    #[default]
    NodeLabels,
    /// No constraint: Swarm may put several instances on one node.
    Anywhere,
}
