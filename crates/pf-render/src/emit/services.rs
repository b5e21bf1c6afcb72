//! The services of a deployment, independent of the file format: which
//! image, files, volume, secrets, health check and resources each service
//! has. `stack.rs` and `compose.rs` turn these into their own YAML.

use std::collections::{BTreeMap, HashMap};

use pf_lint::Rule;
use pf_model::model::{Connection, PublishMode, Resources, UpdateOrder};
use pf_model::units::{ByteSize, Cpus, Duration};

use super::Cx;
use super::yaml::Healthcheck;
use crate::files::{self, mount};
use crate::plan::Instance;

/// A file of the bundle mounted read-only into a service.
#[derive(Debug, Clone)]
pub(crate) struct FileMount {
    /// Path in the bundle.
    pub(crate) artifact: String,
    /// Path in the container.
    pub(crate) target: &'static str,
    /// Permission bits inside the container.
    pub(crate) mode: u32,
}

/// CPU, memory and PIDs of one instance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizing {
    pub(crate) limit_cpus: Cpus,
    pub(crate) limit_memory: ByteSize,
    pub(crate) pids: u32,
    pub(crate) reserve_cpus: Cpus,
    pub(crate) reserve_memory: ByteSize,
}

impl From<&Resources> for Sizing {
    fn from(r: &Resources) -> Self {
        Self {
            limit_cpus: r.limits.cpus,
            limit_memory: r.limits.memory,
            pids: r.limits.pids,
            reserve_cpus: r.reservations.cpus,
            reserve_memory: r.reservations.memory,
        }
    }
}

/// Monitoring services are not sized in the topology; these fit the
/// exporters' and Prometheus's needs for a stack of this size.
fn monitoring_sizing(cpus_millis: u64, memory_mib: u64) -> Sizing {
    Sizing {
        limit_cpus: Cpus::from_millis(cpus_millis),
        limit_memory: ByteSize::from_mib(memory_mib),
        pids: 256,
        reserve_cpus: Cpus::from_millis(cpus_millis / 4),
        reserve_memory: ByteSize::from_mib(memory_mib / 4),
    }
}

/// What a service is: decides its networks, its hardening and the lint
/// waivers the stack file states for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    LoadBalancer,
    App,
    Postgres,
    Redis,
    Sentinel,
    Exporter,
    Prometheus,
    Grafana,
}

/// Writable paths of the official nginx image when its root file system is
/// read-only. Source: docker-library/docs nginx/content.md, "Running nginx
/// in read-only mode": "The default nginx configuration requires write
/// access to `/var/cache` and `/var/run`" (its example mounts
/// /var/cache/nginx and /var/run). The generated nginx.conf logs to
/// stdout/stderr and keeps the default pid and temp paths. No other image
/// of the stack documents where it writes, so no other is read-only.
const NGINX_WRITABLE: &[&str] = &["/var/cache/nginx", "/var/run"];

/// One service (Swarm) or one container (Compose).
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) instance: Instance,
    pub(crate) role: Role,
    /// On the front network: the load balancer and what it proxies to.
    pub(crate) front: bool,
    /// On the internal data network: PostgreSQL, Redis, Sentinels and
    /// everything that talks to them.
    pub(crate) data: bool,
    /// A read-only root file system with tmpfs at these paths.
    pub(crate) read_only: Option<&'static [&'static str]>,
    pub(crate) image: String,
    pub(crate) replicas: u32,
    /// Keeps state on a volume: one instance, stop-first, pinned placement.
    pub(crate) stateful: bool,
    /// Resolve the service name to task addresses instead of a VIP.
    pub(crate) dnsrr: bool,
    pub(crate) entrypoint: Vec<String>,
    pub(crate) command: Vec<String>,
    pub(crate) environment: BTreeMap<String, String>,
    /// (container port, published port).
    pub(crate) ports: Vec<(u16, u16)>,
    pub(crate) publish_mode: PublishMode,
    pub(crate) files: Vec<FileMount>,
    /// Named volume and where it is mounted.
    pub(crate) volume: Option<(String, &'static str)>,
    pub(crate) secrets: Vec<String>,
    pub(crate) healthcheck: Option<Healthcheck>,
    pub(crate) stop_grace_period: Option<Duration>,
    pub(crate) sizing: Sizing,
    pub(crate) order: UpdateOrder,
    /// Pin to the node labelled for this instance (Swarm).
    pub(crate) pinned: bool,
    pub(crate) max_replicas_per_node: Option<u32>,
    /// Compose: start only after these services are healthy.
    pub(crate) depends_on: Vec<String>,
}

