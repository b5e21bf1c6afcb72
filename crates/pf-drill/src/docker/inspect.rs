//! What docker prints about a deployed stack, read into small typed
//! records: `docker service inspect` (Swarm), `docker compose ps --format
//! json` (Compose: a JSON array before Compose 2.21, one object per line
//! since), `docker ps --format '{{json .}}'` and `docker inspect` of
//! containers. Only the fields the drill compares or uses are read;
//! everything else docker adds is ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::spec::{self, RawPlacement, RawResources, RawUpdate, SpecFields};

/// One Swarm service as deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SwarmService {
    /// Full name (`promptforge_nginx`).
    pub(crate) name: String,
    /// The image as the stack file wrote it (`com.docker.stack.image`),
    /// else the task image without its digest.
    pub(crate) image: String,
    /// Desired tasks; `None` for a global service.
    pub(crate) replicas: Option<u64>,
    /// (mount point, config name), sorted.
    pub(crate) configs: Vec<(String, String)>,
    /// Secret names, sorted.
    pub(crate) secrets: Vec<String>,
    /// The stack it belongs to (`com.docker.stack.namespace`).
    pub(crate) stack: Option<String>,
    /// Environment, entrypoint, command, resources, placement, update order.
    pub(crate) spec: SpecFields,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawService {
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawSpec {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    task_template: RawTask,
    #[serde(default)]
    mode: RawMode,
    #[serde(default)]
    update_config: Option<RawUpdate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTask {
    container_spec: RawContainerSpec,
    #[serde(default)]
    resources: Option<RawResources>,
    #[serde(default)]
    placement: Option<RawPlacement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawContainerSpec {
    image: String,
    #[serde(default)]
    configs: Vec<RawRef>,
    #[serde(default)]
    secrets: Vec<RawRef>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    args: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRef {
    #[serde(default)]
    file: Option<RawFile>,
    #[serde(default)]
    config_name: Option<String>,
    #[serde(default)]
    secret_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawFile {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawMode {
    #[serde(default)]
    replicated: Option<RawReplicated>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawReplicated {
    #[serde(default)]
    replicas: u64,
}

/// An image reference without its `@sha256:...` pin (Swarm adds the digest
/// it resolved when it could reach a registry).
pub(crate) fn without_digest(image: &str) -> &str {
    image.split_once('@').map_or(image, |(name, _)| name)
}

/// Parses the JSON array `docker service inspect` prints.
pub(crate) fn swarm_services(json: &str) -> Result<Vec<SwarmService>, String> {
    let raw: Vec<RawService> =
        serde_json::from_str(json).map_err(|e| format!("docker service inspect: {e}"))?;
    Ok(raw
        .into_iter()
        .map(|s| {
            let spec = s.spec;
            let task = spec.task_template;
            let c = task.container_spec;
            let fields = spec::from_inspect(
                c.env,
                c.command,
                c.args,
                task.resources,
                task.placement,
                spec.update_config,
            );
            let image = spec
                .labels
                .get("com.docker.stack.image")
                .cloned()
                .unwrap_or_else(|| without_digest(&c.image).to_owned());
            let mut configs: Vec<(String, String)> = c
                .configs
                .into_iter()
                .filter_map(|r| Some((r.file?.name, r.config_name?)))
                .collect();
            configs.sort();
            let mut secrets: Vec<String> = c
                .secrets
                .into_iter()
                .filter_map(|r| r.secret_name)
                .collect();
            secrets.sort();
            SwarmService {
                name: spec.name,
                image,
                replicas: spec.mode.replicated.map(|r| r.replicas),
                configs,
                secrets,
                stack: spec.labels.get("com.docker.stack.namespace").cloned(),
                spec: fields,
            }
        })
        .collect())
}

/// One container of a Compose project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ComposeContainer {
    /// The Compose service (`nginx-lb`).
    pub(crate) service: String,
    /// The container name (`promptforge-nginx-lb`).
    pub(crate) name: String,
    /// The image as configured.
    pub(crate) image: String,
    /// `running`, `exited`, ...
    #[serde(default)]
    pub(crate) state: String,
    /// `healthy`, `unhealthy`, `starting` or empty.
    #[serde(default)]
    pub(crate) health: String,
    /// The project.
    #[serde(default)]
    pub(crate) project: String,
}

/// Parses `docker compose ps --format json`: a JSON array (Compose < 2.21)
/// or one JSON object per line.
pub(crate) fn compose_containers(text: &str) -> Result<Vec<ComposeContainer>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    if t.starts_with('[') {
        return serde_json::from_str(t).map_err(|e| format!("docker compose ps: {e}"));
    }
    t.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("docker compose ps: {e}")))
        .collect()
}

/// One row of `docker ps --format '{{json .}}'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PsRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPs {
    #[serde(rename = "ID")]
    id: String,
    names: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    labels: String,
}

/// Parses `docker ps --format '{{json .}}'` (one object per line; labels
/// as `k=v,k=v`, values without commas for the labels the drill reads).
pub(crate) fn ps_rows(text: &str) -> Result<Vec<PsRow>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r: RawPs = serde_json::from_str(l).map_err(|e| format!("docker ps: {e}"))?;
            let labels = r
                .labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Ok(PsRow {
                id: r.id,
                name: r.names,
                state: r.state,
                labels,
            })
        })
        .collect()
}

