//! Planning: expand replicas into instances and give every instance its
//! name, host name, container name, volume and file paths for a target.
//! Emitters read names and addresses only from here, so the nginx
//! upstreams, the stack file, the scripts and the docs always agree.

use std::collections::BTreeMap;

use pf_model::model::Connection;
use pf_model::{Topology, naming};
use serde::Serialize;

use crate::files::mount;
use crate::hash;
use crate::target::{LocalOptions, Target};

/// Everything an emitter needs to know about names and places.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    /// `swarm` or `compose`.
    pub(crate) target: &'static str,
    /// True for Swarm.
    pub(crate) swarm: bool,
    /// Stack name.
    pub(crate) stack: String,
    /// Name of the overlay (or bridge) network in the stack file.
    pub(crate) network: &'static str,
    /// Overlay subnet.
    pub(crate) subnet: String,
    /// The load balancer.
    pub(crate) lb: LbPlan,
    /// App services.
    pub(crate) apps: Vec<AppPlan>,
    /// PostgreSQL.
    pub(crate) postgres: PgPlan,
    /// Redis and Sentinels.
    pub(crate) redis: RedisPlan,
    /// Every declared secret.
    pub(crate) secrets: Vec<SecretPlan>,
    /// Where the local target keeps its run-time files (None on Swarm/Compose).
    pub(crate) local: Option<LocalPlan>,
}

/// The local target's folders: every instance runs as a plain process on
/// this machine, on its own loopback address, with files under one folder.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LocalPlan {
    /// The run folder (absolute).
    pub(crate) run_dir: String,
    /// Where the bundle itself is written: `<run>/bundle`.
    pub(crate) bundle_dir: String,
    /// Secret files: `<run>/secrets`.
    pub(crate) secrets_dir: String,
    /// Sockets and pid files: `<run>/run`.
    pub(crate) state_dir: String,
    /// Ports moved because binding below 1024 needs root: (production, local).
    pub(crate) remapped_ports: Vec<(u16, u16)>,
}

/// The loopback network every local instance lives in (127.0.G.I, see
/// [`local_ip`]); it stands in for the overlay subnet.
pub(crate) const LOCAL_SUBNET: &str = "127.0.0.0/16";

/// Address groups of the local target: 127.0.<group>.<index>.
pub(crate) mod group {
    /// The load balancer.
    pub(crate) const LB: u32 = 1;
    /// PostgreSQL.
    pub(crate) const POSTGRES: u32 = 2;
    /// Redis data nodes.
    pub(crate) const REDIS: u32 = 3;
    /// Sentinels.
    pub(crate) const SENTINEL: u32 = 4;
    /// App service k uses group `APPS + k`.
    pub(crate) const APPS: u32 = 10;
}

/// `127.0.<group>.<index>` (index is 1-based).
pub(crate) fn local_ip(group: u32, index: u32) -> String {
    format!("127.0.{group}.{index}")
}

/// One running container (Compose) or one single-replica service (Swarm).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Instance {
    /// Service name in the stack or compose file (`postgres-replica`, `backend1`).
    pub(crate) name: String,
    /// Host name other services use to reach it.
    pub(crate) host: String,
    /// Container name (`promptforge-postgres-replica`) on Compose; the
    /// Swarm service name (`promptforge_postgres-replica`) on Swarm.
    pub(crate) container: String,
    /// Named volume for its data, if it keeps state.
    pub(crate) volume: Option<String>,
    /// Local target: the folder holding its data (`<run>/data/<name>`).
    pub(crate) data_dir: Option<String>,
    /// The address it listens on: `0.0.0.0` in a container, its own
    /// loopback address on the local target.
    pub(crate) listen: String,
}

