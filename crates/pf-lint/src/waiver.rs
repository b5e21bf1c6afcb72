//! Waivers: a file's own, reviewable statement that a finding is accepted,
//! and why.
//!
//! In a stack file:
//!
//! ```yaml
//! x-pf-lint:
//!   waivers:
//!   - rule: healthcheck-missing
//!     services: [redis-exporter]     # optional
//!     files: [redis/master.conf]     # optional, relative to this file
//!     reason: ...
//! ```
//!
//! In nginx, pg_hba, Redis and Sentinel files, a comment:
//! `# pf-lint: waive RULE[,RULE] -- reason`. `x-` keys are ignored by
//! Compose and by `docker stack deploy` (file format 3.4+).

use crate::report::{FileReport, Location, Report, Waived};
use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::{Node, Pos};

/// One waiver, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Waiver {
    pub(crate) rule: Rule,
    /// Services it is limited to (empty: all).
    pub(crate) services: Vec<String>,
    /// Files it applies to, as lint names them (empty: the declaring file).
    pub(crate) files: Vec<String>,
    pub(crate) reason: String,
    pub(crate) at: Location,
}

const HELP: &str = "write `- rule: CODE` and `reason: why`, optionally `services: [...]` and `files: [...]`; `pf-render explain --catalog` lists the codes";

/// Reads `x-pf-lint.waivers` of a stack file.
pub(crate) fn from_yaml(cx: &mut FileCx<'_>, root: &Node) {
    let Some((key, block)) = root.entry("x-pf-lint") else {
        return;
    };
    let Some(list) = block.get("waivers") else {
        cx.simple(
            Rule::WaiverInvalid,
            key.pos,
            "x-pf-lint",
            "`x-pf-lint` has no `waivers` list",
            HELP,
        );
        return;
    };
    for item in list.items() {
        let rule_node = item.get("rule");
        let rule = rule_node
            .and_then(Node::as_str)
            .and_then(|s| s.parse::<Rule>().ok());
        let reason = item
            .get("reason")
            .and_then(Node::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let Some(rule) = rule else {
            let what = rule_node
                .and_then(Node::as_str)
                .map(|s| format!("`{s}` is not a rule of the catalog"))
                .unwrap_or_else(|| "a waiver without `rule`".to_owned());
            cx.simple(
                Rule::WaiverInvalid,
                rule_node.map_or(item.pos, |n| n.pos),
                "x-pf-lint.waivers",
                what,
                HELP,
            );
            continue;
        };
        if reason.is_empty() {
            cx.simple(
                Rule::WaiverInvalid,
                item.pos,
                "x-pf-lint.waivers",
                format!("the waiver of `{rule}` gives no reason"),
                HELP,
            );
            continue;
        }
        let list = |k: &str| -> Vec<String> {
            item.get(k)
                .map(|n| n.strings().into_iter().map(|(s, _)| s.to_owned()).collect())
                .unwrap_or_default()
        };
        let files = list("files")
            .iter()
            .map(|f| relative_to(cx.name, f))
            .collect();
        cx.waivers.push(Waiver {
            rule,
            services: list("services"),
            files,
            reason: reason.to_owned(),
            at: cx.location(item.pos),
        });
    }
}

/// Reads `# pf-lint: waive RULE[,RULE] -- reason` comments of a config file.
pub(crate) fn from_comment(cx: &mut FileCx<'_>, comment: &str, pos: Pos) {
    let body = comment.trim_start_matches('#').trim();
    let Some(rest) = body.strip_prefix("pf-lint:") else {
        return;
    };
    let rest = rest.trim();
    let Some(rest) = rest.strip_prefix("waive") else {
        cx.simple(
            Rule::WaiverInvalid,
            pos,
            "",
            "a `pf-lint:` comment that is not `waive RULE -- reason`",
            "write `# pf-lint: waive RULE[,RULE] -- reason`",
        );
        return;
    };
    let (codes, reason) = match rest.split_once("--") {
        Some((c, r)) => (c, r.trim()),
        None => (rest, ""),
    };
    for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let Ok(rule) = code.parse::<Rule>() else {
            cx.simple(
                Rule::WaiverInvalid,
                pos,
                "",
                format!("`{code}` is not a rule of the catalog"),
                "`pf-render explain --catalog` lists the codes",
            );
            continue;
        };
        if reason.is_empty() {
            cx.simple(
                Rule::WaiverInvalid,
                pos,
                "",
                format!("the waiver of `{rule}` gives no reason"),
                "write `# pf-lint: waive RULE -- reason`",
            );
            continue;
        }
        cx.waivers.push(Waiver {
            rule,
            services: Vec::new(),
            files: Vec::new(),
            reason: reason.to_owned(),
            at: cx.location(pos),
        });
    }
}

/// `other` relative to the folder of `file`, lexically normalised
/// (`./a/../b` -> `b`), in the form lint names files.
pub(crate) fn relative_to(file: &str, other: &str) -> String {
    let dir = match file.rfind('/') {
        Some(i) => &file[..i],
        None => "",
    };
    let joined = if other.starts_with('/') || dir.is_empty() {
        other.to_owned()
    } else {
        format!("{dir}/{other}")
    };
    normalize(&joined)
}

