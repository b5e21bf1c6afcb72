//! Instances: every running thing of a deployment, with the name, host,
//! container, address, data folder and files the target gives it. The
//! [`Namer`] makes these choices for one target, so every tier names and
//! places its instances the same way.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::deployment::Deployment;
use super::local::LocalPlan;
use crate::files::mount;
use crate::target::{LocalOptions, Target};

/// One running container (Compose), one service (Swarm: replicated for the
/// stateless tiers) or one process (local).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Instance {
    /// Service name in the stack or compose file (`postgres-replica`,
    /// `backend1`), and the process name on the local target.
    pub name: String,
    /// What it runs.
    pub kind: Kind,
    /// The name (containers) or address (local) other instances use to reach it.
    pub host: String,
    /// Container name (`promptforge-postgres-replica`) on Compose; the
    /// Swarm service name (`promptforge_postgres-replica`) on Swarm.
    pub container: String,
    /// The address it listens on: `0.0.0.0` in a container, its own
    /// loopback address on the local target.
    pub listen: IpAddr,
    /// Where it keeps its state, if it keeps any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataDir>,
    /// Files of the bundle it reads, and where it reads them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BundleFile>,
    /// How the orchestrator runs it; `None` on the local target, where the
    /// drill starts plain processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
}

/// What an instance runs: decides its networks, its hardening and the lint
/// waivers the stack file states for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The nginx load balancer.
    LoadBalancer,
    /// A stateless app service of the topology.
    App,
    /// A PostgreSQL server.
    Postgres,
    /// A Redis data node.
    Redis,
    /// A Redis Sentinel.
    Sentinel,
    /// A Prometheus exporter.
    Exporter,
    /// Prometheus.
    Prometheus,
    /// Alertmanager.
    Alertmanager,
    /// Grafana.
    Grafana,
}

/// Where an instance keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DataDir {
    /// The named volume holding it (containers); `None` on the local target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// Where the instance sees it: the volume's mount point in a container,
    /// its own folder under the run folder on the local target.
    pub path: PathBuf,
}

/// A file of the bundle and where the processes of this target read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct BundleFile {
    /// Path in the bundle (`postgresql/primary.conf`).
    pub artifact: String,
    /// Where it is read: its mount point in a container, its path in the
    /// written bundle on the local target.
    pub path: PathBuf,
    /// Permission bits where it is mounted (written in octal: `0444`).
    #[serde(serialize_with = "octal")]
    pub mode: u32,
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{mode:04o}"))
}

/// Read-only for everyone: configuration files.
pub(super) const READ_ONLY: u32 = 0o444;
/// Read-only and executable: scripts and entrypoints.
pub(super) const EXECUTABLE: u32 = 0o555;

/// A host and port another instance connects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Endpoint {
    pub(super) fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for Endpoint {
    /// `host:port`, as nginx, libpq URLs and Prometheus write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Names, addresses and folders for one target.
pub(super) struct Namer<'a> {
    pub(super) stack: &'a str,
    pub(super) target: &'a Target,
    pub(super) local: Option<(&'a LocalOptions, &'a LocalPlan)>,
    /// The stack's networks (fixed addresses come from the data network).
    pub(super) networks: &'a super::network::Networks,
}

