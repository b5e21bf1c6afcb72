//! Where every instance of the local target lives: its loopback address,
//! ports and folders.
//!
//! The renderer's plan decides these (`127.0.<group>.<index>`, production
//! ports, ports below 1024 moved up by 10000 without root, folders under the
//! run folder); its types are private to pf-render, so the drill derives
//! the same layout from the topology and then checks it against every
//! rendered file that states an address or a folder ([`Layout::verify`]). A
//! drift between the two is reported, never run.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pf_model::model::{LbMethod, SyncMode};
use pf_model::units::Cidr;
use pf_model::{Topology, naming};
use pf_render::Bundle;

use crate::error::DrillError;

/// Address groups of the local target: 127.0.<group>.<index>.
const GROUP_LB: u8 = 1;
const GROUP_POSTGRES: u8 = 2;
const GROUP_REDIS: u8 = 3;
const GROUP_SENTINEL: u8 = 4;
const GROUP_APPS: u8 = 10;

/// The loopback network standing in for the overlay subnet.
pub(crate) const LOCAL_SUBNET: &str = "127.0.0.0/16";

fn ip(group: u8, index: u32) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, group, u8::try_from(index).unwrap_or(u8::MAX))
}

fn ms(d: pf_model::units::Duration) -> Duration {
    Duration::from_millis(d.as_millis())
}

/// One instance: name and loopback address.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) addr: Ipv4Addr,
    /// Its data folder, for stateful instances.
    pub(crate) data_dir: PathBuf,
}

/// The load balancer.
#[derive(Debug, Clone)]
pub(crate) struct Lb {
    pub(crate) addr: Ipv4Addr,
    pub(crate) http_port: u16,
    pub(crate) https_port: u16,
    pub(crate) status_port: u16,
    pub(crate) server_name: String,
    /// (certificate, key) files, when TLS is on.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) read_port: Option<u16>,
    /// The status allow-list as the local file has it.
    pub(crate) status_allow: Vec<Cidr>,
    pub(crate) method: LbMethod,
    pub(crate) max_fails: u32,
    pub(crate) fail_timeout: Duration,
    pub(crate) next_upstream_tries: u32,
}

/// A stateless app service.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) name: String,
    pub(crate) route: String,
    pub(crate) health_path: String,
    pub(crate) port: u16,
    pub(crate) instances: Vec<Node>,
}

/// A PostgreSQL instance.
#[derive(Debug, Clone)]
pub(crate) struct PgNode {
    pub(crate) node: Node,
    pub(crate) socket_dir: PathBuf,
    /// Replicas: the slot (also cluster_name and application_name).
    pub(crate) slot: Option<String>,
}

/// PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) struct Pg {
    pub(crate) primary: PgNode,
    pub(crate) replicas: Vec<PgNode>,
    pub(crate) port: u16,
    pub(crate) owner: String,
    pub(crate) database: String,
    pub(crate) synchronous: SyncMode,
    pub(crate) lag_warning: Duration,
    pub(crate) lag_critical: Duration,
    pub(crate) lag_warning_bytes: u64,
    pub(crate) password_file: PathBuf,
    pub(crate) replication_password_file: PathBuf,
}

/// Redis and Sentinels.
#[derive(Debug, Clone)]
pub(crate) struct Redis {
    pub(crate) master: Node,
    pub(crate) replicas: Vec<Node>,
    pub(crate) sentinels: Vec<Node>,
    pub(crate) port: u16,
    pub(crate) sentinel_port: u16,
    pub(crate) master_name: String,
    pub(crate) password_file: PathBuf,
    pub(crate) down_after: Duration,
    pub(crate) failover_timeout: Duration,
}

/// Every place of the local run.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) run: PathBuf,
    pub(crate) bundle: PathBuf,
    pub(crate) secrets: PathBuf,
    /// Sockets, pid files, nginx temp folders: `<run>/run`.
    pub(crate) state: PathBuf,
    pub(crate) data: PathBuf,
    pub(crate) logs: PathBuf,
    pub(crate) lb: Lb,
    pub(crate) apps: Vec<App>,
    pub(crate) pg: Pg,
    pub(crate) redis: Redis,
    /// Ports moved up because the drill runs without root: (production, local).
    pub(crate) remapped: Vec<(u16, u16)>,
}

