//! Alert rules built from the topology's thresholds.
//!
//! Only metrics the pinned exporters really export are used, and every
//! PostgreSQL member and Redis data node has its own exporter, labelled
//! `member` with the member's name, so rules select on the role the
//! metrics report now, not on the role a member had at start:
//!
//! - postgres_exporter (v0.16) exports `pg_up` and
//!   `pg_replication_is_replica` on every member; on the primary, one row
//!   of `pg_stat_replication` per standby as
//!   `pg_stat_replication_pg_wal_lsn_diff` (bytes between the primary's
//!   current WAL position and the standby's replay position) and
//!   `pg_stat_replication_pg_current_wal_lsn_bytes` (the primary's WAL
//!   position), labelled with `application_name`, which is the standby's
//!   `cluster_name`, i.e. its slot name. Its time columns (`replay_lag`..)
//!   are discarded by the exporter, so time lag is derived: bytes behind
//!   divided by the rate the primary writes WAL.
//! - redis_exporter: `redis_up`, `redis_instance_info{role}`,
//!   `redis_connected_slaves`, `redis_master_link_up` (replicas), memory.
//! - each nginx task (`nginx/metrics.js`): its stub_status, and proxied
//!   responses by upstream and status class
//!   (`nginx_upstream_responses_total{upstream,code}`).

use std::collections::BTreeMap;

use pf_model::units::Duration;
use serde::Serialize;

use super::super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::plan::{Job, MonitoringPlan};

pub(super) fn emit(
    cx: &Cx<'_>,
    m: &MonitoringPlan,
    bundle: &mut Bundle,
) -> Result<(), RenderError> {
    let file = &m.files.alerts.artifact;
    let alerts = super::yaml(file, &alerts(cx, m))?;
    bundle.add(file, &format!("{ALERTS_PREAMBLE}{alerts}"));
    Ok(())
}

/// Why some alerts of the guide are missing, said where people look for them.
const ALERTS_PREAMBLE: &str = "\
# Resource usage: the bundle runs no cAdvisor or node-exporter, so there is no
# metric for container CPU or memory against its limit. The only usage
# alerts here are those the exporters measure: Redis memory against
# maxmemory and PostgreSQL connections against max_connections, above
# monitoring.alerts.resource-usage. Add cAdvisor for container limits.
# Alerts carry `member` (the PostgreSQL member or Redis node, from its
# exporter) or `instance` (an nginx task's address) and `severity`, which
# monitoring/alertmanager.yml routes on when Alertmanager runs.
";

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
            rules: nginx_rules(cx, &r),
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
                Job::Nginx => ("NginxMetricsDown", "a load balancer task's /metrics"),
                Job::Postgres => ("PostgresExporterDown", "a PostgreSQL exporter"),
                Job::Redis => ("RedisExporterDown", "a Redis exporter"),
                Job::Alertmanager => ("AlertmanagerDown", "Alertmanager"),
            };
            let job = j.job.name();
            let who = if j.targets.iter().any(|t| t.member.is_some()) {
                "the exporter of {{ $labels.member }} is down or failing its health check"
            } else {
                "the service is down or failing its health check"
            };
            r.rule(
                alert,
                "critical",
                format!("up{{job=\"{job}\"}} == 0"),
                format!("Prometheus cannot scrape {what} (job {job})"),
                format!(
                    "Target {{{{ $labels.instance }}}} of job {job} failed its scrapes: {who}, and \
                     the alerts that depend on its metrics are blind."
                ),
            )
        })
        .collect()
}

