//! Monitoring: Prometheus, one exporter per PostgreSQL member and Redis
//! data node, every load balancer task's own metrics, optionally
//! Alertmanager and Grafana, and what Prometheus scrapes.
//!
//! Why each target is scraped the way it is (`docs/monitoring.md`):
//!
//! - nginx runs several tasks behind one service name on Swarm; an
//!   exporter reading `nginx:8080` through the virtual IP mixes the tasks'
//!   counters. No exporter can be pinned to a task (Swarm has no sidecars)
//!   and nginx-prometheus-exporter has no multi-target `/probe` endpoint,
//!   so each task serves its own stub_status as Prometheus metrics
//!   (`nginx/metrics.js`, njs of the official image) and Prometheus finds
//!   the tasks through `tasks.<service>` (`dns_sd_configs`).
//! - PostgreSQL and Redis roles move (promotion, Sentinel failover): an
//!   exporter per member watches whatever role the member has now, and the
//!   alerts select on the role the metrics report, not on the name.
//! - Monitoring services resolve by DNS round robin on Swarm: Prometheus
//!   and nginx reach the task itself, without IPVS.

use pf_model::TopologyFile;
use pf_model::model::{Monitoring, UpdateOrder};
use pf_model::naming;
use pf_model::units::{Duration, ImageRef};
use serde::Serialize;

use super::deployment::{Deployment, EndpointMode, check, monitoring_resources};
use super::instance::{BundleFile, EXECUTABLE, Endpoint, Instance, Kind, Namer, READ_ONLY};
use super::lb::LbPlan;
use super::network::Net;
use super::postgres::PgPlan;
use super::redis::RedisPlan;
use crate::files::{self, mount};

/// Host names and ports of the monitoring services.
const PROMETHEUS: (&str, u16) = ("prometheus", 9090);
const ALERTMANAGER: (&str, u16) = ("alertmanager", 9093);
const GRAFANA: (&str, u16) = ("grafana", 3000);
const POSTGRES_EXPORTER_PORT: u16 = 9187;
const REDIS_EXPORTER_PORT: u16 = 9121;
/// Where each load balancer task serves its metrics, on its status port.
pub(crate) const NGINX_METRICS_PATH: &str = "/metrics";

/// Prometheus and what it watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct MonitoringPlan {
    /// The topology's settings.
    pub settings: Monitoring,
    /// Prometheus.
    pub prometheus: Instance,
    /// One exporter per PostgreSQL member, in member order.
    pub postgres_exporters: Vec<MemberExporter>,
    /// One exporter per Redis data node, in node order.
    pub redis_exporters: Vec<MemberExporter>,
    /// Alertmanager, when the topology configures receivers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<Instance>,
    /// Grafana, when the topology asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana: Option<Instance>,
    /// Scrape jobs, in order.
    pub jobs: Vec<ScrapeJob>,
    /// Where Grafana reaches Prometheus.
    pub prometheus_endpoint: Endpoint,
    /// Where Prometheus sends alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertmanager_endpoint: Option<Endpoint>,
    /// The monitoring UIs the load balancer serves, when it serves them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<WebAccess>,
    /// The area's files.
    pub files: MonitoringFiles,
}

/// An exporter watching one member of a replicated data tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct MemberExporter {
    /// The member it watches (`postgres-2`): the `member` label.
    pub member: String,
    /// Where it connects.
    pub target: Endpoint,
    /// The exporter itself (`postgres-2-exporter`).
    pub instance: Instance,
    /// Where Prometheus scrapes it.
    pub endpoint: Endpoint,
}

/// One scrape job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ScrapeJob {
    /// What it scrapes; its name is the `job` label alerts select on.
    pub job: Job,
    /// Fixed targets, each with the member it describes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<ScrapeTarget>,
    /// Targets found by DNS: every address `tasks.<service>` resolves to
    /// (one per task), at this port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Endpoint>,
    /// The path scraped.
    pub metrics_path: String,
}

/// A fixed scrape target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ScrapeTarget {
    /// Where Prometheus scrapes.
    pub address: Endpoint,
    /// The `member` label: the PostgreSQL member or Redis node described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// A scrape job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    /// Prometheus itself.
    Prometheus,
    /// Every load balancer task's own metrics.
    Nginx,
    /// The PostgreSQL exporters.
    Postgres,
    /// The Redis exporters.
    Redis,
    /// Alertmanager.
    Alertmanager,
}

impl Job {
    /// The `job` label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Nginx => "nginx",
            Self::Postgres => "postgres",
            Self::Redis => "redis",
            Self::Alertmanager => "alertmanager",
        }
    }
}

/// Monitoring UIs behind the load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct WebAccess {
    /// The secret holding the htpasswd file for Prometheus and Alertmanager.
    pub htpasswd_secret: String,
    /// Where nginx reads it.
    pub htpasswd_file: std::path::PathBuf,
    /// Each UI: its URL prefix and where nginx proxies it.
    pub routes: Vec<WebRoute>,
}

