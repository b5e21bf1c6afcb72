//! Monitoring: Prometheus, one exporter per tier, optionally Grafana, and
//! what Prometheus scrapes.

use pf_model::TopologyFile;
use pf_model::model::{Monitoring, UpdateOrder};
use pf_model::units::Duration;
use serde::Serialize;

use super::deployment::{Deployment, check, monitoring_resources};
use super::instance::{BundleFile, EXECUTABLE, Endpoint, Instance, Kind, Namer, READ_ONLY};
use super::lb::LbPlan;
use super::network::Net;
use super::postgres::PgPlan;
use super::redis::RedisPlan;
use crate::files::{self, mount};

/// Host names and ports of the monitoring services.
const PROMETHEUS: (&str, u16) = ("prometheus", 9090);
const NGINX_EXPORTER: (&str, u16) = ("nginx-exporter", 9113);
const POSTGRES_EXPORTER: (&str, u16) = ("postgres-exporter", 9187);
const REDIS_EXPORTER: (&str, u16) = ("redis-exporter", 9121);
const GRAFANA: &str = "grafana";

/// Prometheus and what it watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct MonitoringPlan {
    /// The topology's settings.
    pub settings: Monitoring,
    /// Prometheus.
    pub prometheus: Instance,
    /// Reads nginx's stub_status.
    pub nginx_exporter: Instance,
    /// Connected to the PostgreSQL primary.
    pub postgres_exporter: Instance,
    /// Connected to the initial Redis master.
    pub redis_exporter: Instance,
    /// Grafana, when the topology asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana: Option<Instance>,
    /// Scrape jobs, in order.
    pub jobs: Vec<ScrapeJob>,
    /// The nginx status page the nginx exporter reads.
    pub nginx_status: Endpoint,
    /// Where Grafana reaches Prometheus.
    pub prometheus_endpoint: Endpoint,
    /// The area's files.
    pub files: MonitoringFiles,
}

/// One scrape job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ScrapeJob {
    /// What it scrapes; its name is the `job` label alerts select on.
    pub job: Job,
    /// The target.
    pub target: Endpoint,
    /// The service answering it.
    pub service: String,
}

/// A scrape job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    /// Prometheus itself.
    Prometheus,
    /// The nginx exporter.
    Nginx,
    /// The PostgreSQL exporter.
    Postgres,
    /// The Redis exporter.
    Redis,
}

impl Job {
    /// The `job` label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Nginx => "nginx",
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }
}

/// The files of the monitoring area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct MonitoringFiles {
    /// Prometheus configuration.
    pub prometheus: BundleFile,
    /// Alert rules.
    pub alerts: BundleFile,
    /// Grafana data source provisioning, when Grafana is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_datasource: Option<BundleFile>,
    /// Entrypoint of the Redis exporter: gives it the password file in the
    /// JSON form it reads.
    pub redis_exporter_entrypoint: BundleFile,
}

