//! Redis failover: with a writer running (an application that finds the
//! master through the Sentinels), the master is killed (SIGKILL to its
//! process group, a crashed host). Measured: time until every Sentinel gives
//! the same new master, how long writes were refused, whether the old
//! master rejoins as a replica of the new one, and how many acknowledged
//! writes are missing on the new master.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::secs;
use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::pg::poll;
use crate::redis::{RedisTier, connect, master_addr, start_node};
use crate::report::Check;
use crate::resp::{self, Conn, Value};

/// The set the writer adds to.
const KEY: &str = "drill:writes";

/// Sentinel's fixed INFO period (10 s). A returning old master is turned
/// into a replica only once it has reported itself as master for 8 s,
/// which Sentinel learns at one INFO and acts on at the next: up to two
/// periods, whatever the topology says.
const SENTINEL_INFO_PERIOD: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Writes {
    acked: Vec<u64>,
    /// (time, n) of every acknowledged write.
    times: Vec<Instant>,
    errors: u64,
}

/// The master's address as the Sentinels give it, like a client library.
fn discover(ctx: &Ctx<'_>) -> Option<String> {
    ctx.plan
        .redis
        .sentinels
        .iter()
        .find_map(|s| master_addr(ctx, s.instance.listen))
}

pub(crate) fn redis_failover(
    ctx: &Ctx<'_>,
    redis: &mut RedisTier,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    const NAME: &str = "redis-failover";
    let r = &ctx.plan.redis;
    let master = &r.master.instance;
    if r.replicas.is_empty() {
        return finding("the topology has no Redis replica to promote");
    }
    let old = format!("{}:{}", master.host, r.settings.port);
    match discover(ctx) {
        Some(m) if m == old => {}
        other => {
            return finding(format!(
                "the Sentinels give {other:?} as master before the drill, not {old}"
            ));
        }
    }
    let budget = ctx.layout.failover_budget;
    let stop = AtomicBool::new(false);
    let writes = Mutex::new(Writes::default());

    let outcome = std::thread::scope(|s| -> Result<_, Failure> {
        let writer = s.spawn(|| {
            let mut conn: Option<Conn> = None;
            let mut n = 0u64;
            let end = Instant::now() + budget + Duration::from_secs(90);
            while !stop.load(Ordering::SeqCst) && !ctx.cancel.is_set() && Instant::now() < end {
                if conn.is_none() {
                    conn = discover(ctx)
                        .and_then(|m| m.split_once(':').and_then(|(h, _)| h.parse().ok()))
                        .and_then(|ip| connect(ctx, ip).ok())
                        // Like a Sentinel client: only a master takes writes.
                        .and_then(|mut c| {
                            let role = c.cmd(&["ROLE"]).ok()?;
                            (role.items().first()?.text()? == "master").then_some(c)
                        });
                    if conn.is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                }
                n += 1;
                let reply = conn.as_mut().map(|c| c.cmd(&["SADD", KEY, &n.to_string()]));
                let mut w = writes.lock().unwrap_or_else(|e| e.into_inner());
                match reply {
                    Some(Ok(Value::Int(_))) => {
                        w.acked.push(n);
                        w.times.push(Instant::now());
                    }
                    _ => {
                        w.errors += 1;
                        conn = None;
                    }
                }
                drop(w);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let result = (|| -> Result<_, Failure> {
            ctx.say(NAME, "writer running (master found through the Sentinels)");
            ctx.cancel.sleep(Duration::from_secs(1))?;
            let t_kill = Instant::now();
            if let Some(p) = redis.nodes[0].as_mut() {
                p.kill();
            }
            ctx.say(NAME, &format!("killed the master {} ({old})", master.name));
            let agreed = poll(
                ctx,
                budget + Duration::from_secs(15),
                Duration::from_millis(100),
                || {
                    let seen: Vec<Option<String>> = r
                        .sentinels
                        .iter()
                        .map(|s| master_addr(ctx, s.instance.listen))
                        .collect();
                    let first = seen.first().cloned().flatten();
                    Ok(match first {
                        Some(m) if m != old && seen.iter().all(|x| x.as_deref() == Some(&m)) => {
                            Some((Instant::now(), m))
                        }
                        _ => None,
                    })
                },
            )?;
            let Some((t_agree, new)) = agreed else {
                return Ok((t_kill, None, None));
            };
            ctx.say(
                NAME,
                &format!(
                    "every Sentinel gives {new} after {}; restarting the old master",
                    secs(t_agree - t_kill)
                ),
            );
            let p = start_node(ctx, master, r.master.role)?;
            redis.nodes[0] = Some(p);
            let t_restart = Instant::now();
            let new_host = new.split_once(':').map_or("", |(h, _)| h).to_owned();
            let rejoin_limit = 2 * SENTINEL_INFO_PERIOD + Duration::from_secs(20);
            let rejoined = poll(ctx, rejoin_limit, Duration::from_millis(200), || {
                let info = connect(ctx, master.listen).and_then(|mut c| c.info("replication"));
                Ok(info.ok().and_then(|i| {
                    (resp::field(&i, "role") == Some("slave")
                        && resp::field(&i, "master_host") == Some(new_host.as_str())
                        && resp::field(&i, "master_link_status") == Some("up"))
                    .then(Instant::now)
                }))
            })?;
            ctx.cancel.sleep(Duration::from_millis(500))?;
            Ok((t_kill, Some((t_agree, new, t_restart)), rejoined))
        })();
        stop.store(true, Ordering::SeqCst);
        let _ = writer.join();
        result
    })?;

    let (t_kill, agreed, rejoined) = outcome;
    let Some((t_agree, new, t_restart)) = agreed else {
        checks.push(Check::new(
            "Sentinels agree on a new master",
            format!("not within {}", secs(budget + Duration::from_secs(15))),
            format!("<= {} (down-after + failover-timeout)", secs(budget)),
            false,
        ));
        return Ok(());
    };
    let agree = t_agree - t_kill;
    checks.push(Check::new(
        "Sentinels agree on a new master",
        format!("{} ({new})", secs(agree)),
        format!(
            "<= {} (down-after + failover-timeout; guide: 5-10 s)",
            secs(budget)
        ),
        agree <= budget,
    ));
    let w = writes.into_inner().unwrap_or_else(|e| e.into_inner());
    let before = w.times.iter().rev().find(|t| **t <= t_kill).copied();
    let after = w.times.iter().find(|t| **t > t_kill).copied();
    let gap = match (before, after) {
        (Some(b), Some(a)) => Some(a - b),
        _ => None,
    };
    checks.push(Check::new(
        "writes refused (client view)",
        gap.map_or_else(|| "writes never resumed".to_owned(), secs),
        format!("<= {}", secs(budget)),
        gap.is_some_and(|g| g <= budget),
    ));
    let rejoin_budget = 2 * SENTINEL_INFO_PERIOD + Duration::from_secs(5);
    checks.push(Check::new(
        "old master rejoins as a replica",
        rejoined.map_or_else(
            || "not rejoined".to_owned(),
            |t| format!("after {}", secs(t - t_restart)),
        ),
        format!("<= {} (2 Sentinel INFO periods + 5 s)", secs(rejoin_budget)),
        rejoined.is_some_and(|t| t - t_restart <= rejoin_budget),
    ));
    // Every acknowledged write, read back from the new master.
    let host = new.split_once(':').map_or("", |(h, _)| h);
    let present: BTreeSet<u64> = host
        .parse()
        .ok()
        .and_then(|ip| connect(ctx, ip).ok())
        .and_then(|mut c| c.cmd(&["SMEMBERS", KEY]).ok())
        .map(|v| {
            v.items()
                .iter()
                .filter_map(|i| i.text()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let lost = w.acked.iter().filter(|n| !present.contains(n)).count();
    checks.push(Check::new(
        "acknowledged writes lost",
        format!("{lost} of {} ({} refused)", w.acked.len(), w.errors),
        "reported (Redis replicates asynchronously)",
        !present.is_empty(),
    ));
    Ok(())
}
