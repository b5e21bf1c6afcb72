//! PostgreSQL replication and promotion: every replica streams under its
//! slot name, a row written on the primary appears on each, lag stays under
//! the alert thresholds while an application writes; then the primary is
//! killed (SIGKILL to its process group), the most advanced replica is
//! promoted, and the drill measures how long until it takes writes and how
//! many acknowledged commits it lacks.

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
use crate::pg::{PgTier, poll, sql, sql_tcp, tcp_psql};
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
    const NAME: &str = "postgres";
    let p = &ctx.plan.postgres;
    let l = &ctx.layout;
    let db = p.settings.database.as_str();
    let primary = &p.primary;
    if p.replicas.is_empty() {
        return finding("the topology has no PostgreSQL replica");
    }
    let slots: Vec<&str> = p.replicas.iter().map(|r| r.slot.as_str()).collect();

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
    for r in &p.replicas {
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
        format!("row visible on every replica ({})", p.replicas.len()),
        secs(slowest),
        format!("<= {} (lag warning)", secs(l.lag_warning)),
        slowest <= l.lag_warning,
    ));

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
            if let Some(proc) = pg.primary.as_mut() {
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
    for r in &p.replicas {
        let received = sql(ctx, r, "postgres", "SELECT pg_last_wal_receive_lsn()")?;
        let l = lsn(&received).unwrap_or(0);
        if best.is_none_or(|(b, _)| l > b) {
            best = Some((l, r));
        }
    }
    let Some((_, chosen)) = best else {
        return finding("no replica answered");
    };
    ctx.say(NAME, &format!("promoting {}", chosen.instance.name));
    let t_promote = Instant::now();
    let promoted = sql(ctx, chosen, "postgres", "SELECT pg_promote(true, 60)")?;
    if promoted != "t" {
        return finding(format!(
            "pg_promote on {} returned {promoted}",
            chosen.instance.name
        ));
    }
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
    Ok(())
}

fn sync_text(mode: SyncMode) -> String {
    match mode {
        SyncMode::Off => "off".to_owned(),
        SyncMode::Any(n) => format!("any {n}"),
        SyncMode::First(n) => format!("first {n}"),
    }
}