/// The nginx load balancer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LbPlan {
    /// Its service (Swarm: `nginx`, replicated) or instance (Compose: `nginx-lb`).
    pub(crate) instance: Instance,
    /// Tasks: the topology's instances on Swarm; 1 on a single Compose host
    /// (two containers cannot both bind the host's ports 80 and 443).
    pub(crate) replicas: u32,
    /// Docker's embedded DNS server.
    pub(crate) resolver: &'static str,
    /// One upstream per app service.
    pub(crate) upstreams: Vec<Upstream>,
    /// HTTP port as the target binds it (remapped on the local target).
    pub(crate) http_port: u16,
    /// HTTPS port as the target binds it.
    pub(crate) https_port: u16,
    /// Status port as the target binds it.
    pub(crate) status_port: u16,
    /// TCP upstream of the PostgreSQL read endpoint, if configured.
    pub(crate) read_upstream: Option<Upstream>,
    /// Certificate and key files, when TLS is on.
    pub(crate) tls: Option<TlsFiles>,
}

/// Paths of the TLS files inside the load balancer container.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TlsFiles {
    /// PEM certificate chain.
    pub(crate) certificate: String,
    /// PEM private key.
    pub(crate) key: String,
}

/// An nginx upstream.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Upstream {
    /// Upstream block name (`backend`).
    pub(crate) name: String,
    /// Servers as `host:port`; resolved at run time by nginx (`resolve`).
    pub(crate) servers: Vec<String>,
    /// URL prefix routed here (HTTP upstreams).
    pub(crate) route: String,
    /// Health path of the service.
    pub(crate) health_path: String,
}

/// A stateless app service.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppPlan {
    /// Service name (`backend`).
    pub(crate) name: String,
    /// Swarm: one replicated service named like the app; Compose: `backend1`.. `backendN`.
    pub(crate) instances: Vec<Instance>,
    /// Replicas of the Swarm service.
    pub(crate) replicas: u32,
    /// Port inside the container.
    pub(crate) port: u16,
    /// Environment: the topology's variables, `<NAME>_FILE` for each secret,
    /// and connection settings (no passwords).
    pub(crate) environment: BTreeMap<String, String>,
    /// Secrets mounted into the service.
    pub(crate) secrets: Vec<String>,
}

/// PostgreSQL primary and replicas.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PgPlan {
    /// The primary.
    pub(crate) primary: Instance,
    /// The replicas, each with its slot.
    pub(crate) replicas: Vec<PgReplica>,
    /// Major version of the image.
    pub(crate) major: u32,
    /// Where the volume is mounted (`/var/lib/postgresql/data` up to 17, `/var/lib/postgresql` from 18).
    pub(crate) volume_target: &'static str,
    /// PGDATA inside the container.
    pub(crate) pgdata: String,
    /// `synchronous_standby_names`, when synchronous replication is on.
    pub(crate) synchronous_standby_names: Option<String>,
    /// Owner password file.
    pub(crate) password_file: String,
    /// Replication role password file.
    pub(crate) replication_password_file: String,
}

/// A PostgreSQL streaming replica.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PgReplica {
    /// The instance.
    #[serde(flatten)]
    pub(crate) instance: Instance,
    /// Its physical replication slot, also its `cluster_name` (and so its
    /// `application_name` in `pg_stat_replication`).
    pub(crate) slot: String,
}

/// Redis data nodes and Sentinels.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RedisPlan {
    /// The initial master.
    pub(crate) master: Instance,
    /// The initial replicas.
    pub(crate) replicas: Vec<Instance>,
    /// The Sentinels.
    pub(crate) sentinels: Vec<SentinelPlan>,
    /// Password file of every data node.
    pub(crate) password_file: String,
}

/// One Sentinel.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SentinelPlan {
    /// The instance.
    #[serde(flatten)]
    pub(crate) instance: Instance,
    /// 1-based index.
    pub(crate) index: u32,
    /// Stable 40-hex `sentinel myid`, derived from stack and instance name,
    /// so a re-created Sentinel is not counted as a new voter.
    pub(crate) myid: String,
}

