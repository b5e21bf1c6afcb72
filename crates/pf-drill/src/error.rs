//! Why a drill could not run. A scenario that fails is not an error: it is
//! a result in the report.

/// The drill could not run (or finish): nothing was measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// This machine cannot run the drill: a missing program, an address in
    /// use, a folder that cannot be written. The message names the fix.
    #[error("{0}")]
    Environment(String),
    /// Ctrl-C or SIGTERM: everything started was stopped.
    #[error("interrupted: every process the drill started was stopped")]
    Interrupted,
}

impl DrillError {
    /// An environment error from a message.
    pub(crate) fn env(message: impl Into<String>) -> Self {
        Self::Environment(message.into())
    }

    /// An I/O failure on `what`, as an environment error.
    pub(crate) fn io(what: impl std::fmt::Display, e: &std::io::Error) -> Self {
        Self::Environment(format!("{what}: {e}"))
    }
}

/// Why starting the local system or a scenario step failed: either the
/// system misbehaved (a finding, with a message that points at the cause)
/// or the drill itself had to stop.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The rendered system did not do what it should.
    Finding(String),
    /// The drill cannot go on.
    Drill(DrillError),
}

impl From<DrillError> for Failure {
    fn from(e: DrillError) -> Self {
        Self::Drill(e)
    }
}

/// A finding, as the error of a step.
pub(crate) fn finding<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Finding(message.into()))
}
