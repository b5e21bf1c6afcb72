//! The findings of `pf-render lint` a bundle accepts, each with its reason.
//! A test lints every bundle: a waiver that matches nothing is a finding
//! too, so these stay exact.

use std::collections::HashMap;

use pf_lint::Rule;
use pf_model::model::RestartCondition;
use serde::Serialize;

use super::Plan;
use super::deployment::Deployment;
use super::instance::{Instance, Kind};
use crate::target::Target;

/// One accepted lint finding: which rule, where, and why. The stack or
/// compose file states these under `x-pf-lint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Waiver {
    /// The lint rule.
    pub rule: Rule,
    /// Services of the stack or compose file it applies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Other files of the bundle, relative to the stack file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Why the finding is accepted.
    pub reason: String,
}

/// The waivers of the stack or compose file of `plan`; none locally (no
/// orchestrator file is written).
pub(super) fn of(plan: &Plan) -> Vec<Waiver> {
    let swarm = match plan.target {
        Target::Swarm => true,
        Target::Compose => false,
        Target::Local(_) => return Vec::new(),
    };
    let services: Vec<(&Instance, &Deployment)> = plan.services().collect();
    let names = |pred: &dyn Fn(&Instance, &Deployment) -> bool| -> Vec<String> {
        services
            .iter()
            .filter(|(i, d)| pred(i, d))
            .map(|(i, _)| i.name.clone())
            .collect()
    };
    let mut out = Vec::new();
    // Only for services or files that exist: an unused waiver is a finding.
    let mut add = |rule: Rule, services: Vec<String>, files: Vec<String>, reason: String| {
        if !services.is_empty() || !files.is_empty() {
            out.push(Waiver {
                rule,
                services,
                files,
                reason,
            });
        }
    };
    let mut whole_file: Option<Waiver> = None;

    add(
        Rule::CapabilitiesNotDropped,
        names(&|_, _| true),
        Vec::new(),
        "no image of this stack documents the capabilities it needs (docker-library/docs for nginx, postgres and redis say nothing; the entrypoints chown and switch users), so none are dropped rather than guessed".to_owned(),
    );
    add(
        Rule::RootFsWritable,
        names(&|_, d| !d.read_only),
        Vec::new(),
        "the image does not document where it writes; only the official nginx image does (docker-library/docs nginx, \"Running nginx in read-only mode\"), and the load balancer is read-only".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|i, _| matches!(i.kind, Kind::LoadBalancer | Kind::Postgres | Kind::Redis | Kind::Sentinel)),
        Vec::new(),
        "the official image starts as root and drops privileges itself: nginx workers run as `nginx` (docker-library/docs nginx, \"User and group id\"); the PostgreSQL and Redis entrypoints fix data-folder ownership, then switch users with gosu (docker-entrypoint.sh)".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|i, _| i.kind == Kind::App),
        Vec::new(),
        "the user is the image's choice: the topology does not say which users the app images support".to_owned(),
    );
    add(
        Rule::UserNotSet,
        names(&|i, _| {
            matches!(
                i.kind,
                Kind::Exporter | Kind::Prometheus | Kind::Alertmanager | Kind::Grafana
            )
        }),
        Vec::new(),
        "the monitoring images choose their own user in their Dockerfiles; overriding it would change who owns their data".to_owned(),
    );
    add(
        Rule::HealthcheckMissing,
        names(&|_, d| d.healthcheck.is_none()),
        Vec::new(),
        "the exporter images document no health-check command (some are built FROM scratch, without a shell); Prometheus scrapes each exporter and monitoring/alerts.yml alerts when `up == 0`".to_owned(),
    );

    // A single instance of a stateless tier (Compose: one service per
    // instance, so a tier is every service of one image).
    // Counted once: counting per service made Compose quadratic.
    let mut per_image: HashMap<&str, u32> = HashMap::new();
    if !swarm {
        for (_, d) in &services {
            *per_image.entry(d.image.as_str()).or_default() += 1;
        }
    }
    let instances = |d: &Deployment| -> u32 {
        if swarm {
            d.replicas
        } else {
            per_image.get(d.image.as_str()).copied().unwrap_or_default()
        }
    };
    add(
        Rule::SingleReplicaStateless,
        names(&|i, d| i.kind == Kind::Exporter && instances(d) < 2),
        Vec::new(),
        "one exporter per target: a second copy would double every series; Prometheus alerts when it is down and the orchestrator restarts it".to_owned(),
    );
    add(
        Rule::SingleReplicaStateless,
        names(&|i, d| i.kind == Kind::LoadBalancer && instances(d) < 2),
        Vec::new(),
        if swarm {
            "the topology runs one load balancer (`load-balancer.instances = 1`)".to_owned()
        } else {
            "one host: a second load balancer could not bind the same host ports; the guide puts an external balancer in front for full HA".to_owned()
        },
    );
    add(
        Rule::SingleReplicaStateless,
        names(&|i, d| {
            i.kind == Kind::App && !d.stateful && i.data.is_none() && instances(d) < 2
        }),
        Vec::new(),
        "the topology runs a single instance of this service (the topology check warns `single-replica-tier`)".to_owned(),
    );
    if swarm {
        add(
            Rule::ReplicasNotSpread,
            names(&|_, d| d.replicas > 1 && d.placement.max_replicas_per_node.is_none()),
            Vec::new(),
            format!(
                "the topology declares {} node(s) (`capacity.nodes`): there is no second node to spread to",
                plan.capacity.nodes
            ),
        );
        if !plan.networks.data.encrypted {
            whole_file = Some(Waiver {
                rule: Rule::OverlayUnencrypted,
                services: Vec::new(),
                files: Vec::new(),
                reason: "the topology sets `network.encrypted = false` (the topology check warns `network-unencrypted`)".to_owned(),
            });
        }
    } else {
        add(
            Rule::PortNotBoundToHostIp,
            names(&|i, _| i.kind == Kind::LoadBalancer),
            Vec::new(),
            "the load balancer is the public entry point and the topology names no listen address: it serves every interface of the host".to_owned(),
        );
    }

    restart_waiver(plan, swarm, &mut add, names(&|_, _| true));

    let redis = &plan.redis;
    let password = redis.password_file.display();
    add(
        Rule::RedisAuthMissing,
        Vec::new(),
        vec![
            redis.files.master_conf.artifact.clone(),
            redis.files.replica_conf.artifact.clone(),
        ],
        format!(
            "the template holds no password: redis-entrypoint.sh appends requirepass and masterauth from {password} at every start"
        ),
    );
    add(
        Rule::RedisReplicaAuthMissing,
        Vec::new(),
        vec![redis.files.replica_conf.artifact.clone()],
        format!(
            "the template holds no password: redis-entrypoint.sh appends masterauth from {password} at every start"
        ),
    );
    let sentinel_files: Vec<String> = redis
        .sentinels
        .iter()
        .map(|s| s.template.artifact.clone())
        .collect();
    add(
        Rule::SentinelAuthPassMissing,
        Vec::new(),
        sentinel_files.clone(),
        format!(
            "the template holds no password: sentinel-entrypoint.sh appends `sentinel auth-pass` from {password} at every start"
        ),
    );
    add(
        Rule::SentinelWithoutPassword,
        Vec::new(),
        sentinel_files,
        format!(
            "the template holds no password: sentinel-entrypoint.sh appends requirepass and `sentinel sentinel-pass` from {password} at every start"
        ),
    );
    let encrypted = plan.networks.data.encrypted;
    add(
        Rule::PgHbaTcpWithoutTls,
        Vec::new(),
        vec![plan.postgres.files.hba.artifact.clone()],
        if swarm && encrypted {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network, IPsec-encrypted between nodes".to_owned()
        } else if swarm {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network (not encrypted: `network.encrypted = false`)".to_owned()
        } else {
            "the generator does not set up TLS for PostgreSQL; database traffic stays on the internal data network of one host".to_owned()
        },
    );
    out.extend(whole_file);
    out
}