/// A declared secret.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SecretPlan {
    /// Secret name.
    pub(crate) name: String,
    /// What it holds.
    pub(crate) description: String,
    /// `POSTGRES_PASSWORD` for `postgres_password`.
    pub(crate) env: String,
    /// Path inside containers.
    pub(crate) file: String,
}

/// Names, addresses and folders for one target.
struct Namer<'a> {
    stack: &'a str,
    target: Target,
    local: Option<&'a LocalOptions>,
}

impl Namer<'_> {
    fn instance(&self, name: &str, volume: bool, group: u32, index: u32) -> Instance {
        match (self.target, self.local) {
            (Target::Local, Some(local)) => Instance {
                name: name.to_owned(),
                host: local_ip(group, index),
                container: name.to_owned(),
                volume: None,
                data_dir: volume.then(|| format!("{}/data/{name}", local.run_dir)),
                listen: local_ip(group, index),
            },
            _ => Instance {
                name: name.to_owned(),
                host: name.to_owned(),
                container: if self.target == Target::Swarm {
                    format!("{}_{name}", self.stack)
                } else {
                    container_name(self.stack, name)
                },
                volume: volume.then(|| format!("{name}-data")),
                data_dir: None,
                listen: "0.0.0.0".to_owned(),
            },
        }
    }

    fn secret_file(&self, name: &str) -> String {
        match self.local {
            Some(local) => format!("{}/secrets/{name}", local.run_dir),
            None => format!("{}/{name}", mount::SECRETS),
        }
    }

    /// A port as the target uses it: binding below 1024 needs root, so the
    /// local target may move such ports up by 10000 (80 -> 10080).
    fn port(&self, port: u16) -> u16 {
        match self.local {
            Some(l) if l.remap_privileged_ports && port < 1024 => port + 10_000,
            _ => port,
        }
    }
}

