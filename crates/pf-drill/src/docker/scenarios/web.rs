//! The web tier in the deployed stack: requests sent with curl inside an
//! nginx container to its own public port (as a client reaches it: server
//! name, the site's scheme), and nginx's access log (`upstream=` names the
//! task that answered, and every task nginx tried) to see which task served
//! each request.
//!
//! backend-failover kills one task of the busiest app (SIGKILL) under a
//! steady request stream: no request may fail, the slowest is reported
//! against the guide's "< 1 s", and the task must get traffic again (the
//! restarted container on Compose, its replacement on Swarm).
//! load-balancer checks the status page from inside nginx and whether the
//! status port is reachable from outside its allow-list, and how the
//! configured method spreads requests over the tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pf_model::model::LbMethod;
use pf_render::plan::{AppPlan, Scheme};

use crate::budgets::BACKEND_FAILOVER;
use crate::docker::stack::{Orchestrator, Running, Stack, unix_now};
use crate::docker::worker::Worker;
use crate::error::{Failure, finding};
use crate::report::Check;
use crate::scenarios::secs;

/// One request per input number, to `$1://$2:$3$4?pf-drill=N` resolved to
/// this container; prints `STATUS SECONDS` (000 when no answer came).
const REQUESTS: &str = r#"while read -r n; do
  r=$(curl -k -s -o /dev/null -A pf-drill -w '%{http_code} %{time_total}' --max-time 20 --resolve "$2:$3:127.0.0.1" "$1://$2:$3$4?pf-drill=$n" 2>/dev/null)
  echo "${r:-000 20}"
done"#;

/// The longest the stream runs before the kill, waiting for every task to
/// answer (nginx re-resolves task names every 10 s), at the least: a task
/// that failed just before the drill (a previous test stopped it) is skipped
/// for fail-timeout, so the wait is also that long (warm_limit).
const WARM_LIMIT: Duration = Duration::from_secs(15);

/// How long to wait for every task before the kill: WARM_LIMIT, or
/// fail-timeout and a little more when that is longer (found by the
/// container tier on Compose: the drill ran right after failover-test.sh
/// had stopped and restarted a backend, which nginx still skipped).
fn warm_limit(fail_timeout: Duration) -> Duration {
    WARM_LIMIT.max(fail_timeout + Duration::from_secs(2))
}

/// One request's outcome.
#[derive(Debug, Clone, Copy)]
struct Sent {
    n: u64,
    at: Instant,
    status: u16,
    seconds: f64,
}

impl Sent {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The app with the most instances (the first of equals), which must have
/// two to fail over; with how many it has.
fn pick_app<'s>(s: &'s Stack<'_>) -> Result<(&'s AppPlan, u32), Failure> {
    let count = |a: &AppPlan| -> u32 {
        a.instances
            .iter()
            .map(|i| i.deployment.as_ref().map_or(1, |d| d.replicas))
            .sum()
    };
    let best = s.plan.apps.iter().rev().max_by_key(|a| count(a));
    match best {
        Some(a) if count(a) >= 2 => Ok((a, count(a))),
        _ => finding("no app service has 2 or more instances: there is nothing to fail over to"),
    }
}

/// The request stream's shell in an nginx container.
fn requests(s: &Stack<'_>, lb: &Running, path: &str) -> Result<Worker, Failure> {
    let l = &s.plan.lb;
    let (scheme, port) = match l.entry.scheme {
        Scheme::Https => ("https", l.https_port),
        Scheme::Http => ("http", l.http_port),
    };
    let port = port.to_string();
    s.worker(
        lb,
        None,
        REQUESTS,
        &[scheme, &l.settings.server_name, &port, path],
    )
}

fn ask(w: &mut Worker, n: u64) -> Result<Sent, Failure> {
    let at = Instant::now();
    let line = w
        .ask(&n.to_string(), Duration::from_secs(25))?
        .unwrap_or_else(|| "000 25".into());
    let mut f = line.split_whitespace();
    Ok(Sent {
        n,
        at,
        status: f.next().and_then(|x| x.parse().ok()).unwrap_or(0),
        seconds: f.next().and_then(|x| x.parse().ok()).unwrap_or(25.0),
    })
}

