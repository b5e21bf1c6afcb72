//! Backend failover: a steady stream of client requests through nginx while
//! one backend instance stops and comes back.
//!
//! The instance is killed as on an overlay network: its address answers no
//! connection attempt (no reset), so nginx waits its connect timeout before
//! the next server, and the slowest client request measures the guide's
//! "<1 s" backend failover.
//!
//! Passive health checks take a failed server out for fail-timeout after
//! max-fails failures, so the stopped instance is restarted a few seconds
//! after the stop, and the drill then waits, streaming, until nginx sends it
//! traffic again: that proves both that it was kept out for fail-timeout
//! (measured from the stop, which is when it failed) and that it returns.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pf_model::model::LbMethod;

use super::secs;
use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::http::Response;
use crate::proc::log_tail;
use crate::report::Check;
use crate::web::{WebTier, route_path};
use pf_render::plan::AppPlan as App;

/// The guide's backend failover time: "<1s (proxy_next_upstream)".
const FAILOVER_BUDGET: Duration = Duration::from_secs(1);

/// Pause between two requests of the stream (each is a new curl and TLS
/// connection, so the stream runs at a few dozen requests a second).
const PACE: Duration = Duration::from_millis(25);

/// The app service with the most instances (the first of equals), which
/// must have two to fail over.
pub(crate) fn pick_app(ctx: &Ctx<'_>) -> Result<usize, Failure> {
    let apps = &ctx.plan.apps;
    let best = (0..apps.len())
        .rev()
        .max_by_key(|&i| apps[i].instances.len());
    match best {
        Some(i) if apps[i].instances.len() >= 2 => Ok(i),
        _ => finding("no app service has 2 or more instances: there is nothing to fail over to"),
    }
}

/// The index of the instance that answered most of `responses`.
fn busiest(app: &App, responses: &[Response]) -> usize {
    (0..app.instances.len())
        .max_by_key(|&i| {
            responses
                .iter()
                .filter(|r| r.backend.as_deref() == Some(app.instances[i].name.as_str()))
                .count()
        })
        .unwrap_or(0)
}

