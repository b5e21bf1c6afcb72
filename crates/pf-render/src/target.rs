//! Deployment targets.

use std::fmt;

/// Where the bundle is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Docker Swarm, several hosts: `docker stack deploy -c docker-stack.yml`.
    Swarm,
    /// Docker Compose on one host: `docker compose -f docker-compose.ha.yml up`.
    Compose,
    /// Plain processes on this machine, each instance on its own loopback
    /// address with its production port: what `pf-render drill` runs.
    Local,
}

/// Where the local target puts things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// Absolute folder for the bundle, secrets, data, sockets and logs.
    pub run_dir: String,
    /// Move ports below 1024 up by 10000 (80 -> 10080), for a run without root.
    pub remap_privileged_ports: bool,
}

impl Default for LocalOptions {
    /// `/tmp/pf-local`, ports remapped: the form the golden files use.
    fn default() -> Self {
        Self {
            run_dir: "/tmp/pf-local".to_owned(),
            remap_privileged_ports: true,
        }
    }
}

impl Target {
    /// The lower-case name used on the command line and in output paths.
    pub fn name(self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Compose => "compose",
            Self::Local => "local",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
