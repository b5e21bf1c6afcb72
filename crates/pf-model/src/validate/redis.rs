//! Redis and Sentinel rules.

use super::Finding;
use crate::codes::Code;
use crate::model::{Placement, TopologyFile};

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let redis = &file.redis;
    let s = &redis.sentinel;
    let majority = s.count / 2 + 1;
    if s.count < 3 {
        out.push(Finding::new(
            Code::SentinelCountTooLow,
            "redis.sentinel.count",
            format!("{} Sentinel(s) cannot survive the loss of one", s.count),
            "run at least 3 Sentinels on independent hosts",
        ));
    } else if s.count.is_multiple_of(2) {
        out.push(Finding::new(
            Code::SentinelCountEven,
            "redis.sentinel.count",
            format!(
                "{} Sentinels tolerate no more failures than {}",
                s.count,
                s.count - 1
            ),
            format!("use {} or {} Sentinels", s.count - 1, s.count + 1),
        ));
    }
    if s.quorum < 1 || s.quorum > s.count {
        out.push(Finding::new(
            Code::SentinelQuorumOutOfRange,
            "redis.sentinel.quorum",
            format!(
                "quorum {} is not between 1 and the {} Sentinels",
                s.quorum, s.count
            ),
            format!(
                "set quorum between 1 and {}; the majority is {majority}",
                s.count.max(1)
            ),
        ));
    } else if s.quorum != majority {
        out.push(Finding::new(
            Code::SentinelQuorumNotMajority,
            "redis.sentinel.quorum",
            format!(
                "quorum {} is not the majority of {} Sentinels",
                s.quorum, s.count
            ),
            format!("the majority is {majority}"),
        ));
    }
    if s.failover_timeout <= s.down_after {
        out.push(Finding::new(
            Code::SentinelFailoverTimeoutTooShort,
            "redis.sentinel.failover-timeout",
            format!(
                "failover-timeout {} is not longer than down-after {}",
                s.failover_timeout, s.down_after
            ),
            "make failover-timeout longer than down-after (the guide: 5s and 10s)",
        ));
    }
    if redis.replicas == 0 {
        out.push(Finding::new(
            Code::RedisNoReplica,
            "redis.replicas",
            "the Sentinels have no replica to promote",
            "set `replicas` to at least 1",
        ));
    } else if s.parallel_syncs > redis.replicas {
        out.push(Finding::new(
            Code::SentinelParallelSyncsExceedReplicas,
            "redis.sentinel.parallel-syncs",
            format!(
                "parallel-syncs {} is more than the {} replica(s)",
                s.parallel_syncs, redis.replicas
            ),
            super::use_range(1, redis.replicas),
        ));
    }
    if redis.min_replicas_to_write > redis.replicas {
        out.push(Finding::new(
            Code::RedisMinReplicasExceedReplicas,
            "redis.min-replicas-to-write",
            format!(
                "min-replicas-to-write {} is more than the {} replica(s): every write would be refused",
                redis.min_replicas_to_write, redis.replicas
            ),
            super::use_range(0, redis.replicas.saturating_sub(1)),
        ));
    } else if redis.min_replicas_to_write > 0 && redis.min_replicas_to_write == redis.replicas {
        out.push(Finding::new(
            Code::RedisMinReplicasEqualReplicas,
            "redis.min-replicas-to-write",
            format!(
                "min-replicas-to-write {} equals the replica count: any replica outage stops writes",
                redis.min_replicas_to_write
            ),
            "lower it, or add a replica",
        ));
    }
    let name_ok = !redis.master_name.is_empty()
        && redis
            .master_name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
    if !name_ok {
        out.push(Finding::new(
            Code::RedisMasterNameInvalid,
            "redis.master-name",
            format!(
                "master name `{}` has characters Sentinel rejects",
                redis.master_name
            ),
            "use letters, digits, `.`, `-` and `_`, for example `mymaster`",
        ));
    }
    if let Some(max) = redis.maxmemory
        && max.bytes() >= redis.resources.limits.memory.bytes()
    {
        out.push(Finding::new(
            Code::RedisMaxmemoryOverLimit,
            "redis.maxmemory",
            format!(
                "maxmemory {max} is not below the data nodes' memory limit {}",
                redis.resources.limits.memory
            ),
            format!(
                "lower it, for example to {} (half the limit), or leave it unset",
                half(redis.resources.limits.memory)
            ),
        ));
    }
    if s.placement == Placement::NodeLabels && s.count > file.capacity.nodes && s.count >= 3 {
        out.push(Finding::new(
            Code::SentinelsShareNodes,
            "redis.sentinel.count",
            format!(
                "{} Sentinels on {} host(s): some share a host and fail together",
                s.count, file.capacity.nodes
            ),
            "run the Sentinels on at least as many hosts as there are Sentinels",
        ));
    }
}

/// Half a size, for the help text.
fn half(size: crate::units::ByteSize) -> crate::units::ByteSize {
    crate::units::ByteSize::from_bytes(size.bytes() / 2)
}
