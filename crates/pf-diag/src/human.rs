//! Compiler-style text: the source line, a caret under the problem, and
//! the help, laid out by `annotate-snippets` as rustc and cargo lay out
//! theirs (carets aligned by display width: CJK, emoji, tabs).
//!
//! Before the line reaches it, the line is made safe here: values of
//! secret-like keys and URL passwords are masked, a long line is cut
//! around the column, and control and bidirectional characters are
//! escaped. The `-->` line is ours too: it names the column in the file,
//! not in the cut and escaped line that is shown.

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use anstyle::{AnsiColor, Style};

use crate::catalog::Severity;
use crate::diagnostic::Diagnostic;
use crate::secret_like::mask_line;
use crate::text::printable;

/// Characters of a source line shown around the column, at most.
const LINE_WINDOW: usize = 160;
/// Of those, how many come before the column.
const BEFORE_COLUMN: usize = 60;
/// Wide enough that the renderer never cuts the line itself: the window
/// above did, and escaping at most multiplies it by ten.
const TERM_WIDTH: usize = 4096;

impl Diagnostic {
    /// Compiler-style text:
    ///
    /// ```text
    /// error[sentinel-quorum-out-of-range]: quorum 4 is more than the 3 sentinels
    ///   --> prod.toml:71:1
    ///    |
    /// 71 | quorum = 4
    ///    | ^^^^^^
    ///    |
    ///    = help: set quorum between 1 and 3; the majority is 2
    /// ```
    ///
    /// Control and bidirectional characters are escaped, values of
    /// secret-like keys and URL passwords masked, and a long source line
    /// is shown only around the column.
    pub fn to_human(&self) -> String {
        self.render_human(false)
    }

    /// [`Diagnostic::to_human`] with ANSI colors, for a terminal.
    pub fn to_human_colored(&self) -> String {
        self.render_human(true)
    }

    fn render_human(&self, color: bool) -> String {
        let loc = &self.location;
        // Secret values in the line are masked (same length, so the caret
        // stays under its column), as the JSON format leaves lines out.
        let masked = mask_line(&loc.source_line);
        let (shown, caret_at, caret_width) = window(&masked, loc.column, loc.width);
        let (source, span) = escaped(&shown, caret_at, caret_width);
        let level = match self.severity() {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = printable(&self.message);
        let help = printable(&self.help);
        let report = &[level
            .primary_title(title.as_str())
            .id(self.code.name())
            .element(
                Snippet::source(source.as_str())
                    .line_start(loc.line)
                    .annotation(AnnotationKind::Primary.span(span)),
            )
            .element(Level::HELP.message(help.as_str()))];
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let body = renderer.term_width(TERM_WIDTH).render(report);
        let (title_line, rest) = body.split_once('\n').unwrap_or((&body, ""));
        let pad = " ".repeat(loc.line.to_string().len());
        let arrow = if color {
            let style = Style::new()
                .bold()
                .fg_color(Some(AnsiColor::BrightBlue.into()));
            format!("{style}-->{style:#}")
        } else {
            "-->".to_owned()
        };
        format!(
            "{title_line}\n{pad}{arrow} {}:{}:{}\n{rest}",
            printable(&loc.file),
            loc.line,
            loc.column
        )
    }
}

/// `shown` with [`printable`]'s escapes, and the byte range of the
/// characters `at .. at + width` in the result (the renderer takes byte
/// ranges on character boundaries). A caret past the end of the line
/// marks the end.
fn escaped(shown: &str, at: usize, width: usize) -> (String, std::ops::Range<usize>) {
    let mut out = String::with_capacity(shown.len());
    let (mut start, mut end) = (None, None);
    for (i, c) in shown.chars().enumerate() {
        if i == at {
            start = Some(out.len());
        }
        if i == at + width {
            end = Some(out.len());
        }
        out.push_str(&printable(c.encode_utf8(&mut [0; 4])));
    }
    let start = start.unwrap_or(out.len());
    let end = end.unwrap_or(out.len()).max(start);
    (out, start..end)
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
        assert_eq!(lines[6], "   = help: set quorum between 1 and 3");
    }

    /// Carets sit under the marked text however wide its characters are
    /// on screen: CJK and emoji take two columns, a tab four.
    #[test]
    fn carets_align_by_display_width() {
        for (line, column, width, caret) in [
            ("名前 = \"日本\" x", 6, 4, "   |        ^^^^^^"),
            ("a 🎉 = 1", 7, 1, "   |        ^"),
            ("\tx = 1", 2, 1, "   |     ^"),
        ] {
            let mut d = sample();
            d.location.source_line = line.into();
            d.location.column = column;
            d.location.width = width;
            let text = d.to_human();
            assert_eq!(text.lines().nth(4), Some(caret), "{text}");
        }
    }

    /// An escaped character before the column moves the caret with it; a
    /// column past the end of the line marks the end; nothing panics on
    /// multibyte text.
    #[test]
    fn carets_follow_escapes_and_line_ends() {
        let mut d = sample();
        d.location.source_line = "x = \"\u{1b}\" é".into();
        d.location.column = 9;
        let text = d.to_human();
        assert_eq!(text.lines().nth(3), Some("12 | x = \"\\u{1b}\" é"));
        assert_eq!(text.lines().nth(4), Some("   |              ^"));
        d.location.column = 40;
        let text = d.to_human();
        assert_eq!(text.lines().nth(4), Some("   |               ^"), "{text}");
        assert!(text.contains("--> a,b:c.toml:12:40"));
    }

    #[test]
    fn colors_only_when_asked() {
        let d = sample();
        assert!(!d.to_human().contains('\u{1b}'));
        let colored = d.to_human_colored();
        assert!(colored.contains("\u{1b}["), "{colored:?}");
        let plain: String = strip_ansi(&colored);
        assert_eq!(plain, d.to_human());
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
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
