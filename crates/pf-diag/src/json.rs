//! The JSON report: one versioned shape for `check`, `lint` and `drill`,
//! described by `schema/report.schema.json`.
//!
//! ```json
//! {
//!   "version": 1,
//!   "command": "check",
//!   "summary": { "errors": 1, "warnings": 0 },
//!   "findings": [ { "code": "...", "severity": "error", "file": "...", "line": 3,
//!                   "column": 1, "message": "...", "help": "...", "path": "..." } ],
//!   ...what the command adds (`files`, `waived`, `scenarios`, ...)
//! }
//! ```
//!
//! `version` changes only when a field is removed or changes meaning;
//! fields may be added without it.

use serde::Serialize;

use crate::diagnostic::Diagnostic;

/// The version of the JSON report shape.
pub const REPORT_VERSION: u32 = 1;

/// Errors and warnings among the findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings with severity `error`.
    pub errors: usize,
    /// Findings with severity `warning`.
    pub warnings: usize,
}

impl Summary {
    /// The counts of `findings`.
    pub fn of(findings: &[Diagnostic]) -> Self {
        let errors = findings.iter().filter(|d| d.is_error()).count();
        Self {
            errors,
            warnings: findings.len() - errors,
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    version: u32,
    command: &'a str,
    summary: Summary,
    findings: &'a [Diagnostic],
    #[serde(flatten)]
    details: &'a T,
}

/// The report of `command` as pretty JSON with a trailing newline:
/// version, command, summary and findings, then the fields of `details`
/// (an object without those four keys).
pub fn json_report<T: Serialize>(command: &str, findings: &[Diagnostic], details: &T) -> String {
    let envelope = Envelope {
        version: REPORT_VERSION,
        command,
        summary: Summary::of(findings),
        findings,
        details,
    };
    // Serializing strings, numbers and derived structs into a String
    // cannot fail; an empty object keeps the output JSON if it ever did.
    let mut text = serde_json::to_string_pretty(&envelope).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample;

    #[test]
    fn the_envelope_comes_first_and_details_follow() {
        #[derive(Serialize)]
        struct Details {
            files: Vec<&'static str>,
        }
        let text = json_report(
            "check",
            &[sample()],
            &Details {
                files: vec!["a.toml"],
            },
        );
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["version"], 1);
        assert_eq!(value["command"], "check");
        assert_eq!(value["summary"]["errors"], 1);
        assert_eq!(value["findings"][0]["code"], "sample-error");
        assert_eq!(value["files"][0], "a.toml");
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap_or_default())
            .collect();
        assert_eq!(keys, ["version", "command", "summary", "findings", "files"]);
    }
}
