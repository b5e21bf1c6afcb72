//! Redis data nodes and Sentinels: one redis.conf template per role, one
//! sentinel.conf template per Sentinel, and the two entrypoints that copy a
//! template into the writable data volume once and add the password from the
//! secret file on every start. No rendered file holds a password.

use pf_model::naming;
use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::files::{self, mount};
use crate::plan::{self, group};
use crate::templates::render;

/// A redis.conf template (master or replicas).
#[derive(Serialize)]
struct DataNode<'a> {
    role: &'static str,
    /// The instance(s) using it, for the reader.
    instance: String,
    /// Local target: plain processes on this machine.
    local: bool,
    /// Local target: the loopback address of the template's first instance
    /// (the entrypoint replaces it per instance from REDIS_BIND).
    bind: String,
    port: u16,
    data_dir: String,
    appendonly: &'static str,
    min_replicas_to_write: u32,
    /// Seconds.
    min_replicas_max_lag: u64,
    maxmemory: Option<String>,
    /// `<master host> <port>` for replicas.
    replicaof: Option<&'a str>,
}

/// One Sentinel's sentinel.conf template.
#[derive(Serialize)]
struct SentinelConf<'a> {
    index: u32,
    count: usize,
    host: &'a str,
    /// Local target: plain processes on this machine.
    local: bool,
    /// The address it binds: all addresses in a container, its own
    /// loopback address on the local target.
    listen: &'a str,
    port: u16,
    data_dir: String,
    myid: &'a str,
    master_name: &'a str,
    master_host: &'a str,
    master_port: u16,
    quorum: u32,
    down_after_ms: u64,
    parallel_syncs: u32,
    failover_timeout_ms: u64,
}

/// Defaults baked into an entrypoint (the container's mount points).
#[derive(Serialize)]
struct Entrypoint<'a> {
    template: String,
    data_dir: String,
    password_file: &'a str,
    master_name: &'a str,
    /// Local target: plain processes on this machine.
    local: bool,
    /// Local target: the first instance's address, the default of REDIS_BIND.
    local_bind: Option<String>,
}

