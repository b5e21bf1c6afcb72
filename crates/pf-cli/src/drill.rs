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
    let mut options = pf_drill::Options::default();
    options.scenarios.clone_from(&opts.scenarios);
    options.keep = opts.keep;
    options.run_dir.clone_from(&opts.run_dir);
    options.cancel = cancel;
    match pf_drill::run(&topology, &options, &Stderr) {
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
