//! The failover drill: proves the HA behaviour of a rendered bundle on real
//! servers, on one machine, without containers.
//!
//! ```text
//! topology --render(local)--> run folder: bundle/, secrets/, data/, run/, logs/
//!          --start--> stand-in backends, nginx, PostgreSQL primary + replicas,
//!                     Redis master + replicas, Sentinels (each on its own
//!                     loopback address, with its production port)
//!          --scenarios--> measured checks against the topology's budgets
//!          --stop everything, remove the run folder--> Report
//! ```
//!
//! Every process is started from the rendered files (configs, init script,
//! replica script, entrypoints) with only what the stack file would pass
//! it. Every wait is bounded; only loopback addresses are used; secret
//! values are random, never printed, and scrubbed from every message.
//! Scenarios on different tiers run at the same time (the web tier's
//! backend-failover and load-balancer, the data tier's redis-failover and
//! postgres), so a drill takes about as long as its longest tier.

mod backend;
mod blackhole;
mod budgets;
mod cancel;
mod ctx;
mod docker;
mod error;
mod http;
mod layout;
mod pg;
mod proc;
mod redis;
mod report;
mod resp;
mod scenarios;
mod setup;
mod tools;
mod web;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Instant;

use pf_model::Topology;
use pf_render::plan::Kind;
use pf_render::{LocalOptions, Plan, Target};

pub use cancel::Cancel;
pub use ctx::Progress;
pub use docker::{
    Change, DeployPlan, DockerOptions, Engine, Orchestrator, PlanCode, PlanOptions, ServiceChange,
    plan_on_swarm, run_on,
};
pub use error::DrillError;
pub use report::{Check, Report, ScenarioReport};
pub use scenarios::Scenario;
pub use setup::FAULT_VARIABLE;

use crate::ctx::Ctx;
use crate::error::Failure;
use crate::layout::{Layout, Listener};
use crate::pg::PgTier;
use crate::proc::Proc;
use crate::redis::RedisTier;
use crate::setup::{Faults, Users};
use crate::tools::Tools;
use crate::web::WebTier;

/// How to run a drill.
#[derive(Debug, Clone, Default)]
// Options are added without a major version: start from `Options::default()`.
#[non_exhaustive]
pub struct Options {
    /// Scenarios to run; empty runs every one.
    pub scenarios: Vec<Scenario>,
    /// Leave the run folder (bundle, logs, data) for inspection.
    pub keep: bool,
    /// The run folder; must not exist or be empty. Default: a new folder
    /// `pf-drill-<random>` in the temp folder.
    pub run_dir: Option<PathBuf>,
    /// Set to stop the drill early (see [`Cancel::on_signals`]).
    pub cancel: Cancel,
}

