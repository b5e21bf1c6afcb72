//! PostgreSQL: role-neutral members `postgres-1` .. `postgres-N`, one of
//! which the topology names primary (`postgres.primary`). Every member
//! runs the same entrypoint, which decides at each start whether it is the
//! primary or a standby from that setting and from what the other members
//! say (see `docs/postgres-failover.md`); the plan gives each member its
//! slot, data folder, files and deployment, and the stable aliases that
//! follow the primary.

use std::path::PathBuf;

use pf_model::model::{Placement, Postgres, SyncMode};
use pf_model::units::Duration;
use pf_model::{TopologyFile, naming};
use serde::Serialize;

use super::deployment::{Deployment, check, shell};
use super::instance::{BundleFile, EXECUTABLE, Instance, Kind, Namer, READ_ONLY};
use super::local::{address, group};
use crate::files::{self, mount};

/// Where the member entrypoint writes the libpq password file of the
/// replication connection in a container: in the container's own file
/// system, outside the data volume, rewritten from the secret on every start.
const REPLICATION_PASSFILE: &str = "/var/run/postgresql/replication.pgpass";

/// TCP keepalives of every PostgreSQL connection: the first probe after 60 s
/// of silence, then every 10 s, dead after 6 unanswered. Swarm's IPVS drops
/// a connection idle for 900 s without telling either end (moby#31208), so
/// an application's pooled connection would die silently after 15 minutes;
/// a probe every minute keeps the flow known to IPVS, and a peer that is
/// really gone is noticed within two minutes instead of two hours (the
/// kernel's default keepalive time).
const KEEPALIVE: Keepalive = Keepalive {
    idle_secs: 60,
    interval_secs: 10,
    count: 6,
};

/// PostgreSQL members, the primary among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgPlan {
    /// The topology's settings (the port is the same on every target).
    pub settings: Postgres,
    /// Every member, `postgres-1` .. `postgres-<replicas + 1>`, in order.
    pub members: Vec<PgMember>,
    /// Major version of the image (16 when the tag names none).
    pub major: u32,
    /// PGDATA inside a container (`/var/lib/postgresql/data` up to 17,
    /// `/var/lib/postgresql/<major>/docker` from 18).
    pub pgdata: PathBuf,
    /// `synchronous_standby_names` of the primary, when synchronous
    /// replication is on: every member's name, so the file is the same
    /// whichever member is the primary (its own name never matches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronous_standby_names: Option<String>,
    /// Where applications write: the alias `postgres-primary` that follows
    /// the primary in containers, the primary's address locally.
    pub primary_host: String,
    /// The guide's read replica: the alias `postgres-replica` of the first
    /// member that is not the primary (its address locally); `None`
    /// without replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_host: Option<String>,
    /// Owner password file.
    pub password_file: PathBuf,
    /// Replication role password file.
    pub replication_password_file: PathBuf,
    /// The libpq password file the member entrypoint writes for its
    /// replication connections.
    pub replication_passfile: PathBuf,
    /// The member backups read from: the first replica, or the primary
    /// when there is none.
    pub backup_from: String,
    /// How long a member that is to become primary waits, while another
    /// member cannot be reached, before it promotes itself: the stop grace
    /// period, after which a member that was being stopped is surely gone.
    pub fence: Duration,
    /// How long a member waits for a primary to appear before it exits (and
    /// the orchestrator restarts it): a clone needs one, and a demoted
    /// primary waits for its successor.
    pub primary_wait: Duration,
    /// TCP keepalives of the server's connections (`tcp_keepalives_*`),
    /// also used by the read endpoint on the load balancer.
    pub keepalive: Keepalive,
    /// The area's files.
    pub files: PgFiles,
}

/// TCP keepalive timing, in seconds and probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Keepalive {
    /// Silence before the first probe.
    pub idle_secs: u32,
    /// Time between probes.
    pub interval_secs: u32,
    /// Unanswered probes before the connection is dropped.
    pub count: u32,
}

/// One PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgMember {
    /// The instance.
    pub instance: Instance,
    /// Its number: `postgres.primary` names a member by it.
    pub number: u32,
    /// The role the topology gives it.
    pub role: PgRole,
    /// Its `cluster_name` and, while it is a standby, its physical
    /// replication slot on the primary (so its `application_name` in
    /// `pg_stat_replication`).
    pub slot: String,
    /// Local target: its socket folder (the image's /var/run/postgresql).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_dir: Option<PathBuf>,
}

/// The role the topology gives a PostgreSQL member. The entrypoint starts
/// it in that role unless the other members show that doing so would make
/// a second primary (see `docs/postgres-failover.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PgRole {
    /// Takes writes: initialised by the image on an empty cluster, promoted
    /// from a standby after a failover.
    Primary,
    /// Cloned from the primary, then streams from it under its own slot.
    Replica,
}

