//! The failover scenarios of the HA guide, each measured against budgets
//! taken from the topology.

mod backend;
mod lb;
mod postgres;
mod redis;

use std::fmt;
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::error::{DrillError, Failure};
use crate::report::{Check, ScenarioReport};

pub(crate) use backend::backend_failover;
pub(crate) use lb::load_balancer;
pub(crate) use postgres::postgres;
pub(crate) use redis::redis_failover;

/// A scenario the drill can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
// New scenarios are added without a major version.
#[non_exhaustive]
pub enum Scenario {
    /// Stop one backend under a steady request stream: no client request
    /// fails, the backend is out for fail-timeout, then gets traffic again.
    BackendFailover,
    /// Kill the Redis master under writes: time until every Sentinel agrees
    /// on a new master, the old master rejoins as a replica, writes lost.
    RedisFailover,
    /// Replicas stream under their slot names, a row reaches each, lag
    /// under a write load, then the primary is killed and a replica promoted.
    Postgres,
    /// The balancing method behaves as configured; the status endpoint
    /// answers only its allow-list.
    LoadBalancer,
}

impl Scenario {
    /// Every scenario, in the order the table lists them.
    pub const ALL: [Self; 4] = [
        Self::BackendFailover,
        Self::RedisFailover,
        Self::Postgres,
        Self::LoadBalancer,
    ];

    /// The name on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::BackendFailover => "backend-failover",
            Self::RedisFailover => "redis-failover",
            Self::Postgres => "postgres",
            Self::LoadBalancer => "load-balancer",
        }
    }

    /// The scenario called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs one scenario body: its checks, or the finding that stopped it.
/// Only a drill error (interrupted, environment) ends the whole drill.
pub(crate) fn run(
    ctx: &Ctx<'_>,
    scenario: Scenario,
    body: impl FnOnce(&mut Vec<Check>) -> Result<(), Failure>,
) -> Result<ScenarioReport, DrillError> {
    let start = Instant::now();
    ctx.say(scenario.name(), "start");
    let mut checks = Vec::new();
    let error = match body(&mut checks) {
        Ok(()) => None,
        Err(Failure::Finding(msg)) => Some(ctx.scrub(&msg)),
        Err(Failure::Drill(e)) => return Err(e),
    };
    let report = ScenarioReport::new(
        scenario.name(),
        checks,
        error,
        start.elapsed().as_secs_f64(),
    );
    ctx.say(
        scenario.name(),
        &format!(
            "{} in {:.1} s",
            if report.passed { "passed" } else { "FAILED" },
            report.seconds
        ),
    );
    Ok(report)
}

/// `12.3 s`.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
