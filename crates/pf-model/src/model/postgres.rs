//! PostgreSQL primary with streaming replicas.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use super::resources::{Placement, Resources};
use super::stack::UpdateOrder;
use crate::units::{ByteSize, Duration, Ident, ImageRef, SecretName, UnitError, string_serde};

/// A PostgreSQL primary and its streaming replicas, one slot per replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Postgres {
    /// Image with a pinned version; its major version picks the data path (`postgres:16.6`).
    pub image: ImageRef,
    /// Streaming replicas (the guide has one). The cluster has
    /// `replicas + 1` members, `postgres-1` .. `postgres-<replicas + 1>`.
    #[validate(range(max = 32))]
    pub replicas: u32,
    /// The member that runs as the primary (1 is `postgres-1`). A failover
    /// is this number changed and the bundle rendered and deployed again:
    /// the member named here is promoted (after the old primary is down),
    /// the network alias `postgres-primary` moves to it, and the old
    /// primary rejoins as a standby (pg_rewind, or a new clone).
    #[validate(range(min = 1))]
    #[serde(default = "one")]
    pub primary: u32,
    /// Application database (`promptforge_prod`).
    pub database: Ident,
    /// Role that owns the database (`promptforge`).
    pub owner: Ident,
    /// Role used only for replication (`replicator`).
    #[serde(default = "replicator")]
    pub replication_role: Ident,
    /// Secret holding the owner's password.
    pub password_secret: SecretName,
    /// Secret holding the replication role's password.
    pub replication_password_secret: SecretName,
    /// Port PostgreSQL listens on.
    #[validate(range(min = 1))]
    #[serde(default = "defaults::postgres_port")]
    pub port: u16,
    /// `max_connections`, the same on primary and standbys (standbys must not be lower).
    #[validate(range(min = 10, max = 10000))]
    #[serde(default = "hundred")]
    pub max_connections: u32,
    /// `max_wal_senders`; at least replicas + 2 (one spare for a base backup, one for a reconnect).
    #[validate(range(max = 1000))]
    pub max_wal_senders: u32,
    /// `max_replication_slots`; at least one per replica.
    #[validate(range(max = 1000))]
    pub max_replication_slots: u32,
    /// `max_slot_wal_keep_size`: WAL a lagging slot may hold before it is invalidated. Unset means unbounded.
    #[serde(default)]
    pub max_slot_wal_keep_size: Option<ByteSize>,
    /// Synchronous replication: `off`, `any N` (quorum) or `first N` (priority).
    #[serde(default)]
    pub synchronous: SyncMode,
    /// Replication lag thresholds for alerts and the drill.
    #[serde(default)]
    #[validate(nested)]
    pub lag: LagThresholds,
    /// A read-only endpoint on the load balancer balanced over the replicas (the guide's "Load Balance Reads").
    #[serde(default)]
    #[validate(nested)]
    pub read_endpoint: Option<ReadEndpoint>,
    /// Time PostgreSQL gets to shut down cleanly before it is killed.
    #[serde(default = "defaults::secs::<120>")]
    pub stop_grace_period: Duration,
    /// Resources per instance (primary and each replica).
    #[validate(nested)]
    pub resources: Resources,
    /// Where the primary and replicas run.
    #[serde(default)]
    pub placement: Placement,
    /// Update order override; stateful instances must use `stop-first`.
    #[serde(default)]
    pub update_order: Option<UpdateOrder>,
}

fn replicator() -> Ident {
    "replicator".parse().expect("constant identifier")
}

fn one() -> u32 {
    1
}

fn hundred() -> u32 {
    100
}

/// Replication lag thresholds, as time and as bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LagThresholds {
    /// Replay lag that raises a warning; the guide alerts above 5s.
    #[serde(default = "defaults::secs::<5>")]
    pub warning: Duration,
    /// Replay lag that raises a critical alert.
    #[serde(default = "defaults::secs::<30>")]
    pub critical: Duration,
    /// Lag in bytes of WAL that raises a warning.
    #[serde(default = "sixteen_mib")]
    pub warning_bytes: ByteSize,
    /// Lag in bytes of WAL that raises a critical alert.
    #[serde(default = "quarter_gib")]
    pub critical_bytes: ByteSize,
}

fn sixteen_mib() -> ByteSize {
    ByteSize::from_mib(16)
}

fn quarter_gib() -> ByteSize {
    ByteSize::from_mib(256)
}

impl Default for LagThresholds {
    fn default() -> Self {
        Self {
            warning: Duration::from_secs(5),
            critical: Duration::from_secs(30),
            warning_bytes: sixteen_mib(),
            critical_bytes: quarter_gib(),
        }
    }
}

/// A TCP endpoint on the load balancer that spreads read-only connections over the replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReadEndpoint {
    /// Port on the load balancer, reachable only inside the overlay.
    #[validate(range(min = 1))]
    pub port: u16,
}

/// Synchronous replication mode (`synchronous_standby_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Asynchronous: commits do not wait for standbys.
    #[default]
    Off,
    /// Quorum: a commit waits for any N standbys.
    Any(u32),
    /// Priority: a commit waits for the first N standbys in the list.
    First(u32),
}

impl SyncMode {
    /// Standbys a commit waits for (0 when off).
    pub fn required(self) -> u32 {
        match self {
            Self::Off => 0,
            Self::Any(n) | Self::First(n) => n,
        }
    }
}

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Any(n) => write!(f, "any {n}"),
            Self::First(n) => write!(f, "first {n}"),
        }
    }
}

impl FromStr for SyncMode {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            UnitError::new(
                format!("invalid synchronous mode `{s}`"),
                "write `off`, `any N` (commit waits for any N standbys) or `first N` (the first N in order), N >= 1",
            )
        };
        if s == "off" {
            return Ok(Self::Off);
        }
        let (kind, n) = s.split_once(' ').ok_or_else(bad)?;
        let n: u32 = n.parse().ok().filter(|n| *n >= 1).ok_or_else(bad)?;
        match kind {
            "any" => Ok(Self::Any(n)),
            "first" => Ok(Self::First(n)),
            _ => Err(bad()),
        }
    }
}

string_serde!(SyncMode, "`off`, `any N` or `first N`");

impl JsonSchema for SyncMode {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SyncMode")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(off|any [1-9][0-9]*|first [1-9][0-9]*)$",
            "description": "`off`, `any N` (quorum) or `first N` (priority).",
            "examples": ["any 1"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_modes() {
        assert_eq!("off".parse::<SyncMode>().ok(), Some(SyncMode::Off));
        assert_eq!("any 2".parse::<SyncMode>().ok(), Some(SyncMode::Any(2)));
        assert_eq!("first 1".parse::<SyncMode>().ok(), Some(SyncMode::First(1)));
        for bad in ["", "on", "any", "any 0", "any x", "ANY 1", "first  1"] {
            assert!(bad.parse::<SyncMode>().is_err(), "{bad}");
        }
        assert_eq!(SyncMode::Any(2).to_string(), "any 2");
    }
}
