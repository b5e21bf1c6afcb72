//! Rules for free text (secret descriptions, environment values): what
//! no generated file can hold safely, whatever its quoting.

/// Unicode bidirectional formatting characters (the "Trojan Source"
/// set, CVE-2021-42574): they make text display in another order than
/// a program reads it, so a reviewer of a generated file would not see
/// what runs.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The first character that cannot be part of one line of text: control
/// characters other than tab (line breaks, escape sequences, NUL), the
/// Unicode line and paragraph separators, and bidirectional controls.
pub fn first_unsafe_in_line(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\t') || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_text() {
        assert_eq!(first_unsafe_in_line("Password of the owner role"), None);
        assert_eq!(
            first_unsafe_in_line("tab\tand 'quotes' $(x) <!-- -->"),
            None
        );
        assert_eq!(first_unsafe_in_line("Grüße, 日本"), None);
        for (text, c) in [
            ("a\nEOF\nid", '\n'),
            ("a\rb", '\r'),
            ("\u{1b}[2J", '\u{1b}'),
            ("nul\u{0}", '\u{0}'),
            ("nel\u{85}", '\u{85}'),
            ("ls\u{2028}", '\u{2028}'),
            ("rlo\u{202e}", '\u{202e}'),
            ("isolate\u{2067}", '\u{2067}'),
        ] {
            assert_eq!(first_unsafe_in_line(text), Some(c), "{text:?}");
        }
    }
}
