//! The file being linted: its lines, the findings made so far, and the
//! waivers it declares.

use pf_diag::{Diagnostic, Finding, Location};

use crate::rules::{FileKind, Rule, Target};
use crate::waiver::Waiver;
use crate::yaml::Pos;

/// Per-file state while rules run.
pub(crate) struct FileCx<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
    pub(crate) kind: FileKind,
    lines: Vec<&'a str>,
    /// Set once a stack file's target is known; filters scoped rules.
    pub(crate) target: Option<Target>,
    pub(crate) target_reason: Option<String>,
    pub(crate) findings: Vec<Diagnostic>,
    pub(crate) waivers: Vec<Waiver>,
}

impl<'a> FileCx<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str, kind: FileKind) -> Self {
        Self {
            name,
            text,
            kind,
            lines: text.lines().collect(),
            target: None,
            target_reason: None,
            findings: Vec::new(),
            waivers: Vec::new(),
        }
    }

    /// The location of `pos`, underlining the token that starts there.
    pub(crate) fn location(&self, pos: Pos) -> Location {
        let line = pos.line.max(1);
        let source_line = self
            .lines
            .get(line - 1)
            .copied()
            .unwrap_or_default()
            .trim_end_matches('\r')
            .to_owned();
        let width = token_width(&source_line, pos.col);
        Location {
            file: self.name.to_owned(),
            line,
            column: pos.col.max(1),
            width,
            source_line,
        }
    }

    /// Records a finding at `pos`, unless the rule does not apply to the
    /// target or the target has an exception for it (named in the report
    /// instead).
    pub(crate) fn report(&mut self, pos: Pos, finding: Finding) {
        if let Some(target) = self.target
            && let Some(rule) = Rule::from_code(finding.code)
            && (!rule.scope().covers(target)
                || crate::rules::exceptions(target).any(|e| e.rule == rule))
        {
            return;
        }
        let location = self.location(pos);
        self.findings.push(finding.at(location));
    }

    /// Shorthand for a finding about the whole file or a line.
    pub(crate) fn simple(
        &mut self,
        rule: Rule,
        pos: Pos,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.report(pos, Finding::new(rule, path, message, help));
    }
}

/// Width of the token at a 1-based column: up to whitespace, a flow
/// separator, or a `: ` that ends a YAML key.
fn token_width(line: &str, col: usize) -> usize {
    let chars: Vec<char> = line.chars().skip(col.saturating_sub(1)).collect();
    let mut n = 0;
    let mut quote: Option<char> = None;
    while n < chars.len() {
        let c = chars[n];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => {
                if n == 0 && (c == '"' || c == '\'') {
                    quote = Some(c);
                } else if c.is_whitespace()
                    || matches!(c, ',' | ']' | '}' | ';')
                    || (c == ':' && chars.get(n + 1).is_none_or(|d| d.is_whitespace()))
                {
                    break;
                }
            }
        }
        n += 1;
    }
    n.max(1)
}

#[cfg(test)]
mod tests {
    use super::token_width;

    #[test]
    fn tokens_stop_at_keys_and_separators() {
        assert_eq!(token_width("    image: nginx", 5), 5);
        assert_eq!(token_width("    - \"80:80\"", 7), 7);
        assert_eq!(token_width("  - A=b c", 5), 3);
        assert_eq!(token_width("x", 9), 1);
    }
}
