//! Names the generator gives to instances, shared by validation (to find
//! collisions) and rendering (to name services, containers and hosts).
//! They follow the HA guide, so its runbook commands work verbatim.

/// The load balancer's service name on Swarm (`promptforge_nginx`).
pub const LOAD_BALANCER_SERVICE: &str = "nginx";
/// The node label (after the stack name) of the load balancer's edge nodes.
pub const EDGE_LABEL: &str = "edge";
/// The load balancer's service name on Compose (`promptforge-nginx-lb`).
pub const LOAD_BALANCER_INSTANCE: &str = "nginx-lb";
/// Monitoring services. Exporters are named after the member they watch
/// (`postgres-primary-exporter`), inside the reserved `postgres-*` and
/// `redis-*` families; the old single exporters' names stay reserved.
pub const MONITORING_SERVICES: [&str; 6] = [
    "prometheus",
    "grafana",
    "alertmanager",
    "nginx-exporter",
    "postgres-exporter",
    "redis-exporter",
];

/// Where the load balancer serves Prometheus (`monitoring.web-htpasswd-secret`).
pub const PROMETHEUS_PATH: &str = "/prometheus/";
/// Where the load balancer serves Alertmanager.
pub const ALERTMANAGER_PATH: &str = "/alertmanager/";
/// Where the load balancer serves Grafana.
pub const GRAFANA_PATH: &str = "/grafana/";

/// The exporter of a PostgreSQL member or Redis data node:
/// `postgres-primary` -> `postgres-primary-exporter`.
pub fn exporter_of(member: &str) -> String {
    format!("{member}-exporter")
}

/// PostgreSQL instances: `postgres-primary`, `postgres-replica`, `postgres-replica-2`, ...
pub fn postgres_instances(replicas: u32) -> Vec<String> {
    stateful("postgres-primary", "postgres-replica", replicas)
}

/// Redis data nodes: `redis-master`, `redis-replica`, `redis-replica-2`, ...
pub fn redis_instances(replicas: u32) -> Vec<String> {
    stateful("redis-master", "redis-replica", replicas)
}

/// Sentinels: `redis-sentinel-1` .. `redis-sentinel-N`.
pub fn sentinel_instances(count: u32) -> Vec<String> {
    (1..=count).map(|i| format!("redis-sentinel-{i}")).collect()
}

/// A Compose instance of an app service: `backend1`, `backend2`, ...
pub fn app_instance(service: &str, index: u32) -> String {
    format!("{service}{index}")
}

/// The replication slot and `cluster_name` of a PostgreSQL replica instance
/// (`postgres-replica-2` -> `postgres_replica_2`): slot names allow only
/// `a-z`, `0-9` and `_`.
pub fn slot_name(instance: &str) -> String {
    instance.replace('-', "_")
}

fn stateful(first: &str, replica: &str, replicas: u32) -> Vec<String> {
    let mut names = vec![first.to_owned()];
    names.extend((1..=replicas).map(|i| {
        if i == 1 {
            replica.to_owned()
        } else {
            format!("{replica}-{i}")
        }
    }));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_guide() {
        assert_eq!(
            postgres_instances(2),
            ["postgres-primary", "postgres-replica", "postgres-replica-2"]
        );
        assert_eq!(redis_instances(1), ["redis-master", "redis-replica"]);
        assert_eq!(sentinel_instances(3)[2], "redis-sentinel-3");
        assert_eq!(app_instance("backend", 3), "backend3");
        assert_eq!(slot_name("postgres-replica-2"), "postgres_replica_2");
    }
}
