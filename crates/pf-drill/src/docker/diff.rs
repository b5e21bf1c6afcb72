//! What `docker stack deploy` of the bundle would do to a deployed stack,
//! service by service, and the HA verdicts on top: pure, from the expected
//! services (the rendered stack file) and what docker printed.
//!
//! Swarm replaces a service's tasks when its task template changes (image,
//! configs, secrets, environment, entrypoint, command, resources); a change
//! of replicas or of the update order is applied to the service without
//! replacing running tasks. A placement-only change replaces only the tasks
//! whose node no longer satisfies it (swarmkit's
//! `IsTaskDirtyPlacementConstraintsOnly`), so it is reported as in place
//! with that note. Ports, health checks, networks and mounts are not
//! compared (docs/plan.md).

use std::collections::{BTreeMap, BTreeSet};

use pf_diag::Finding;
use serde::Serialize;

use super::expected::ExpectedService;
use super::inspect::SwarmService;

pf_diag::catalog! {
    /// A verdict of `pf-render plan` on a deploy. `pf-render explain CODE`
    /// prints its entry; docs/plan.md lists them.
    pub enum PlanCode in Plan;
    /// The Redis master's tasks are replaced.
    RedisMasterRestarts = ("plan-redis-master-restarts", Warning, "the deploy restarts the Redis master, so Sentinel fails over",
        "Replacing the master's task stops it for at least Sentinel's `down-after`: the Sentinels promote a replica, and the restarted master rejoins as a replica. Clients see a short write outage. The plan names the initial master (`redis-master`); after an earlier failover the master may be another node. Deploy it at a quiet time, or fail over deliberately first (`SENTINEL FAILOVER`)."),
    /// Two members of a group restart in one deploy.
    GroupRestarts = ("plan-group-restarts", Warning, "more than one member of a quorum or replication group restarts in one deploy",
        "PostgreSQL members, Redis data nodes and Sentinels are separate services; a plain `docker stack deploy` updates them all at once, so two members can be down together (a lost Sentinel majority, a primary and its standby). The bundle's `setup-swarm.sh --deploy` deploys them in steps, one member per step, waiting for each; use it, not `docker stack deploy` directly."),
    /// A stateful service updated start-first.
    StatefulStartFirst = ("plan-stateful-start-first", Error, "a stateful service restarts with `start-first`",
        "The new task would start on the same data volume while the old one still runs: two PostgreSQL or Redis servers on one data folder. Stateful services must be updated `stop-first`."),
    /// A secret the stack needs is not on the cluster.
    SecretMissing = ("plan-secret-missing", Error, "a secret the stack references does not exist on the cluster",
        "The bundle's secrets are external: `docker stack deploy` fails for every service that references a missing one. Create it first (`setup-swarm.sh --create-secrets`)."),
    /// A placement label is on no node.
    NodeLabelMissing = ("plan-node-label-missing", Error, "a node label the placement needs is on no node",
        "A constraint `node.labels.K == true` that no node satisfies leaves the service's tasks pending forever (and a restarted stateful member never comes back). Label the nodes first (`setup-swarm.sh --label-nodes`)."),
    /// Scaled below two tasks.
    ScaleBelowHa = ("plan-scale-below-ha", Warning, "the deploy scales a tier down below the two tasks HA needs",
        "With one task (or none), an update or a crash of that task is an outage. Keep at least two."),
    /// A service of the stack that the topology does not have.
    NotManaged = ("plan-not-managed", Warning, "a service of the stack is not in the topology",
        "It was deployed by hand, or removed from the topology. The bundle's deploy (`docker stack deploy` without `--prune`) leaves it running, untouched; `pf-render plan --prune` shows it as removed, which is what `docker stack deploy --prune` does."),
}

/// What the deploy does to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Change {
    /// The service does not exist yet.
    Created,
    /// Its running tasks are replaced.
    Restarted,
    /// The service changes; its running tasks keep running.
    UpdatedInPlace,
    /// Nothing changes.
    Unchanged,
    /// In the stack, not in the bundle, and the deploy prunes it.
    Removed,
    /// In the stack, not in the bundle; the deploy leaves it alone.
    NotManaged,
}

impl Change {
    /// `restarted`, `updated in place`, ...
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Restarted => "restarted",
            Self::UpdatedInPlace => "updated in place",
            Self::Unchanged => "unchanged",
            Self::Removed => "removed",
            Self::NotManaged => "not managed",
        }
    }
}

