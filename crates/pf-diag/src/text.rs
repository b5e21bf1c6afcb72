//! Text that comes from input files, made safe to show: control and
//! bidirectional characters escaped, long texts clipped.

use std::fmt::Write as _;

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
    text.chars().find(|&c| unsafe_in_line(c))
}

fn unsafe_in_line(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with the characters [`first_unsafe_in_line`] finds (escape
/// sequences, NUL, line breaks, bidirectional controls) shown as
/// `\u{..}`; tabs kept. A hostile or corrupt file must not drive the
/// reader's terminal or reorder what it shows.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if unsafe_in_line(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters of a message, help text or key path kept, at most.
pub(crate) const TEXT_LIMIT: usize = 400;

/// `text` cut to `TEXT_LIMIT` (400) characters, saying how much was left out:
/// messages quote values, and a value can be megabytes long.
pub fn clip(text: String) -> String {
    let len = text.chars().count();
    if len <= TEXT_LIMIT {
        return text;
    }
    let mut out: String = text.chars().take(TEXT_LIMIT).collect();
    let _ = write!(out, "… ({} more characters)", len - TEXT_LIMIT);
    out
}

/// The candidate closest to a misspelt `word`, if it is close enough to
/// be a typo (for "did you mean" help).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
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

    #[test]
    fn printable_escapes_what_is_unsafe() {
        assert_eq!(printable("a\u{1b}[2J\tb"), "a\\u{1b}[2J\tb");
        assert_eq!(printable("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
        assert_eq!(printable("日本 ok"), "日本 ok");
    }

    #[test]
    fn suggests_the_closest_word() {
        assert_eq!(
            closest("replica", &["replicas", "image", "port"]),
            Some("replicas")
        );
        assert_eq!(closest("zzzzzz", &["replicas", "image"]), None);
    }

    #[test]
    fn long_texts_are_clipped_with_a_count() {
        assert_eq!(clip("short".into()), "short");
        let text = format!("invalid name `{}`", "a".repeat(10_000));
        let clipped = clip(text.clone());
        let kept: String = text.chars().take(TEXT_LIMIT).collect();
        assert_eq!(clipped, format!("{kept}… (9615 more characters)"));
    }
}
