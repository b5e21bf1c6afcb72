//! Escaping of input text for each kind of file it reaches.
//!
//! Validation keeps names, routes, paths, host names and images to their
//! grammars; what remains free text (secret descriptions, environment
//! values, the topology's file name) goes through one of these functions
//! wherever it is written, so no input can end a comment, a quoted string,
//! a heredoc or a Markdown construct early. Shell words use the `sq`
//! template filter (`templates.rs`).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `'it'\''s'`: one shell word whose value is `s`, whatever it holds
/// (the `sq` template filter).
pub(crate) fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The topology's file name as generated files name it: the last path
/// component only, so `./topologies/prod.toml`, `topologies/prod.toml`
/// and `/abs/topologies/prod.toml` give the same bytes; characters
/// outside a small safe set are percent-encoded (UTF-8 bytes), so the
/// label is one line that no comment syntax reads as anything but text
/// (`#` comments of shell, YAML, nginx and configs; `<!-- -->` in
/// Markdown, which `>` could end).
pub(crate) fn file_label(origin: &str) -> String {
    let name = origin
        .rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(origin);
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-+,=@~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if out.is_empty() {
        out.push_str("topology");
    }
    out
}

/// Text for the rest of a `#` comment line (shell, YAML, .env, nginx,
/// PostgreSQL and Redis configs): line breaks of any of those readers
/// (including YAML 1.1's NEL, LS and PS), other control characters and
/// bidirectional overrides are written as `\u{..}`, so the comment ends
/// where the line ends and reads as it displays.
pub(crate) fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if unsafe_in_line(c) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that break a line or change how the rest of it displays
/// (the rule of [`pf_model::units::first_unsafe_in_line`]).
fn unsafe_in_line(c: char) -> bool {
    pf_model::units::first_unsafe_in_line(c.encode_utf8(&mut [0; 4])).is_some()
}

/// Text for a cell of a Markdown table or running Markdown text: HTML
/// and the Markdown syntax that could change what a reader sees
/// (`|`, backticks, brackets, backslashes) are escaped, so a description
/// can neither end the cell nor start a tag, a link, an image or a code
/// span. Emphasis (`*`, `_`) is left alone: it only styles the text.
pub(crate) fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in comment_text(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value for Compose and `docker stack deploy`, which interpolate
/// `$VAR` and `${VAR}` from the deploying shell: `$` becomes `$$`, so the
/// container gets the value exactly as the topology wrote it.
pub(crate) fn compose_literal(value: &str) -> Cow<'_, str> {
    if value.contains('$') {
        Cow::Owned(value.replace('$', "$$"))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_labels_do_not_depend_on_how_the_path_is_typed() {
        for spelling in [
            "prod.toml",
            "./topologies/prod.toml",
            "topologies/prod.toml",
            "/work/x/topologies/prod.toml",
            "topologies//prod.toml",
            "topologies/prod.toml/",
        ] {
            assert_eq!(file_label(spelling), "prod.toml", "{spelling}");
        }
    }

    #[test]
    fn file_labels_are_one_inert_line() {
        assert_eq!(file_label("a\nb.toml"), "a%0Ab.toml");
        assert_eq!(file_label("x-->y.toml"), "x--%3Ey.toml");
        assert_eq!(file_label("<stdin>"), "%3Cstdin%3E");
        assert_eq!(file_label("$(id) `x`.toml"), "%24%28id%29%20%60x%60.toml");
        assert_eq!(file_label("caf\u{e9}.toml"), "caf%C3%A9.toml");
        assert_eq!(file_label("100%.toml"), "100%25.toml");
        assert_eq!(file_label(""), "topology");
        for s in [
            "a\u{202e}b",
            "a\u{2028}b",
            "a\u{85}b",
            "a\rb",
            "a-->b",
            "a--!>b",
        ] {
            let label = file_label(s);
            assert!(
                label.bytes().all(|b| b.is_ascii_graphic()) && !label.contains('>'),
                "{label}"
            );
        }
    }

    #[test]
    fn comment_text_stays_on_its_line() {
        assert_eq!(comment_text("a\nb"), "a\\u{a}b");
        assert_eq!(
            comment_text("a\u{2028}b\u{85}c\rd"),
            "a\\u{2028}b\\u{85}c\\u{d}d"
        );
        assert_eq!(comment_text("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(comment_text("tab\there $(id) 'q'"), "tab\there $(id) 'q'");
        assert_eq!(comment_text("Grüße"), "Grüße");
    }

    #[test]
    fn markdown_text_cannot_open_syntax() {
        assert_eq!(
            markdown_text("a|b <script> `c` [x](y) -->"),
            "a\\|b &lt;script&gt; \\`c\\` \\[x\\](y) --&gt;"
        );
        assert_eq!(markdown_text("line\nbreak"), "line\\\\u{a}break");
    }

    #[test]
    fn shell_words_are_literal() {
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(id) `x` \"q\""), "'$(id) `x` \"q\"'");
    }

    #[test]
    fn dollars_are_doubled() {
        assert_eq!(compose_literal("a$b${C}$$"), "a$$b$${C}$$$$");
        assert_eq!(compose_literal("plain"), "plain");
    }
}
