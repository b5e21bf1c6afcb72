//! Everything the command prints goes through here, so one place decides
//! what happens when it cannot be printed.
//!
//! Standard output that cannot be written (`/dev/full`, a full disk, a
//! reader that went away: Rust ignores SIGPIPE, so that is EPIPE) is an I/O
//! error like any other: a message on stderr and exit 2, on every path.
//! Exiting quietly on EPIPE, as some tools do, is not done: for a drift
//! check or a render, "nobody read the result" must not look like success.
//! Standard error is best effort: when it cannot be written either, nothing
//! is left to report to, and the exit code still tells.

use std::io::Write as _;

use crate::exit::Outcome;

/// Writes `text` to stdout and flushes it. On failure, says so on stderr
/// and returns the outcome to exit with.
pub(crate) fn print(text: &str) -> Result<(), Outcome> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            error(&format!("error: cannot write to stdout: {e}"));
            Outcome::Failure
        })
}

/// [`print`], then `outcome` if it worked.
pub(crate) fn emit(text: &str, outcome: Outcome) -> Outcome {
    match print(text) {
        Ok(()) => outcome,
        Err(failed) => failed.max(outcome),
    }
}

/// Writes `text` and a newline to stderr, ignoring failure (see the module
/// documentation).
pub(crate) fn error(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// `error: <top>` followed by `caused by: <source>` for each cause.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = format!("error: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!("\n  caused by: {c}"));
        cause = c.source();
    }
    text
}

/// A path from disk as it is shown to a person: as it is, or quoted and
/// escaped when it holds control characters (a file name with a newline
/// must not forge a line of the report).
pub(crate) fn shown(path: &str) -> String {
    if path.chars().any(char::is_control) {
        format!("{path:?}")
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(shown("nginx/a.conf"), "nginx/a.conf");
        assert_eq!(shown("a\nerror: forged"), "\"a\\nerror: forged\"");
        assert_eq!(shown("tab\there"), "\"tab\\there\"");
    }
}