/// One service of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ServiceChange {
    /// The Swarm service (`promptforge_backend`).
    pub service: String,
    /// What happens to it.
    pub change: Change,
    /// Why, one reason per changed aspect; names and sizes, never values
    /// of the environment.
    pub reasons: Vec<String>,
    /// The step of `setup-swarm.sh --deploy` that applies it (0: not in
    /// the bundle).
    pub step: u32,
}

/// What the cluster holds besides the services.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cluster {
    /// Secret names.
    pub(crate) secrets: BTreeSet<String>,
    /// Every node's labels.
    pub(crate) node_labels: Vec<BTreeMap<String, String>>,
}

/// Which services form a group whose members must not restart together,
/// by Swarm service name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Groups {
    /// (group name, member services).
    pub(crate) groups: Vec<(String, Vec<String>)>,
    /// The initial Redis master.
    pub(crate) redis_master: String,
}

/// The services in the order the deploy applies them, and the verdicts.
pub(crate) fn plan(
    expected: &[ExpectedService],
    deployed: &[SwarmService],
    cluster: &Cluster,
    groups: &Groups,
    prune: bool,
) -> (Vec<ServiceChange>, Vec<Finding>) {
    let by_name: BTreeMap<&str, &SwarmService> =
        deployed.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut changes: Vec<ServiceChange> = expected
        .iter()
        .map(|e| match by_name.get(e.name.as_str()) {
            None => ServiceChange {
                service: e.name.clone(),
                change: Change::Created,
                reasons: Vec::new(),
                step: e.step,
            },
            Some(d) => classify(e, d),
        })
        .collect();
    changes.sort_by(|a, b| (a.step, &a.service).cmp(&(b.step, &b.service)));
    let known: BTreeSet<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    let mut findings = Vec::new();
    for d in deployed.iter().filter(|d| !known.contains(d.name.as_str())) {
        changes.push(ServiceChange {
            service: d.name.clone(),
            change: if prune {
                Change::Removed
            } else {
                Change::NotManaged
            },
            reasons: vec!["not in the topology".into()],
            step: 0,
        });
        if !prune {
            findings.push(
                Finding::new(
                    PlanCode::NotManaged,
                    d.name.as_str(),
                    format!(
                        "{} is in the stack but not in the topology: left running",
                        d.name
                    ),
                    "remove it by hand (`docker service rm`), or add it to the topology",
                )
                .in_service(d.name.as_str()),
            );
        }
    }
    findings.extend(verdicts(expected, &by_name, &changes, cluster, groups));
    (changes, findings)
}

/// The change to one deployed service of the bundle.
fn classify(e: &ExpectedService, d: &SwarmService) -> ServiceChange {
    let mut restart = Vec::new();
    if d.image != e.image {
        restart.push(format!("image {} -> {}", d.image, e.image));
    }
    if d.configs != e.configs {
        let old: BTreeMap<&str, &str> = d
            .configs
            .iter()
            .map(|(t, n)| (t.as_str(), n.as_str()))
            .collect();
        let changed: Vec<&str> = e
            .configs
            .iter()
            .filter(|(t, n)| old.get(t.as_str()) != Some(&n.as_str()))
            .map(|(t, _)| t.as_str())
            .chain(
                old.keys()
                    .copied()
                    .filter(|t| !e.configs.iter().any(|(et, _)| et == t)),
            )
            .collect();
        restart.push(format!("config content hash: {}", changed.join(", ")));
    }
    if d.secrets != e.secrets {
        restart.push(format!(
            "secrets [{}] -> [{}]",
            d.secrets.join(", "),
            e.secrets.join(", ")
        ));
    }
    let (ds, es) = (&d.spec, &e.spec);
    if ds.env != es.env {
        restart.push(format!("environment: {}", env_keys(&ds.env, &es.env)));
    }
    if ds.entrypoint != es.entrypoint {
        restart.push("entrypoint".into());
    }
    if ds.command != es.command {
        restart.push("command".into());
    }
    if ds.limits != es.limits || ds.reservations != es.reservations {
        restart.push(format!(
            "resources: limits {} -> {}, reservations {} -> {}",
            res(&ds.limits),
            res(&es.limits),
            res(&ds.reservations),
            res(&es.reservations)
        ));
    }
    let mut in_place = Vec::new();
    if d.replicas != Some(u64::from(e.replicas)) {
        in_place.push(format!(
            "replicas {} -> {}",
            d.replicas
                .map_or_else(|| "global".to_owned(), |r| r.to_string()),
            e.replicas
        ));
    }
    if ds.constraints != es.constraints || ds.max_replicas != es.max_replicas {
        in_place.push("placement (only tasks on nodes that no longer satisfy it are moved)".into());
    }
    if ds.update_order != es.update_order {
        in_place.push(format!(
            "update order {} -> {}",
            ds.update_order, es.update_order
        ));
    }
    let change = if !restart.is_empty() {
        Change::Restarted
    } else if !in_place.is_empty() {
        Change::UpdatedInPlace
    } else {
        Change::Unchanged
    };
    restart.extend(in_place);
    ServiceChange {
        service: e.name.clone(),
        change,
        reasons: restart,
        step: e.step,
    }
}

