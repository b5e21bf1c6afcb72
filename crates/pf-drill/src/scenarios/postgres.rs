//! PostgreSQL replication and the whole failover cycle: every replica
//! streams under its slot name, a row written on the primary appears on
//! each, lag stays under the alert thresholds while an application writes;
//! then the primary is killed (SIGKILL to its process group), the most
//! advanced replica is promoted by the rendered member script (`--promote
//! --old-primary-stopped`, as `failover-test.sh` does once the old primary
//! is down), and the drill measures how long until it takes writes and how
//! many acknowledged commits it lacks. Then the redeploy: the topology is
//! edited to name the promoted member primary, rendered again, and every
//! member restarted at once with the new setting (what `docker stack
//! deploy` does to services whose settings changed), the killed one too: it
//! must rejoin as a standby of the new primary. From before the kill to the
//! end, a watcher asks every member `pg_is_in_recovery()`: at no moment may
//! two accept writes.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pf_model::model::SyncMode;

use super::secs;
use crate::ctx::Ctx;
use crate::error::{Failure, finding};
use crate::pg::{PgTier, index_of, poll, sql, sql_tcp, start_member, tcp_psql};
use crate::report::Check;
use pf_render::plan::PgMember as PgNode;

/// How long the write load runs while lag is sampled.
const LOAD: Duration = Duration::from_secs(3);
/// Pause between two commits of the writer.
const PACE: Duration = Duration::from_millis(2);

/// `16/B374D848` -> a comparable number.
fn lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// An application writing rows over TCP, one commit at a time, keeping the
/// ids the server acknowledged.
struct Writer {
    child: Child,
    acked: Vec<i64>,
}

impl Writer {
    fn start(ctx: &Ctx<'_>, node: &PgNode) -> Result<Self, Failure> {
        let child = tcp_psql(ctx, node.instance.listen)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::Finding(format!("cannot start psql: {e}")))?;
        Ok(Self {
            child,
            acked: Vec::new(),
        })
    }

    /// Inserts rows until `stop` is set, the server goes away, or `limit`.
    fn run(&mut self, stop: &AtomicBool, limit: Duration) {
        let (Some(mut stdin), Some(stdout)) = (self.child.stdin.take(), self.child.stdout.take())
        else {
            return;
        };
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let end = Instant::now() + limit;
        let mut n: i64 = 0;
        while !stop.load(Ordering::SeqCst) && Instant::now() < end {
            n += 1;
            let stmt = format!("INSERT INTO drill_writes (id) VALUES ({n}) RETURNING id;\n");
            if stdin
                .write_all(stmt.as_bytes())
                .and_then(|()| stdin.flush())
                .is_err()
            {
                break;
            }
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(line) if line.trim() == n.to_string() => self.acked.push(n),
                _ => break,
            }
            // A steady load, not a benchmark: the machine runs every other
            // server of the drill too.
            std::thread::sleep(PACE);
        }
        drop(stdin);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = reader.join();
    }
}

