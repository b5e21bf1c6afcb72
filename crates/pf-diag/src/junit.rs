//! JUnit XML, for CI systems that show test reports (GitLab, Jenkins,
//! Azure Pipelines): a test suite per file, a test case per finding, and
//! one passing case for a file without findings.

use std::fmt::Write as _;

use crate::diagnostic::Diagnostic;
use crate::text::printable;

/// One checked file and what was found in it.
#[derive(Debug, Clone, Copy)]
pub struct FileResult<'a> {
    /// The file, as reported.
    pub file: &'a str,
    /// Its findings.
    pub findings: &'a [Diagnostic],
}

/// The JUnit report of `command` (`check`, `lint`). Errors are failures;
/// warnings are failures only when they fail the command
/// (`deny_warnings`), else passing cases that say what they found.
pub fn to_junit(command: &str, files: &[FileResult<'_>], deny_warnings: bool) -> String {
    let fails = |d: &Diagnostic| d.is_error() || deny_warnings;
    let cases = |f: &FileResult<'_>| f.findings.len().max(1);
    let tests: usize = files.iter().map(cases).sum();
    let failures: usize = files
        .iter()
        .map(|f| f.findings.iter().filter(|d| fails(d)).count())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"pf-render {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">",
        xml(command)
    );
    for f in files {
        let failed = f.findings.iter().filter(|d| fails(d)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">",
            xml(f.file),
            cases(f)
        );
        if f.findings.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase name=\"{0}\" classname=\"pf-render.{1}\" file=\"{0}\"/>",
                xml(f.file),
                xml(command)
            );
        }
        for d in f.findings {
            let loc = &d.location;
            let _ = writeln!(
                out,
                "    <testcase name=\"{} at {}:{}\" classname=\"pf-render.{}\" file=\"{}\" line=\"{}\">",
                d.code,
                loc.line,
                loc.column,
                xml(command),
                xml(&loc.file),
                loc.line
            );
            let tag = if fails(d) { "failure" } else { "system-out" };
            let attributes = if fails(d) {
                format!(" message=\"{}\" type=\"{}\"", xml(&d.message), d.severity())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "      <{tag}{attributes}>{}</{tag}>",
                d.to_human().lines().map(xml).collect::<Vec<_>>().join("\n")
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// One line of text as XML character data or an attribute value
/// (multi-line text is escaped line by line): markup characters
/// as entities, and characters XML 1.0 cannot hold (controls) escaped by
/// [`printable`] first.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample;

    #[test]
    fn files_without_findings_pass_and_errors_fail() {
        let d = sample();
        let findings = [d];
        let text = to_junit(
            "check",
            &[
                FileResult {
                    file: "ok.toml",
                    findings: &[],
                },
                FileResult {
                    file: "a<b>.toml",
                    findings: &findings,
                },
            ],
            false,
        );
        assert!(text.contains("tests=\"2\" failures=\"1\""), "{text}");
        assert!(text.contains("<testcase name=\"ok.toml\""), "{text}");
        assert!(
            text.contains("<testsuite name=\"a&lt;b&gt;.toml\""),
            "{text}"
        );
        assert!(
            text.contains(
                "<failure message=\"quorum 4 is more than the 3 sentinels\" type=\"error\">"
            ),
            "{text}"
        );
    }

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(xml("a&<\"'>\u{1b}"), "a&amp;&lt;&quot;&apos;&gt;\\u{1b}");
    }
}