impl Spec {
    fn new(
        role: Role,
        instance: Instance,
        image: String,
        sizing: Sizing,
        order: UpdateOrder,
    ) -> Self {
        Self {
            instance,
            role,
            front: matches!(role, Role::LoadBalancer | Role::App),
            data: role != Role::LoadBalancer,
            read_only: None,
            image,
            replicas: 1,
            stateful: false,
            dnsrr: false,
            entrypoint: Vec::new(),
            command: Vec::new(),
            environment: BTreeMap::new(),
            ports: Vec::new(),
            publish_mode: PublishMode::Host,
            files: Vec::new(),
            volume: None,
            secrets: Vec::new(),
            healthcheck: None,
            stop_grace_period: None,
            sizing,
            order,
            pinned: false,
            max_replicas_per_node: None,
            depends_on: Vec::new(),
        }
    }

    fn stateful(mut self, pinned: bool, volume_target: &'static str) -> Self {
        self.stateful = true;
        // Two servers on one data volume corrupt it: never start-first.
        self.order = UpdateOrder::StopFirst;
        self.pinned = pinned;
        self.volume = self.instance.volume.clone().map(|v| (v, volume_target));
        self
    }

    fn file(mut self, artifact: impl Into<String>, target: &'static str, mode: u32) -> Self {
        self.files.push(FileMount {
            artifact: artifact.into(),
            target,
            mode,
        });
        self
    }
}

fn check(
    test: Vec<String>,
    interval: u64,
    retries: u32,
    start_period: Duration,
) -> Option<Healthcheck> {
    Some(Healthcheck {
        test,
        interval: Duration::from_secs(interval).to_string(),
        timeout: Duration::from_secs(5).to_string(),
        retries,
        start_period: start_period.to_string(),
    })
}

fn shell(cmd: String) -> Vec<String> {
    vec!["CMD-SHELL".to_owned(), cmd]
}

const READ_ONLY: u32 = 0o444;
const EXECUTABLE: u32 = 0o555;

/// Every service of the deployment, in a stable order.
pub(crate) fn all(cx: &Cx<'_>) -> Vec<Spec> {
    let mut specs = Vec::new();
    load_balancer(cx, &mut specs);
    apps(cx, &mut specs);
    postgres(cx, &mut specs);
    redis(cx, &mut specs);
    monitoring(cx, &mut specs);
    specs
}

fn order_of(cx: &Cx<'_>, over: Option<UpdateOrder>) -> UpdateOrder {
    over.unwrap_or(cx.t.rollout.order)
}

