//! PostgreSQL: every member started by the rendered member script, as the
//! stack starts it (the primary's initialises the cluster the way the
//! official image does: initdb with the owner as superuser, the rendered
//! configuration, the application database, the rendered init script; the
//! others clone it), and queries over the socket or over TCP.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use pf_render::plan::PgMember;
use rustix::process::Signal;

use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::proc::{self, Proc};

/// How long a server may take to accept connections after it started.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long a replica may take to clone its primary and start.
const CLONE_LIMIT: Duration = Duration::from_secs(180);
/// One query.
const QUERY_LIMIT: Duration = Duration::from_secs(20);

/// The PostgreSQL processes, one per member in the plan's order.
#[derive(Debug)]
pub(crate) struct PgTier {
    pub(crate) members: Vec<Option<Proc>>,
}

/// The socket folder of a local PostgreSQL server (the layout checked
/// that every member has one).
pub(crate) fn socket_dir(m: &PgMember) -> &Path {
    m.socket_dir.as_deref().unwrap_or(Path::new(""))
}

/// Hints for log lines that name a known configuration mistake.
fn hint(log: &str) -> &'static str {
    if log.contains("no pg_hba.conf entry for replication connection") {
        "\n  hint: pg_hba.conf must allow the replication role: a `host replication <role> <subnet> \
         scram-sha-256` line before any broader line (bundle/postgresql/pg_hba.conf)"
    } else if log.contains("password authentication failed") {
        "\n  hint: a password does not match its secret file"
    } else if log.contains("replication slot") && log.contains("does not exist") {
        "\n  hint: the init script must create one slot per replica"
    } else {
        ""
    }
}

/// A one-line SQL query over the instance's socket, as the owner
/// (`local all all trust`): the unaligned, tuples-only result.
pub(crate) fn sql(
    ctx: &Ctx<'_>,
    node: &PgMember,
    db: &str,
    query: &str,
) -> Result<String, Failure> {
    let pg = &ctx.plan.postgres.settings;
    let mut cmd = ctx.command(&ctx.tools.psql, false);
    cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(socket_dir(node))
        .args(["-p", &pg.port.to_string()])
        .args(["-U", pg.owner.as_str(), "-d", db, "-c", query])
        .env("PGCONNECT_TIMEOUT", "10")
        // Setup statements must not wait for a standby that does not exist yet.
        .env("PGOPTIONS", "-c synchronous_commit=local");
    let (ok, out, err) = proc::run(&mut cmd, QUERY_LIMIT, &ctx.cancel)?;
    if ok {
        Ok(out.trim().to_owned())
    } else {
        finding(format!(
            "{}: `{query}` failed: {}",
            node.instance.name,
            ctx.scrub(err.trim())
        ))
    }
}

/// A one-line SQL statement over TCP to `addr`, as an application connects:
/// the owner with its password (scram-sha-256 through pg_hba.conf).
pub(crate) fn sql_tcp(ctx: &Ctx<'_>, addr: IpAddr, query: &str) -> Result<String, Failure> {
    let mut cmd = tcp_psql(ctx, addr);
    cmd.args(["-c", query]);
    let (ok, out, err) = proc::run(&mut cmd, QUERY_LIMIT, &ctx.cancel)?;
    if ok {
        Ok(out.trim().to_owned())
    } else {
        finding(format!(
            "{addr}: `{query}` failed: {}",
            ctx.scrub(err.trim())
        ))
    }
}

/// psql over TCP to `addr` as the owner, password from the owner's passfile.
pub(crate) fn tcp_psql(ctx: &Ctx<'_>, addr: IpAddr) -> std::process::Command {
    let pg = &ctx.plan.postgres.settings;
    let mut cmd = ctx.command(&ctx.tools.psql, false);
    cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(addr.to_string())
        .args([
            "-p",
            &pg.port.to_string(),
            "-U",
            pg.owner.as_str(),
            "-d",
            pg.database.as_str(),
        ])
        .env("PGPASSFILE", &ctx.owner_passfile)
        .env("PGCONNECT_TIMEOUT", "10");
    cmd
}

