//! A located problem in a topology file.

use std::fmt::Write as _;

use serde::Serialize;

use crate::codes::{Code, Severity};

/// Where a problem is: file, 1-based line and column, and the line's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (as given on the command line) or a label such as `<stdin>`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Characters to underline, at least 1.
    #[serde(skip)]
    pub width: usize,
    /// The text of the line, for the caret excerpt.
    #[serde(skip)]
    pub source_line: String,
}

/// One problem: a stable code, what is wrong, how to fix it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule or loading step that found it.
    pub code: Code,
    /// What is wrong, lower-case, naming the values involved.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The key path the problem is about (`redis.sentinel.quorum`); empty for the whole file.
    pub path: String,
    /// Where the key is in the file.
    pub location: Location,
}

impl Diagnostic {
    /// The severity of the diagnostic's code.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

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
    pub fn to_human(&self) -> String {
        human(
            self.severity(),
            self.code.name(),
            &self.message,
            &self.help,
            &self.location,
        )
    }

    /// A GitHub Actions workflow command that annotates the line in a pull request.
    pub fn to_github(&self) -> String {
        github(
            self.severity(),
            self.code.name(),
            &self.message,
            &self.help,
            &self.location,
        )
    }
}

/// The compiler-style text of one located problem (see
/// [`Diagnostic::to_human`]); `pf-lint` prints its findings with it too.
/// Control characters are escaped, values of secret-like keys and URL
/// passwords masked, and a long source line is shown only around the column.
pub fn human(severity: Severity, code: &str, message: &str, help: &str, loc: &Location) -> String {
    // Secret values in the line are masked (same length, so the caret
    // stays under its column), as the JSON format leaves lines out.
    let masked = crate::secret_like::mask_line(&loc.source_line);
    let (shown, caret_at, caret_width) = window(&masked, loc.column, loc.width);
    // A hostile or corrupt file must not drive the reader's terminal.
    let source_line = printable(&shown);
    let gutter = loc.line.to_string().len();
    let pad = " ".repeat(gutter);
    let mut out = String::new();
    let _ = writeln!(out, "{severity}[{code}]: {}", printable(message));
    let _ = writeln!(out, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {}", loc.line, source_line);
    let indent: String = shown
        .chars()
        .take(caret_at)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{pad} | {indent}{}", "^".repeat(caret_width));
    let _ = write!(out, "{pad} = help: {}", printable(help));
    out
}

/// One located problem as a GitHub Actions workflow command (see
/// [`Diagnostic::to_github`]).
pub fn github(severity: Severity, code: &str, message: &str, help: &str, loc: &Location) -> String {
    let kind = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let data = escape_data(&printable(&format!("{message} (help: {help})")));
    format!(
        "::{kind} file={},line={},col={},title={}::{data}",
        escape_property(&loc.file),
        loc.line,
        loc.column,
        escape_property(code),
    )
}

/// JSON form: one flat object per diagnostic.
impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 8)?;
        st.serialize_field("file", &self.location.file)?;
        st.serialize_field("line", &self.location.line)?;
        st.serialize_field("column", &self.location.column)?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("help", &self.help)?;
        st.serialize_field("path", &self.path)?;
        st.end()
    }
}

/// Control characters (escape sequences, NUL) shown as `\u{..}`; tabs kept.
/// Characters of a source line shown around the column, at most.
const LINE_WINDOW: usize = 160;
/// Of those, how many come before the column.
const BEFORE_COLUMN: usize = 60;
/// Characters of a message, help text or key path kept, at most.
const TEXT_LIMIT: usize = 400;

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

/// `text` cut to [`TEXT_LIMIT`] characters, saying how much was left out:
/// messages quote values, and a value can be megabytes long.
pub(crate) fn clip(text: String) -> String {
    let len = text.chars().count();
    if len <= TEXT_LIMIT {
        return text;
    }
    let mut out: String = text.chars().take(TEXT_LIMIT).collect();
    let _ = write!(out, "… ({} more characters)", len - TEXT_LIMIT);
    out
}

/// `s` with control characters (escape sequences, NUL) shown as `\\u{..}`;
/// tabs kept.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

// Escaping rules of GitHub workflow commands (actions/toolkit `command.ts`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Diagnostic {
        Diagnostic {
            code: Code::SentinelQuorumOutOfRange,
            message: "quorum 4 is more than the 3 sentinels".into(),
            help: "set quorum between 1 and 3".into(),
            path: "redis.sentinel.quorum".into(),
            location: Location {
                file: "a,b:c.toml".into(),
                line: 12,
                column: 10,
                width: 1,
                source_line: "quorum = 4".into(),
            },
        }
    }

    #[test]
    fn human_output_has_caret_under_the_column() {
        let text = sample().to_human();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error[sentinel-quorum-out-of-range]: quorum 4 is more than the 3 sentinels"
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
    fn long_texts_are_clipped_with_a_count() {
        assert_eq!(clip("short".into()), "short");
        let text = format!("invalid name `{}`", "a".repeat(10_000));
        let clipped = clip(text.clone());
        let kept: String = text.chars().take(TEXT_LIMIT).collect();
        assert_eq!(clipped, format!("{kept}… (9615 more characters)"));
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
        assert!(line.starts_with(
            "::error file=a%2Cb%3Ac.toml,line=12,col=10,title=sentinel-quorum-out-of-range::"
        ));
    }
}
