//! The transformation: local images, capacity and reservations of the test
//! machine, plain overlays across nodes. Edits the TOML document, so every
//! comment and every setting not named here stays as written.

use pf_model::Topology;
use pf_model::model::{EndpointMode, PublishMode, Resources};
use pf_model::units::ImageRef;
use toml_edit::{DocumentMut, Item, Value};

use crate::{Error, ImageMap, Machine, validated};

/// One edit of the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The key, as diagnostics name it (`services[0].image`).
    pub key: String,
    /// The value before (as TOML would show it; `-` when it was a default).
    pub from: String,
    /// The value after.
    pub to: String,
    /// Why.
    pub why: &'static str,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} -> {} ({})",
            self.key, self.from, self.to, self.why
        )
    }
}

/// The localized topology.
#[derive(Debug, Clone)]
pub struct Localized {
    /// The new TOML text.
    pub text: String,
    /// What was changed, in file order of the groups.
    pub changes: Vec<Change>,
    /// The new text, validated.
    pub topology: Topology,
}

const WHY_IMAGE: &str = "local look-alike image, nothing is pulled";
const WHY_APP: &str = "local stand-in answering the service's routes and health path";
const WHY_PROGRAM: &str = "the topology names its app's own program; the stand-in runs its own (the secrets-env shim still runs first)";
/// The stand-in image's program (containers/images/app/Dockerfile) and the
/// arguments the tier's per-service image gives it (containers/lib/images.sh).
const STANDIN_ENTRYPOINT: [&str; 2] = ["python3", "/usr/local/bin/standin.py"];
const WHY_GRAFANA: &str = "Grafana is not packaged in Debian: skipped";
const WHY_CAPACITY: &str = "the test machine";
const WHY_RESERVATION: &str = "scaled so every reservation fits on one test node";
const WHY_CPU_LIMIT: &str = "Docker rejects a CPU limit above the node's CPUs";
const WHY_MEMORY_LIMIT: &str = "Docker rejects a memory limit above the node's memory";
const WHY_ENCRYPTED: &str =
    "the test kernel has no ESP: encrypted overlays do not pass traffic between nodes";
const WHY_LB: &str = "host-published load balancers run one per node";
const WHY_DNSRR: &str =
    "this kernel has no IPVS: a service's virtual IP routes nowhere, DNS round robin does";
const WHY_EDGE: &str = "the load balancers' edge nodes are nodes of this machine's Swarm";

