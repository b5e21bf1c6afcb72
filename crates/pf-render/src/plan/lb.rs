//! The nginx load balancer: its instance, the ports it binds, its
//! upstreams (one per app service, and the PostgreSQL read endpoint), TLS
//! files and deployment.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use pf_model::model::{LoadBalancer, PublishMode, UpdateOrder};
use pf_model::units::{Cidr, Duration, ImageRef};
use pf_model::{TopologyFile, naming};
use serde::Serialize;

use super::apps::AppPlan;
use super::deployment::{Deployment, PortBinding, check};
use super::instance::{BundleFile, Endpoint, Instance, Kind, Namer, READ_ONLY};
use super::local::{address, group};
use super::network::Net;
use super::postgres::{Keepalive, PgPlan};
use crate::files::{self, mount};

/// Docker's embedded DNS server, which resolves service and task names.
const DOCKER_DNS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11));

/// Writable paths of the official nginx image when its root file system is
/// read-only. Source: docker-library/docs nginx/content.md, "Running nginx
/// in read-only mode": "The default nginx configuration requires write
/// access to `/var/cache` and `/var/run`" (its example mounts
/// /var/cache/nginx and /var/run). The generated nginx.conf logs to
/// stdout/stderr and keeps the default pid and temp paths. No other image
/// of the stack documents where it writes, so no other is read-only.
const NGINX_WRITABLE: &[&str] = &["/var/cache/nginx", "/var/run"];

/// The nginx load balancer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct LbPlan {
    /// The topology's settings (its ports are the production ports; the
    /// ones this target binds are below).
    pub settings: LoadBalancer,
    /// Its service (Swarm: `nginx`, replicated) or instance (Compose: `nginx-lb`).
    pub instance: Instance,
    /// Tasks: the topology's instances on Swarm; 1 on a single host (two
    /// containers cannot both bind the host's ports 80 and 443).
    pub replicas: u32,
    /// The DNS server nginx re-resolves upstream names with.
    pub resolver: IpAddr,
    /// HTTP port as the target binds it (moved up locally without root).
    pub http_port: u16,
    /// HTTPS port as the target binds it.
    pub https_port: u16,
    /// Status port as the target binds it.
    pub status_port: u16,
    /// nginx worker processes: the CPU limit rounded up (`auto` would start
    /// one per CPU of the host, whatever the container may use).
    pub worker_processes: u32,
    /// The edge nodes nginx runs on (Swarm, host-mode ports); `None`
    /// elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeNodes>,
    /// Who may read the status page: the topology's list, with the
    /// loopback network standing in for the overlay subnet locally.
    pub status_allow: Vec<Cidr>,
    /// Where clients reach the site, as the scripts and README state it.
    pub entry: Entry,
    /// One route per app service.
    pub routes: Vec<Route>,
    /// The PostgreSQL read endpoint, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadEndpoint>,
    /// Certificate and key files, when TLS is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// Its nginx.conf.
    pub config: BundleFile,
}

/// The public entry of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Entry {
    /// HTTPS when TLS is on.
    pub scheme: Scheme,
    /// The topology's port for that scheme.
    pub port: u16,
}

/// A URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// The nodes that run nginx when its ports are published in host mode:
/// the addresses DNS or an external balancer send clients to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct EdgeNodes {
    /// The node label set to `true` on each (`promptforge.edge`).
    pub label: String,
    /// How many nodes `setup-swarm.sh --label-nodes` labels.
    pub count: u32,
}

/// A URL prefix routed to an app service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Route {
    /// URL prefix (`/api`).
    pub route: String,
    /// The nginx `location`s serving it: `= /api` and `/api/` for a prefix
    /// without a trailing slash, so `/apifoo` is not routed here; the route
    /// alone when it ends in `/`.
    pub locations: Vec<String>,
    /// Health path of the service.
    pub health_path: String,
    /// Where requests go.
    pub upstream: Upstream,
}

/// The TCP endpoint that spreads reads over the PostgreSQL replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ReadEndpoint {
    /// The port it listens on.
    pub port: u16,
    /// The replicas.
    pub upstream: Upstream,
    /// TCP keepalives on both of its connections, the PostgreSQL
    /// servers' own: a pooled connection idle for 900 s is dropped by
    /// Swarm's IPVS without a word to either end.
    pub keepalive: Keepalive,
}

