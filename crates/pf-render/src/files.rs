//! The bundle's layout: where each artifact lives in the bundle, and where
//! it is mounted inside containers. The stack and compose emitters mount
//! files by these names, and the config emitters write them, so the two
//! cannot drift apart.

/// The bundle's own README with the diagram and commands.
pub(crate) const README: &str = "README.md";
/// The Swarm stack.
pub(crate) const STACK: &str = "docker-stack.yml";
/// The single-host Compose file.
pub(crate) const COMPOSE: &str = "docker-compose.ha.yml";
/// Variables of the guide, without secret values.
pub(crate) const ENV_EXAMPLE: &str = ".env.production.example";
/// The ownership manifest: every other file with its hash and mode.
pub(crate) const MANIFEST: &str = crate::manifest::MANIFEST;

/// Where the user keeps the files a deployment needs besides the bundle
/// (one file per secret, `.env.production`), relative to the bundle
/// folder. Outside it on purpose: pf-render replaces the bundle folder on
/// every render and refuses to while it holds files it did not write.
/// Scripts and the Compose file take `SECRETS_DIR` from the environment
/// first.
pub(crate) fn secrets_dir(stack: &str) -> String {
    format!("../{stack}-secrets")
}

/// The complete nginx configuration of the load balancer.
pub(crate) const NGINX_CONF: &str = "nginx/load-balancer.conf";

/// postgresql.conf of a member that starts as the primary.
pub(crate) const PG_PRIMARY_CONF: &str = "postgresql/primary.conf";
/// postgresql.conf of a member that starts as a standby.
pub(crate) const PG_STANDBY_CONF: &str = "postgresql/standby.conf";
/// pg_hba.conf of every member.
pub(crate) const PG_HBA: &str = "postgresql/pg_hba.conf";
/// Init script run once on a new cluster: replication role, grants, slots.
pub(crate) const PG_INIT: &str = "postgresql/init-replication.sh";
/// Entrypoint of every member: decides primary or standby, then starts.
pub(crate) const PG_MEMBER: &str = "postgresql/member.sh";

/// redis.conf template of the master.
pub(crate) const REDIS_MASTER_CONF: &str = "redis/master.conf";
/// redis.conf template of the replicas.
pub(crate) const REDIS_REPLICA_CONF: &str = "redis/replica.conf";
/// Entrypoint of data nodes: copy the template once, add auth from the secret.
pub(crate) const REDIS_ENTRYPOINT: &str = "redis/redis-entrypoint.sh";
/// Entrypoint of Sentinels: copy the template into the writable volume once.
pub(crate) const SENTINEL_ENTRYPOINT: &str = "redis/sentinel-entrypoint.sh";

/// sentinel.conf template of Sentinel `index` (1-based): each has its own `myid`.
pub(crate) fn sentinel_conf(index: u32) -> String {
    format!("redis/sentinel-{index}.conf")
}

/// Entrypoint shim of an app service with `secrets-as = "env"`.
pub(crate) fn app_secrets_env(app: &str) -> String {
    format!("apps/{app}-secrets-env.sh")
}

/// Prometheus configuration.
pub(crate) const PROMETHEUS: &str = "monitoring/prometheus.yml";
/// Prometheus alert rules.
pub(crate) const ALERTS: &str = "monitoring/alerts.yml";
/// Grafana data source provisioning.
pub(crate) const GRAFANA_DATASOURCE: &str = "monitoring/grafana-datasource.yml";
/// Grafana dashboard provider: where the dashboards are.
pub(crate) const GRAFANA_DASHBOARDS: &str = "monitoring/grafana-dashboards.yml";
/// Alertmanager configuration: routes and receivers.
pub(crate) const ALERTMANAGER: &str = "monitoring/alertmanager.yml";
/// Each load balancer task's metrics handler (njs).
pub(crate) const NGINX_METRICS: &str = "nginx/metrics.js";
/// The tiers with a dashboard each.
pub(crate) const DASHBOARDS: [&str; 4] = ["nginx", "apps", "postgres", "redis"];

/// The Grafana dashboard of `tier`.
pub(crate) fn dashboard(tier: &str) -> String {
    format!("monitoring/dashboards/{tier}.json")
}
/// Redis exporter entrypoint: the password file as the JSON it reads.
pub(crate) const REDIS_EXPORTER_ENTRYPOINT: &str = "monitoring/redis-exporter-entrypoint.sh";

