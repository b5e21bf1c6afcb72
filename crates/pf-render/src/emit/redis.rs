//! Redis data nodes and Sentinels: one redis.conf template per role, one
//! sentinel.conf template per Sentinel, and the two entrypoints that rebuild
//! the writable copy in the data volume from the template at every start,
//! keeping the state Sentinel wrote, and add the password from the secret
//! file. No rendered file holds a password.

use std::path::Path;

use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::plan::TemplateDefaults;
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
    memory_limit: String,
    maxmemory: String,
    maxmemory_derived: bool,
    maxmemory_policy: &'static str,
    replica_buffer_hard: String,
    replica_buffer_soft: String,
    /// `<master host> <port>` for replicas.
    replicaof: Option<&'a str>,
}

/// One Sentinel's sentinel.conf template.
#[derive(Serialize)]
struct SentinelConf<'a> {
    index: u32,
    count: usize,
    name: &'a str,
    host: &'a str,
    /// Local target: plain processes on this machine.
    local: bool,
    /// Sentinels resolve and announce host names (else only addresses).
    hostnames: bool,
    /// The address it binds: all addresses in a container, its own
    /// loopback address on the local target.
    listen: String,
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
    password_file: String,
    master_name: &'a str,
    /// Local target: plain processes on this machine.
    local: bool,
    /// Local target: the first instance's address, the default of REDIS_BIND.
    local_bind: Option<String>,
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let plan = &cx.plan.redis;
    let redis = &plan.settings;
    let master_host = plan.master.instance.host.as_str();
    let replicaof = format!("{master_host} {}", redis.port);
    let local = cx.plan.local.is_some();
    let text = |p: &Path| p.display().to_string();

    let node = |role, instance: String, replicaof: Option<&str>, t: &TemplateDefaults| {
        let ctx = DataNode {
            role,
            instance,
            local,
            bind: t.bind.to_string(),
            port: redis.port,
            data_dir: text(&t.data_dir),
            appendonly: if redis.appendonly { "yes" } else { "no" },
            min_replicas_to_write: redis.min_replicas_to_write,
            min_replicas_max_lag: redis.min_replicas_max_lag.as_secs_ceil(),
            memory_limit: redis.resources.limits.memory.to_string(),
            maxmemory: memory(plan.memory.maxmemory.bytes()),
            maxmemory_derived: plan.memory.derived,
            maxmemory_policy: redis.maxmemory_policy.as_str(),
            replica_buffer_hard: memory(plan.memory.replica_buffer_hard.bytes()),
            replica_buffer_soft: memory(plan.memory.replica_buffer_soft.bytes()),
            replicaof,
        };
        render("redis/data-node.conf", &ctx)
    };
    let master = node(
        "master",
        plan.master.instance.name.clone(),
        None,
        &plan.master_template,
    )?;
    bundle.add(&plan.files.master_conf.artifact, &master);
    // Rendered even without replicas: a later scale-up needs it, and the
    // stack file mounts nothing that does not exist.
    let replica_names: Vec<&str> = plan
        .replicas
        .iter()
        .map(|r| r.instance.name.as_str())
        .collect();
    let replica_label = if replica_names.is_empty() {
        "none in this topology".to_owned()
    } else {
        replica_names.join(", ")
    };
    let replica = node(
        "replica",
        replica_label,
        Some(&replicaof),
        &plan.replica_template,
    )?;
    bundle.add(&plan.files.replica_conf.artifact, &replica);

    let s = &redis.sentinel;
    let data_dir =
        |i: &crate::plan::Instance| i.data.as_ref().map(|d| text(&d.path)).unwrap_or_default();
    for sentinel in &plan.sentinels {
        let ctx = SentinelConf {
            index: sentinel.index,
            count: plan.sentinels.len(),
            name: &sentinel.instance.name,
            host: &sentinel.instance.host,
            local,
            hostnames: plan.addressing.hostnames(),
            listen: sentinel.instance.listen.to_string(),
            port: s.port,
            data_dir: data_dir(&sentinel.instance),
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
        bundle.add(&sentinel.template.artifact, &text);
    }

    // Local target: the defaults are the first instance's (the master, the
    // first Sentinel); every other instance is started with the overrides.
    let master_template = &plan.master_template;
    let entry = Entrypoint {
        template: text(&plan.files.master_conf.path),
        data_dir: text(&master_template.data_dir),
        password_file: text(&plan.password_file),
        master_name: &redis.master_name,
        local,
        local_bind: local.then(|| master_template.bind.to_string()),
    };
    let rendered = render("redis/redis-entrypoint.sh", entry)?;
    bundle.add(&plan.files.entrypoint.artifact, &rendered);
    let first_sentinel = plan.sentinels.first();
    let entry = Entrypoint {
        template: first_sentinel
            .map(|s| text(&s.template.path))
            .unwrap_or_default(),
        data_dir: first_sentinel
            .map(|s| data_dir(&s.instance))
            .unwrap_or_default(),
        password_file: text(&plan.password_file),
        master_name: &redis.master_name,
        local,
        local_bind: None,
    };
    let rendered = render("redis/sentinel-entrypoint.sh", entry)?;
    bundle.add(&plan.files.sentinel_entrypoint.artifact, &rendered);
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
