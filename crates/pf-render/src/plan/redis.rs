//! Redis: the initial master, its replicas and the Sentinels, each with its
//! role, data folder, template, files and deployment.

use std::net::IpAddr;
use std::path::PathBuf;

use pf_model::model::{Placement, Redis};
use pf_model::units::{ByteSize, Duration};
use pf_model::{TopologyFile, naming};
use serde::Serialize;

use super::deployment::{Deployment, check, shell};
use super::instance::{BundleFile, EXECUTABLE, Instance, Kind, Namer, READ_ONLY};
use super::local::{address, group};
use crate::files::{self, mount};
use crate::hash;

/// Redis data nodes and Sentinels.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RedisPlan {
    /// The topology's settings (the ports are the same on every target).
    pub settings: Redis,
    /// The initial master.
    pub master: RedisNode,
    /// The initial replicas.
    pub replicas: Vec<RedisNode>,
    /// The Sentinels.
    pub sentinels: Vec<SentinelPlan>,
    /// Password file of every data node and Sentinel (Sentinel's own
    /// `requirepass`, `sentinel-pass` and `auth-pass`).
    pub password_file: PathBuf,
    /// How data nodes and Sentinels name each other.
    pub addressing: Addressing,
    /// Memory settings of the data nodes.
    pub memory: RedisMemory,
    /// What the master's template says before its entrypoint adjusts it.
    pub master_template: TemplateDefaults,
    /// What the replicas' template says: the first replica's values, or on
    /// the local target the address and folder a first replica would have
    /// (the template is rendered even without replicas, for a later
    /// scale-up).
    pub replica_template: TemplateDefaults,
    /// The area's shared files.
    pub files: RedisFiles,
}

/// How Redis data nodes and Sentinels name each other: what `replicaof`,
/// `sentinel monitor`, the announced addresses and every client of the
/// Sentinels use. Sentinel resolves names in its event loop, so a name
/// that stops resolving while its instance is down must never reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Addressing {
    /// Host names (`resolve-hostnames yes`, `announce-hostnames yes`):
    /// Swarm service names, which keep resolving to their virtual IP while
    /// a task is down (endpoint mode `vip`; with `dnsrr` they do not).
    Names,
    /// Fixed addresses (`resolve-hostnames no`): Compose containers on the
    /// data network's fixed range, loopback addresses on the local target.
    /// Nothing is ever looked up.
    Addresses,
}

impl Addressing {
    /// `yes` when Sentinels resolve and announce host names.
    pub fn hostnames(self) -> bool {
        self == Self::Names
    }
}

/// Memory settings of the data nodes, derived from the container limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RedisMemory {
    /// `maxmemory`: the topology's, or half the memory limit (a fork for an
    /// AOF rewrite or a replica's full sync can double the data set).
    pub maxmemory: ByteSize,
    /// True when `maxmemory` was derived from the limit.
    pub derived: bool,
    /// `client-output-buffer-limit replica` hard limit: an eighth of the
    /// limit (Redis's default, 256 MB, alone would fill half of a 512 MB
    /// container).
    pub replica_buffer_hard: ByteSize,
    /// The soft limit, allowed for 60 s: a sixteenth of the limit.
    pub replica_buffer_soft: ByteSize,
}

impl RedisMemory {
    fn new(r: &Redis) -> Self {
        let limit = r.resources.limits.memory.bytes();
        Self {
            maxmemory: r.maxmemory.unwrap_or(ByteSize::from_bytes(limit / 2)),
            derived: r.maxmemory.is_none(),
            replica_buffer_hard: ByteSize::from_bytes(limit / 8),
            replica_buffer_soft: ByteSize::from_bytes(limit / 16),
        }
    }
}

/// Fixed-address slots on the data network (Compose): data nodes from 0,
/// Sentinels from 32 (at most 17 data nodes and 15 Sentinels).
const NODE_SLOTS: u32 = 0;
const SENTINEL_SLOTS: u32 = 32;

/// One Redis data node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RedisNode {
    /// The instance.
    pub instance: Instance,
    /// Its role when the group starts (Sentinel moves it later).
    pub role: RedisRole,
}

/// The role of a Redis data node at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedisRole {
    /// The initial master, the one Sentinel monitors first.
    Master,
    /// Replicates from the master.
    Replica,
}