/// The names of the variables added, removed or changed (never values).
fn env_keys(old: &[String], new: &[String]) -> String {
    let map = |v: &[String]| -> BTreeMap<String, String> {
        v.iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    };
    let (o, n) = (map(old), map(new));
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn res(r: &super::spec::Res) -> String {
    #[allow(clippy::cast_precision_loss)]
    let cpus = r.nano_cpus as f64 / 1e9;
    format!("{cpus} CPU / {} MiB", r.memory_bytes / (1024 * 1024))
}

/// The HA verdicts over the classified services.
fn verdicts(
    expected: &[ExpectedService],
    deployed: &BTreeMap<&str, &SwarmService>,
    changes: &[ServiceChange],
    cluster: &Cluster,
    groups: &Groups,
) -> Vec<Finding> {
    let restarted: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.change == Change::Restarted)
        .map(|c| c.service.as_str())
        .collect();
    let mut out = Vec::new();
    if restarted.contains(groups.redis_master.as_str()) {
        out.push(
            Finding::new(
                PlanCode::RedisMasterRestarts,
                groups.redis_master.as_str(),
                format!(
                    "{} restarts: Sentinel fails over to a replica",
                    groups.redis_master
                ),
                "deploy at a quiet time, or fail over first with SENTINEL FAILOVER",
            )
            .in_service(groups.redis_master.as_str()),
        );
    }
    for (group, members) in &groups.groups {
        let hit: Vec<&str> = members
            .iter()
            .map(String::as_str)
            .filter(|m| restarted.contains(m))
            .collect();
        if hit.len() > 1 {
            out.push(Finding::new(
                PlanCode::GroupRestarts,
                group.as_str(),
                format!(
                    "{} of {} {group} restart in this deploy: {}",
                    hit.len(),
                    members.len(),
                    hit.join(", ")
                ),
                "deploy with the bundle's `setup-swarm.sh --deploy`, which restarts one member per step",
            ));
        }
    }
    for e in expected {
        if e.stateful && e.spec.update_order == "start-first" && restarted.contains(e.name.as_str())
        {
            out.push(
                Finding::new(
                    PlanCode::StatefulStartFirst,
                    e.name.as_str(),
                    format!("{} restarts start-first on its data volume", e.name),
                    "update stateful services stop-first",
                )
                .in_service(e.name.as_str()),
            );
        }
        if let Some(d) = deployed.get(e.name.as_str())
            && let Some(old) = d.replicas
            && u64::from(e.replicas) < old
            && e.replicas < 2
            && !e.stateful
        {
            out.push(
                Finding::new(
                    PlanCode::ScaleBelowHa,
                    e.name.as_str(),
                    format!("{} scales from {old} to {} task(s)", e.name, e.replicas),
                    "keep at least 2 replicas",
                )
                .in_service(e.name.as_str()),
            );
        }
    }
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut unlabelled: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for e in expected {
        for s in &e.secrets {
            if !cluster.secrets.contains(s) {
                missing.entry(s).or_default().push(&e.name);
            }
        }
        for c in &e.spec.constraints {
            if let Some(label) = label_constraint(c)
                && !cluster
                    .node_labels
                    .iter()
                    .any(|l| l.get(label).is_some_and(|v| v == "true"))
            {
                unlabelled
                    .entry(label.to_owned())
                    .or_default()
                    .push(&e.name);
            }
        }
    }
    for (secret, users) in missing {
        out.push(Finding::new(
            PlanCode::SecretMissing,
            secret,
            format!(
                "secret {secret} does not exist; {} reference it",
                users.join(", ")
            ),
            "create it first: setup-swarm.sh --create-secrets",
        ));
    }
    for (label, users) in unlabelled {
        out.push(Finding::new(
            PlanCode::NodeLabelMissing,
            label.as_str(),
            format!(
                "no node carries {label}=true; {} can run nowhere",
                users.join(", ")
            ),
            "label the nodes first: setup-swarm.sh --label-nodes",
        ));
    }
    out
}

