//! `pf-render plan FILE --context|-H`: reads the deployed stack through the
//! docker CLI, read-only (`service ls`, `service inspect`, `secret ls`,
//! `config ls`, `node ls`, `node inspect`), with the same reading code as
//! `drill --on swarm`, and says what a deploy of the bundle would change.

use std::collections::{BTreeMap, BTreeSet};

use pf_diag::Finding;
use pf_model::Topology;
use pf_render::Target;
use serde::{Deserialize, Serialize};

use super::cli::{Docker, Engine};
use super::diff::{self, Change, Cluster, Groups, ServiceChange};
use super::stack::Orchestrator;
use super::{deployed_names, expected, inspect};
use crate::cancel::Cancel;
use crate::error::DrillError;

/// How to read the stack.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// The stack name; default the topology's `name`.
    pub name: Option<String>,
    /// The engine the docker CLI talks to (a Swarm manager).
    pub engine: Engine,
    /// Show services not in the topology as removed
    /// (`docker stack deploy --prune`).
    pub prune: bool,
    /// Set to stop early.
    pub cancel: Cancel,
}

/// What a deploy of the bundle would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct DeployPlan {
    /// The stack.
    pub stack: String,
    /// The engine, as a person would name it.
    pub engine: String,
    /// Every service, in the order the bundle's deploy applies them
    /// (its steps, then names), then those not in the topology.
    pub services: Vec<ServiceChange>,
    /// Configs the deploy creates (new content hashes).
    pub new_configs: Vec<String>,
    /// The HA verdicts.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl DeployPlan {
    /// True when no service changes.
    pub fn unchanged(&self) -> bool {
        self.services
            .iter()
            .all(|s| matches!(s.change, Change::Unchanged | Change::NotManaged))
    }
}

/// Reads the stack deployed as `options.name` and plans the deploy of
/// `topology`'s Swarm bundle. Never changes the cluster.
pub fn plan_on_swarm(topology: &Topology, options: &PlanOptions) -> Result<DeployPlan, DrillError> {
    let plan = pf_render::plan(topology, Target::Swarm);
    let bundle = pf_render::emit(&plan)
        .map_err(|e| DrillError::env(format!("rendering the bundle failed (a bug): {e}")))?;
    let name = options.name.clone().unwrap_or_else(|| plan.stack.clone());
    let expected = expected::services(&plan, &bundle, &name).map_err(DrillError::env)?;
    let docker = Docker::find(&options.engine, &options.cancel)?;
    let names = deployed_names(&docker, Orchestrator::Swarm, &name)?;
    let deployed = if names.is_empty() {
        Vec::new()
    } else {
        let mut args = vec!["service", "inspect"];
        args.extend(names.iter().map(String::as_str));
        inspect::swarm_services(&docker.must(&args)?).map_err(DrillError::env)?
    };
    let lines = |out: String| -> BTreeSet<String> {
        out.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let secrets = lines(docker.must(&["secret", "ls", "--format", "{{.Name}}"])?);
    let configs = lines(docker.must(&["config", "ls", "--format", "{{.Name}}"])?);
    let nodes: Vec<String> = lines(docker.must(&["node", "ls", "-q"])?)
        .into_iter()
        .collect();
    let node_labels = if nodes.is_empty() {
        Vec::new()
    } else {
        let mut args = vec!["node", "inspect"];
        args.extend(nodes.iter().map(String::as_str));
        node_labels(&docker.must(&args)?).map_err(DrillError::env)?
    };
    let mut new_configs: Vec<String> = expected
        .iter()
        .flat_map(|e| e.configs.iter().map(|(_, n)| n.clone()))
        .filter(|n| !configs.contains(n))
        .collect();
    new_configs.sort();
    new_configs.dedup();
    let full = |i: &str| format!("{name}_{i}");
    let groups = Groups {
        groups: vec![
            (
                "PostgreSQL members".into(),
                plan.postgres
                    .members()
                    .map(|m| full(&m.instance.name))
                    .collect(),
            ),
            (
                "Redis data nodes".into(),
                plan.redis.nodes().map(|n| full(&n.instance.name)).collect(),
            ),
            (
                "Sentinels".into(),
                plan.redis
                    .sentinels
                    .iter()
                    .map(|s| full(&s.instance.name))
                    .collect(),
            ),
        ],
        redis_master: full(&plan.redis.master.instance.name),
    };
    let cluster = Cluster {
        secrets,
        node_labels,
    };
    let (services, findings) = diff::plan(&expected, &deployed, &cluster, &groups, options.prune);
    Ok(DeployPlan {
        stack: name,
        engine: options.engine.describe(),
        services,
        new_configs,
        findings,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNode {
    spec: RawNodeSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNodeSpec {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Every node's labels from `docker node inspect`.
fn node_labels(json: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    let raw: Vec<RawNode> =
        serde_json::from_str(json).map_err(|e| format!("docker node inspect: {e}"))?;
    Ok(raw
        .into_iter()
        .map(|n| n.spec.labels.unwrap_or_default())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_labels_are_read_from_the_spec() {
        let json = r#"[{"ID":"n1","Spec":{"Labels":{"promptforge.edge":"true"},"Role":"manager"}},
                      {"ID":"n2","Spec":{"Role":"worker"}}]"#;
        let labels = node_labels(json).expect("parses");
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0]["promptforge.edge"], "true");
        assert!(labels[1].is_empty());
        assert!(node_labels("Error").is_err());
    }
}
