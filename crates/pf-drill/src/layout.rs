//! The drill's own part of a run: its log folder and the budgets it
//! measures against, derived from the topology's settings.
//!
//! Every address, port, data folder, socket folder, secret file and bundle
//! path comes from the renderer's plan for the local target
//! (`pf_render::plan`), the same value the rendered files were written
//! from, so the drill cannot start a process anywhere else than where the
//! bundle expects it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pf_render::Plan;
use pf_render::plan::{Instance, Kind, LocalPlan};

use crate::error::DrillError;

/// The run's folders (from the plan) and the drill's budgets.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The plan's local folders: run, bundle, secrets, state, data.
    pub(crate) local: LocalPlan,
    /// One log file per process: `<run>/logs` (the drill's own).
    pub(crate) logs: PathBuf,
    /// nginx keeps a failed server out this long (`fail-timeout`).
    pub(crate) fail_timeout: Duration,
    /// `postgres.lag.warning`: the longest a row may take to reach a replica.
    pub(crate) lag_warning: Duration,
    /// `postgres.lag.critical`: the longest a promotion may take.
    pub(crate) lag_critical: Duration,
    /// `postgres.lag.warning-bytes`.
    pub(crate) lag_warning_bytes: u64,
    /// Sentinel's `down-after`.
    pub(crate) down_after: Duration,
    /// Sentinel's `down-after` + `failover-timeout`: the Redis failover budget.
    pub(crate) failover_budget: Duration,
}

fn ms(d: pf_model::units::Duration) -> Duration {
    Duration::from_millis(d.as_millis())
}

impl Layout {
    /// The drill's view of `plan`, which must be a local-target plan whose
    /// stateful instances all have their folders.
    pub(crate) fn new(plan: &Plan) -> Result<Self, DrillError> {
        let bug = |what: &str| DrillError::env(format!("the local plan has no {what} (a bug)"));
        let local = plan.local.clone().ok_or_else(|| bug("run folder"))?;
        for i in stateful(plan) {
            if i.data.is_none() {
                return Err(bug(&format!("data folder for {}", i.name)));
            }
        }
        if plan.postgres.members().any(|m| m.socket_dir.is_none()) {
            return Err(bug("PostgreSQL socket folder"));
        }
        let sentinel = &plan.redis.settings.sentinel;
        let lag = &plan.postgres.settings.lag;
        Ok(Self {
            logs: local.run_dir.join("logs"),
            local,
            fail_timeout: ms(plan.lb.settings.fail_timeout),
            lag_warning: ms(lag.warning),
            lag_critical: ms(lag.critical),
            lag_warning_bytes: lag.warning_bytes.bytes(),
            down_after: ms(sentinel.down_after),
            failover_budget: ms(sentinel.down_after) + ms(sentinel.failover_timeout),
        })
    }
}

/// Every instance that keeps data: PostgreSQL, Redis, Sentinels.
fn stateful(plan: &Plan) -> impl Iterator<Item = &Instance> {
    plan.postgres
        .members()
        .map(|m| &m.instance)
        .chain(plan.redis.nodes().map(|n| &n.instance))
        .chain(plan.redis.sentinels.iter().map(|s| &s.instance))
}

/// The data folder of a stateful instance ([`Layout::new`] checked that it has one).
pub(crate) fn data_dir(i: &Instance) -> &Path {
    i.data.as_ref().map_or(Path::new(""), |d| d.path.as_path())
}

/// An address and port the drill binds or starts a server on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listener {
    /// What listens there (`nginx status`, `postgres-2`).
    pub(crate) name: String,
    /// The kind of instance.
    pub(crate) kind: Kind,
    pub(crate) addr: IpAddr,
    pub(crate) port: u16,
}

/// Every address and port the drill will bind or start a server on.
pub(crate) fn listeners(plan: &Plan) -> Vec<Listener> {
    let mut v = Vec::new();
    let mut add = |name: &str, i: &Instance, port: u16| {
        v.push(Listener {
            name: name.to_owned(),
            kind: i.kind,
            addr: i.listen,
            port,
        });
    };
    let lb = &plan.lb;
    add("nginx", &lb.instance, lb.http_port);
    if lb.tls.is_some() {
        add("nginx", &lb.instance, lb.https_port);
    }
    add("nginx status", &lb.instance, lb.status_port);
    if let Some(read) = &lb.read {
        add("nginx read endpoint", &lb.instance, read.port);
    }
    for app in &plan.apps {
        for i in &app.instances {
            add(&i.name, i, app.port);
        }
    }
    let pg = &plan.postgres;
    for m in pg.members() {
        add(&m.instance.name, &m.instance, pg.settings.port);
    }
    let redis = &plan.redis;
    for n in redis.nodes() {
        add(&n.instance.name, &n.instance, redis.settings.port);
    }
    for s in &redis.sentinels {
        add(&s.instance.name, &s.instance, redis.settings.sentinel.port);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topologies() -> Vec<(String, pf_model::Topology)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut out = Vec::new();
        for dir in ["topologies", "examples"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                .expect("topology folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for f in files {
                let shown = f.display().to_string();
                let loaded = pf_model::load(&f).unwrap_or_else(|e| panic!("{shown}: {e}"));
                let t = loaded.validate().topology.expect("valid topology");
                out.push((shown, t));
            }
        }
        assert!(out.len() >= 3, "prod and the examples");
        out
    }

    /// Every process of every committed topology gets its own loopback
    /// address and port, with and without root, and its folders.
    #[test]
    fn every_endpoint_is_a_distinct_loopback_address() {
        for (name, t) in topologies() {
            for remap in [false, true] {
                let plan = pf_render::plan(
                    &t,
                    pf_render::Target::Local(pf_render::LocalOptions::new(
                        "/tmp/pf-drill-layout-test",
                        remap,
                    )),
                );
                let layout = Layout::new(&plan).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(layout.logs, Path::new("/tmp/pf-drill-layout-test/logs"));
                let listeners = listeners(&plan);
                let unique: std::collections::BTreeSet<_> =
                    listeners.iter().map(|l| (l.addr, l.port)).collect();
                assert_eq!(
                    unique.len(),
                    listeners.len(),
                    "{name}: an address is used twice"
                );
                assert!(listeners.iter().all(|l| l.addr.is_loopback()), "{name}");
                // Without root, nothing binds below 1024.
                assert!(
                    !remap || listeners.iter().all(|l| l.port >= 1024),
                    "{name}: {listeners:?}"
                );
            }
        }
    }

    /// A container plan has no local folders: the drill refuses it.
    #[test]
    fn a_container_plan_is_refused() {
        let (_, t) = topologies().remove(0);
        let plan = pf_render::plan(&t, pf_render::Target::Swarm);
        let e = Layout::new(&plan).expect_err("swarm has no run folder");
        assert!(e.to_string().contains("run folder"), "{e}");
    }
}
