//! Typed Compose/Stack YAML. Only the keys we emit exist here, so a key
//! that `docker stack deploy` ignores (`container_name`, `restart`,
//! `depends_on`) can only appear where the compose emitter sets it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

/// A map that keeps insertion order (services read in topology order:
/// load balancer, apps, PostgreSQL, Redis, monitoring).
#[derive(Debug, Clone)]
pub(crate) struct Ordered<V>(pub(crate) Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<V> Ordered<V> {
    pub(crate) fn push(&mut self, key: impl Into<String>, value: V) {
        self.0.push((key.into(), value));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A whole stack or compose file.
#[derive(Debug, Serialize)]
pub(crate) struct File {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    pub(crate) services: Ordered<Service>,
    pub(crate) networks: Ordered<Network>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub(crate) volumes: Ordered<Volume>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub(crate) configs: Ordered<FileObject>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub(crate) secrets: Ordered<FileObject>,
    /// Findings of `pf-render lint` this file accepts, each with its reason.
    /// `x-` keys are ignored by Compose and by `docker stack deploy` (3.4+).
    #[serde(rename = "x-pf-lint", skip_serializing_if = "Option::is_none")]
    pub(crate) lint: Option<Lint>,
}

/// `x-pf-lint`: the waivers of this bundle.
#[derive(Debug, Serialize)]
pub(crate) struct Lint {
    pub(crate) waivers: Vec<Waiver>,
}

/// One accepted lint finding: which rule, where, and why.
#[derive(Debug, Serialize)]
pub(crate) struct Waiver {
    pub(crate) rule: pf_lint::Rule,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<String>,
    /// Other files of the bundle, relative to the stack file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<String>,
    pub(crate) reason: String,
}

/// One service.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Service {
    pub(crate) image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hostname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) command: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) ports: Vec<Port>,
    pub(crate) networks: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) read_only: bool,
    /// Compose only: `docker stack deploy` ignores it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) security_opt: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) configs: Vec<ObjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets: Vec<SecretRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) depends_on: Option<Ordered<DependsOn>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restart: Option<String>,
    pub(crate) deploy: Deploy,
}

/// A published port, long syntax.
#[derive(Debug, Serialize)]
pub(crate) struct Port {
    pub(crate) target: u16,
    pub(crate) published: u16,
    pub(crate) protocol: &'static str,
    pub(crate) mode: &'static str,
}

/// A volume, bind or tmpfs mount, long syntax.
#[derive(Debug, Serialize)]
pub(crate) struct Mount {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// Empty for tmpfs (Docker rejects a tmpfs source).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source: String,
    pub(crate) target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) read_only: bool,
}

/// A config mounted into a service (Swarm).
#[derive(Debug, Serialize)]
pub(crate) struct ObjectRef {
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) mode: u32,
}

/// A secret mounted into a service: by name, at `/run/secrets/<name>`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct SecretRef(pub(crate) String);

/// Health check of the local process only.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Healthcheck {
    pub(crate) test: Vec<String>,
    pub(crate) interval: String,
    pub(crate) timeout: String,
    pub(crate) retries: u32,
    pub(crate) start_period: String,
}

/// Compose start ordering.
#[derive(Debug, Serialize)]
pub(crate) struct DependsOn {
    pub(crate) condition: &'static str,
}

/// `deploy:`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) endpoint_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) placement: Option<Placement>,
    pub(crate) resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restart_policy: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) update_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rollback_config: Option<UpdateConfig>,
}

/// `deploy.placement`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Placement {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) constraints: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_replicas_per_node: Option<u32>,
}

/// `deploy.resources`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Resources {
    pub(crate) limits: Limits,
    pub(crate) reservations: Reservations,
}

/// Limits; `cpus` is a string because the v3 schema rejects numbers.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Limits {
    pub(crate) cpus: String,
    pub(crate) memory: String,
    pub(crate) pids: u32,
}

/// Reservations.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Reservations {
    pub(crate) cpus: String,
    pub(crate) memory: String,
}

/// `deploy.restart_policy`.
#[derive(Debug, Serialize)]
pub(crate) struct RestartPolicy {
    pub(crate) condition: &'static str,
    pub(crate) delay: String,
    pub(crate) max_attempts: u32,
    pub(crate) window: String,
}

/// `deploy.update_config` / `rollback_config`.
#[derive(Debug, Serialize)]
pub(crate) struct UpdateConfig {
    pub(crate) parallelism: u32,
    pub(crate) delay: String,
    pub(crate) failure_action: &'static str,
    pub(crate) monitor: String,
    pub(crate) max_failure_ratio: f64,
    pub(crate) order: &'static str,
}

/// A network.
#[derive(Debug, Serialize)]
pub(crate) struct Network {
    pub(crate) driver: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) attachable: bool,
    /// No route out of the host or swarm, and nothing can be published from it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) internal: bool,
    pub(crate) ipam: Ipam,
}

/// Network address management.
#[derive(Debug, Serialize)]
pub(crate) struct Ipam {
    pub(crate) config: Vec<Subnet>,
}

/// One subnet.
#[derive(Debug, Serialize)]
pub(crate) struct Subnet {
    pub(crate) subnet: String,
}

/// A named volume (defaults).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Volume {}

/// A top-level config or secret.
#[derive(Debug, Default, Serialize)]
pub(crate) struct FileObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) external: bool,
}
