//! `pf-render explain`: the documentation of any code, looked up in every
//! catalog. This is where the catalogs meet, so the test that keeps codes
//! unique across them lives here too.

use pf_diag::DiagnosticCode;

use crate::exit::Outcome;
use crate::output::{emit, error, shown};

/// Every code `pf-render` can report: topology codes, lint rules, drill
/// checks and lint configuration problems.
pub(crate) fn all_codes() -> impl Iterator<Item = DiagnosticCode> {
    let topology = pf_model::Code::ALL.iter().map(|c| c.code());
    let lint = pf_lint::Rule::ALL.iter().map(|r| r.code());
    let drill = crate::drill_report::DrillCode::ALL.iter().map(|c| c.code());
    let config = pf_lint::ConfigCode::ALL.iter().map(|c| c.code());
    let plan = pf_drill::PlanCode::ALL.iter().map(|c| c.code());
    topology.chain(lint).chain(drill).chain(config).chain(plan)
}

/// The code named `name`, in whichever catalog has it.
pub(crate) fn find(name: &str) -> Option<DiagnosticCode> {
    all_codes().find(|c| c.name() == name)
}

/// Prints the entry of `code`; `--all` prints every topology code, `--catalog` every lint rule.
pub(crate) fn run(code: Option<&str>, all: bool, catalog: bool) -> Outcome {
    if catalog {
        return emit(&pf_lint::catalog_markdown(), Outcome::Ok);
    }
    if all {
        return emit(&pf_model::codes::diagnostics_markdown(), Outcome::Ok);
    }
    let name = code.unwrap_or_default();
    let Some(found) = find(name) else {
        error(&format!(
            "error: unknown diagnostic code `{}`\n  = help: `pf-render explain --all` lists every topology code, `--catalog` every lint rule",
            shown(name)
        ));
        return Outcome::Failure;
    };
    let text = if let Some(rule) = pf_lint::Rule::from_code(found) {
        format!(
            "{} ({})\n\n{}",
            rule.name(),
            rule.severity(),
            pf_lint::entry(rule)
        )
    } else {
        format!(
            "{} ({})\n\n{}.\n\n{}\n",
            found.name(),
            found.severity(),
            found.description(),
            found.explanation()
        )
    };
    emit(&text, Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cargo-deny's `codes_unique`: every code of every catalog is
    /// unique, kebab-case and documented, and the set is reviewed as a
    /// snapshot (a rename shows up in review: CI configurations filter on
    /// codes and waivers name them).
    #[test]
    fn codes_unique() {
        let codes: Vec<DiagnosticCode> = all_codes().collect();
        let problems = pf_diag::check_codes(&codes);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for code in &codes {
            assert_eq!(find(code.name()), Some(*code));
        }
        let mut names: Vec<String> = codes
            .iter()
            .map(|c| format!("{} ({}, {})", c.name(), c.catalog().name(), c.severity()))
            .collect();
        names.sort();
        insta::assert_snapshot!(names.join("\n"));
    }
}