/// Runs the drill on `topology`. A scenario that fails is a result in the
/// [`Report`], not an error; an error means the drill could not run (or
/// was interrupted) and has stopped everything it started.
pub fn run(
    topology: &Topology,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, DrillError> {
    let epoch = Instant::now();
    let selected: BTreeSet<Scenario> = if options.scenarios.is_empty() {
        Scenario::ALL.into_iter().collect()
    } else {
        options.scenarios.iter().copied().collect()
    };
    let need_web =
        selected.contains(&Scenario::BackendFailover) || selected.contains(&Scenario::LoadBalancer);
    let need_redis = selected.contains(&Scenario::RedisFailover);
    let need_pg = selected.contains(&Scenario::Postgres);
    let faults = Faults::from_env()?;
    let users = Users::detect()?;
    let needs_stream = need_web && topology.spec().postgres.read_endpoint.is_some();
    let tools = Tools::find(needs_stream)?;

    let run_dir = RunDir::create(options.run_dir.as_deref(), options.keep)?;
    // The renderer decides every address, port and folder; the drill starts
    // each process where the plan puts it.
    let plan = pf_render::plan(
        topology,
        Target::Local(LocalOptions::new(run_dir.path.clone(), !users.root)),
    );
    let layout = Layout::new(&plan)?;
    preflight(&plan, need_web, need_redis, need_pg)?;
    let prepared = setup::prepare(&plan, &layout, &users, &tools, faults, &options.cancel)?;
    let mut ctx = Ctx::new(
        topology.clone(),
        plan,
        layout,
        tools,
        users,
        options.cancel.clone(),
        progress,
        epoch,
        prepared.secrets,
        prepared.sentinel_password_file,
    );
    ctx.faults = faults;
    ctx.read_passwords()?;
    ctx.say(
        "setup",
        &format!(
            "run folder {}; local bundle of {} rendered ({} files)",
            ctx.layout.local.run_dir.display(),
            topology.origin(),
            prepared.bundle.artifacts().len()
        ),
    );
    if !ctx.layout.local.remapped_ports.is_empty() {
        let moved: Vec<String> = ctx
            .layout
            .local
            .remapped_ports
            .iter()
            .map(|p| format!("{} -> {}", p.production, p.local))
            .collect();
        ctx.say(
            "setup",
            &format!(
                "not root: ports below 1024 moved up by 10000 ({})",
                moved.join(", ")
            ),
        );
    }
    for f in faults.describe() {
        ctx.say("setup", &format!("FAULT INJECTED: {f}"));
    }

    let mut tiers = Tiers::default();
    let outcome = execute(&ctx, &selected, (need_web, need_redis, need_pg), &mut tiers);
    ctx.say("teardown", "stopping every process");
    tiers.stop(&ctx);
    let groups = tiers.groups();
    drop(tiers);
    let leftovers = kill_strays(&groups, &ctx.layout.local.run_dir);
    let (startup_error, startup_seconds, scenarios) = outcome?;
    let kept = options.keep;
    let report = Report {
        topology: topology.origin().to_owned(),
        run_dir: ctx.layout.local.run_dir.display().to_string(),
        kept,
        remapped_ports: ctx
            .layout
            .local
            .remapped_ports
            .iter()
            .map(|p| (p.production, p.local))
            .collect(),
        faults: faults.describe().iter().map(|s| (*s).to_owned()).collect(),
        startup_error,
        startup_seconds,
        scenarios,
        leftover_processes: leftovers,
        on: None,
        notes: Vec::new(),
    };
    run_dir.finish()?;
    if kept {
        ctx.say(
            "teardown",
            &format!("kept {}", ctx.layout.local.run_dir.display()),
        );
    } else {
        ctx.say(
            "teardown",
            &format!("removed {}", ctx.layout.local.run_dir.display()),
        );
    }
    Ok(report)
}

/// (startup error, seconds until healthy, scenario reports).
type Outcome = (Option<String>, f64, Vec<ScenarioReport>);

/// The started tiers, stopped by [`Tiers::stop`] whatever happened.
#[derive(Default)]
struct Tiers {
    web: Option<WebTier>,
    redis: Option<RedisTier>,
    pg: Option<PgTier>,
}

impl Tiers {
    fn stop(&mut self, ctx: &Ctx<'_>) {
        if let Some(w) = self.web.as_mut() {
            w.stop(ctx);
        }
        if let Some(r) = self.redis.as_mut() {
            r.stop(ctx);
        }
        if let Some(p) = self.pg.as_mut() {
            p.stop(ctx);
        }
    }

    /// The process groups the drill created (each server leads its own).
    fn groups(&self) -> Vec<i32> {
        self.web
            .iter()
            .flat_map(|w| w.nginx.iter())
            .chain(self.redis.iter().flat_map(RedisTier::procs))
            .chain(self.pg.iter().flat_map(PgTier::procs))
            .map(Proc::pid)
            .collect()
    }
}

fn execute(
    ctx: &Ctx<'_>,
    selected: &BTreeSet<Scenario>,
    (need_web, need_redis, need_pg): (bool, bool, bool),
    tiers: &mut Tiers,
) -> Result<Outcome, DrillError> {
    // Redis first: the Sentinels find each other while PostgreSQL clones.
    let started = (|| -> Result<(), Failure> {
        if need_redis {
            tiers.redis = Some(RedisTier::spawn(ctx)?);
        }
        if need_pg {
            tiers.pg = Some(PgTier::start(ctx)?);
        }
        if need_web {
            tiers.web = Some(WebTier::start(ctx)?);
        }
        if let Some(r) = tiers.redis.as_mut() {
            r.wait_healthy(ctx)?;
        }
        Ok(())
    })();
    let startup_seconds = ctx.now();
    match started {
        Ok(()) => ctx.say("setup", "every process is healthy"),
        Err(Failure::Drill(e)) => return Err(e),
        Err(Failure::Finding(msg)) => {
            let msg = ctx.scrub(&msg);
            ctx.say("setup", &format!("FAILED: {msg}"));
            return Ok((Some(msg), startup_seconds, Vec::new()));
        }
    }

    let Tiers { web, redis, pg } = tiers;
    let (web_reports, data_reports) = std::thread::scope(|s| {
        let web_lane = s.spawn(|| -> Result<Vec<ScenarioReport>, DrillError> {
            let mut out = Vec::new();
            let Some(web) = web.as_mut() else {
                return Ok(out);
            };
            if selected.contains(&Scenario::BackendFailover) {
                out.push(scenarios::run(ctx, Scenario::BackendFailover, |c| {
                    scenarios::backend_failover(ctx, web, c)
                })?);
            }
            if selected.contains(&Scenario::LoadBalancer) {
                out.push(scenarios::run(ctx, Scenario::LoadBalancer, |c| {
                    scenarios::load_balancer(ctx, web, c)
                })?);
            }
            Ok(out)
        });
        let data_lane = s.spawn(|| -> Result<Vec<ScenarioReport>, DrillError> {
            let mut out = Vec::new();
            if let Some(redis) = redis.as_mut()
                && selected.contains(&Scenario::RedisFailover)
            {
                out.push(scenarios::run(ctx, Scenario::RedisFailover, |c| {
                    scenarios::redis_failover(ctx, redis, c)
                })?);
            }
            if let Some(pg) = pg.as_mut()
                && selected.contains(&Scenario::Postgres)
            {
                out.push(scenarios::run(ctx, Scenario::Postgres, |c| {
                    scenarios::postgres(ctx, pg, c)
                })?);
            }
            Ok(out)
        });
        let panicked = || Err(DrillError::env("a scenario thread panicked (a bug)"));
        (
            web_lane.join().unwrap_or_else(|_| panicked()),
            data_lane.join().unwrap_or_else(|_| panicked()),
        )
    });
    let mut reports = web_reports?;
    reports.extend(data_reports?);
    reports.sort_by_key(|r| {
        Scenario::ALL
            .iter()
            .position(|s| s.name() == r.name)
            .unwrap_or(usize::MAX)
    });
    Ok((None, startup_seconds, reports))
}

/// Every address the selected tiers use must be free: another drill, or a
/// system service bound to all addresses, would make the results wrong.
fn preflight(plan: &Plan, web: bool, redis: bool, pg: bool) -> Result<(), DrillError> {
    for Listener {
        name,
        kind,
        addr,
        port,
    } in layout::listeners(plan)
    {
        let needed = match kind {
            Kind::Postgres => pg,
            Kind::Redis | Kind::Sentinel => redis,
            _ => web,
        };
        if !needed {
            continue;
        }
        let sa = SocketAddr::from((addr, port));
        if let Err(e) = TcpListener::bind(sa) {
            return Err(DrillError::env(format!(
                "{name} needs {sa}, which is not free ({e}): is another drill running, or a \
                 server listening on all addresses on port {port}?"
            )));
        }
    }
    Ok(())
}

/// Processes left after everything was stopped: members of a process
/// group the drill created, or processes working in the run folder (a
/// server that left its group). They can only be the drill's own: killed,
/// and reported.
fn kill_strays(groups: &[i32], run: &Path) -> Vec<String> {
    let all = proc::processes();
    let mine = proc::ancestry(&all);
    let mut found = Vec::new();
    for p in all {
        if p.zombie || mine.contains(&p.pid) {
            continue;
        }
        if groups.contains(&p.pgid) || p.cwd.starts_with(run) {
            if let Some(pid) = rustix::process::Pid::from_raw(p.pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            found.push(format!("pid {}: {}", p.pid, p.cmdline));
        }
    }
    found
}

/// Where run folders go by default: /dev/shm when it is a memory file
/// system that allows executables, else the temp folder. PostgreSQL fsyncs
/// every file of a base backup and again when the clone first starts; on a
/// slow disk that is most of a drill's start-up, and the drill measures
/// failover, not the disk.
fn default_parent() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let usable = mounts.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3
            && f[1] == "/dev/shm"
            && f[2] == "tmpfs"
            && !f[3].split(',').any(|o| o == "noexec")
    });
    if usable && shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// The run folder, removed when the drill ends unless kept.
