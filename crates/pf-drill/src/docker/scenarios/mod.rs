//! The drill's scenarios against a deployed stack. Same names, same
//! budgets (from the topology) and the same report as on loopback; what
//! is measured differs only where a container differs from a process the
//! drill owns (it cannot slow one backend down, so least-conn is shown by
//! the spread over tasks; it finds who answered in nginx's access log).

mod postgres;
mod redis;
mod web;

pub(crate) use postgres::postgres;
pub(crate) use redis::redis_failover;
pub(crate) use web::{backend_failover, load_balancer};
