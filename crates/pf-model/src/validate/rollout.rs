//! Rollout and HA shape: instance counts, update order, parallelism.

use super::Finding;
use crate::codes::Code;
use crate::model::{TopologyFile, UpdateOrder};

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let parallelism = file.rollout.parallelism;
    let mut tiers: Vec<(String, &str, u32)> = file
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                format!("services[{i}].replicas"),
                s.name.as_str(),
                s.replicas,
            )
        })
        .collect();
    tiers.push((
        "load-balancer.instances".into(),
        "nginx",
        file.load_balancer.instances,
    ));
    for (path, name, count) in &tiers {
        if *count == 0 {
            // Already an out-of-range error; a warning on top adds noise.
            continue;
        }
        if *count == 1 {
            out.push(Finding::new(
                Code::SingleReplicaTier,
                path.clone(),
                format!("`{name}` runs a single instance: an update or crash is an outage"),
                "run at least 2 instances",
            ));
        } else if parallelism >= *count {
            out.push(Finding::new(
                Code::RolloutParallelismExceedsReplicas,
                "rollout.parallelism",
                format!("rollout parallelism {parallelism} updates all {count} instances of `{name}` at once"),
                format!("use a parallelism below {count}"),
            ));
        }
    }
    let stateful = [
        ("postgres.update-order", file.postgres.update_order),
        ("redis.update-order", file.redis.update_order),
        (
            "redis.sentinel.update-order",
            file.redis.sentinel.update_order,
        ),
    ];
    for (path, order) in stateful {
        if order == Some(UpdateOrder::StartFirst) {
            out.push(Finding::new(
                Code::StatefulStartFirst,
                path,
                "start-first would run two servers on one data volume during an update",
                "use `stop-first` (or remove the override)",
            ));
        }
    }
    if let Some(n) = file.restart.max_attempts {
        out.push(Finding::new(
            Code::RestartAttemptsBounded,
            "restart.max-attempts",
            format!(
                "after {n} failed restart(s) within {}, Swarm never restarts the service again, even once the cause is gone",
                file.restart.window
            ),
            "remove `max-attempts`: `restart.delay` still spaces the restarts of a crash loop",
        ));
    }
    if file.monitoring.grafana && file.monitoring.grafana_admin_password_secret.is_none() {
        out.push(Finding::new(
            Code::GrafanaWithoutAdminSecret,
            "monitoring.grafana",
            "Grafana would keep its default admin password",
            "declare a secret and set `grafana-admin-password-secret` to its name",
        ));
    }
    if file.monitoring.grafana && !file.monitoring.prometheus {
        out.push(Finding::new(
            Code::GrafanaWithoutPrometheus,
            "monitoring.grafana",
            "Grafana has no Prometheus to read from",
            "set `prometheus = true`",
        ));
    }
}
