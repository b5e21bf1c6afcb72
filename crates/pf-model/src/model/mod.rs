//! The raw topology as written in TOML.
//!
//! These types mirror the file one to one: kebab-case keys, unknown keys
//! rejected, a `///` doc on every field (it becomes the JSON Schema
//! description). Field rules (`#[validate(...)]`) also reach the schema.
//! Cross-field rules live in the private `validate` module; only
//! [`TopologyFile::validate`] turns this into a [`crate::Topology`].

mod app;
mod defaults;
mod lb;
mod monitoring;
mod postgres;
mod redis;
mod resources;
mod stack;

pub use app::{AppService, Connection, SecretsAs};
pub use lb::{LbMethod, LoadBalancer, NextUpstream, PublishMode, StatusEndpoint, Tls};
pub use monitoring::{AlertSeverity, Alertmanager, Alerts, Monitoring, Receiver};
pub use postgres::{LagThresholds, Postgres, ReadEndpoint, SyncMode};
pub use redis::{MaxmemoryPolicy, Redis, Sentinel};
pub use resources::{Limits, Placement, Reservations, Resources};
pub use stack::{
    Capacity, EndpointMode, Network, RestartCondition, RestartPolicy, Rollback,
    RollbackFailureAction, Rollout, UpdateFailureAction, UpdateOrder,
};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::units::{DnsLabel, SecretName};

/// A high-availability deployment: nginx load balancers in front of
/// stateless app services, PostgreSQL primary and streaming replicas,
/// Redis master, replicas and Sentinels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopologyFile {
    /// Stack name. Prefixes Swarm services, container names, volumes and node labels (`promptforge`).
    pub name: DnsLabel,
    /// The overlay network every service joins.
    #[validate(nested)]
    pub network: Network,
    /// The hosts the stack must fit on.
    #[validate(nested)]
    pub capacity: Capacity,
    /// How services are updated and rolled back.
    #[serde(default)]
    #[validate(nested)]
    pub rollout: Rollout,
    /// When Swarm or Compose restarts a failed container.
    #[serde(default)]
    #[validate(nested)]
    pub restart: RestartPolicy,
    /// The nginx load balancer in front of the app services.
    #[validate(nested)]
    pub load_balancer: LoadBalancer,
    /// Stateless app services behind the load balancer (the guide's backend and frontend).
    #[validate(length(min = 1, max = 10000), nested)]
    pub services: Vec<AppService>,
    /// PostgreSQL primary and streaming replicas.
    #[validate(nested)]
    pub postgres: Postgres,
    /// Redis master, replicas and Sentinels.
    #[validate(nested)]
    pub redis: Redis,
    /// Prometheus scraping, alert rules and Grafana.
    #[serde(default)]
    #[validate(nested)]
    pub monitoring: Monitoring,
    /// Every secret the deployment uses, by name, with a one-line description of what it holds.
    /// Values are never written in a topology: they are files created at deploy time.
    #[serde(default)]
    pub secrets: BTreeMap<SecretName, String>,
    /// The version of a secret whose value was rotated (from 1): on Swarm the secret is created
    /// as `<stack>_<name>_v<N>` (secrets are immutable), mounted at the same path, and
    /// `setup-swarm.sh` creates the new version before deploying and removes unused old ones
    /// after. A secret without a version keeps the name `<stack>_<name>`.
    #[serde(default)]
    pub secret_versions: BTreeMap<SecretName, u32>,
}
