//! Compiler-style text: the source line, a caret under the problem, and
//! the help.

use std::fmt::Write as _;

use crate::diagnostic::Diagnostic;
use crate::secret_like::mask_line;
use crate::text::printable;

/// Characters of a source line shown around the column, at most.
const LINE_WINDOW: usize = 160;
/// Of those, how many come before the column.
const BEFORE_COLUMN: usize = 60;

impl Diagnostic {
    /// Compiler-style text:
    ///
    /// ```text
    /// error[sentinel-quorum-out-of-range]: quorum 4 is more than the 3 sentinels
    ///   --> prod.toml:71:1
    ///    |
    /// 71 | quorum = 4
    ///    | ^^^^^^
    ///    = help: set quorum between 1 and 3; the majority is 2
    /// ```
    ///
    /// Control and bidirectional characters are escaped, values of
    /// secret-like keys and URL passwords masked, and a long source line
    /// is shown only around the column.
    pub fn to_human(&self) -> String {
        let loc = &self.location;
        // Secret values in the line are masked (same length, so the caret
        // stays under its column), as the JSON format leaves lines out.
        let masked = mask_line(&loc.source_line);
        let (shown, caret_at, caret_width) = window(&masked, loc.column, loc.width);
        let source_line = printable(&shown);
        let gutter = loc.line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            self.severity(),
            self.code,
            printable(&self.message)
        );
        let _ = writeln!(out, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{} | {}", loc.line, source_line);
        let indent: String = shown
            .chars()
            .take(caret_at)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{pad} | {indent}{}", "^".repeat(caret_width));
        let _ = write!(out, "{pad} = help: {}", printable(&self.help));
        out
    }
}

/// The part of `line` to show, where its caret starts (in characters) and
/// how wide it is: a line longer than [`LINE_WINDOW`] is cut around the
/// column, with `…` where text was left out, so a 10 MB one-line value
/// does not print 10 MB of source and 10 MB of carets.
fn window(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let col = column.saturating_sub(1);
    let len = line.chars().count();
    if len <= LINE_WINDOW {
        return (line.to_owned(), col, width.max(1));
    }
    let start = col.saturating_sub(BEFORE_COLUMN).min(len);
    let end = (start + LINE_WINDOW).min(len);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(start).take(end - start));
    if end < len {
        shown.push('…');
    }
    let caret_at = col - start + usize::from(start > 0);
    let caret_width = width.min(end.saturating_sub(col)).max(1);
    (shown, caret_at, caret_width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample;

    #[test]
    fn human_output_has_caret_under_the_column() {
        let text = sample().to_human();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error[sample-error]: quorum 4 is more than the 3 sentinels"
        );
        assert_eq!(lines[1], "  --> a,b:c.toml:12:10");
        assert_eq!(lines[3], "12 | quorum = 4");
        assert_eq!(lines[4], "   |          ^");
    }

    #[test]
    fn a_long_line_is_shown_around_the_column() {
        let mut d = sample();
        let value = "a".repeat(1_000_000);
        d.location.source_line = format!("name = \"{value}\" # end");
        d.location.column = 8;
        d.location.width = value.len() + 2;
        let text = d.to_human();
        assert!(text.len() < 1_000, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[3].starts_with("12 | name = \"aaa"), "{}", lines[3]);
        assert!(lines[3].ends_with('…'), "{}", lines[3]);
        assert_eq!(
            lines[4],
            format!("   |        {}", "^".repeat(LINE_WINDOW - 7))
        );

        // Far into the line: cut on both sides, the caret still under the column.
        d.location.source_line = format!("{value}X{value}");
        d.location.column = 1_000_001;
        d.location.width = 1;
        let text = d.to_human();
        let lines: Vec<&str> = text.lines().collect();
        let shown = lines[3].strip_prefix("12 | ").expect("gutter");
        let caret = lines[4].strip_prefix("   | ").expect("gutter");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        let at = caret.find('^').expect("caret");
        assert_eq!(shown.chars().nth(at), Some('X'), "{shown}\n{caret}");
    }

    #[test]
    fn control_characters_are_never_printed_raw() {
        let mut d = sample();
        d.message = "bad \u{1b}[2J value".into();
        d.location.source_line = "x = \"\u{1b}[2J\u{0}\"".into();
        let text = d.to_human() + &d.to_github();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{0}'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}"));
    }

    #[test]
    fn github_output_escapes_properties() {
        let line = sample().to_github();
        assert!(
            line.starts_with("::error file=a%2Cb%3Ac.toml,line=12,col=10,title=sample-error::")
        );
    }
}
