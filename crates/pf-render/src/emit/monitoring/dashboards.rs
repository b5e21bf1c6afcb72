//! One Grafana dashboard per tier (load balancer, apps, PostgreSQL,
//! Redis), provisioned from files: Grafana loads every JSON file of the
//! dashboards folder at start, read-only. Each panel queries metrics the
//! exporters and the load balancer's handler export (see `alerts.rs`).

use serde::Serialize;
use serde_json::{Value, json};

use super::super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files::{self, mount};
use crate::plan::MonitoringPlan;

/// The provisioned data source's uid, which every panel names.
pub(super) const DATASOURCE_UID: &str = "prometheus";

#[derive(Serialize)]
pub(super) struct Provider {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    providers: Vec<ProviderEntry>,
}

#[derive(Serialize)]
struct ProviderEntry {
    name: &'static str,
    folder: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "disableDeletion")]
    disable_deletion: bool,
    #[serde(rename = "allowUiUpdates")]
    allow_ui_updates: bool,
    options: ProviderOptions,
}

#[derive(Serialize)]
struct ProviderOptions {
    path: &'static str,
}

/// Grafana's dashboard provider: the mounted folder, read-only.
pub(super) fn provider() -> Provider {
    Provider {
        api_version: 1,
        providers: vec![ProviderEntry {
            name: "pf-render",
            folder: "HA stack",
            kind: "file",
            disable_deletion: true,
            // Provisioned: edits in the UI would be lost on restart.
            allow_ui_updates: false,
            options: ProviderOptions {
                path: mount::DASHBOARDS,
            },
        }],
    }
}

/// A time series panel: one query, one legend.
struct Panel {
    title: String,
    expr: String,
    legend: String,
    unit: &'static str,
}

fn panel(
    title: impl Into<String>,
    expr: impl Into<String>,
    legend: &str,
    unit: &'static str,
) -> Panel {
    Panel {
        title: title.into(),
        expr: expr.into(),
        legend: legend.to_owned(),
        unit,
    }
}

pub(super) fn emit(
    cx: &Cx<'_>,
    m: &MonitoringPlan,
    bundle: &mut Bundle,
) -> Result<(), RenderError> {
    for file in &m.files.dashboards {
        let tier = files::DASHBOARDS
            .iter()
            .find(|t| files::dashboard(t) == file.artifact)
            .ok_or_else(|| RenderError::MissingArtifact {
                artifact: file.artifact.clone(),
            })?;
        let (title, panels) = match *tier {
            "nginx" => ("load balancer", nginx(cx)),
            "apps" => ("apps", apps(cx)),
            "postgres" => ("PostgreSQL", postgres(cx)),
            _ => ("Redis and Sentinel", redis(cx)),
        };
        let doc = dashboard(&cx.plan.stack, tier, title, panels, m);
        let text = serde_json::to_string_pretty(&doc).map_err(|source| RenderError::Json {
            artifact: file.artifact.clone(),
            source,
        })?;
        bundle.add_owned(&file.artifact, text);
    }
    Ok(())
}

fn dashboard(
    stack: &str,
    tier: &str,
    title: &str,
    panels: Vec<Panel>,
    m: &MonitoringPlan,
) -> Value {
    let refresh = format!("{}s", m.settings.scrape_interval.as_secs_ceil().max(5));
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = ((i % 2) * 12, (i / 2) * 8);
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": p.title,
                "gridPos": { "x": x, "y": y, "w": 12, "h": 8 },
                "datasource": { "type": "prometheus", "uid": DATASOURCE_UID },
                "fieldConfig": { "defaults": { "unit": p.unit }, "overrides": [] },
                "options": { "legend": { "displayMode": "table", "placement": "bottom" } },
                "targets": [{
                    "refId": "A",
                    "datasource": { "type": "prometheus", "uid": DATASOURCE_UID },
                    "expr": p.expr,
                    "legendFormat": p.legend,
                }],
            })
        })
        .collect();
    json!({
        "uid": format!("{stack}-{tier}"),
        "title": format!("{stack}: {title}"),
        "tags": [stack, tier],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": false,
        "refresh": refresh,
        "time": { "from": "now-6h", "to": "now" },
        "panels": panels,
    })
}

