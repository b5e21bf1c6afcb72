//! PostgreSQL replication rules.

use super::Finding;
use crate::codes::Code;
use crate::model::{SyncMode, TopologyFile};

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let pg = &file.postgres;
    let members = u64::from(pg.replicas) + 1;
    // 0 is already an out-of-range error.
    if pg.primary >= 1 && u64::from(pg.primary) > members {
        out.push(Finding::new(
            Code::PgPrimaryOutOfRange,
            "postgres.primary",
            format!(
                "primary {} names no member: the cluster has {members} (postgres-1 .. postgres-{members})",
                pg.primary
            ),
            format!(
                "{} (the member that runs as the primary)",
                super::use_range(1, pg.replicas + 1)
            ),
        ));
    }
    let needed = pg.replicas + 2;
    if pg.max_wal_senders < needed {
        out.push(Finding::new(
            Code::PgWalSendersTooLow,
            "postgres.max-wal-senders",
            format!(
                "max-wal-senders {} is below replicas + 2 = {needed}",
                pg.max_wal_senders
            ),
            format!("set max-wal-senders to at least {needed}"),
        ));
    }
    if pg.max_replication_slots < pg.replicas {
        out.push(Finding::new(
            Code::PgSlotsTooLow,
            "postgres.max-replication-slots",
            format!(
                "max-replication-slots {} is below the {} replica(s)",
                pg.max_replication_slots, pg.replicas
            ),
            format!("set it to at least {}", pg.replicas),
        ));
    }
    if pg.replicas == 0 {
        out.push(Finding::new(
            Code::PgNoReplica,
            "postgres.replicas",
            "PostgreSQL has no replica to promote or back up from",
            "set `replicas` to at least 1",
        ));
    } else if pg.max_slot_wal_keep_size.is_none() {
        out.push(Finding::new(
            Code::PgSlotWalUnbounded,
            "postgres",
            "no `max-slot-wal-keep-size`: a lost replica's slot can fill the primary's disk",
            "set `max-slot-wal-keep-size` below the data volume size, for example \"10G\"",
        ));
    }
    let required = pg.synchronous.required();
    if pg.synchronous != SyncMode::Off {
        if required > pg.replicas {
            out.push(Finding::new(
                Code::PgSyncExceedsReplicas,
                "postgres.synchronous",
                format!(
                    "`{}` waits for {required} standby(s) but there are {}: every commit would hang",
                    pg.synchronous, pg.replicas
                ),
                if pg.replicas == 0 {
                    "set `synchronous = \"off\"`: there is no standby to wait for".to_owned()
                } else {
                    format!("{} for N", super::use_range(1, pg.replicas))
                },
            ));
        } else if required == pg.replicas {
            out.push(Finding::new(
                Code::PgSyncEqualsReplicas,
                "postgres.synchronous",
                format!(
                    "`{}` waits for every standby: one standby outage blocks all commits",
                    pg.synchronous
                ),
                "add a replica, or lower N",
            ));
        }
    }
    if pg.lag.warning >= pg.lag.critical {
        out.push(Finding::new(
            Code::PgLagThresholdsInverted,
            "postgres.lag.warning",
            format!(
                "lag warning {} is not below critical {}",
                pg.lag.warning, pg.lag.critical
            ),
            "make the warning threshold lower than the critical one",
        ));
    }
    if pg.lag.warning_bytes >= pg.lag.critical_bytes {
        out.push(Finding::new(
            Code::PgLagThresholdsInverted,
            "postgres.lag.warning-bytes",
            format!(
                "lag warning {} is not below critical {}",
                pg.lag.warning_bytes, pg.lag.critical_bytes
            ),
            "make the warning threshold lower than the critical one",
        ));
    }
    if pg.read_endpoint.is_some() && pg.replicas == 0 {
        out.push(Finding::new(
            Code::PgReadEndpointWithoutReplicas,
            "postgres.read-endpoint",
            "the read endpoint has no replica to send reads to",
            "add replicas, or remove `read-endpoint`",
        ));
    }
    if pg.owner == pg.replication_role {
        out.push(Finding::new(
            Code::PgRolesIdentical,
            "postgres.replication-role",
            format!("`{}` is both the owner and the replication role", pg.owner),
            "use a separate replication role, for example `replicator`",
        ));
    }
    if pg.stop_grace_period.as_millis() < 60_000 {
        out.push(Finding::new(
            Code::PgStopGraceTooShort,
            "postgres.stop-grace-period",
            format!(
                "stop-grace-period {} may kill PostgreSQL mid-shutdown",
                pg.stop_grace_period
            ),
            "give it at least 60s (the default is 2m)",
        ));
    }
}