/// What `docker inspect` says about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerInfo {
    pub(crate) id: String,
    /// Without the leading `/`.
    pub(crate) name: String,
    pub(crate) running: bool,
    /// Network name to address.
    pub(crate) addresses: BTreeMap<String, String>,
    /// (host source, mount point) of every bind mount.
    pub(crate) binds: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawContainer {
    id: String,
    name: String,
    state: RawState,
    network_settings: RawNetworkSettings,
    #[serde(default)]
    mounts: Vec<RawMount>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawState {
    running: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNetworkSettings {
    #[serde(default)]
    networks: BTreeMap<String, RawEndpoint>,
}

#[derive(Deserialize)]
struct RawEndpoint {
    #[serde(rename = "IPAddress", default)]
    ip: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMount {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(default)]
    source: String,
    destination: String,
}

/// Parses the JSON array `docker inspect CONTAINER...` prints.
pub(crate) fn containers(json: &str) -> Result<Vec<ContainerInfo>, String> {
    let raw: Vec<RawContainer> =
        serde_json::from_str(json).map_err(|e| format!("docker inspect: {e}"))?;
    Ok(raw
        .into_iter()
        .map(|c| ContainerInfo {
            id: c.id,
            name: c.name.trim_start_matches('/').to_owned(),
            running: c.state.running,
            addresses: c
                .network_settings
                .networks
                .into_iter()
                .filter(|(_, e)| !e.ip.is_empty())
                .map(|(n, e)| (n, e.ip))
                .collect(),
            binds: c
                .mounts
                .into_iter()
                .filter(|m| m.kind == "bind")
                .map(|m| (m.source, m.destination))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from `docker service inspect` of a deployed prod stack
    /// (dockerd 20.10, client 28.2).
    const SERVICE: &str = r#"[{
      "ID": "k3x", "Version": {"Index": 812},
      "Spec": {
        "Name": "promptforge_nginx",
        "Labels": {"com.docker.stack.image": "nginx:1.30.6-pftest.ab12",
                   "com.docker.stack.namespace": "promptforge"},
        "TaskTemplate": {
          "ContainerSpec": {
            "Image": "nginx:1.30.6-pftest.ab12@sha256:0123",
            "Configs": [
              {"File": {"Name": "/etc/nginx/nginx.conf", "UID": "0", "GID": "0", "Mode": 292},
               "ConfigID": "c1", "ConfigName": "promptforge_nginx_load-balancer_conf_f40c64cd77"},
              {"File": {"Name": "/etc/nginx/metrics.js", "UID": "0", "GID": "0", "Mode": 292},
               "ConfigID": "c2", "ConfigName": "promptforge_nginx_metrics_js_0f38d70dd6"}],
            "Secrets": [
              {"File": {"Name": "tls_private_key"}, "SecretID": "s2", "SecretName": "promptforge_tls_private_key"},
              {"File": {"Name": "tls_certificate"}, "SecretID": "s1", "SecretName": "promptforge_tls_certificate"}]
          },
          "Resources": {}
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "EndpointSpec": {"Mode": "vip"}
      }
    }, {
      "ID": "g1",
      "Spec": {"Name": "other_agent", "TaskTemplate": {"ContainerSpec": {"Image": "agent:1@sha256:99"}},
               "Mode": {"Global": {}}}
    }]"#;

    #[test]
    fn service_inspect_gives_image_replicas_configs_and_secrets() {
        let s = swarm_services(SERVICE).expect("parses");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "promptforge_nginx");
        assert_eq!(s[0].image, "nginx:1.30.6-pftest.ab12");
        assert_eq!(s[0].replicas, Some(2));
        assert_eq!(s[0].stack.as_deref(), Some("promptforge"));
        assert_eq!(
            s[0].configs,
            [
                (
                    "/etc/nginx/metrics.js".to_owned(),
                    "promptforge_nginx_metrics_js_0f38d70dd6".to_owned()
                ),
                (
                    "/etc/nginx/nginx.conf".to_owned(),
                    "promptforge_nginx_load-balancer_conf_f40c64cd77".to_owned()
                ),
            ]
        );
        assert_eq!(
            s[0].secrets,
            ["promptforge_tls_certificate", "promptforge_tls_private_key"]
        );
        // Without the stack label the digest is dropped; global: no replica count.
        assert_eq!(s[1].image, "agent:1");
        assert_eq!(s[1].replicas, None);
    }

    #[test]
    fn broken_json_is_an_error_not_an_empty_stack() {
        assert!(swarm_services("[{\"Spec\": {}}]").is_err());
        assert!(swarm_services("Error: no such service").is_err());
        assert!(compose_containers("{not json").is_err());
    }

    #[test]
    fn compose_ps_reads_both_the_array_and_the_line_forms() {
        let line = r#"{"Command":"\"/docker-entrypoint.…\"","ExitCode":0,"Health":"healthy","ID":"9f","Image":"nginx:1.30.6-pftest.ab12","Name":"promptforge-nginx-lb","Names":"promptforge-nginx-lb","Project":"promptforge","Publishers":[{"URL":"0.0.0.0","TargetPort":80,"PublishedPort":80,"Protocol":"tcp"}],"Service":"nginx-lb","State":"running","Status":"Up 2 minutes (healthy)"}"#;
        let other = r#"{"Health":"","Image":"redis:7.0.15-pftest.ab12","Name":"promptforge-redis-master","Project":"promptforge","Service":"redis-master","State":"exited"}"#;
        let lines = compose_containers(&format!("{line}\n{other}\n")).expect("lines");
        let array = compose_containers(&format!("[{line},{other}]")).expect("array");
        assert_eq!(lines, array);
        assert_eq!(lines[0].service, "nginx-lb");
        assert_eq!(lines[0].health, "healthy");
        assert_eq!(lines[1].state, "exited");
        assert!(compose_containers("  \n").expect("empty").is_empty());
    }

    #[test]
    fn ps_rows_split_labels() {
        let row = r#"{"Command":"\"python3\"","ID":"ab12","Image":"pf-testbed/backend:1","Labels":"com.docker.swarm.service.name=promptforge_backend,com.docker.swarm.task.id=t1","Names":"promptforge_backend.1.t1","State":"running","Status":"Up 5 seconds"}"#;
        let rows = ps_rows(row).expect("parses");
        assert_eq!(rows[0].id, "ab12");
        assert_eq!(
            rows[0].labels["com.docker.swarm.service.name"],
            "promptforge_backend"
        );
        assert_eq!(rows[0].state, "running");
    }

    #[test]
    fn container_inspect_gives_addresses_and_bind_mounts() {
        let json = r#"[{"Id":"ab12","Name":"/promptforge-backend-1","State":{"Status":"running","Running":true},
          "Mounts":[{"Type":"bind","Source":"/srv/b/nginx/load-balancer.conf","Destination":"/etc/nginx/nginx.conf","RW":false},
                    {"Type":"volume","Name":"v","Source":"/var/lib/docker/volumes/v/_data","Destination":"/data"}],
          "NetworkSettings":{"Networks":{"promptforge_ha-front":{"IPAddress":"172.26.128.5"},"none":{"IPAddress":""}}}}]"#;
        let c = containers(json).expect("parses");
        assert_eq!(c[0].name, "promptforge-backend-1");
        assert!(c[0].running);
        assert_eq!(c[0].addresses.len(), 1);
        assert_eq!(c[0].addresses["promptforge_ha-front"], "172.26.128.5");
        assert_eq!(
            c[0].binds,
            [(
                "/srv/b/nginx/load-balancer.conf".to_owned(),
                "/etc/nginx/nginx.conf".to_owned()
            )]
        );
    }
}