impl Namer<'_> {
    /// True on Swarm.
    pub(super) fn swarm(&self) -> bool {
        *self.target == Target::Swarm
    }

    /// True in containers (Swarm and Compose): instances get a deployment.
    pub(super) fn containers(&self) -> bool {
        self.local.is_none()
    }

    /// An instance named `name`, at `address` on the local target. A
    /// stateful instance keeps its data on a volume mounted at
    /// `volume_target` in a container, and in its own folder locally.
    pub(super) fn instance(
        &self,
        name: &str,
        kind: Kind,
        address: Ipv4Addr,
        volume_target: Option<&str>,
    ) -> Instance {
        match self.local {
            Some((_, local)) => Instance {
                name: name.to_owned(),
                kind,
                host: address.to_string(),
                container: name.to_owned(),
                listen: IpAddr::V4(address),
                data: volume_target.map(|_| DataDir {
                    volume: None,
                    path: local.data_dir.join(name),
                }),
                files: Vec::new(),
                deployment: None,
            },
            None => Instance {
                name: name.to_owned(),
                kind,
                host: name.to_owned(),
                container: self.container(name),
                listen: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                data: volume_target.map(|target| DataDir {
                    volume: Some(format!("{name}-data")),
                    path: PathBuf::from(target),
                }),
                files: Vec::new(),
                deployment: None,
            },
        }
    }

    /// The fixed address of data-network slot `slot`, where the target has
    /// fixed addresses (Compose).
    pub(super) fn fixed_address(&self, slot: u32) -> Option<Ipv4Addr> {
        self.networks.fixed_address(slot)
    }

    /// Gives a container instance the fixed address of `slot` on the data
    /// network, where the target has them: others then reach it by that
    /// address (`host`), which needs no DNS and survives its stop. Its
    /// deployment, made later, takes the address from `host`.
    pub(super) fn pin(&self, instance: &mut Instance, slot: u32) {
        if self.containers()
            && let Some(ip) = self.fixed_address(slot)
        {
            instance.host = ip.to_string();
        }
    }

    /// A monitoring service: always named like a container service (the
    /// local target does not run them).
    pub(super) fn service(&self, name: &str, kind: Kind, volume: Option<&str>) -> Instance {
        Instance {
            name: name.to_owned(),
            kind,
            host: name.to_owned(),
            container: self.container(name),
            listen: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            data: volume.map(|target| DataDir {
                volume: Some(format!("{name}-data")),
                path: PathBuf::from(target),
            }),
            files: Vec::new(),
            deployment: None,
        }
    }

    /// The Swarm service name (`promptforge_nginx`) or the guide's
    /// container name (`promptforge-backend-1`).
    fn container(&self, name: &str) -> String {
        if self.swarm() {
            format!("{}_{name}", self.stack)
        } else {
            container_name(self.stack, name)
        }
    }

    /// Where a secret's file is, as the processes of this target see it.
    pub(super) fn secret_file(&self, name: &str) -> PathBuf {
        match self.local {
            Some((_, local)) => local.secrets_dir.join(name),
            None => Path::new(mount::SECRETS).join(name),
        }
    }

    /// A bundle file and where this target reads it: its mount point in a
    /// container, its path in the written bundle locally.
    pub(super) fn file(&self, artifact: &str, mounted: &str, mode: u32) -> BundleFile {
        BundleFile {
            artifact: artifact.to_owned(),
            path: match self.local {
                Some((_, local)) => local.bundle_dir.join(artifact),
                None => PathBuf::from(mounted),
            },
            mode,
        }
    }

    /// A port as the target binds it (moved up locally without root).
    pub(super) fn port(&self, port: u16) -> u16 {
        match self.local {
            Some((options, _)) => super::local::port(options, port),
            None => port,
        }
    }
}

/// `promptforge` + `backend1` -> `promptforge-backend-1`, as the guide names containers.
fn container_name(stack: &str, instance: &str) -> String {
    let digits = instance.len()
        - instance
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .len();
    let (base, number) = instance.split_at(instance.len() - digits);
    if digits > 0 && !base.ends_with('-') {
        format!("{stack}-{base}-{number}")
    } else {
        format!("{stack}-{instance}")
    }
}

#[cfg(test)]
mod tests {
    use super::container_name;

    #[test]
    fn container_names_follow_the_guide() {
        assert_eq!(
            container_name("promptforge", "backend1"),
            "promptforge-backend-1"
        );
        assert_eq!(
            container_name("promptforge", "nginx-lb"),
            "promptforge-nginx-lb"
        );
        assert_eq!(
            container_name("promptforge", "redis-sentinel-1"),
            "promptforge-redis-sentinel-1"
        );
        assert_eq!(
            container_name("promptforge", "postgres-primary"),
            "promptforge-postgres-primary"
        );
    }
}