fn nginx_rules(cx: &Cx<'_>, r: &Rules) -> Vec<Rule> {
    let lb = &cx.plan.lb;
    let tasks = lb.replicas;
    let mut rules = vec![r.rule(
        "NginxTasksMissing",
        "critical",
        format!("(count(up{{job=\"nginx\"}} == 1) or vector(0)) < {tasks}"),
        format!("Fewer than {tasks} load balancer tasks answer"),
        format!(
            "Only {{{{ $value }}}} of {tasks} tasks of {} serve /metrics on port {}: a task is down, \
             restarting, or cannot be scheduled.",
            lb.instance.container, lb.settings.status.port
        ),
    )];
    for (level, ratio) in [("warning", "0.01"), ("critical", "0.05")] {
        rules.push(
            r.rule(
                &format!("UpstreamErrors{}", title(level)),
                level,
                format!(
                    "sum by (upstream) (rate(nginx_upstream_responses_total{{code=\"5xx\"}}[5m])) \
                 / sum by (upstream) (rate(nginx_upstream_responses_total[5m])) > {ratio}"
                ),
                format!("More than {ratio} of the responses of {{{{ $labels.upstream }}}} are 5xx"),
                "{{ $value | humanizePercentage }} of the requests nginx proxied to \
             {{ $labels.upstream }} in the last 5 minutes ended in a 5xx status (the app's own \
             or nginx's 502/504 when no instance answered)."
                    .into(),
            ),
        );
    }
    rules
}