/// Rewrites `text` (the topology read from `origin`) for the test machine.
/// The input must be a valid topology; the output is validated too.
pub fn localize(
    text: &str,
    origin: &str,
    images: &ImageMap,
    machine: &Machine,
) -> Result<Localized, Error> {
    let topology = validated(text, origin)?;
    let spec = topology.spec();
    let mut doc: DocumentMut = text.parse().map_err(|e| Error::InvalidInput {
        origin: origin.to_owned(),
        report: format!("{e}"),
    })?;
    let mut edit = Edit {
        doc: &mut doc,
        changes: Vec::new(),
    };

    edit.image(
        &["load-balancer", "image"],
        &spec.load_balancer.image,
        images.role("load-balancer")?,
        WHY_IMAGE,
    );
    edit.image(
        &["postgres", "image"],
        &spec.postgres.image,
        images.role("postgres")?,
        WHY_IMAGE,
    );
    edit.image(
        &["redis", "image"],
        &spec.redis.image,
        images.role("redis")?,
        WHY_IMAGE,
    );
    for (i, s) in spec.services.iter().enumerate() {
        let to = images.app(s.name.as_str())?;
        edit.service_image(i, &s.image, to);
        if !s.entrypoint.is_empty() || !s.command.is_empty() {
            edit.service_program(i, s);
        }
    }
    let m = &spec.monitoring;
    if m.prometheus {
        let monitoring = [
            ("prometheus", "prometheus-image", &m.prometheus_image),
            (
                "postgres-exporter",
                "postgres-exporter-image",
                &m.postgres_exporter_image,
            ),
            (
                "redis-exporter",
                "redis-exporter-image",
                &m.redis_exporter_image,
            ),
        ];
        for (role, key, from) in monitoring {
            edit.image(&["monitoring", key], from, images.role(role)?, WHY_IMAGE);
        }
        // nginx serves its own metrics (njs): there is no nginx exporter.
        if let Some(am) = &m.alertmanager {
            edit.image(
                &["monitoring", "alertmanager", "image"],
                &am.image,
                images.role("alertmanager")?,
                WHY_IMAGE,
            );
        }
        if m.grafana {
            match images.roles.get("grafana") {
                Some(to) => edit.image(
                    &["monitoring", "grafana-image"],
                    &m.grafana_image,
                    to,
                    WHY_IMAGE,
                ),
                None => edit.set(
                    &["monitoring", "grafana"],
                    "true",
                    Value::from(false),
                    WHY_GRAFANA,
                ),
            }
        }
    }

    edit.capacity(topology.spec(), machine);
    edit.reservations(topology.spec(), machine);
    if machine.nodes > 1 && spec.network.encrypted {
        edit.set(
            &["network", "encrypted"],
            "true",
            Value::from(false),
            WHY_ENCRYPTED,
        );
    }
    if spec.network.endpoint_mode == EndpointMode::Vip {
        edit.set(
            &["network", "endpoint-mode"],
            "vip",
            Value::from("dnsrr"),
            WHY_DNSRR,
        );
    }
    let lb = &spec.load_balancer;
    if lb.publish_mode == PublishMode::Host && lb.instances > machine.nodes {
        edit.set(
            &["load-balancer", "instances"],
            &lb.instances.to_string(),
            Value::from(i64::from(machine.nodes)),
            WHY_LB,
        );
    }
    if let Some(edge) = lb.edge_nodes.filter(|&e| e > machine.nodes) {
        edit.set(
            &["load-balancer", "edge-nodes"],
            &edge.to_string(),
            Value::from(i64::from(machine.nodes)),
            WHY_EDGE,
        );
    }

    let changes = edit.changes;
    let out = format!(
        "# Localized by pf-testbed from {origin} for the container test tier (docs/containers.md).\n\
         # Not a deployment topology: images are local look-alikes and resources are scaled down.\n{doc}"
    );
    let topology = validated(&out, origin).map_err(|e| Error::InvalidOutput(e.to_string()))?;
    Ok(Localized {
        text: out,
        changes,
        topology,
    })
}

/// The document and the edits made so far.
struct Edit<'a> {
    doc: &'a mut DocumentMut,
    changes: Vec<Change>,
}

