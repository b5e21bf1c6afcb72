//! The parts of a Swarm service spec that `pf-render plan` compares beyond
//! image, replicas, configs and secrets: environment, entrypoint and
//! command, resources, placement and update order, read from `docker
//! service inspect` and from the stack file in the units Swarm stores
//! (nano-CPUs, bytes), so the two sides compare as numbers.

use serde::Deserialize;
use serde_json::Value;

/// Compared fields of one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SpecFields {
    /// `K=V`, sorted.
    pub(crate) env: Vec<String>,
    /// `ContainerSpec.Command` (the stack file's `entrypoint`).
    pub(crate) entrypoint: Vec<String>,
    /// `ContainerSpec.Args` (the stack file's `command`).
    pub(crate) command: Vec<String>,
    /// Limits.
    pub(crate) limits: Res,
    /// Reservations.
    pub(crate) reservations: Res,
    /// Placement constraints, sorted.
    pub(crate) constraints: Vec<String>,
    /// `max_replicas_per_node`; 0 when unbounded.
    pub(crate) max_replicas: u64,
    /// `start-first` or `stop-first` (Swarm's default when unset).
    pub(crate) update_order: String,
}

/// CPU, memory and PIDs in Swarm's units; 0 when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Res {
    #[serde(rename = "NanoCPUs", default)]
    pub(crate) nano_cpus: i64,
    #[serde(default)]
    pub(crate) memory_bytes: i64,
    #[serde(default)]
    pub(crate) pids: i64,
}

/// What `docker service inspect` holds of them (the fields are read next
/// to the ones `inspect.rs` reads).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawResources {
    #[serde(default)]
    limits: Option<Res>,
    #[serde(default)]
    reservations: Option<Res>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawPlacement {
    #[serde(default)]
    constraints: Option<Vec<String>>,
    #[serde(default)]
    max_replicas: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawUpdate {
    #[serde(default)]
    order: String,
}

/// Swarm's update order when none is given.
const DEFAULT_ORDER: &str = "stop-first";

/// Builds the fields from the parts of `docker service inspect`.
pub(crate) fn from_inspect(
    env: Option<Vec<String>>,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    resources: Option<RawResources>,
    placement: Option<RawPlacement>,
    update: Option<RawUpdate>,
) -> SpecFields {
    let mut env = env.unwrap_or_default();
    env.sort();
    let resources = resources.unwrap_or_default();
    let placement = placement.unwrap_or_default();
    let mut constraints = placement.constraints.unwrap_or_default();
    constraints.sort();
    let order = update.map(|u| u.order).unwrap_or_default();
    SpecFields {
        env,
        entrypoint: command.unwrap_or_default(),
        command: args.unwrap_or_default(),
        limits: resources.limits.unwrap_or_default(),
        reservations: resources.reservations.unwrap_or_default(),
        constraints,
        max_replicas: placement.max_replicas,
        update_order: if order.is_empty() {
            DEFAULT_ORDER.to_owned()
        } else {
            order
        },
    }
}

/// Reads the fields of one service of the stack file.
pub(crate) fn from_stack(svc: &Value) -> Result<SpecFields, String> {
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(s) => s.iter().map(scalar).collect(),
            Value::Null => Vec::new(),
            other => vec![scalar(other)],
        }
    };
    let mut env: Vec<String> = svc["environment"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    env.sort();
    let deploy = &svc["deploy"];
    let res = |v: &Value| -> Result<Res, String> {
        Ok(Res {
            nano_cpus: match &v["cpus"] {
                Value::Null => 0,
                c => nano_cpus(&scalar(c))?,
            },
            memory_bytes: match &v["memory"] {
                Value::Null => 0,
                m => ram_in_bytes(&scalar(m))?,
            },
            pids: v["pids"].as_i64().unwrap_or(0),
        })
    };
    let mut constraints = strings(&deploy["placement"]["constraints"]);
    constraints.sort();
    let order = deploy["update_config"]["order"]
        .as_str()
        .unwrap_or(DEFAULT_ORDER);
    Ok(SpecFields {
        env,
        entrypoint: strings(&svc["entrypoint"]),
        command: strings(&svc["command"]),
        limits: res(&deploy["resources"]["limits"])?,
        reservations: res(&deploy["resources"]["reservations"])?,
        constraints,
        max_replicas: deploy["placement"]["max_replicas_per_node"]
            .as_u64()
            .unwrap_or(0),
        update_order: order.to_owned(),
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `"1.5"` to 1,500,000,000 (the docker CLI's `ParseCPUs`).
pub(crate) fn nano_cpus(text: &str) -> Result<i64, String> {
    let bad = || format!("cpus {text:?} is not a decimal number");
    let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if frac.len() > 9 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let frac: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    int.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(frac))
        .ok_or_else(bad)
}

/// `"1536M"` to bytes with binary multiples (go-units `RAMInBytes`, which
/// the docker CLI uses for a stack file's memory).
pub(crate) fn ram_in_bytes(text: &str) -> Result<i64, String> {
    let bad = || format!("memory {text:?} is not a size");
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad()),
    };
    let bytes = number * 1024f64.powi(power);
    if !bytes.is_finite() || !(0.0..=9.0e18).contains(&bytes) {
        return Err(bad());
    }
    // Truncated like go-units' int64 conversion.
    #[allow(clippy::cast_possible_truncation)]
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_swarms() {
        assert_eq!(nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(nano_cpus("0.25"), Ok(250_000_000));
        assert_eq!(nano_cpus("2"), Ok(2_000_000_000));
        assert!(nano_cpus("1,5").is_err());
        assert_eq!(ram_in_bytes("1536M"), Ok(1_610_612_736));
        assert_eq!(ram_in_bytes("512M"), Ok(536_870_912));
        assert_eq!(ram_in_bytes("1G"), Ok(1_073_741_824));
        assert_eq!(ram_in_bytes("64k"), Ok(65_536));
        assert!(ram_in_bytes("lots").is_err());
    }

    #[test]
    fn the_stack_file_and_inspect_agree() {
        let svc: Value = serde_json::json!({
            "environment": {"B": "2", "A": "x"},
            "entrypoint": ["/e.sh"],
            "command": ["run", "-c"],
            "deploy": {
                "placement": {"constraints": ["node.labels.s.x == true"], "max_replicas_per_node": 2},
                "resources": {"limits": {"cpus": "1.5", "memory": "1536M", "pids": 1024},
                              "reservations": {"cpus": "0.75", "memory": "768M"}},
                "update_config": {"order": "start-first"}
            }
        });
        let from_yaml = from_stack(&svc).expect("reads");
        let raw: serde_json::Value = serde_json::json!({
            "Resources": {"Limits": {"NanoCPUs": 1_500_000_000_i64, "MemoryBytes": 1_610_612_736_i64, "Pids": 1024},
                          "Reservations": {"NanoCPUs": 750_000_000, "MemoryBytes": 805_306_368}},
            "Placement": {"Constraints": ["node.labels.s.x == true"], "MaxReplicas": 2},
        });
        let from_docker = from_inspect(
            Some(vec!["B=2".into(), "A=x".into()]),
            Some(vec!["/e.sh".into()]),
            Some(vec!["run".into(), "-c".into()]),
            serde_json::from_value(raw["Resources"].clone()).ok(),
            serde_json::from_value(raw["Placement"].clone()).ok(),
            Some(RawUpdate {
                order: "start-first".into(),
            }),
        );
        assert_eq!(from_yaml, from_docker);
        assert_eq!(from_yaml.env, ["A=x", "B=2"]);
    }
}