/// One UI behind the load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct WebRoute {
    /// URL prefix (`/prometheus/`).
    pub path: String,
    /// nginx upstream name (`monitoring_prometheus`).
    pub upstream: String,
    /// The service answering.
    pub server: Endpoint,
    /// nginx asks for the htpasswd user (Grafana has its own login).
    pub basic_auth: bool,
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
    /// The load balancer's metrics handler (njs), mounted into nginx.
    pub nginx_metrics: BundleFile,
    /// Alertmanager configuration, when Alertmanager runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<BundleFile>,
    /// Grafana data source provisioning, when Grafana is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_datasource: Option<BundleFile>,
    /// Grafana dashboard provider, when Grafana is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_dashboards: Option<BundleFile>,
    /// One dashboard per tier, when Grafana is on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<BundleFile>,
    /// Entrypoint of the Redis exporters: gives each the password file in
    /// the JSON form it reads.
    pub redis_exporter_entrypoint: BundleFile,
}

/// A file of the area, read-only where it is mounted.
fn file(artifact: &str, path: &str) -> BundleFile {
    BundleFile {
        artifact: artifact.to_owned(),
        path: path.into(),
        mode: READ_ONLY,
    }
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
        let grafana_on = m.grafana && m.grafana_admin_password_secret.is_some();
        // Always in container form: the files name the services they would
        // run as, also in the local bundle (the drill runs no monitoring).
        let files = MonitoringFiles {
            prometheus: file(files::PROMETHEUS, mount::PROMETHEUS),
            alerts: file(files::ALERTS, mount::ALERTS),
            nginx_metrics: file(files::NGINX_METRICS, mount::NGINX_METRICS),
            alertmanager: m
                .alertmanager
                .as_ref()
                .map(|_| file(files::ALERTMANAGER, mount::ALERTMANAGER)),
            grafana_datasource: grafana_on
                .then(|| file(files::GRAFANA_DATASOURCE, mount::GRAFANA_DATASOURCE)),
            grafana_dashboards: grafana_on
                .then(|| file(files::GRAFANA_DASHBOARDS, mount::GRAFANA_DASHBOARDS)),
            dashboards: if grafana_on {
                files::DASHBOARDS
                    .iter()
                    .map(|tier| {
                        file(
                            &files::dashboard(tier),
                            &format!("{}/{tier}.json", mount::DASHBOARDS),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
            redis_exporter_entrypoint: BundleFile {
                artifact: files::REDIS_EXPORTER_ENTRYPOINT.to_owned(),
                path: mount::REDIS_EXPORTER_ENTRYPOINT.into(),
                mode: EXECUTABLE,
            },
        };
        let web = m.web_htpasswd_secret.as_ref().map(|secret| {
            let route = |path: &str, (service, port): (&str, u16), basic_auth| WebRoute {
                path: path.to_owned(),
                upstream: format!("monitoring_{service}"),
                server: Endpoint::new(service, port),
                basic_auth,
            };
            let mut routes = vec![route(naming::PROMETHEUS_PATH, PROMETHEUS, true)];
            if m.alertmanager.is_some() {
                routes.push(route(naming::ALERTMANAGER_PATH, ALERTMANAGER, true));
            }
            if grafana_on {
                routes.push(route(naming::GRAFANA_PATH, GRAFANA, false));
            }
            WebAccess {
                htpasswd_secret: secret.to_string(),
                htpasswd_file: namer.secret_file(secret.as_str()),
                routes,
            }
        });
        // The external URL the UIs write into their links.
        let external = |path: &str| {
            let entry = &lb.entry;
            let default_port = match entry.scheme {
                super::Scheme::Http => 80,
                super::Scheme::Https => 443,
            };
            let port = if entry.port == default_port {
                String::new()
            } else {
                format!(":{}", entry.port)
            };
            format!(
                "{}://{}{port}{path}",
                entry.scheme.as_str(),
                lb.settings.server_name.trim_start_matches("*.")
            )
        };

        let mut prometheus = namer.service(PROMETHEUS.0, Kind::Prometheus, Some("/prometheus"));
        prometheus.files = vec![files.prometheus.clone(), files.alerts.clone()];
        let mut alertmanager = m.alertmanager.as_ref().map(|_| {
            let mut a = namer.service(ALERTMANAGER.0, Kind::Alertmanager, Some("/alertmanager"));
            a.files.extend(files.alertmanager.clone());
            a
        });
        let mut grafana = grafana_on.then(|| {
            let mut g = namer.service(GRAFANA.0, Kind::Grafana, Some("/var/lib/grafana"));
            g.files.extend(files.grafana_datasource.clone());
            g.files.extend(files.grafana_dashboards.clone());
            g.files.extend(files.dashboards.iter().cloned());
            g
        });
        let mut postgres_exporters: Vec<MemberExporter> = pg
            .members()
            .map(|member| {
                exporter(
                    namer,
                    &member.instance.name,
                    Endpoint::new(member.instance.host.clone(), pg.settings.port),
                    POSTGRES_EXPORTER_PORT,
                )
            })
            .collect();
        let mut redis_exporters: Vec<MemberExporter> = redis
            .nodes()
            .map(|node| {
                exporter(
                    namer,
                    &node.instance.name,
                    Endpoint::new(node.instance.host.clone(), redis.settings.port),
                    REDIS_EXPORTER_PORT,
                )
            })
            .collect();

        if namer.containers() {
            let deploy = |kind, image: &ImageRef, cpus, memory| {
                let mut d = Deployment::new(
                    kind,
                    image.to_string(),
                    monitoring_resources(cpus, memory),
                    t.rollout.order,
                    t.rollout.rollback.order,
                );
                // One task each: DNS round robin reaches the task itself,
                // with or without IPVS.
                if namer.swarm() {
                    d.endpoint_mode = EndpointMode::Dnsrr;
                }
                d
            };
            let mut d = deploy(Kind::Prometheus, &m.prometheus_image, 1000, 1024);
            d.update_order = UpdateOrder::StopFirst;
            d.command = vec![
                format!("--config.file={}", mount::PROMETHEUS),
                "--storage.tsdb.path=/prometheus".to_owned(),
            ];
            if web.is_some() {
                d.command
                    .extend(sub_path(&external(naming::PROMETHEUS_PATH)));
            }
            // nginx's status port is on the front network.
            d.networks.insert(0, Net::Front);
            d.healthcheck = check(
                wget(&format!("http://127.0.0.1:{}/-/healthy", PROMETHEUS.1)),
                15,
                3,
                Duration::from_secs(30),
            );
            prometheus.deployment = Some(d);

            for e in &mut postgres_exporters {
                let mut d = deploy(Kind::Exporter, &m.postgres_exporter_image, 250, 128);
                d.environment.insert(
                    "DATA_SOURCE_URI".into(),
                    format!("{}/{}?sslmode=disable", e.target, pg.settings.database),
                );
                d.environment
                    .insert("DATA_SOURCE_USER".into(), pg.settings.owner.to_string());
                d.environment.insert(
                    "DATA_SOURCE_PASS_FILE".into(),
                    pg.password_file.display().to_string(),
                );
                d.secrets = vec![pg.settings.password_secret.to_string()];
                e.instance.deployment = Some(d);
            }
            for e in &mut redis_exporters {
                let mut d = deploy(Kind::Exporter, &m.redis_exporter_image, 250, 64);
                d.environment
                    .insert("REDIS_ADDR".into(), format!("redis://{}", e.target));
                redis_exporter_auth(&mut d, redis);
                e.instance.files = vec![files.redis_exporter_entrypoint.clone()];
                e.instance.deployment = Some(d);
            }

            if let (Some(a), Some(settings)) = (alertmanager.as_mut(), &m.alertmanager) {
                let mut d = deploy(Kind::Alertmanager, &settings.image, 250, 128);
                d.update_order = UpdateOrder::StopFirst;
                d.command = vec![
                    format!("--config.file={}", mount::ALERTMANAGER),
                    "--storage.path=/alertmanager".to_owned(),
                ];
                if web.is_some() {
                    d.command
                        .extend(sub_path(&external(naming::ALERTMANAGER_PATH)));
                }
                // Webhooks are outside: the data network has no route out.
                d.networks = vec![Net::Front];
                d.secrets = settings
                    .receivers
                    .iter()
                    .map(|r| r.webhook_url_secret.to_string())
                    .collect();
                d.secrets.dedup();
                d.healthcheck = check(
                    wget(&format!("http://127.0.0.1:{}/-/healthy", ALERTMANAGER.1)),
                    15,
                    3,
                    Duration::from_secs(30),
                );
                a.deployment = Some(d);
            }

            if let (Some(g), Some(secret)) = (grafana.as_mut(), &m.grafana_admin_password_secret) {
                let mut d = deploy(Kind::Grafana, &m.grafana_image, 500, 512);
                d.update_order = UpdateOrder::StopFirst;
                d.environment.insert(
                    "GF_SECURITY_ADMIN_PASSWORD__FILE".into(),
                    namer.secret_file(secret.as_str()).display().to_string(),
                );
                if web.is_some() {
                    // nginx strips /grafana/; Grafana writes it into links.
                    d.environment
                        .insert("GF_SERVER_ROOT_URL".into(), external(naming::GRAFANA_PATH));
                }
                // It reaches Prometheus, and nginx reaches it, on the front network.
                d.networks = vec![Net::Front];
                d.secrets = vec![secret.to_string()];
                d.healthcheck = check(
                    wget(&format!("http://127.0.0.1:{}/api/health", GRAFANA.1)),
                    15,
                    3,
                    Duration::from_secs(60),
                );
                g.deployment = Some(d);
            }
        }

        let member_targets = |exporters: &[MemberExporter]| {
            exporters
                .iter()
                .map(|e| ScrapeTarget {
                    address: e.endpoint.clone(),
                    member: Some(e.member.clone()),
                })
                .collect()
        };
        let fixed = |job, targets: Vec<ScrapeTarget>| ScrapeJob {
            job,
            targets,
            dns: None,
            metrics_path: "/metrics".to_owned(),
        };
        let status = lb.settings.status.port;
        let mut jobs = vec![
            // Prometheus scrapes itself on loopback: its service name may
            // resolve to an address that is not this task.
            fixed(
                Job::Prometheus,
                vec![ScrapeTarget {
                    address: Endpoint::new("localhost", PROMETHEUS.1),
                    member: None,
                }],
            ),
            if namer.swarm() {
                ScrapeJob {
                    job: Job::Nginx,
                    targets: Vec::new(),
                    dns: Some(Endpoint::new(format!("tasks.{}", lb.instance.name), status)),
                    metrics_path: NGINX_METRICS_PATH.to_owned(),
                }
            } else {
                ScrapeJob {
                    metrics_path: NGINX_METRICS_PATH.to_owned(),
                    ..fixed(
                        Job::Nginx,
                        vec![ScrapeTarget {
                            address: Endpoint::new(lb.instance.host.clone(), status),
                            member: None,
                        }],
                    )
                }
            },
            fixed(Job::Postgres, member_targets(&postgres_exporters)),
            fixed(Job::Redis, member_targets(&redis_exporters)),
        ];
        let alertmanager_endpoint = alertmanager
            .as_ref()
            .map(|_| Endpoint::new(ALERTMANAGER.0, ALERTMANAGER.1));
        if let Some(endpoint) = &alertmanager_endpoint {
            jobs.push(fixed(
                Job::Alertmanager,
                vec![ScrapeTarget {
                    address: endpoint.clone(),
                    member: None,
                }],
            ));
        }
        Some(Self {
            settings: m.clone(),
            jobs,
            prometheus_endpoint: Endpoint::new(PROMETHEUS.0, PROMETHEUS.1),
            alertmanager_endpoint,
            web,
            prometheus,
            postgres_exporters,
            redis_exporters,
            alertmanager,
            grafana,
            files,
        })
    }

    /// Every monitoring instance, in stack order.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        std::iter::once(&self.prometheus)
            .chain(&self.alertmanager)
            .chain(self.postgres_exporters.iter().map(|e| &e.instance))
            .chain(self.redis_exporters.iter().map(|e| &e.instance))
            .chain(&self.grafana)
    }

    /// Mounts what the load balancer needs for monitoring: its metrics
    /// handler, and the htpasswd secret when it serves the UIs.
    pub(super) fn equip(&self, lb: &mut LbPlan) {
        if let Some(d) = lb.instance.deployment.as_mut() {
            lb.instance.files.push(self.files.nginx_metrics.clone());
            if let Some(web) = &self.web {
                d.secrets.push(web.htpasswd_secret.clone());
            }
        }
    }
}

/// The exporter of `member`, named after it.
fn exporter(namer: &Namer<'_>, member: &str, target: Endpoint, port: u16) -> MemberExporter {
    let name = naming::exporter_of(member);
    MemberExporter {
        member: member.to_owned(),
        target,
        endpoint: Endpoint::new(name.clone(), port),
        instance: namer.service(&name, Kind::Exporter, None),
    }
}

/// How redis_exporter gets the Redis password. One place, so the format
/// the exporter reads (issue 13 item 1) is decided once for every node:
/// the entrypoint writes the raw secret as the JSON object of URI to
/// password that `REDIS_PASSWORD_FILE` must hold, then runs the exporter.
fn redis_exporter_auth(d: &mut Deployment, redis: &RedisPlan) {
    d.entrypoint = vec![mount::REDIS_EXPORTER_ENTRYPOINT.to_owned()];
    d.secrets = vec![redis.settings.password_secret.to_string()];
}

/// Prometheus and Alertmanager behind a prefix that nginx strips: links
/// carry the prefix, routes stay at `/`.
fn sub_path(external_url: &str) -> [String; 2] {
    [
        format!("--web.external-url={external_url}"),
        "--web.route-prefix=/".to_owned(),
    ]
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
        for name in [PROMETHEUS.0, ALERTMANAGER.0, GRAFANA.0] {
            assert!(
                pf_model::naming::MONITORING_SERVICES.contains(&name),
                "{name}"
            );
        }
    }
}
