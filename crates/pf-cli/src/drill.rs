//! `pf-render drill FILE`: load and validate, then run the failover drill
//! (crate pf-drill) with progress on stderr and the table (or JSON) on stdout.

use std::path::PathBuf;

use pf_drill::{Cancel, DrillError, Progress};

use crate::exit::Outcome;
use crate::load::valid_topology;
use crate::output::{emit, error, quiet};

/// Options of `drill`.
pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) scenarios: Vec<pf_drill::Scenario>,
    pub(crate) keep: bool,
    pub(crate) json: bool,
    pub(crate) run_dir: Option<PathBuf>,
    /// `--on swarm|compose`: drill a deployed stack instead.
    pub(crate) on: Option<OnOptions>,
}

/// Options of `drill --on`.
pub(crate) struct OnOptions {
    pub(crate) orchestrator: pf_drill::Orchestrator,
    pub(crate) name: Option<String>,
    pub(crate) engine: pf_drill::Engine,
    /// `--deploy --secrets DIR`.
    pub(crate) deploy: Option<PathBuf>,
    pub(crate) yes: bool,
}

/// Progress lines on stderr: `[  12.3s] redis-failover: ...`.
struct Stderr;

impl Progress for Stderr {
    fn line(&self, seconds: f64, scope: &str, text: &str) {
        if !quiet() {
            error(&format!("[{seconds:6.1}s] {scope}: {text}"));
        }
    }
}

pub(crate) fn run(opts: &Options) -> Outcome {
    let topology = match valid_topology(
        &opts.file,
        false,
        "the drill did not run: fix the topology first",
    ) {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let cancel = match Cancel::on_signals() {
        Ok(c) => c,
        Err(e) => {
            error(&format!("error: {e}"));
            return Outcome::Failure;
        }
    };
    let result = match &opts.on {
        None => {
            let mut options = pf_drill::Options::default();
            options.scenarios.clone_from(&opts.scenarios);
            options.keep = opts.keep;
            options.run_dir.clone_from(&opts.run_dir);
            options.cancel = cancel;
            pf_drill::run(&topology, &options, &Stderr)
        }
        Some(on) => {
            let mut options = pf_drill::DockerOptions::new(on.orchestrator);
            options.name.clone_from(&on.name);
            options.engine = on.engine.clone();
            options.deploy.clone_from(&on.deploy);
            options.scenarios.clone_from(&opts.scenarios);
            options.cancel = cancel;
            let yes = on.yes;
            pf_drill::run_on(&topology, &options, &Stderr, &|what: &str| {
                confirm(what, yes)
            })
        }
    };
    match result {
        Ok(report) => {
            let text = if opts.json {
                crate::drill_report::json(&report)
            } else {
                report.table()
            };
            let outcome = if report.passed() {
                Outcome::Ok
            } else {
                Outcome::Findings
            };
            emit(&text, outcome)
        }
        Err(e @ DrillError::Interrupted) => {
            error(&e.to_string());
            Outcome::Failure
        }
        Err(e) => {
            error(&format!("error: {e}"));
            Outcome::Failure
        }
    }
}

/// Shows what the drill will disrupt and asks on the terminal; `--yes`
/// skips the question. Without a terminal and without `--yes` the answer
/// is no: a script must say yes explicitly.
fn confirm(what: &str, yes: bool) -> bool {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    error(what);
    if yes {
        error("--yes: going on");
        return true;
    }
    if !std::io::stdin().is_terminal() {
        error("standard input is not a terminal: pass --yes to go on without asking");
        return false;
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "Go on? [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
