//! `pf-render inspect FILE --target T`: the resolved plan as JSON, as
//! `docker compose config` prints the resolved model. Every name, address,
//! port, path, network, deployment and lint waiver the renderer would use,
//! for review and for other tools. Secrets appear only as names and file
//! paths (the topology holds no value).

use std::path::PathBuf;

use clap::ValueEnum;
use pf_render::Target;

use crate::exit::Outcome;
use crate::load::valid_topology;
use crate::output::error;

/// Exit codes of `inspect`.
pub(crate) const HELP: &str = "\
The local target is shown with the drill's defaults for a normal user: run folder /tmp/pf-local,
ports below 1024 moved up by 10000.

Exit status:
  0  the plan is printed (warnings are printed to stderr)
  1  the topology has errors (nothing printed on stdout)
  2  usage or I/O error";

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The topology file.
    file: PathBuf,
    /// The target to plan for.
    #[arg(long, value_enum)]
    target: TargetArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// A target on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    /// Docker Swarm (docker-stack.yml).
    Swarm,
    /// Docker Compose on one host (docker-compose.ha.yml).
    Compose,
    /// Plain processes on loopback addresses (what `drill` runs).
    Local,
}

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Pretty-printed JSON.
    Json,
}

pub(crate) fn run(args: &Args) -> Outcome {
    let topology = match valid_topology(&args.file, false, "no plan: fix the topology first") {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let target = match args.target {
        TargetArg::Swarm => Target::Swarm,
        TargetArg::Compose => Target::Compose,
        TargetArg::Local => Target::local(),
    };
    let plan = pf_render::plan(&topology, target);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&plan),
    };
    let mut text = match text {
        Ok(t) => t,
        Err(e) => {
            error(&format!(
                "error: the plan does not serialize (a bug in pf-render; please report it): {e}"
            ));
            return Outcome::Failure;
        }
    };
    text.push('\n');
    crate::cli::emit(&text)
}
