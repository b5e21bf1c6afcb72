//! The drill against a deployed stack: `pf-render drill --on swarm|compose`.
//!
//! ```text
//! topology --plan + render(swarm|compose)--> expected services, configs, images
//!          --docker service inspect / compose ps--> refuse unless they match
//!          --say what will be disrupted, ask (or --yes)--> scenarios:
//!              faults through the docker CLI (kill a task's container,
//!              hold a service down by scaling it to 0, start it again),
//!              measured inside the stack's own containers (curl in nginx,
//!              redis-cli in Redis and the Sentinels, psql in PostgreSQL)
//!          --> the same Report (table, JSON) as the loopback drill
//! ```
//!
//! With `deploy`, the bundle is first deployed by its own scripts and
//! removed afterwards. Without it, the stack is left running, with what
//! the scenarios changed listed in the report's notes (the promoted
//! PostgreSQL replica, the old primary left stopped).

mod cli;
mod compare;
mod deploy;
mod diff;
mod expected;
mod inspect;
mod preview;
mod scenarios;
mod spec;
mod stack;
mod worker;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use pf_model::Topology;
use pf_render::Target;

pub use cli::Engine;
pub use diff::{Change, PlanCode, ServiceChange};
pub use preview::{DeployPlan, PlanOptions, plan_on_swarm};
pub use stack::Orchestrator;

use self::cli::Docker;
use self::stack::Stack;
use crate::cancel::Cancel;
use crate::ctx::Progress;
use crate::error::{DrillError, Failure};
use crate::report::{Report, ScenarioReport};
use crate::scenarios::Scenario;

/// How to run the drill against a deployed stack.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DockerOptions {
    /// Swarm stack or Compose project.
    pub on: Orchestrator,
    /// The stack (Swarm) or project (Compose) name; default the topology's `name`.
    pub name: Option<String>,
    /// The engine the docker CLI talks to.
    pub engine: Engine,
    /// Deploy the bundle first (with the secret files of this folder) and
    /// remove it afterwards.
    pub deploy: Option<PathBuf>,
    /// Scenarios to run; empty runs every one.
    pub scenarios: Vec<Scenario>,
    /// Set to stop the drill early.
    pub cancel: Cancel,
}

impl DockerOptions {
    /// Every scenario, against the stack named like the topology, on the
    /// default engine, without deploying.
    pub fn new(on: Orchestrator) -> Self {
        Self {
            on,
            name: None,
            engine: Engine::Default,
            deploy: None,
            scenarios: Vec::new(),
            cancel: Cancel::new(),
        }
    }
}