impl MonitoringPlan {
    /// Monitoring of `lb`, `pg` and `redis`; `None` when the topology turns
    /// Prometheus off.
    pub(super) fn new(
        t: &TopologyFile,
        namer: &Namer<'_>,
        lb: &LbPlan,
        pg: &PgPlan,
        redis: &RedisPlan,
    ) -> Option<Self> {
        let m = &t.monitoring;
        if !m.prometheus {
            return None;
        }
        // Always in container form: the files name the services they would
        // run as, also in the local bundle (the drill runs no monitoring).
        let files = MonitoringFiles {
            prometheus: BundleFile {
                artifact: files::PROMETHEUS.to_owned(),
                path: mount::PROMETHEUS.into(),
                mode: READ_ONLY,
            },
            alerts: BundleFile {
                artifact: files::ALERTS.to_owned(),
                path: mount::ALERTS.into(),
                mode: READ_ONLY,
            },
            grafana_datasource: m.grafana.then(|| BundleFile {
                artifact: files::GRAFANA_DATASOURCE.to_owned(),
                path: mount::GRAFANA_DATASOURCE.into(),
                mode: READ_ONLY,
            }),
            redis_exporter_entrypoint: BundleFile {
                artifact: files::REDIS_EXPORTER_ENTRYPOINT.to_owned(),
                path: mount::REDIS_EXPORTER_ENTRYPOINT.into(),
                mode: EXECUTABLE,
            },
        };
        let nginx_status = Endpoint::new(lb.instance.host.clone(), lb.settings.status.port);
        let mut prometheus = namer.service(PROMETHEUS.0, Kind::Prometheus, Some("/prometheus"));
        prometheus.files = vec![files.prometheus.clone(), files.alerts.clone()];
        let mut nginx_exporter = namer.service(NGINX_EXPORTER.0, Kind::Exporter, None);
        let mut postgres_exporter = namer.service(POSTGRES_EXPORTER.0, Kind::Exporter, None);
        let mut redis_exporter = namer.service(REDIS_EXPORTER.0, Kind::Exporter, None);
        redis_exporter.files = vec![files.redis_exporter_entrypoint.clone()];
        let mut grafana = match (m.grafana, &m.grafana_admin_password_secret) {
            (true, Some(_)) => {
                let mut g = namer.service(GRAFANA, Kind::Grafana, Some("/var/lib/grafana"));
                g.files.extend(files.grafana_datasource.clone());
                Some(g)
            }
            _ => None,
        };
        if namer.containers() {
            let deploy = |kind, image: &pf_model::units::ImageRef, cpus, memory| {
                Deployment::new(
                    kind,
                    image.to_string(),
                    monitoring_resources(cpus, memory),
                    t.rollout.order,
                    t.rollout.rollback.order,
                )
            };
            let mut d = deploy(Kind::Prometheus, &m.prometheus_image, 1000, 1024);
            d.update_order = UpdateOrder::StopFirst;
            d.healthcheck = check(
                wget(&format!("http://127.0.0.1:{}/-/healthy", PROMETHEUS.1)),
                15,
                3,
                Duration::from_secs(30),
            );
            prometheus.deployment = Some(d);

            let mut d = deploy(Kind::Exporter, &m.nginx_exporter_image, 250, 64);
            d.command = vec![format!(
                "--nginx.scrape-uri=http://{nginx_status}/nginx_status"
            )];
            // The load balancer's status port is on the front network only.
            d.networks.insert(0, Net::Front);
            nginx_exporter.deployment = Some(d);

            let mut d = deploy(Kind::Exporter, &m.postgres_exporter_image, 250, 128);
            d.environment.insert(
                "DATA_SOURCE_URI".into(),
                format!(
                    "{}:{}/{}?sslmode=disable",
                    pg.primary.instance.host, pg.settings.port, pg.settings.database
                ),
            );
            d.environment
                .insert("DATA_SOURCE_USER".into(), pg.settings.owner.to_string());
            d.environment.insert(
                "DATA_SOURCE_PASS_FILE".into(),
                pg.password_file.display().to_string(),
            );
            d.secrets = vec![pg.settings.password_secret.to_string()];
            postgres_exporter.deployment = Some(d);

            let mut d = deploy(Kind::Exporter, &m.redis_exporter_image, 250, 64);
            // The entrypoint writes the JSON password file the exporter
            // reads (REDIS_PASSWORD_FILE) from the raw secret.
            d.entrypoint = vec![mount::REDIS_EXPORTER_ENTRYPOINT.to_owned()];
            d.environment.insert(
                "REDIS_ADDR".into(),
                redis_uri(&redis.master.instance, redis.settings.port),
            );
            d.secrets = vec![redis.settings.password_secret.to_string()];
            redis_exporter.deployment = Some(d);

            if let (Some(g), Some(secret)) = (grafana.as_mut(), &m.grafana_admin_password_secret) {
                let mut d = deploy(Kind::Grafana, &m.grafana_image, 500, 512);
                d.update_order = UpdateOrder::StopFirst;
                d.environment.insert(
                    "GF_SECURITY_ADMIN_PASSWORD__FILE".into(),
                    namer.secret_file(secret.as_str()).display().to_string(),
                );
                d.secrets = vec![secret.to_string()];
                d.healthcheck = check(
                    wget("http://127.0.0.1:3000/api/health"),
                    15,
                    3,
                    Duration::from_secs(60),
                );
                g.deployment = Some(d);
            }
        }
        let job = |job, (service, port): (&str, u16)| ScrapeJob {
            job,
            target: Endpoint::new(service, port),
            service: service.to_owned(),
        };
        Some(Self {
            settings: m.clone(),
            jobs: vec![
                // Prometheus scrapes itself on loopback: its service name may
                // resolve to a VIP that is not this task.
                ScrapeJob {
                    target: Endpoint::new("localhost", PROMETHEUS.1),
                    ..job(Job::Prometheus, PROMETHEUS)
                },
                job(Job::Nginx, NGINX_EXPORTER),
                job(Job::Postgres, POSTGRES_EXPORTER),
                job(Job::Redis, REDIS_EXPORTER),
            ],
            prometheus_endpoint: Endpoint::new(PROMETHEUS.0, PROMETHEUS.1),
            nginx_status,
            prometheus,
            nginx_exporter,
            postgres_exporter,
            redis_exporter,
            grafana,
            files,
        })
    }

    /// Every monitoring instance, in stack order.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        [
            &self.prometheus,
            &self.nginx_exporter,
            &self.postgres_exporter,
            &self.redis_exporter,
        ]
        .into_iter()
        .chain(&self.grafana)
    }
}

/// The URI the Redis exporter connects to `node` by, as it looks the
/// password up.
pub fn redis_uri(node: &Instance, port: u16) -> String {
    format!("redis://{}:{port}", node.host)
}

/// A `wget` probe: the monitoring images are busybox-based.
fn wget(url: &str) -> Vec<String> {
    vec!["CMD".into(), "wget".into(), "-qO-".into(), url.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitoring_services_match_the_naming_module() {
        for name in [
            PROMETHEUS.0,
            NGINX_EXPORTER.0,
            POSTGRES_EXPORTER.0,
            REDIS_EXPORTER.0,
            GRAFANA,
        ] {
            assert!(
                pf_model::naming::MONITORING_SERVICES.contains(&name),
                "{name}"
            );
        }
    }
}
