//! `pf-render plan FILE` against a stand-in `docker` on PATH that answers
//! like a Swarm manager running the prod stack (canned `docker service
//! inspect` built from the rendered stack file in Swarm's own units), so
//! every classification and verdict is shown on a known deployed state. It
//! also proves the command only reads: every docker call is logged and
//! checked. The real proof (plan, redeploy, compare task ids) is the
//! container tier's `plan-check` step (docs/containers.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value as Json, json};
use serde_yaml_ng::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const PROD: &str = "topologies/prod.toml";

fn prod_text() -> String {
    std::fs::read_to_string(Path::new(ROOT).join(PROD)).expect("prod")
}

/// Swarm's NanoCPUs of a stack file's `cpus`.
fn nanos(v: &Value) -> i64 {
    let s = v.as_str().expect("cpus is a quoted string");
    (s.parse::<f64>().expect("cpus") * 1e9).round() as i64
}

/// Swarm's MemoryBytes of a stack file's `memory` (binary units).
fn bytes(v: &Value) -> i64 {
    let s = v.as_str().expect("memory");
    let (n, unit) = s.split_at(s.len() - 1);
    let mult: i64 = match unit {
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        other => panic!("unit {other}"),
    };
    n.parse::<i64>().expect("whole number") * mult
}

/// `docker service inspect` of the stack deployed from `topology_text`,
/// as Swarm prints it.
fn deployed(topology_text: &str) -> Vec<Json> {
    let topology = pf_model::from_str(topology_text, PROD)
        .expect("loads")
        .validate()
        .topology
        .expect("valid");
    let bundle = pf_render::render(&topology, pf_render::Target::Swarm).expect("renders");
    let stack: Value =
        serde_yaml_ng::from_str(&bundle.get("docker-stack.yml").expect("stack").contents)
            .expect("yaml");
    let mut items = Vec::new();
    for (key, svc) in stack["services"].as_mapping().expect("services") {
        let key = key.as_str().expect("key");
        let image = svc["image"].as_str().expect("image");
        let configs: Vec<Json> = svc["configs"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| {
                let source = c["source"].as_str().expect("source");
                json!({"File": {"Name": c["target"].as_str()},
                       "ConfigName": stack["configs"][source]["name"].as_str()})
            })
            .collect();
        let secrets: Vec<Json> = svc["secrets"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|s| {
                let k = s.as_str().or_else(|| s["source"].as_str()).expect("secret");
                json!({"SecretName": stack["secrets"][k]["name"].as_str()})
            })
            .collect();
        let env: Vec<String> = svc["environment"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}={}", k.as_str().expect("k"), v.as_str().expect("v")))
            .collect();
        let list = |v: &Value| -> Option<Vec<String>> {
            v.as_sequence().map(|s| {
                s.iter()
                    .map(|x| x.as_str().expect("str").to_owned())
                    .collect()
            })
        };
        let d = &svc["deploy"];
        let res = |r: &Value| {
            let mut m = serde_json::Map::new();
            if !r["cpus"].is_null() {
                m.insert("NanoCPUs".into(), json!(nanos(&r["cpus"])));
            }
            if !r["memory"].is_null() {
                m.insert("MemoryBytes".into(), json!(bytes(&r["memory"])));
            }
            if let Some(p) = r["pids"].as_i64() {
                m.insert("Pids".into(), json!(p));
            }
            Json::Object(m)
        };
        let mut placement = json!({"Platforms": [{"Architecture": "amd64", "OS": "linux"}]});
        if let Some(c) = list(&d["placement"]["constraints"]) {
            placement["Constraints"] = json!(c);
        }
        if let Some(m) = d["placement"]["max_replicas_per_node"].as_u64() {
            placement["MaxReplicas"] = json!(m);
        }
        items.push(json!({"ID": format!("id-{key}"), "Version": {"Index": 10}, "Spec": {
            "Name": format!("promptforge_{key}"),
            "Labels": {"com.docker.stack.image": image, "com.docker.stack.namespace": "promptforge"},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": format!("{image}@sha256:0"),
                    "Env": env,
                    "Command": list(&svc["entrypoint"]),
                    "Args": list(&svc["command"]),
                    "Configs": configs, "Secrets": secrets,
                    "Labels": {"com.docker.stack.namespace": "promptforge"}
                },
                "Resources": {"Limits": res(&d["resources"]["limits"]),
                              "Reservations": res(&d["resources"]["reservations"])},
                "Placement": placement,
                "ForceUpdate": 0
            },
            "Mode": {"Replicated": {"Replicas": d["replicas"].as_u64().unwrap_or(1)}},
            "UpdateConfig": {"Parallelism": 1, "Order": d["update_config"]["order"].as_str()},
            "EndpointSpec": {"Mode": "dnsrr"}
        }}));
    }
    items
}

