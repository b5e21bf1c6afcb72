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
/// (`postgres-1-exporter`), inside the reserved `postgres-*` and
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
/// `postgres-1` -> `postgres-1-exporter`.
pub fn exporter_of(member: &str) -> String {
    format!("{member}-exporter")
}

/// PostgreSQL members: `postgres-1` .. `postgres-<replicas + 1>`. Their
/// names say nothing about their role: which one is the primary is a
/// setting (`postgres.primary`), so a failover changes a setting, not names
/// that volumes, node labels and containers are bound to.
pub fn postgres_instances(replicas: u32) -> Vec<String> {
    (1..=replicas.saturating_add(1))
        .map(|i| format!("{POSTGRES_MEMBER_PREFIX}{i}"))
        .collect()
}

/// The prefix of every PostgreSQL member name (`postgres-1`).
pub const POSTGRES_MEMBER_PREFIX: &str = "postgres-";

/// The network alias of whichever member the topology names primary: the
/// guide's host name, so `DATABASE_URL` never changes on a failover.
pub const POSTGRES_PRIMARY_ALIAS: &str = "postgres-primary";

/// The network alias of the first member that is not the primary: the
/// guide's read replica host.
pub const POSTGRES_REPLICA_ALIAS: &str = "postgres-replica";

/// True for `postgres-<number>`, a member name of any cluster size.
pub fn is_postgres_member(name: &str) -> bool {
    name.strip_prefix(POSTGRES_MEMBER_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
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

/// The replication slot and `cluster_name` of a PostgreSQL member
/// (`postgres-2` -> `postgres_2`): slot names allow only `a-z`, `0-9` and
/// `_`. Every member has one: any of them can be a standby.
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
            ["postgres-1", "postgres-2", "postgres-3"]
        );
        assert!(is_postgres_member("postgres-12"));
        for other in ["postgres-", "postgres-primary", "postgres-1a", "postgres"] {
            assert!(!is_postgres_member(other), "{other}");
        }
        assert_eq!(redis_instances(1), ["redis-master", "redis-replica"]);
        assert_eq!(sentinel_instances(3)[2], "redis-sentinel-3");
        assert_eq!(app_instance("backend", 3), "backend3");
        assert_eq!(slot_name("postgres-2"), "postgres_2");
    }
}
