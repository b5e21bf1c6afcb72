//! Ops scripts with this topology's names baked in: Swarm setup (init,
//! node labels, secrets, deploy), the Compose `ha-setup.sh`, the guide's
//! health check and failover test.
//!
//! Every value a script needs comes from the plan, so the scripts, the
//! stack file and the README name the same services, containers, labels
//! and secrets. Scripts only ever handle secret file paths.

use pf_model::model::{Connection, PublishMode};
use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files;
use crate::plan::Instance;
use crate::templates;

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    // Three templates read the same context: convert it once.
    let ctx = templates::value(ScriptsCx::new(cx));
    let mut scripts = vec![
        (files::HEALTH_CHECK, "scripts/health-check.sh"),
        (files::FAILOVER_TEST, "scripts/failover-test.sh"),
        (files::BACKUP_RUN, "scripts/backup.sh"),
        // The guide's entry point on both targets (`--compose`, `--swarm`).
        (files::HA_SETUP, "scripts/ha-setup.sh"),
    ];
    if cx.plan.is_swarm() {
        scripts.push((files::SETUP_SWARM, "scripts/setup-swarm.sh"));
    }
    if cx.plan.lb.tls.is_some() {
        scripts.push((files::SSL_SETUP, "scripts/ssl-setup.sh"));
    }
    for (path, template) in scripts {
        bundle.add(path, &templates::render_value(template, &ctx)?);
    }
    Ok(())
}

/// Everything the script templates read, already formatted.
#[derive(Debug, Serialize)]
pub(crate) struct ScriptsCx {
    pub(crate) stack: String,
    pub(crate) swarm: bool,
    pub(crate) origin: String,
    pub(crate) stack_file: &'static str,
    pub(crate) compose_file: &'static str,
    pub(crate) health_check: &'static str,
    pub(crate) failover_test: &'static str,
    pub(crate) setup_swarm: &'static str,
    /// `scripts/ssl-setup.sh`, or empty without TLS.
    pub(crate) ssl_setup: &'static str,
    /// The certificate and key secrets (TLS on).
    pub(crate) tls: Option<TlsCx>,
    /// The load balancer's edge nodes (Swarm, host-mode ports).
    pub(crate) edge: Option<EdgeCx>,
    /// `capacity.nodes`: nodes `--label-nodes` needs.
    pub(crate) nodes_required: u32,
    /// The default of SECRETS_DIR, relative to the bundle folder.
    pub(crate) secrets_dir: String,
    /// The default of BACKUP_DIR, relative to the bundle folder.
    pub(crate) backups_dir: String,
    /// The scheduled backup script.
    pub(crate) backup: &'static str,
    pub(crate) secrets: Vec<SecretCx>,
    /// Stateful instances pinned with node labels, in assignment order.
    pub(crate) labelled: Vec<LabelCx>,
    /// The services of each deploy step, space-separated (Swarm).
    pub(crate) steps: Vec<String>,
    pub(crate) lb: LbCx,
    pub(crate) apps: Vec<AppCx>,
    pub(crate) pg: PgCx,
    pub(crate) redis: RedisCx,
}

/// A declared secret and where it comes from.
#[derive(Debug, Serialize)]
pub(crate) struct SecretCx {
    pub(crate) name: String,
    /// Swarm secret name (`promptforge_postgres_password`).
    pub(crate) swarm_name: String,
    /// Its file with the default SECRETS_DIR, relative to the bundle
    /// folder (`../promptforge-secrets/postgres_password`).
    pub(crate) file: String,
    pub(crate) description: String,
    /// The guide's variable (`POSTGRES_PASSWORD`).
    pub(crate) env: String,
    /// `service:uid:gid` of each container that reads it, space-separated;
    /// uid and gid `any` for an image whose user is unknown.
    pub(crate) readers: String,
    /// The same for people: `postgres-primary (uid 999), backend (any uid)`.
    pub(crate) readers_text: String,
    /// One of the stack's own passwords, which `ha-setup.sh --secrets` may
    /// generate (not an app's key or the certificate).
    pub(crate) generate: bool,
}

/// TLS files for ssl-setup.sh.
#[derive(Debug, Serialize)]
pub(crate) struct TlsCx {
    pub(crate) certificate: String,
    pub(crate) key: String,
    pub(crate) server_name: String,
}

/// The load balancer's edge nodes.
#[derive(Debug, Serialize)]
pub(crate) struct EdgeCx {
    /// `promptforge.edge`.
    pub(crate) key: String,
    pub(crate) count: u32,
}

/// A node label of one stateful instance.
#[derive(Debug, Serialize)]
pub(crate) struct LabelCx {
    pub(crate) instance: String,
    /// `promptforge.postgres-primary`: the label key set to `true`.
    pub(crate) key: String,
}

