//! The monitoring area: Prometheus' scrape configuration, alert rules
//! built from the topology's thresholds, Alertmanager's routes, the load
//! balancer's metrics handler, and Grafana's data source and dashboards.

mod alertmanager;
mod alerts;
mod dashboards;

use std::collections::BTreeMap;

use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::plan::{MonitoringPlan, ScrapeJob};

/// Each load balancer task's metrics handler: the same for every
/// topology (its names come from nginx.conf).
const NGINX_METRICS_JS: &str = include_str!("metrics.js");

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let Some(m) = &cx.plan.monitoring else {
        return Ok(());
    };
    let files = &m.files;
    bundle.add(
        &files.prometheus.artifact,
        &yaml(&files.prometheus.artifact, &prometheus(cx, m))?,
    );
    alerts::emit(cx, m, bundle)?;
    bundle.add(&files.nginx_metrics.artifact, NGINX_METRICS_JS);
    let redis = &cx.plan.redis;
    let entrypoint = crate::templates::render(
        "monitoring/redis-exporter-entrypoint.sh",
        ExporterEntrypoint {
            password_file: redis.password_file.display().to_string(),
            exporter_bin: crate::files::mount::REDIS_EXPORTER_BIN,
            uris: redis
                .nodes()
                .map(|n| crate::plan::redis_uri(&n.instance, redis.settings.port))
                .collect::<Vec<_>>()
                .join(" "),
        },
    )?;
    bundle.add(&files.redis_exporter_entrypoint.artifact, &entrypoint);
    if let (Some(file), Some(am)) = (&files.alertmanager, &m.settings.alertmanager) {
        bundle.add(
            &file.artifact,
            &yaml(&file.artifact, &alertmanager::config(am))?,
        );
    }
    if let Some(datasource) = &files.grafana_datasource {
        bundle.add(
            &datasource.artifact,
            &yaml(&datasource.artifact, &grafana(m))?,
        );
    }
    if let Some(provider) = &files.grafana_dashboards {
        bundle.add(
            &provider.artifact,
            &yaml(&provider.artifact, &dashboards::provider())?,
        );
    }
    dashboards::emit(cx, m, bundle)?;
    Ok(())
}

/// Defaults baked into the Redis exporters' entrypoint.
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

#[derive(Serialize)]
struct PromConfig {
    global: Global,
    #[serde(skip_serializing_if = "Option::is_none")]
    alerting: Option<Alerting>,
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
struct Alerting {
    alertmanagers: Vec<AlertmanagerConfig>,
}

#[derive(Serialize)]
struct AlertmanagerConfig {
    static_configs: Vec<StaticConfig>,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: &'static str,
    metrics_path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    static_configs: Vec<StaticConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_sd_configs: Vec<DnsSdConfig>,
}

#[derive(Serialize)]
struct StaticConfig {
    targets: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'static str, String>,
}

/// Type A records of `tasks.<service>`: one address per running task,
/// re-resolved every `refresh_interval`.
#[derive(Serialize)]
struct DnsSdConfig {
    names: Vec<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    port: u16,
    refresh_interval: String,
}

fn prometheus(cx: &Cx<'_>, m: &MonitoringPlan) -> PromConfig {
    let interval = m.settings.scrape_interval.to_string();
    PromConfig {
        global: Global {
            scrape_interval: interval.clone(),
            evaluation_interval: interval.clone(),
            external_labels: BTreeMap::from([("stack", cx.plan.stack.clone())]),
        },
        alerting: m.alertmanager_endpoint.as_ref().map(|a| Alerting {
            alertmanagers: vec![AlertmanagerConfig {
                static_configs: vec![StaticConfig {
                    targets: vec![a.to_string()],
                    labels: BTreeMap::new(),
                }],
            }],
        }),
        rule_files: vec![m.files.alerts.path.display().to_string()],
        scrape_configs: m.jobs.iter().map(|j| scrape(j, &interval)).collect(),
    }
}

fn scrape(j: &ScrapeJob, interval: &str) -> ScrapeConfig {
    ScrapeConfig {
        job_name: j.job.name(),
        metrics_path: j.metrics_path.clone(),
        // One group per target, so each carries its own member label.
        static_configs: j
            .targets
            .iter()
            .map(|t| StaticConfig {
                targets: vec![t.address.to_string()],
                labels: t
                    .member
                    .iter()
                    .map(|member| ("member", member.clone()))
                    .collect(),
            })
            .collect(),
        dns_sd_configs: j
            .dns
            .iter()
            .map(|d| DnsSdConfig {
                names: vec![d.host.clone()],
                kind: "A",
                port: d.port,
                // A rescheduled task is found within one scrape interval.
                refresh_interval: interval.to_owned(),
            })
            .collect(),
    }
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
    uid: &'static str,
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
            // The dashboards name it by this uid.
            uid: dashboards::DATASOURCE_UID,
            access: "proxy",
            url: format!("http://{}", m.prometheus_endpoint),
            is_default: true,
            // Provisioned: edits in the UI would be lost on restart.
            editable: false,
        }],
    }
}
