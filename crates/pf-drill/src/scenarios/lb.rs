//! Load balancer: the configured method shows in how requests spread, and
//! the status endpoint answers only its allow-list.
//!
//! least-conn and round-robin differ only when servers are unequal, so one
//! instance is made slow: under concurrent clients least-conn sends it much
//! less than its share, round-robin its share. ip-hash must keep each client
//! address on one instance; nginx hashes the first three octets of an IPv4
//! address, so each client gets its own `127.77.<k>.1`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use pf_model::model::LbMethod;

use super::backend::{pick_app, spread};
use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::http::Response;
use crate::report::Check;
use crate::web::{WebTier, route_path};

/// A client address outside any allow-list the topologies use.
const OUTSIDER: Ipv4Addr = Ipv4Addr::new(127, 99, 0, 1);
/// The slow instance's extra latency.
const SLOW: Duration = Duration::from_millis(400);
/// Every other instance's latency, so requests overlap.
const NORMAL: Duration = Duration::from_millis(20);

pub(crate) fn load_balancer(
    ctx: &Ctx<'_>,
    web: &mut WebTier,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    status_endpoint(ctx, web, checks)?;
    let a = pick_app(ctx)?;
    match ctx.plan.lb.settings.method {
        LbMethod::IpHash => ip_hash(ctx, web, a, checks),
        method => spread_under_load(ctx, web, a, method, checks),
    }
}

fn status_endpoint(ctx: &Ctx<'_>, web: &WebTier, checks: &mut Vec<Check>) -> Result<(), Failure> {
    let allow = &ctx.plan.lb.status_allow;
    let inside = |ip: Ipv4Addr| allow.iter().any(|c| c.contains_addr(IpAddr::V4(ip)));
    let allowed = allow.iter().find_map(|c| match c.addr() {
        IpAddr::V4(net) if net.is_loopback() => {
            let first = if c.prefix() == 32 {
                net
            } else {
                Ipv4Addr::from(u32::from(net) + 1)
            };
            Some(first)
        }
        _ => None,
    });
    let allow_text = allow
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(src) = allowed {
        let r = web.client.status("/nginx_status", Some(src))?;
        checks.push(Check::new(
            format!("status page from {src} (allowed)"),
            format!(
                "{}{}",
                r.status,
                if r.body.starts_with("Active connections") {
                    " stub_status"
                } else {
                    ""
                }
            ),
            format!("200 (allow {allow_text})"),
            r.status == 200 && r.body.starts_with("Active connections"),
        ));
    }
    if inside(OUTSIDER) {
        return finding(format!(
            "the status allow-list ({allow_text}) covers {OUTSIDER}: refusal cannot be shown on loopback"
        ));
    }
    let r = web.client.status("/nginx_status", Some(OUTSIDER))?;
    checks.push(Check::new(
        format!("status page from {OUTSIDER} (not allowed)"),
        r.status.to_string(),
        "403",
        r.status == 403,
    ));
    let r = web.client.status("/health", Some(OUTSIDER))?;
    checks.push(Check::new(
        format!("/health from {OUTSIDER}"),
        r.status.to_string(),
        "200 (health checks need no allow-list)",
        r.status == 200,
    ));
    Ok(())
}

/// Concurrent clients, one slow instance.
fn spread_under_load(
    ctx: &Ctx<'_>,
    web: &mut WebTier,
    a: usize,
    method: LbMethod,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    let app = &ctx.plan.apps[a];
    let n = app.instances.len();
    let clients = (2 * n).clamp(4, 12);
    let per_client = 8;
    for (i, s) in web.apps[a].iter().enumerate() {
        s.set_delay(if i == 0 { SLOW } else { NORMAL });
    }
    ctx.say(
        "load-balancer",
        &format!(
            "{clients} concurrent clients x {per_client} requests, {} slow ({} ms)",
            app.instances[0].name,
            SLOW.as_millis()
        ),
    );
    let responses: Mutex<Vec<Response>> = Mutex::new(Vec::new());
    let client = web.client.clone();
    let result = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let client = &client;
                let responses = &responses;
                s.spawn(move || -> Result<(), Failure> {
                    for k in 0..per_client {
                        let r = client.site(
                            &route_path(&app.settings.route, &format!("lb?c={c}&k={k}")),
                            None,
                        )?;
                        if let Ok(mut v) = responses.lock() {
                            v.push(r);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Failure::Finding("a client panicked".into())))
            })
            .collect::<Result<Vec<()>, Failure>>()
    });
    for s in &web.apps[a] {
        s.set_delay(Duration::ZERO);
    }
    result?;
    let responses = responses.into_inner().unwrap_or_default();
    let total = responses.len();
    let failed = responses.iter().filter(|r| !r.ok()).count();
    let slow = responses
        .iter()
        .filter(|r| r.backend.as_deref() == Some(app.instances[0].name.as_str()))
        .count();
    let fair = total as f64 / n as f64;
    let all_used = app.instances.iter().all(|i| {
        responses
            .iter()
            .any(|r| r.backend.as_deref() == Some(&i.name))
    });
    checks.push(Check::new(
        "requests under concurrent load",
        format!("{} ok of {total}", total - failed),
        "all",
        failed == 0,
    ));
    let measured = format!(
        "{} (slow) {slow} of {total}, fair share {fair:.0}",
        app.instances[0].name
    );
    if method == LbMethod::LeastConn {
        checks.push(Check::new(
            "least-conn avoids the slow instance",
            measured,
            "< half its fair share",
            (slow as f64) < fair / 2.0 && all_used,
        ));
    } else {
        checks.push(Check::new(
            "round-robin ignores latency",
            measured,
            "fair share +-40%",
            (slow as f64 - fair).abs() <= fair * 0.4 && all_used,
        ));
    }
    checks.push(Check::new(
        format!("spread over {} instances", app.name),
        spread(app, &responses),
        "every instance answers",
        all_used,
    ));
    Ok(())
}

/// Each client address stays on one instance.
fn ip_hash(
    ctx: &Ctx<'_>,
    web: &mut WebTier,
    a: usize,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    let app = &ctx.plan.apps[a];
    let clients: Vec<Ipv4Addr> = (1..=8u8).map(|k| Ipv4Addr::new(127, 77, k, 1)).collect();
    let per_client = 5;
    let mut seen: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    let mut failed = 0;
    for &c in &clients {
        for k in 0..per_client {
            let r = web.client.site(
                &route_path(&app.settings.route, &format!("sticky?k={k}")),
                Some(c),
            )?;
            match (&r.backend, r.ok()) {
                (Some(b), true) => {
                    seen.entry(c).or_default().insert(b.clone());
                }
                _ => failed += 1,
            }
        }
    }
    let sticky = seen.values().filter(|b| b.len() == 1).count();
    let used: BTreeSet<&String> = seen.values().flatten().collect();
    checks.push(Check::new(
        "ip-hash keeps each client on one instance",
        format!(
            "{sticky} of {} clients, {failed} failed requests",
            clients.len()
        ),
        format!("all {} clients", clients.len()),
        sticky == clients.len() && failed == 0,
    ));
    checks.push(Check::new(
        "ip-hash spreads clients",
        format!("{} of {} instances used", used.len(), app.instances.len()),
        ">= 2",
        used.len() >= 2,
    ));
    Ok(())
}
