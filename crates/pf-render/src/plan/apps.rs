//! The stateless app services: their instances, the environment that
//! connects them to PostgreSQL and Redis, and their deployments.

use std::collections::BTreeMap;

use pf_model::model::{AppService, Connection, SecretsAs, UpdateOrder};
use pf_model::units::Duration;
use pf_model::{TopologyFile, naming};
use serde::Serialize;

use super::deployment::{Deployment, EndpointMode, check, shell};
use super::instance::{BundleFile, EXECUTABLE, Instance, Kind, Namer};
use super::local::AppAddresses;
use super::network::Net;
use super::postgres::PgPlan;
use super::redis::RedisPlan;
use crate::files::{self, mount};

/// A stateless app service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct AppPlan {
    /// The topology's settings (its `port` is the production port).
    pub settings: AppService,
    /// Service name (`backend`).
    pub name: String,
    /// Port as the target binds it (moved up locally without root).
    pub port: u16,
    /// Swarm: one replicated service named like the app; Compose and
    /// local: `backend1`.. `backendN`.
    pub instances: Vec<Instance>,
    /// Environment: the topology's variables, `<NAME>_FILE` for each
    /// secret, and connection settings (never a password).
    pub environment: BTreeMap<String, String>,
    /// Secrets mounted into the service, sorted.
    pub secrets: Vec<String>,
    /// `secrets-as = "env"` in containers: the shim that exports each
    /// secret from its file, then runs the service's own program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_env: Option<SecretsEnv>,
}

/// The entrypoint shim of an app that reads its secrets from environment
/// variables (the guide's app: `SECRET_KEY`, `DATABASE_URL` with the
/// password). The values are read from the secret files when the container
/// starts; no generated file holds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SecretsEnv {
    /// The shim, run as the container's entrypoint.
    pub file: BundleFile,
    /// Each variable it exports (`SECRET_KEY`), read from the file named by
    /// `<NAME>_FILE`.
    pub variables: Vec<String>,
    /// The variable holding the PostgreSQL owner's password, which the shim
    /// adds, URL-encoded, to each of `urls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_password: Option<String>,
    /// PostgreSQL URL variables (`DATABASE_URL`, `DATABASE_REPLICA_URL`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// What it runs after exporting: the topology's `entrypoint` and
    /// `command`, the image's own program.
    pub exec: Vec<String>,
}

