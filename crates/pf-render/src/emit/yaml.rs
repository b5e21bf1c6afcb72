//! Typed Compose/Stack YAML. Only the keys we emit exist here, so a key
//! that `docker stack deploy` ignores (`container_name`, `restart`,
//! `depends_on`) can only appear where the compose emitter sets it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::escape::compose_literal;
use crate::plan::{Deployment, Instance, NetworkPlan, Plan};

/// serde's `skip_serializing_if` passes the field as it is typed.
#[allow(clippy::ptr_arg)]
fn is_empty(s: &Cow<'_, str>) -> bool {
    s.is_empty()
}

/// Free text of the plan, written literally: Compose and `docker stack
/// deploy` interpolate `$`, so it becomes `$$` as it is written, without
/// a copy of the plan's strings.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Literals<'a>(pub(crate) &'a [String]);

impl Literals<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Literals<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|v| compose_literal(v)))
    }
}

/// An environment written like [`Literals`], in the map's (sorted) order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiteralMap<'a>(pub(crate) &'a BTreeMap<String, String>);

impl Default for LiteralMap<'_> {
    fn default() -> Self {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        Self(&EMPTY)
    }
}

impl LiteralMap<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for LiteralMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, compose_literal(v))))
    }
}

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

/// A whole stack or compose file, borrowing from the plan.
#[derive(Debug, Serialize)]
pub(crate) struct File<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    pub(crate) services: Ordered<Service<'a>>,
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
    pub(crate) lint: Option<Lint<'a>>,
}

/// `x-pf-lint`: the waivers of this bundle (the plan's, each rule with
/// its services or files and its reason).
#[derive(Debug, Serialize)]
pub(crate) struct Lint<'a> {
    pub(crate) waivers: &'a [crate::plan::Waiver],
}

/// One service.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Service<'a> {
    pub(crate) image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) container_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Literals::is_empty")]
    pub(crate) entrypoint: Literals<'a>,
    #[serde(skip_serializing_if = "Literals::is_empty")]
    pub(crate) command: Literals<'a>,
    #[serde(skip_serializing_if = "LiteralMap::is_empty")]
    pub(crate) environment: LiteralMap<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) ports: Vec<Port>,
    pub(crate) networks: ServiceNetworks<'a>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) read_only: bool,
    /// Compose only: `docker stack deploy` ignores it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) security_opt: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) volumes: Vec<Mount<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) configs: Vec<ObjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets: Vec<SecretRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) healthcheck: Option<Healthcheck<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) depends_on: Option<Ordered<DependsOn>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restart: Option<String>,
    pub(crate) deploy: Deploy,
}

/// The networks of a service: a list, or a map where one attachment needs
/// more than a name: the aliases of a PostgreSQL member (`postgres-primary`
/// follows the primary) or, on Compose, a fixed address; both are on the
/// data network.
#[derive(Debug, Default)]
pub(crate) struct ServiceNetworks<'a> {
    pub(crate) names: Vec<&'a str>,
    /// The name of the data network, which carries the aliases and the
    /// fixed address.
    pub(crate) data: &'a str,
    /// More names the service answers to on the data network.
    pub(crate) aliases: &'a [String],
    /// The fixed address on the data network.
    pub(crate) fixed: Option<std::net::Ipv4Addr>,
}

/// One network of a service, map form.
#[derive(Debug, Serialize)]
struct Attachment<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    aliases: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4_address: Option<String>,
}

impl Serialize for ServiceNetworks<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.aliases.is_empty() && self.fixed.is_none() {
            return s.collect_seq(&self.names);
        }
        s.collect_map(self.names.iter().map(|n| {
            let data = *n == self.data;
            (
                n,
                Attachment {
                    aliases: if data { self.aliases } else { &[] },
                    ipv4_address: self.fixed.filter(|_| data).map(|ip| ip.to_string()),
                },
            )
        }))
    }
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
pub(crate) struct Mount<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// Empty for tmpfs (Docker rejects a tmpfs source).
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) source: Cow<'a, str>,
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

