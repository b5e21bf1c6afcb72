//! Redis master, replicas and Sentinels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use super::resources::{Placement, Resources};
use super::stack::UpdateOrder;
use crate::units::{ByteSize, Duration, ImageRef, SecretName};

/// A Redis master and replicas, watched by Sentinels that fail over automatically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Redis {
    /// Image; needs >= 6.2 for Sentinel host names and `redis-cli -e` (`redis:7.4.1`).
    pub image: ImageRef,
    /// Replicas of the master (the guide has one).
    #[validate(range(max = 16))]
    pub replicas: u32,
    /// Name Sentinels monitor the master under (`mymaster`).
    #[validate(length(min = 1, max = 64))]
    #[serde(default = "mymaster")]
    pub master_name: String,
    /// Secret holding the password of every data node (Sentinel needs one password for all).
    pub password_secret: SecretName,
    /// Port of the data nodes.
    #[validate(range(min = 1))]
    #[serde(default = "defaults::redis_port")]
    pub port: u16,
    /// The master refuses writes unless this many replicas are connected (0 = off).
    #[validate(range(max = 16))]
    #[serde(default)]
    pub min_replicas_to_write: u32,
    /// A replica counts for `min-replicas-to-write` only if it acknowledged within this time.
    #[serde(default = "defaults::secs::<10>")]
    pub min_replicas_max_lag: Duration,
    /// `maxmemory` per data node. Unset: half the memory limit, because a fork for AOF rewrite or
    /// a replica's full sync can double the data set's memory, and the replica output buffers need
    /// room too. Set it and Redis refuses writes (or evicts) at that size instead of being killed.
    #[serde(default)]
    pub maxmemory: Option<ByteSize>,
    /// What Redis does when `maxmemory` is reached: `noeviction` (refuse writes, keep every key)
    /// or one of Redis's eviction policies.
    #[serde(default)]
    pub maxmemory_policy: MaxmemoryPolicy,
    /// Append-only file persistence.
    #[serde(default = "defaults::yes")]
    pub appendonly: bool,
    /// Resources per data node.
    #[validate(nested)]
    pub resources: Resources,
    /// Where the master and replicas run.
    #[serde(default)]
    pub placement: Placement,
    /// Update order override; stateful instances must use `stop-first`.
    #[serde(default)]
    pub update_order: Option<UpdateOrder>,
    /// The Sentinels.
    #[validate(nested)]
    pub sentinel: Sentinel,
}

/// Redis's `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    /// Refuse writes that need memory; no key is ever dropped.
    #[default]
    Noeviction,
    /// Evict the least recently used keys.
    AllkeysLru,
    /// Evict the least frequently used keys.
    AllkeysLfu,
    /// Evict random keys.
    AllkeysRandom,
    /// Evict the least recently used keys that have a TTL.
    VolatileLru,
    /// Evict the least frequently used keys that have a TTL.
    VolatileLfu,
    /// Evict random keys that have a TTL.
    VolatileRandom,
    /// Evict the keys with the nearest TTL.
    VolatileTtl,
}

impl MaxmemoryPolicy {
    /// The value as Redis writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noeviction => "noeviction",
            Self::AllkeysLru => "allkeys-lru",
            Self::AllkeysLfu => "allkeys-lfu",
            Self::AllkeysRandom => "allkeys-random",
            Self::VolatileLru => "volatile-lru",
            Self::VolatileLfu => "volatile-lfu",
            Self::VolatileRandom => "volatile-random",
            Self::VolatileTtl => "volatile-ttl",
        }
    }
}

fn mymaster() -> String {
    "mymaster".to_owned()
}

/// Redis Sentinels: detect a failed master and promote a replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sentinel {
    /// Number of Sentinels; at least 3, odd, on independent hosts.
    #[validate(range(min = 1, max = 15))]
    pub count: u32,
    /// Sentinels that must agree the master is down (the guide: 2).
    #[validate(range(max = 15))]
    pub quorum: u32,
    /// Silence after which a Sentinel considers the master down (the guide: 5s).
    #[serde(default = "defaults::secs::<5>")]
    pub down_after: Duration,
    /// Replicas reconfigured at once after a failover (the guide: 1).
    #[validate(range(min = 1, max = 16))]
    #[serde(default = "defaults::one")]
    pub parallel_syncs: u32,
    /// Failover time limit (the guide: 10s).
    #[serde(default = "defaults::secs::<10>")]
    pub failover_timeout: Duration,
    /// Port of the Sentinels.
    #[validate(range(min = 1))]
    #[serde(default = "defaults::sentinel_port")]
    pub port: u16,
    /// Resources per Sentinel.
    #[validate(nested)]
    pub resources: Resources,
    /// Where the Sentinels run.
    #[serde(default)]
    pub placement: Placement,
    /// Update order override; Sentinels keep state and must use `stop-first`.
    #[serde(default)]
    pub update_order: Option<UpdateOrder>,
}