/// The external secrets the stack file names (what --create-secrets made).
fn secret_names(text: &str) -> Vec<String> {
    let topology = pf_model::from_str(text, PROD)
        .expect("loads")
        .validate()
        .topology
        .expect("valid");
    let bundle = pf_render::render(&topology, pf_render::Target::Swarm).expect("renders");
    let stack: Value =
        serde_yaml_ng::from_str(&bundle.get("docker-stack.yml").expect("stack").contents)
            .expect("yaml");
    stack["secrets"]
        .as_mapping()
        .expect("secrets")
        .values()
        .map(|v| v["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Node labels setup-swarm.sh --label-nodes sets for prod, on 3 nodes.
fn nodes() -> Json {
    let label = |names: &[&str]| -> Json {
        let m: serde_json::Map<String, Json> = names
            .iter()
            .map(|n| (format!("promptforge.{n}"), json!("true")))
            .collect();
        json!({"Labels": m, "Role": "manager", "Availability": "active"})
    };
    json!([
        {"ID": "n1", "Spec": label(&["postgres-1", "redis-replica", "redis-sentinel-3", "edge"])},
        {"ID": "n2", "Spec": label(&["postgres-2", "redis-sentinel-1", "edge"])},
        {"ID": "n3", "Spec": label(&["redis-master", "redis-sentinel-2"])}
    ])
}

/// A stand-in docker answering from these files; logs every call.
struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(name: &str, services: &[Json], secrets: &[String], nodes: &Json) -> Self {
        let dir = std::env::temp_dir().join(format!("pf-plan-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let names: Vec<&str> = services
            .iter()
            .map(|s| s["Spec"]["Name"].as_str().expect("name"))
            .collect();
        let w = |f: &str, t: String| std::fs::write(dir.join(f), t).expect("write");
        w("services.txt", names.join("\n") + "\n");
        w(
            "inspect.json",
            serde_json::to_string(services).expect("json"),
        );
        w("secrets.txt", secrets.join("\n") + "\n");
        w("nodes.json", nodes.to_string());
        let script = format!(
            r#"#!/bin/sh
echo "$*" >> '{d}/calls.log'
case "$1 $2" in
"service ls") cat '{d}/services.txt' ;;
"service inspect") cat '{d}/inspect.json' ;;
"secret ls") cat '{d}/secrets.txt' ;;
"config ls") echo promptforge_unrelated_config ;;
"node ls") echo n1; echo n2; echo n3 ;;
"node inspect") cat '{d}/nodes.json' ;;
*) echo "fake docker: $* is not expected here" >&2; exit 1 ;;
esac
"#,
            d = dir.display()
        );
        let program = dir.join("docker");
        std::fs::write(&program, script).expect("write");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self { dir }
    }

    /// Runs `pf-render plan topologies/prod.toml ARGS` with `topology` as
    /// the file (under the same name, so every generated header matches).
    fn plan(&self, topology: &str, args: &[&str]) -> Output {
        let work = self.dir.join("work");
        std::fs::create_dir_all(work.join("topologies")).expect("dir");
        std::fs::write(work.join(PROD), topology).expect("write");
        let path = format!(
            "{}:{}",
            self.dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(env!("CARGO_BIN_EXE_pf-render"))
            .args(["plan", PROD, "--color", "never"])
            .args(args)
            .current_dir(&work)
            .env("PATH", path)
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .output()
            .expect("runs")
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.join("calls.log")).unwrap_or_default()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The JSON report: service name to (change, reasons), and verdict codes.
fn report(o: &Output) -> (Vec<(String, String, String)>, Vec<String>) {
    let v: Json = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let services = v["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["service"].as_str().expect("s").to_owned(),
                s["change"].as_str().expect("c").to_owned(),
                s["reasons"]
                    .as_array()
                    .expect("r")
                    .iter()
                    .map(|r| r.as_str().expect("r"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
        .collect();
    let codes = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect();
    (services, codes)
}

fn changed(services: &[(String, String, String)]) -> Vec<String> {
    services
        .iter()
        .filter(|(_, c, _)| c != "unchanged")
        .map(|(s, c, _)| format!("{s} {c}"))
        .collect()
}

fn assert_read_only(fake: &Fake) {
    let calls = fake.calls();
    assert!(!calls.is_empty());
    for line in calls.lines() {
        let verb: Vec<&str> = line.split_whitespace().take(2).collect();
        assert!(
            matches!(
                verb.as_slice(),
                ["service", "ls" | "inspect"]
                    | ["secret" | "config", "ls"]
                    | ["node", "ls" | "inspect"]
            ),
            "plan ran a docker command that is not a read: {line}"
        );
    }
}

fn setup(name: &str, deployed_from: &str) -> Fake {
    Fake::new(
        name,
        &deployed(deployed_from),
        &secret_names(deployed_from),
        &nodes(),
    )
}

#[test]
fn the_stack_deployed_from_this_topology_is_unchanged() {
    let fake = setup("same", &prod_text());
    let o = fake.plan(&prod_text(), &["--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (services, codes) = report(&o);
    assert_eq!(services.len(), 17, "{services:?}");
    assert_eq!(changed(&services), Vec::<String>::new());
    assert!(codes.is_empty(), "{codes:?}");
    // The order is the deploy's: step 1 first, the stateful members by step.
    assert_eq!(services[0].0, "promptforge_alertmanager");
    let human = fake.plan(&prod_text(), &[]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("deploy of stack promptforge on the default docker engine"),
        "{text}"
    );
    assert!(
        text.contains("0 restarted, 0 updated in place, 0 created"),
        "{text}"
    );
    // --deny change: no change, still 0.
    assert_eq!(
        fake.plan(&prod_text(), &["--deny", "change"]).status.code(),
        Some(0)
    );
    assert_read_only(&fake);
}

#[test]
fn a_new_backend_image_restarts_the_backend_only() {
    let fake = setup("image", &prod_text());
    let new = prod_text().replace("promptforge-backend:1.0.0", "promptforge-backend:1.0.1");
    let o = fake.plan(&new, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let (services, codes) = report(&o);
    assert_eq!(changed(&services), ["promptforge_backend restarted"]);
    let backend = services
        .iter()
        .find(|s| s.0 == "promptforge_backend")
        .expect("b");
    assert!(
        backend
            .2
            .starts_with("image localhost:5000/promptforge-backend:1.0.0 -> "),
        "{backend:?}"
    );
    assert!(codes.is_empty(), "{codes:?}");
    // --deny change turns any change into exit 1.
    assert_eq!(
        fake.plan(&new, &["--deny", "change"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_sentinel_setting_restarts_every_sentinel_and_says_so() {
    let fake = setup("sentinel", &prod_text());
    let new = prod_text().replace("down-after = \"5s\"", "down-after = \"4s\"");
    let o = fake.plan(&new, &["--format", "json"]);
    let (services, codes) = report(&o);
    let c = changed(&services);
    for k in 1..=3 {
        assert!(
            c.contains(&format!("promptforge_redis-sentinel-{k} restarted")),
            "{c:?}"
        );
    }
    assert!(
        services
            .iter()
            .filter(|s| s.0.contains("sentinel-"))
            .all(|s| s.2.starts_with("config content hash")),
        "{services:?}"
    );
    assert!(
        codes.contains(&"plan-group-restarts".to_owned()),
        "{codes:?}"
    );
    // A warning: exit 0 unless --deny warning.
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        fake.plan(&new, &["--deny", "warning"]).status.code(),
        Some(1)
    );
}

#[test]
fn postgres_resources_restart_both_members() {
    let fake = setup("pg", &prod_text());
    let new = prod_text().replace(
        "resources = { limits = { cpus = 2, memory = \"2G\" }, reservations = { cpus = 1, memory = \"1G\" } }",
        "resources = { limits = { cpus = 2, memory = \"3G\" }, reservations = { cpus = 1, memory = \"1G\" } }",
    );
    assert_ne!(new, prod_text());
    let (services, codes) = report(&fake.plan(&new, &["--format", "json"]));
    let c = changed(&services);
    assert!(
        c.contains(&"promptforge_postgres-1 restarted".to_owned()),
        "{c:?}"
    );
    assert!(
        c.contains(&"promptforge_postgres-2 restarted".to_owned()),
        "{c:?}"
    );
    let primary = services
        .iter()
        .find(|s| s.0 == "promptforge_postgres-1")
        .expect("p");
    assert!(
        primary
            .2
            .contains("resources: limits 2 CPU / 2048 MiB -> 2 CPU / 3072 MiB"),
        "{primary:?}"
    );
    assert!(
        codes.contains(&"plan-group-restarts".to_owned()),
        "{codes:?}"
    );
}

#[test]
fn a_redis_image_restarts_the_master_and_warns_of_a_failover() {
    let fake = setup("redis", &prod_text());
    let new = prod_text().replace("redis:7.4.1", "redis:7.4.2");
    let (services, codes) = report(&fake.plan(&new, &["--format", "json"]));
    assert!(changed(&services).contains(&"promptforge_redis-master restarted".to_owned()));
    assert!(
        codes.contains(&"plan-redis-master-restarts".to_owned()),
        "{codes:?}"
    );
}

#[test]
fn a_service_removed_from_the_topology_is_not_managed_or_pruned() {
    let mut services = deployed(&prod_text());
    let mut debug = services[1].clone();
    debug["Spec"]["Name"] = json!("promptforge_debug");
    services.push(debug);
    let fake = Fake::new("removed", &services, &secret_names(&prod_text()), &nodes());
    let (s, codes) = report(&fake.plan(&prod_text(), &["--format", "json"]));
    assert_eq!(changed(&s), ["promptforge_debug not-managed"]);
    assert_eq!(codes, ["plan-not-managed"]);
    let (s, codes) = report(&fake.plan(&prod_text(), &["--format", "json", "--prune"]));
    assert_eq!(changed(&s), ["promptforge_debug removed"]);
    assert!(codes.is_empty());
}

#[test]
fn a_missing_secret_and_a_missing_label_are_errors() {
    let mut secrets = secret_names(&prod_text());
    secrets.retain(|s| s != "promptforge_redis_password");
    let fake = Fake::new(
        "missing",
        &deployed(&prod_text()),
        &secrets,
        &json!([{"ID": "n1", "Spec": {}}]),
    );
    let o = fake.plan(&prod_text(), &[]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "error[plan-secret-missing]: secret promptforge_redis_password does not exist"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "error[plan-node-label-missing]: no node carries promptforge.postgres-1=true"
        ),
        "{text}"
    );
    assert!(!text.contains("error[plan-node-label-missing]: no node carries promptforge.edge=true; promptforge_nginx, promptforge_nginx"), "{text}");
}

#[test]
fn scaling_a_tier_to_one_task_is_in_place_with_a_warning() {
    let fake = setup("scale", &prod_text());
    let new = prod_text().replacen("replicas = 2\nport = 80", "replicas = 1\nport = 80", 1);
    let (services, codes) = report(&fake.plan(&new, &["--format", "json"]));
    let f = services
        .iter()
        .find(|s| s.0 == "promptforge_frontend")
        .expect("f");
    assert_eq!(f.1, "updated-in-place", "{f:?}");
    assert!(f.2.contains("replicas 2 -> 1"), "{f:?}");
    assert!(
        codes.contains(&"plan-scale-below-ha".to_owned()),
        "{codes:?}"
    );
}

#[test]
fn nothing_deployed_means_every_service_is_created() {
    let fake = Fake::new("empty", &[], &secret_names(&prod_text()), &nodes());
    let (services, _) = report(&fake.plan(&prod_text(), &["--format", "json"]));
    assert!(services.iter().all(|s| s.1 == "created"), "{services:?}");
}

#[test]
fn a_docker_error_is_exit_2() {
    let fake = setup("err", &prod_text());
    std::fs::write(fake.dir.join("inspect.json"), "Error: not a swarm manager").expect("write");
    let o = fake.plan(&prod_text(), &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_secret_rotation_restarts_exactly_its_readers_and_needs_the_new_version() {
    let old = prod_text();
    let new = format!("{old}\n[secret-versions]\nredis_password = 2\n");
    // Not created yet: an error, and the readers restart.
    let fake = setup("rotation", &old);
    let o = fake.plan(&new, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let (services, codes) = report(&o);
    assert!(
        codes.contains(&"plan-secret-missing".to_owned()),
        "{codes:?}"
    );
    let restarted: Vec<&str> = services
        .iter()
        .filter(|s| s.1 == "restarted")
        .map(|s| s.0.as_str())
        .collect();
    // Every service that mounts redis_password, and nothing else.
    let readers: Vec<String> = deployed(&old)
        .iter()
        .filter(|s| {
            s["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
                .as_array()
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x["SecretName"] == "promptforge_redis_password")
                })
        })
        .map(|s| s["Spec"]["Name"].as_str().expect("name").to_owned())
        .collect();
    let mut readers_sorted: Vec<&str> = readers.iter().map(String::as_str).collect();
    readers_sorted.sort_unstable();
    let mut restarted_sorted = restarted.clone();
    restarted_sorted.sort_unstable();
    assert_eq!(restarted_sorted, readers_sorted);
    assert!(readers.len() >= 5, "{readers:?}");
    let master = services
        .iter()
        .find(|s| s.0 == "promptforge_redis-master")
        .expect("m");
    assert!(
        master
            .2
            .contains("promptforge_redis_password -> promptforge_redis_password_v2")
            || master.2.contains("promptforge_redis_password_v2"),
        "{master:?}"
    );
    // Created (setup-swarm.sh --create-secrets): no error left.
    let mut secrets = secret_names(&old);
    secrets.push("promptforge_redis_password_v2".into());
    let fake = Fake::new("rotation-ready", &deployed(&old), &secrets, &nodes());
    let (_, codes) = report(&fake.plan(&new, &["--format", "json"]));
    assert!(
        !codes.contains(&"plan-secret-missing".to_owned()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"plan-redis-master-restarts".to_owned()),
        "{codes:?}"
    );
}
