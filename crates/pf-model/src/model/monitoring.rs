//! Monitoring: Prometheus, exporters, alert rules and Grafana.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use crate::units::{Duration, ImageRef, SecretName};

/// Prometheus with exporters for nginx, PostgreSQL and Redis, alert rules, and optionally Grafana.
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
    /// Prometheus image.
    #[serde(default = "prometheus_image")]
    pub prometheus_image: ImageRef,
    /// Grafana image.
    #[serde(default = "grafana_image")]
    pub grafana_image: ImageRef,
    /// nginx exporter image.
    #[serde(default = "nginx_exporter_image")]
    pub nginx_exporter_image: ImageRef,
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
fn nginx_exporter_image() -> ImageRef {
    image("nginx/nginx-prometheus-exporter:1.3.0")
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
            prometheus_image: prometheus_image(),
            grafana_image: grafana_image(),
            nginx_exporter_image: nginx_exporter_image(),
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
