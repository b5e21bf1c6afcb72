//! PostgreSQL in the deployed stack, with psql inside the stack's own
//! containers: every replica streams under its slot name, a row written on
//! the primary reaches each, lag stays under the alert thresholds while a
//! writer (psql in a replica's container, connected to the primary by
//! name) commits rows; then the primary's container is killed (SIGKILL)
//! and held down, the replica that received the most WAL is promoted by the
//! bundle's own procedure (the member script's `--promote
//! --old-primary-stopped` as the postgres user, as failover-test.sh does),
//! and the drill measures how long until it takes writes and how many
//! acknowledged commits it lacks.
//!
//! The old primary is left stopped: the bundle's procedure brings it back
//! only after `postgres.primary` names the promoted member and the stack is
//! deployed again (it then rejoins as a standby). The report says so.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pf_model::model::SyncMode;
use pf_render::plan::PgMember;

use crate::docker::stack::{Orchestrator, Running, Stack};
use crate::error::{Failure, finding};
use crate::report::Check;
use crate::scenarios::secs;

/// How long the write load runs while lag is sampled.
const LOAD: Duration = Duration::from_secs(3);

/// psql as the database owner over TCP, with the password read from the
/// secret file inside the container: `$1` password file, `$2` host, `$3`
/// port, `$4` user, `$5` database, then psql's arguments (`-c SQL`, or
/// nothing to read statements from standard input).
const PSQL: &str = r#"if [ -r "$1" ]; then PGPASSWORD=$(cat "$1"); export PGPASSWORD; fi
h=$2; p=$3; u=$4; d=$5; shift 5
exec psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$h" -p "$p" -U "$u" -d "$d" "$@""#;

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

/// One statement in a member's own container, over TCP to itself.
fn sql(s: &Stack<'_>, c: &Running, db: &str, query: &str) -> Result<String, Failure> {
    let p = &s.plan.postgres;
    let pw = p.password_file.display().to_string();
    let port = p.settings.port.to_string();
    let owner = p.settings.owner.to_string();
    s.exec(
        c,
        None,
        PSQL,
        &[&pw, "127.0.0.1", &port, &owner, db, "-c", query],
        Duration::from_secs(15),
    )
    .map(|o| o.trim().to_owned())
}

/// Polls `probe` every `every` until it gives a value or `limit` passes.
fn poll<T>(
    s: &Stack<'_>,
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<Option<T>, Failure> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Ok(Some(v));
        }
        if Instant::now() >= end {
            return Ok(None);
        }
        s.sleep(every)?;
    }
}

