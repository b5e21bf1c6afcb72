//! The budgets every drill measures against, from the topology's settings
//! (the same on every target): nginx's fail-timeout, the PostgreSQL lag
//! thresholds, Sentinel's down-after + failover-timeout.

use std::time::Duration;

use pf_render::Plan;

/// Budgets of one topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budgets {
    /// nginx keeps a failed server out this long (`fail-timeout`).
    pub(crate) fail_timeout: Duration,
    /// `postgres.lag.warning`: the longest a row may take to reach a replica.
    pub(crate) lag_warning: Duration,
    /// `postgres.lag.critical`: the longest a promotion may take.
    pub(crate) lag_critical: Duration,
    /// `postgres.lag.warning-bytes`.
    pub(crate) lag_warning_bytes: u64,
    /// Sentinel's `down-after` + `failover-timeout`: the Redis failover budget.
    pub(crate) failover: Duration,
}

/// The guide's promise for a backend failover: "< 1 s" per request.
pub(crate) const BACKEND_FAILOVER: Duration = Duration::from_secs(1);

fn ms(d: pf_model::units::Duration) -> Duration {
    Duration::from_millis(d.as_millis())
}

impl Budgets {
    /// The budgets of a plan (any target).
    pub(crate) fn of(plan: &Plan) -> Self {
        let sentinel = &plan.redis.settings.sentinel;
        let lag = &plan.postgres.settings.lag;
        Self {
            fail_timeout: ms(plan.lb.settings.fail_timeout),
            lag_warning: ms(lag.warning),
            lag_critical: ms(lag.critical),
            lag_warning_bytes: lag.warning_bytes.bytes(),
            failover: ms(sentinel.down_after) + ms(sentinel.failover_timeout),
        }
    }
}
