//! Deployment targets.

use std::fmt;

/// Where the bundle is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Docker Swarm, several hosts: `docker stack deploy -c docker-stack.yml`.
    Swarm,
    /// Docker Compose on one host: `docker compose -f docker-compose.ha.yml up`.
    Compose,
}

impl Target {
    /// The lower-case name used on the command line and in output paths.
    pub fn name(self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Compose => "compose",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