impl Layout {
    /// The layout of `topology` under `run`.
    pub(crate) fn new(topology: &Topology, run: &Path, remap: bool) -> Self {
        let t = topology.spec();
        let port = |p: u16| if remap && p < 1024 { p + 10_000 } else { p };
        let data = run.join("data");
        let state = run.join("run");
        let secrets = run.join("secrets");
        let node = |name: &str, group: u8, index: u32| Node {
            name: name.to_owned(),
            addr: ip(group, index),
            data_dir: data.join(name),
        };
        let lb = &t.load_balancer;
        let subnet = t.network.subnet;
        let local_subnet: Cidr = LOCAL_SUBNET.parse().unwrap_or(subnet);

        let apps = t
            .services
            .iter()
            .zip(0u8..)
            .map(|(s, k)| App {
                name: s.name.to_string(),
                route: s.route.clone(),
                health_path: s.health_path.clone(),
                port: port(s.port),
                instances: (1..=s.replicas)
                    .map(|i| node(&naming::app_instance(s.name.as_str(), i), GROUP_APPS + k, i))
                    .collect(),
            })
            .collect();

        let pg_names = naming::postgres_instances(t.postgres.replicas);
        let pg_node = |name: &str, index: u32, slot: Option<String>| PgNode {
            node: node(name, GROUP_POSTGRES, index),
            socket_dir: state.join(name),
            slot,
        };
        let redis_names = naming::redis_instances(t.redis.replicas);
        let s = &t.redis.sentinel;
        let mut remapped: Vec<(u16, u16)> = [lb.http_port, lb.https_port, lb.status.port]
            .into_iter()
            .chain(t.services.iter().map(|s| s.port))
            .filter(|p| port(*p) != *p)
            .map(|p| (p, port(p)))
            .collect();
        remapped.sort_unstable();
        remapped.dedup();

        Self {
            lb: Lb {
                addr: ip(GROUP_LB, 1),
                http_port: port(lb.http_port),
                https_port: port(lb.https_port),
                status_port: port(lb.status.port),
                server_name: lb.server_name.clone(),
                tls: lb.tls.as_ref().map(|tls| {
                    (
                        secrets.join(tls.certificate_secret.as_str()),
                        secrets.join(tls.key_secret.as_str()),
                    )
                }),
                read_port: t.postgres.read_endpoint.as_ref().map(|r| r.port),
                // As the nginx emitter renders it: the loopback network
                // stands in for the overlay subnet.
                status_allow: lb
                    .status
                    .allow
                    .iter()
                    .map(|c| if *c == subnet { local_subnet } else { *c })
                    .collect(),
                method: lb.method,
                max_fails: lb.max_fails,
                fail_timeout: ms(lb.fail_timeout),
                next_upstream_tries: lb.next_upstream_tries,
            },
            apps,
            pg: Pg {
                primary: pg_node(&pg_names[0], 1, None),
                replicas: pg_names[1..]
                    .iter()
                    .zip(2..)
                    .map(|(n, i)| pg_node(n, i, Some(naming::slot_name(n))))
                    .collect(),
                port: t.postgres.port,
                owner: t.postgres.owner.to_string(),
                database: t.postgres.database.to_string(),
                synchronous: t.postgres.synchronous,
                lag_warning: ms(t.postgres.lag.warning),
                lag_critical: ms(t.postgres.lag.critical),
                lag_warning_bytes: t.postgres.lag.warning_bytes.bytes(),
                password_file: secrets.join(t.postgres.password_secret.as_str()),
                replication_password_file: secrets
                    .join(t.postgres.replication_password_secret.as_str()),
            },
            redis: Redis {
                master: node(&redis_names[0], GROUP_REDIS, 1),
                replicas: redis_names[1..]
                    .iter()
                    .zip(2..)
                    .map(|(n, i)| node(n, GROUP_REDIS, i))
                    .collect(),
                sentinels: naming::sentinel_instances(s.count)
                    .iter()
                    .zip(1..)
                    .map(|(n, i)| node(n, GROUP_SENTINEL, i))
                    .collect(),
                port: t.redis.port,
                sentinel_port: s.port,
                master_name: t.redis.master_name.clone(),
                password_file: secrets.join(t.redis.password_secret.as_str()),
                down_after: ms(s.down_after),
                failover_timeout: ms(s.failover_timeout),
            },
            run: run.to_path_buf(),
            bundle: run.join("bundle"),
            secrets,
            state,
            data,
            logs: run.join("logs"),
            remapped,
        }
    }

