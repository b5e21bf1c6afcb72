//! Redis failover in the deployed stack: a writer that finds the master
//! through the Sentinels (redis-cli in a Sentinel's container, like an
//! application's Sentinel client) keeps adding to a set; the master's
//! container is killed (SIGKILL) and held down; every Sentinel is asked
//! (redis-cli in its own container) until all name the same new master;
//! the old master is started again and must come back as a replica; the
//! acknowledged writes missing on the new master are counted. The drill's
//! key is deleted at the end.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pf_render::plan::{Instance, RedisNode};

use crate::docker::stack::{Running, Stack};
use crate::docker::worker::Worker;
use crate::error::{Failure, finding};
use crate::report::Check;
use crate::scenarios::secs;

/// Sentinel's fixed INFO period (10 s): a returning old master is turned
/// into a replica within two of them (as in the local drill).
const SENTINEL_INFO_PERIOD: Duration = Duration::from_secs(10);

/// Asks the container's own Sentinel for the master's host, once per input
/// line. `$1` Sentinel port, `$2` master name, `$3` password file (used only
/// when the Sentinel demands a password).
const VIEW: &str = r#"port=$1; name=$2; pwfile=$3
while read -r _; do
  a=$(timeout 2 redis-cli --raw -p "$port" SENTINEL get-master-addr-by-name "$name" 2>&1 | head -n 1)
  case $a in
  *NOAUTH*) a=$(REDISCLI_AUTH=$(cat "$pwfile") timeout 2 redis-cli --no-auth-warning --raw -p "$port" SENTINEL get-master-addr-by-name "$name" 2>&1 | head -n 1) ;;
  esac
  echo "${a:-none}"
done"#;

/// The writer: for each input number, SADD it to the drill's key on the
/// master the Sentinels name (checked with ROLE, as a Sentinel client
/// does); prints `ok N` or `err N`. `$1` password file, `$2` Redis port,
/// `$3` key, `$4` Sentinel port, `$5` master name, then the Sentinels' hosts.
const WRITER: &str = r#"pw=$(cat "$1") || exit 1; port=$2; key=$3; sport=$4; name=$5; shift 5
m=""
while read -r n; do
  if [ -z "$m" ]; then
    for s in "$@"; do
      a=$(timeout 2 redis-cli --raw -h "$s" -p "$sport" SENTINEL get-master-addr-by-name "$name" 2>/dev/null | head -n 1)
      case $a in *NOAUTH*) a=$(REDISCLI_AUTH=$pw timeout 2 redis-cli --no-auth-warning --raw -h "$s" -p "$sport" SENTINEL get-master-addr-by-name "$name" 2>/dev/null | head -n 1) ;; esac
      [ -n "$a" ] || continue
      r=$(REDISCLI_AUTH=$pw timeout 2 redis-cli --no-auth-warning -e -h "$a" -p "$port" ROLE 2>/dev/null | head -n 1)
      if [ "$r" = master ]; then m=$a; break; fi
    done
  fi
  if [ -n "$m" ] && REDISCLI_AUTH=$pw timeout 2 redis-cli --no-auth-warning -e -h "$m" -p "$port" SADD "$key" "$n" >/dev/null 2>&1; then
    echo "ok $n"
  else
    m=""; echo "err $n"
  fi
done"#;

/// redis-cli with the password from the secret file inside the container:
/// `$1` password file, then redis-cli's arguments.
const CLI: &str = r#"REDISCLI_AUTH=$(cat "$1") || exit 1; export REDISCLI_AUTH; shift
exec timeout 5 redis-cli --no-auth-warning -e "$@""#;

#[derive(Default)]
struct Writes {
    acked: Vec<u64>,
    times: Vec<Instant>,
    errors: u64,
}

/// A host name as a Sentinel answers it, or `None` for an error text.
fn host(answer: &str) -> Option<&str> {
    let a = answer.trim();
    (!a.is_empty() && a != "none" && !a.contains(char::is_whitespace)).then_some(a)
}

/// Each local Sentinel's answer, in Sentinel order.
fn ask_all(views: &mut [(String, Worker)]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for (_, w) in views.iter_mut() {
        out.push(
            w.ask("?", Duration::from_secs(4))?
                .unwrap_or_else(|| "no answer".into()),
        );
    }
    Ok(out)
}

/// The host all answers name, when they agree on one.
fn agreed(answers: &[String]) -> Option<String> {
    let first = host(answers.first()?)?;
    answers
        .iter()
        .all(|a| host(a) == Some(first))
        .then(|| first.to_owned())
}

