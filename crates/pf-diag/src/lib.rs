//! Diagnostics shared by every check of PromptForge HA codegen.
//!
//! - [`catalog!`] declares a catalog of stable codes (topology codes in
//!   `pf-model`, lint rules in `pf-lint`, drill checks in `pf-cli`); each
//!   code has a severity, a description and an explanation, and a
//!   [`DiagnosticCode`] is the handle of a code of any catalog.
//! - A rule reports a [`Finding`]; placed in its file it becomes a
//!   [`Diagnostic`], the one type every command prints.
//! - Output formats: compiler-style text ([`Diagnostic::to_human`]),
//!   GitHub annotations ([`Diagnostic::to_github`]), the versioned JSON
//!   report ([`json_report`], `schema/report.schema.json`), SARIF 2.1.0
//!   ([`to_sarif`]) and JUnit XML ([`to_junit`]).
//!
//! Pure: no I/O, no printing.

mod catalog;
mod diagnostic;
mod github;
mod human;
mod json;
mod junit;
mod sarif;
pub mod secret_like;
mod text;

pub use catalog::{Catalog, DiagnosticCode, Entry, Severity, check_codes};
pub use diagnostic::{Diagnostic, Finding, Location};
pub use json::{REPORT_VERSION, Summary, json_report};
pub use junit::{FileResult, to_junit};
pub use sarif::{Suppressed, file_uri, to_sarif};
pub use text::{clip, closest, first_unsafe_in_line, is_bidi_control, printable};

#[doc(hidden)]
pub use serde as __serde;

#[cfg(test)]
mod test_support {
    use crate::{Diagnostic, Finding, Location};

    crate::catalog! {
        /// Codes for the tests of this crate.
        pub(crate) enum Sample in Topology;
        /// An error.
        SampleError = ("sample-error", Error, "a sample error", "Used by the tests of the renderers in this crate."),
    }

    pub(crate) fn sample() -> Diagnostic {
        Finding::new(
            Sample::SampleError,
            "redis.sentinel.quorum",
            "quorum 4 is more than the 3 sentinels",
            "set quorum between 1 and 3",
        )
        .at(Location {
            file: "a,b:c.toml".into(),
            line: 12,
            column: 10,
            width: 1,
            source_line: "quorum = 4".into(),
        })
    }
}
