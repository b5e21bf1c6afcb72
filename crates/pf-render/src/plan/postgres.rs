//! PostgreSQL: the primary and its streaming replicas, each with its role,
//! slot, data folder, files and deployment.

use std::path::PathBuf;

use pf_model::model::{Placement, Postgres, SyncMode};
use pf_model::{TopologyFile, naming};
use serde::Serialize;

use super::deployment::{Deployment, check, shell};
use super::instance::{BundleFile, EXECUTABLE, Instance, Kind, Namer, READ_ONLY};
use super::local::{address, group};
use crate::files::{self, mount};

/// Where the replica entrypoint writes the libpq password file of the
/// replication connection in a container: in the container's own file
/// system, outside the data volume, rewritten from the secret on every start.
const REPLICATION_PASSFILE: &str = "/var/run/postgresql/replication.pgpass";

/// PostgreSQL primary and replicas.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgPlan {
    /// The topology's settings (the port is the same on every target).
    pub settings: Postgres,
    /// The primary.
    pub primary: PgMember,
    /// The replicas, in order.
    pub replicas: Vec<PgMember>,
    /// Major version of the image (16 when the tag names none).
    pub major: u32,
    /// PGDATA inside a container (`/var/lib/postgresql/data` up to 17,
    /// `/var/lib/postgresql/<major>/docker` from 18).
    pub pgdata: PathBuf,
    /// `synchronous_standby_names`, when synchronous replication is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synchronous_standby_names: Option<String>,
    /// Owner password file.
    pub password_file: PathBuf,
    /// Replication role password file.
    pub replication_password_file: PathBuf,
    /// The libpq password file the replica entrypoint writes for its
    /// replication connection.
    pub replication_passfile: PathBuf,
    /// The instance backups read from: the first replica, or the primary
    /// when there is none.
    pub backup_from: String,
    /// The area's files.
    pub files: PgFiles,
}

/// One PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgMember {
    /// The instance.
    pub instance: Instance,
    /// Its role when the cluster starts.
    pub role: PgRole,
    /// Its `cluster_name`, and for a replica its physical replication slot
    /// (so its `application_name` in `pg_stat_replication`).
    pub slot: String,
    /// Local target: its socket folder (the image's /var/run/postgresql).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_dir: Option<PathBuf>,
}

/// The role of a PostgreSQL server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PgRole {
    /// Takes writes; initialised by the image.
    Primary,
    /// Cloned from the primary by the bootstrap script, then streams.
    Replica,
}

