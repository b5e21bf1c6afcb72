//! What a stack deployed from this topology's bundle must look like: the
//! services of the plan (`pf_render::plan(&topology, Target::Swarm |
//! Compose)`) and, from the rendered bundle itself, each Swarm service's
//! configs (their names carry a hash of the file's content) and secrets,
//! and each Compose container's bind-mounted bundle files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pf_render::{Bundle, Plan};
use serde_json::Value;

use super::spec::{self, SpecFields};

/// One service of the stack file (Swarm) or compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpectedService {
    /// The service key in the file (`nginx`, `nginx-lb`, `backend1`).
    pub(crate) key: String,
    /// Swarm: `<stack>_<key>`; Compose: the key.
    pub(crate) name: String,
    /// Compose: the container name; Swarm: the service name.
    pub(crate) container: String,
    /// The image reference as the file writes it.
    pub(crate) image: String,
    /// Tasks (Swarm) or 1 (Compose).
    pub(crate) replicas: u32,
    /// Swarm: (mount point, config name), sorted.
    pub(crate) configs: Vec<(String, String)>,
    /// Swarm: full secret names, sorted.
    pub(crate) secrets: Vec<String>,
    /// Compose: (mount point, the bundle file's content) of every file of
    /// the bundle it bind-mounts.
    pub(crate) files: Vec<(PathBuf, String)>,
    /// Swarm: environment, entrypoint, command, resources, placement and
    /// update order as Swarm stores them.
    pub(crate) spec: SpecFields,
    /// Stateful (one instance on a volume).
    pub(crate) stateful: bool,
    /// The deploy step of `setup-swarm.sh --deploy`.
    pub(crate) step: u32,
}