/// An nginx upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Upstream {
    /// Upstream block name (`backend`).
    pub name: String,
    /// Servers, re-resolved at run time by nginx (`resolve`).
    pub servers: Vec<Endpoint>,
}

/// Paths of the TLS files where nginx reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub certificate: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl LbPlan {
    /// The load balancer's instance, named before the apps (their read
    /// endpoint URL names its host).
    pub(super) fn instance(namer: &Namer<'_>) -> Instance {
        let name = if namer.swarm() {
            naming::LOAD_BALANCER_SERVICE
        } else {
            naming::LOAD_BALANCER_INSTANCE
        };
        namer.instance(name, Kind::LoadBalancer, address(group::LB, 1), None)
    }

    pub(super) fn new(
        t: &TopologyFile,
        namer: &Namer<'_>,
        mut instance: Instance,
        apps: &[AppPlan],
        postgres: &PgPlan,
        subnet: Cidr,
    ) -> Self {
        let lb = &t.load_balancer;
        let routes = apps
            .iter()
            .map(|app| Route {
                route: app.settings.route.clone(),
                locations: locations(&app.settings.route),
                health_path: app.settings.health_path.clone(),
                upstream: Upstream {
                    name: app.name.clone(),
                    servers: if namer.swarm() {
                        // tasks.<svc> returns one address per task, so nginx
                        // balances and fails over between replicas, not a VIP.
                        vec![Endpoint::new(format!("tasks.{}", app.name), app.port)]
                    } else {
                        app.instances
                            .iter()
                            .map(|i| Endpoint::new(i.host.clone(), app.port))
                            .collect()
                    },
                },
            })
            .collect();
        let read = postgres
            .settings
            .read_endpoint
            .as_ref()
            .map(|r| ReadEndpoint {
                port: r.port,
                keepalive: postgres.keepalive,
                upstream: Upstream {
                    name: "postgres_read".to_owned(),
                    servers: postgres
                        .replicas()
                        .into_iter()
                        .map(|m| Endpoint::new(m.instance.host.clone(), postgres.settings.port))
                        .collect(),
                },
            });
        let config = namer.file(files::NGINX_CONF, mount::NGINX_CONF, READ_ONLY);
        instance.files = vec![config.clone()];
        let replicas = if namer.swarm() { lb.instances } else { 1 };
        let edge = (namer.swarm() && lb.publish_mode == PublishMode::Host).then(|| EdgeNodes {
            label: format!("{}.{}", namer.stack, naming::EDGE_LABEL),
            count: lb.edge_node_count(),
        });
        if namer.containers() {
            let mut d = deployment(t, namer, replicas, read.as_ref().map(|r| r.keepalive));
            d.placement.node_group = edge.as_ref().map(|e| e.label.clone());
            instance.deployment = Some(d);
        }
        Self {
            instance,
            replicas,
            resolver: DOCKER_DNS,
            http_port: namer.port(lb.http_port),
            https_port: namer.port(lb.https_port),
            status_port: namer.port(lb.status.port),
            worker_processes: worker_processes(lb),
            edge,
            status_allow: lb
                .status
                .allow
                .iter()
                .map(|c| {
                    if namer.local.is_some() && *c == t.network.subnet {
                        subnet
                    } else {
                        *c
                    }
                })
                .collect(),
            entry: match lb.tls {
                Some(_) => Entry {
                    scheme: Scheme::Https,
                    port: lb.https_port,
                },
                None => Entry {
                    scheme: Scheme::Http,
                    port: lb.http_port,
                },
            },
            routes,
            read,
            tls: lb.tls.as_ref().map(|tls| TlsFiles {
                certificate: namer.secret_file(tls.certificate_secret.as_str()),
                key: namer.secret_file(tls.key_secret.as_str()),
            }),
            config,
            settings: lb.clone(),
        }
    }
}