/// One instance as scripts address it.
#[derive(Debug, Serialize)]
pub(crate) struct TargetCx {
    pub(crate) name: String,
    pub(crate) host: String,
    /// Compose: the container name; Swarm: the service name, whose local
    /// task container the scripts look up by label.
    pub(crate) target: String,
}

impl From<&Instance> for TargetCx {
    fn from(i: &Instance) -> Self {
        Self {
            name: i.name.clone(),
            host: i.host.clone(),
            target: i.container.clone(),
        }
    }
}

/// The load balancer and the public entry it serves.
#[derive(Debug, Serialize)]
pub(crate) struct LbCx {
    pub(crate) instance: TargetCx,
    pub(crate) status_port: u16,
    pub(crate) scheme: &'static str,
    pub(crate) server_name: String,
    pub(crate) port: u16,
    /// Host-mode publishing: only nodes running an nginx task answer.
    pub(crate) host_mode: bool,
    pub(crate) max_fails: u32,
    pub(crate) fail_timeout: String,
}

/// An app service.
#[derive(Debug, Serialize)]
pub(crate) struct AppCx {
    pub(crate) name: String,
    pub(crate) health_path: String,
    pub(crate) replicas: u32,
    /// Compose: one per replica; Swarm: the service.
    pub(crate) instances: Vec<TargetCx>,
    pub(crate) uses_redis: bool,
    pub(crate) uses_postgres: bool,
}

/// PostgreSQL.
#[derive(Debug, Serialize)]
pub(crate) struct PgCx {
    pub(crate) owner: String,
    pub(crate) database: String,
    pub(crate) port: u16,
    pub(crate) pgdata: String,
    pub(crate) password_file: String,
    /// The member the topology names primary.
    pub(crate) primary: TargetCx,
    /// Its number (`postgres.primary`).
    pub(crate) primary_number: u32,
    /// The members the topology makes standbys.
    pub(crate) replicas: Vec<PgReplicaCx>,
    /// Every member, in order.
    pub(crate) members: Vec<TargetCx>,
    /// The member entrypoint inside every member's container.
    pub(crate) member_script: &'static str,
    /// The backup script inside every member's container.
    pub(crate) backup_script: &'static str,
    /// The stop grace period, whole seconds.
    pub(crate) grace_secs: u64,
    /// The network alias that follows the primary.
    pub(crate) primary_alias: String,
}

/// A PostgreSQL replica.
#[derive(Debug, Serialize)]
pub(crate) struct PgReplicaCx {
    #[serde(flatten)]
    pub(crate) instance: TargetCx,
    pub(crate) slot: String,
}

/// Redis and Sentinels.
#[derive(Debug, Serialize)]
pub(crate) struct RedisCx {
    pub(crate) port: u16,
    pub(crate) sentinel_port: u16,
    pub(crate) master_name: String,
    pub(crate) password_file: String,
    pub(crate) quorum: u32,
    pub(crate) down_after: String,
    pub(crate) failover_timeout: String,
    /// Sentinels know the nodes by name (else by fixed address).
    pub(crate) hostnames: bool,
    /// down-after + failover-timeout, whole seconds rounded up.
    pub(crate) budget_secs: u64,
    /// The initial master first, then the replicas.
    pub(crate) nodes: Vec<TargetCx>,
    pub(crate) sentinels: Vec<TargetCx>,
}