/// A local instance as the templates need it: (address, data folder).
/// Falls back to the plan's address scheme for an instance the topology does
/// not have (the replica template is rendered even without replicas).
fn local_instance(
    cx: &Cx<'_>,
    instance: Option<&plan::Instance>,
    name: &str,
    group: u32,
    index: u32,
) -> (String, String) {
    let run = cx.plan.local.as_ref().map_or("", |l| l.run_dir.as_str());
    match instance {
        Some(i) => (
            i.listen.clone(),
            i.data_dir
                .clone()
                .unwrap_or_else(|| format!("{run}/data/{name}")),
        ),
        None => (plan::local_ip(group, index), format!("{run}/data/{name}")),
    }
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let redis = &cx.t.redis;
    let plan = &cx.plan.redis;
    let master_host = plan.master.host.as_str();
    let replicaof = format!("{master_host} {}", redis.port);
    let local = cx.plan.local.is_some();
    let names = naming::redis_instances(1);
    // Local target: each template names its first instance's address and
    // folder; the entrypoint sets them per instance.
    let (master_bind, master_dir) =
        local_instance(cx, Some(&plan.master), &names[0], group::REDIS, 1);
    let (replica_bind, replica_dir) =
        local_instance(cx, plan.replicas.first(), &names[1], group::REDIS, 2);
    let in_container = |local_value: &str| {
        if local {
            local_value.to_owned()
        } else {
            mount::REDIS_DATA.to_owned()
        }
    };

    let node = |role, instance: String, replicaof: Option<&str>, bind: &str, dir: &str| {
        let ctx = DataNode {
            role,
            instance,
            local,
            bind: bind.to_owned(),
            port: redis.port,
            data_dir: in_container(dir),
            appendonly: if redis.appendonly { "yes" } else { "no" },
            min_replicas_to_write: redis.min_replicas_to_write,
            min_replicas_max_lag: redis.min_replicas_max_lag.as_secs_ceil(),
            maxmemory: redis.maxmemory.map(|m| memory(m.bytes())),
            replicaof,
        };
        render("redis/data-node.conf", &ctx)
    };
    let master = node(
        "master",
        plan.master.name.clone(),
        None,
        &master_bind,
        &master_dir,
    )?;
    bundle.add(files::REDIS_MASTER_CONF, &master);
    // Rendered even without replicas: a later scale-up needs it, and the
    // stack file mounts nothing that does not exist.
    let replica_names: Vec<&str> = plan.replicas.iter().map(|r| r.name.as_str()).collect();
    let replica_label = if replica_names.is_empty() {
        "none in this topology".to_owned()
    } else {
        replica_names.join(", ")
    };
    let replica = node(
        "replica",
        replica_label,
        Some(&replicaof),
        &replica_bind,
        &replica_dir,
    )?;
    bundle.add(files::REDIS_REPLICA_CONF, &replica);

    let s = &redis.sentinel;
    for sentinel in &plan.sentinels {
        let ctx = SentinelConf {
            index: sentinel.index,
            count: plan.sentinels.len(),
            host: &sentinel.instance.host,
            local,
            listen: &sentinel.instance.listen,
            port: s.port,
            data_dir: in_container(sentinel.instance.data_dir.as_deref().unwrap_or_default()),
            myid: &sentinel.myid,
            master_name: &redis.master_name,
            master_host,
            master_port: redis.port,
            quorum: s.quorum,
            down_after_ms: s.down_after.as_millis(),
            parallel_syncs: s.parallel_syncs,
            failover_timeout_ms: s.failover_timeout.as_millis(),
        };
        let text = render("redis/sentinel.conf", &ctx)?;
        bundle.add(&files::sentinel_conf(sentinel.index), &text);
    }

    // Local target: the defaults are the first instance's (the master, the
    // first Sentinel); every other instance is started with the overrides.
    let bundle_path = |artifact: &str, mounted: &str| match &cx.plan.local {
        Some(l) => format!("{}/{artifact}", l.bundle_dir),
        None => mounted.to_owned(),
    };
    let entry = Entrypoint {
        template: bundle_path(files::REDIS_MASTER_CONF, mount::REDIS_TEMPLATE),
        data_dir: in_container(&master_dir),
        password_file: &plan.password_file,
        master_name: &redis.master_name,
        local,
        local_bind: local.then(|| master_bind.clone()),
    };
    let text = render("redis/redis-entrypoint.sh", entry)?;
    bundle.add(files::REDIS_ENTRYPOINT, &text);
    let first_sentinel = plan.sentinels.first();
    let entry = Entrypoint {
        template: bundle_path(&files::sentinel_conf(1), mount::SENTINEL_TEMPLATE),
        data_dir: in_container(
            first_sentinel
                .and_then(|s| s.instance.data_dir.as_deref())
                .unwrap_or_default(),
        ),
        password_file: &plan.password_file,
        master_name: &redis.master_name,
        local,
        local_bind: None,
    };
    let text = render("redis/sentinel-entrypoint.sh", entry)?;
    bundle.add(files::SENTINEL_ENTRYPOINT, &text);
    Ok(())
}

/// A size in Redis's own units, where `mb` is 1024² and `m` is 10⁶.
fn memory(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)];
    UNITS
        .iter()
        .find(|(_, size)| bytes >= *size && bytes.is_multiple_of(*size))
        .map_or_else(
            || bytes.to_string(),
            |(unit, size)| format!("{}{unit}", bytes / size),
        )
}

#[cfg(test)]
mod tests {
    use super::memory;

    #[test]
    fn memory_uses_binary_redis_units() {
        assert_eq!(memory(1536 << 20), "1536mb");
        assert_eq!(memory(2 << 30), "2gb");
        assert_eq!(memory(1000), "1000");
        assert_eq!(memory(64 << 10), "64kb");
    }
}