fn postgres_rules(cx: &Cx<'_>, m: &MonitoringPlan, r: &Rules) -> Vec<Rule> {
    let pg = &cx.plan.postgres;
    let lag = &pg.settings.lag;
    let primary = &pg.primary().instance;
    // deriv() needs several samples; never shorter than 5 minutes.
    let window_secs = (m.settings.scrape_interval.as_secs_ceil() * 4).max(300);
    let time_lag = format!(
        "pg_stat_replication_pg_wal_lsn_diff / deriv(pg_stat_replication_pg_current_wal_lsn_bytes[{}])",
        prom_duration(Duration::from_secs(window_secs))
    );
    let members = pg.members().count();
    let mut rules = vec![
        r.rule(
            "PostgresDown",
            "critical",
            "pg_up == 0".into(),
            "PostgreSQL {{ $labels.member }} is unreachable".into(),
            format!(
                "The exporter of {{{{ $labels.member }}}} cannot connect to it on port {} \
                 (database {}): the server is down or refusing connections. If it is the \
                 primary (postgres.primary names {}), writes fail; promotion of a replica is \
                 manual (see the bundle README, \"PostgreSQL failover\").",
                pg.settings.port, pg.settings.database, primary.name
            ),
        ),
        r.rule(
            "PostgresNoPrimary",
            "critical",
            "count(pg_replication_is_replica == 0) < 1 or absent(pg_replication_is_replica == 0)"
                .into(),
            "No PostgreSQL member is a primary".into(),
            format!(
                "None of the {members} members answers as a primary: writes fail until one is \
                 promoted (the bundle README, \"PostgreSQL failover\")."
            ),
        ),
        r.rule(
            "PostgresSeveralPrimaries",
            "critical",
            "count(pg_replication_is_replica == 0) > 1".into(),
            "{{ $value }} PostgreSQL members accept writes".into(),
            "More than one member is a primary: a promoted replica and an old primary that came \
             back. Stop the one clients must not use before they write to both."
                .into(),
        ),
    ];
    if pg.replicas().is_empty() {
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
    // A slot past max_slot_wal_keep_size is invalidated: its standby can
    // never catch up (postgres_exporter >= 0.13 reports wal_status).
    if let Some(keep) = pg.settings.max_slot_wal_keep_size {
        rules.push(r.rule(
            "PostgresReplicationSlotLost",
            "critical",
            "pg_replication_slot_wal_status{wal_status=\"lost\"} == 1".into(),
            "Replication slot {{ $labels.slot_name }} was invalidated (wal_status lost)".into(),
            format!(
                "The standby of slot {{{{ $labels.slot_name }}}} fell behind by more than \
                 max-slot-wal-keep-size ({keep}): the WAL it needs is gone and it can never catch \
                 up. Restart that member: its entrypoint drops the slot, creates it again and \
                 clones the primary (bundle README, \"A replica whose slot was invalidated\")."
            ),
        ));
        rules.push(r.rule(
            "PostgresReplicationSlotUnreserved",
            "warning",
            "pg_replication_slot_wal_status{wal_status=\"unreserved\"} == 1".into(),
            "Replication slot {{ $labels.slot_name }} is about to be invalidated".into(),
            format!(
                "Slot {{{{ $labels.slot_name }}}} holds more WAL than max-slot-wal-keep-size \
                 ({keep}); at the next checkpoint it may be invalidated and its standby must \
                 then be cloned again. Bring the standby back, or find why it lags."
            ),
        ));
    }
    for replica in pg.replicas() {
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
    let initial = &redis.master.instance;
    let replicas = redis.replicas.len();
    let master = "redis_instance_info{role=\"master\"} == 1";
    let mut rules = vec![
        r.rule(
            "RedisDown",
            "critical",
            "redis_up == 0".into(),
            "Redis node {{ $labels.member }} is unreachable".into(),
            format!(
                "The exporter of {{{{ $labels.member }}}} cannot reach it on port {}: the node is \
                 down or rejects the password. If it was the master, Sentinel fails over after {}.",
                redis.settings.port, redis.settings.sentinel.down_after
            ),
        ),
        r.rule(
            "RedisNoMaster",
            "critical",
            format!("absent({master})"),
            "No Redis node reports the master role".into(),
            format!(
                "No node answers as master of {}: writes fail. Ask a Sentinel what it sees: \
                 SENTINEL get-master-addr-by-name {}.",
                redis.settings.master_name, redis.settings.master_name
            ),
        ),
        r.rule(
            "RedisSeveralMasters",
            "critical",
            format!("count({master}) > 1"),
            "{{ $value }} Redis nodes report the master role".into(),
            "More than one node is a master: an old master came back before Sentinel \
             reconfigured it, or the Sentinels disagree. Writes to the wrong one are lost."
                .into(),
        ),
    ];
    if replicas >= 1 {
        rules.push(
            r.rule(
                "RedisReplicaLinkDown",
                "critical",
                "redis_master_link_up == 0".into(),
                "Redis replica {{ $labels.member }} is not linked to its master".into(),
                "{{ $labels.member }} is a replica whose link to the master is down: it serves \
             stale data and cannot be promoted safely."
                    .into(),
            ),
        );
        rules.push(
            r.rule(
                "RedisMasterWithoutReplicas",
                "critical",
                format!("redis_connected_slaves == 0 and on(instance) ({master})"),
                "Redis master {{ $labels.member }} has no connected replica".into(),
                "The master has no replica connected: Sentinel has nothing to promote if it fails."
                    .into(),
            ),
        );
    }
    if replicas >= 2 {
        rules.push(r.rule(
            "RedisReplicasMissing",
            "warning",
            format!("redis_connected_slaves < {replicas} and on(instance) ({master})"),
            format!("Redis master has fewer than {replicas} connected replicas"),
            format!(
                "{{{{ $labels.member }}}} has {{{{ $value }}}} of {replicas} replicas connected."
            ),
        ));
    }
    rules.push(r.rule(
        "RedisMasterMoved",
        "warning",
        format!(
            "redis_instance_info{{role=\"master\", member!=\"{}\"}} == 1",
            initial.name
        ),
        "Sentinel moved the Redis master to {{ $labels.member }}".into(),
        format!(
            "Sentinel failed over: {{{{ $labels.member }}}} is the master now, not {}. Nothing \
             to do if the group is healthy; the exporters follow the roles.",
            initial.name
        ),
    ));
    rules
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
                "sum by (instance, job, member) (pg_stat_activity_count) / on(instance, job, member) \
                 max by (instance, job, member) (pg_settings_max_connections) > {fraction}"
            ),
            format!("PostgreSQL uses more than {percent}% of max_connections"),
            format!(
                "{{{{ $value | humanizePercentage }}}} of max_connections ({}) on \
                 {{{{ $labels.member }}}} are in use (monitoring.alerts.resource-usage).",
                cx.plan.postgres.settings.max_connections
            ),
        ),
    ]
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