/// `role`, `master_host`, `master_link_status` of `INFO replication`.
fn replication(s: &Stack<'_>, c: &Running) -> Option<(String, String, String)> {
    let pw = s.plan.redis.password_file.display().to_string();
    let port = s.plan.redis.settings.port.to_string();
    let info = s
        .exec(
            c,
            None,
            CLI,
            &[&pw, "-p", &port, "INFO", "replication"],
            Duration::from_secs(8),
        )
        .ok()?;
    let get = |k: &str| {
        info.lines()
            .find_map(|l| {
                l.trim_end()
                    .strip_prefix(&format!("{k}:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    };
    Some((get("role"), get("master_host"), get("master_link_status")))
}

/// Whether a container of the instance has the Redis password secret.
fn has_password(s: &Stack<'_>, i: &Instance) -> bool {
    let secret = s.plan.redis.settings.password_secret.to_string();
    i.deployment
        .as_ref()
        .is_some_and(|d| d.secrets.contains(&secret))
}

pub(crate) fn redis_failover(s: &Stack<'_>, checks: &mut Vec<Check>) -> Result<(), Failure> {
    const NAME: &str = "redis-failover";
    let r = &s.plan.redis;
    if r.replicas.is_empty() {
        return finding("the topology has no Redis replica to promote");
    }
    let sport = r.settings.sentinel.port.to_string();
    let name = r.settings.master_name.clone();
    let pw = r.password_file.display().to_string();
    let mut views = Vec::new();
    let mut elsewhere = Vec::new();
    let mut writer_at: Option<Running> = None;
    for sp in &r.sentinels {
        match s.running(&sp.instance)?.into_iter().next() {
            Some(c) => {
                if writer_at.is_none() && has_password(s, &sp.instance) {
                    writer_at = Some(c.clone());
                }
                let w = s.worker(&c, None, VIEW, &[&sport, &name, &pw])?;
                views.push((sp.instance.name.clone(), w));
            }
            None => elsewhere.push(sp.instance.name.clone()),
        }
    }
    if views.is_empty() {
        return finding("no Sentinel runs on this engine: point the drill at a node that runs one");
    }
    let asked = if elsewhere.is_empty() {
        format!("all {} Sentinels", views.len())
    } else {
        format!(
            "{} of {} Sentinels ({} on other nodes)",
            views.len(),
            r.sentinels.len(),
            elsewhere.join(", ")
        )
    };
    let before = ask_all(&mut views)?;
    let Some(old_host) = agreed(&before) else {
        return finding(format!(
            "the Sentinels do not agree on a master before the drill: {}",
            before.join(", ")
        ));
    };
    let nodes: Vec<&RedisNode> = r.nodes().collect();
    let Some(old) = nodes.iter().find(|n| n.instance.host == old_host) else {
        return finding(format!(
            "the Sentinels name master {old_host}, which is not a Redis node of this topology"
        ));
    };
    let old_c = s.one(&old.instance)?;
    let writer_at = match writer_at {
        Some(c) => c,
        None => {
            // A data node that is not the master (it keeps running).
            let other = nodes
                .iter()
                .find(|n| n.instance.host != old_host)
                .map(|n| &n.instance);
            match other {
                Some(i) => s.one(i)?,
                None => return finding("no container with the Redis password to write from"),
            }
        }
    };
    let key = format!("pf-drill:{}", crate::setup::random_hex(6)?);
    let port = r.settings.port.to_string();
    let mut wargs: Vec<String> = vec![
        pw.clone(),
        port.clone(),
        key.clone(),
        sport.clone(),
        name.clone(),
    ];
    wargs.extend(r.sentinels.iter().map(|x| x.instance.host.clone()));
    let wargs: Vec<&str> = wargs.iter().map(String::as_str).collect();
    let mut writer = s.worker(&writer_at, None, WRITER, &wargs)?;
    let budget = s.budgets.failover;
    let stop = AtomicBool::new(false);
    let writes = Mutex::new(Writes::default());

    let outcome = std::thread::scope(|scope| -> Result<_, Failure> {
        let w = scope.spawn(|| {
            let end = Instant::now() + budget + Duration::from_secs(120);
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) && !s.docker.cancel.is_set() && Instant::now() < end
            {
                n += 1;
                let answer = writer.ask(&n.to_string(), Duration::from_secs(8));
                let mut wr = writes.lock().unwrap_or_else(|e| e.into_inner());
                match answer {
                    Ok(Some(a)) if a == format!("ok {n}") => {
                        wr.acked.push(n);
                        wr.times.push(Instant::now());
                    }
                    Ok(_) => wr.errors += 1,
                    Err(_) => break,
                }
                drop(wr);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let result = (|| -> Result<_, Failure> {
            s.say(
                NAME,
                &format!(
                    "writer running in {} (master found through the Sentinels)",
                    writer_at.name
                ),
            );
            s.sleep(Duration::from_secs(2))?;
            let t_kill = Instant::now();
            s.kill_and_hold(&old.instance, &old_c)?;
            s.say(
                NAME,
                &format!(
                    "killed the master {} ({}, SIGKILL) and hold it down",
                    old.instance.name, old_c.name
                ),
            );
            let limit = budget + Duration::from_secs(15);
            let mut last = Vec::new();
            let mut new = None;
            while t_kill.elapsed() < limit {
                last = ask_all(&mut views)?;
                if let Some(h) = agreed(&last)
                    && h != old_host
                {
                    new = Some((Instant::now(), h));
                    break;
                }
                s.sleep(Duration::from_millis(200))?;
            }
            let back = s.bring_back(&old.instance, &old_c);
            let t_restart = Instant::now();
            if let Err(Failure::Finding(e)) = &back {
                s.note(
                    NAME,
                    format!(
                        "could not start {} again: {e}; start it by hand",
                        old.instance.name
                    ),
                );
            }
            let Some((t_agree, new_host)) = new else {
                return Ok((t_kill, None, last, None));
            };
            s.say(
                NAME,
                &format!(
                    "every Sentinel asked gives {new_host} after {}; started {} again",
                    secs(t_agree - t_kill),
                    old.instance.name
                ),
            );
            let rejoin_limit = 2 * SENTINEL_INFO_PERIOD + Duration::from_secs(30);
            let mut rejoined = None;
            while t_restart.elapsed() < rejoin_limit {
                if let Ok(cs) = s.running(&old.instance)
                    && let Some(c) = cs.first()
                    && let Some((role, master, link)) = replication(s, c)
                    && role == "slave"
                    && master == new_host
                    && link == "up"
                {
                    rejoined = Some(Instant::now());
                    break;
                }
                s.sleep(Duration::from_millis(500))?;
            }
            Ok((t_kill, Some((t_agree, new_host, t_restart)), last, rejoined))
        })();
        stop.store(true, Ordering::SeqCst);
        let _ = w.join();
        result
    })?;
    writer.close();
    drop(views);
    let (t_kill, agreed_on, last, rejoined) = outcome;
    let Some((t_agree, new_host, t_restart)) = agreed_on else {
        checks.push(Check::new(
            format!("Sentinels agree on a new master ({asked})"),
            format!(
                "not within {}: {}",
                secs(budget + Duration::from_secs(15)),
                last.join(", ")
            ),
            format!("<= {} (down-after + failover-timeout)", secs(budget)),
            false,
        ));
        return Ok(());
    };
    let agree = t_agree - t_kill;
    checks.push(Check::new(
        format!("Sentinels agree on a new master ({asked})"),
        format!("{} ({new_host})", secs(agree)),
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
        format!("old master {} rejoins as a replica", old.instance.name),
        rejoined.map_or_else(
            || "not rejoined".to_owned(),
            |t| format!("after {}", secs(t - t_restart)),
        ),
        format!("<= {} (2 Sentinel INFO periods + 5 s)", secs(rejoin_budget)),
        rejoined.is_some_and(|t| t - t_restart <= rejoin_budget),
    ));
    // Every acknowledged write, read back from the new master (through
    // the writer's container, which reaches it by name), then the key goes.
    let members = s.exec(
        &writer_at,
        None,
        CLI,
        &[&pw, "-h", &new_host, "-p", &port, "--raw", "SMEMBERS", &key],
        Duration::from_secs(10),
    );
    let _ = s.exec(
        &writer_at,
        None,
        CLI,
        &[&pw, "-h", &new_host, "-p", &port, "DEL", &key],
        Duration::from_secs(10),
    );
    let present: BTreeSet<u64> = members
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let lost = w.acked.iter().filter(|n| !present.contains(n)).count();
    checks.push(Check::new(
        "acknowledged writes lost",
        format!("{lost} of {} ({} refused)", w.acked.len(), w.errors),
        "reported (Redis replicates asynchronously)",
        !present.is_empty(),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_agree_only_on_one_valid_host() {
        let a = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            agreed(&a(&["redis-replica", "redis-replica"])).as_deref(),
            Some("redis-replica")
        );
        assert_eq!(agreed(&a(&["redis-replica", "redis-master"])), None);
        assert_eq!(agreed(&a(&["none", "none"])), None);
        assert_eq!(
            agreed(&a(&[
                "Could not connect to Redis at 127.0.0.1:26379: Connection refused"
            ])),
            None
        );
        assert_eq!(agreed(&[]), None);
    }
}
