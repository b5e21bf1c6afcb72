//! PostgreSQL: the primary set up the way the official image does on first
//! start (initdb with the owner as superuser, the rendered configuration,
//! the application database, the rendered init script), replicas started by
//! the rendered replica script, and queries over the socket or over TCP.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::layout::{self, PgNode};
use crate::proc::{self, Proc};

/// How long a server may take to accept connections after it started.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long a replica may take to clone its primary and start.
const CLONE_LIMIT: Duration = Duration::from_secs(180);
/// One query.
const QUERY_LIMIT: Duration = Duration::from_secs(20);

/// The PostgreSQL processes.
#[derive(Debug)]
pub(crate) struct PgTier {
    pub(crate) primary: Option<Proc>,
    /// In the layout's order.
    pub(crate) replicas: Vec<Option<Proc>>,
}

/// Hints for log lines that name a known configuration mistake.
fn hint(log: &str) -> &'static str {
    if log.contains("no pg_hba.conf entry for replication connection") {
        "\n  hint: pg_hba.conf must allow the replication role: a `host replication <role> <subnet> \
         scram-sha-256` line before any broader line (bundle/postgresql/primary/pg_hba.conf)"
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
pub(crate) fn sql(ctx: &Ctx<'_>, node: &PgNode, db: &str, query: &str) -> Result<String, Failure> {
    let mut cmd = ctx.command(&ctx.tools.psql, false);
    cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(&node.socket_dir)
        .args(["-p", &ctx.layout.pg.port.to_string()])
        .args(["-U", &ctx.layout.pg.owner, "-d", db, "-c", query])
        .env("PGCONNECT_TIMEOUT", "10")
        // Setup statements must not wait for a standby that does not exist yet.
        .env("PGOPTIONS", "-c synchronous_commit=local");
    let (ok, out, err) = proc::run(&mut cmd, QUERY_LIMIT, &ctx.cancel)?;
    if ok {
        Ok(out.trim().to_owned())
    } else {
        finding(format!(
            "{}: `{query}` failed: {}",
            node.node.name,
            ctx.scrub(err.trim())
        ))
    }
}

/// A one-line SQL statement over TCP to `addr`, as an application connects:
/// the owner with its password (scram-sha-256 through pg_hba.conf).
pub(crate) fn sql_tcp(ctx: &Ctx<'_>, addr: Ipv4Addr, query: &str) -> Result<String, Failure> {
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
pub(crate) fn tcp_psql(ctx: &Ctx<'_>, addr: Ipv4Addr) -> std::process::Command {
    let pg = &ctx.layout.pg;
    let mut cmd = ctx.command(&ctx.tools.psql, false);
    cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(addr.to_string())
        .args([
            "-p",
            &pg.port.to_string(),
            "-U",
            &pg.owner,
            "-d",
            &pg.database,
        ])
        .env("PGPASSFILE", &ctx.owner_passfile)
        .env("PGCONNECT_TIMEOUT", "10");
    cmd
}

impl PgTier {
    /// Sets up and starts the primary, then every replica.
    pub(crate) fn start(ctx: &Ctx<'_>) -> Result<Self, Failure> {
        let mut tier = Self {
            primary: None,
            replicas: Vec::new(),
        };
        let l = &ctx.layout;
        let pg = &l.pg;
        let primary = &pg.primary;
        ctx.say("setup", "postgres-primary: initdb");
        let mut initdb = ctx.command(ctx.tools.pg_bin.join("initdb"), true);
        initdb
            .arg("-D")
            .arg(&primary.node.data_dir)
            .args([
                "-U",
                &pg.owner,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["--no-sync", "--no-locale", "-E", "UTF8"])
            .arg(format!("--pwfile={}", pg.password_file.display()));
        let (ok, out, err) = proc::run(&mut initdb, START_LIMIT, &ctx.cancel)?;
        if !ok {
            return finding(format!(
                "postgres-primary: initdb failed: {}",
                ctx.scrub(&format!("{out}{err}"))
            ));
        }
        tier.primary = Some(start_primary(ctx)?);
        wait_ready(ctx, primary, tier.primary.as_mut(), START_LIMIT)?;

        // What the image's docker_setup_db and init scripts do.
        if pg.database != "postgres" {
            sql(
                ctx,
                primary,
                "postgres",
                &format!("CREATE DATABASE \"{}\"", pg.database),
            )?;
        }
        ctx.say(
            "setup",
            "postgres-primary: running the rendered init-replication.sh",
        );
        let mut init = ctx.command(l.bundle.join(layout::PG_INIT), true);
        init.env("PGHOST", &primary.socket_dir)
            .env("PGPORT", pg.port.to_string())
            .env("PGUSER", &pg.owner)
            .env("PGDATABASE", &pg.database);
        let (ok, out, err) = proc::run(&mut init, START_LIMIT, &ctx.cancel)?;
        if !ok {
            return finding(format!(
                "postgres-primary: the rendered init-replication.sh failed: {}",
                ctx.scrub(&format!("{out}{err}"))
            ));
        }
        if let Some(line) = out.lines().last() {
            ctx.say("setup", &format!("postgres-primary: {line}"));
        }

        for r in &pg.replicas {
            ctx.say(
                "setup",
                &format!(
                    "{}: cloning the primary with the rendered bootstrap-replica.sh",
                    r.node.name
                ),
            );
            let mut p = start_replica(ctx, r)?;
            wait_ready(ctx, r, Some(&mut p), CLONE_LIMIT)?;
            tier.replicas.push(Some(p));
        }
        Ok(tier)
    }

    /// Stops every server (fast shutdown, then SIGKILL).
    pub(crate) fn stop(&mut self, ctx: &Ctx<'_>) {
        for p in self.replicas.iter_mut().flatten() {
            p.stop(proc::STOP_GRACE, Some(&ctx.cancel));
        }
        if let Some(p) = self.primary.as_mut() {
            p.stop(proc::STOP_GRACE, Some(&ctx.cancel));
        }
    }

    /// Every process, for the leftover check.
    pub(crate) fn procs(&self) -> impl Iterator<Item = &Proc> {
        self.primary.iter().chain(self.replicas.iter().flatten())
    }
}

/// `postgres -c config_file=<primary conf>` with PGDATA, as the stack runs it.
fn start_primary(ctx: &Ctx<'_>) -> Result<Proc, Failure> {
    let l = &ctx.layout;
    let mut cmd = ctx.command(ctx.tools.pg_bin.join("postgres"), true);
    cmd.arg("-c")
        .arg(format!(
            "config_file={}",
            l.bundle.join(layout::PG_PRIMARY).display()
        ))
        .env("PGDATA", &l.pg.primary.node.data_dir);
    Ok(Proc::spawn(
        "postgres-primary",
        cmd,
        &l.logs.join("postgres-primary.log"),
        Signal::INT,
    )?)
}

/// The rendered replica script with only PG_SLOT, as the stack runs it: it
/// clones the primary on first start, then execs PostgreSQL.
pub(crate) fn start_replica(ctx: &Ctx<'_>, r: &PgNode) -> Result<Proc, Failure> {
    let l = &ctx.layout;
    let mut cmd = ctx.command(l.bundle.join(layout::PG_BOOTSTRAP), true);
    cmd.env("PG_SLOT", r.slot.as_deref().unwrap_or_default());
    Ok(Proc::spawn(
        &r.node.name,
        cmd,
        &l.logs.join(format!("{}.log", r.node.name)),
        Signal::INT,
    )?)
}

/// Waits until the server answers a query over its socket; a server that
/// exits first is a finding with the end of its log.
fn wait_ready(
    ctx: &Ctx<'_>,
    node: &PgNode,
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
                node.node.name,
                hint(&log)
            ));
        }
        let mut cmd = ctx.command(&isready, false);
        cmd.arg("-q")
            .arg("-h")
            .arg(&node.socket_dir)
            .args(["-p", &ctx.layout.pg.port.to_string(), "-t", "2"])
            .args(["-U", &ctx.layout.pg.owner, "-d", "postgres"]);
        let (ok, _, _) = proc::run(&mut cmd, Duration::from_secs(5), &ctx.cancel)?;
        if ok {
            ctx.say(
                "setup",
                &format!("{}: accepting connections", node.node.name),
            );
            return Ok(());
        }
        if Instant::now() >= end {
            let log = p.map(|p| ctx.scrub(&p.log_tail(12))).unwrap_or_default();
            return finding(format!(
                "{} did not accept connections within {limit:?}; the end of its log:\n{log}{}",
                node.node.name,
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