/// The files of the PostgreSQL area; every member mounts all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgFiles {
    /// postgresql.conf of a member that starts as the primary.
    pub primary_conf: BundleFile,
    /// postgresql.conf of a member that starts as a standby.
    pub standby_conf: BundleFile,
    /// pg_hba.conf of every member.
    pub hba: BundleFile,
    /// Run once when a new cluster is initialised: the replication role,
    /// its grants and the other members' slots.
    pub init: BundleFile,
    /// The entrypoint of every member: decides its role, clones, rejoins,
    /// promotes, and starts PostgreSQL.
    pub member: BundleFile,
    /// Backup from a replica.
    pub backup: BundleFile,
}

impl PgPlan {
    pub(super) fn new(t: &TopologyFile, namer: &Namer<'_>) -> Self {
        let pg = &t.postgres;
        let major = pg.image.version().map_or(16, |v| v.major);
        let (volume_target, pgdata) = if major >= 18 {
            (
                "/var/lib/postgresql".to_owned(),
                format!("/var/lib/postgresql/{major}/docker"),
            )
        } else {
            (
                "/var/lib/postgresql/data".to_owned(),
                "/var/lib/postgresql/data".to_owned(),
            )
        };
        let files = PgFiles {
            primary_conf: namer.file(files::PG_PRIMARY_CONF, mount::PG_PRIMARY_CONF, READ_ONLY),
            standby_conf: namer.file(files::PG_STANDBY_CONF, mount::PG_STANDBY_CONF, READ_ONLY),
            hba: namer.file(files::PG_HBA, mount::PG_HBA, READ_ONLY),
            init: namer.file(files::PG_INIT, mount::PG_INIT, EXECUTABLE),
            member: namer.file(files::PG_MEMBER, mount::PG_MEMBER, EXECUTABLE),
            backup: namer.file(files::BACKUP, mount::BACKUP, EXECUTABLE),
        };
        let mut members: Vec<PgMember> = naming::postgres_instances(pg.replicas)
            .iter()
            .zip(1..)
            .map(|(name, number)| {
                let mut instance = namer.instance(
                    name,
                    Kind::Postgres,
                    address(group::POSTGRES, number),
                    Some(&volume_target),
                );
                instance.files = vec![
                    files.primary_conf.clone(),
                    files.standby_conf.clone(),
                    files.hba.clone(),
                    files.init.clone(),
                    files.member.clone(),
                    files.backup.clone(),
                ];
                PgMember {
                    socket_dir: namer.local.map(|(_, local)| local.socket_dir(name)),
                    slot: naming::slot_name(name),
                    number,
                    role: if number == pg.primary {
                        PgRole::Primary
                    } else {
                        PgRole::Replica
                    },
                    instance,
                }
            })
            .collect();
        let synchronous_standby_names = match pg.synchronous {
            SyncMode::Off => None,
            mode => {
                let names: Vec<String> =
                    members.iter().map(|m| format!("\"{}\"", m.slot)).collect();
                let kind = if matches!(mode, SyncMode::Any(_)) {
                    "ANY"
                } else {
                    "FIRST"
                };
                Some(format!("{kind} {} ({})", mode.required(), names.join(", ")))
            }
        };
        let primary_index = members
            .iter()
            .position(|m| m.role == PgRole::Primary)
            .unwrap_or(0);
        let first_standby = members.iter().position(|m| m.role == PgRole::Replica);
        let (primary_host, replica_host) = if namer.containers() {
            (
                naming::POSTGRES_PRIMARY_ALIAS.to_owned(),
                first_standby.map(|_| naming::POSTGRES_REPLICA_ALIAS.to_owned()),
            )
        } else {
            (
                members[primary_index].instance.host.clone(),
                first_standby.map(|i| members[i].instance.host.clone()),
            )
        };
        let fence = pg.stop_grace_period;
        // A clone of a large database takes a while; the wait must cover a
        // promotion that first waits out the fence.
        let primary_wait = Duration::from_secs(300.max(2 * fence.as_secs_ceil() + 60));
        let password_file = namer.secret_file(pg.password_secret.as_str());
        if namer.containers() {
            let primary_name = members[primary_index].instance.name.clone();
            let deploy = Deployments {
                t,
                namer,
                password_file: &password_file,
                pgdata: &pgdata,
                primary: &primary_name,
                start_period: Duration::from_secs(primary_wait.as_secs_ceil() + 300),
            };
            for (i, m) in members.iter_mut().enumerate() {
                let aliases = if i == primary_index {
                    vec![naming::POSTGRES_PRIMARY_ALIAS.to_owned()]
                } else if Some(i) == first_standby {
                    vec![naming::POSTGRES_REPLICA_ALIAS.to_owned()]
                } else {
                    Vec::new()
                };
                m.instance.deployment = Some(deploy.of(m, aliases));
            }
        }
        Self {
            backup_from: members[first_standby.unwrap_or(primary_index)]
                .instance
                .name
                .clone(),
            replication_passfile: match namer.local {
                Some((_, local)) => local.state_dir.join("replication.pgpass"),
                None => PathBuf::from(REPLICATION_PASSFILE),
            },
            settings: pg.clone(),
            members,
            major,
            pgdata: PathBuf::from(pgdata),
            synchronous_standby_names,
            primary_host,
            replica_host,
            password_file,
            replication_password_file: namer.secret_file(pg.replication_password_secret.as_str()),
            fence,
            primary_wait,
            keepalive: KEEPALIVE,
            files,
        }
    }