fn deployment(
    t: &TopologyFile,
    namer: &Namer<'_>,
    replicas: u32,
    read: Option<Keepalive>,
) -> Deployment {
    let lb = &t.load_balancer;
    let mut order = lb.update_order.unwrap_or(t.rollout.order);
    let mut rollback_order = t.rollout.rollback.order;
    // With host-mode ports a start-first task needs an edge node without
    // nginx; where there is none it would stay pending and the update or
    // rollback never finish (validation: lb-start-first-overridden).
    if namer.swarm() && !lb.start_first_fits(t.rollout.batch()) {
        order = UpdateOrder::StopFirst;
        rollback_order = UpdateOrder::StopFirst;
    }
    let mut d = Deployment::new(
        Kind::LoadBalancer,
        lb.image.to_string(),
        lb.resources.clone(),
        order,
        rollback_order,
    );
    d.replicas = replicas;
    // On one host there is no routing mesh: Compose binds the host's ports.
    let mode = if namer.swarm() {
        lb.publish_mode
    } else {
        PublishMode::Host
    };
    let port = |port| PortBinding {
        target: port,
        published: port,
        mode,
    };
    d.ports.push(port(lb.http_port));
    if let Some(tls) = &lb.tls {
        d.ports.push(port(lb.https_port));
        d.secrets = vec![
            tls.certificate_secret.to_string(),
            tls.key_secret.to_string(),
        ];
    }
    // Host-mode ports allow one task per node anyway; say so explicitly so
    // the scheduler spreads the load balancers instead of failing a task.
    // Behind the routing mesh, spread them like the apps.
    let nodes = t.capacity.nodes;
    if namer.swarm() {
        if lb.publish_mode == PublishMode::Host {
            d.placement.max_replicas_per_node = Some(1);
        } else if nodes > 1 && replicas > 1 {
            d.placement.max_replicas_per_node = Some(replicas.div_ceil(nodes - 1));
        }
    }
    // The PostgreSQL read endpoint proxies to the replicas. nginx can set
    // keepalive timing on the sockets it accepts (`listen ... so_keepalive`)
    // but only switch keepalive on for its upstream sockets
    // (`proxy_socket_keepalive`), with the kernel's timing: two hours by
    // default. These settings are per network namespace, so they change
    // only this container's.
    if let Some(k) = read {
        d.networks.push(Net::Data);
        for (name, value) in [
            ("net.ipv4.tcp_keepalive_time", k.idle_secs),
            ("net.ipv4.tcp_keepalive_intvl", k.interval_secs),
            ("net.ipv4.tcp_keepalive_probes", k.count),
        ] {
            d.sysctls.insert(name.to_owned(), value.to_string());
        }
    }
    if official_nginx(&lb.image) {
        d.read_only = true;
        d.tmpfs = NGINX_WRITABLE.iter().map(PathBuf::from).collect();
    }
    let probe = format!("http://127.0.0.1:{}/health", lb.status.port);
    // The official Debian-based image has curl; the Alpine one has busybox wget.
    let test = if lb.image.tag().is_some_and(|t| t.contains("alpine")) {
        vec!["CMD".into(), "wget".into(), "-qO-".into(), probe]
    } else {
        vec!["CMD".into(), "curl".into(), "-fsS".into(), probe]
    };
    d.healthcheck = check(test, 10, 3, Duration::from_secs(10));
    d
}

/// True for the official nginx image, whose read-only needs are documented.
fn official_nginx(image: &ImageRef) -> bool {
    matches!(
        image.repository(),
        "nginx" | "library/nginx" | "docker.io/library/nginx"
    )
}

/// `= /api` and `/api/`: a prefix location `/api` would also match
/// `/apifoo`. A route ending in `/` (and `/` itself) is its own prefix.
fn locations(route: &str) -> Vec<String> {
    if route.ends_with('/') {
        vec![route.to_owned()]
    } else {
        vec![format!("= {route}"), format!("{route}/")]
    }
}

/// One worker per CPU of the limit, rounded up: nginx's `auto` counts the
/// host's CPUs, and workers beyond the limit only contend for it.
fn worker_processes(lb: &LoadBalancer) -> u32 {
    u32::try_from(lb.resources.limits.cpus.millis().div_ceil(1000))
        .unwrap_or(u32::MAX)
        .max(1)
}