/// Swarm: init, label nodes, create secrets, deploy, status.
pub(crate) const SETUP_SWARM: &str = "scripts/setup-swarm.sh";
/// The guide's `ssl-setup.sh`: certificate and key files, checked.
pub(crate) const SSL_SETUP: &str = "scripts/ssl-setup.sh";
/// The guide's `ha-setup.sh`: secret files, deploy, status, checks.
pub(crate) const HA_SETUP: &str = "scripts/ha-setup.sh";
/// The guide's health check, with this topology's names.
pub(crate) const HEALTH_CHECK: &str = "scripts/health-check.sh";
/// The guide's failover test, with this topology's names.
pub(crate) const FAILOVER_TEST: &str = "scripts/failover-test.sh";
/// Backup taken from a replica.
pub(crate) const BACKUP: &str = "scripts/backup-from-replica.sh";
/// The scheduled backup: a verified dump from a standby, kept outside the bundle.
pub(crate) const BACKUP_RUN: &str = "scripts/backup.sh";

/// Where `scripts/backup.sh` keeps dumps by default, relative to the
/// bundle folder: outside it, like the secrets, because pf-render replaces
/// the bundle folder on every render.
pub(crate) fn backups_dir(stack: &str) -> String {
    format!("../{stack}-backups")
}

/// Mount points inside containers.
pub(crate) mod mount {
    /// nginx main configuration.
    pub(crate) const NGINX_CONF: &str = "/etc/nginx/nginx.conf";
    /// PostgreSQL configuration of a primary (`-c config_file=`).
    pub(crate) const PG_PRIMARY_CONF: &str = "/etc/postgresql/primary.conf";
    /// PostgreSQL configuration of a standby (`-c config_file=`).
    pub(crate) const PG_STANDBY_CONF: &str = "/etc/postgresql/standby.conf";
    /// PostgreSQL client authentication file (`hba_file`).
    pub(crate) const PG_HBA: &str = "/etc/postgresql/pg_hba.conf";
    /// Init scripts run by the official image on first start.
    pub(crate) const PG_INIT: &str = "/docker-entrypoint-initdb.d/10-init-replication.sh";
    /// Entrypoint of every PostgreSQL member.
    pub(crate) const PG_MEMBER: &str = "/usr/local/bin/postgres-member.sh";
    /// Backup script inside a replica.
    pub(crate) const BACKUP: &str = "/usr/local/bin/backup-from-replica.sh";
    /// Read-only template of a Redis data node's configuration.
    pub(crate) const REDIS_TEMPLATE: &str = "/etc/redis-template/redis.conf";
    /// Read-only template of a Sentinel's configuration.
    pub(crate) const SENTINEL_TEMPLATE: &str = "/etc/redis-template/sentinel.conf";
    /// Data node entrypoint.
    pub(crate) const REDIS_ENTRYPOINT: &str = "/usr/local/bin/redis-entrypoint.sh";
    /// Sentinel entrypoint.
    pub(crate) const SENTINEL_ENTRYPOINT: &str = "/usr/local/bin/sentinel-entrypoint.sh";
    /// Writable data folder of Redis and Sentinel (a per-instance volume).
    pub(crate) const REDIS_DATA: &str = "/data";
    /// Prometheus configuration.
    pub(crate) const PROMETHEUS: &str = "/etc/prometheus/prometheus.yml";
    /// Prometheus rules.
    pub(crate) const ALERTS: &str = "/etc/prometheus/alerts.yml";
    /// Grafana data source provisioning.
    pub(crate) const GRAFANA_DATASOURCE: &str =
        "/etc/grafana/provisioning/datasources/prometheus.yml";
    /// Grafana dashboard provisioning.
    pub(crate) const GRAFANA_DASHBOARDS: &str =
        "/etc/grafana/provisioning/dashboards/pf-render.yml";
    /// The folder of the dashboards the provider loads.
    pub(crate) const DASHBOARDS: &str = "/etc/grafana/dashboards";
    /// Alertmanager configuration.
    pub(crate) const ALERTMANAGER: &str = "/etc/alertmanager/alertmanager.yml";
    /// The load balancer's metrics handler.
    pub(crate) const NGINX_METRICS: &str = "/etc/nginx/metrics.js";
    /// An app's entrypoint shim (`secrets-as = "env"`).
    pub(crate) const APP_SECRETS_ENV: &str = "/usr/local/bin/secrets-env.sh";
    /// Redis exporter entrypoint.
    pub(crate) const REDIS_EXPORTER_ENTRYPOINT: &str =
        "/usr/local/bin/redis-exporter-entrypoint.sh";
    /// The exporter binary in the redis_exporter image.
    pub(crate) const REDIS_EXPORTER_BIN: &str = "/redis_exporter";
    /// Folder of Docker secrets.
    pub(crate) const SECRETS: &str = "/run/secrets";
}