impl Edit<'_> {
    /// Sets `path` to `to`, keeping the comments around the old value.
    fn set(&mut self, path: &[&str], from: &str, to: Value, why: &'static str) {
        let mut item: &mut Item = self.doc.as_item_mut();
        for key in path {
            item = &mut item[*key];
        }
        let shown = shown(&to);
        put(item, to);
        self.changes.push(Change {
            key: path.join("."),
            from: from.to_owned(),
            to: shown,
            why,
        });
    }

    fn image(&mut self, path: &[&str], from: &ImageRef, to: &ImageRef, why: &'static str) {
        if from != to {
            self.set(path, &from.to_string(), Value::from(to.to_string()), why);
        }
    }

    /// Points an app's `entrypoint` and `command` at the stand-in: the
    /// topology's own program (gunicorn, ...) is not in the stand-in image.
    fn service_program(&mut self, i: usize, s: &pf_model::model::AppService) {
        let entrypoint: Vec<String> = STANDIN_ENTRYPOINT.map(str::to_owned).to_vec();
        let command = vec![
            s.name.as_str().to_owned(),
            s.port.to_string(),
            s.route.to_string(),
            s.health_path.to_string(),
        ];
        for (key, from, to) in [
            ("entrypoint", &s.entrypoint, entrypoint),
            ("command", &s.command, command),
        ] {
            let item = service(self.doc, i);
            let array: toml_edit::Array = to.iter().map(String::as_str).collect();
            put(&mut item[key], Value::Array(array));
            self.changes.push(Change {
                key: format!("services[{i}].{key}"),
                from: format!("{from:?}"),
                to: format!("{to:?}"),
                why: WHY_PROGRAM,
            });
        }
    }

    fn service_image(&mut self, i: usize, from: &ImageRef, to: &ImageRef) {
        if from == to {
            return;
        }
        let item = service(self.doc, i);
        put(&mut item["image"], Value::from(to.to_string()));
        self.changes.push(Change {
            key: format!("services[{i}].image"),
            from: from.to_string(),
            to: to.to_string(),
            why: WHY_APP,
        });
    }

    fn capacity(&mut self, spec: &pf_model::TopologyFile, machine: &Machine) {
        let c = &spec.capacity;
        if c.nodes != machine.nodes {
            self.set(
                &["capacity", "nodes"],
                &c.nodes.to_string(),
                Value::from(i64::from(machine.nodes)),
                WHY_CAPACITY,
            );
        }
        if c.cpus_per_node.millis() != machine.cpu_millis_per_node {
            self.set(
                &["capacity", "cpus-per-node"],
                &c.cpus_per_node.to_string(),
                cpus(machine.cpu_millis_per_node),
                WHY_CAPACITY,
            );
        }
        if c.memory_per_node.bytes() != machine.memory_per_node {
            self.set(
                &["capacity", "memory-per-node"],
                &c.memory_per_node.to_string(),
                mib(machine.memory_per_node),
                WHY_CAPACITY,
            );
        }
    }

    fn reservations(&mut self, spec: &pf_model::TopologyFile, machine: &Machine) {
        let groups = groups(spec);
        let total_cpu: u64 = groups
            .iter()
            .map(|g| g.count * g.resources.reservations.cpus.millis())
            .sum();
        let total_mem: u64 = groups
            .iter()
            .map(|g| g.count * g.resources.reservations.memory.bytes())
            .sum();
        let cpu_factor = factor(machine.cpu_budget(), total_cpu);
        let mem_factor = factor(machine.memory_budget(), total_mem);
        for g in groups {
            let r = &g.resources.reservations;
            let l = &g.resources.limits;
            let key = g.key.clone();
            let path: Vec<&str> = key.iter().map(String::as_str).collect();
            let cpu = ((r.cpus.millis() as f64 * cpu_factor) as u64).max(1);
            if cpu != r.cpus.millis() {
                self.set_at(
                    &path,
                    &["reservations", "cpus"],
                    &r.cpus.to_string(),
                    cpus(cpu),
                    WHY_RESERVATION,
                );
            }
            let mem = scaled_mib(r.memory.bytes(), mem_factor);
            if mem != r.memory.bytes() {
                self.set_at(
                    &path,
                    &["reservations", "memory"],
                    &r.memory.to_string(),
                    mib(mem),
                    WHY_RESERVATION,
                );
            }
            if l.cpus.millis() > machine.cpu_millis_per_node {
                self.set_at(
                    &path,
                    &["limits", "cpus"],
                    &l.cpus.to_string(),
                    cpus(machine.cpu_millis_per_node),
                    WHY_CPU_LIMIT,
                );
            }
            if l.memory.bytes() > machine.memory_per_node {
                self.set_at(
                    &path,
                    &["limits", "memory"],
                    &l.memory.to_string(),
                    mib(machine.memory_per_node),
                    WHY_MEMORY_LIMIT,
                );
            }
        }
    }

    /// Sets `rest` under the resources table at `base` (`["services", "0", "resources"]`).
    fn set_at(&mut self, base: &[&str], rest: &[&str], from: &str, to: Value, why: &'static str) {
        let item = match base {
            ["services", i, tail @ ..] => {
                let i: usize = i.parse().unwrap_or_default();
                let mut item = service(self.doc, i);
                for key in tail {
                    item = &mut item[*key];
                }
                item
            }
            _ => {
                let mut item: &mut Item = self.doc.as_item_mut();
                for key in base {
                    item = &mut item[*key];
                }
                item
            }
        };
        let mut item = item;
        for key in rest {
            item = &mut item[*key];
        }
        let shown = shown(&to);
        put(item, to);
        let key = match base {
            ["services", i, tail @ ..] => format!("services[{i}].{}", tail.join(".")),
            _ => base.join("."),
        };
        self.changes.push(Change {
            key: format!("{key}.{}", rest.join(".")),
            from: from.to_owned(),
            to: shown,
            why,
        });
    }
}

