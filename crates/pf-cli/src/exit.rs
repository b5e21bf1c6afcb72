//! Exit codes, shared by every subcommand.

use std::process::ExitCode;

/// The outcome of a command, from best to worst; combining keeps the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// Everything is fine (exit 0).
    Ok,
    /// The input has problems: invalid topology, drift, failed scenario (exit 1).
    Findings,
    /// The command could not run: bad usage, unreadable file, write failure (exit 2).
    Failure,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(match o {
            Outcome::Ok => 0,
            Outcome::Findings => 1,
            Outcome::Failure => 2,
        })
    }
}
