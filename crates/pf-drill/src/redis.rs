//! Redis data nodes and Sentinels, each started through its rendered
//! entrypoint with the per-instance overrides the stack would give it.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use pf_render::plan::{Instance, RedisRole, SentinelPlan};
use rustix::process::Signal;

use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::layout;
use crate::pg::poll;
use crate::proc::{self, Proc};
use crate::resp::{self, Conn};

/// The Redis processes.
#[derive(Debug)]
pub(crate) struct RedisTier {
    /// Data nodes in the plan's order: the initial master first.
    pub(crate) nodes: Vec<Option<Proc>>,
    pub(crate) sentinels: Vec<Option<Proc>>,
}

impl RedisTier {
    /// Starts every data node and Sentinel, without waiting.
    pub(crate) fn spawn(ctx: &Ctx<'_>) -> Result<Self, Failure> {
        let r = &ctx.plan.redis;
        let mut tier = Self {
            nodes: Vec::new(),
            sentinels: Vec::new(),
        };
        for n in r.nodes() {
            tier.nodes.push(Some(start_node(ctx, &n.instance, n.role)?));
        }
        for s in &r.sentinels {
            tier.sentinels.push(Some(start_sentinel(ctx, s)?));
        }
        Ok(tier)
    }

    /// Waits until every node answers, the replicas are linked, and every
    /// Sentinel sees a healthy master with all replicas and Sentinels.
    pub(crate) fn wait_healthy(&mut self, ctx: &Ctx<'_>) -> Result<(), Failure> {
        let r = &ctx.plan.redis;
        let port = r.settings.port;
        let master = &r.master.instance;
        for (n, p) in r.nodes().zip(self.nodes.iter_mut()) {
            wait_ping(
                ctx,
                &n.instance,
                port,
                Some(&ctx.redis_password),
                p.as_mut(),
            )?;
        }
        for n in r.replicas.iter().map(|n| &n.instance) {
            let linked = poll(
                ctx,
                Duration::from_secs(30),
                Duration::from_millis(200),
                || {
                    Ok(connect(ctx, n.listen)
                        .and_then(|mut c| c.info("replication"))
                        .ok()
                        .filter(|i| resp::field(i, "master_link_status") == Some("up"))
                        .map(|_| ()))
                },
            )?;
            if linked.is_none() {
                return finding(format!(
                    "{} did not link to the master {} within 30s",
                    n.name, master.listen
                ));
            }
            ctx.say(
                "setup",
                &format!("{}: replicating from {}", n.name, master.name),
            );
        }
        for (s, p) in r.sentinels.iter().zip(self.sentinels.iter_mut()) {
            wait_ping(
                ctx,
                &s.instance,
                r.settings.sentinel.port,
                Some(&ctx.sentinel_password),
                p.as_mut(),
            )?;
        }
        // Sentinels require the password too: a client without it is
        // refused, so nothing on the network can SENTINEL SET or FAILOVER.
        for s in r.sentinels.iter().map(|s| &s.instance) {
            let reply = Conn::open(s.listen, r.settings.sentinel.port, None)
                .and_then(|mut c| c.cmd(&["SENTINEL", "MASTERS"]));
            match reply {
                Ok(resp::Value::Error(e)) if e.starts_with("NOAUTH") => {}
                other => {
                    return finding(format!(
                        "{} answers SENTINEL MASTERS without a password ({other:?}): \
                         sentinel-entrypoint.sh must set requirepass",
                        s.name
                    ));
                }
            }
        }
        ctx.say(
            "setup",
            "every Sentinel refuses clients without the password",
        );
        // Sentinels find the replicas through the master's INFO and each
        // other through hello messages every 2 s.
        let limit = ctx.layout.down_after + Duration::from_secs(20);
        let want_others = r.sentinels.len().saturating_sub(1).to_string();
        let want_replicas = r.replicas.len().to_string();
        let master_up = || {
            connect(ctx, master.listen)
                .and_then(|mut c| c.cmd(&["PING"]))
                .is_ok_and(|v| v.text() == Some("PONG"))
        };
        let mut wrong = false;
        let healthy = poll(ctx, limit, Duration::from_millis(250), || {
            let views: Vec<_> = r
                .sentinels
                .iter()
                .map(|s| sentinel_master(ctx, s.instance.listen))
                .collect();
            // A Sentinel that calls a master down while it answers us will
            // not change its mind: stop waiting.
            let down = views
                .iter()
                .flatten()
                .any(|m| resp::field(m, "flags").is_some_and(|f| f.contains("s_down")));
            if down && master_up() {
                wrong = true;
                return Ok(Some(()));
            }
            let all = views.iter().all(|m| {
                m.as_ref().is_some_and(|m| {
                    resp::field(m, "flags") == Some("master")
                        && resp::field(m, "num-slaves") == Some(&want_replicas)
                        && resp::field(m, "num-other-sentinels") == Some(&want_others)
                })
            });
            Ok(all.then_some(()))
        })?;
        if wrong {
            return finding(self.diagnose_sentinels(ctx, None));
        }
        if healthy.is_none() {
            return finding(self.diagnose_sentinels(ctx, Some(limit)));
        }
        ctx.say(
            "setup",
            &format!(
                "every Sentinel sees master {} with {} replica(s) and {} other Sentinel(s)",
                master.name, want_replicas, want_others
            ),
        );
        Ok(())
    }