/// The `i`-th `[[services]]` entry, whether written as an array of tables or inline.
fn service(doc: &mut DocumentMut, i: usize) -> &mut Item {
    &mut doc["services"][i]
}

/// A value as a change line shows it: strings without quotes.
fn shown(v: &Value) -> String {
    v.as_str()
        .map_or_else(|| v.to_string().trim().to_owned(), str::to_owned)
}

/// Replaces a value, keeping the comments written before and after it.
fn put(item: &mut Item, mut to: Value) {
    if let Some(old) = item.as_value() {
        let decor = old.decor().clone();
        *to.decor_mut() = decor;
    }
    *item = Item::Value(to);
}

/// A CPU amount as the topology writes it: `2` or `0.125`.
fn cpus(millis: u64) -> Value {
    if millis.is_multiple_of(1000) {
        Value::from((millis / 1000) as i64)
    } else {
        Value::from(millis as f64 / 1000.0)
    }
}

/// Memory in whole MiB (`"512M"`).
fn mib(bytes: u64) -> Value {
    Value::from(format!("{}M", bytes / (1024 * 1024)))
}

/// `budget / total`, at most 1 (never scale up).
fn factor(budget: u64, total: u64) -> f64 {
    if total <= budget || total == 0 {
        1.0
    } else {
        budget as f64 / total as f64
    }
}

/// `bytes * factor`, rounded down to whole MiB, at least 4 MiB; unchanged at factor 1.
fn scaled_mib(bytes: u64, factor: f64) -> u64 {
    if factor >= 1.0 {
        return bytes;
    }
    let mib = ((bytes as f64 * factor) as u64) / (1024 * 1024);
    mib.max(4) * 1024 * 1024
}

/// A group of identical instances, the key of its resources and how many there are.
struct Group<'a> {
    key: Vec<String>,
    count: u64,
    resources: &'a Resources,
}

fn groups(spec: &pf_model::TopologyFile) -> Vec<Group<'_>> {
    let fixed = |key: &[&str], count: u32, resources| Group {
        key: key.iter().map(|k| (*k).to_owned()).collect(),
        count: u64::from(count),
        resources,
    };
    let mut g: Vec<Group<'_>> = spec
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| Group {
            key: vec!["services".into(), i.to_string(), "resources".into()],
            count: u64::from(s.replicas),
            resources: &s.resources,
        })
        .collect();
    g.push(fixed(
        &["load-balancer", "resources"],
        spec.load_balancer.instances,
        &spec.load_balancer.resources,
    ));
    g.push(fixed(
        &["postgres", "resources"],
        spec.postgres.replicas + 1,
        &spec.postgres.resources,
    ));
    g.push(fixed(
        &["redis", "resources"],
        spec.redis.replicas + 1,
        &spec.redis.resources,
    ));
    g.push(fixed(
        &["redis", "sentinel", "resources"],
        spec.redis.sentinel.count,
        &spec.redis.sentinel.resources,
    ));
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_never_scales_up() {
        assert_eq!(factor(100, 50), 1.0);
        assert_eq!(factor(100, 400), 0.25);
        assert_eq!(factor(100, 0), 1.0);
    }

    #[test]
    fn memory_is_scaled_to_whole_mib_with_a_floor() {
        let gib = 1024 * 1024 * 1024;
        assert_eq!(scaled_mib(gib, 1.0), gib);
        assert_eq!(scaled_mib(gib, 0.25), 256 * 1024 * 1024);
        assert_eq!(scaled_mib(gib, 0.000_001), 4 * 1024 * 1024);
    }

    #[test]
    fn cpus_are_written_like_the_topology_writes_them() {
        assert_eq!(cpus(2000).to_string().trim(), "2");
        assert_eq!(cpus(125).to_string().trim(), "0.125");
        assert_eq!(cpus(62).to_string().trim(), "0.062");
    }
}