struct RunDir {
    path: PathBuf,
    keep: bool,
    done: bool,
}

impl RunDir {
    fn create(given: Option<&Path>, keep: bool) -> Result<Self, DrillError> {
        let path = match given {
            Some(p) => {
                let abs = std::path::absolute(p)
                    .map_err(|e| DrillError::io(format!("bad run folder {}", p.display()), &e))?;
                if abs.exists() && std::fs::read_dir(&abs).map_or(true, |mut d| d.next().is_some())
                {
                    return Err(DrillError::env(format!(
                        "the run folder {} exists and is not empty",
                        abs.display()
                    )));
                }
                abs
            }
            None => default_parent().join(format!("pf-drill-{}", setup::random_hex(4)?)),
        };
        std::fs::create_dir_all(&path)
            .map_err(|e| DrillError::io(format!("cannot create {}", path.display()), &e))?;
        // PostgreSQL's socket paths must fit in 107 bytes.
        if path.display().to_string().len() > 60 {
            let _ = std::fs::remove_dir_all(&path);
            return Err(DrillError::env(format!(
                "the run folder {} is too long: socket paths inside it must stay under 108 bytes; \
                 use a folder of at most 60 characters",
                path.display()
            )));
        }
        Ok(Self {
            path,
            keep,
            done: false,
        })
    }

    fn finish(mut self) -> Result<(), DrillError> {
        self.done = true;
        if self.keep {
            return Ok(());
        }
        std::fs::remove_dir_all(&self.path)
            .map_err(|e| DrillError::io(format!("cannot remove {}", self.path.display()), &e))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.done && !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
