//! SARIF 2.1.0, the format GitHub code scanning and other CI systems
//! import (no cap on the number of results, unlike workflow annotations).

use serde_json::{Value, json};

use crate::catalog::{DiagnosticCode, Severity};
use crate::diagnostic::Diagnostic;
use crate::text::printable;

/// A finding that the input itself switched off (a lint waiver), with the
/// reason it gives: reported as a suppressed result, so code scanning
/// shows it as accepted rather than not at all.
#[derive(Debug, Clone, Copy)]
pub struct Suppressed<'a> {
    /// The finding.
    pub diagnostic: &'a Diagnostic,
    /// Why it is accepted.
    pub justification: &'a str,
}

/// The SARIF log of one run of `pf-render` (version `tool_version`):
/// every finding as a result, every suppressed one with its
/// justification, and the catalog entry of every code they use as a rule.
/// Pretty JSON with a trailing newline.
pub fn to_sarif(
    tool_version: &str,
    findings: &[Diagnostic],
    suppressed: &[Suppressed<'_>],
) -> String {
    let mut rules: Vec<DiagnosticCode> = findings
        .iter()
        .chain(suppressed.iter().map(|s| s.diagnostic))
        .map(|d| d.code)
        .collect();
    rules.sort();
    rules.dedup();
    let index = |code: DiagnosticCode| rules.iter().position(|r| *r == code).unwrap_or_default();
    let mut results: Vec<Value> = findings.iter().map(|d| result(d, index(d.code))).collect();
    for s in suppressed {
        let mut r = result(s.diagnostic, index(s.diagnostic.code));
        r["suppressions"] = json!([{
            "kind": "inSource",
            "justification": printable(s.justification),
        }]);
        results.push(r);
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "pf-render",
                    "version": tool_version,
                    "rules": rules.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
                }
            },
            // Columns count characters, as in every other format.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(code: DiagnosticCode) -> Value {
    json!({
        "id": code.name(),
        "shortDescription": { "text": code.description() },
        "fullDescription": { "text": code.explanation() },
        "help": { "text": format!("{}. {}", code.description(), code.explanation()) },
        "defaultConfiguration": { "level": level(code.severity()) },
        "properties": { "catalog": code.catalog().name() },
    })
}

fn result(d: &Diagnostic, rule_index: usize) -> Value {
    let loc = &d.location;
    let mut properties = json!({ "path": printable(&d.path) });
    if let Some(service) = &d.service {
        properties["service"] = json!(printable(service));
    }
    json!({
        "ruleId": d.code.name(),
        "ruleIndex": rule_index,
        "level": level(d.severity()),
        "message": { "text": printable(&format!("{} (help: {})", d.message, d.help)) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": file_uri(&loc.file) },
                "region": {
                    "startLine": loc.line.max(1),
                    "startColumn": loc.column.max(1),
                    "endColumn": loc.column.max(1) + loc.width.max(1),
                },
            }
        }],
        "properties": properties,
    })
}

/// A file name as a URI reference (RFC 3986): relative names stay
/// relative (code scanning resolves them against the repository), an
/// absolute path becomes a `file://` URI, and every byte outside the
/// unreserved set and `/` is percent-encoded.
pub fn file_uri(file: &str) -> String {
    let mut out = String::new();
    if file.starts_with('/') {
        out.push_str("file://");
    }
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(file_uri("topologies/prod.toml"), "topologies/prod.toml");
        assert_eq!(file_uri("/srv/a b.toml"), "file:///srv/a%20b.toml");
        assert_eq!(file_uri("a,b:c.toml"), "a%2Cb%3Ac.toml");
        assert_eq!(file_uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(file_uri("日.yml"), "%E6%97%A5.yml");
    }

    #[test]
    fn results_point_at_their_rule() {
        let d = sample();
        let log: Value = serde_json::from_str(&to_sarif(
            "1.2.3",
            std::slice::from_ref(&d),
            &[Suppressed {
                diagnostic: &d,
                justification: "accepted",
            }],
        ))
        .expect("JSON");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "sample-error");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(run["results"][0]["ruleIndex"], 0);
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"],
            10
        );
        assert_eq!(
            run["results"][1]["suppressions"][0]["justification"],
            "accepted"
        );
    }
}
