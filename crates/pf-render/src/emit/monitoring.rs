//! Prometheus scrape configuration, alert rules built from the topology's
//! thresholds, and the Grafana data source.
//!
//! Only metrics the pinned exporters really export are used:
//!
//! - postgres_exporter (v0.16, connected to the primary only) exports one
//!   row of `pg_stat_replication` per standby as
//!   `pg_stat_replication_pg_wal_lsn_diff` (bytes between the primary's
//!   current WAL position and the standby's replay position) and
//!   `pg_stat_replication_pg_current_wal_lsn_bytes` (the primary's WAL
//!   position), labelled with `application_name`, which is the standby's
//!   `cluster_name`, i.e. its slot name. Its time columns (`replay_lag`..)
//!   are discarded by the exporter, and `pg_replication_lag_seconds` is
//!   always 0 on a primary, so time lag is derived: bytes behind divided by
//!   the rate the primary writes WAL.
//! - redis_exporter watches the initial master: `redis_up`,
//!   `redis_connected_slaves`, `redis_instance_info{role}`, memory.
//! - nginx-prometheus-exporter reads stub_status, which has no status
//!   codes: `nginx_up` is all it can alert on.

use std::collections::BTreeMap;

use pf_model::units::Duration;
use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::plan::{Job, MonitoringPlan};

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let Some(m) = &cx.plan.monitoring else {
        return Ok(());
    };
    let files = &m.files;
    bundle.add(
        &files.prometheus.artifact,
        &yaml(&files.prometheus.artifact, &prometheus(cx, m))?,
    );
    let alerts = yaml(&files.alerts.artifact, &alerts(cx, m))?;
    bundle.add(
        &files.alerts.artifact,
        &format!("{ALERTS_PREAMBLE}{alerts}"),
    );
    let redis = &cx.plan.redis;
    let uris: Vec<String> = redis
        .nodes()
        .map(|n| crate::plan::redis_uri(&n.instance, redis.settings.port))
        .collect();
    let entrypoint = crate::templates::render(
        "monitoring/redis-exporter-entrypoint.sh",
        ExporterEntrypoint {
            password_file: redis.password_file.display().to_string(),
            exporter_bin: crate::files::mount::REDIS_EXPORTER_BIN,
            uris: uris.join(" "),
        },
    )?;
    bundle.add(&files.redis_exporter_entrypoint.artifact, &entrypoint);
    if let Some(datasource) = &files.grafana_datasource {
        bundle.add(
            &datasource.artifact,
            &yaml(&datasource.artifact, &grafana(m))?,
        );
    }
    Ok(())
}

/// Defaults baked into the Redis exporter's entrypoint.
#[derive(Serialize)]
struct ExporterEntrypoint {
    password_file: String,
    exporter_bin: &'static str,
    /// Space-separated: `redis://host:port` of every data node.
    uris: String,
}

fn yaml(artifact: &str, value: &impl Serialize) -> Result<String, RenderError> {
    super::yaml_text(artifact, value)
}

/// Why some alerts of the guide are missing, said where people look for them.
const ALERTS_PREAMBLE: &str = "\
# Resource usage: the bundle runs no cAdvisor or node-exporter, so there is no
# metric for container CPU or memory against its limit. The only usage
# alerts here are those the exporters measure: Redis memory against
# maxmemory and PostgreSQL connections against max_connections, above
# monitoring.alerts.resource-usage. Add cAdvisor for container limits.
# HTTP 5xx rates: nginx stub_status has no status codes; NginxDown is what
# the nginx exporter can tell.
";

#[derive(Serialize)]
struct PromConfig {
    global: Global,
    rule_files: Vec<String>,
    scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Serialize)]
struct Global {
    scrape_interval: String,
    evaluation_interval: String,
    external_labels: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: &'static str,
    static_configs: Vec<StaticConfig>,
}

#[derive(Serialize)]
struct StaticConfig {
    targets: Vec<String>,
}

