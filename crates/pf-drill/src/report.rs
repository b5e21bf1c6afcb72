//! The drill's results: one row per check, grouped by scenario, as a table
//! for people and JSON for machines.

use serde::Serialize;

/// One measured check of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked (`sentinels agree on the new master`).
    pub what: String,
    /// What was measured (`6.2 s`, `0 of 412`).
    pub measured: String,
    /// What it had to be, and where the number comes from (`<= 15.0 s (down-after + failover-timeout)`).
    pub budget: String,
    /// Whether the measurement is within the budget.
    pub passed: bool,
}

impl Check {
    pub(crate) fn new(
        what: impl Into<String>,
        measured: impl Into<String>,
        budget: impl Into<String>,
        passed: bool,
    ) -> Self {
        Self {
            what: what.into(),
            measured: measured.into(),
            budget: budget.into(),
            passed,
        }
    }
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name (`redis-failover`).
    pub name: String,
    /// Every check passed and nothing went wrong.
    pub passed: bool,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// Why the scenario stopped early, if it did (points at the cause).
    pub error: Option<String>,
    /// How long it took.
    pub seconds: f64,
}

impl ScenarioReport {
    pub(crate) fn new(name: &str, checks: Vec<Check>, error: Option<String>, seconds: f64) -> Self {
        Self {
            passed: error.is_none() && !checks.is_empty() && checks.iter().all(|c| c.passed),
            name: name.to_owned(),
            checks,
            error,
            seconds,
        }
    }
}

/// Everything a drill found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The topology file.
    pub topology: String,
    /// The run folder (removed unless kept).
    pub run_dir: String,
    /// Whether the run folder was kept.
    pub kept: bool,
    /// Ports moved up by 10000 because the drill ran without root.
    pub remapped_ports: Vec<(u16, u16)>,
    /// Faults injected on purpose (tests).
    pub faults: Vec<String>,
    /// Why the system did not start, if it did not (no scenario ran then).
    pub startup_error: Option<String>,
    /// Seconds from the start of the drill until everything was healthy.
    pub startup_seconds: f64,
    /// The scenarios run.
    pub scenarios: Vec<ScenarioReport>,
    /// Processes still alive after the drill stopped everything (should be empty).
    pub leftover_processes: Vec<String>,
    /// The deployed stack drilled (`--on swarm|compose`); `None` on loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// What the drill left changed in a deployed stack, for the operator
    /// (a promoted replica, a primary left stopped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// True when the system started, every scenario passed and nothing was left behind.
    pub fn passed(&self) -> bool {
        self.startup_error.is_none()
            && !self.scenarios.is_empty()
            && self.scenarios.iter().all(|s| s.passed)
            && self.leftover_processes.is_empty()
    }

    /// The results as a plain-text table, then any errors.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 5]> = vec![[
            "scenario".into(),
            "check".into(),
            "measured".into(),
            "budget".into(),
            "result".into(),
        ]];
        if let Some(e) = &self.startup_error {
            rows.push([
                "startup".into(),
                "every process healthy".into(),
                first_line(e),
                "-".into(),
                "FAIL".into(),
            ]);
        }
        for s in &self.scenarios {
            for (i, c) in s.checks.iter().enumerate() {
                rows.push([
                    if i == 0 {
                        s.name.clone()
                    } else {
                        String::new()
                    },
                    c.what.clone(),
                    c.measured.clone(),
                    c.budget.clone(),
                    if c.passed { "pass" } else { "FAIL" }.into(),
                ]);
            }
            if let Some(e) = &s.error {
                rows.push([
                    if s.checks.is_empty() {
                        s.name.clone()
                    } else {
                        String::new()
                    },
                    "stopped early".into(),
                    first_line(e),
                    "-".into(),
                    "FAIL".into(),
                ]);
            }
        }
        if !self.leftover_processes.is_empty() {
            rows.push([
                "teardown".into(),
                "no process left".into(),
                format!("{} left", self.leftover_processes.len()),
                "0".into(),
                "FAIL".into(),
            ]);
        }
        let mut widths = [0usize; 5];
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (n, r) in rows.iter().enumerate() {
            let line: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
            if n == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
        }
        let mut notes = Vec::new();
        if let Some(e) = &self.startup_error {
            notes.push(format!("startup: {e}"));
        }
        for s in &self.scenarios {
            if let Some(e) = &s.error {
                notes.push(format!("{}: {e}", s.name));
            }
        }
        for p in &self.leftover_processes {
            notes.push(format!("left behind: {p}"));
        }
        if let Some(on) = &self.on {
            notes.push(format!("drilled: {on}"));
        }
        notes.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if !notes.is_empty() {
            out.push('\n');
            for n in notes {
                out.push_str(&n);
                out.push('\n');
            }
        }
        out
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > 70 {
        let cut: String = line.chars().take(67).collect();
        format!("{cut}...")
    } else {
        line.to_owned()
    }
}