/// CIS Docker 5.15 asks for bounded restarts; an HA service must come back
/// after any failure. Swarm enforces a cap for good: once `max_attempts`
/// is reached within `window`, it never restarts the task again, even after
/// the cause is gone, until the next service update (moby/moby#32416,
/// #34007). So every service restarts without a cap, spaced by the delay,
/// unless the topology sets `restart.max-attempts` (the topology check then
/// warns `restart-attempts-bounded`).
fn restart_waiver(
    plan: &Plan,
    swarm: bool,
    add: &mut impl FnMut(Rule, Vec<String>, Vec<String>, String),
    all: Vec<String>,
) {
    let r = &plan.restart;
    let bounded = match (swarm, r.condition) {
        (true, _) => r.max_attempts.is_some(),
        // Docker Engine bounds only on-failure:N.
        (false, RestartCondition::Any) => false,
        (false, RestartCondition::OnFailure) => r.max_attempts.is_some(),
    };
    if bounded {
        return;
    }
    let why = if swarm {
        format!(
            "the guide promises automatic restart, and Swarm gives a capped service up for good (after `max_attempts` within `window`, until the next service update), even once the cause is gone; restarts are spaced by `delay: {}` instead (the CIS 5.15 trade-off)",
            r.delay
        )
    } else if r.condition == RestartCondition::Any {
        "the topology's `restart.condition` is `any`: an HA service must come back after any exit, and Docker Engine bounds only `on-failure` (the CIS 5.15 trade-off)".to_owned()
    } else {
        "the guide promises automatic restart: a container that gave up after N failures stays down once the cause is gone (the CIS 5.15 trade-off)".to_owned()
    };
    add(Rule::RestartPolicyUnbounded, all, Vec::new(), why);
}