fn load_balancer(cx: &Cx<'_>, out: &mut Vec<Spec>) {
    let lb = &cx.t.load_balancer;
    let plan = &cx.plan.lb;
    let mut s = Spec::new(
        Role::LoadBalancer,
        plan.instance.clone(),
        lb.image.to_string(),
        Sizing::from(&lb.resources),
        order_of(cx, lb.update_order),
    )
    .file(files::NGINX_CONF, mount::NGINX_CONF, READ_ONLY);
    s.replicas = plan.replicas;
    s.ports.push((lb.http_port, lb.http_port));
    if lb.tls.is_some() {
        s.ports.push((lb.https_port, lb.https_port));
    }
    s.publish_mode = lb.publish_mode;
    if let Some(tls) = &lb.tls {
        s.secrets.push(tls.certificate_secret.to_string());
        s.secrets.push(tls.key_secret.to_string());
    }
    // Host-mode ports allow one task per node anyway; say so explicitly so
    // the scheduler spreads the load balancers instead of failing a task.
    // Behind the routing mesh, spread them like the apps.
    let nodes = cx.t.capacity.nodes;
    if lb.publish_mode == PublishMode::Host {
        s.max_replicas_per_node = Some(1);
    } else if nodes > 1 && plan.replicas > 1 {
        s.max_replicas_per_node = Some(plan.replicas.div_ceil(nodes - 1));
    }
    // The PostgreSQL read endpoint proxies to the replicas.
    s.data = plan.read_upstream.is_some();
    if official_nginx(&lb.image) {
        s.read_only = Some(NGINX_WRITABLE);
    }
    let probe = format!("http://127.0.0.1:{}/health", lb.status.port);
    // The official Debian-based image has curl; the Alpine one has busybox wget.
    let test = if lb.image.tag().is_some_and(|t| t.contains("alpine")) {
        vec!["CMD".into(), "wget".into(), "-qO-".into(), probe]
    } else {
        vec!["CMD".into(), "curl".into(), "-fsS".into(), probe]
    };
    s.healthcheck = check(test, 10, 3, Duration::from_secs(10));
    out.push(s);
}

fn apps(cx: &Cx<'_>, out: &mut Vec<Spec>) {
    let nodes = cx.t.capacity.nodes;
    for (app, spec) in cx.plan.apps.iter().zip(&cx.t.services) {
        for instance in &app.instances {
            let mut s = Spec::new(
                Role::App,
                instance.clone(),
                spec.image.to_string(),
                Sizing::from(&spec.resources),
                order_of(cx, spec.update_order),
            );
            s.replicas = if cx.plan.swarm { app.replicas } else { 1 };
            // nginx must see every task, not one VIP (least_conn, passive
            // checks and next-upstream need the individual peers).
            s.dnsrr = true;
            // Compose and `docker stack deploy` interpolate `$` in values;
            // the topology's values are literal, so `$` is written `$$`.
            s.environment = app
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), crate::escape::compose_literal(v)))
                .collect();
            s.secrets = app.secrets.clone();
            if nodes > 1 && app.replicas > 1 {
                // Spread, while leaving room to reschedule when one node is lost.
                s.max_replicas_per_node = Some(app.replicas.div_ceil(nodes - 1));
            }
            // One quoted shell word: a query's `&` or any other character
            // of the path is data for curl, never shell syntax (validation
            // keeps `'` and `$` out of paths as well).
            let url = crate::escape::shell_word(&format!(
                "http://127.0.0.1:{}{}",
                app.port, spec.health_path
            ));
            // The app image's tools are unknown: try curl, then busybox wget.
            s.healthcheck = check(
                shell(format!(
                    "curl -fsS {url} >/dev/null || wget -qO- {url} >/dev/null"
                )),
                10,
                3,
                Duration::from_secs(30),
            );
            if spec.connects_to.contains(&Connection::Postgres) {
                s.depends_on.push(cx.plan.postgres.primary.name.clone());
            }
            if spec.connects_to.contains(&Connection::Redis) {
                s.depends_on.push(cx.plan.redis.master.name.clone());
            }
            out.push(s);
        }
    }
}