    /// Why the Sentinels do not see a healthy master, as precisely as the
    /// servers tell.
    fn diagnose_sentinels(&self, ctx: &Ctx<'_>, limit: Option<Duration>) -> String {
        let r = &ctx.plan.redis;
        let master_name = &r.settings.master_name;
        let master = &r.master.instance;
        let mut msg = match limit {
            Some(limit) => format!(
                "the Sentinels did not all see a healthy master {} with {} replica(s) and {} other \
                 Sentinel(s) within {limit:?}:",
                master_name,
                r.replicas.len(),
                r.sentinels.len().saturating_sub(1)
            ),
            None => format!(
                "a Sentinel reports master {} ({}) down while it answers PING:",
                master_name, master.listen
            ),
        };
        for s in r.sentinels.iter().map(|s| &s.instance) {
            match sentinel_master(ctx, s.listen) {
                Some(m) => {
                    let f = |k| resp::field(&m, k).unwrap_or("?").to_owned();
                    msg.push_str(&format!(
                        "\n  {}: flags={} num-slaves={} num-other-sentinels={} last-ok-ping-reply={}ms",
                        s.name,
                        f("flags"),
                        f("num-slaves"),
                        f("num-other-sentinels"),
                        f("last-ok-ping-reply")
                    ));
                }
                None => msg.push_str(&format!("\n  {}: no answer", s.name)),
            }
        }
        // A wrong `sentinel auth-pass` shows as failed AUTH on the master.
        let auth_failures = connect(ctx, master.listen)
            .and_then(|mut c| c.cmd(&["ACL", "LOG"]))
            .map(|v| {
                // Repeated failures share one entry with a count.
                v.items()
                    .iter()
                    .map(resp::pairs_mixed)
                    .filter(|p| p.iter().any(|(k, v)| k == "reason" && v == "auth"))
                    .map(|p| {
                        p.iter()
                            .find(|(k, _)| k == "count")
                            .and_then(|(_, v)| v.parse::<u64>().ok())
                            .unwrap_or(1)
                    })
                    .sum::<u64>()
            })
            .unwrap_or(0);
        if auth_failures > 0 {
            msg.push_str(&format!(
                "\n  the master's ACL LOG records {auth_failures} failed AUTH: the Sentinels' \
                 `sentinel auth-pass` (set by sentinel-entrypoint.sh from its password file) does \
                 not match the data nodes' requirepass"
            ));
        }
        msg
    }

    /// Stops every process.
    pub(crate) fn stop(&mut self, ctx: &Ctx<'_>) {
        for p in self
            .sentinels
            .iter_mut()
            .chain(self.nodes.iter_mut())
            .flatten()
        {
            p.stop(proc::STOP_GRACE, Some(&ctx.cancel));
        }
    }

    /// Every process, for the leftover check.
    pub(crate) fn procs(&self) -> impl Iterator<Item = &Proc> {
        self.nodes.iter().chain(self.sentinels.iter()).flatten()
    }
}