fn prometheus(cx: &Cx<'_>, m: &MonitoringPlan) -> PromConfig {
    let interval = prom_duration(m.settings.scrape_interval);
    PromConfig {
        global: Global {
            scrape_interval: interval.clone(),
            evaluation_interval: interval,
            external_labels: BTreeMap::from([("stack", cx.plan.stack.clone())]),
        },
        rule_files: vec![m.files.alerts.path.display().to_string()],
        scrape_configs: m
            .jobs
            .iter()
            .map(|j| ScrapeConfig {
                job_name: j.job.name(),
                static_configs: vec![StaticConfig {
                    targets: vec![j.target.to_string()],
                }],
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: String,
    labels: BTreeMap<&'static str, String>,
    annotations: Annotations,
}

#[derive(Serialize)]
struct Annotations {
    summary: String,
    description: String,
}

/// Builds rules with the topology's `for` duration.
struct Rules {
    for_: String,
}

impl Rules {
    fn rule(
        &self,
        alert: &str,
        severity: &str,
        expr: String,
        summary: String,
        description: String,
    ) -> Rule {
        Rule {
            alert: alert.to_owned(),
            expr,
            for_: self.for_.clone(),
            labels: BTreeMap::from([("severity", severity.to_owned())]),
            annotations: Annotations {
                summary,
                description,
            },
        }
    }
}

fn alerts(cx: &Cx<'_>, m: &MonitoringPlan) -> RuleFile {
    let stack = &cx.plan.stack;
    let lb = &cx.plan.lb.instance;
    let r = Rules {
        for_: prom_duration(m.settings.alerts.for_duration),
    };
    let groups = vec![
        Group {
            name: format!("{stack}-targets"),
            rules: target_rules(m, &r),
        },
        Group {
            name: format!("{stack}-postgres"),
            rules: postgres_rules(cx, m, &r),
        },
        Group {
            name: format!("{stack}-redis"),
            rules: redis_rules(cx, &r),
        },
        Group {
            name: format!("{stack}-nginx"),
            rules: vec![r.rule(
                "NginxDown",
                "critical",
                "nginx_up == 0".into(),
                "nginx stub_status is unreachable".into(),
                format!(
                    "The nginx exporter cannot read http://{}/nginx_status: the load balancer \
                     ({}) is down or its status endpoint fails.",
                    m.nginx_status, lb.container
                ),
            )],
        },
        Group {
            name: format!("{stack}-resources"),
            rules: resource_rules(cx, m, &r),
        },
    ];
    RuleFile { groups }
}

fn target_rules(m: &MonitoringPlan, r: &Rules) -> Vec<Rule> {
    m.jobs
        .iter()
        .map(|j| {
            let (alert, what) = match j.job {
                Job::Prometheus => ("PrometheusSelfScrapeFailing", "itself"),
                Job::Nginx => ("NginxExporterDown", "the nginx exporter"),
                Job::Postgres => ("PostgresExporterDown", "the PostgreSQL exporter"),
                Job::Redis => ("RedisExporterDown", "the Redis exporter"),
            };
            let (job, service) = (j.job.name(), &j.service);
            r.rule(
                alert,
                "critical",
                format!("up{{job=\"{job}\"}} == 0"),
                format!("Prometheus cannot scrape {what} (job {job})"),
                format!(
                    "Target {{{{ $labels.instance }}}} of job {job} failed its scrapes: the {service} \
                     service is down or failing its health check, and the alerts that depend on \
                     its metrics are blind."
                ),
            )
        })
        .collect()
}

fn postgres_rules(cx: &Cx<'_>, m: &MonitoringPlan, r: &Rules) -> Vec<Rule> {
    let pg = &cx.plan.postgres;
    let lag = &pg.settings.lag;
    let primary = &pg.primary.instance;
    // deriv() needs several samples; never shorter than 5 minutes.
    let window_secs = (m.settings.scrape_interval.as_secs_ceil() * 4).max(300);
    let time_lag = format!(
        "pg_stat_replication_pg_wal_lsn_diff / deriv(pg_stat_replication_pg_current_wal_lsn_bytes[{}])",
        prom_duration(Duration::from_secs(window_secs))
    );
    let mut rules = vec![r.rule(
        "PostgresPrimaryDown",
        "critical",
        "pg_up == 0".into(),
        format!("PostgreSQL primary {} is unreachable", primary.host),
        format!(
            "The PostgreSQL exporter cannot connect to {}:{}/{}: the primary ({}) is down or \
             refusing connections. Promotion of a replica is manual (see the bundle README).",
            primary.host, pg.settings.port, pg.settings.database, primary.container
        ),
    )];
    if pg.replicas.is_empty() {
        return rules;
    }
    for (level, seconds, key) in [
        ("warning", lag.warning, "warning"),
        ("critical", lag.critical, "critical"),
    ] {
        rules.push(r.rule(
            &format!("PostgresReplicationLag{}", title(level)),
            level,
            format!("{time_lag} > {}", prom_seconds(seconds)),
            format!(
                "Replica {{{{ $labels.application_name }}}} lags more than {seconds} behind the primary"
            ),
            format!(
                "At the rate the primary writes WAL, replica {{{{ $labels.application_name }}}} is \
                 {{{{ $value | printf \"%.1f\" }}}}s behind (postgres.lag.{key} = {seconds}; \
                 +Inf means it is behind while the primary writes nothing)."
            ),
        ));
    }
    for (level, bytes, key) in [
        ("warning", lag.warning_bytes, "warning-bytes"),
        ("critical", lag.critical_bytes, "critical-bytes"),
    ] {
        rules.push(r.rule(
            &format!("PostgresReplicationLagBytes{}", title(level)),
            level,
            format!("pg_stat_replication_pg_wal_lsn_diff > {}", bytes.bytes()),
            format!(
                "Replica {{{{ $labels.application_name }}}} is more than {bytes} of WAL behind"
            ),
            format!(
                "Replica {{{{ $labels.application_name }}}} has not replayed \
                 {{{{ $value | humanize1024 }}}}B of the primary's WAL (postgres.lag.{key} = {bytes})."
            ),
        ));
    }
    for replica in &pg.replicas {
        let mut rule = r.rule(
            "PostgresReplicaNotStreaming",
            "critical",
            format!(
                "absent(pg_stat_replication_pg_wal_lsn_diff{{application_name=\"{}\"}}) and on() pg_up == 1",
                replica.slot
            ),
            format!("Replica {} is not connected to the primary", replica.instance.host),
            format!(
                "pg_stat_replication on {} has no row for {} (application_name {}): the replica \
                 is down or cannot reach the primary, and its slot {} is holding WAL.",
                primary.host, replica.instance.host, replica.slot, replica.slot
            ),
        );
        rule.labels.insert("replica", replica.instance.name.clone());
        rules.push(rule);
    }
    rules
}

fn redis_rules(cx: &Cx<'_>, r: &Rules) -> Vec<Rule> {
    let redis = &cx.plan.redis;
    let instance = &redis.master.instance;
    // Its name, and on Compose the fixed address the exporter reaches it by.
    let master = if instance.host == instance.name {
        instance.name.clone()
    } else {
        format!("{} ({})", instance.name, instance.host)
    };
    let master = Named {
        host: &master,
        container: &instance.container,
        addr: &instance.host,
    };
    let replicas = redis.replicas.len();
    let mut rules = vec![r.rule(
        "RedisDown",
        "critical",
        "redis_up == 0".into(),
        format!("Redis node {} is unreachable", master.host),
        format!(
            "The Redis exporter cannot reach {}:{}: the node ({}) is down or rejects the \
             password. Sentinel fails over after {}.",
            master.addr, redis.settings.port, master.container, redis.settings.sentinel.down_after
        ),
    )];
    if replicas >= 2 {
        rules.push(r.rule(
            "RedisReplicasMissing",
            "warning",
            format!("redis_connected_slaves < {replicas}"),
            format!("Redis master has fewer than {replicas} connected replicas"),
            format!(
                "{} has {{{{ $value }}}} of {replicas} replicas connected.",
                master.host
            ),
        ));
    }
    if replicas >= 1 {
        rules.push(r.rule(
            "RedisMasterWithoutReplicas",
            "critical",
            "redis_connected_slaves == 0".into(),
            format!("Redis node {} has no connected replica", master.host),
            format!(
                "{} has no replica connected: Sentinel has nothing to promote if it fails. If \
                 {} is itself a replica now (see RedisMasterMoved), ask a Sentinel for the \
                 master: SENTINEL get-master-addr-by-name {}.",
                master.host, master.host, redis.settings.master_name
            ),
        ));
    }
    rules.push(r.rule(
        "RedisMasterMoved",
        "warning",
        "redis_instance_info{role!=\"master\"} == 1".into(),
        format!("{} is no longer the Redis master", master.host),
        format!(
            "Sentinel failed over: {} now runs as {{{{ $labels.role }}}}. The exporter keeps \
             watching {}, so replication alerts describe a replica until it is master again.",
            master.host, master.host
        ),
    ));
    rules
}

/// How the Redis alerts name the node the exporter watches.
struct Named<'a> {
    /// `redis-master`, or `redis-master (172.26.64.1)` on Compose.
    host: &'a str,
    container: &'a str,
    /// The address the exporter connects to.
    addr: &'a str,
}

fn resource_rules(cx: &Cx<'_>, m: &MonitoringPlan, r: &Rules) -> Vec<Rule> {
    let fraction = m.settings.alerts.resource_usage;
    let percent = (fraction * 100.0).round();
    vec![
        r.rule(
            "RedisMemoryHigh",
            "warning",
            format!(
                "redis_memory_used_bytes / redis_memory_max_bytes > {fraction} and redis_memory_max_bytes > 0"
            ),
            format!("Redis uses more than {percent}% of maxmemory"),
            "{{ $labels.instance }}: {{ $value | humanizePercentage }} of maxmemory used \
             (monitoring.alerts.resource-usage)."
                .into(),
        ),
        r.rule(
            "PostgresConnectionsHigh",
            "warning",
            format!(
                "sum by (instance, job) (pg_stat_activity_count) / on(instance, job) \
                 max by (instance, job) (pg_settings_max_connections) > {fraction}"
            ),
            format!("PostgreSQL uses more than {percent}% of max_connections"),
            format!(
                "{{{{ $value | humanizePercentage }}}} of max_connections ({}) on the primary \
                 are in use (monitoring.alerts.resource-usage).",
                cx.plan.postgres.settings.max_connections
            ),
        ),
    ]
}

#[derive(Serialize)]
struct GrafanaProvisioning {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    datasources: Vec<GrafanaDatasource>,
}

#[derive(Serialize)]
struct GrafanaDatasource {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    access: &'static str,
    url: String,
    #[serde(rename = "isDefault")]
    is_default: bool,
    editable: bool,
}

fn grafana(m: &MonitoringPlan) -> GrafanaProvisioning {
    GrafanaProvisioning {
        api_version: 1,
        datasources: vec![GrafanaDatasource {
            name: "Prometheus",
            kind: "prometheus",
            access: "proxy",
            url: format!("http://{}", m.prometheus_endpoint),
            is_default: true,
            // Provisioned: edits in the UI would be lost on restart.
            editable: false,
        }],
    }
}

/// Prometheus duration syntax; the canonical form (`1m30s`, `500ms`) is valid.
fn prom_duration(d: Duration) -> String {
    d.to_string()
}

/// Seconds as a PromQL number: `5`, `0.5`.
fn prom_seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
            .trim_end_matches('0')
            .to_owned()
    }
}

fn title(level: &str) -> String {
    let mut chars = level.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_in_promql() {
        assert_eq!(prom_seconds(Duration::from_secs(5)), "5");
        assert_eq!(prom_seconds(Duration::from_millis(1500)), "1.5");
        assert_eq!(prom_seconds(Duration::from_millis(250)), "0.25");
    }
}