pub(crate) fn postgres(
    ctx: &Ctx<'_>,
    pg: &mut PgTier,
    checks: &mut Vec<Check>,
) -> Result<(), Failure> {
    let p = &ctx.plan.postgres;
    let l = &ctx.layout;
    let db = p.settings.database.as_str();
    let primary = p.primary();
    let replicas = p.replicas();
    if replicas.is_empty() {
        return finding("the topology has no PostgreSQL replica");
    }
    let slots: Vec<&str> = replicas.iter().map(|r| r.slot.as_str()).collect();

    // 1. Every replica streams, named by its slot.
    let query = "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1";
    let streaming = poll(
        ctx,
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let rows = sql(ctx, primary, "postgres", query)?;
            let all = slots.iter().all(|s| {
                rows.lines()
                    .any(|l| l.starts_with(&format!("{s}|streaming|")))
            });
            Ok(all.then_some(rows))
        },
    )?;
    let all_streaming = streaming.is_some();
    let rows = match streaming {
        Some(rows) => rows,
        None => sql(ctx, primary, "postgres", query)?,
    };
    let shown: Vec<String> = rows
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            format!(
                "{} {} ({})",
                f[0],
                f.get(1).unwrap_or(&""),
                f.get(2).unwrap_or(&"")
            )
        })
        .collect();
    checks.push(Check::new(
        "replicas streaming (pg_stat_replication)",
        if shown.is_empty() {
            "none".to_owned()
        } else {
            shown.join(", ")
        },
        format!("each slot streaming: {}", slots.join(", ")),
        all_streaming,
    ));
    if !all_streaming {
        return Ok(());
    }

    // 2. A row on the primary reaches every replica.
    sql(
        ctx,
        primary,
        db,
        "CREATE TABLE drill_writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())",
    )?;
    let t_row = Instant::now();
    sql(ctx, primary, db, "INSERT INTO drill_writes (id) VALUES (0)")?;
    let mut slowest = Duration::ZERO;
    for r in &replicas {
        let seen = poll(ctx, l.lag_critical, Duration::from_millis(20), || {
            let n = sql(ctx, r, db, "SELECT count(*) FROM drill_writes WHERE id = 0")
                .unwrap_or_default();
            Ok((n == "1").then(Instant::now))
        })?;
        match seen {
            Some(t) => slowest = slowest.max(t - t_row),
            None => {
                checks.push(Check::new(
                    format!("row visible on {}", r.instance.name),
                    format!("not within {}", secs(l.lag_critical)),
                    format!("<= {} (lag warning)", secs(l.lag_warning)),
                    false,
                ));
                return Ok(());
            }
        }
    }
    checks.push(Check::new(
        format!("row visible on every replica ({})", replicas.len()),
        secs(slowest),
        format!("<= {} (lag warning)", secs(l.lag_warning)),
        slowest <= l.lag_warning,
    ));

    // From here on, a watcher asks every member whether it accepts writes.
    let done = AtomicBool::new(false);
    let (result, watch) = std::thread::scope(|s| {
        let w = s.spawn(|| Watch::run(ctx, &done));
        let result = failover(ctx, pg, checks, &replicas);
        done.store(true, Ordering::SeqCst);
        (result, w.join().unwrap_or_default())
    });
    checks.push(Check::new(
        "members accepting writes at once (pg_is_in_recovery = f)",
        match &watch.violation {
            Some(v) => format!("{} at once, {v}", watch.max_writers),
            None => format!("at most {} in {} samples", watch.max_writers, watch.samples),
        },
        "<= 1 at every sample (no second writer)",
        watch.violation.is_none() && watch.samples > 0,
    ));
    result
}

/// What the watcher saw: how many members accepted writes at once.
#[derive(Debug, Default)]
struct Watch {
    samples: u64,
    max_writers: usize,
    /// The first sample with two writers: when, and which.
    violation: Option<String>,
}