impl PgTier {
    /// Starts the member the topology names primary (its entrypoint
    /// initialises the cluster, as the image does on an empty volume), then
    /// every other member (each clones it).
    pub(crate) fn start(ctx: &Ctx<'_>) -> Result<Self, Failure> {
        let plan = &ctx.plan.postgres;
        let mut tier = Self {
            members: plan.members().map(|_| None).collect(),
        };
        let primary = plan.primary();
        ctx.say(
            "setup",
            &format!(
                "{}: the rendered member script initialises a new cluster",
                primary.instance.name
            ),
        );
        let index = index_of(ctx, primary);
        let mut p = start_member(ctx, primary, &primary.instance.name)?;
        wait_ready(ctx, primary, Some(&mut p), START_LIMIT)?;
        tier.members[index] = Some(p);
        for r in plan.replicas() {
            ctx.say(
                "setup",
                &format!(
                    "{}: the rendered member script clones {}",
                    r.instance.name, primary.instance.name
                ),
            );
            let mut p = start_member(ctx, r, &primary.instance.name)?;
            wait_ready(ctx, r, Some(&mut p), CLONE_LIMIT)?;
            tier.members[index_of(ctx, r)] = Some(p);
        }
        Ok(tier)
    }

    /// Stops every server (fast shutdown, then SIGKILL).
    pub(crate) fn stop(&mut self, ctx: &Ctx<'_>) {
        for p in self.members.iter_mut().flatten() {
            p.stop(proc::STOP_GRACE, Some(&ctx.cancel));
        }
    }

    /// Every process, for the leftover check.
    pub(crate) fn procs(&self) -> impl Iterator<Item = &Proc> {
        self.members.iter().flatten()
    }
}

/// The position of `m` among the plan's members.
pub(crate) fn index_of(ctx: &Ctx<'_>, m: &PgMember) -> usize {
    ctx.plan
        .postgres
        .members()
        .position(|x| x.instance.name == m.instance.name)
        .unwrap_or(0)
}

/// The rendered member script with only PG_MEMBER and PG_PRIMARY, as the
/// stack runs it: it decides the member's role, prepares its data folder
/// (initdb, clone, rewind, promotion) and execs PostgreSQL.
pub(crate) fn start_member(ctx: &Ctx<'_>, m: &PgMember, primary: &str) -> Result<Proc, Failure> {
    let mut cmd = ctx.command(&ctx.plan.postgres.files.member.path, true);
    cmd.env("PG_MEMBER", &m.instance.name)
        .env("PG_PRIMARY", primary);
    Ok(Proc::spawn(
        &m.instance.name,
        cmd,
        &ctx.layout.logs.join(format!("{}.log", m.instance.name)),
        Signal::INT,
    )?)
}

/// Waits until the server answers a query over its socket; a server that
/// exits first is a finding with the end of its log.
pub(crate) fn wait_ready(
    ctx: &Ctx<'_>,
    node: &PgMember,
    mut p: Option<&mut Proc>,
    limit: Duration,
) -> Result<(), Failure> {
    let end = Instant::now() + limit;
    let isready = ctx.tools.pg_bin.join("pg_isready");
    loop {
        ctx.cancel.check()?;
        if let Some(p) = p.as_deref_mut()
            && let Some(status) = p.exited()
        {
            let log = ctx.scrub(&p.log_tail(12));
            return finding(format!(
                "{} exited during start ({status}); the end of its log:\n{log}{}",
                node.instance.name,
                hint(&log)
            ));
        }
        let mut cmd = ctx.command(&isready, false);
        let pg = &ctx.plan.postgres.settings;
        cmd.arg("-q")
            .arg("-h")
            .arg(socket_dir(node))
            .args(["-p", &pg.port.to_string(), "-t", "2"])
            .args(["-U", pg.owner.as_str(), "-d", "postgres"]);
        let (ok, _, _) = proc::run(&mut cmd, Duration::from_secs(5), &ctx.cancel)?;
        if ok {
            ctx.say(
                "setup",
                &format!("{}: accepting connections", node.instance.name),
            );
            return Ok(());
        }
        if Instant::now() >= end {
            let log = p.map(|p| ctx.scrub(&p.log_tail(12))).unwrap_or_default();
            return finding(format!(
                "{} did not accept connections within {limit:?}; the end of its log:\n{log}{}",
                node.instance.name,
                hint(&log)
            ));
        }
        ctx.cancel.sleep(Duration::from_millis(200))?;
    }
}

/// Pauses until `probe` returns Some, polling every `every`, at most `limit`.
pub(crate) fn poll<T>(
    ctx: &Ctx<'_>,
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, Failure>,
) -> Result<Option<T>, Failure> {
    let end = Instant::now() + limit;
    loop {
        ctx.cancel.check()?;
        if let Some(v) = probe()? {
            return Ok(Some(v));
        }
        if Instant::now() >= end {
            return Ok(None);
        }
        ctx.cancel.sleep(every)?;
    }
}