/// The drill's requests in nginx's access log: request number to the
/// upstream addresses nginx tried, in order (the last one answered).
pub(crate) fn upstreams(log: &str, path: &str) -> BTreeMap<u64, Vec<String>> {
    let marker = format!("\"GET {path}?pf-drill=");
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(at) = line.find(&marker) else {
            continue;
        };
        let n: String = line[at + marker.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(n) = n.parse::<u64>() else { continue };
        let Some(u) = line.split(" upstream=").nth(1) else {
            continue;
        };
        let list = u.split(" upstream_status=").next().unwrap_or_default();
        // "a:p, b:p" when nginx tried the next server; " : " between groups.
        let addrs: Vec<String> = list
            .split([',', ' '])
            .filter(|t| {
                t.rsplit_once(':').is_some_and(|(ip, port)| {
                    ip.parse::<IpAddr>().is_ok() && port.parse::<u16>().is_ok()
                })
            })
            .map(str::to_owned)
            .collect();
        out.insert(n, addrs);
    }
    out
}

/// `10.0.1.5:8000 (promptforge_backend.1) 40, ...`: answers per task.
fn spread(answered: &BTreeMap<String, usize>, names: &BTreeMap<String, String>) -> String {
    answered
        .iter()
        .map(
            |(a, n)| match names.get(a.split(':').next().unwrap_or_default()) {
                Some(name) => format!("{name} {n}"),
                None => format!("{a} {n}"),
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// Address (no port) to container name of every local container of the app.
fn names(s: &Stack<'_>, app: &AppPlan) -> BTreeMap<String, String> {
    let mut ids = Vec::new();
    for i in &app.instances {
        ids.extend(s.running(i).unwrap_or_default());
    }
    let refs: Vec<&str> = ids.iter().map(|r| r.id.as_str()).collect();
    s.inspect(&refs)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| {
            let name = c.name.clone();
            c.addresses.into_values().map(move |a| (a, name.clone()))
        })
        .collect()
}

pub(crate) fn backend_failover(s: &Stack<'_>, checks: &mut Vec<Check>) -> Result<(), Failure> {
    const NAME: &str = "backend-failover";
    let settings = &s.plan.lb.settings;
    let fail_timeout = s.budgets.fail_timeout;
    let (app, tasks) = pick_app(s)?;
    let lb = s.one(&s.plan.lb.instance)?;
    let path = app.settings.health_path.clone();
    // Candidates: the app's tasks on this engine, with their addresses.
    let mut local = Vec::new();
    for i in &app.instances {
        for c in s.running(i)? {
            let addrs: BTreeSet<String> = s
                .inspect(&[c.id.as_str()])?
                .into_iter()
                .flat_map(|x| x.addresses.into_values())
                .collect();
            local.push((i, c, addrs));
        }
    }
    if local.is_empty() {
        return finding(format!(
            "no task of {} runs on this engine: point the drill at a node that runs one",
            app.name
        ));
    }
    let names_before = names(s, app);
    let since = unix_now().saturating_sub(1);
    let mut w = requests(s, &lb, &path)?;
    let hold = (fail_timeout / 3).clamp(Duration::from_millis(500), Duration::from_secs(5));
    let stop = AtomicBool::new(false);
    let sent: Mutex<Vec<Sent>> = Mutex::new(Vec::new());
    let window = fail_timeout + hold + Duration::from_secs(10);

    let outcome = std::thread::scope(|scope| -> Result<_, Failure> {
        let stream = scope.spawn(|| -> Result<(), Failure> {
            let end = Instant::now() + window + Duration::from_secs(30);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                n += 1;
                let r = ask(&mut w, n)?;
                if let Ok(mut v) = sent.lock() {
                    v.push(r);
                }
                s.sleep(Duration::from_millis(25))?;
            }
            Ok(())
        });
        let result = (|| -> Result<_, Failure> {
            s.say(
                NAME,
                &format!("streaming GET {path} through nginx ({})", lb.name),
            );
            // Until every task has answered: nginx learns a task Swarm
            // replaced only when it resolves the name again (valid=10s).
            let warm = Instant::now();
            let want = if settings.method == LbMethod::IpHash {
                1
            } else {
                tasks as usize
            };
            loop {
                s.sleep(Duration::from_millis(1000))?;
                let seen: BTreeSet<String> = upstreams(&s.logs_since(&lb, since)?, &path)
                    .into_values()
                    .filter_map(|a| a.last().cloned())
                    .collect();
                if (seen.len() >= want && warm.elapsed() >= Duration::from_secs(2))
                    || warm.elapsed() >= warm_limit(fail_timeout)
                {
                    break;
                }
            }
            // The victim: the local task that answered most (with ip-hash
            // the one client's own task), as on loopback.
            let log = upstreams(&s.logs_since(&lb, since)?, &path);
            let answered = |addrs: &BTreeSet<String>| {
                log.values()
                    .filter_map(|a| a.last())
                    .filter(|a| addrs.iter().any(|x| a.starts_with(&format!("{x}:"))))
                    .count()
            };
            let (victim_instance, victim, victim_addrs) = local
                .iter()
                .rev()
                .max_by_key(|(_, _, addrs)| answered(addrs))
                .map(|(i, c, a)| (*i, c.clone(), a.clone()))
                .ok_or_else(|| Failure::Finding("no local task (a bug)".into()))?;
            let t_stop = Instant::now();
            s.kill(&victim)?;
            s.say(NAME, &format!("killed {} (SIGKILL)", victim.name));
            let mut t_restart = None;
            if s.on == Orchestrator::Compose {
                s.sleep(hold)?;
                s.bring_back(victim_instance, &victim)?;
                t_restart = Some(Instant::now());
                s.say(
                    NAME,
                    &format!("started {} again after {}", victim.name, secs(hold)),
                );
            }
            while t_stop.elapsed() < window && !stream.is_finished() {
                s.sleep(Duration::from_millis(100))?;
            }
            Ok((t_stop, t_restart, victim_addrs))
        })();
        stop.store(true, Ordering::SeqCst);
        let streamed = stream
            .join()
            .unwrap_or_else(|_| Err(Failure::Finding("the request stream panicked".to_owned())));
        let r = result?;
        streamed?;
        Ok(r)
    })?;
    w.close();
    let (t_stop, t_restart, victim_addrs) = outcome;
    let sent = sent.into_inner().unwrap_or_default();
    let log = s.logs_since(&lb, since)?;
    let tried = upstreams(&log, &path);
    let mut names = names_before;
    names.extend(self::names(s, app));

    let failed: Vec<&Sent> = sent.iter().filter(|r| !r.ok()).collect();
    checks.push(Check::new(
        format!(
            "client requests failed while a {} task was killed",
            app.name
        ),
        format!("{} of {}", failed.len(), sent.len()),
        format!("0 (next-upstream-tries {})", settings.next_upstream_tries),
        failed.is_empty() && !sent.is_empty(),
    ));
    let after: Vec<&Sent> = sent.iter().filter(|r| r.at >= t_stop).collect();
    let worst = after.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let slow = after
        .iter()
        .filter(|r| r.seconds >= BACKEND_FAILOVER.as_secs_f64())
        .count();
    checks.push(Check::new(
        "worst request latency after the kill",
        format!("{worst:.3} s ({slow} of {} requests >= 1 s)", after.len()),
        format!("< {} (guide: failover < 1 s)", secs(BACKEND_FAILOVER)),
        !after.is_empty() && worst < BACKEND_FAILOVER.as_secs_f64(),
    ));
    // Which task answered each request (the last address nginx tried).
    let before: Vec<&Sent> = sent.iter().filter(|r| r.at < t_stop).collect();
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    for r in &before {
        if let Some(last) = tried.get(&r.n).and_then(|a| a.last()) {
            *answered.entry(last.clone()).or_default() += 1;
        }
    }
    let want = if settings.method == LbMethod::IpHash {
        1
    } else {
        tasks as usize
    };
    checks.push(Check::new(
        format!(
            "requests spread over the {} tasks before the kill (access log)",
            app.name
        ),
        if answered.is_empty() {
            "no drill request in nginx's access log".to_owned()
        } else {
            spread(&answered, &names)
        },
        if settings.method == LbMethod::IpHash {
            "one task (ip-hash, one client)".to_owned()
        } else {
            format!("all {tasks} tasks")
        },
        if settings.method == LbMethod::IpHash {
            answered.len() == 1
        } else {
            answered.len() >= want
        },
    ));
    let on_victim = |r: &Sent| {
        tried.get(&r.n).is_some_and(|a| {
            a.iter()
                .any(|x| victim_addrs.iter().any(|v| x.starts_with(&format!("{v}:"))))
        })
    };
    if settings.max_fails > 0 {
        let attempts = after
            .iter()
            .filter(|r| t_restart.is_none_or(|t| r.at < t))
            .filter(|r| on_victim(r))
            .count();
        checks.push(Check::new(
            "nginx attempts on the killed task",
            format!("{attempts}"),
            format!("<= max-fails {} (+2), then skipped", settings.max_fails),
            attempts <= settings.max_fails as usize + 2,
        ));
    }
    // The task gets traffic again: the restarted container (Compose), or
    // the replacement Swarm starts (an address not seen before the kill).
    let seen_before: BTreeSet<&str> = before
        .iter()
        .filter_map(|r| tried.get(&r.n).and_then(|a| a.last()).map(String::as_str))
        .collect();
    let back = after.iter().find(|r| {
        let Some(last) = tried.get(&r.n).and_then(|a| a.last()) else {
            return false;
        };
        match s.on {
            Orchestrator::Compose => t_restart.is_some_and(|t| r.at > t) && on_victim(r) && r.ok(),
            Orchestrator::Swarm => !seen_before.contains(last.as_str()) && r.ok(),
        }
    });
    let (what, budget, passed) = match s.on {
        Orchestrator::Compose => {
            let lower = fail_timeout.saturating_sub(Duration::from_secs(1));
            let upper = fail_timeout + Duration::from_secs(5);
            let out = back.map(|r| r.at - t_stop);
            (
                "killed task out of rotation, then back (restarted container)",
                format!(
                    "fail-timeout {} (-1 s, +5 s) after the kill",
                    secs(fail_timeout)
                ),
                out.is_some_and(|o| o >= lower && o <= upper)
                    || (settings.max_fails == 0 && out.is_some()),
            )
        }
        Orchestrator::Swarm => (
            "Swarm's replacement task gets traffic",
            format!(
                "within {} (restart delay + nginx re-resolving)",
                secs(window)
            ),
            back.is_some(),
        ),
    };
    checks.push(Check::new(
        what,
        back.map_or_else(
            || format!("no traffic within {}", secs(window)),
            |r| format!("after {}", secs(r.at - t_stop)),
        ),
        budget,
        passed,
    ));
    Ok(())
}

/// nginx's status page from inside nginx, and whether it can be reached
/// from outside its allow-list; then how the method spreads requests.
pub(crate) fn load_balancer(s: &Stack<'_>, checks: &mut Vec<Check>) -> Result<(), Failure> {
    let l = &s.plan.lb;
    let lb = s.one(&l.instance)?;
    let status_port = l.status_port.to_string();
    let allow = &l.status_allow;
    let allow_text = allow
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let get = |c: &Running, addr: &str, path: &str| -> String {
        let url = format!("http://{addr}:{status_port}{path}");
        s.exec(
            c,
            None,
            r#"if command -v curl >/dev/null; then curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true;
               else wget -q -O /dev/null -T 5 "$1" 2>&1 && echo 200 || echo refused; fi"#,
            &[&url],
            Duration::from_secs(15),
        )
        .unwrap_or_else(|e| match e {
            Failure::Finding(m) => m,
            Failure::Drill(d) => d.to_string(),
        })
        .trim()
        .to_owned()
    };
    let loopback_allowed = allow
        .iter()
        .any(|c| c.contains_addr(IpAddr::from([127, 0, 0, 1])));
    let inside = get(&lb, "127.0.0.1", "/nginx_status");
    checks.push(Check::new(
        format!(
            "status page from inside nginx (127.0.0.1, {})",
            if loopback_allowed {
                "allowed"
            } else {
                "not allowed"
            }
        ),
        inside.clone(),
        format!(
            "{} (allow {allow_text})",
            if loopback_allowed { 200 } else { 403 }
        ),
        inside == if loopback_allowed { "200" } else { "403" },
    ));
    // A container of the stack whose address is outside the allow-list, if any.
    let mut outsider = None;
    let mut candidates: Vec<&pf_render::plan::Instance> =
        s.plan.apps.iter().flat_map(|a| &a.instances).collect();
    if let Some(m) = &s.plan.monitoring {
        candidates.push(&m.prometheus);
    }
    for i in candidates {
        if let Some(c) = s.running(i)?.into_iter().next() {
            let info = s.inspect(&[c.id.as_str()])?;
            let outside = info.iter().flat_map(|x| x.addresses.values()).any(|a| {
                a.parse::<IpAddr>()
                    .is_ok_and(|ip| !allow.iter().any(|cidr| cidr.contains_addr(ip)))
            });
            if outside {
                outsider = Some(c);
                break;
            }
        }
    }
    let lb_addr = s
        .inspect(&[lb.id.as_str()])?
        .into_iter()
        .flat_map(|c| c.addresses.into_values())
        .next()
        .unwrap_or_default();
    let published = l
        .instance
        .deployment
        .as_ref()
        .is_some_and(|d| d.ports.iter().any(|p| p.target == l.status_port));
    match outsider {
        Some(c) => {
            let r = get(&c, &lb_addr, "/nginx_status");
            checks.push(Check::new(
                format!("status page from {} (outside the allow-list)", c.name),
                r.clone(),
                "403",
                r == "403",
            ));
            let h = get(&c, &lb_addr, "/health");
            checks.push(Check::new(
                format!("/health from {}", c.name),
                h.clone(),
                "200 (health checks need no allow-list)",
                h == "200",
            ));
        }
        None => checks.push(Check::new(
            "status port reachable from outside the allow-list",
            format!(
                "{}; every address of the stack's networks is inside {allow_text}",
                if published {
                    "published"
                } else {
                    "not published"
                }
            ),
            "not published",
            !published,
        )),
    }
    // How the method spreads one client's requests.
    let (app, tasks) = pick_app(s)?;
    let path = app.settings.health_path.clone();
    let since = unix_now().saturating_sub(1);
    let mut w = requests(s, &lb, &path)?;
    let total = 8 * u64::from(tasks);
    let mut sent = Vec::new();
    for n in 1..=total {
        sent.push(ask(&mut w, n)?);
    }
    w.close();
    let tried = upstreams(&s.logs_since(&lb, since)?, &path);
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    for r in &sent {
        if let Some(last) = tried.get(&r.n).and_then(|a| a.last()) {
            *answered.entry(last.clone()).or_default() += 1;
        }
    }
    let failed = sent.iter().filter(|r| !r.ok()).count();
    let names = names(s, app);
    let (budget, passed) = match l.settings.method {
        LbMethod::IpHash => (
            "one task (ip-hash, one client)".to_owned(),
            answered.len() == 1,
        ),
        m => (
            format!(
                "every task ({}, {tasks} tasks)",
                format!("{m:?}").to_lowercase()
            ),
            answered.len() >= tasks as usize,
        ),
    };
    checks.push(Check::new(
        format!("{total} requests to {} through nginx", app.name),
        format!(
            "{failed} failed; {}",
            if answered.is_empty() {
                "none in the access log".to_owned()
            } else {
                spread(&answered, &names)
            }
        ),
        budget,
        passed && failed == 0,
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_up_outlasts_fail_timeout() {
        assert_eq!(warm_limit(Duration::from_secs(30)), Duration::from_secs(32));
        assert_eq!(warm_limit(Duration::from_secs(5)), WARM_LIMIT);
    }

    #[test]
    fn access_log_lines_give_every_upstream_tried() {
        let log = concat!(
            "127.0.0.1 - - [05/Dec/2026:10:00:00 +0000] \"GET /api/health?pf-drill=7 HTTP/1.1\" 200 3 \"-\" \"pf-drill\" ",
            "upstream=172.26.128.9:8000, 172.26.128.7:8000 upstream_status=502, 200 request_time=0.004 upstream_time=0.001, 0.003\n",
            "127.0.0.1 - - [05/Dec/2026:10:00:00 +0000] \"GET /api/health?pf-drill=8 HTTP/1.1\" 200 3 \"-\" \"pf-drill\" ",
            "upstream=172.26.128.7:8000 upstream_status=200 request_time=0.002 upstream_time=0.002\n",
            "172.26.0.4 - - [05/Dec/2026:10:00:01 +0000] \"GET /metrics HTTP/1.1\" 200 3 \"-\" \"Prometheus\" upstream=- upstream_status=-\n",
            "2026/12/05 10:00:00 [error] 30#30: *5 connect() failed (113: No route to host) while connecting to upstream\n",
        );
        let u = upstreams(log, "/api/health");
        assert_eq!(u.len(), 2);
        assert_eq!(u[&7], ["172.26.128.9:8000", "172.26.128.7:8000"]);
        assert_eq!(u[&8], ["172.26.128.7:8000"]);
    }

    #[test]
    fn another_path_is_not_counted() {
        let log =
            "x \"GET /health?pf-drill=3 HTTP/1.1\" 200 upstream=10.0.0.1:80 upstream_status=200\n";
        assert!(upstreams(log, "/api/health").is_empty());
        assert_eq!(upstreams(log, "/health")[&3], ["10.0.0.1:80"]);
    }
}
