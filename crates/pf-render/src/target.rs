//! Deployment targets.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Where the bundle is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Target {
    /// Docker Swarm, several hosts: `docker stack deploy -c docker-stack.yml`.
    Swarm,
    /// Docker Compose on one host: `docker compose -f docker-compose.ha.yml up`.
    Compose,
    /// Plain processes on this machine, each instance on its own loopback
    /// address with its production port: what `pf-render drill` runs.
    Local(LocalOptions),
}

/// Where the local target puts things.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
// Options are added without a major version: start from `LocalOptions::default()`.
#[non_exhaustive]
pub struct LocalOptions {
    /// Absolute folder for the bundle, secrets, data, sockets and logs.
    pub run_dir: PathBuf,
    /// Move ports below 1024 up by 10000 (80 -> 10080), for a run without root.
    pub remap_privileged_ports: bool,
}

impl LocalOptions {
    /// A run in `run_dir` (absolute); ports below 1024 move up by 10000
    /// when `remap_privileged_ports` (a run without root).
    pub fn new(run_dir: impl Into<PathBuf>, remap_privileged_ports: bool) -> Self {
        Self {
            run_dir: run_dir.into(),
            remap_privileged_ports,
        }
    }
}

impl Default for LocalOptions {
    /// `/tmp/pf-local`, ports remapped: the form tests and `inspect` use,
    /// so their output does not depend on the machine.
    fn default() -> Self {
        Self {
            run_dir: PathBuf::from("/tmp/pf-local"),
            remap_privileged_ports: true,
        }
    }
}

impl Target {
    /// The local target with [`LocalOptions::default`].
    pub fn local() -> Self {
        Self::Local(LocalOptions::default())
    }

    /// The lower-case name used on the command line and in output paths.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Compose => "compose",
            Self::Local(_) => "local",
        }
    }

    /// The local target's options; `None` for the container targets.
    pub fn local_options(&self) -> Option<&LocalOptions> {
        match self {
            Self::Local(options) => Some(options),
            Self::Swarm | Self::Compose => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