/// One Sentinel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SentinelPlan {
    /// The instance.
    pub instance: Instance,
    /// 1-based index.
    pub index: u32,
    /// Stable 40-hex `sentinel myid`, derived from stack and instance name,
    /// so a re-created Sentinel is not counted as a new voter.
    pub myid: String,
    /// Its own sentinel.conf template.
    pub template: BundleFile,
}

/// The address and data folder a redis.conf template names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct TemplateDefaults {
    /// `bind` on the local target (containers bind every address).
    pub bind: IpAddr,
    /// `dir`: where the node keeps its data.
    pub data_dir: PathBuf,
}

/// The shared files of the Redis area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct RedisFiles {
    /// redis.conf template of the initial master.
    pub master_conf: BundleFile,
    /// redis.conf template of the replicas.
    pub replica_conf: BundleFile,
    /// Entrypoint of the data nodes.
    pub entrypoint: BundleFile,
    /// Entrypoint of the Sentinels.
    pub sentinel_entrypoint: BundleFile,
}

impl RedisPlan {
    pub(super) fn new(t: &TopologyFile, namer: &Namer<'_>) -> Self {
        let r = &t.redis;
        let files = RedisFiles {
            master_conf: namer.file(files::REDIS_MASTER_CONF, mount::REDIS_TEMPLATE, READ_ONLY),
            replica_conf: namer.file(files::REDIS_REPLICA_CONF, mount::REDIS_TEMPLATE, READ_ONLY),
            entrypoint: namer.file(files::REDIS_ENTRYPOINT, mount::REDIS_ENTRYPOINT, EXECUTABLE),
            sentinel_entrypoint: namer.file(
                files::SENTINEL_ENTRYPOINT,
                mount::SENTINEL_ENTRYPOINT,
                EXECUTABLE,
            ),
        };
        let password_file = namer.secret_file(r.password_secret.as_str());
        let names = naming::redis_instances(r.replicas);
        // Every instance of the group has a fixed address, or none has.
        let fixed = namer.fixed_address(NODE_SLOTS + r.replicas).is_some()
            && namer
                .fixed_address(SENTINEL_SLOTS + r.sentinel.count.saturating_sub(1))
                .is_some();
        let addressing = if namer.containers() && !fixed {
            Addressing::Names
        } else {
            Addressing::Addresses
        };
        let pin = |instance: &mut Instance, slot: u32| {
            if fixed {
                namer.pin(instance, slot);
            }
        };
        let node = |name: &str, index: u32, role: RedisRole| {
            let mut instance = namer.instance(
                name,
                Kind::Redis,
                address(group::REDIS, index),
                Some(mount::REDIS_DATA),
            );
            pin(&mut instance, NODE_SLOTS + index - 1);
            let template = match role {
                RedisRole::Master => &files.master_conf,
                RedisRole::Replica => &files.replica_conf,
            };
            instance.files = vec![template.clone(), files.entrypoint.clone()];
            RedisNode { instance, role }
        };
        let mut master = node(&names[0], 1, RedisRole::Master);
        let mut replicas: Vec<RedisNode> = names[1..]
            .iter()
            .zip(2..)
            .map(|(n, i)| node(n, i, RedisRole::Replica))
            .collect();
        let mut sentinels: Vec<SentinelPlan> = naming::sentinel_instances(r.sentinel.count)
            .iter()
            .zip(1..)
            .map(|(name, index)| {
                let mut instance = namer.instance(
                    name,
                    Kind::Sentinel,
                    address(group::SENTINEL, index),
                    Some(mount::REDIS_DATA),
                );
                pin(&mut instance, SENTINEL_SLOTS + index - 1);
                let template = namer.file(
                    &files::sentinel_conf(index),
                    mount::SENTINEL_TEMPLATE,
                    READ_ONLY,
                );
                instance.files = vec![template.clone(), files.sentinel_entrypoint.clone()];
                SentinelPlan {
                    instance,
                    index,
                    myid: hash::sha256_hex(format!("{}/{name}", namer.stack).as_bytes())[..40]
                        .to_owned(),
                    template,
                }
            })
            .collect();

        let defaults = |instance: &Instance| TemplateDefaults {
            bind: instance.listen,
            data_dir: instance
                .data
                .as_ref()
                .map(|d| d.path.clone())
                .unwrap_or_default(),
        };
        let master_template = defaults(&master.instance);
        let replica_template = match replicas.first() {
            Some(r) => defaults(&r.instance),
            // The instance a first replica would be.
            None => defaults(&namer.instance(
                naming::redis_instances(1)[1].as_str(),
                Kind::Redis,
                address(group::REDIS, 2),
                Some(mount::REDIS_DATA),
            )),
        };

        if namer.containers() {
            let deploy = Deployments {
                t,
                namer,
                password_file: &password_file,
            };
            let master_name = master.instance.name.clone();
            master.instance.deployment = Some(deploy.node(&master.instance, None));
            for n in &mut replicas {
                n.instance.deployment = Some(deploy.node(&n.instance, Some(&master_name)));
            }
            for s in &mut sentinels {
                s.instance.deployment = Some(deploy.sentinel(&s.instance, &master_name));
            }
        }
        Self {
            settings: r.clone(),
            master,
            replicas,
            sentinels,
            password_file,
            addressing,
            memory: RedisMemory::new(r),
            master_template,
            replica_template,
            files,
        }
    }