pub(crate) fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Applies every file's waivers to every file's findings, reports unused
/// and invalid waivers, and builds the report.
pub(crate) fn apply(files: &mut [FileCx<'_>]) -> Report {
    let names: Vec<String> = files.iter().map(|f| normalize(f.name)).collect();
    let waivers: Vec<Waiver> = files.iter().flat_map(|f| f.waivers.clone()).collect();
    let mut used = vec![0usize; waivers.len()];
    let mut report = Report::default();

    for (i, file) in files.iter().enumerate() {
        let mut kept = Vec::new();
        for finding in &file.findings {
            let hit = waivers.iter().position(|w| {
                w.rule == finding.code
                    && if w.files.is_empty() {
                        normalize(&w.at.file) == names[i]
                    } else {
                        w.files.contains(&names[i])
                    }
                    && (w.services.is_empty()
                        || finding
                            .service
                            .as_ref()
                            .is_some_and(|s| w.services.contains(s)))
            });
            match hit {
                Some(w) if finding.code != Rule::WaiverInvalid => {
                    used[w] += 1;
                    report.waived.push(Waived {
                        finding: finding.clone(),
                        reason: waivers[w].reason.clone(),
                        waiver: waivers[w].at.clone(),
                    });
                }
                _ => kept.push(finding.clone()),
            }
        }
        report.findings.extend(kept);
    }

    // A waiver is unused only if every file it names was linted here.
    for (w, count) in waivers.iter().zip(&used) {
        let judged = if w.files.is_empty() {
            true
        } else {
            w.files.iter().all(|f| names.contains(f))
        };
        if *count == 0 && judged {
            report.findings.push(
                pf_diag::Finding::new(
                    Rule::WaiverUnused,
                    "x-pf-lint.waivers",
                    format!("the waiver of `{}` matches no finding", w.rule),
                    "remove it: the problem it excused is gone, or it names the wrong service or file",
                )
                .at(w.at.clone()),
            );
        }
    }

    let order = |file: &str| names.iter().position(|n| n == &normalize(file));
    report.findings.sort_by(|a, b| {
        (
            order(&a.location.file),
            a.location.line,
            a.location.column,
            a.code,
        )
            .cmp(&(
                order(&b.location.file),
                b.location.line,
                b.location.column,
                b.code,
            ))
    });

    for file in files.iter() {
        let count = |pred: &dyn Fn(&pf_diag::Diagnostic) -> bool| {
            report
                .findings
                .iter()
                .filter(|f| f.location.file == file.name && pred(f))
                .count()
        };
        report.files.push(FileReport {
            file: file.name.to_owned(),
            kind: file.kind,
            target: file.target,
            target_reason: file.target_reason.clone(),
            errors: count(&|f| f.is_error()),
            warnings: count(&|f| !f.is_error()),
            waived: report
                .waived
                .iter()
                .filter(|w| w.finding.location.file == file.name)
                .count(),
            ignored: 0,
        });
        if let Some(target) = file.target {
            for e in crate::rules::exceptions(target) {
                report.exceptions.push(crate::report::AppliedException {
                    file: file.name.to_owned(),
                    exception: *e,
                });
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;
    use crate::stack::tests::{codes, lint_stack};

    #[test]
    fn stack_waivers_need_a_reason_match_services_and_must_be_used() {
        let text = "services:
  a:
    image: x:1
  b:
    image: x:1
x-pf-lint:
  waivers:
  - rule: healthcheck-missing
    services: [a]
    reason: the image has no probe tool
  - rule: privileged
    reason: nothing is privileged here
  - rule: user-not-set
  - rule: no-such-rule
    reason: r
";
        let r = lint_stack(text, Target::Compose);
        let found = codes(&r);
        // `a` is waived, `b` is not.
        assert!(
            r.waived
                .iter()
                .any(|w| w.finding.code == Rule::HealthcheckMissing
                    && w.finding.service.as_deref() == Some("a"))
        );
        assert!(
            found.contains(&("healthcheck-missing".into(), 4)),
            "{found:?}"
        );
        assert!(found.contains(&("waiver-unused".into(), 11)), "{found:?}");
        assert!(found.contains(&("waiver-invalid".into(), 13)), "{found:?}");
        assert!(found.contains(&("waiver-invalid".into(), 14)), "{found:?}");
        // The invalid waiver waives nothing.
        assert!(found.contains(&("user-not-set".into(), 2)), "{found:?}");
    }

    #[test]
    fn paths_are_resolved_against_the_declaring_file() {
        assert_eq!(
            relative_to("out/docker-stack.yml", "redis/master.conf"),
            "out/redis/master.conf"
        );
        assert_eq!(
            relative_to("docker-stack.yml", "./redis/master.conf"),
            "redis/master.conf"
        );
        assert_eq!(relative_to("a/b/s.yml", "../c.conf"), "a/c.conf");
        assert_eq!(normalize("./x//y/../z"), "x/z");
    }
}