    /// Every member, in order.
    pub fn members(&self) -> impl Iterator<Item = &PgMember> {
        self.members.iter()
    }

    /// The member the topology names primary.
    pub fn primary(&self) -> &PgMember {
        self.members
            .iter()
            .find(|m| m.role == PgRole::Primary)
            .unwrap_or(&self.members[0])
    }

    /// The members the topology makes standbys, in order.
    pub fn replicas(&self) -> Vec<&PgMember> {
        self.members
            .iter()
            .filter(|m| m.role == PgRole::Replica)
            .collect()
    }

    /// The primary, then the other members in order, to change. The deploy
    /// steps follow this order: on a first deploy the standbys clone from a
    /// primary deployed in an earlier step, instead of waiting for one that
    /// a later step would start.
    pub(super) fn members_mut(&mut self) -> impl Iterator<Item = &mut PgMember> {
        let (primary, others): (Vec<_>, Vec<_>) = self
            .members
            .iter_mut()
            .partition(|m| m.role == PgRole::Primary);
        primary.into_iter().chain(others)
    }

    /// The member backups read from.
    pub fn backup_member(&self) -> &PgMember {
        self.members
            .iter()
            .find(|m| m.instance.name == self.backup_from)
            .unwrap_or_else(|| self.primary())
    }
}

/// What the PostgreSQL deployments share.
struct Deployments<'a> {
    t: &'a TopologyFile,
    namer: &'a Namer<'a>,
    password_file: &'a std::path::Path,
    pgdata: &'a str,
    /// The member the topology names primary.
    primary: &'a str,
    /// Grace time of the health check: a member may clone, or wait for a
    /// primary and a fence, before it first accepts connections.
    start_period: Duration,
}

impl Deployments<'_> {
    /// The deployment of `member`, reachable also as `aliases`.
    fn of(&self, member: &PgMember, aliases: Vec<String>) -> Deployment {
        let pg = &self.t.postgres;
        let rollout = &self.t.rollout;
        let mut d = Deployment::new(
            Kind::Postgres,
            pg.image.to_string(),
            pg.resources.clone(),
            pg.update_order.unwrap_or(rollout.order),
            rollout.rollback.order,
        )
        .stateful();
        if pg.placement == Placement::NodeLabels && self.namer.swarm() {
            d.placement.node_label = Some(format!("{}.{}", self.namer.stack, member.instance.name));
        }
        d.aliases = aliases;
        d.entrypoint = vec![mount::PG_MEMBER.to_owned()];
        let env = &mut d.environment;
        env.insert("PG_MEMBER".to_owned(), member.instance.name.clone());
        env.insert("PG_PRIMARY".to_owned(), self.primary.to_owned());
        env.insert("POSTGRES_USER".to_owned(), pg.owner.to_string());
        env.insert("POSTGRES_DB".to_owned(), pg.database.to_string());
        env.insert(
            "POSTGRES_PASSWORD_FILE".to_owned(),
            self.password_file.display().to_string(),
        );
        // pg_rewind needs hint-bit changes in the WAL; wal_log_hints does it
        // while our configuration is loaded, checksums always (also when
        // pg_rewind itself runs crash recovery without our file).
        env.insert(
            "POSTGRES_INITDB_ARGS".to_owned(),
            "--data-checksums".to_owned(),
        );
        env.insert("PGDATA".to_owned(), self.pgdata.to_owned());
        // The image's first-start setup (CREATE DATABASE, init scripts)
        // runs against our config; with synchronous_standby_names that
        // commit would wait forever for a standby that cannot exist yet.
        // Only libpq clients inside the container read this.
        env.insert(
            "PGOPTIONS".to_owned(),
            "-c synchronous_commit=local".to_owned(),
        );
        d.secrets = vec![
            pg.password_secret.to_string(),
            pg.replication_password_secret.to_string(),
        ];
        // TCP, not the socket: during first init the image runs a
        // socket-only server, which a socket probe would call healthy too
        // early. A standby whose slot on the primary was invalidated
        // (wal_status = lost) can never catch up: the member script's
        // health mode reports it, so Swarm restarts it and the entrypoint
        // clones it again.
        d.healthcheck = check(
            shell(format!("{} --health", mount::PG_MEMBER)),
            10,
            5,
            self.start_period,
        );
        d.stop_grace_period = Some(pg.stop_grace_period);
        // Compose: the members that are not the primary clone from it, so
        // they start once it is healthy.
        if member.role == PgRole::Replica {
            d.depends_on.push(self.primary.to_owned());
        }
        d
    }
}