fn postgres(cx: &Cx<'_>, out: &mut Vec<Spec>) {
    let pg = &cx.t.postgres;
    let plan = &cx.plan.postgres;
    let pinned = pg.placement == pf_model::model::Placement::NodeLabels;
    let mut env = BTreeMap::new();
    env.insert("POSTGRES_USER".to_owned(), pg.owner.to_string());
    env.insert("POSTGRES_DB".to_owned(), pg.database.to_string());
    env.insert(
        "POSTGRES_PASSWORD_FILE".to_owned(),
        plan.password_file.clone(),
    );
    env.insert("PGDATA".to_owned(), plan.pgdata.clone());
    let secrets = vec![
        pg.password_secret.to_string(),
        pg.replication_password_secret.to_string(),
    ];
    // TCP, not the socket: during first init the image runs a socket-only
    // server, which a socket probe would call healthy too early.
    let ready = shell(format!(
        "pg_isready -h 127.0.0.1 -p {} -U \"$$POSTGRES_USER\" -d \"$$POSTGRES_DB\"",
        pg.port
    ));
    let sizing = Sizing::from(&pg.resources);
    let order = order_of(cx, pg.update_order);

    let mut primary = Spec::new(
        Role::Postgres,
        plan.primary.clone(),
        pg.image.to_string(),
        sizing,
        order,
    )
    .stateful(pinned, plan.volume_target)
    .file(files::PG_PRIMARY_CONF, mount::PG_CONF, READ_ONLY)
    .file(files::PG_HBA, mount::PG_HBA, READ_ONLY)
    .file(files::PG_INIT, mount::PG_INIT, EXECUTABLE);
    primary.command = vec![
        "postgres".into(),
        "-c".into(),
        format!("config_file={}", mount::PG_CONF),
    ];
    primary.environment = env.clone();
    // The image's first-start setup (CREATE DATABASE, init scripts) runs
    // against our config; with synchronous_standby_names that commit would
    // wait forever for a standby that cannot exist yet. Only libpq clients
    // inside the primary's container read this (not the replicas' clones).
    primary.environment.insert(
        "PGOPTIONS".to_owned(),
        "-c synchronous_commit=local".to_owned(),
    );
    primary.secrets = secrets.clone();
    primary.healthcheck = check(ready.clone(), 10, 5, Duration::from_secs(60));
    primary.stop_grace_period = Some(pg.stop_grace_period);
    out.push(primary);

    for replica in &plan.replicas {
        let mut s = Spec::new(
            Role::Postgres,
            replica.instance.clone(),
            pg.image.to_string(),
            sizing,
            order,
        )
        .stateful(pinned, plan.volume_target)
        .file(files::PG_REPLICA_CONF, mount::PG_CONF, READ_ONLY)
        .file(files::PG_HBA, mount::PG_HBA, READ_ONLY)
        .file(files::PG_BOOTSTRAP, mount::PG_BOOTSTRAP, EXECUTABLE)
        .file(files::BACKUP, mount::BACKUP, EXECUTABLE);
        s.entrypoint = vec![mount::PG_BOOTSTRAP.to_owned()];
        s.environment = env.clone();
        s.environment
            .insert("PG_SLOT".to_owned(), replica.slot.clone());
        s.secrets = secrets.clone();
        // A base backup of a large database takes a while before the first probe counts.
        s.healthcheck = check(ready.clone(), 10, 5, Duration::from_secs(600));
        s.stop_grace_period = Some(pg.stop_grace_period);
        s.depends_on.push(plan.primary.name.clone());
        out.push(s);
    }
}