impl AppPlan {
    /// Every app service, in topology order, connected to `postgres` and
    /// `redis` (its read endpoint is on the load balancer at `lb_host`).
    pub(super) fn all(
        t: &TopologyFile,
        namer: &Namer<'_>,
        postgres: &PgPlan,
        redis: &RedisPlan,
        lb_host: &str,
    ) -> Vec<Self> {
        let mut addresses = AppAddresses::default();
        let shared = Shared::new(t, postgres, redis, lb_host);
        t.services
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let name = s.name.to_string();
                let mut instance = |instance_name: &str, i: u32| {
                    namer.instance(instance_name, Kind::App, addresses.next(k, i), None)
                };
                let instances = if namer.swarm() {
                    vec![instance(&name, 1)]
                } else {
                    (1..=s.replicas)
                        .map(|i| instance(&naming::app_instance(&name, i), i))
                        .collect()
                };
                let mut app = Self {
                    port: namer.port(s.port),
                    environment: BTreeMap::new(),
                    secrets: Vec::new(),
                    secrets_env: None,
                    settings: s.clone(),
                    name,
                    instances,
                };
                app.connect(t, namer, &shared);
                if namer.containers() {
                    app.secrets_env = app.secrets_env(t, namer);
                    let files: Vec<BundleFile> =
                        app.secrets_env.iter().map(|e| e.file.clone()).collect();
                    for i in &mut app.instances {
                        i.files.clone_from(&files);
                    }
                    let deployment = app.deployment(t, namer, postgres, redis);
                    for i in &mut app.instances {
                        i.deployment = Some(deployment.clone());
                    }
                }
                app
            })
            .collect()
    }

    /// Connection settings, secret file variables and the topology's own
    /// variables; never a password.
    fn connect(&mut self, t: &TopologyFile, namer: &Namer<'_>, shared: &Shared) {
        let spec = &self.settings;
        let env = &mut self.environment;
        let mut secrets: Vec<String> = spec.secrets.iter().map(ToString::to_string).collect();
        if spec.connects_to.contains(&Connection::Postgres) {
            env.insert("DATABASE_URL".into(), shared.database_url.clone());
            if let Some(url) = &shared.database_replica_url {
                env.insert("DATABASE_REPLICA_URL".into(), url.clone());
            }
            env.insert("POSTGRES_USER".into(), t.postgres.owner.to_string());
            env.insert("POSTGRES_DB".into(), t.postgres.database.to_string());
            secrets.push(t.postgres.password_secret.to_string());
        }
        if spec.connects_to.contains(&Connection::Redis) {
            env.insert("REDIS_SENTINELS".into(), shared.sentinels.clone());
            env.insert("REDIS_MASTER_NAME".into(), t.redis.master_name.clone());
            secrets.push(t.redis.password_secret.to_string());
        }
        if let Some(workers) = spec.workers {
            env.insert(
                format!(
                    "{}_WORKERS",
                    self.name.to_ascii_uppercase().replace('-', "_")
                ),
                workers.to_string(),
            );
        }
        secrets.sort();
        secrets.dedup();
        for s in &secrets {
            env.insert(
                format!("{}_FILE", s.to_ascii_uppercase()),
                namer.secret_file(s).display().to_string(),
            );
        }
        for (k, v) in &spec.environment {
            env.insert(k.clone(), v.clone());
        }
        self.secrets = secrets;
    }

    /// The shim of `secrets-as = "env"`, when the service has secrets.
    fn secrets_env(&self, t: &TopologyFile, namer: &Namer<'_>) -> Option<SecretsEnv> {
        let spec = &self.settings;
        if spec.secrets_as != SecretsAs::Env || self.secrets.is_empty() {
            return None;
        }
        let postgres = spec.connects_to.contains(&Connection::Postgres);
        let urls: Vec<String> = ["DATABASE_URL", "DATABASE_REPLICA_URL"]
            .into_iter()
            .filter(|v| postgres && self.environment.contains_key(*v))
            .map(str::to_owned)
            .collect();
        Some(SecretsEnv {
            file: namer.file(
                &files::app_secrets_env(&self.name),
                mount::APP_SECRETS_ENV,
                EXECUTABLE,
            ),
            variables: self
                .secrets
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect(),
            url_password: (!urls.is_empty()).then(|| t.postgres.password_secret.env_stem()),
            urls,
            exec: spec
                .entrypoint
                .iter()
                .chain(&spec.command)
                .cloned()
                .collect(),
        })
    }

    /// The deployment every instance of this app shares.
    fn deployment(
        &self,
        t: &TopologyFile,
        namer: &Namer<'_>,
        postgres: &PgPlan,
        redis: &RedisPlan,
    ) -> Deployment {
        let spec = &self.settings;
        let mut d = Deployment::new(
            Kind::App,
            spec.image.to_string(),
            spec.resources.clone(),
            spec.update_order.unwrap_or(t.rollout.order),
            t.rollout.rollback.order,
        );
        d.replicas = if namer.swarm() { spec.replicas } else { 1 };
        // The data network only for an app that talks to a data service:
        // anything on it can reach PostgreSQL, Redis and the Sentinels.
        if spec.connects_to.is_empty() {
            d.networks.retain(|n| *n != Net::Data);
        }
        // nginx must see every task, not one VIP (least_conn, passive
        // checks and next-upstream need the individual peers).
        d.endpoint_mode = EndpointMode::Dnsrr;
        d.environment = self.environment.clone();
        d.secrets = self.secrets.clone();
        // The shim runs the image's program: the topology names it, since a
        // container's entrypoint replaces the image's entrypoint and command.
        match &self.secrets_env {
            Some(shim) => {
                d.entrypoint = std::iter::once(shim.file.path.display().to_string())
                    .chain(spec.entrypoint.iter().cloned())
                    .collect();
                d.command.clone_from(&spec.command);
            }
            None => {
                d.entrypoint.clone_from(&spec.entrypoint);
                d.command.clone_from(&spec.command);
            }
        }
        let nodes = t.capacity.nodes;
        if namer.swarm() && nodes > 1 && spec.replicas > 1 {
            // Spread, while leaving room to reschedule when one node is lost.
            let mut per_node = spec.replicas.div_ceil(nodes - 1);
            if d.update_order == UpdateOrder::StartFirst
                || d.rollback_order == UpdateOrder::StartFirst
            {
                // A start-first batch runs `parallelism` new tasks next to
                // the old ones: the nodes must hold them all, or the new
                // tasks stay pending and the update never finishes.
                let batch = t.rollout.batch().min(spec.replicas);
                per_node = per_node.max((spec.replicas + batch).div_ceil(nodes));
            }
            d.placement.max_replicas_per_node = Some(per_node);
        }
        // One quoted shell word: a query's `&` or any other character of
        // the path is data for curl, never shell syntax (validation keeps
        // `'` and `$` out of paths as well).
        let url = crate::escape::shell_word(&format!(
            "http://127.0.0.1:{}{}",
            self.port, spec.health_path
        ));
        // The app image's tools are unknown: try curl, then busybox wget.
        d.healthcheck = check(
            shell(format!(
                "curl -fsS {url} >/dev/null || wget -qO- {url} >/dev/null"
            )),
            10,
            3,
            Duration::from_secs(30),
        );
        if spec.connects_to.contains(&Connection::Postgres) {
            d.depends_on.push(postgres.primary().instance.name.clone());
        }
        if spec.connects_to.contains(&Connection::Redis) {
            d.depends_on.push(redis.master.instance.name.clone());
        }
        d
    }
}

/// Connection values every app that uses them gets the same.
struct Shared {
    database_url: String,
    database_replica_url: Option<String>,
    sentinels: String,
}

impl Shared {
    fn new(t: &TopologyFile, postgres: &PgPlan, redis: &RedisPlan, lb_host: &str) -> Self {
        let pg = &t.postgres;
        let user = &pg.owner;
        let db = &pg.database;
        // The aliases that follow the primary and the first replica: a
        // failover moves them, never the applications' settings.
        let replica_host = match (&pg.read_endpoint, &postgres.replica_host) {
            (Some(read), _) => Some(format!("{lb_host}:{}", read.port)),
            (None, Some(host)) => Some(format!("{host}:{}", pg.port)),
            (None, None) => None,
        };
        Self {
            database_url: format!(
                "postgresql://{user}@{}:{}/{db}",
                postgres.primary_host, pg.port
            ),
            database_replica_url: replica_host
                .map(|host| format!("postgresql://{user}@{host}/{db}")),
            sentinels: redis
                .sentinels
                .iter()
                .map(|s| format!("{}:{}", s.instance.host, t.redis.sentinel.port))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}