    /// The initial master, then the replicas.
    pub fn nodes(&self) -> impl Iterator<Item = &RedisNode> {
        std::iter::once(&self.master).chain(&self.replicas)
    }

    /// Every data node, then every Sentinel, to change.
    pub(super) fn instances_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        std::iter::once(&mut self.master)
            .chain(&mut self.replicas)
            .map(|n| &mut n.instance)
            .chain(self.sentinels.iter_mut().map(|s| &mut s.instance))
    }
}

/// What the Redis deployments share.
struct Deployments<'a> {
    t: &'a TopologyFile,
    namer: &'a Namer<'a>,
    password_file: &'a std::path::Path,
}

impl Deployments<'_> {
    /// A stateful Redis or Sentinel deployment, pinned when `placement` says so.
    fn base(
        &self,
        instance: &Instance,
        placement: Placement,
        resources: &pf_model::model::Resources,
        order: Option<pf_model::model::UpdateOrder>,
    ) -> Deployment {
        let r = &self.t.redis;
        let rollout = &self.t.rollout;
        let mut d = Deployment::new(
            instance.kind,
            r.image.to_string(),
            resources.clone(),
            order.unwrap_or(rollout.order),
            rollout.rollback.order,
        )
        .stateful();
        if placement == Placement::NodeLabels && self.namer.swarm() {
            d.placement.node_label = Some(format!("{}.{}", self.namer.stack, instance.name));
        }
        d.secrets = vec![r.password_secret.to_string()];
        // A pinned container's host is its fixed address (`Namer::pin`).
        d.address = instance.host.parse().ok();
        d
    }

    /// A data node; a replica starts after `master`.
    fn node(&self, instance: &Instance, master: Option<&str>) -> Deployment {
        let r = &self.t.redis;
        let mut d = self.base(instance, r.placement, &r.resources, r.update_order);
        // VIP, not dnsrr: a VIP name resolves even while its task is down,
        // and Sentinel exits at start when a monitored name does not resolve.
        d.entrypoint = vec![mount::REDIS_ENTRYPOINT.to_owned()];
        d.environment
            .insert("REDIS_ANNOUNCE_HOST".to_owned(), instance.host.clone());
        d.healthcheck = self.ping(r.port);
        d.depends_on.extend(master.map(str::to_owned));
        d
    }

    /// Healthy only when the server answers exactly `PONG` to an
    /// authenticated PING: `-e` makes an error reply (NOAUTH, LOADING) fail
    /// redis-cli, and the comparison fails on anything else it prints.
    fn ping(&self, port: u16) -> Option<super::deployment::Healthcheck> {
        check(
            shell(format!(
                "[ \"$(REDISCLI_AUTH=\"$(cat {})\" redis-cli -e -p {port} ping)\" = PONG ]",
                self.password_file.display(),
            )),
            10,
            3,
            Duration::from_secs(20),
        )
    }

    /// A Sentinel: starts after the master it monitors.
    fn sentinel(&self, instance: &Instance, master: &str) -> Deployment {
        let s = &self.t.redis.sentinel;
        let mut d = self.base(instance, s.placement, &s.resources, s.update_order);
        d.entrypoint = vec![mount::SENTINEL_ENTRYPOINT.to_owned()];
        d.healthcheck = self.ping(s.port);
        d.depends_on.push(master.to_owned());
        d
    }
}
