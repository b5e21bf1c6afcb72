//! `pf-render check`: validate topology files and report.

use std::path::PathBuf;

use pf_diag::{Diagnostic, FileResult};
use pf_model::LoadError;
use serde::Serialize;

use crate::cli::Format;
use crate::exit::Outcome;
use crate::load::read;
use crate::output::{Stream, emit, error, error_chain, human, quiet};

/// Options of `check`.
pub(crate) struct Options {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) format: Format,
    pub(crate) deny_warnings: bool,
    pub(crate) stdin_filename: Option<String>,
}

/// One checked file, in the JSON report.
#[derive(Serialize)]
struct Checked {
    file: String,
    errors: usize,
    warnings: usize,
}

/// What the JSON report adds to the findings.
#[derive(Serialize)]
struct Details<'a> {
    files: &'a [Checked],
}

/// Validation, then (for a valid topology) the failure-domain proof: the
/// nodes whose loss breaks a group, located at the key to change.
fn with_failure_domains(loaded: pf_model::Loaded) -> Vec<Diagnostic> {
    let source = loaded.source.clone();
    let checked = loaded.validate();
    let mut diagnostics = checked.diagnostics;
    if let Some(topology) = &checked.topology {
        diagnostics.extend(
            pf_render::failure_domains(topology)
                .findings()
                .into_iter()
                .map(|f| {
                    let location = source.locate_path(&f.path);
                    f.at(location)
                }),
        );
    }
    diagnostics
}

/// Checks every file, prints every diagnostic, returns the worst outcome.
pub(crate) fn run(opts: &Options) -> Outcome {
    if opts.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        error("error: `-` (standard input) can be given once");
        return Outcome::Failure;
    }
    let mut outcome = Outcome::Ok;
    let mut per_file: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for path in &opts.files {
        let diagnostics = match read(path, opts.stdin_filename.as_deref()) {
            Ok(loaded) => with_failure_domains(loaded),
            Err(LoadError::Invalid { diagnostics, .. }) => diagnostics,
            Err(e) => {
                error(&error_chain(&e));
                outcome = outcome.max(Outcome::Failure);
                continue;
            }
        };
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = diagnostics.len() - errors;
        if errors > 0 || (opts.deny_warnings && warnings > 0) {
            outcome = outcome.max(Outcome::Findings);
        }
        let name = if path.as_os_str() == "-" {
            opts.stdin_filename
                .clone()
                .unwrap_or_else(|| crate::load::STDIN_LABEL.to_owned())
        } else {
            path.display().to_string()
        };
        per_file.push((name, diagnostics));
    }
    let all: Vec<Diagnostic> = per_file.iter().flat_map(|(_, d)| d.clone()).collect();
    let text = match opts.format {
        Format::Human => {
            let mut t = String::new();
            for d in &all {
                t.push_str(&human(d, Stream::Stdout));
                t.push_str("\n\n");
            }
            if !quiet() {
                for (file, diagnostics) in &per_file {
                    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                    t.push_str(&format!(
                        "{file}: {errors} error(s), {} warning(s)\n",
                        diagnostics.len() - errors
                    ));
                }
            }
            t
        }
        Format::Json => {
            let files: Vec<Checked> = per_file
                .iter()
                .map(|(file, d)| {
                    let errors = d.iter().filter(|d| d.is_error()).count();
                    Checked {
                        file: file.clone(),
                        errors,
                        warnings: d.len() - errors,
                    }
                })
                .collect();
            pf_diag::json_report("check", &all, &Details { files: &files })
        }
        Format::Github => all.iter().map(|d| d.to_github() + "\n").collect(),
        Format::Sarif => pf_diag::to_sarif(env!("CARGO_PKG_VERSION"), &all, &[]),
        Format::Junit => {
            let files: Vec<FileResult<'_>> = per_file
                .iter()
                .map(|(file, findings)| FileResult { file, findings })
                .collect();
            pf_diag::to_junit("check", &files, opts.deny_warnings)
        }
    };
    emit(&text, outcome)
}