/// Counts of answering instances: `backend1 120, backend2 98`.
pub(crate) fn spread(app: &App, responses: &[Response]) -> String {
    let mut counts: BTreeMap<&str, usize> =
        app.instances.iter().map(|i| (i.name.as_str(), 0)).collect();
    for r in responses {
        if let Some(b) = &r.backend
            && let Some(c) = counts.get_mut(b.as_str())
        {
            *c += 1;
        }
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn backend_failover(
    ctx: &Ctx<'_>,
    web: &mut WebTier,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    const NAME: &str = "backend-failover";
    let lb = &ctx.plan.lb.settings;
    let a = pick_app(ctx)?;
    let app = &ctx.plan.apps[a];
    let route = &app.settings.route;
    let fail_timeout = ctx.layout.fail_timeout;
    // Short enough that nginx has not tried the instance again when it
    // comes back (it would fail and count again).
    let hold = (fail_timeout / 3).clamp(Duration::from_millis(500), Duration::from_secs(5));
    let client = web.client.clone();
    let stop = AtomicBool::new(false);
    let responses: Mutex<Vec<Response>> = Mutex::new(Vec::new());
    let nginx_log = ctx.layout.logs.join("nginx.log");
    let failures_of = |upstream: &str| {
        String::from_utf8_lossy(&std::fs::read(&nginx_log).unwrap_or_default())
            .lines()
            .filter(|l| {
                l.contains("[error]") && l.contains(&format!("upstream: \"http://{upstream}"))
            })
            .count()
    };

    let outcome = std::thread::scope(|s| -> Result<_, Failure> {
        let stream = s.spawn(|| -> Result<(), Failure> {
            let mut n = 0u64;
            let end = Instant::now() + fail_timeout + hold + Duration::from_secs(40);
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                n += 1;
                let r = client.site(&route_path(route, &format!("drill?n={n}")), None)?;
                if let Ok(mut v) = responses.lock() {
                    v.push(r);
                }
                ctx.cancel.sleep(PACE)?;
            }
            Ok(())
        });
        let result = (|| -> Result<_, Failure> {
            ctx.say(
                NAME,
                &format!("streaming requests to {route} through nginx"),
            );
            ctx.cancel.sleep(Duration::from_millis(1500))?;
            // The instance serving the stream: with ip-hash the one client
            // only ever reaches one.
            let warm = responses.lock().map(|r| r.clone()).unwrap_or_default();
            let v = busiest(app, &warm);
            let victim = app.instances[v].clone();
            let victim_upstream = format!("{}:{}", victim.listen, app.port);
            let victim_failures = || failures_of(&victim_upstream);
            let failures_before = victim_failures();
            let t_stop = Instant::now();
            let sent_before_stop = responses.lock().map(|v| v.len()).unwrap_or(0);
            // Killed as on an overlay: connection attempts get no reset, so
            // each request sent to it waits nginx's connect timeout.
            web.apps[a][v].kill().map_err(|e| {
                Failure::Finding(format!("cannot make {} unreachable: {e}", victim.name))
            })?;
            ctx.say(
                NAME,
                &format!(
                    "killed {} ({victim_upstream}): its address now ignores connection attempts",
                    victim.name
                ),
            );
            ctx.cancel.sleep(hold)?;
            let attempts = victim_failures().saturating_sub(failures_before);
            let sent_until_restart = responses.lock().map(|v| v.len()).unwrap_or(0);
            let sent_while_down = sent_until_restart - sent_before_stop;
            let before = web.apps[a][v].requests();
            web.apps[a][v]
                .restart()
                .map_err(|e| Failure::Finding(format!("cannot restart {}: {e}", victim.name)))?;
            let t_restart = Instant::now();
            ctx.say(
                NAME,
                &format!(
                    "restarted {} after {}; nginx tried it {attempts} time(s) during {sent_while_down} \
                     requests; waiting for it to get traffic again (fail-timeout {})",
                    victim.name,
                    secs(hold),
                    secs(fail_timeout)
                ),
            );
            let limit = fail_timeout + Duration::from_secs(15);
            let mut back = None;
            while t_restart.elapsed() < limit {
                if web.apps[a][v].requests() > before {
                    back = Some(Instant::now());
                    break;
                }
                if stream.is_finished() {
                    break;
                }
                ctx.cancel.sleep(Duration::from_millis(20))?;
            }
            // A few more requests with every instance back.
            ctx.cancel.sleep(Duration::from_millis(500))?;
            // Requests still in flight at the restart finish after it.
            let down = sent_before_stop..(sent_until_restart + 1);
            Ok((
                victim,
                t_stop,
                t_restart,
                back,
                attempts,
                sent_while_down,
                down,
            ))
        })();
        stop.store(true, Ordering::SeqCst);
        let streamed = stream
            .join()
            .unwrap_or_else(|_| Err(Failure::Finding("the request stream panicked".to_owned())));
        let r = result?;
        streamed?;
        Ok(r)
    })?;
    let (victim, t_stop, t_restart, back, attempts, sent_while_down, down) = outcome;
    let responses = responses.into_inner().unwrap_or_default();
    let worst_client = responses
        .get(down.start..down.end.min(responses.len()))
        .unwrap_or_default()
        .iter()
        .map(|r| r.elapsed)
        .max()
        .unwrap_or_default();
    // Request n is the stream's (n-1)th response. nginx's own request_time
    // is the failover as the load balancer adds it; the client's time also
    // holds starting curl and the TLS handshake, which a loaded machine
    // stretches.
    let log = String::from_utf8_lossy(&std::fs::read(&nginx_log).unwrap_or_default()).into_owned();
    let worst_nginx = request_times(&log, &route_path(route, "drill?n="))
        .into_iter()
        .filter(|(n, _)| (down.start as u64 + 1..=down.end as u64).contains(n))
        .map(|(_, t)| t)
        .max();

    let failed: Vec<&Response> = responses.iter().filter(|r| !r.ok()).collect();
    checks.push(Check::new(
        "client requests failed while a backend stopped",
        format!("{} of {}", failed.len(), responses.len()),
        format!("0 (next-upstream-tries {})", lb.next_upstream_tries),
        failed.is_empty(),
    ));
    // The guide's "<1 s (proxy_next_upstream)": the slowest client request
    // while the backend was dead, the connect timeout included.
    checks.push(Check::new(
        "slowest request while a backend was dead",
        match worst_nginx {
            Some(w) => format!(
                "{} in nginx ({} at the client)",
                secs(w),
                secs(worst_client)
            ),
            None => "no access-log line for the stream".to_owned(),
        },
        format!(
            "< 1.0 s (the guide's backend failover; connect-timeout {})",
            lb.connect_timeout
        ),
        worst_nginx.is_some_and(|w| w < FAILOVER_BUDGET),
    ));
    let answered = |name: &str| responses.iter().any(|r| r.backend.as_deref() == Some(name));
    if lb.method == LbMethod::IpHash {
        // One client: its own instance, and another while that one is out.
        checks.push(Check::new(
            format!("spread over {} instances (one client)", app.name),
            spread(app, &responses),
            format!("{} (ip-hash), another while it is out", victim.name),
            answered(&victim.name)
                && app
                    .instances
                    .iter()
                    .any(|i| i.name != victim.name && answered(&i.name)),
        ));
    } else {
        checks.push(Check::new(
            format!("spread over {} instances", app.name),
            spread(app, &responses),
            "every instance answers",
            app.instances.iter().all(|i| answered(&i.name)),
        ));
    }
    if let Some(f) = failed.first() {
        checks.push(Check::new(
            "first failed request",
            format!("status {} {}", f.status, f.error),
            "-",
            false,
        ));
    }
    if lb.max_fails > 0 {
        checks.push(Check::new(
            "nginx attempts on the stopped backend",
            format!("{attempts} in {sent_while_down} requests"),
            format!("<= max-fails {} (+2), then skipped", lb.max_fails),
            attempts >= 1 && attempts <= lb.max_fails as usize + 2,
        ));
        // nginx counts fail-timeout in whole seconds from the last failure.
        let lower = fail_timeout.saturating_sub(Duration::from_secs(1));
        let upper = fail_timeout + Duration::from_secs(5);
        let (measured, passed) = match back {
            Some(b) => {
                let out = b - t_stop;
                (secs(out), out >= lower && out <= upper)
            }
            None => (
                format!(
                    "no traffic within {}",
                    secs(fail_timeout + Duration::from_secs(15))
                ),
                false,
            ),
        };
        checks.push(Check::new(
            "stopped backend out of rotation",
            measured,
            format!("fail-timeout {} (-1 s, +5 s)", secs(fail_timeout)),
            passed,
        ));
    } else {
        let passed = back.is_some_and(|b| b - t_restart <= Duration::from_secs(5));
        checks.push(Check::new(
            "restarted backend gets traffic (max-fails 0)",
            back.map_or_else(|| "never".to_owned(), |b| secs(b - t_restart)),
            "<= 5.0 s (passive checks off)",
            passed,
        ));
    }
    if back.is_none() {
        return finding(format!(
            "{} got no traffic after its restart; nginx log:\n{}",
            victim.name,
            ctx.scrub(&log_tail(&nginx_log, 8))
        ));
    }
    Ok(())
}

/// `(n, request_time)` of each access-log line of a request to `prefix<n>`
/// (the generated log format ends with `request_time=<s> upstream_time=...`).
fn request_times(log: &str, prefix: &str) -> Vec<(u64, Duration)> {
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find(prefix)? + prefix.len()..];
            let n = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let t = line
                .split("request_time=")
                .nth(1)?
                .split_whitespace()
                .next()?;
            Some((n, Duration::from_secs_f64(t.parse().ok()?)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::request_times;
    use std::time::Duration;

    #[test]
    fn request_times_come_from_the_generated_log_format() {
        let log = "127.0.0.1 - - [05/Dec/2026:00:53:37 +0000] \"GET /api/drill?n=12 HTTP/2.0\" 200 7 \"-\" \"curl/8\" \
                   upstream=127.0.10.3:8000, 127.0.10.1:8000 upstream_status=504, 200 request_time=0.503 upstream_time=0.500, 0.002\n\
                   2026/12/05 00:53:37 [error] 7#7: *1 upstream timed out\n\
                   127.0.0.1 - - [05/Dec/2026:00:53:37 +0000] \"GET /api/drill?n=13 HTTP/2.0\" 200 7 \"-\" \"curl/8\" \
                   upstream=127.0.10.1:8000 upstream_status=200 request_time=0.002 upstream_time=0.002\n";
        assert_eq!(
            request_times(log, "/api/drill?n="),
            [
                (12, Duration::from_millis(503)),
                (13, Duration::from_millis(2))
            ]
        );
    }
}