/// A secret mounted into a service: by name (Docker's default, root-owned
/// mode 0444; Compose bind-mounts the host file as it is), or owned by the
/// user that reads it with mode 0400 (Swarm).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum SecretRef<'a> {
    Short(&'a str),
    Long {
        source: &'a str,
        target: &'a str,
        /// Strings in the v3 schema.
        uid: String,
        gid: String,
        mode: u32,
    },
}

/// Health check of the local process only.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Healthcheck<'a> {
    pub(crate) test: Literals<'a>,
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

/// `deploy.restart_policy`. Without `max_attempts` Swarm restarts for as
/// long as it takes; `window` only counts attempts, so it goes with it.
#[derive(Debug, Serialize)]
pub(crate) struct RestartPolicy {
    pub(crate) condition: &'static str,
    pub(crate) delay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) window: Option<String>,
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
    /// Where Docker picks addresses of its own; the rest of the subnet is
    /// for fixed addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ip_range: Option<String>,
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

impl<'a> Service<'a> {
    /// The keys the stack and the compose file write alike for one
    /// instance. Free text is written literally: Compose and `docker stack
    /// deploy` interpolate `$`, so it becomes `$$`.
    pub(crate) fn common(plan: &'a Plan, d: &'a Deployment) -> Self {
        Self {
            image: &d.image,
            entrypoint: Literals(&d.entrypoint),
            command: Literals(&d.command),
            environment: LiteralMap(&d.environment),
            networks: ServiceNetworks {
                names: d
                    .networks
                    .iter()
                    .map(|n| plan.networks.get(*n).name.as_str())
                    .collect(),
                data: plan.networks.data.name.as_str(),
                aliases: &d.aliases,
                fixed: d.address,
            },
            sysctls: d.sysctls.clone(),
            read_only: d.read_only,
            secrets: d.secrets.iter().map(|s| SecretRef::Short(s)).collect(),
            healthcheck: d.healthcheck.as_ref().map(|h| Healthcheck {
                test: Literals(&h.test),
                interval: h.interval.to_string(),
                timeout: h.timeout.to_string(),
                retries: h.retries,
                start_period: h.start_period.to_string(),
            }),
            stop_grace_period: d.stop_grace_period.map(|p| p.to_string()),
            ..Self::default()
        }
    }
}

/// The named volume of an instance, mounted where it keeps its data.
pub(crate) fn data_volume(instance: &Instance) -> Option<Mount<'_>> {
    let data = instance.data.as_ref()?;
    Some(Mount {
        kind: "volume",
        source: Cow::Borrowed(data.volume.as_deref()?),
        target: data.path.display().to_string(),
        read_only: false,
    })
}

/// tmpfs mounts of a read-only instance.
pub(crate) fn tmpfs<'a>(d: &'a Deployment) -> impl Iterator<Item = Mount<'a>> + 'a {
    d.tmpfs.iter().map(|target| Mount {
        kind: "tmpfs",
        source: Cow::Borrowed(""),
        target: target.display().to_string(),
        read_only: false,
    })
}

impl Resources {
    /// Limits and reservations of one task.
    pub(crate) fn of(r: &pf_model::model::Resources) -> Self {
        Self {
            limits: Limits {
                cpus: r.limits.cpus.to_string(),
                memory: r.limits.memory.docker(),
                pids: r.limits.pids,
            },
            reservations: Reservations {
                cpus: r.reservations.cpus.to_string(),
                memory: r.reservations.memory.docker(),
            },
        }
    }
}

/// The long-syntax port `mode`.
pub(crate) fn publish_mode(mode: pf_model::model::PublishMode) -> &'static str {
    match mode {
        pf_model::model::PublishMode::Host => "host",
        pf_model::model::PublishMode::Ingress => "ingress",
    }
}

/// A network with its half of the subnet.
pub(crate) fn network(n: &NetworkPlan) -> Network {
    let mut driver_opts = BTreeMap::new();
    if n.encrypted {
        driver_opts.insert("encrypted".to_owned(), String::new());
    }
    Network {
        driver: n.driver.as_str(),
        driver_opts,
        attachable: n.attachable,
        internal: n.internal,
        ipam: Ipam {
            config: n
                .subnet
                .iter()
                .map(|s| Subnet {
                    subnet: s.to_string(),
                    ip_range: n.ip_range.map(|r| r.to_string()),
                })
                .collect(),
        },
    }
}