    /// Every address and port the drill will bind or start a server on.
    pub(crate) fn endpoints(&self) -> Vec<(String, Ipv4Addr, u16)> {
        let mut v = Vec::new();
        let lb = &self.lb;
        v.push(("nginx".to_owned(), lb.addr, lb.http_port));
        if lb.tls.is_some() {
            v.push(("nginx".to_owned(), lb.addr, lb.https_port));
        }
        v.push(("nginx status".to_owned(), lb.addr, lb.status_port));
        if let Some(p) = lb.read_port {
            v.push(("nginx read endpoint".to_owned(), lb.addr, p));
        }
        for app in &self.apps {
            for i in &app.instances {
                v.push((i.name.clone(), i.addr, app.port));
            }
        }
        for n in std::iter::once(&self.pg.primary).chain(&self.pg.replicas) {
            v.push((n.node.name.clone(), n.node.addr, self.pg.port));
        }
        for n in std::iter::once(&self.redis.master).chain(&self.redis.replicas) {
            v.push((n.name.clone(), n.addr, self.redis.port));
        }
        for n in &self.redis.sentinels {
            v.push((n.name.clone(), n.addr, self.redis.sentinel_port));
        }
        v
    }

    /// Checks that the rendered bundle puts every instance where this
    /// layout expects it.
    pub(crate) fn verify(&self, bundle: &Bundle) -> Result<(), DrillError> {
        let b = self.bundle.display().to_string();
        let mut wanted: Vec<(&str, String)> = Vec::new();
        let lb = &self.lb;
        wanted.push((NGINX, format!("listen {}:{}", lb.addr, lb.http_port)));
        wanted.push((NGINX, format!("listen {}:{}", lb.addr, lb.status_port)));
        for app in &self.apps {
            for i in &app.instances {
                wanted.push((NGINX, format!("server {}:{} ", i.addr, app.port)));
            }
        }
        let pg = &self.pg;
        wanted.push((
            PG_PRIMARY,
            format!("listen_addresses = '{}'", pg.primary.node.addr),
        ));
        wanted.push((
            PG_PRIMARY,
            format!(
                "unix_socket_directories = '{}'",
                pg.primary.socket_dir.display()
            ),
        ));
        wanted.push((PG_PRIMARY, format!("\nport = {}\n", pg.port)));
        wanted.push((PG_PRIMARY, format!("hba_file = '{b}/{PG_HBA}'")));
        for r in &pg.replicas {
            wanted.push((PG_BOOTSTRAP, format!("listen_address='{}'", r.node.addr)));
            wanted.push((
                PG_BOOTSTRAP,
                format!("socket_dir='{}'", r.socket_dir.display()),
            ));
            wanted.push((
                PG_BOOTSTRAP,
                format!("default_pgdata='{}'", r.node.data_dir.display()),
            ));
        }
        if !pg.replicas.is_empty() {
            wanted.push((
                PG_BOOTSTRAP,
                format!(
                    "primary_host=\"${{PG_PRIMARY_HOST:-{}}}\"",
                    pg.primary.node.addr
                ),
            ));
        }
        let r = &self.redis;
        wanted.push((REDIS_MASTER, format!("bind {}\n", r.master.addr)));
        wanted.push((
            REDIS_REPLICA,
            format!("replicaof {} {}\n", r.master.addr, r.port),
        ));
        for (s, i) in r.sentinels.iter().zip(1..) {
            let path = format!("redis/sentinel-{i}.conf");
            for needle in [
                format!("bind {}\n", s.addr),
                format!("port {}\n", r.sentinel_port),
                format!("dir {}\n", s.data_dir.display()),
                format!(
                    "sentinel monitor {} {} {} ",
                    r.master_name, r.master.addr, r.port
                ),
            ] {
                check(bundle, &path, &needle)?;
            }
        }
        for (path, needle) in wanted {
            check(bundle, path, &needle)?;
        }
        Ok(())
    }
}