fn redis(cx: &Cx<'_>, out: &mut Vec<Spec>) {
    let r = &cx.t.redis;
    let plan = &cx.plan.redis;
    let secret = r.password_secret.to_string();
    let data_check = shell(format!(
        "REDISCLI_AUTH=\"$$(cat {})\" redis-cli -e -p {} ping | grep -q PONG",
        plan.password_file, r.port
    ));
    let pinned = r.placement == pf_model::model::Placement::NodeLabels;
    let nodes = std::iter::once((&plan.master, files::REDIS_MASTER_CONF))
        .chain(plan.replicas.iter().map(|i| (i, files::REDIS_REPLICA_CONF)));
    for (instance, template) in nodes {
        let mut s = Spec::new(
            Role::Redis,
            instance.clone(),
            r.image.to_string(),
            Sizing::from(&r.resources),
            order_of(cx, r.update_order),
        )
        .stateful(pinned, mount::REDIS_DATA)
        .file(template, mount::REDIS_TEMPLATE, READ_ONLY)
        .file(files::REDIS_ENTRYPOINT, mount::REDIS_ENTRYPOINT, EXECUTABLE);
        // VIP, not dnsrr: a VIP name resolves even while its task is down,
        // and Sentinel exits at start when a monitored name does not resolve.
        s.entrypoint = vec![mount::REDIS_ENTRYPOINT.to_owned()];
        s.environment
            .insert("REDIS_ANNOUNCE_HOST".to_owned(), instance.host.clone());
        s.secrets = vec![secret.clone()];
        s.healthcheck = check(data_check.clone(), 10, 3, Duration::from_secs(20));
        if instance.name != plan.master.name {
            s.depends_on.push(plan.master.name.clone());
        }
        out.push(s);
    }
    let sentinel = &r.sentinel;
    for sp in &plan.sentinels {
        let mut s = Spec::new(
            Role::Sentinel,
            sp.instance.clone(),
            r.image.to_string(),
            Sizing::from(&sentinel.resources),
            order_of(cx, sentinel.update_order),
        )
        .stateful(
            sentinel.placement == pf_model::model::Placement::NodeLabels,
            mount::REDIS_DATA,
        )
        .file(
            files::sentinel_conf(sp.index),
            mount::SENTINEL_TEMPLATE,
            READ_ONLY,
        )
        .file(
            files::SENTINEL_ENTRYPOINT,
            mount::SENTINEL_ENTRYPOINT,
            EXECUTABLE,
        );
        s.entrypoint = vec![mount::SENTINEL_ENTRYPOINT.to_owned()];
        s.secrets = vec![secret.clone()];
        s.healthcheck = check(
            shell(format!(
                "redis-cli -e -p {} ping | grep -q PONG",
                sentinel.port
            )),
            10,
            3,
            Duration::from_secs(20),
        );
        s.depends_on.push(plan.master.name.clone());
        out.push(s);
    }
}

fn monitoring(cx: &Cx<'_>, out: &mut Vec<Spec>) {
    let m = &cx.t.monitoring;
    if !m.prometheus {
        return;
    }
    let order = cx.t.rollout.order;
    let named = |name: &str| cx.plan.monitoring_instance(name);
    let t = cx.t;

    let mut prometheus = Spec::new(
        Role::Prometheus,
        named("prometheus"),
        m.prometheus_image.to_string(),
        monitoring_sizing(1000, 1024),
        order,
    )
    .file(files::PROMETHEUS, mount::PROMETHEUS, READ_ONLY)
    .file(files::ALERTS, mount::ALERTS, READ_ONLY);
    prometheus.order = UpdateOrder::StopFirst;
    prometheus.volume = Some(("prometheus-data".to_owned(), "/prometheus"));
    prometheus.healthcheck = check(
        vec![
            "CMD".into(),
            "wget".into(),
            "-qO-".into(),
            "http://127.0.0.1:9090/-/healthy".into(),
        ],
        15,
        3,
        Duration::from_secs(30),
    );
    out.push(prometheus);

    let mut nginx_exporter = Spec::new(
        Role::Exporter,
        named("nginx-exporter"),
        m.nginx_exporter_image.to_string(),
        monitoring_sizing(250, 64),
        order,
    );
    nginx_exporter.command = vec![format!(
        "--nginx.scrape-uri=http://{}:{}/nginx_status",
        cx.plan.lb.instance.host, t.load_balancer.status.port
    )];
    // The load balancer's status port is on the front network only.
    nginx_exporter.front = true;
    out.push(nginx_exporter);

    let mut pg_exporter = Spec::new(
        Role::Exporter,
        named("postgres-exporter"),
        m.postgres_exporter_image.to_string(),
        monitoring_sizing(250, 128),
        order,
    );
    pg_exporter.environment.insert(
        "DATA_SOURCE_URI".into(),
        format!(
            "{}:{}/{}?sslmode=disable",
            cx.plan.postgres.primary.host, t.postgres.port, t.postgres.database
        ),
    );
    pg_exporter
        .environment
        .insert("DATA_SOURCE_USER".into(), t.postgres.owner.to_string());
    pg_exporter.environment.insert(
        "DATA_SOURCE_PASS_FILE".into(),
        cx.plan.postgres.password_file.clone(),
    );
    pg_exporter.secrets = vec![t.postgres.password_secret.to_string()];
    out.push(pg_exporter);

    let mut redis_exporter = Spec::new(
        Role::Exporter,
        named("redis-exporter"),
        m.redis_exporter_image.to_string(),
        monitoring_sizing(250, 64),
        order,
    );
    redis_exporter.environment.insert(
        "REDIS_ADDR".into(),
        format!("redis://{}:{}", cx.plan.redis.master.host, t.redis.port),
    );
    redis_exporter.environment.insert(
        "REDIS_PASSWORD_FILE".into(),
        cx.plan.redis.password_file.clone(),
    );
    redis_exporter.secrets = vec![t.redis.password_secret.to_string()];
    out.push(redis_exporter);

    if let (true, Some(secret)) = (m.grafana, &m.grafana_admin_password_secret) {
        let mut grafana = Spec::new(
            Role::Grafana,
            named("grafana"),
            m.grafana_image.to_string(),
            monitoring_sizing(500, 512),
            order,
        )
        .file(
            files::GRAFANA_DATASOURCE,
            mount::GRAFANA_DATASOURCE,
            READ_ONLY,
        );
        grafana.order = UpdateOrder::StopFirst;
        grafana.volume = Some(("grafana-data".to_owned(), "/var/lib/grafana"));
        grafana.environment.insert(
            "GF_SECURITY_ADMIN_PASSWORD__FILE".into(),
            format!("{}/{secret}", mount::SECRETS),
        );
        grafana.secrets = vec![secret.to_string()];
        grafana.healthcheck = check(
            vec![
                "CMD".into(),
                "wget".into(),
                "-qO-".into(),
                "http://127.0.0.1:3000/api/health".into(),
            ],
            15,
            3,
            Duration::from_secs(60),
        );
        out.push(grafana);
    }
}

