//! Monitoring: Prometheus, exporters, alert rules, Alertmanager and Grafana.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use crate::units::{DnsLabel, Duration, ImageRef, SecretName};

/// Prometheus scraping every nginx task and one exporter per PostgreSQL
/// member and Redis data node, alert rules, optionally Alertmanager and
/// Grafana.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Monitoring {
    /// Run Prometheus and the exporters, with alert rules.
    #[serde(default)]
    pub prometheus: bool,
    /// Run Grafana (needs `prometheus` and `grafana-admin-password-secret`).
    #[serde(default)]
    pub grafana: bool,
    /// Secret holding Grafana's admin password (never the guide's `admin`).
    #[serde(default)]
    pub grafana_admin_password_secret: Option<SecretName>,
    /// How often Prometheus scrapes.
    #[serde(default = "defaults::secs::<15>")]
    pub scrape_interval: Duration,
    /// Alert thresholds besides replication lag (which comes from `postgres.lag`).
    #[serde(default)]
    #[validate(nested)]
    pub alerts: Alerts,
    /// Where firing alerts go. Without it alerts show only in Prometheus.
    #[serde(default)]
    #[validate(nested)]
    pub alertmanager: Option<Alertmanager>,
    /// Secret holding an htpasswd file (bcrypt or SHA lines, `htpasswd -B`).
    /// When set, the load balancer serves Prometheus at `/prometheus/` and
    /// Alertmanager at `/alertmanager/` behind HTTP basic auth with it, and
    /// Grafana at `/grafana/` behind Grafana's own login. Without it none of
    /// them is reachable from outside the stack's networks.
    #[serde(default)]
    pub web_htpasswd_secret: Option<SecretName>,
    /// Prometheus image.
    #[serde(default = "prometheus_image")]
    pub prometheus_image: ImageRef,
    /// Grafana image.
    #[serde(default = "grafana_image")]
    pub grafana_image: ImageRef,
    /// PostgreSQL exporter image.
    #[serde(default = "postgres_exporter_image")]
    pub postgres_exporter_image: ImageRef,
    /// Redis exporter image; it needs a shell for the generated entrypoint (the `-alpine` variant).
    #[serde(default = "redis_exporter_image")]
    pub redis_exporter_image: ImageRef,
}

fn image(s: &str) -> ImageRef {
    s.parse().expect("constant image reference")
}
fn prometheus_image() -> ImageRef {
    image("prom/prometheus:v2.53.3")
}
fn grafana_image() -> ImageRef {
    image("grafana/grafana:11.3.1")
}
fn alertmanager_image() -> ImageRef {
    image("prom/alertmanager:v0.27.0")
}
fn postgres_exporter_image() -> ImageRef {
    image("prometheuscommunity/postgres-exporter:v0.16.0")
}
fn redis_exporter_image() -> ImageRef {
    image("oliver006/redis_exporter:v1.66.0-alpine")
}

impl Default for Monitoring {
    fn default() -> Self {
        Self {
            prometheus: false,
            grafana: false,
            grafana_admin_password_secret: None,
            scrape_interval: Duration::from_secs(15),
            alerts: Alerts::default(),
            alertmanager: None,
            web_htpasswd_secret: None,
            prometheus_image: prometheus_image(),
            grafana_image: grafana_image(),
            postgres_exporter_image: postgres_exporter_image(),
            redis_exporter_image: redis_exporter_image(),
        }
    }
}

/// Alert thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Alerts {
    /// Fraction of a limit above which CPU or memory use alerts (the guide: 80%).
    #[validate(range(min = 0.1, max = 1.0))]
    #[serde(default = "eighty_percent")]
    pub resource_usage: f64,
    /// How long a condition must hold before an alert fires.
    #[serde(default = "defaults::secs::<120>")]
    pub for_duration: Duration,
}

fn eighty_percent() -> f64 {
    0.8
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            resource_usage: 0.8,
            for_duration: Duration::from_secs(120),
        }
    }
}

/// Alertmanager: routes Prometheus' alerts to receivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Alertmanager {
    /// Alertmanager image (0.26 or newer: webhook URLs are read from files).
    #[serde(default = "alertmanager_image")]
    pub image: ImageRef,
    /// Where notifications go; every receiver gets every alert of its
    /// severity or worse.
    #[validate(length(min = 1, max = 16))]
    #[validate(nested)]
    pub receivers: Vec<Receiver>,
    /// How long Alertmanager waits to group the first alerts of a group.
    #[serde(default = "defaults::secs::<30>")]
    pub group_wait: Duration,
    /// How often a still-firing alert is sent again.
    #[serde(default = "defaults::secs::<14400>")]
    pub repeat_interval: Duration,
}

/// A webhook receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Receiver {
    /// Its name in Alertmanager (`ops`).
    pub name: DnsLabel,
    /// Secret holding the webhook URL: URLs often carry a token, so the URL
    /// is never written in the topology or the bundle.
    pub webhook_url_secret: SecretName,
    /// The least severe alerts it gets.
    #[serde(default)]
    pub min_severity: AlertSeverity,
    /// Also notify when an alert stops firing.
    #[serde(default = "defaults::yes")]
    pub send_resolved: bool,
}

/// The severity label of an alert rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AlertSeverity {
    /// Warnings and critical alerts.
    #[default]
    Warning,
    /// Critical alerts only.
    Critical,
}

impl AlertSeverity {
    /// The `severity` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}