/// A data node through redis-entrypoint.sh: the template of its role, its
/// data folder, announced host and bound address (the password file is the
/// rendered default).
pub(crate) fn start_node(ctx: &Ctx<'_>, n: &Instance, role: RedisRole) -> Result<Proc, Failure> {
    let files = &ctx.plan.redis.files;
    let template = match role {
        RedisRole::Master => &files.master_conf,
        RedisRole::Replica => &files.replica_conf,
    };
    let mut cmd = ctx.command(&files.entrypoint.path, false);
    cmd.env("REDIS_TEMPLATE", &template.path)
        .env("REDIS_DATA_DIR", layout::data_dir(n))
        .env("REDIS_ANNOUNCE_HOST", &n.host)
        .env("REDIS_BIND", n.listen.to_string());
    Ok(Proc::spawn(
        &n.name,
        cmd,
        &ctx.layout.logs.join(format!("{}.log", n.name)),
        Signal::TERM,
    )?)
}

fn start_sentinel(ctx: &Ctx<'_>, s: &SentinelPlan) -> Result<Proc, Failure> {
    let entrypoint = &ctx.plan.redis.files.sentinel_entrypoint;
    let mut cmd = ctx.command(&entrypoint.path, false);
    cmd.env("SENTINEL_TEMPLATE", &s.template.path)
        .env("SENTINEL_DATA_DIR", layout::data_dir(&s.instance))
        .env("REDIS_PASSWORD_FILE", &ctx.sentinel_password_file);
    let name = &s.instance.name;
    Ok(Proc::spawn(
        name,
        cmd,
        &ctx.layout.logs.join(format!("{name}.log")),
        Signal::TERM,
    )?)
}

/// An authenticated connection to a data node.
pub(crate) fn connect(ctx: &Ctx<'_>, addr: IpAddr) -> std::io::Result<Conn> {
    Conn::open(
        addr,
        ctx.plan.redis.settings.port,
        Some(&ctx.redis_password),
    )
}

/// `SENTINEL master <name>` of the Sentinel at `addr`.
pub(crate) fn sentinel_master(ctx: &Ctx<'_>, addr: IpAddr) -> Option<Vec<(String, String)>> {
    let r = &ctx.plan.redis.settings;
    let mut c = Conn::open(addr, r.sentinel.port, Some(&ctx.sentinel_password)).ok()?;
    let v = c.cmd(&["SENTINEL", "MASTER", &r.master_name]).ok()?;
    Some(resp::pairs(&v))
}

/// The master address the Sentinel at `addr` gives to clients.
pub(crate) fn master_addr(ctx: &Ctx<'_>, addr: IpAddr) -> Option<String> {
    let r = &ctx.plan.redis.settings;
    let mut c = Conn::open(addr, r.sentinel.port, Some(&ctx.sentinel_password)).ok()?;
    let v = c
        .cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &r.master_name])
        .ok()?;
    let items = v.items();
    Some(format!(
        "{}:{}",
        items.first()?.text()?,
        items.get(1)?.text()?
    ))
}

fn wait_ping(
    ctx: &Ctx<'_>,
    n: &Instance,
    port: u16,
    password: Option<&str>,
    mut p: Option<&mut Proc>,
) -> Result<(), Failure> {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        ctx.cancel.check()?;
        if let Some(p) = p.as_deref_mut()
            && let Some(status) = p.exited()
        {
            return finding(format!(
                "{} exited during start ({status}); the end of its log:\n{}",
                n.name,
                ctx.scrub(&p.log_tail(12))
            ));
        }
        let pong = Conn::open(n.listen, port, password)
            .and_then(|mut c| c.cmd(&["PING"]))
            .ok()
            .is_some_and(|v| v.text() == Some("PONG"));
        if pong {
            ctx.say(
                "setup",
                &format!("{}: answering on {}:{port}", n.name, n.listen),
            );
            return Ok(());
        }
        if Instant::now() >= end {
            let log = p.map(|p| ctx.scrub(&p.log_tail(12))).unwrap_or_default();
            return finding(format!(
                "{} did not answer PING on {}:{port} within 15s; the end of its log:\n{log}",
                n.name, n.listen
            ));
        }
        ctx.cancel.sleep(Duration::from_millis(100))?;
    }
}