/// Runs the drill against the stack. `confirm` is shown what will be
/// disrupted and answers whether to go on; nothing is changed before it
/// says yes. A scenario that fails is a result in the [`Report`]; an error
/// means the drill did not run: the stack does not match the bundle, the
/// engine does not answer, no confirmation, or an interruption.
pub fn run_on(
    topology: &Topology,
    options: &DockerOptions,
    progress: &dyn Progress,
    confirm: &dyn Fn(&str) -> bool,
) -> Result<Report, DrillError> {
    let epoch = Instant::now();
    let selected: BTreeSet<Scenario> = if options.scenarios.is_empty() {
        Scenario::ALL.into_iter().collect()
    } else {
        options.scenarios.iter().copied().collect()
    };
    let target = match options.on {
        Orchestrator::Swarm => Target::Swarm,
        Orchestrator::Compose => Target::Compose,
    };
    let plan = pf_render::plan(topology, target);
    let bundle = pf_render::emit(&plan)
        .map_err(|e| DrillError::env(format!("rendering the bundle failed (a bug): {e}")))?;
    let name = options.name.clone().unwrap_or_else(|| plan.stack.clone());
    if options.deploy.is_some() && name != plan.stack {
        return Err(DrillError::env(format!(
            "--deploy deploys with the bundle's own scripts, which name the stack {}: drop --stack/--project {name}",
            plan.stack
        )));
    }
    let docker = Docker::find(&options.engine, &options.cancel)?;
    let server = docker
        .must(&["version", "--format", "{{.Server.Version}}"])
        .map_err(|e| {
            DrillError::env(format!(
                "{} does not answer: {e}",
                options.engine.describe()
            ))
        })?;
    if options.on == Orchestrator::Swarm {
        let state = docker.must(&[
            "info",
            "--format",
            "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
        ])?;
        if state.trim() != "active true" {
            return Err(DrillError::env(format!(
                "{} is not a Swarm manager ({}): the drill inspects and scales services, which only a manager can",
                options.engine.describe(),
                state.trim()
            )));
        }
    }
    let expected = expected::services(&plan, &bundle, &name).map_err(DrillError::env)?;
    let what = format!(
        "{} {name} on {} (engine {})",
        match options.on {
            Orchestrator::Swarm => "Swarm stack",
            Orchestrator::Compose => "Compose project",
        },
        options.engine.describe(),
        server.trim()
    );
    let deployed = match &options.deploy {
        Some(secrets) => {
            if !deployed_names(&docker, options.on, &name)?.is_empty() {
                return Err(DrillError::env(format!(
                    "the {what} is deployed already: drop --deploy to drill it as it is"
                )));
            }
            let text = disruption(&plan, options.on, &name, &selected, true);
            if !confirm(&text) {
                return Err(DrillError::env(
                    "not confirmed: nothing was deployed or disrupted",
                ));
            }
            let d = deploy::write_bundle(&bundle)?;
            progress.line(
                0.0,
                "setup",
                &format!("deploying the bundle of {} as {what}", topology.origin()),
            );
            Some((d, secrets.clone()))
        }
        None => {
            refuse_unless_matching(
                &docker,
                options.on,
                &name,
                &expected,
                &what,
                topology.origin(),
            )?;
            let text = disruption(&plan, options.on, &name, &selected, false);
            if !confirm(&text) {
                return Err(DrillError::env("not confirmed: nothing was disrupted"));
            }
            None
        }
    };
    let stack = Stack::new(
        docker.clone(),
        options.on,
        name.clone(),
        plan,
        progress,
        epoch,
    );
    let mut deployed = deployed;
    let mut startup_error = None;
    let mut abort = None;
    if let Some((d, secrets)) = &deployed {
        match deploy::up(&docker, &options.engine, options.on, d, secrets)
            .and_then(|()| deploy::converge(&docker, options.on, &name))
        {
            Ok(None) => stack.say("setup", "every service runs, healthy"),
            Ok(Some(pending)) => {
                startup_error = Some(format!(
                    "not every service runs healthy within {}s: {pending}",
                    deploy::CONVERGE_LIMIT.as_secs()
                ));
            }
            Err(DrillError::Environment(m)) => startup_error = Some(m),
            Err(e) => abort = Some(e),
        }
    }
    if let Some(e) = abort {
        if let Some((d, _)) = deployed.take() {
            let left = deploy::down(&docker, options.on, &name, &stack.plan, d);
            warn_left(&stack, &left);
        }
        return Err(e);
    }
    let startup_seconds = stack.now();
    let outcome = if startup_error.is_none() {
        lanes(&stack, &selected)
    } else {
        Ok(Vec::new())
    };
    let mut notes = stack.notes();
    if let Some((d, _)) = deployed {
        stack.say("teardown", &format!("removing the {what}"));
        let left = deploy::down(&docker, options.on, &name, &stack.plan, d);
        warn_left(&stack, &left);
        // What the scenarios changed went with the stack.
        notes = left.iter().map(|l| format!("left behind: {l}")).collect();
    }
    let scenarios = outcome?;
    Ok(Report {
        topology: topology.origin().to_owned(),
        run_dir: String::new(),
        kept: false,
        remapped_ports: Vec::new(),
        faults: Vec::new(),
        startup_error,
        startup_seconds,
        scenarios,
        leftover_processes: Vec::new(),
        on: Some(what),
        notes,
    })
}