/// The two networks of a stack. The front network joins the load balancer
/// to what it proxies; the data network (internal: no route out, nothing
/// published) joins PostgreSQL, Redis and Sentinels to their clients.
/// Each takes one half of the topology's subnet, so every allow-list
/// written for that subnet (pg_hba.conf, the nginx status endpoint) still
/// covers both.
pub(crate) struct Networks {
    pub(crate) front: String,
    pub(crate) front_subnet: Option<String>,
    pub(crate) data: String,
    pub(crate) data_subnet: Option<String>,
}

impl Networks {
    pub(crate) fn new(cx: &Cx<'_>) -> Self {
        let (low, high) = halves(&cx.plan.subnet).unzip();
        Self {
            front: format!("{}-front", cx.plan.network),
            front_subnet: high,
            data: format!("{}-data", cx.plan.network),
            data_subnet: low,
        }
    }

    /// The networks a service joins.
    pub(crate) fn of(&self, spec: &Spec) -> Vec<String> {
        let mut out = Vec::new();
        if spec.front {
            out.push(self.front.clone());
        }
        if spec.data {
            out.push(self.data.clone());
        }
        out
    }
}

/// The two halves of a CIDR block; `None` for a single address.
fn halves(subnet: &str) -> Option<(String, String)> {
    let cidr: pf_model::units::Cidr = subnet.parse().ok()?;
    let prefix = cidr.prefix();
    match cidr.addr() {
        std::net::IpAddr::V4(a) if prefix < 32 => {
            let high = u32::from(a) | (1u32 << (31 - u32::from(prefix)));
            Some((
                format!("{a}/{}", prefix + 1),
                format!("{}/{}", std::net::Ipv4Addr::from(high), prefix + 1),
            ))
        }
        std::net::IpAddr::V6(a) if prefix < 128 => {
            let high = u128::from(a) | (1u128 << (127 - u32::from(prefix)));
            Some((
                format!("{a}/{}", prefix + 1),
                format!("{}/{}", std::net::Ipv6Addr::from(high), prefix + 1),
            ))
        }
        _ => None,
    }
}

/// True for the official nginx image, whose read-only needs are documented.
fn official_nginx(image: &pf_model::units::ImageRef) -> bool {
    matches!(
        image.repository(),
        "nginx" | "library/nginx" | "docker.io/library/nginx"
    )
}