impl Watch {
    /// Asks every member `pg_is_in_recovery()` over its socket, round after
    /// round, until `done`. A member that does not answer is not a writer.
    fn run(ctx: &Ctx<'_>, done: &AtomicBool) -> Self {
        let mut w = Self::default();
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) && !ctx.cancel.is_set() {
            let writers: Vec<&str> = ctx
                .plan
                .postgres
                .members()
                .filter(|m| {
                    sql(ctx, m, "postgres", "SELECT pg_is_in_recovery()").is_ok_and(|r| r == "f")
                })
                .map(|m| m.instance.name.as_str())
                .collect();
            w.samples += 1;
            w.max_writers = w.max_writers.max(writers.len());
            if writers.len() > 1 && w.violation.is_none() {
                w.violation = Some(format!(
                    "{} at {:.1} s",
                    writers.join(" and "),
                    start.elapsed().as_secs_f64()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }
}

/// Lag under load, the crash, the promotion, the redeploy and the rejoin.
fn failover(
    ctx: &Ctx<'_>,
    pg: &mut PgTier,
    checks: &mut Vec<Check>,
    replicas: &[&PgNode],
) -> Result<(), Failure> {
    const NAME: &str = "postgres";
    let p = &ctx.plan.postgres;
    let l = &ctx.layout;
    let db = p.settings.database.as_str();
    let primary = p.primary();

    // 3. Lag under a write load, then 4. the primary crashes mid-load.
    let stop = AtomicBool::new(false);
    let writer = Mutex::new(Writer::start(ctx, primary)?);
    let lag_query = "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint, \
                     coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication";
    let outcome = std::thread::scope(|s| -> Result<_, Failure> {
        let w = s.spawn(|| {
            if let Ok(mut w) = writer.lock() {
                w.run(&stop, LOAD + Duration::from_secs(60));
            }
        });
        let result = (|| -> Result<_, Failure> {
            ctx.say(
                NAME,
                &format!("writing rows for {} while sampling lag", secs(LOAD)),
            );
            let end = Instant::now() + LOAD;
            let (mut max_bytes, mut max_secs) = (0u64, 0f64);
            let (mut samples, mut last_error) = (0, None);
            while Instant::now() < end || (samples == 0 && Instant::now() < end + LOAD * 3) {
                // A sample lost to a busy machine is skipped, not fatal.
                match sql(ctx, primary, "postgres", lag_query) {
                    Ok(row) => {
                        samples += 1;
                        let mut f = row.split('|');
                        let b = f.next().and_then(|b| b.trim().parse().ok()).unwrap_or(0);
                        let t = f.next().and_then(|s| s.trim().parse().ok()).unwrap_or(0.0);
                        max_bytes = max_bytes.max(b);
                        max_secs = max_secs.max(t);
                    }
                    Err(Failure::Finding(e)) => last_error = Some(e),
                    Err(e) => return Err(e),
                }
                ctx.cancel.sleep(Duration::from_millis(200))?;
            }
            if samples == 0 {
                return finding(format!(
                    "no lag sample could be taken: {}",
                    last_error.unwrap_or_default()
                ));
            }
            let t_kill = Instant::now();
            if let Some(proc) = pg.members[index_of(ctx, primary)].as_mut() {
                proc.kill();
            }
            ctx.say(
                NAME,
                "killed the primary (SIGKILL to its process group) under writes",
            );
            Ok((max_bytes, max_secs, t_kill))
        })();
        stop.store(true, Ordering::SeqCst);
        let _ = w.join();
        result
    })?;
    let (max_bytes, max_secs, t_kill) = outcome;
    let acked = writer.into_inner().map(|w| w.acked).unwrap_or_default();
    checks.push(Check::new(
        format!("lag bytes under load ({} commits)", acked.len()),
        bytes(max_bytes),
        format!("<= {} (lag warning-bytes)", bytes(l.lag_warning_bytes)),
        max_bytes <= l.lag_warning_bytes,
    ));
    checks.push(Check::new(
        "replay lag under load",
        format!("{max_secs:.3} s"),
        format!("<= {} (lag warning)", secs(l.lag_warning)),
        max_secs <= l.lag_warning.as_secs_f64(),
    ));

    // 5. Promote the replica that received the most WAL: with synchronous
    // replication it holds every acknowledged commit.
    let mut best: Option<(u64, &PgNode)> = None;
    for r in replicas {
        let received = sql(ctx, r, "postgres", "SELECT pg_last_wal_receive_lsn()")?;
        let l = lsn(&received).unwrap_or(0);
        if best.is_none_or(|(b, _)| l > b) {
            best = Some((l, r));
        }
    }
    let Some((_, chosen)) = best else {
        return finding("no replica answered");
    };
    ctx.say(
        NAME,
        &format!(
            "promoting {} with the rendered member script (--promote --old-primary-stopped)",
            chosen.instance.name
        ),
    );
    let t_promote = Instant::now();
    promote(ctx, chosen, &primary.instance.name)?;
    let accepted = poll(
        ctx,
        l.lag_critical + Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            Ok(sql_tcp(
                ctx,
                chosen.instance.listen,
                "INSERT INTO drill_writes (id) VALUES (-1) RETURNING id",
            )
            .ok()
            .map(|_| Instant::now()))
        },
    )?;
    let Some(t_write) = accepted else {
        checks.push(Check::new(
            format!("{} accepts writes after promotion", chosen.instance.name),
            "never",
            format!("<= {} (lag critical)", secs(l.lag_critical)),
            false,
        ));
        return Ok(());
    };
    let took = t_write - t_promote;
    checks.push(Check::new(
        format!("{} promoted, accepts writes", chosen.instance.name),
        format!(
            "{} ({} after the crash)",
            secs(took),
            secs(t_write - t_kill)
        ),
        format!("<= {} (lag critical)", secs(l.lag_critical)),
        took <= l.lag_critical,
    ));
    let recovery = sql(ctx, chosen, "postgres", "SELECT pg_is_in_recovery()")?;
    if recovery != "f" {
        return finding(format!(
            "{} still in recovery after promotion",
            chosen.instance.name
        ));
    }

    // 6. Acknowledged commits on the new primary.
    let present: BTreeSet<i64> = sql(ctx, chosen, db, "SELECT id FROM drill_writes WHERE id > 0")?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let lost = acked.iter().filter(|n| !present.contains(n)).count();
    let (budget, passed) = match p.settings.synchronous {
        SyncMode::Off => ("reported (asynchronous replication)".to_owned(), true),
        mode => (format!("0 (synchronous, {})", sync_text(mode)), lost == 0),
    };
    checks.push(Check::new(
        "acknowledged commits lost",
        format!("{lost} of {}", acked.len()),
        budget,
        passed && !acked.is_empty(),
    ));

    // 7. The redeploy: the topology names the promoted member primary.
    redeploy(ctx, pg, checks, chosen, primary)
}

/// How long the redeploy may take until every member is back in its role:
/// the old primary's crash recovery, pg_rewind and catch-up.
const REJOIN_LIMIT: Duration = Duration::from_secs(90);

/// `postgres.primary` becomes `chosen`, the local bundle is rendered again
/// from the edited topology, and every member restarts at once with the
/// new setting (Swarm updates every service whose settings changed; the
/// killed old primary's service is scaled up again). `chosen` must start
/// as the primary, `old` must rejoin it as a standby, with the rows written
/// after the promotion.
fn redeploy(
    ctx: &Ctx<'_>,
    pg: &mut PgTier,
    checks: &mut Vec<Check>,
    chosen: &PgNode,
    old: &PgNode,
) -> Result<(), Failure> {
    const NAME: &str = "postgres";
    let db = ctx.plan.postgres.settings.database.as_str();
    let checked = ctx.topology.edited(|t| t.postgres.primary = chosen.number);
    let Some(topology) = checked.topology else {
        return finding(format!(
            "postgres.primary = {} does not validate: {:?}",
            chosen.number, checked.diagnostics
        ));
    };
    let plan = pf_render::plan(&topology, ctx.plan.target.clone());
    let new_primary = plan.postgres.primary().instance.name.clone();
    if new_primary != chosen.instance.name {
        return finding(format!(
            "the plan of postgres.primary = {} names {new_primary} primary, not {} (a bug)",
            chosen.number, chosen.instance.name
        ));
    }
    let bundle = pf_render::emit(&plan)
        .map_err(|e| Failure::Finding(format!("rendering the edited topology failed: {e}")))?;
    let changed = write_changed(ctx, &bundle)?;
    ctx.say(
        NAME,
        &format!(
            "redeploy: postgres.primary = {} ({new_primary}); rendered again (changed: {}); restarting every member",
            chosen.number,
            if changed.is_empty() {
                "nothing".to_owned()
            } else {
                changed.join(", ")
            }
        ),
    );
    for p in pg.members.iter_mut().flatten() {
        p.stop(crate::proc::STOP_GRACE, Some(&ctx.cancel));
    }
    let t_restart = Instant::now();
    for m in plan.postgres.members() {
        pg.members[index_of(ctx, m)] = Some(start_member(ctx, m, &new_primary)?);
    }

    let accepted = poll(ctx, REJOIN_LIMIT, Duration::from_millis(100), || {
        Ok(sql_tcp(
            ctx,
            chosen.instance.listen,
            "INSERT INTO drill_writes (id) VALUES (-2) RETURNING id",
        )
        .ok()
        .map(|_| Instant::now()))
    })?;
    checks.push(Check::new(
        format!("redeploy: {} starts as the primary", chosen.instance.name),
        accepted.map_or_else(
            || "no write accepted".to_owned(),
            |t| format!("writes after {}", secs(t - t_restart)),
        ),
        format!("<= {} (rejoin limit)", secs(REJOIN_LIMIT)),
        accepted.is_some(),
    ));
    if accepted.is_none() {
        return Ok(());
    }

    // Every other member streams from it, the old primary included.
    let others: Vec<&PgNode> = ctx
        .plan
        .postgres
        .members()
        .filter(|m| m.instance.name != chosen.instance.name)
        .collect();
    let query = "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'";
    // An old primary that accepts writes will never rejoin: no need to
    // wait out the limit.
    let outcome = poll(ctx, REJOIN_LIMIT, Duration::from_millis(200), || {
        if sql(ctx, old, "postgres", "SELECT pg_is_in_recovery()").is_ok_and(|r| r == "f") {
            return Ok(Some(None));
        }
        let rows = sql(ctx, chosen, "postgres", query).unwrap_or_default();
        let streaming = others
            .iter()
            .all(|m| rows.lines().any(|l| l.trim() == m.slot));
        Ok(streaming.then(|| Some(Instant::now())))
    })?;
    let writing = outcome == Some(None);
    let all = outcome.flatten();
    let rows = sql(ctx, chosen, "postgres", query).unwrap_or_default();
    checks.push(Check::new(
        format!(
            "{} (the old primary) rejoins as a standby",
            old.instance.name
        ),
        match all {
            Some(t) => format!(
                "all {} streaming after {}",
                others.len(),
                secs(t - t_restart)
            ),
            None if writing => "it accepts writes".to_owned(),
            None => format!("streaming: {}", rows.lines().collect::<Vec<_>>().join(", ")),
        },
        format!(
            "every other member in pg_stat_replication of {} within {}",
            chosen.instance.name,
            secs(REJOIN_LIMIT)
        ),
        all.is_some(),
    ));
    if all.is_none() {
        return Ok(());
    }
    let recovery = sql(ctx, old, "postgres", "SELECT pg_is_in_recovery()")?;
    let seen = poll(ctx, REJOIN_LIMIT, Duration::from_millis(100), || {
        let n = sql(
            ctx,
            old,
            db,
            "SELECT count(*) FROM drill_writes WHERE id IN (-1, -2)",
        )
        .unwrap_or_default();
        Ok((n == "2").then_some(()))
    })?;
    checks.push(Check::new(
        format!(
            "{} has the new primary's writes (after the promotion and the redeploy)",
            old.instance.name
        ),
        format!(
            "in recovery: {recovery}; rows: {}",
            if seen.is_some() { "both" } else { "missing" }
        ),
        "in recovery, both rows",
        recovery == "t" && seen.is_some(),
    ));
    Ok(())
}

/// The rendered member script's `--promote --old-primary-stopped` on
/// `chosen`, where it runs: the drill killed the old primary itself, so it
/// knows it stopped, as `failover-test.sh` knows once `docker stop` returns.
fn promote(ctx: &Ctx<'_>, chosen: &PgNode, primary: &str) -> Result<(), Failure> {
    let mut cmd = ctx.command(&ctx.plan.postgres.files.member.path, true);
    cmd.args(["--promote", "--old-primary-stopped"])
        .env("PG_MEMBER", &chosen.instance.name)
        .env("PG_PRIMARY", primary);
    let (ok, out, err) = crate::proc::run(&mut cmd, Duration::from_secs(90), &ctx.cancel)?;
    if ok {
        if let Some(line) = out.lines().last() {
            ctx.say("postgres", &ctx.scrub(line));
        }
        Ok(())
    } else {
        finding(format!(
            "the member script could not promote {}: {}",
            chosen.instance.name,
            ctx.scrub(&format!("{out}{err}"))
        ))
    }
}

/// Writes the artifacts of `bundle` whose contents differ from the files
/// in the run folder's bundle; their paths.
fn write_changed(ctx: &Ctx<'_>, bundle: &pf_render::Bundle) -> Result<Vec<String>, Failure> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = &ctx.layout.local.bundle_dir;
    let mut changed = Vec::new();
    for a in bundle.artifacts() {
        let path = dir.join(&a.path);
        // The injected faults stay: the edited bundle is broken the same way.
        let contents = ctx.faults.apply(&ctx.plan, &a.path, &a.contents);
        if std::fs::read_to_string(&path).is_ok_and(|t| t == contents) {
            continue;
        }
        std::fs::write(&path, &contents)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(a.mode)))
            .map_err(|e| Failure::Finding(format!("cannot write {}: {e}", path.display())))?;
        changed.push(a.path.clone());
    }
    Ok(changed)
}

fn sync_text(mode: SyncMode) -> String {
    match mode {
        SyncMode::Off => "off".to_owned(),
        SyncMode::Any(n) => format!("any {n}"),
        SyncMode::First(n) => format!("first {n}"),
    }
}