fn warn_left(stack: &Stack<'_>, left: &[String]) {
    for l in left {
        stack.say(
            "teardown",
            &format!("could not remove {l}; remove it by hand"),
        );
    }
}

/// The names of the services (Swarm) or containers (Compose) deployed under `name`.
fn deployed_names(
    docker: &Docker,
    on: Orchestrator,
    name: &str,
) -> Result<Vec<String>, DrillError> {
    let out = match on {
        Orchestrator::Swarm => {
            let filter = format!("label=com.docker.stack.namespace={name}");
            docker.must(&[
                "service",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ])?
        }
        Orchestrator::Compose => {
            let filter = format!("label=com.docker.compose.project={name}");
            docker.must(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])?
        }
    };
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Compares the deployed stack with the bundle; refuses (an error listing
/// every difference) unless they match.
fn refuse_unless_matching(
    docker: &Docker,
    on: Orchestrator,
    name: &str,
    expected: &[expected::ExpectedService],
    what: &str,
    origin: &str,
) -> Result<(), DrillError> {
    let names = deployed_names(docker, on, name)?;
    if names.is_empty() {
        return Err(DrillError::env(format!(
            "nothing is deployed as the {what}: deploy the bundle with its own scripts first, or pass --deploy"
        )));
    }
    let mut unread = Vec::new();
    let differences = match on {
        Orchestrator::Swarm => {
            let mut args = vec!["service", "inspect"];
            args.extend(names.iter().map(String::as_str));
            let deployed =
                inspect::swarm_services(&docker.must(&args)?).map_err(DrillError::env)?;
            compare::swarm(expected, &deployed)
        }
        Orchestrator::Compose => {
            let ps = docker.must(&["compose", "-p", name, "ps", "-a", "--format", "json"])?;
            let deployed = inspect::compose_containers(&ps).map_err(DrillError::env)?;
            let mut args = vec!["inspect", "--type", "container"];
            args.extend(deployed.iter().map(|c| c.name.as_str()));
            let info = if deployed.is_empty() {
                Vec::new()
            } else {
                inspect::containers(&docker.must(&args)?).map_err(DrillError::env)?
            };
            let read = |p: &str| std::fs::read_to_string(p).ok();
            compare::compose(expected, &deployed, &info, &read, &mut unread)
        }
    };
    if differences.is_empty() {
        return Ok(());
    }
    Err(DrillError::env(format!(
        "refusing to drill the {what}: it does not match the {} bundle of {origin} \
         (render the bundle again from this topology and redeploy it, or point the drill at \
         the right stack):\n  - {}",
        on.name(),
        differences.join("\n  - ")
    )))
}

/// What the selected scenarios will do to the stack, for the prompt.
fn disruption(
    plan: &pf_render::Plan,
    on: Orchestrator,
    name: &str,
    selected: &BTreeSet<Scenario>,
    deploy: bool,
) -> String {
    let swarm = on == Orchestrator::Swarm;
    let svc = |i: &pf_render::plan::Instance| {
        if swarm {
            format!("{name}_{}", i.name)
        } else {
            i.container.clone()
        }
    };
    let mut lines = vec![format!(
        "The drill will disrupt the {} {name}:",
        if swarm {
            "Swarm stack"
        } else {
            "Compose project"
        }
    )];
    if deploy {
        lines.push(format!(
            "  first       deploy it with the bundle's {} and remove it afterwards (stack, volumes, secrets, node labels)",
            if swarm { "setup-swarm.sh --label-nodes --create-secrets --deploy" } else { "ha-setup.sh --compose" }
        ));
    }
    for s in selected {
        let text = match s {
            Scenario::BackendFailover => {
                let app = plan.apps.iter().max_by_key(|a| {
                    a.instances
                        .iter()
                        .map(|i| i.deployment.as_ref().map_or(1, |d| d.replicas))
                        .sum::<u32>()
                });
                format!(
                    "kill (SIGKILL) one container of {} under a stream of requests through nginx; {}",
                    app.map_or_else(|| "the busiest app".to_owned(), |a| a.name.clone()),
                    if swarm {
                        "Swarm replaces it"
                    } else {
                        "it is started again a few seconds later"
                    }
                )
            }
            Scenario::RedisFailover => format!(
                "kill (SIGKILL) the current Redis master and keep it down ({}) until the Sentinels \
                 elect a new master, then start it again; writes a key pf-drill:* (deleted after)",
                if swarm {
                    "service scaled to 0"
                } else {
                    "container left stopped"
                }
            ),
            Scenario::Postgres => format!(
                "create a table pf_drill_* in {}, kill (SIGKILL) {} under writes and LEAVE IT STOPPED ({}), \
                 promote {} with the member script (--promote --old-primary-stopped): afterwards \
                 postgres.primary must name the new primary and the stack be deployed again, and \
                 the old one rejoins as a standby (the bundle's failover steps)",
                plan.postgres.settings.database,
                svc(&plan.postgres.primary().instance),
                if swarm {
                    "service scaled to 0"
                } else {
                    "container stopped"
                },
                plan.postgres
                    .replicas()
                    .iter()
                    .map(|r| svc(&r.instance))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Scenario::LoadBalancer => {
                "requests through nginx and to its status page only (nothing is stopped)".to_owned()
            }
        };
        lines.push(format!("  {:<17} {text}", s.name()));
    }
    lines.join("\n")
}

/// The web lane (backend-failover, load-balancer) and the data lane
/// (redis-failover, postgres) at the same time, as on loopback.
fn lanes(
    stack: &Stack<'_>,
    selected: &BTreeSet<Scenario>,
) -> Result<Vec<ScenarioReport>, DrillError> {
    let lane = |which: &[Scenario]| -> Result<Vec<ScenarioReport>, DrillError> {
        let mut out = Vec::new();
        for s in which.iter().filter(|s| selected.contains(s)) {
            out.push(run_one(stack, *s)?);
        }
        Ok(out)
    };
    let (web, data) = std::thread::scope(|scope| {
        let web = scope.spawn(|| lane(&[Scenario::BackendFailover, Scenario::LoadBalancer]));
        let data = scope.spawn(|| lane(&[Scenario::RedisFailover, Scenario::Postgres]));
        let panicked = || Err(DrillError::env("a scenario thread panicked (a bug)"));
        (
            web.join().unwrap_or_else(|_| panicked()),
            data.join().unwrap_or_else(|_| panicked()),
        )
    });
    let mut reports = web?;
    reports.extend(data?);
    reports.sort_by_key(|r| {
        Scenario::ALL
            .iter()
            .position(|s| s.name() == r.name)
            .unwrap_or(usize::MAX)
    });
    Ok(reports)
}

fn run_one(stack: &Stack<'_>, scenario: Scenario) -> Result<ScenarioReport, DrillError> {
    let start = Instant::now();
    stack.say(scenario.name(), "start");
    let mut checks = Vec::new();
    let body = match scenario {
        Scenario::BackendFailover => scenarios::backend_failover(stack, &mut checks),
        Scenario::RedisFailover => scenarios::redis_failover(stack, &mut checks),
        Scenario::Postgres => scenarios::postgres(stack, &mut checks),
        Scenario::LoadBalancer => scenarios::load_balancer(stack, &mut checks),
    };
    let error = match body {
        Ok(()) => None,
        Err(Failure::Finding(m)) => Some(m),
        Err(Failure::Drill(e)) => return Err(e),
    };
    let report = ScenarioReport::new(
        scenario.name(),
        checks,
        error,
        start.elapsed().as_secs_f64(),
    );
    stack.say(
        scenario.name(),
        &format!(
            "{} in {:.1} s",
            if report.passed { "passed" } else { "FAILED" },
            report.seconds
        ),
    );
    Ok(report)
}