pub(crate) fn postgres(s: &Stack<'_>, checks: &mut Vec<Check>) -> Result<(), Failure> {
    const NAME: &str = "postgres";
    let p = &s.plan.postgres;
    let b = s.budgets;
    let db = p.settings.database.to_string();
    if p.replicas().is_empty() {
        return finding("the topology has no PostgreSQL replica");
    }
    let old = p.primary();
    let primary = s.one(&old.instance)?;
    let mut replicas: Vec<(&PgMember, Running)> = Vec::new();
    for r in p.replicas() {
        replicas.push((r, s.one(&r.instance)?));
    }
    let slots: Vec<&str> = p.replicas().iter().map(|r| r.slot.as_str()).collect();

    // 1. Every replica streams, named by its slot.
    let query = "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication ORDER BY 1";
    let mut rows = String::new();
    let streaming = poll(
        s,
        Duration::from_secs(30),
        Duration::from_millis(500),
        || {
            rows = sql(s, &primary, "postgres", query).unwrap_or_else(|e| match e {
                Failure::Finding(m) => format!("error: {m}"),
                Failure::Drill(d) => format!("error: {d}"),
            });
            slots
                .iter()
                .all(|sl| {
                    rows.lines()
                        .any(|l| l.starts_with(&format!("{sl} streaming ")))
                })
                .then_some(())
        },
    )?;
    checks.push(Check::new(
        "replicas streaming (pg_stat_replication)",
        if rows.is_empty() {
            "none".to_owned()
        } else {
            rows.lines().collect::<Vec<_>>().join(", ")
        },
        format!("each slot streaming: {}", slots.join(", ")),
        streaming.is_some(),
    ));
    if streaming.is_none() {
        return Ok(());
    }

    // 2. A row on the primary reaches every replica.
    let table = format!("pf_drill_{}", crate::setup::random_hex(4)?);
    sql(
        s,
        &primary,
        &db,
        &format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
        ),
    )?;
    s.note(
        NAME,
        format!("created table {table} in {db} for the drill's rows (dropped at the end when the new primary answers)"),
    );
    let t_row = Instant::now();
    sql(
        s,
        &primary,
        &db,
        &format!("INSERT INTO {table} (id) VALUES (0)"),
    )?;
    let mut slowest = Duration::ZERO;
    for (r, c) in &replicas {
        let seen = poll(s, b.lag_critical, Duration::from_millis(50), || {
            let n = sql(
                s,
                c,
                &db,
                &format!("SELECT count(*) FROM {table} WHERE id = 0"),
            )
            .ok()?;
            (n == "1").then(Instant::now)
        })?;
        match seen {
            Some(t) => slowest = slowest.max(t - t_row),
            None => {
                checks.push(Check::new(
                    format!("row visible on {}", r.instance.name),
                    format!("not within {}", secs(b.lag_critical)),
                    format!("<= {} (lag warning)", secs(b.lag_warning)),
                    false,
                ));
                return Ok(());
            }
        }
    }
    checks.push(Check::new(
        format!(
            "row visible on every replica ({}, through docker exec)",
            replicas.len()
        ),
        secs(slowest),
        format!("<= {} (lag warning)", secs(b.lag_warning)),
        slowest <= b.lag_warning,
    ));

    // 3. Lag under a write load, then 4. the primary crashes mid-load. The
    // writer runs in a replica's container (it survives the crash) and
    // reaches the primary by its alias, like an application.
    let (_, writer_at) = &replicas[0];
    let pw = p.password_file.display().to_string();
    let port = p.settings.port.to_string();
    let owner = p.settings.owner.to_string();
    let mut writer = s.worker(
        writer_at,
        None,
        PSQL,
        &[&pw, &p.primary_host, &port, &owner, &db],
    )?;
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::<i64>::new());
    let lag_query = "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint || ' ' || \
                     coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication";
    let outcome = std::thread::scope(|scope| -> Result<_, Failure> {
        let w = scope.spawn(|| {
            let end = Instant::now() + LOAD + Duration::from_secs(60);
            let mut n: i64 = 0;
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                n += 1;
                let stmt = format!("INSERT INTO {table} (id) VALUES ({n}) RETURNING id;");
                match writer.ask(&stmt, Duration::from_secs(10)) {
                    Ok(Some(line)) if line.trim() == n.to_string() => {
                        if let Ok(mut a) = acked.lock() {
                            a.push(n);
                        }
                    }
                    _ => break,
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let result = (|| -> Result<_, Failure> {
            s.say(
                NAME,
                &format!("writing rows for {} while sampling lag", secs(LOAD)),
            );
            let end = Instant::now() + LOAD;
            let (mut max_bytes, mut max_secs, mut samples) = (0u64, 0f64, 0);
            while Instant::now() < end || (samples == 0 && Instant::now() < end + LOAD * 3) {
                if let Ok(row) = sql(s, &primary, "postgres", lag_query) {
                    samples += 1;
                    let mut f = row.split_whitespace();
                    max_bytes = max_bytes.max(f.next().and_then(|x| x.parse().ok()).unwrap_or(0));
                    max_secs = max_secs.max(f.next().and_then(|x| x.parse().ok()).unwrap_or(0.0));
                }
                s.sleep(Duration::from_millis(200))?;
            }
            if samples == 0 {
                return finding("no lag sample could be taken from the primary");
            }
            let t_kill = Instant::now();
            s.kill_and_hold(&old.instance, &primary)?;
            let held = match s.on {
                Orchestrator::Swarm => {
                    format!("service {} scaled to 0", s.service(&old.instance))
                }
                Orchestrator::Compose => format!("container {} left stopped", primary.name),
            };
            s.note(
                NAME,
                format!(
                    "killed the primary {} (SIGKILL) under writes; {held}: it comes back as a \
                     standby after postgres.primary names the new primary and the stack is \
                     deployed again (the bundle's README, PostgreSQL failover)",
                    old.instance.name
                ),
            );
            Ok((max_bytes, max_secs, t_kill))
        })();
        stop.store(true, Ordering::SeqCst);
        let _ = w.join();
        result
    })?;
    writer.close();
    let (max_bytes, max_secs, t_kill) = outcome;
    let acked = acked.into_inner().unwrap_or_default();
    checks.push(Check::new(
        format!("lag bytes under load ({} commits)", acked.len()),
        bytes(max_bytes),
        format!("<= {} (lag warning-bytes)", bytes(b.lag_warning_bytes)),
        max_bytes <= b.lag_warning_bytes,
    ));
    checks.push(Check::new(
        "replay lag under load",
        format!("{max_secs:.3} s"),
        format!("<= {} (lag warning)", secs(b.lag_warning)),
        max_secs <= b.lag_warning.as_secs_f64(),
    ));

    // 5. Promote the replica that received the most WAL, by the bundle's
    // procedure: the member script as the postgres user, told the old
    // primary is stopped (the drill killed it and holds it down).
    let mut best: Option<(u64, &PgMember, &Running)> = None;
    for (r, c) in &replicas {
        let received =
            sql(s, c, "postgres", "SELECT pg_last_wal_receive_lsn()").unwrap_or_default();
        let l = lsn(&received).unwrap_or(0);
        if best.is_none_or(|(b, _, _)| l > b) {
            best = Some((l, r, c));
        }
    }
    let Some((_, chosen, cc)) = best else {
        return finding("no replica answered");
    };
    s.say(
        NAME,
        &format!(
            "promoting {} (member script --promote --old-primary-stopped)",
            chosen.instance.name
        ),
    );
    let t_promote = Instant::now();
    let script = p.files.member.path.display().to_string();
    // The script's own pg_ctl promote waits up to 60 s; the rest bounds its
    // probes of the other members.
    s.exec(
        cc,
        Some("postgres"),
        r#"exec "$1" --promote --old-primary-stopped"#,
        &[&script],
        Duration::from_secs(120),
    )
    .map_err(|e| match e {
        Failure::Finding(m) => Failure::Finding(format!("member script --promote: {m}")),
        other => other,
    })?;
    s.note(
        NAME,
        format!(
            "{} is the primary now; the alias {} still names {} until postgres.primary = {} is \
             rendered and deployed (the bundle's failover steps)",
            chosen.instance.name, p.primary_host, old.instance.name, chosen.number
        ),
    );
    let accepted = poll(
        s,
        b.lag_critical + Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            sql(
                s,
                cc,
                &db,
                &format!("INSERT INTO {table} (id) VALUES (-1) RETURNING id"),
            )
            .ok()
            .map(|_| Instant::now())
        },
    )?;
    let Some(t_write) = accepted else {
        checks.push(Check::new(
            format!("{} accepts writes after promotion", chosen.instance.name),
            "never",
            format!("<= {} (lag critical)", secs(b.lag_critical)),
            false,
        ));
        return Ok(());
    };
    let took = t_write - t_promote;
    checks.push(Check::new(
        format!(
            "{} promoted (member script), accepts writes",
            chosen.instance.name
        ),
        format!(
            "{} ({} after the crash)",
            secs(took),
            secs(t_write - t_kill)
        ),
        format!("<= {} (lag critical)", secs(b.lag_critical)),
        took <= b.lag_critical,
    ));

    // 6. Acknowledged commits on the new primary; then the drill's table goes.
    let ids = sql(s, cc, &db, &format!("SELECT id FROM {table} WHERE id > 0"))?;
    let present: BTreeSet<i64> = ids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let _ = sql(s, cc, &db, &format!("DROP TABLE {table}"));
    let lost = acked.iter().filter(|n| !present.contains(n)).count();
    let (budget, passed) = match p.settings.synchronous {
        SyncMode::Off => ("reported (asynchronous replication)".to_owned(), true),
        mode => (format!("0 (synchronous, {mode})"), lost == 0),
    };
    checks.push(Check::new(
        "acknowledged commits lost",
        format!("{lost} of {}", acked.len()),
        budget,
        passed && !acked.is_empty(),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_compare_as_numbers() {
        assert!(lsn("16/B374D848") > lsn("16/B374D847"));
        assert!(lsn("17/0") > lsn("16/FFFFFFFF"));
        assert_eq!(lsn("garbage"), None);
    }
}
