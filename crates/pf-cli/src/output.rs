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

use std::io::{IsTerminal as _, Write as _};
use std::sync::OnceLock;

use crate::exit::Outcome;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Color on a terminal, unless `NO_COLOR` is set (or `CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always color human diagnostics.
    Always,
    /// Never color.
    Never,
}

/// How much the command prints, and whether in color: set once from the
/// global options, read by every command.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Settings {
    /// `--color`.
    pub(crate) color: ColorChoice,
    /// `-q`: only diagnostics, results and errors.
    pub(crate) quiet: bool,
    /// `-v`: also say which configuration was used and what was skipped.
    pub(crate) verbose: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets the output settings; the first call wins (there is one, in `cli`).
pub(crate) fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

/// `-q` was given.
pub(crate) fn quiet() -> bool {
    settings().quiet
}

/// `-v` was given (and not `-q`).
pub(crate) fn verbose() -> bool {
    let s = settings();
    s.verbose && !s.quiet
}

/// The standard streams.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Whether human diagnostics written to `stream` are colored: `--color
/// always|never`, else (auto) `NO_COLOR` (set and not empty) turns color
/// off, `CLICOLOR_FORCE` (set, not empty, not `0`) turns it on, and
/// otherwise only a terminal that is not `TERM=dumb` gets color.
pub(crate) fn colored(stream: Stream) -> bool {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match settings().color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if var("NO_COLOR").is_some() {
                return false;
            }
            if var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                return true;
            }
            let terminal = match stream {
                Stream::Stdout => std::io::stdout().is_terminal(),
                Stream::Stderr => std::io::stderr().is_terminal(),
            };
            terminal && var("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// A diagnostic as compiler-style text, colored when `stream` is.
pub(crate) fn human(d: &pf_diag::Diagnostic, stream: Stream) -> String {
    if colored(stream) {
        d.to_human_colored()
    } else {
        d.to_human()
    }
}

/// A note for `-v` on stderr.
pub(crate) fn note(text: &str) {
    if verbose() {
        error(&format!("note: {text}"));
    }
}

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