impl Plan {
    pub(crate) fn new(topology: &Topology, target: Target, local: Option<&LocalOptions>) -> Self {
        let t = topology.spec();
        let stack = t.name.to_string();
        let swarm = target == Target::Swarm;
        let local = local.filter(|_| target == Target::Local);
        let namer = Namer {
            stack: &stack,
            target,
            local,
        };
        let secret_file = |name: &str| namer.secret_file(name);

        let apps: Vec<AppPlan> = t
            .services
            .iter()
            .zip(0..)
            .map(|(s, k)| {
                let name = s.name.to_string();
                let instances = if swarm {
                    vec![namer.instance(&name, false, group::APPS + k, 1)]
                } else {
                    (1..=s.replicas)
                        .map(|i| {
                            namer.instance(
                                &naming::app_instance(&name, i),
                                false,
                                group::APPS + k,
                                i,
                            )
                        })
                        .collect()
                };
                AppPlan {
                    replicas: s.replicas,
                    port: namer.port(s.port),
                    environment: BTreeMap::new(),
                    secrets: Vec::new(),
                    name,
                    instances,
                }
            })
            .collect();

        let upstreams = apps
            .iter()
            .zip(&t.services)
            .map(|(app, s)| Upstream {
                name: app.name.clone(),
                servers: if swarm {
                    // tasks.<svc> returns one address per task, so nginx
                    // balances and fails over between replicas, not a VIP.
                    vec![format!("tasks.{}:{}", app.name, app.port)]
                } else {
                    app.instances
                        .iter()
                        .map(|i| format!("{}:{}", i.host, app.port))
                        .collect()
                },
                route: s.route.clone(),
                health_path: s.health_path.clone(),
            })
            .collect();

        let pg_names = naming::postgres_instances(t.postgres.replicas);
        let primary = namer.instance(&pg_names[0], true, group::POSTGRES, 1);
        let pg_replicas: Vec<PgReplica> = pg_names[1..]
            .iter()
            .zip(2..)
            .map(|(n, i)| PgReplica {
                instance: namer.instance(n, true, group::POSTGRES, i),
                slot: naming::slot_name(n),
            })
            .collect();
        let major = t.postgres.image.version().map_or(16, |v| v.major);
        let (volume_target, pgdata) = if major >= 18 {
            (
                "/var/lib/postgresql",
                format!("/var/lib/postgresql/{major}/docker"),
            )
        } else {
            (
                "/var/lib/postgresql/data",
                "/var/lib/postgresql/data".to_owned(),
            )
        };
        let synchronous_standby_names = match t.postgres.synchronous {
            pf_model::model::SyncMode::Off => None,
            mode => {
                let names: Vec<String> = pg_replicas
                    .iter()
                    .map(|r| format!("\"{}\"", r.slot))
                    .collect();
                let kind = if matches!(mode, pf_model::model::SyncMode::Any(_)) {
                    "ANY"
                } else {
                    "FIRST"
                };
                Some(format!("{kind} {} ({})", mode.required(), names.join(", ")))
            }
        };

        let read_upstream = t.postgres.read_endpoint.as_ref().map(|_| Upstream {
            name: "postgres_read".to_owned(),
            servers: pg_replicas
                .iter()
                .map(|r| format!("{}:{}", r.instance.host, t.postgres.port))
                .collect(),
            route: String::new(),
            health_path: String::new(),
        });

        let redis_names = naming::redis_instances(t.redis.replicas);
        let sentinels = naming::sentinel_instances(t.redis.sentinel.count)
            .iter()
            .zip(1..)
            .map(|(n, index)| SentinelPlan {
                instance: namer.instance(n, true, group::SENTINEL, index),
                index,
                myid: hash::sha256_hex(format!("{stack}/{n}").as_bytes())[..40].to_owned(),
            })
            .collect();

        let lb_name = if swarm {
            naming::LOAD_BALANCER_SERVICE
        } else {
            naming::LOAD_BALANCER_INSTANCE
        };
        let lb = &t.load_balancer;
        let local_plan = local.map(|l| {
            let mut remapped: Vec<(u16, u16)> = [lb.http_port, lb.https_port, lb.status.port]
                .into_iter()
                .chain(t.services.iter().map(|s| s.port))
                .filter(|p| namer.port(*p) != *p)
                .map(|p| (p, namer.port(p)))
                .collect();
            remapped.sort_unstable();
            remapped.dedup();
            LocalPlan {
                bundle_dir: format!("{}/bundle", l.run_dir),
                secrets_dir: format!("{}/secrets", l.run_dir),
                state_dir: format!("{}/run", l.run_dir),
                run_dir: l.run_dir.clone(),
                remapped_ports: remapped,
            }
        });

        let mut plan = Plan {
            target: target.name(),
            swarm,
            network: "ha",
            subnet: if local.is_some() {
                LOCAL_SUBNET.to_owned()
            } else {
                t.network.subnet.to_string()
            },
            lb: LbPlan {
                instance: namer.instance(lb_name, false, group::LB, 1),
                replicas: if swarm { t.load_balancer.instances } else { 1 },
                http_port: namer.port(lb.http_port),
                https_port: namer.port(lb.https_port),
                status_port: namer.port(lb.status.port),
                resolver: "127.0.0.11",
                upstreams,
                read_upstream,
                tls: t.load_balancer.tls.as_ref().map(|tls| TlsFiles {
                    certificate: secret_file(tls.certificate_secret.as_str()),
                    key: secret_file(tls.key_secret.as_str()),
                }),
            },
            apps,
            postgres: PgPlan {
                primary,
                replicas: pg_replicas,
                major,
                volume_target,
                pgdata,
                synchronous_standby_names,
                password_file: secret_file(t.postgres.password_secret.as_str()),
                replication_password_file: secret_file(
                    t.postgres.replication_password_secret.as_str(),
                ),
            },
            redis: RedisPlan {
                master: namer.instance(&redis_names[0], true, group::REDIS, 1),
                replicas: redis_names[1..]
                    .iter()
                    .zip(2..)
                    .map(|(n, i)| namer.instance(n, true, group::REDIS, i))
                    .collect(),
                sentinels,
                password_file: secret_file(t.redis.password_secret.as_str()),
            },
            secrets: t
                .secrets
                .iter()
                .map(|(name, description)| SecretPlan {
                    name: name.to_string(),
                    description: description.clone(),
                    env: name.env_stem(),
                    file: secret_file(name.as_str()),
                })
                .collect(),
            local: local_plan,
            stack: stack.clone(),
        };
        plan.fill_app_environment(topology);
        plan
    }

