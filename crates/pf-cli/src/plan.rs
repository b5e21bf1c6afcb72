//! `pf-render plan FILE`: what the topology means on a real Swarm, before
//! anything is deployed. Without options it reads the deployed stack,
//! read-only, and says what a deploy of the bundle would do to each
//! service, with HA verdicts; `--failure-domains` prints the static proof
//! that the placement survives the loss of any one node.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::exit::Outcome;
use crate::load::valid_topology;
use crate::output::{Stream, emit, error, human, quiet};
use pf_diag::{Diagnostic, Location};

/// Exit codes and notes of `plan`.
pub(crate) const HELP: &str = "\
Without --failure-domains: renders the Swarm bundle in memory, reads the stack deployed on the engine
(--context / -H, else DOCKER_HOST or the current context) with `docker service ls/inspect`,
`docker secret ls`, `docker config ls` and `docker node ls/inspect` (nothing is changed), and prints
per service, in the order the bundle's setup-swarm.sh --deploy applies them: created, restarted
(tasks replaced), updated in place, unchanged, or not managed (in the stack, not in the topology),
with the reasons, then the HA verdicts (docs/plan.md; `pf-render explain CODE`).

--failure-domains: for each node of `capacity.nodes`, what its loss leaves of every group (a
Sentinel majority, a PostgreSQL standby to promote, a Redis replica, a task of every app tier, a
load balancer). Stateful members land where `setup-swarm.sh --label-nodes` puts their labels
(round-robin in stack order); where placement leaves Swarm free, the worst case is assumed.

Exit status:
  0  no change, or only changes without verdicts at the --deny level; --failure-domains: nothing breaks
  1  findings: a verdict at the --deny level (default: error), any change with --deny change,
     a node's loss breaks a group (--failure-domains), or the topology has errors
  2  usage, I/O or docker error (the engine does not answer, not a Swarm manager)";

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The topology file.
    file: PathBuf,
    /// Print what the loss of each node leaves, instead of comparing with a deployed stack.
    #[arg(long)]
    failure_domains: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The docker context of a manager of the Swarm.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["host", "failure_domains"])]
    context: Option<String>,
    /// The docker host of a manager of the Swarm (unix://, ssh://, tcp://).
    #[arg(
        short = 'H',
        long,
        value_name = "HOST",
        conflicts_with = "failure_domains"
    )]
    host: Option<String>,
    /// The stack name it was deployed as [default: the topology's name].
    #[arg(long, value_name = "NAME", conflicts_with = "failure_domains")]
    stack: Option<String>,
    /// Plan `docker stack deploy --prune`: services not in the topology are removed.
    #[arg(long, conflicts_with = "failure_domains")]
    prune: bool,
    /// What makes the exit status 1: a verdict that is an error, any verdict, or any change.
    #[arg(long, value_enum, default_value_t = Deny::Error, conflicts_with = "failure_domains")]
    deny: Deny,
}

/// The level that fails the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Deny {
    /// An error verdict (a missing secret, a missing node label, ...).
    Error,
    /// Any verdict.
    Warning,
    /// Any change to a service.
    Change,
}

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people.
    Human,
    /// Pretty-printed JSON.
    Json,
}

pub(crate) fn run(args: &Args) -> Outcome {
    if !args.failure_domains {
        return live(args);
    }
    let topology = match valid_topology(&args.file, false, "no plan: fix the topology first") {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let fd = pf_render::failure_domains(&topology);
    let outcome = if fd.survives_any_node() {
        Outcome::Ok
    } else {
        Outcome::Findings
    };
    let text = match args.format {
        Format::Human => pf_render::failure::table(&fd),
        Format::Json => match serde_json::to_string_pretty(&fd) {
            Ok(t) => t + "\n",
            Err(e) => {
                error(&format!(
                    "error: the failure domains do not serialize (a bug in pf-render; please report it): {e}"
                ));
                return Outcome::Failure;
            }
        },
    };
    emit(&text, outcome)
}

/// Compares with the deployed stack.
fn live(args: &Args) -> Outcome {
    let topology = match valid_topology(&args.file, false, "no plan: fix the topology first") {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let mut options = pf_drill::PlanOptions::default();
    options.name.clone_from(&args.stack);
    options.prune = args.prune;
    options.engine = match (&args.context, &args.host) {
        (Some(c), _) => pf_drill::Engine::Context(c.clone()),
        (None, Some(h)) => pf_drill::Engine::Host(h.clone()),
        (None, None) => pf_drill::Engine::Default,
    };
    let deploy = match pf_drill::plan_on_swarm(&topology, &options) {
        Ok(p) => p,
        Err(e) => {
            error(&format!("error: {e}"));
            return Outcome::Failure;
        }
    };
    let at = || Location {
        file: topology.origin().to_owned(),
        line: 1,
        column: 1,
        width: 1,
        source_line: String::new(),
    };
    let diagnostics: Vec<Diagnostic> = deploy
        .findings
        .iter()
        .cloned()
        .map(|f| f.at(at()))
        .collect();
    let changed = !deploy.unchanged();
    let denied = match args.deny {
        Deny::Error => diagnostics.iter().any(Diagnostic::is_error),
        Deny::Warning => !diagnostics.is_empty(),
        Deny::Change => changed || !diagnostics.is_empty(),
    };
    let outcome = if denied {
        Outcome::Findings
    } else {
        Outcome::Ok
    };
    let text = match args.format {
        Format::Json => pf_diag::json_report("plan", &diagnostics, &deploy),
        Format::Human => human_plan(&deploy, &diagnostics),
    };
    emit(&text, outcome)
}

/// The plan for people: one line per service, then the verdicts.
fn human_plan(deploy: &pf_drill::DeployPlan, diagnostics: &[Diagnostic]) -> String {
    let mut t = format!("deploy of stack {} on {}:\n", deploy.stack, deploy.engine);
    let width = deploy
        .services
        .iter()
        .map(|s| s.service.len())
        .max()
        .unwrap_or(0);
    for s in &deploy.services {
        let step = if s.step > 0 {
            format!("step {}", s.step)
        } else {
            "      ".to_owned()
        };
        t.push_str(&format!(
            "  {step}  {:<width$}  {}",
            s.service,
            s.change.label()
        ));
        if !s.reasons.is_empty() {
            t.push_str(&format!(": {}", s.reasons.join("; ")));
        }
        t.push('\n');
    }
    if !deploy.new_configs.is_empty() {
        t.push_str(&format!("new configs: {}\n", deploy.new_configs.join(", ")));
    }
    for d in diagnostics {
        t.push('\n');
        t.push_str(&human(d, Stream::Stdout));
        t.push('\n');
    }
    if !quiet() {
        let count = |c: pf_drill::Change| deploy.services.iter().filter(|s| s.change == c).count();
        t.push_str(&format!(
            "\n{} restarted, {} updated in place, {} created, {} removed, {} unchanged, {} not managed; {} verdict(s)\n",
            count(pf_drill::Change::Restarted),
            count(pf_drill::Change::UpdatedInPlace),
            count(pf_drill::Change::Created),
            count(pf_drill::Change::Removed),
            count(pf_drill::Change::Unchanged),
            count(pf_drill::Change::NotManaged),
            diagnostics.len()
        ));
    }
    t
}