impl ScriptsCx {
    pub(crate) fn new(cx: &Cx<'_>) -> Self {
        let plan = cx.plan;
        let stack = plan.stack.clone();
        let secrets_dir = files::secrets_dir(&stack);
        let pg_settings = &plan.postgres.settings;
        let mut generated = vec![
            pg_settings.password_secret.to_string(),
            pg_settings.replication_password_secret.to_string(),
            plan.redis.settings.password_secret.to_string(),
        ];
        if let Some(m) = &plan.monitoring {
            generated.extend(
                m.settings
                    .grafana_admin_password_secret
                    .iter()
                    .map(ToString::to_string),
            );
        }
        let secrets = plan
            .secrets
            .iter()
            .map(|s| SecretCx {
                name: s.name.clone(),
                swarm_name: s.swarm_name.clone(),
                file: format!("{secrets_dir}/{}", s.name),
                description: s.description.clone(),
                env: s.env.clone(),
                readers: s
                    .readers
                    .iter()
                    .map(|r| match r.owner {
                        Some(o) => format!("{}:{}:{}", r.service, o.uid, o.gid),
                        None => format!("{}:any:any", r.service),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                readers_text: readers_text(&s.readers),
                generate: generated.contains(&s.name),
            })
            .collect();
        let labelled = plan
            .services()
            .filter_map(|(i, d)| {
                d.placement.node_label.as_ref().map(|key| LabelCx {
                    instance: i.name.clone(),
                    key: key.clone(),
                })
            })
            .collect();
        let steps = (1..=crate::plan::steps(plan.services().map(|(_, d)| d)))
            .map(|step| {
                plan.services()
                    .filter(|(_, d)| d.update_step == step)
                    .map(|(i, _)| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let lb = &plan.lb.settings;
        let pg = &plan.postgres;
        let redis = &plan.redis;
        let sentinel = &redis.settings.sentinel;
        let text = |p: &std::path::Path| p.display().to_string();
        Self {
            stack: stack.clone(),
            swarm: plan.is_swarm(),
            origin: crate::escape::file_label(&plan.origin),
            stack_file: files::STACK,
            compose_file: files::COMPOSE,
            health_check: files::HEALTH_CHECK,
            failover_test: files::FAILOVER_TEST,
            setup_swarm: files::SETUP_SWARM,
            ssl_setup: if lb.tls.is_some() {
                files::SSL_SETUP
            } else {
                ""
            },
            tls: lb.tls.as_ref().map(|t| TlsCx {
                certificate: t.certificate_secret.to_string(),
                key: t.key_secret.to_string(),
                server_name: lb.server_name.clone(),
            }),
            edge: plan.lb.edge.as_ref().map(|e| EdgeCx {
                key: e.label.clone(),
                count: e.count,
            }),
            nodes_required: plan.capacity.nodes,
            backups_dir: files::backups_dir(&stack),
            backup: files::BACKUP_RUN,
            secrets_dir,
            secrets,
            labelled,
            steps,
            lb: LbCx {
                instance: (&plan.lb.instance).into(),
                status_port: lb.status.port,
                scheme: plan.lb.entry.scheme.as_str(),
                server_name: lb.server_name.clone(),
                port: plan.lb.entry.port,
                host_mode: lb.publish_mode == PublishMode::Host,
                max_fails: lb.max_fails,
                fail_timeout: lb.fail_timeout.to_string(),
            },
            apps: plan
                .apps
                .iter()
                .map(|app| AppCx {
                    name: app.name.clone(),
                    health_path: app.settings.health_path.clone(),
                    replicas: app.settings.replicas,
                    instances: app.instances.iter().map(Into::into).collect(),
                    uses_redis: app.settings.connects_to.contains(&Connection::Redis),
                    uses_postgres: app.settings.connects_to.contains(&Connection::Postgres),
                })
                .collect(),
            pg: PgCx {
                owner: pg.settings.owner.to_string(),
                database: pg.settings.database.to_string(),
                port: pg.settings.port,
                pgdata: text(&pg.pgdata),
                password_file: text(&pg.password_file),
                primary: (&pg.primary().instance).into(),
                primary_number: pg.primary().number,
                members: pg.members().map(|m| (&m.instance).into()).collect(),
                member_script: files::mount::PG_MEMBER,
                backup_script: files::mount::BACKUP,
                grace_secs: pg.settings.stop_grace_period.as_secs_ceil(),
                primary_alias: pg.primary_host.clone(),
                replicas: pg
                    .replicas()
                    .into_iter()
                    .map(|r| PgReplicaCx {
                        instance: (&r.instance).into(),
                        slot: r.slot.clone(),
                    })
                    .collect(),
            },
            redis: RedisCx {
                port: redis.settings.port,
                sentinel_port: sentinel.port,
                master_name: redis.settings.master_name.clone(),
                password_file: text(&redis.password_file),
                quorum: sentinel.quorum,
                down_after: sentinel.down_after.to_string(),
                failover_timeout: sentinel.failover_timeout.to_string(),
                hostnames: redis.addressing.hostnames(),
                budget_secs: (sentinel.down_after.as_millis()
                    + sentinel.failover_timeout.as_millis())
                .div_ceil(1000),
                nodes: redis.nodes().map(|n| (&n.instance).into()).collect(),
                sentinels: redis
                    .sentinels
                    .iter()
                    .map(|s| (&s.instance).into())
                    .collect(),
            },
        }
    }
}

/// `postgres-primary (uid 999), backend (its image's user)`; the services
/// of a Compose tier (`backend1`, `backend2`) share one entry.
fn readers_text(readers: &[crate::plan::SecretReader]) -> String {
    let mut out: Vec<String> = Vec::new();
    for r in readers {
        let who = match r.owner {
            Some(o) if o.uid == 0 => "root".to_owned(),
            Some(o) => format!("uid {}", o.uid),
            None => "its image's user".to_owned(),
        };
        let entry = format!("{} ({who})", r.service);
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        "no container".to_owned()
    } else {
        out.join(", ")
    }
}