    /// Connection settings, secret file variables and the topology's own
    /// variables; never a password.
    fn fill_app_environment(&mut self, topology: &Topology) {
        let t = topology.spec();
        let pg = &self.postgres;
        let replica_host = match (&t.postgres.read_endpoint, pg.replicas.first()) {
            (Some(read), _) => Some(format!("{}:{}", self.lb.instance.host, read.port)),
            (None, Some(r)) => Some(format!("{}:{}", r.instance.host, t.postgres.port)),
            (None, None) => None,
        };
        let sentinels: Vec<String> = self
            .redis
            .sentinels
            .iter()
            .map(|s| format!("{}:{}", s.instance.host, t.redis.sentinel.port))
            .collect();
        let secret_paths: BTreeMap<String, String> = t
            .secrets
            .keys()
            .map(|k| (k.to_string(), self.secret_path(k.as_str())))
            .collect();
        for (app, spec) in self.apps.iter_mut().zip(&t.services) {
            let env = &mut app.environment;
            let mut secrets: Vec<String> = spec.secrets.iter().map(ToString::to_string).collect();
            if spec.connects_to.contains(&Connection::Postgres) {
                let user = &t.postgres.owner;
                let db = &t.postgres.database;
                env.insert(
                    "DATABASE_URL".into(),
                    format!(
                        "postgresql://{user}@{}:{}/{db}",
                        pg.primary.host, t.postgres.port
                    ),
                );
                if let Some(host) = &replica_host {
                    env.insert(
                        "DATABASE_REPLICA_URL".into(),
                        format!("postgresql://{user}@{host}/{db}"),
                    );
                }
                env.insert("POSTGRES_USER".into(), user.to_string());
                env.insert("POSTGRES_DB".into(), db.to_string());
                secrets.push(t.postgres.password_secret.to_string());
            }
            if spec.connects_to.contains(&Connection::Redis) {
                env.insert("REDIS_SENTINELS".into(), sentinels.join(","));
                env.insert("REDIS_MASTER_NAME".into(), t.redis.master_name.clone());
                secrets.push(t.redis.password_secret.to_string());
            }
            if let Some(workers) = spec.workers {
                env.insert(
                    format!(
                        "{}_WORKERS",
                        app.name.to_ascii_uppercase().replace('-', "_")
                    ),
                    workers.to_string(),
                );
            }
            secrets.sort();
            secrets.dedup();
            for s in &secrets {
                let path = secret_paths
                    .get(s)
                    .cloned()
                    .unwrap_or_else(|| format!("{}/{s}", mount::SECRETS));
                env.insert(format!("{}_FILE", s.to_ascii_uppercase()), path);
            }
            for (k, v) in &spec.environment {
                env.insert(k.clone(), v.clone());
            }
            app.secrets = secrets;
        }
    }
}

impl Plan {
    /// Where a secret's file is, as the processes of this target see it.
    pub(crate) fn secret_path(&self, name: &str) -> String {
        match &self.local {
            Some(local) => format!("{}/{name}", local.secrets_dir),
            None => format!("{}/{name}", mount::SECRETS),
        }
    }

    /// A stateless monitoring service (`prometheus`, `nginx-exporter`, ...).
    pub(crate) fn monitoring_instance(&self, name: &str) -> Instance {
        Instance {
            name: name.to_owned(),
            host: name.to_owned(),
            container: if self.swarm {
                format!("{}_{name}", self.stack)
            } else {
                container_name(&self.stack, name)
            },
            volume: None,
            data_dir: None,
            listen: "0.0.0.0".to_owned(),
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