/// The files of the PostgreSQL area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PgFiles {
    /// postgresql.conf of the primary.
    pub primary_conf: BundleFile,
    /// postgresql.conf of the standbys (none without replicas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_conf: Option<BundleFile>,
    /// pg_hba.conf of every server (a promoted replica needs it).
    pub hba: BundleFile,
    /// Runs once on the primary's first start.
    pub init: BundleFile,
    /// Replica entrypoint (none without replicas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BundleFile>,
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
        let has_replicas = pg.replicas > 0;
        let files = PgFiles {
            primary_conf: namer.file(files::PG_PRIMARY_CONF, mount::PG_CONF, READ_ONLY),
            replica_conf: has_replicas
                .then(|| namer.file(files::PG_REPLICA_CONF, mount::PG_CONF, READ_ONLY)),
            hba: namer.file(files::PG_HBA, mount::PG_HBA, READ_ONLY),
            init: namer.file(files::PG_INIT, mount::PG_INIT, EXECUTABLE),
            bootstrap: has_replicas
                .then(|| namer.file(files::PG_BOOTSTRAP, mount::PG_BOOTSTRAP, EXECUTABLE)),
            backup: namer.file(files::BACKUP, mount::BACKUP, EXECUTABLE),
        };
        let names = naming::postgres_instances(pg.replicas);
        let member = |name: &str, index: u32, role: PgRole| {
            let mut instance = namer.instance(
                name,
                Kind::Postgres,
                address(group::POSTGRES, index),
                Some(&volume_target),
            );
            instance.files = match role {
                PgRole::Primary => vec![
                    files.primary_conf.clone(),
                    files.hba.clone(),
                    files.init.clone(),
                ],
                PgRole::Replica => [
                    files.replica_conf.clone(),
                    Some(files.hba.clone()),
                    files.bootstrap.clone(),
                    Some(files.backup.clone()),
                ]
                .into_iter()
                .flatten()
                .collect(),
            };
            PgMember {
                socket_dir: namer.local.map(|(_, local)| local.socket_dir(name)),
                slot: naming::slot_name(name),
                role,
                instance,
            }
        };
        let mut primary = member(&names[0], 1, PgRole::Primary);
        let mut replicas: Vec<PgMember> = names[1..]
            .iter()
            .zip(2..)
            .map(|(n, i)| member(n, i, PgRole::Replica))
            .collect();
        let synchronous_standby_names = match pg.synchronous {
            SyncMode::Off => None,
            mode => {
                let names: Vec<String> =
                    replicas.iter().map(|r| format!("\"{}\"", r.slot)).collect();
                let kind = if matches!(mode, SyncMode::Any(_)) {
                    "ANY"
                } else {
                    "FIRST"
                };
                Some(format!("{kind} {} ({})", mode.required(), names.join(", ")))
            }
        };
        let password_file = namer.secret_file(pg.password_secret.as_str());
        if namer.containers() {
            let deploy = Deployments {
                t,
                namer,
                password_file: &password_file,
                pgdata: &pgdata,
            };
            primary.instance.deployment = Some(deploy.of(&primary, None));
            let primary_name = primary.instance.name.clone();
            for r in &mut replicas {
                r.instance.deployment = Some(deploy.of(r, Some(&primary_name)));
            }
        }
        Self {
            backup_from: replicas.first().unwrap_or(&primary).instance.name.clone(),
            replication_passfile: match namer.local {
                Some((_, local)) => local.state_dir.join("replication.pgpass"),
                None => PathBuf::from(REPLICATION_PASSFILE),
            },
            settings: pg.clone(),
            primary,
            replicas,
            major,
            pgdata: PathBuf::from(pgdata),
            synchronous_standby_names,
            password_file,
            replication_password_file: namer.secret_file(pg.replication_password_secret.as_str()),
            files,
        }
    }

    /// The primary, then the replicas.
    pub fn members(&self) -> impl Iterator<Item = &PgMember> {
        std::iter::once(&self.primary).chain(&self.replicas)
    }

    /// The primary, then the replicas, to change.
    pub(super) fn members_mut(&mut self) -> impl Iterator<Item = &mut PgMember> {
        std::iter::once(&mut self.primary).chain(&mut self.replicas)
    }

    /// The member backups read from.
    pub fn backup_member(&self) -> &PgMember {
        self.replicas
            .iter()
            .find(|r| r.instance.name == self.backup_from)
            .unwrap_or(&self.primary)
    }
}

/// What the PostgreSQL deployments share.
struct Deployments<'a> {
    t: &'a TopologyFile,
    namer: &'a Namer<'a>,
    password_file: &'a std::path::Path,
    pgdata: &'a str,
}

impl Deployments<'_> {
    /// The deployment of `member`; a replica starts after `primary`.
    fn of(&self, member: &PgMember, primary: Option<&str>) -> Deployment {
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
        let env = &mut d.environment;
        env.insert("POSTGRES_USER".to_owned(), pg.owner.to_string());
        env.insert("POSTGRES_DB".to_owned(), pg.database.to_string());
        env.insert(
            "POSTGRES_PASSWORD_FILE".to_owned(),
            self.password_file.display().to_string(),
        );
        env.insert("PGDATA".to_owned(), self.pgdata.to_owned());
        d.secrets = vec![
            pg.password_secret.to_string(),
            pg.replication_password_secret.to_string(),
        ];
        // TCP, not the socket: during first init the image runs a socket-only
        // server, which a socket probe would call healthy too early.
        let ready = shell(format!(
            "pg_isready -h 127.0.0.1 -p {} -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\"",
            pg.port
        ));
        d.stop_grace_period = Some(pg.stop_grace_period);
        match member.role {
            PgRole::Primary => {
                d.command = vec![
                    "postgres".into(),
                    "-c".into(),
                    format!("config_file={}", mount::PG_CONF),
                ];
                // The image's first-start setup (CREATE DATABASE, init
                // scripts) runs against our config; with
                // synchronous_standby_names that commit would wait forever
                // for a standby that cannot exist yet. Only libpq clients
                // inside the primary's container read this (not the
                // replicas' clones).
                d.environment.insert(
                    "PGOPTIONS".to_owned(),
                    "-c synchronous_commit=local".to_owned(),
                );
                d.healthcheck = check(ready, 10, 5, pf_model::units::Duration::from_secs(60));
            }
            PgRole::Replica => {
                d.entrypoint = vec![mount::PG_BOOTSTRAP.to_owned()];
                d.environment
                    .insert("PG_SLOT".to_owned(), member.slot.clone());
                // A base backup of a large database takes a while before the
                // first probe counts.
                d.healthcheck = check(ready, 10, 5, pf_model::units::Duration::from_secs(600));
            }
        }
        d.depends_on.extend(primary.map(str::to_owned));
        d
    }
}
