//! What `lint` found, and how it is printed: the diagnostics in the same
//! compiler-style text, GitHub annotations and flat JSON objects as
//! `pf-render check`, then notes on targets, exceptions and waivers.

use std::fmt::Write as _;

use serde::Serialize;

use crate::rules::{Exception, FileKind, Target};

pub use pf_diag::{Diagnostic, Location};

/// A finding that a waiver switched off, and the waiver's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    /// The finding.
    pub finding: Diagnostic,
    /// Why it is accepted.
    pub reason: String,
    /// Where the waiver is.
    pub waiver: Location,
}

/// A target exception that applied to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedException {
    /// The file.
    pub file: String,
    /// The exception.
    #[serde(flatten)]
    pub exception: Exception,
}

/// What was linted in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: String,
    /// What it was read as.
    pub kind: FileKind,
    /// For stack files: the target it was checked for.
    pub target: Option<Target>,
    /// How the target was chosen (`--target`, or what in the file decided).
    pub target_reason: Option<String>,
    /// Errors not waived.
    pub errors: usize,
    /// Warnings not waived.
    pub warnings: usize,
    /// Findings waived.
    pub waived: usize,
    /// Findings switched off by the lint configuration or `--ignore`.
    #[serde(skip_serializing_if = "is_zero")]
    pub ignored: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Everything `lint` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per file, in input order.
    pub files: Vec<FileReport>,
    /// Findings that count, in file order, then line and column.
    pub findings: Vec<Diagnostic>,
    /// Findings switched off by a waiver.
    pub waived: Vec<Waived>,
    /// Target exceptions, per file.
    pub exceptions: Vec<AppliedException>,
}

impl Report {
    /// Applies lint configurations: findings of rules a file's
    /// configuration switches off are dropped (and counted as ignored),
    /// overridden severities are set, and the per-file counts follow.
    /// `config_of` gives the configuration of a file (as reported).
    pub fn apply_config<'c>(
        &mut self,
        config_of: &dyn Fn(&str) -> Option<&'c crate::Config>,
        cwd: &std::path::Path,
    ) {
        let mut ignored: Vec<String> = Vec::new();
        self.findings.retain_mut(|f| {
            let (Some(config), Some(rule)) =
                (config_of(&f.location.file), crate::Rule::from_code(f.code))
            else {
                return true;
            };
            if config.ignores(rule, &f.location.file, cwd) {
                ignored.push(f.location.file.clone());
                return false;
            }
            if let Some(severity) = config.severity(rule) {
                f.severity = severity;
            }
            true
        });
        for file in &mut self.files {
            let mine = |f: &&Diagnostic| f.location.file == file.file;
            file.errors = self
                .findings
                .iter()
                .filter(mine)
                .filter(|f| f.is_error())
                .count();
            file.warnings = self
                .findings
                .iter()
                .filter(mine)
                .filter(|f| !f.is_error())
                .count();
            file.ignored = ignored.iter().filter(|f| **f == file.file).count();
        }
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// The human form: findings, then notes (target, exceptions, waivers),
    /// then one summary line per file.
    pub fn to_human(&self) -> String {
        self.human(false, false)
    }

    /// The human form, its diagnostics colored when `color`; with
    /// `quiet`, only the diagnostics (no notes, no summary lines).
    pub fn human(&self, color: bool, quiet: bool) -> String {
        let mut t = String::new();
        for f in &self.findings {
            t.push_str(&if color {
                f.to_human_colored()
            } else {
                f.to_human()
            });
            t.push_str("\n\n");
        }
        if quiet {
            return t;
        }
        for file in &self.files {
            if let (Some(target), Some(reason)) = (file.target, &file.target_reason) {
                let _ = writeln!(
                    t,
                    "note: {}: checked as a {target} file ({reason})",
                    file.file
                );
            }
        }
        for e in &self.exceptions {
            let _ = writeln!(
                t,
                "note[{}]: {}: not applied on {}: {}",
                e.exception.rule, e.file, e.exception.target, e.exception.reason
            );
        }
        // One line per waiver, not per waived finding: a waiver for twelve
        // services says the same thing twelve times.
        let mut seen: Vec<(&Location, pf_diag::DiagnosticCode, &str, usize)> = Vec::new();
        for w in &self.waived {
            match seen
                .iter_mut()
                .find(|(l, r, _, _)| *l == &w.waiver && *r == w.finding.code)
            {
                Some(entry) => entry.3 += 1,
                None => seen.push((&w.waiver, w.finding.code, &w.reason, 1)),
            }
        }
        seen.sort_by_key(|(l, _, _, _)| (l.file.clone(), l.line));
        for (at, rule, reason, count) in seen {
            let _ = writeln!(
                t,
                "note[{rule}]: {count} finding(s) waived at {}:{}: {}",
                at.file,
                at.line,
                pf_diag::printable(reason)
            );
        }
        if !self.files.is_empty() && (!self.exceptions.is_empty() || !self.waived.is_empty()) {
            t.push('\n');
        }
        for file in &self.files {
            let _ = write!(
                t,
                "{}: {} error(s), {} warning(s), {} waived",
                file.file, file.errors, file.warnings, file.waived
            );
            if file.ignored > 0 {
                let _ = write!(t, ", {} ignored", file.ignored);
            }
            t.push('\n');
        }
        t
    }

    /// The versioned JSON report (`schema/report.schema.json`): the
    /// findings, then `files`, `waived` and `exceptions`.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Details<'a> {
            files: &'a [FileReport],
            waived: &'a [Waived],
            exceptions: &'a [AppliedException],
        }
        pf_diag::json_report(
            "lint",
            &self.findings,
            &Details {
                files: &self.files,
                waived: &self.waived,
                exceptions: &self.exceptions,
            },
        )
    }

    /// SARIF 2.1.0; waived findings are suppressed results with the
    /// waiver's reason. `tool_version` names the version of `pf-render`.
    pub fn to_sarif(&self, tool_version: &str) -> String {
        let suppressed: Vec<pf_diag::Suppressed<'_>> = self
            .waived
            .iter()
            .map(|w| pf_diag::Suppressed {
                diagnostic: &w.finding,
                justification: &w.reason,
            })
            .collect();
        pf_diag::to_sarif(tool_version, &self.findings, &suppressed)
    }

    /// JUnit XML: a test suite per file; warnings fail only with `deny_warnings`.
    pub fn to_junit(&self, deny_warnings: bool) -> String {
        let per_file: Vec<(&str, Vec<Diagnostic>)> = self
            .files
            .iter()
            .map(|file| {
                let findings = self
                    .findings
                    .iter()
                    .filter(|f| f.location.file == file.file)
                    .cloned()
                    .collect();
                (file.file.as_str(), findings)
            })
            .collect();
        let files: Vec<pf_diag::FileResult<'_>> = per_file
            .iter()
            .map(|(file, findings)| pf_diag::FileResult { file, findings })
            .collect();
        pf_diag::to_junit("lint", &files, deny_warnings)
    }

    /// GitHub annotations: one per finding.
    pub fn to_github(&self) -> String {
        self.findings.iter().map(|f| f.to_github() + "\n").collect()
    }
}