/// tmpfs mounts of a read-only service.
pub(crate) fn tmpfs(spec: &Spec) -> Vec<super::yaml::Mount> {
    spec.read_only
        .unwrap_or_default()
        .iter()
        .map(|target| super::yaml::Mount {
            kind: "tmpfs",
            source: String::new(),
            target: (*target).to_owned(),
            read_only: false,
        })
        .collect()
}

/// The findings of `pf-render lint` this bundle accepts, each with its
/// reason. A test lints every bundle: a waiver that matches nothing is a
/// finding too, so these stay exact.
pub(crate) fn waivers(cx: &Cx<'_>, specs: &[Spec]) -> Vec<super::yaml::Waiver> {
    use super::yaml::Waiver;
    let names = |pred: &dyn Fn(&Spec) -> bool| -> Vec<String> {
        specs
            .iter()
            .filter(|s| pred(s))
            .map(|s| s.instance.name.clone())
            .collect()
    };
    let mut out = Vec::new();
    // Only for services or files that exist: an unused waiver is a finding.
    let mut add = |rule: Rule, services: Vec<String>, files: Vec<String>, reason: String| {
        if !services.is_empty() || !files.is_empty() {
            out.push(Waiver {
                rule,
                services,
                files,
                reason,
            });
        }
    };
    let mut whole_file: Option<Waiver> = None;
    let swarm = cx.plan.swarm;

    add(
        Rule::CapabilitiesNotDropped,
        names(&|_| true),
        Vec::new(),
        "no image of this stack documents the capabilities it needs (docker-library/docs for nginx, postgres and redis say nothing; the entrypoints chown and switch users), so none are dropped rather than guessed".to_owned(),
    );
    add(
        Rule::RootFsWritable,
        names(&|s| s.read_only.is_none()),
        Vec::new(),
        "the image does not document where it writes; only the official nginx image does (docker-library/docs nginx, \"Running nginx in read-only mode\"), and the load balancer is read-only".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|s| matches!(s.role, Role::LoadBalancer | Role::Postgres | Role::Redis | Role::Sentinel)),
        Vec::new(),
        "the official image starts as root and drops privileges itself: nginx workers run as `nginx` (docker-library/docs nginx, \"User and group id\"); the PostgreSQL and Redis entrypoints fix data-folder ownership, then switch users with gosu (docker-entrypoint.sh)".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|s| s.role == Role::App),
        Vec::new(),
        "the user is the image's choice: the topology does not say which users the app images support".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|s| matches!(s.role, Role::Exporter | Role::Prometheus | Role::Grafana)),
        Vec::new(),
        "the monitoring images choose their own user in their Dockerfiles; overriding it would change who owns their data".to_owned(),
    );
    add(
        Rule::HealthcheckMissing,
        names(&|s| s.healthcheck.is_none()),
        Vec::new(),
        "the exporter images document no health-check command (some are built FROM scratch, without a shell); Prometheus scrapes each exporter and monitoring/alerts.yml alerts when `up == 0`".to_owned(),
    );

    // A single instance of a stateless tier (Compose: one service per
    // instance, so a tier is every service of one image).
    // Counted once: counting per service made Compose quadratic.
    let mut per_image: HashMap<&str, u32> = HashMap::new();
    if !swarm {
        for s in specs {
            *per_image.entry(s.image.as_str()).or_default() += 1;
        }
    }
    let instances = |s: &Spec| -> u32 {
        if swarm {
            s.replicas
        } else {
            per_image.get(s.image.as_str()).copied().unwrap_or_default()
        }
    };
    let stateless = |s: &Spec| !s.stateful && s.volume.is_none();
    add(
        Rule::SingleReplicaStateless,
        names(&|s| s.role == Role::Exporter && instances(s) < 2),
        Vec::new(),
        "one exporter per target: a second copy would double every series; Prometheus alerts when it is down and the orchestrator restarts it".to_owned(),
    );
    add(
        Rule::SingleReplicaStateless,
        names(&|s| s.role == Role::LoadBalancer && instances(s) < 2),
        Vec::new(),
        if swarm {
            "the topology runs one load balancer (`load-balancer.instances = 1`)".to_owned()
        } else {
            "one host: a second load balancer could not bind the same host ports; the guide puts an external balancer in front for full HA".to_owned()
        },
    );
    add(
        Rule::SingleReplicaStateless,
        names(&|s| s.role == Role::App && stateless(s) && instances(s) < 2),
        Vec::new(),
        "the topology runs a single instance of this service (the topology check warns `single-replica-tier`)".to_owned(),
    );
    if swarm {
        add(
            Rule::ReplicasNotSpread,
            names(&|s| s.replicas > 1 && s.max_replicas_per_node.is_none()),
            Vec::new(),
            format!(
                "the topology declares {} node(s) (`capacity.nodes`): there is no second node to spread to",
                cx.t.capacity.nodes
            ),
        );
        if !cx.t.network.encrypted {
            whole_file = Some(Waiver {
                rule: Rule::OverlayUnencrypted,
                services: Vec::new(),
                files: Vec::new(),
                reason: "the topology sets `network.encrypted = false` (the topology check warns `network-unencrypted`)".to_owned(),
            });
        }
    } else {
        if cx.t.restart.condition == pf_model::model::RestartCondition::Any {
            add(
                Rule::RestartPolicyUnbounded,
                names(&|_| true),
                Vec::new(),
                "the topology's `restart.condition` is `any`: an HA service must come back after any exit, and Docker Engine bounds only `on-failure` (the CIS 5.15 trade-off)".to_owned(),
            );
        }
        add(
            Rule::PortNotBoundToHostIp,
            names(&|s| s.role == Role::LoadBalancer),
            Vec::new(),
            "the load balancer is the public entry point and the topology names no listen address: it serves every interface of the host".to_owned(),
        );
    }

    let password = &cx.plan.redis.password_file;
    add(
        Rule::RedisAuthMissing,
        Vec::new(),
        vec![
            files::REDIS_MASTER_CONF.to_owned(),
            files::REDIS_REPLICA_CONF.to_owned(),
        ],
        format!(
            "the template holds no password: redis-entrypoint.sh appends requirepass and masterauth from {password} at every start"
        ),
    );
    add(
        Rule::RedisReplicaAuthMissing,
        Vec::new(),
        vec![files::REDIS_REPLICA_CONF.to_owned()],
        format!(
            "the template holds no password: redis-entrypoint.sh appends masterauth from {password} at every start"
        ),
    );
    let sentinel_files: Vec<String> = cx
        .plan
        .redis
        .sentinels
        .iter()
        .map(|s| files::sentinel_conf(s.index))
        .collect();
    add(
        Rule::SentinelAuthPassMissing,
        Vec::new(),
        sentinel_files.clone(),
        format!(
            "the template holds no password: sentinel-entrypoint.sh appends `sentinel auth-pass` from {password} at every start"
        ),
    );
    add(
        Rule::SentinelWithoutPassword,
        Vec::new(),
        sentinel_files,
        "clients discover the master through Sentinel without a password; Sentinel listens only on the internal data network".to_owned(),
    );
    add(
        Rule::PgHbaTcpWithoutTls,
        Vec::new(),
        vec![files::PG_HBA.to_owned()],
        if swarm && cx.t.network.encrypted {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network, IPsec-encrypted between nodes".to_owned()
        } else if swarm {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network (not encrypted: `network.encrypted = false`)".to_owned()
        } else {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network of one host".to_owned()
        },
    );
    out.extend(whole_file);
    out
}

#[cfg(test)]
mod tests {
    use super::halves;

    #[test]
    fn subnets_split_in_two_halves() {
        assert_eq!(
            halves("172.26.0.0/16"),
            Some(("172.26.0.0/17".into(), "172.26.128.0/17".into()))
        );
        assert_eq!(
            halves("172.28.0.0/24"),
            Some(("172.28.0.0/25".into(), "172.28.0.128/25".into()))
        );
        assert_eq!(
            halves("fd00::/64").map(|h| h.1),
            Some("fd00::8000:0:0:0/65".into())
        );
        assert_eq!(halves("10.0.0.1/32"), None);
    }
}