fn nginx(cx: &Cx<'_>) -> Vec<Panel> {
    let lb = &cx.plan.lb;
    vec![
        panel(
            format!("Tasks answering (of {})", lb.replicas),
            "count(up{job=\"nginx\"} == 1)",
            "tasks",
            "short",
        ),
        panel(
            "Requests per second, per task",
            "rate(nginx_http_requests_total[5m])",
            "{{instance}}",
            "reqps",
        ),
        panel(
            "Active connections, per task",
            "nginx_connections_active",
            "{{instance}}",
            "short",
        ),
        panel(
            "Connections writing a response, per task",
            "nginx_connections_writing",
            "{{instance}}",
            "short",
        ),
        panel(
            "Idle keep-alive connections, per task",
            "nginx_connections_waiting",
            "{{instance}}",
            "short",
        ),
        panel(
            "Dropped connections per second (accepted - handled)",
            "rate(nginx_connections_accepted[5m]) - rate(nginx_connections_handled[5m])",
            "{{instance}}",
            "short",
        ),
    ]
}

fn apps(cx: &Cx<'_>) -> Vec<Panel> {
    let mut out = Vec::new();
    for route in &cx.plan.lb.routes {
        let up = &route.upstream.name;
        out.push(panel(
            format!(
                "{up} ({}): responses per second by status class",
                route.route
            ),
            format!(
                "sum by (code) (rate(nginx_upstream_responses_total{{upstream=\"{up}\"}}[5m]))"
            ),
            "{{code}}",
            "reqps",
        ));
        out.push(panel(
            format!("{up}: share of 5xx responses"),
            format!(
                "sum(rate(nginx_upstream_responses_total{{upstream=\"{up}\",code=\"5xx\"}}[5m])) \
                 / sum(rate(nginx_upstream_responses_total{{upstream=\"{up}\"}}[5m]))"
            ),
            "5xx",
            "percentunit",
        ));
    }
    out
}

fn postgres(cx: &Cx<'_>) -> Vec<Panel> {
    let window = (cx
        .plan
        .monitoring
        .as_ref()
        .map_or(15, |m| m.settings.scrape_interval.as_secs_ceil())
        * 4)
    .max(300);
    vec![
        panel("Members up", "pg_up", "{{member}}", "short"),
        panel(
            "Role (1 = replica, 0 = primary)",
            "pg_replication_is_replica",
            "{{member}}",
            "short",
        ),
        panel(
            "Replication lag, bytes",
            "pg_stat_replication_pg_wal_lsn_diff",
            "{{application_name}}",
            "bytes",
        ),
        panel(
            "Replication lag, seconds (bytes / WAL rate)",
            format!(
                "pg_stat_replication_pg_wal_lsn_diff / deriv(pg_stat_replication_pg_current_wal_lsn_bytes[{window}s])"
            ),
            "{{application_name}}",
            "s",
        ),
        panel(
            "Connections",
            "sum by (member) (pg_stat_activity_count)",
            "{{member}}",
            "short",
        ),
        panel(
            "Transactions per second",
            "sum by (member) (rate(pg_stat_database_xact_commit[5m]))",
            "{{member}}",
            "ops",
        ),
    ]
}

fn redis(cx: &Cx<'_>) -> Vec<Panel> {
    let master = &cx.plan.redis.settings.master_name;
    vec![
        panel("Nodes up", "redis_up", "{{member}}", "short"),
        panel(
            format!("Role in {master} (the master's line is 1)"),
            "redis_instance_info{role=\"master\"}",
            "{{member}}",
            "short",
        ),
        panel(
            "Connected replicas",
            "redis_connected_slaves",
            "{{member}}",
            "short",
        ),
        panel(
            "Replica link to the master",
            "redis_master_link_up",
            "{{member}}",
            "short",
        ),
        panel(
            "Memory used",
            "redis_memory_used_bytes",
            "{{member}}",
            "bytes",
        ),
        panel(
            "Commands per second",
            "rate(redis_commands_processed_total[5m])",
            "{{member}}",
            "ops",
        ),
    ]
}
