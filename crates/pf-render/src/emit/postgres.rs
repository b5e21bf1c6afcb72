//! PostgreSQL streaming replication: `postgresql.conf` of a member that
//! starts as the primary and of one that starts as a standby, the shared
//! `pg_hba.conf`, the init script that creates the replication role and the
//! slots, the member entrypoint (decides the role; clones, rejoins,
//! promotes; starts), and the guide's backup from a replica.

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
    primary_conf: String,
    standby_conf: String,
    init_script: String,
    /// Local target: plain processes on this machine.
    local: bool,
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
    /// TCP keepalives: idle seconds, interval seconds, probes.
    keepalive_idle: u32,
    keepalive_interval: u32,
    keepalive_count: u32,
    /// Every member, in order.
    members: Vec<Member<'a>>,
    member_names: Vec<&'a str>,
    /// The slots a primary holds: one per other member.
    slots: Vec<&'a str>,
    /// Host the backup reads from by default: the guide's read replica
    /// (the first replica), or the primary when there is none.
    backup_host: &'a str,
    /// Container (Compose) or service (Swarm) of the member backups read
    /// from, for the usage text.
    backup_container: &'a str,
    swarm: bool,
    pgdata: String,
    password_file: String,
    replication_password_file: String,
    replication_passfile: String,
    fence_seconds: u64,
    wait_seconds: u64,
    init_mount: &'static str,
    member_mount: &'static str,
}

/// A member as the scripts name and reach it; on the local target also
/// what its container would have had.
#[derive(Serialize)]
struct Member<'a> {
    name: &'a str,
    host: &'a str,
    slot: &'a str,
    data_dir: String,
    listen: String,
    socket_dir: String,
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let pg = &cx.plan.postgres;
    let spec = &pg.settings;
    let backup = &pg.backup_member().instance;
    let members: Vec<Member<'_>> = pg
        .members()
        .map(|m| Member {
            name: &m.instance.name,
            host: &m.instance.host,
            slot: &m.slot,
            data_dir: path_text(m.instance.data.as_ref().map(|d| d.path.as_path())),
            listen: m.instance.listen.to_string(),
            socket_dir: path_text(m.socket_dir.as_deref()),
        })
        .collect();
    let files = &pg.files;
    let mut v = PgCx {
        stack: &cx.plan.stack,
        primary: true,
        config_file: path_text(Some(&files.primary_conf.path)),
        hba_file: path_text(Some(&files.hba.path)),
        primary_conf: path_text(Some(&files.primary_conf.path)),
        standby_conf: path_text(Some(&files.standby_conf.path)),
        init_script: path_text(Some(&files.init.path)),
        local: cx.plan.local.is_some(),
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
        keepalive_idle: pg.keepalive.idle_secs,
        keepalive_interval: pg.keepalive.interval_secs,
        keepalive_count: pg.keepalive.count,
        member_names: members.iter().map(|m| m.name).collect(),
        members,
        slots: pg.replicas().iter().map(|r| r.slot.as_str()).collect(),
        backup_host: pg.replica_host.as_deref().unwrap_or(&pg.primary_host),
        backup_container: &backup.container,
        swarm: cx.plan.is_swarm(),
        pgdata: path_text(Some(&pg.pgdata)),
        password_file: path_text(Some(&pg.password_file)),
        replication_password_file: path_text(Some(&pg.replication_password_file)),
        replication_passfile: path_text(Some(&pg.replication_passfile)),
        fence_seconds: pg.fence.as_secs_ceil(),
        wait_seconds: pg.primary_wait.as_secs_ceil(),
        init_mount: mount::PG_INIT,
        member_mount: mount::PG_MEMBER,
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
    bundle.add(&files.member.artifact, &render("postgres/member.sh", &v)?);
    v.primary = false;
    v.config_file = path_text(Some(&files.standby_conf.path));
    bundle.add(
        &files.standby_conf.artifact,
        &render("postgres/postgresql.conf", &v)?,
    );
    Ok(())
}

/// A path as the templates write it (empty when there is none).
fn path_text(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}
