//! The nginx load balancer: one complete `nginx.conf` for the official
//! image, the same shape on Swarm and Compose. Only the upstream servers
//! differ: `tasks.<svc>` on Swarm, one line per instance on Compose.

use pf_model::model::LbMethod;
use pf_model::units::Duration;
use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;

/// Mozilla "intermediate" (guidelines 6.0) TLS 1.2 suites; TLS 1.3 suites
/// are OpenSSL's defaults, which are the same three Mozilla lists.
const INTERMEDIATE_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// Idle connections kept open to each upstream, per worker.
const UPSTREAM_KEEPALIVE: u32 = 32;

#[derive(Serialize)]
struct Ctx<'a> {
    swarm: bool,
    /// Local target: run folders; None in containers.
    local: Option<Local>,
    /// `127.0.1.1:` on the local target (each instance has its own address),
    /// empty in a container (all addresses).
    listen: String,
    resolver: String,
    resolver_valid: String,
    client_max_body_size: String,
    server_name: &'a str,
    http_port: u16,
    https_port: u16,
    /// `https://$host` plus `:port` unless the port is 443.
    https_origin: String,
    tls: Option<Tls>,
    ciphers: &'static str,
    method: Option<&'static str>,
    ip_hash: bool,
    max_fails: u32,
    fail_timeout: String,
    next_upstream: String,
    next_upstream_tries: u32,
    next_upstream_timeout: String,
    connect_timeout: String,
    worker_processes: u32,
    cpu_limit: String,
    keepalive: u32,
    upstreams: Vec<Upstream<'a>>,
    /// Some route is `/`; otherwise a catch-all `location /` answers 404,
    /// so nginx never serves the image's welcome page.
    root_routed: bool,
    status_port: u16,
    status_allow: Vec<String>,
    read: Option<Read<'a>>,
    /// The monitoring block (containers only): metrics handler, UIs.
    monitoring: Option<Monitoring>,
}

#[derive(Serialize)]
struct Monitoring {
    /// Where nginx reads `nginx/metrics.js`.
    script: String,
    metrics_path: &'static str,
    htpasswd_secret: String,
    htpasswd: String,
    web: Vec<WebUi>,
}

#[derive(Serialize)]
struct WebUi {
    path: String,
    upstream: String,
    server: String,
    basic_auth: bool,
    realm: String,
}

#[derive(Serialize)]
struct Local {
    /// Pid file and temp folders.
    state_dir: String,
    /// (production, local) ports.
    remapped_ports: Vec<(u16, u16)>,
}

#[derive(Serialize)]
struct Tls {
    certificate: String,
    key: String,
}

#[derive(Serialize)]
struct Upstream<'a> {
    name: &'a str,
    zone_size: String,
    servers: Vec<String>,
    route: &'a str,
    locations: &'a [String],
}

#[derive(Serialize)]
struct Read<'a> {
    name: &'a str,
    port: u16,
    zone_size: String,
    servers: Vec<String>,
    /// `so_keepalive=` of the listener: idle:interval:count.
    keepalive: String,
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let plan = &cx.plan.lb;
    let lb = &plan.settings;
    let zone_size = lb.zone_size.nginx();
    let https_origin = if plan.https_port == 443 {
        "https://$host".to_owned()
    } else {
        format!("https://$host:{}", plan.https_port)
    };
    let local = cx.plan.local.as_ref();
    let servers = |u: &crate::plan::Upstream| u.servers.iter().map(ToString::to_string).collect();
    let ctx = Ctx {
        swarm: cx.plan.is_swarm(),
        local: local.map(|l| Local {
            state_dir: l.state_dir.display().to_string(),
            remapped_ports: l
                .remapped_ports
                .iter()
                .map(|p| (p.production, p.local))
                .collect(),
        }),
        listen: if local.is_some() {
            format!("{}:", plan.instance.listen)
        } else {
            String::new()
        },
        resolver: plan.resolver.to_string(),
        resolver_valid: whole_secs(lb.resolver_valid),
        client_max_body_size: lb.client_max_body_size.nginx(),
        server_name: &lb.server_name,
        http_port: plan.http_port,
        https_port: plan.https_port,
        https_origin,
        tls: plan.tls.as_ref().map(|t| Tls {
            certificate: t.certificate.display().to_string(),
            key: t.key.display().to_string(),
        }),
        ciphers: INTERMEDIATE_CIPHERS,
        method: lb.method.directive(),
        ip_hash: lb.method == LbMethod::IpHash,
        max_fails: lb.max_fails,
        fail_timeout: whole_secs(lb.fail_timeout),
        next_upstream: lb
            .next_upstream
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        next_upstream_tries: lb.next_upstream_tries,
        next_upstream_timeout: lb.next_upstream_timeout.nginx(),
        connect_timeout: lb.connect_timeout.nginx(),
        worker_processes: plan.worker_processes,
        cpu_limit: format!("{} CPU", lb.resources.limits.cpus),
        keepalive: UPSTREAM_KEEPALIVE,
        upstreams: plan
            .routes
            .iter()
            .map(|r| Upstream {
                name: &r.upstream.name,
                zone_size: zone_size.clone(),
                servers: servers(&r.upstream),
                route: &r.route,
                locations: &r.locations,
            })
            .collect(),
        root_routed: plan.routes.iter().any(|r| r.route == "/"),
        status_port: plan.status_port,
        status_allow: plan.status_allow.iter().map(ToString::to_string).collect(),
        read: plan.read.as_ref().map(|r| Read {
            name: &r.upstream.name,
            port: r.port,
            zone_size: zone_size.clone(),
            servers: servers(&r.upstream),
            keepalive: format!(
                "{}s:{}s:{}",
                r.keepalive.idle_secs, r.keepalive.interval_secs, r.keepalive.count
            ),
        }),
        monitoring: cx
            .plan
            .monitoring
            .as_ref()
            .filter(|_| local.is_none())
            .map(|m| Monitoring {
                script: m.files.nginx_metrics.path.display().to_string(),
                metrics_path: crate::plan::NGINX_METRICS_PATH,
                htpasswd_secret: m
                    .web
                    .as_ref()
                    .map(|w| w.htpasswd_secret.clone())
                    .unwrap_or_default(),
                htpasswd: m
                    .web
                    .as_ref()
                    .map(|w| w.htpasswd_file.display().to_string())
                    .unwrap_or_default(),
                web: m
                    .web
                    .iter()
                    .flat_map(|w| &w.routes)
                    .map(|r| WebUi {
                        path: r.path.clone(),
                        upstream: r.upstream.clone(),
                        server: r.server.to_string(),
                        basic_auth: r.basic_auth,
                        realm: format!("{} {}", cx.plan.stack, r.server.host),
                    })
                    .collect(),
            }),
    };
    let text = crate::templates::render("nginx/load-balancer.conf", &ctx)?;
    bundle.add(&plan.config.artifact, &text);
    Ok(())
}

/// `fail_timeout=` and `valid=` take whole seconds only: nginx rejects
/// `500ms` there (unlike `proxy_*_timeout`). Rounded up, so a window never
/// shrinks.
fn whole_secs(d: Duration) -> String {
    format!("{}s", d.as_secs_ceil())
}