/// `node.labels.K == true` to `K`.
fn label_constraint(c: &str) -> Option<&str> {
    let (lhs, rhs) = c.split_once("==")?;
    (rhs.trim() == "true")
        .then(|| lhs.trim().strip_prefix("node.labels."))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::spec::SpecFields;

    fn svc(name: &str) -> ExpectedService {
        ExpectedService {
            key: name.into(),
            name: format!("s_{name}"),
            container: format!("s_{name}"),
            image: "img:1".into(),
            replicas: 1,
            configs: vec![("/c".into(), "s_c_aa".into())],
            secrets: vec!["s_pw".into()],
            files: Vec::new(),
            spec: SpecFields {
                env: vec!["A=1".into()],
                update_order: "stop-first".into(),
                constraints: vec![format!("node.labels.s.{name} == true")],
                ..SpecFields::default()
            },
            stateful: true,
            step: 1,
        }
    }

    fn deployed(e: &ExpectedService) -> SwarmService {
        SwarmService {
            name: e.name.clone(),
            image: e.image.clone(),
            replicas: Some(u64::from(e.replicas)),
            configs: e.configs.clone(),
            secrets: e.secrets.clone(),
            stack: Some("s".into()),
            spec: e.spec.clone(),
        }
    }

    fn cluster(e: &[ExpectedService]) -> Cluster {
        Cluster {
            secrets: ["s_pw".to_owned()].into(),
            node_labels: e
                .iter()
                .map(|e| [(format!("s.{}", e.key), "true".to_owned())].into())
                .collect(),
        }
    }

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code.name()).collect()
    }

    #[test]
    fn a_start_first_stateful_restart_is_an_error() {
        let mut e = svc("pg");
        let d = deployed(&e);
        e.image = "img:2".into();
        e.spec.update_order = "start-first".into();
        let (c, f) = plan(
            &[e.clone()],
            &[d],
            &cluster(&[e]),
            &Groups::default(),
            false,
        );
        assert_eq!(c[0].change, Change::Restarted);
        assert_eq!(c[0].reasons[0], "image img:1 -> img:2");
        assert_eq!(codes(&f), ["plan-stateful-start-first"]);
    }

    #[test]
    fn environment_reasons_name_keys_not_values() {
        let mut e = svc("app");
        let d = deployed(&e);
        e.spec.env = vec!["A=hunter2".into(), "B=x".into()];
        let (c, _) = plan(
            &[e.clone()],
            &[d],
            &cluster(&[e]),
            &Groups::default(),
            false,
        );
        assert_eq!(c[0].reasons, ["environment: A, B"]);
    }

    #[test]
    fn replicas_and_order_are_in_place() {
        let mut e = svc("app");
        e.stateful = false;
        e.replicas = 3;
        let d = deployed(&e);
        e.replicas = 1;
        e.spec.update_order = "start-first".into();
        let (c, f) = plan(
            &[e.clone()],
            &[d],
            &cluster(&[e]),
            &Groups::default(),
            false,
        );
        assert_eq!(c[0].change, Change::UpdatedInPlace);
        assert_eq!(
            c[0].reasons,
            ["replicas 3 -> 1", "update order stop-first -> start-first"]
        );
        assert_eq!(codes(&f), ["plan-scale-below-ha"]);
    }

    #[test]
    fn an_unchanged_stack_has_no_findings() {
        let e = [svc("a"), svc("b")];
        let d: Vec<_> = e.iter().map(deployed).collect();
        let (c, f) = plan(&e, &d, &cluster(&e), &Groups::default(), false);
        assert!(c.iter().all(|c| c.change == Change::Unchanged), "{c:?}");
        assert!(f.is_empty(), "{f:?}");
    }
}

#[cfg(test)]
mod docs {
    use super::PlanCode;

    /// docs/plan.md lists every code of the catalog, as the catalog says.
    #[test]
    fn docs_plan_lists_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/plan.md");
        let text = std::fs::read_to_string(path).expect("docs/plan.md");
        let start = "<!-- generated: plan codes (a test in pf-drill keeps this list current) -->\n";
        let from = text.find(start).expect("start marker") + start.len();
        let to = text.find("<!-- end: plan codes -->").expect("end marker");
        let mut expected = String::from("| code | severity | what |\n|---|---|---|\n");
        for c in PlanCode::ALL {
            expected.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.name(),
                c.severity(),
                c.description()
            ));
        }
        assert_eq!(
            &text[from..to],
            expected,
            "update the table in docs/plan.md"
        );
    }
}
