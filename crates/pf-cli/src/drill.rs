//! `pf-render drill FILE`: load and validate, then run the failover drill
//! (crate pf-drill) with progress on stderr and the table (or JSON) on stdout.

use std::io::Write as _;
use std::path::PathBuf;

use pf_drill::{Cancel, DrillError, Progress};
use pf_model::LoadError;

use crate::check::error_chain;
use crate::exit::Outcome;

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
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{seconds:6.1}s] {scope}: {text}");
    }
}

pub(crate) fn run(opts: &Options) -> Outcome {
    let loaded = match pf_model::load(&opts.file) {
        Ok(l) => l,
        Err(LoadError::Invalid { diagnostic }) => {
            eprintln!("{}\n", diagnostic.to_human());
            return Outcome::Findings;
        }
        Err(e) => {
            eprintln!("{}", error_chain(&e));
            return Outcome::Failure;
        }
    };
    let checked = loaded.validate();
    for d in &checked.diagnostics {
        eprintln!("{}\n", d.to_human());
    }
    let Some(topology) = checked.topology else {
        eprintln!("the drill did not run: fix the topology first");
        return Outcome::Findings;
    };
    let cancel = match Cancel::on_signals() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failure;
        }
    };
    let options = pf_drill::Options {
        scenarios: opts.scenarios.clone(),
        keep: opts.keep,
        run_dir: opts.run_dir.clone(),
        cancel,
    };
    match pf_drill::run(&topology, &options, &Stderr) {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let text = if opts.json {
                serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
            } else {
                report.table()
            };
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            if report.passed() {
                Outcome::Ok
            } else {
                Outcome::Findings
            }
        }
        Err(e @ DrillError::Interrupted) => {
            eprintln!("{e}");
            Outcome::Failure
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Failure
        }
    }
}