/// The services the bundle deploys, in stack order. `stack` is the Swarm
/// stack name the user deployed under (`--stack`, default the topology's).
pub(crate) fn services(
    plan: &Plan,
    bundle: &Bundle,
    stack: &str,
) -> Result<Vec<ExpectedService>, String> {
    let swarm = plan.is_swarm();
    let file = if swarm {
        "docker-stack.yml"
    } else {
        "docker-compose.ha.yml"
    };
    // The document the YAML file holds, as JSON: no YAML parser needed.
    let doc: Value = pf_render::deployment_document(plan, bundle)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the rendered bundle has no {file} (a bug)"))?;
    let config_names = names(&doc, "configs");
    let secret_names = names(&doc, "secrets");
    let artifacts: BTreeMap<&str, &str> = bundle
        .artifacts()
        .iter()
        .map(|a| (a.path.as_str(), a.contents.as_str()))
        .collect();
    let mut out = Vec::new();
    for (instance, deployment) in plan.services() {
        let key = instance.name.clone();
        let svc = &doc["services"][key.as_str()];
        if svc.is_null() {
            return Err(format!("{file} has no service {key} (a bug)"));
        }
        let mut configs = Vec::new();
        if let Some(list) = svc["configs"].as_array() {
            for c in list {
                let source = c["source"].as_str().unwrap_or_default();
                let target = c["target"].as_str().unwrap_or_default();
                let name = config_names.get(source).cloned().unwrap_or_default();
                configs.push((target.to_owned(), name));
            }
        }
        configs.sort();
        let mut secrets: Vec<String> = svc["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().or_else(|| s["source"].as_str()))
            .map(|k| secret_names.get(k).cloned().unwrap_or_else(|| k.to_owned()))
            .collect();
        secrets.sort();
        let files = if swarm {
            Vec::new()
        } else {
            instance
                .files
                .iter()
                .filter_map(|f| {
                    artifacts
                        .get(f.artifact.as_str())
                        .map(|c| (f.path.clone(), (*c).to_owned()))
                })
                .collect()
        };
        let fields = if swarm {
            spec::from_stack(svc).map_err(|e| format!("{file}: service {key}: {e} (a bug)"))?
        } else {
            SpecFields::default()
        };
        out.push(ExpectedService {
            name: if swarm {
                format!("{stack}_{key}")
            } else {
                key.clone()
            },
            container: if swarm {
                format!("{stack}_{key}")
            } else {
                instance.container.clone()
            },
            key,
            image: deployment.image.clone(),
            replicas: deployment.replicas,
            configs: if swarm { configs } else { Vec::new() },
            secrets: if swarm { secrets } else { Vec::new() },
            files,
            spec: fields,
            stateful: deployment.stateful,
            step: deployment.update_step,
        });
    }
    Ok(out)
}

/// `configs:` or `secrets:` at the top of the file: key to deployed name.
fn names(doc: &Value, section: &str) -> BTreeMap<String, String> {
    doc[section]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v["name"].as_str().unwrap_or(k).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{compare, inspect};
    use pf_render::Target;

    fn topology(edit: impl Fn(String) -> String) -> pf_model::Topology {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/prod.toml");
        let text = edit(std::fs::read_to_string(path).expect("prod.toml"));
        pf_model::from_str(&text, "prod.toml")
            .expect("loads")
            .validate()
            .topology
            .expect("valid")
    }

    fn expected(t: &pf_model::Topology, target: Target) -> Vec<ExpectedService> {
        let plan = pf_render::plan(t, target);
        let bundle = pf_render::emit(&plan).expect("renders");
        services(&plan, &bundle, "promptforge").expect("expected services")
    }

    /// `docker service inspect` as Swarm would print it for these services.
    fn inspect_json(services: &[ExpectedService]) -> String {
        let items: Vec<serde_json::Value> = services
            .iter()
            .map(|e| {
                serde_json::json!({"Spec": {
                    "Name": e.name,
                    "Labels": {"com.docker.stack.image": e.image, "com.docker.stack.namespace": "promptforge"},
                    "TaskTemplate": {"ContainerSpec": {
                        "Image": format!("{}@sha256:00", e.image),
                        "Configs": e.configs.iter().map(|(t, n)| serde_json::json!({"File": {"Name": t}, "ConfigName": n})).collect::<Vec<_>>(),
                        "Secrets": e.secrets.iter().map(|n| serde_json::json!({"File": {"Name": n}, "SecretName": n})).collect::<Vec<_>>(),
                    }},
                    "Mode": {"Replicated": {"Replicas": e.replicas}},
                }})
            })
            .collect();
        serde_json::to_string(&items).expect("json")
    }

    #[test]
    fn prod_on_swarm_expects_every_service_with_hashed_configs() {
        let e = expected(&topology(|t| t), Target::Swarm);
        let nginx = e.iter().find(|s| s.key == "nginx").expect("nginx");
        assert_eq!(nginx.name, "promptforge_nginx");
        assert_eq!(nginx.replicas, 2);
        assert!(
            nginx
                .configs
                .iter()
                .any(|(t, n)| t == "/etc/nginx/nginx.conf"
                    && n.starts_with("promptforge_nginx_load-balancer_conf_")),
            "{:?}",
            nginx.configs
        );
        assert!(
            nginx
                .secrets
                .contains(&"promptforge_tls_certificate".to_owned())
        );
        assert!(e.iter().any(|s| s.key == "postgres-2"));
        assert!(e.iter().any(|s| s.key == "redis-sentinel-3"));
        // A stack deployed from the same bundle matches.
        let deployed = inspect::swarm_services(&inspect_json(&e)).expect("parses");
        assert_eq!(compare::swarm(&e, &deployed), Vec::<String>::new());
    }

    #[test]
    fn a_stack_deployed_from_another_version_of_the_topology_is_refused() {
        let old = expected(&topology(|t| t), Target::Swarm);
        let deployed = inspect::swarm_services(&inspect_json(&old)).expect("parses");
        // The operator changed fail-timeout and rendered again: nginx's
        // config has another content hash, nothing else differs.
        let new = expected(
            &topology(|t| t.replace("fail-timeout = \"30s\"", "fail-timeout = \"20s\"")),
            Target::Swarm,
        );
        let m = compare::swarm(&new, &deployed);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert!(
            m[0].starts_with("service promptforge_nginx: configs"),
            "{m:?}"
        );
    }

    #[test]
    fn compose_expects_container_names_and_mounted_bundle_files() {
        let e = expected(&topology(|t| t), Target::Compose);
        let lb = e.iter().find(|s| s.key == "nginx-lb").expect("nginx-lb");
        assert_eq!(lb.container, "promptforge-nginx-lb");
        assert!(
            lb.files
                .iter()
                .any(|(p, c)| p == std::path::Path::new("/etc/nginx/nginx.conf")
                    && c.contains("upstream backend")),
            "{:?}",
            lb.files.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        assert!(
            e.iter()
                .all(|s| s.configs.is_empty() && s.secrets.is_empty())
        );
    }
}
