//! `pf-render check`: validate topology files and report.

use std::path::PathBuf;

use pf_model::{Diagnostic, LoadError};

use crate::cli::Format;
use crate::exit::Outcome;
use crate::output::{emit, error, error_chain};

/// Checks every file, prints every diagnostic, returns the worst outcome.
pub(crate) fn run(files: &[PathBuf], format: Format, deny_warnings: bool) -> Outcome {
    let mut outcome = Outcome::Ok;
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut summaries = Vec::new();
    for path in files {
        let diagnostics = match pf_model::load(path) {
            Ok(loaded) => loaded.validate().diagnostics,
            Err(LoadError::Invalid { diagnostic }) => vec![*diagnostic],
            Err(e @ LoadError::Io { .. }) => {
                error(&error_chain(&e));
                outcome = outcome.max(Outcome::Failure);
                continue;
            }
        };
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = diagnostics.len() - errors;
        if errors > 0 || (deny_warnings && warnings > 0) {
            outcome = outcome.max(Outcome::Findings);
        }
        summaries.push(format!(
            "{}: {errors} error(s), {warnings} warning(s)",
            path.display()
        ));
        all.extend(diagnostics);
    }
    let text = match format {
        Format::Human => {
            let mut t = String::new();
            for d in &all {
                t.push_str(&d.to_human());
                t.push_str("\n\n");
            }
            for s in &summaries {
                t.push_str(s);
                t.push('\n');
            }
            t
        }
        Format::Json => {
            let mut t = serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into());
            t.push('\n');
            t
        }
        Format::Github => all.iter().map(|d| d.to_github() + "\n").collect(),
    };
    emit(&text, outcome)
}