/// Bundle paths the drill reads or starts.
pub(crate) const NGINX: &str = "nginx/load-balancer.conf";
pub(crate) const PG_PRIMARY: &str = "postgresql/primary/postgresql.conf";
pub(crate) const PG_HBA: &str = "postgresql/primary/pg_hba.conf";
pub(crate) const PG_INIT: &str = "postgresql/primary/init-replication.sh";
pub(crate) const PG_BOOTSTRAP: &str = "postgresql/replica/bootstrap-replica.sh";
pub(crate) const REDIS_MASTER: &str = "redis/master.conf";
pub(crate) const REDIS_REPLICA: &str = "redis/replica.conf";
pub(crate) const REDIS_ENTRYPOINT: &str = "redis/redis-entrypoint.sh";
pub(crate) const SENTINEL_ENTRYPOINT: &str = "redis/sentinel-entrypoint.sh";

fn check(bundle: &Bundle, path: &str, needle: &str) -> Result<(), DrillError> {
    let artifact = bundle.get(path).ok_or_else(|| {
        DrillError::env(format!(
            "the local bundle has no {path}: the drill and pf-render disagree (a bug)"
        ))
    })?;
    if artifact.contents.contains(needle) {
        Ok(())
    } else {
        Err(DrillError::env(format!(
            "the drill and pf-render disagree about the local layout (a bug): {path} has no `{}`",
            needle.trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topologies() -> Vec<(String, Topology)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut out = Vec::new();
        for dir in ["topologies", "examples"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                .expect("topology folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for f in files {
                let shown = f.display().to_string();
                let loaded = pf_model::load(&f).unwrap_or_else(|e| panic!("{shown}: {e}"));
                let t = loaded.validate().topology.expect("valid topology");
                out.push((shown, t));
            }
        }
        assert!(out.len() >= 3, "prod and the examples");
        out
    }

    /// The drill's copy of the address scheme matches what pf-render
    /// renders, with and without root, for every committed topology.
    #[test]
    fn layout_matches_every_rendered_local_bundle() {
        for (name, t) in topologies() {
            for remap in [false, true] {
                let run = Path::new("/tmp/pf-drill-layout-test");
                let layout = Layout::new(&t, run, remap);
                let options = pf_render::LocalOptions {
                    run_dir: run.to_path_buf(),
                    remap_privileged_ports: remap,
                };
                let bundle =
                    pf_render::render(&t, pf_render::Target::Local(options)).expect("render local");
                layout
                    .verify(&bundle)
                    .unwrap_or_else(|e| panic!("{name} (remap {remap}): {e}"));
                let endpoints = layout.endpoints();
                let unique: std::collections::BTreeSet<_> =
                    endpoints.iter().map(|(_, a, p)| (a, p)).collect();
                assert_eq!(
                    unique.len(),
                    endpoints.len(),
                    "{name}: an address is used twice"
                );
                assert!(endpoints.iter().all(|(_, a, _)| a.is_loopback()));
            }
        }
    }

    /// A layout that disagrees with the bundle is refused, naming the file.
    #[test]
    fn a_drifted_layout_is_refused() {
        let (_, t) = topologies().remove(0);
        let run = Path::new("/tmp/pf-drill-layout-test");
        let mut layout = Layout::new(&t, run, true);
        let bundle = pf_render::render(
            &t,
            pf_render::Target::Local(pf_render::LocalOptions {
                run_dir: run.to_path_buf(),
                remap_privileged_ports: true,
            }),
        )
        .expect("render");
        layout.redis.master.addr = Ipv4Addr::new(127, 0, 3, 9);
        let e = layout.verify(&bundle).expect_err("drift must be caught");
        assert!(e.to_string().contains("redis/"), "{e}");
    }
}
