//! PostgreSQL streaming replication: `postgresql.conf` of the primary and
//! of the standbys, the shared `pg_hba.conf`, the init script that creates
//! the replication role and one slot per replica, the replica entrypoint
//! (base backup, then start), and the guide's backup from a replica.

use std::path::Path;

use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files::mount;
use crate::templates::render;

/// A standby refuses to run (or pauses recovery) when one of these is below
/// the primary's value, so both files state them from these same numbers.
/// They are PostgreSQL's defaults; writing them down makes the coupling
/// visible to whoever tunes one file.
const MAX_WORKER_PROCESSES: u32 = 8;
const MAX_LOCKS_PER_TRANSACTION: u32 = 64;
const MAX_PREPARED_TRANSACTIONS: u32 = 0;

/// How long a new replica waits for its primary before giving up (and
/// letting the orchestrator restart it).
const PRIMARY_WAIT_SECONDS: u32 = 300;

/// Values shared by every template of the area.
#[derive(Serialize)]
struct PgCx<'a> {
    /// Stack name, for comments.
    stack: &'a str,
    /// Which postgresql.conf is rendered (unused by the other templates).
    primary: bool,
    /// Where the postgresql.conf being rendered is read from: the mount
    /// point in a container, its bundle path on the local target.
    config_file: String,
    hba_file: String,
    /// Local target: plain processes on this machine (None in containers).
    local: Option<LocalPg<'a>>,
    port: u16,
    database: &'a str,
    owner: &'a str,
    role: &'a str,
    subnet: String,
    max_connections: u32,
    max_wal_senders: u32,
    max_replication_slots: u32,
    /// PostgreSQL form (`10GB`), when bounded.
    max_slot_wal_keep_size: Option<String>,
    max_worker_processes: u32,
    max_locks_per_transaction: u32,
    max_prepared_transactions: u32,
    synchronous_standby_names: Option<&'a str>,
    /// `cluster_name` of the primary (standbys get theirs on the command line).
    primary_cluster_name: &'a str,
    primary_host: &'a str,
    /// One per replica, in order.
    slots: Vec<&'a str>,
    /// Host the backup reads from by default: the first replica, or the
    /// primary when there is none.
    backup_host: &'a str,
    /// Container (Compose) or service (Swarm) of `backup_host`, for the usage text.
    backup_container: &'a str,
    swarm: bool,
    pgdata: String,
    password_file: String,
    replication_password_file: String,
    replication_passfile: String,
    primary_wait_seconds: u32,
    init_mount: &'static str,
    bootstrap_mount: &'static str,
}

/// What the container image and the stack file provide per instance, on the
/// local target: every instance runs on this machine, so each has its own
/// loopback address, data folder and socket folder.
#[derive(Serialize)]
struct LocalPg<'a> {
    /// The primary's loopback address (`listen_addresses`).
    primary_listen: String,
    /// The primary's socket folder (the image's /var/run/postgresql).
    primary_socket_dir: String,
    /// Per replica: what its slot selects in the replica start script.
    replicas: Vec<LocalReplica<'a>>,
}

#[derive(Serialize)]
struct LocalReplica<'a> {
    slot: &'a str,
    data_dir: String,
    listen: String,
    socket_dir: String,
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let pg = &cx.plan.postgres;
    let spec = &pg.settings;
    let backup = &pg.backup_member().instance;
    let local = cx.plan.local.as_ref().map(|_| LocalPg {
        primary_listen: pg.primary.instance.listen.to_string(),
        primary_socket_dir: path_text(pg.primary.socket_dir.as_deref()),
        replicas: pg
            .replicas
            .iter()
            .map(|r| LocalReplica {
                slot: &r.slot,
                data_dir: path_text(r.instance.data.as_ref().map(|d| d.path.as_path())),
                listen: r.instance.listen.to_string(),
                socket_dir: path_text(r.socket_dir.as_deref()),
            })
            .collect(),
    });
    let files = &pg.files;
    let mut v = PgCx {
        stack: &cx.plan.stack,
        primary: true,
        config_file: path_text(Some(&files.primary_conf.path)),
        hba_file: path_text(Some(&files.hba.path)),
        local,
        port: spec.port,
        database: spec.database.as_str(),
        owner: spec.owner.as_str(),
        role: spec.replication_role.as_str(),
        subnet: cx.plan.subnet.to_string(),
        max_connections: spec.max_connections,
        max_wal_senders: spec.max_wal_senders,
        max_replication_slots: spec.max_replication_slots,
        max_slot_wal_keep_size: spec.max_slot_wal_keep_size.map(|s| s.postgres()),
        max_worker_processes: MAX_WORKER_PROCESSES,
        max_locks_per_transaction: MAX_LOCKS_PER_TRANSACTION,
        max_prepared_transactions: MAX_PREPARED_TRANSACTIONS,
        synchronous_standby_names: pg.synchronous_standby_names.as_deref(),
        primary_cluster_name: &pg.primary.slot,
        primary_host: &pg.primary.instance.host,
        slots: pg.replicas.iter().map(|r| r.slot.as_str()).collect(),
        backup_host: &backup.host,
        backup_container: &backup.container,
        swarm: cx.plan.is_swarm(),
        pgdata: path_text(Some(&pg.pgdata)),
        password_file: path_text(Some(&pg.password_file)),
        replication_password_file: path_text(Some(&pg.replication_password_file)),
        replication_passfile: path_text(Some(&pg.replication_passfile)),
        primary_wait_seconds: PRIMARY_WAIT_SECONDS,
        init_mount: mount::PG_INIT,
        bootstrap_mount: mount::PG_BOOTSTRAP,
    };

    bundle.add(
        &files.primary_conf.artifact,
        &render("postgres/postgresql.conf", &v)?,
    );
    bundle.add(&files.hba.artifact, &render("postgres/pg_hba.conf", &v)?);
    bundle.add(
        &files.init.artifact,
        &render("postgres/init-replication.sh", &v)?,
    );
    bundle.add(
        &files.backup.artifact,
        &render("postgres/backup-from-replica.sh", &v)?,
    );
    // Without replicas the plan has no standby files.
    if let (Some(conf), Some(bootstrap)) = (&files.replica_conf, &files.bootstrap) {
        // The replica start script starts PostgreSQL with the replica file.
        v.config_file = path_text(Some(&conf.path));
        bundle.add(
            &bootstrap.artifact,
            &render("postgres/bootstrap-replica.sh", &v)?,
        );
        v.primary = false;
        bundle.add(&conf.artifact, &render("postgres/postgresql.conf", &v)?);
    }
    Ok(())
}

/// A path as the templates write it (empty when there is none).
fn path_text(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}
