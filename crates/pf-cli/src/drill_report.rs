//! The drill's results in the versioned JSON report: each failed check,
//! scenario or start-up is a finding with a code of the drill catalog,
//! located at the topology file (a drill result is about the whole
//! topology, not one line of it); the drill's own report follows.

use pf_diag::{Diagnostic, Finding, Location};

pf_diag::catalog! {
    /// A code of a drill finding. `pf-render explain CODE` prints its entry.
    pub(crate) enum DrillCode in Drill;
    /// The system did not start.
    StartupFailed = ("drill-startup-failed", Error, "the local bundle did not start, so no scenario ran",
        "Every process of the local bundle must be healthy before the failover scenarios run. The message carries the first line of the cause; the progress on stderr and the run folder (`--keep`) have the logs."),
    /// A measurement outside its budget.
    CheckFailed = ("drill-check-failed", Error, "a measured check of a scenario is outside its budget",
        "The drill measures each failover against the topology's own budgets (down-after + failover-timeout for Sentinel, fail-timeout for nginx, lag thresholds for PostgreSQL). The message gives what was measured and the budget; docs/drill.md explains each check."),
    /// A scenario that stopped early.
    ScenarioStopped = ("drill-scenario-stopped", Error, "a scenario stopped before its checks completed",
        "Something the scenario needed failed (a process did not start, a client could not connect). The message carries the first line of the cause; run again with `--keep` to read the logs."),
    /// Processes left behind.
    ProcessesLeft = ("drill-processes-left", Error, "processes were still alive after the drill stopped everything",
        "The drill owns every process it starts and must stop them all; a survivor would keep ports and data folders busy. The message names them; stop them by their process id."),
}

/// The findings of a drill report, each at the topology file.
pub(crate) fn findings(report: &pf_drill::Report) -> Vec<Diagnostic> {
    let at = || Location {
        file: report.topology.clone(),
        line: 1,
        column: 1,
        width: 1,
        source_line: String::new(),
    };
    let first_line = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    if let Some(e) = &report.startup_error {
        out.push(
            Finding::new(
                DrillCode::StartupFailed,
                "startup",
                format!("the system did not start: {}", first_line(e)),
                "read the progress on stderr; `--keep` leaves the logs in the run folder",
            )
            .at(at()),
        );
    }
    for s in &report.scenarios {
        for c in s.checks.iter().filter(|c| !c.passed) {
            out.push(
                Finding::new(
                    DrillCode::CheckFailed,
                    s.name.as_str(),
                    format!("{}: {}: measured {}", s.name, c.what, c.measured),
                    format!("the budget is {}", c.budget),
                )
                .at(at()),
            );
        }
        if let Some(e) = &s.error {
            out.push(
                Finding::new(
                    DrillCode::ScenarioStopped,
                    s.name.as_str(),
                    format!("{} stopped early: {}", s.name, first_line(e)),
                    "run it again with `--keep --scenario NAME` and read the logs in the run folder",
                )
                .at(at()),
            );
        }
    }
    if !report.leftover_processes.is_empty() {
        out.push(
            Finding::new(
                DrillCode::ProcessesLeft,
                "processes",
                format!(
                    "still alive after the drill: {}",
                    report.leftover_processes.join(", ")
                ),
                "stop them by their process id",
            )
            .at(at()),
        );
    }
    out
}

/// The JSON report of a drill.
pub(crate) fn json(report: &pf_drill::Report) -> String {
    pf_diag::json_report("drill", &findings(report), report)
}
