//! The plan: every decision of a rendering, made once for one target.
//!
//! [`crate::plan()`] expands replicas into instances and gives each its
//! name, host, container, address, data folder, files and (in containers)
//! deployment: networks, ports, endpoint mode, update order, placement.
//! Emitters only write the plan down in each file's syntax, so the nginx
//! upstreams, the stack file, the scripts and the docs always agree, and
//! the drill reads the same plan to find every local process.
//!
//! The plan serializes (`pf-render inspect FILE --target swarm`): it holds
//! secret names and file paths, never a secret value.
//!
//! Built per tier, in dependency order: PostgreSQL and Redis (their names
//! are in the apps' environment), the load balancer's instance (its host is
//! the read endpoint), the apps, the load balancer (its upstreams are the
//! apps), monitoring (it watches all of them), then the lint waivers of the
//! whole stack.

mod apps;
mod deployment;
mod instance;
mod lb;
mod local;
mod monitoring;
mod network;
mod postgres;
mod redis;
mod rollout;
mod secrets;
mod users;
mod waivers;

pub use apps::AppPlan;
pub use deployment::{Deployment, EndpointMode, Healthcheck, NodePlacement, PortBinding};
pub use instance::{BundleFile, DataDir, Endpoint, Instance, Kind};
pub use lb::{Entry, LbPlan, ReadEndpoint, Route, Scheme, TlsFiles, Upstream};
pub use local::{LocalPlan, PortRemap};
pub(crate) use monitoring::NGINX_METRICS_PATH;
pub use monitoring::{
    Job, MemberExporter, MonitoringFiles, MonitoringPlan, ScrapeJob, ScrapeTarget, WebAccess,
    WebRoute, redis_uri,
};
pub use network::{Driver, Net, NetworkPlan, Networks};
pub use postgres::{Keepalive, PgFiles, PgMember, PgPlan, PgRole};
pub use redis::{
    Addressing, RedisFiles, RedisNode, RedisPlan, RedisRole, SentinelPlan, TemplateDefaults,
};
pub use rollout::steps;
pub use secrets::SecretPlan;
pub use users::{FileOwner, SecretReader};
pub use waivers::Waiver;

use pf_model::Topology;
use pf_model::model::{Capacity, RestartPolicy, Rollout};
use pf_model::units::Cidr;
use serde::Serialize;

use crate::target::Target;
use instance::Namer;

/// Every decision of a rendering for one target. Built by [`crate::plan()`];
/// read by the emitters, the drill and `pf-render inspect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Plan {
    /// The topology file, as given (generated files name only its file name).
    pub origin: String,
    /// The target, with the local target's options.
    pub target: Target,
    /// Stack name: prefixes services, containers, volumes and node labels.
    pub stack: String,
    /// The overlay subnet, or on the local target the loopback network
    /// standing in for it.
    pub subnet: Cidr,
    /// The stack's networks (the local target creates none: its processes
    /// share the loopback network).
    pub networks: Networks,
    /// The hosts the stack must fit on.
    pub capacity: Capacity,
    /// How services are updated and rolled back.
    pub rollout: Rollout,
    /// When the orchestrator restarts a failed container.
    pub restart: RestartPolicy,
    /// The load balancer.
    pub lb: LbPlan,
    /// The app services.
    pub apps: Vec<AppPlan>,
    /// PostgreSQL.
    pub postgres: PgPlan,
    /// Redis and Sentinels.
    pub redis: RedisPlan,
    /// Prometheus, exporters and Grafana; `None` when Prometheus is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringPlan>,
    /// Every declared secret.
    pub secrets: Vec<SecretPlan>,
    /// The lint findings the stack or compose file accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
    /// The local target's folders; `None` in containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalPlan>,
}

impl Plan {
    pub(crate) fn new(topology: &Topology, target: Target) -> Self {
        let t = topology.spec();
        let stack = t.name.to_string();
        let local_plan = target
            .local_options()
            .map(|options| (options, local::LocalPlan::new(t, options)));
        let subnet = if local_plan.is_some() {
            local::subnet()
        } else {
            t.network.subnet
        };
        let networks = Networks::new(subnet, &target, t.network.encrypted);
        let namer = Namer {
            stack: &stack,
            target: &target,
            local: local_plan.as_ref().map(|(o, l)| (*o, l)),
            networks: &networks,
        };
        let mut postgres = PgPlan::new(t, &namer);
        let mut redis = RedisPlan::new(t, &namer);
        rollout::assign(
            postgres
                .members_mut()
                .map(|m| &mut m.instance)
                .chain(redis.instances_mut()),
            t.network.endpoint_mode,
        );
        let lb_instance = LbPlan::instance(&namer);
        let apps = AppPlan::all(t, &namer, &postgres, &redis, &lb_instance.host);
        let mut lb = LbPlan::new(t, &namer, lb_instance, &apps, &postgres, subnet);
        let monitoring = MonitoringPlan::new(t, &namer, &lb, &postgres, &redis);
        if let Some(m) = &monitoring {
            m.equip(&mut lb);
        }
        let secrets = SecretPlan::all(t, &namer);
        let mut plan = Self {
            origin: topology.origin().to_owned(),
            stack: stack.clone(),
            subnet,
            networks,
            capacity: t.capacity.clone(),
            rollout: t.rollout.clone(),
            restart: t.restart.clone(),
            lb,
            apps,
            postgres,
            redis,
            monitoring,
            secrets,
            waivers: Vec::new(),
            local: local_plan.map(|(_, l)| l),
            target,
        };
        users::readers(&mut plan);
        plan.waivers = waivers::of(&plan);
        plan
    }

    /// True on Swarm.
    pub fn is_swarm(&self) -> bool {
        self.target == Target::Swarm
    }

    /// Every instance, in stack order: load balancer, apps, PostgreSQL,
    /// Redis data nodes, Sentinels, monitoring.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        std::iter::once(&self.lb.instance)
            .chain(self.apps.iter().flat_map(|a| &a.instances))
            .chain(self.postgres.members().map(|m| &m.instance))
            .chain(self.redis.nodes().map(|n| &n.instance))
            .chain(self.redis.sentinels.iter().map(|s| &s.instance))
            .chain(self.monitoring.iter().flat_map(MonitoringPlan::instances))
    }

    /// The services of the stack or compose file, in order: every instance
    /// with a deployment (none on the local target).
    pub fn services(&self) -> impl Iterator<Item = (&Instance, &Deployment)> {
        self.instances()
            .filter_map(|i| i.deployment.as_ref().map(|d| (i, d)))
    }
}
