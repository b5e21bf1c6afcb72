//! Property tests: random valid topologies (proptest, 256 per run) must
//! validate without an error, render for Swarm and Compose, render to the
//! same bytes twice, pass the lint catalog with no error (a valid topology
//! never renders a bundle our own catalog rejects), and give a stack that
//! `docker stack config` accepts and nginx configs that `nginx -t` accepts.
//! Environment values and secret descriptions are drawn from adversarial
//! text (shell, YAML, Compose, Markdown and dotenv syntax).
//!
//! The generator writes topology text (so the loader is exercised too) from
//! independent choices made consistent by construction: sentinel quorum is a
//! majority of an odd count, synchronous standbys never exceed replicas,
//! `ip-hash` only with host publishing, every listener has its own port,
//! service names are unique and cannot collide with generated instances,
//! reservations stay within limits and the whole stack fits the capacity.
//!
//! The cases come from proptest's random source, so every run tries new
//! ones; a failure message carries the topology text to reproduce it. The
//! external tools run on all 256 cases, two processes at a time, while the
//! next cases are generated (53-85 s in all on the shared 2-core machine;
//! docs/fuzzing.md has the measurements).

mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use pf_render::{Bundle, Target};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const CASES: u32 = 256;
const NGINX_CONF: &str = "nginx/load-balancer.conf";
const STACK: &str = "docker-stack.yml";

/// App service names: none is generated or reserved, none ends in a digit
/// (so `api` with 12 replicas, `api1`..`api12`, cannot meet another one).
const SERVICE_NAMES: &[&str] = &[
    "api", "web", "worker", "auth", "search", "billing", "media", "chat-svc",
];
const SERVER_NAMES: &[&str] = &["promptforge.example.com", "app.example.org", "ha.test"];
/// Durations as written, with their milliseconds.
const DURATIONS: &[(&str, u64)] = &[
    ("500ms", 500),
    ("1s", 1_000),
    ("2s", 2_000),
    ("5s", 5_000),
    ("10s", 10_000),
    ("30s", 30_000),
    ("1m", 60_000),
    ("1m30s", 90_000),
];
/// The load balancer's listeners: each list is disjoint from the others.
const HTTP_PORTS: &[u16] = &[80, 8000, 18080];
const HTTPS_PORTS: &[u16] = &[443, 8443, 18443];
const STATUS_PORTS: &[u16] = &[8080, 8081, 9145];
const MEMORY: &[&str] = &["64M", "128M", "256M", "512M", "1G"];
/// Pieces of environment values and descriptions that mean something to
/// one of the files they reach.
const HOSTILE: &[&str] = &[
    "$(touch /tmp/pf-x)",
    "`id`",
    "${HOME}",
    "$$",
    "'",
    "\"",
    "\\",
    "EOF",
    "-->",
    "<script>",
    "|",
    "#",
    ": ",
    "yes",
    "on",
    "1_000",
    "2001-12-14",
    "~",
    ".inf",
    "0o17",
    "<<",
    "[a](b)",
    "Grüße",
    "&",
    ";",
    "*",
    "{",
    "}",
    "%",
    "@",
    "postgres://u@h/db",
];
/// Line breaks and controls: allowed in environment values, escaped.
const CONTROLS: &[&str] = &["\n", "\t", "\r", "\u{1b}[2J", "\u{202e}", "\u{2028}"];

/// One app service, before it is written as TOML.
#[derive(Debug, Clone)]
struct Service {
    replicas: u32,
    port_offset: u16,
    workers: Option<u32>,
    connects: (bool, bool),
    secret: bool,
    env: bool,
    cpu_quarters: u32,
    memory: usize,
    update_order: Option<bool>,
    /// Pieces of an adversarial environment value (indexes into HOSTILE,
    /// then CONTROLS past its end).
    hostile_env: Vec<usize>,
}

fn service() -> impl Strategy<Value = Service> {
    (
        1u32..=4,
        0u16..50,
        proptest::option::of(1u32..=8),
        (any::<bool>(), any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        1u32..=8,
        0..MEMORY.len(),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(0..HOSTILE.len() + CONTROLS.len(), 0..5),
    )
        .prop_map(
            |(
                replicas,
                port_offset,
                workers,
                connects,
                secret,
                env,
                cpu_quarters,
                memory,
                update_order,
                hostile_env,
            )| Service {
                replicas,
                port_offset,
                workers,
                connects,
                secret,
                env,
                cpu_quarters,
                memory,
                update_order,
                hostile_env,
            },
        )
}

/// The text of hostile pieces, as a TOML string literal.
fn hostile_toml(pieces: &[usize], controls: bool) -> String {
    let text: String = pieces
        .iter()
        .filter_map(|&i| {
            HOSTILE
                .get(i)
                .or_else(|| controls.then(|| CONTROLS.get(i - HOSTILE.len())).flatten())
        })
        .copied()
        .collect();
    toml::Value::String(text).to_string()
}

/// Every choice of one topology.
#[derive(Debug, Clone)]
struct Choices {
    name: String,
    nodes: u32,
    encrypted: bool,
    parallelism: u32,
    delay: usize,
    failure_action: usize,
    order_start_first: bool,
    lb_instances: u32,
    /// 0 round-robin, 1 least-conn, 2 ip-hash.
    method: usize,
    publish_host: bool,
    ports: (usize, usize, usize),
    max_fails: u32,
    fail_timeout: usize,
    next_upstream: Vec<&'static str>,
    tries: u32,
    server_name: usize,
    tls: bool,
    services: Vec<(usize, Service)>,
    pg_replicas: u32,
    /// 0 off, 1 any N, 2 first N (N from `pg_sync`).
    pg_sync_mode: usize,
    pg_sync: u32,
    pg_read_endpoint: bool,
    pg_extra_senders: u32,
    redis_replicas: u32,
    min_replicas_to_write: u32,
    sentinel_half: u32,
    down_after: usize,
    failover_factor: u32,
    parallel_syncs: u32,
    sentinel_labels: bool,
    prometheus: bool,
    grafana: bool,
}

fn choices() -> impl Strategy<Value = Choices> {
    let stack = (
        "[a-z][a-z0-9]{0,9}",
        1u32..=6,
        any::<bool>(),
        1u32..=3,
        0..DURATIONS.len(),
        0usize..3,
        any::<bool>(),
    );
    let lb = (
        1u32..=3,
        0usize..3,
        any::<bool>(),
        (
            0..HTTP_PORTS.len(),
            0..HTTPS_PORTS.len(),
            0..STATUS_PORTS.len(),
        ),
        0u32..=5,
        0..DURATIONS.len(),
        proptest::sample::subsequence(
            vec![
                "error", "timeout", "http_500", "http_502", "http_503", "http_504",
            ],
            1..=6,
        ),
        0u32..=4,
        0..SERVER_NAMES.len(),
        any::<bool>(),
    );
    let services =
        proptest::sample::subsequence((0..SERVICE_NAMES.len()).collect::<Vec<_>>(), 1..=4)
            .prop_flat_map(|names| {
                let n = names.len();
                (Just(names), proptest::collection::vec(service(), n))
            })
            .prop_map(|(names, services)| names.into_iter().zip(services).collect::<Vec<_>>());
    let postgres = (0u32..=3, 0usize..3, 1u32..=3, any::<bool>(), 0u32..=3);
    let redis = (
        1u32..=3,
        0u32..=3,
        1u32..=3,
        0..5usize,
        2u32..=6,
        1u32..=3,
        any::<bool>(),
    );
    let monitoring = (any::<bool>(), any::<bool>());
    (stack, lb, services, postgres, redis, monitoring).prop_map(
        |(stack, lb, services, pg, redis, monitoring)| Choices {
            name: stack.0,
            nodes: stack.1,
            encrypted: stack.2,
            parallelism: stack.3,
            delay: stack.4,
            failure_action: stack.5,
            order_start_first: stack.6,
            lb_instances: lb.0,
            method: lb.1,
            publish_host: lb.2,
            ports: lb.3,
            max_fails: lb.4,
            fail_timeout: lb.5,
            next_upstream: lb.6,
            tries: lb.7,
            server_name: lb.8,
            tls: lb.9,
            services,
            pg_replicas: pg.0,
            pg_sync_mode: pg.1,
            pg_sync: pg.2,
            pg_read_endpoint: pg.3,
            pg_extra_senders: pg.4,
            redis_replicas: redis.0,
            min_replicas_to_write: redis.1,
            sentinel_half: redis.2,
            down_after: redis.3,
            failover_factor: redis.4,
            parallel_syncs: redis.5,
            sentinel_labels: redis.6,
            prometheus: monitoring.0,
            grafana: monitoring.1,
        },
    )
}

/// Writes the choices as a topology file, adjusting dependent values so
/// that the result is valid by construction.
fn to_toml(c: &Choices) -> String {
    let mut t = String::new();
    let mut secrets: BTreeSet<&str> = BTreeSet::from([
        "postgres_password",
        "postgres_replication_password",
        "redis_password",
    ]);
    let _ = writeln!(t, "name = \"{}\"\n", c.name);
    let _ = writeln!(
        t,
        "[network]\nsubnet = \"10.20.0.0/16\"\nencrypted = {}\n",
        c.encrypted
    );
    // Nodes big enough for any mix of the choices below.
    let _ = writeln!(
        t,
        "[capacity]\nnodes = {}\ncpus-per-node = 64\nmemory-per-node = \"256G\"\nheadroom = 0.2\n",
        c.nodes
    );
    let _ = writeln!(
        t,
        "[rollout]\nparallelism = {}\ndelay = \"{}\"\nfailure-action = \"{}\"\norder = \"{}\"\n",
        c.parallelism,
        DURATIONS[c.delay].0,
        ["rollback", "pause", "continue"][c.failure_action],
        if c.order_start_first {
            "start-first"
        } else {
            "stop-first"
        }
    );

    // ip-hash needs the client address: only with host publishing.
    let publish_host = c.publish_host || c.method == 2;
    let (http, https, status) = (
        HTTP_PORTS[c.ports.0],
        HTTPS_PORTS[c.ports.1],
        STATUS_PORTS[c.ports.2],
    );
    let _ = write!(
        t,
        "[load-balancer]\nimage = \"nginx:1.28.0\"\ninstances = {}\nmethod = \"{}\"\nmax-fails = {}\n\
         fail-timeout = \"{}\"\nnext-upstream = [{}]\nnext-upstream-tries = {}\npublish-mode = \"{}\"\n\
         http-port = {http}\nhttps-port = {https}\nserver-name = \"{}\"\n\
         resources = {{ limits = {{ cpus = 1, memory = \"512M\" }}, reservations = {{ cpus = 0.5, memory = \"256M\" }} }}\n\n",
        c.lb_instances,
        ["round-robin", "least-conn", "ip-hash"][c.method],
        c.max_fails,
        DURATIONS[c.fail_timeout].0,
        c.next_upstream
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        c.tries,
        if publish_host { "host" } else { "ingress" },
        SERVER_NAMES[c.server_name],
    );
    let _ = writeln!(
        t,
        "[load-balancer.status]\nport = {status}\nallow = [\"127.0.0.1/32\", \"10.20.0.0/16\"]\n"
    );
    if c.tls {
        secrets.extend(["tls_certificate", "tls_private_key"]);
        let _ = writeln!(
            t,
            "[load-balancer.tls]\ncertificate-secret = \"tls_certificate\"\nkey-secret = \"tls_private_key\"\n"
        );
    }

    for (i, (name, s)) in c.services.iter().enumerate() {
        let name = SERVICE_NAMES[*name];
        // The first service takes `/`, the others their own prefix.
        let route = if i == 0 {
            "/".to_owned()
        } else {
            format!("/{name}")
        };
        let health = if i == 0 {
            "/health".to_owned()
        } else {
            format!("/{name}/health")
        };
        let cpus = f64::from(s.cpu_quarters) * 0.25;
        let reserved = f64::from((s.cpu_quarters / 2).max(1)) * 0.25;
        let _ = write!(
            t,
            "[[services]]\nname = \"{name}\"\nimage = \"registry.example.org/{name}:1.{i}.0\"\nreplicas = {}\n\
             port = {}\nroute = \"{route}\"\nhealth-path = \"{health}\"\n",
            s.replicas,
            3000 + s.port_offset * 10 + i as u16,
        );
        if let Some(w) = s.workers {
            let _ = writeln!(t, "workers = {w}");
        }
        let connects: Vec<&str> = [("postgres", s.connects.0), ("redis", s.connects.1)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if !connects.is_empty() {
            let list: Vec<String> = connects.iter().map(|n| format!("\"{n}\"")).collect();
            let _ = writeln!(t, "connects-to = [{}]", list.join(", "));
        }
        if s.secret {
            secrets.insert("app_signing_key");
            let _ = writeln!(t, "secrets = [\"app_signing_key\"]");
        }
        if s.secret || !connects.is_empty() {
            // Both ways of passing secrets: the shim (which runs the
            // image's command) and the `*_FILE` variables alone.
            if i % 2 == 0 {
                let _ = writeln!(
                    t,
                    "command = [\"/usr/local/bin/{name}\", \"--port\", \"{}\"]",
                    3000 + i
                );
            } else {
                let _ = writeln!(t, "secrets-as = \"file\"");
            }
        }
        if s.env {
            let _ = writeln!(
                t,
                "environment = {{ LOG_LEVEL = \"info\", PUBLIC_URL = \"https://{}/{name}\", {} = {} }}",
                SERVER_NAMES[c.server_name],
                // Names near the secret-like ones, which must not be.
                [
                    "NOTE",
                    "KEYCLOAK_URL",
                    "PASSPORT_MODE",
                    "MONKEY_COUNT",
                    "DATABASE_URL"
                ][s.hostile_env.first().copied().unwrap_or(0) % 5],
                hostile_toml(&s.hostile_env, true)
            );
        }
        if let Some(start_first) = s.update_order {
            let _ = writeln!(
                t,
                "update-order = \"{}\"",
                if start_first {
                    "start-first"
                } else {
                    "stop-first"
                }
            );
        }
        let _ = writeln!(
            t,
            "resources = {{ limits = {{ cpus = {cpus}, memory = \"{}\" }}, reservations = {{ cpus = {}, memory = \"{}\" }} }}\n",
            MEMORY[s.memory],
            reserved,
            MEMORY[s.memory.saturating_sub(1)],
        );
    }

    // Synchronous standbys never exceed the replicas; none without replicas.
    let replicas = c.pg_replicas;
    let sync = match (c.pg_sync_mode, replicas) {
        (_, 0) | (0, _) => "off".to_owned(),
        (1, r) => format!("any {}", c.pg_sync.min(r)),
        (_, r) => format!("first {}", c.pg_sync.min(r)),
    };
    let _ = write!(
        t,
        "[postgres]\nimage = \"postgres:16.6\"\nreplicas = {replicas}\ndatabase = \"app_db\"\nowner = \"app\"\n\
         replication-role = \"replicator\"\npassword-secret = \"postgres_password\"\n\
         replication-password-secret = \"postgres_replication_password\"\nmax-wal-senders = {}\n\
         max-replication-slots = {}\nmax-slot-wal-keep-size = \"10G\"\nsynchronous = \"{sync}\"\n\
         resources = {{ limits = {{ cpus = 2, memory = \"2G\" }}, reservations = {{ cpus = 1, memory = \"1G\" }} }}\n\n",
        replicas + 2 + c.pg_extra_senders,
        replicas + c.pg_extra_senders,
    );
    if c.pg_read_endpoint && replicas > 0 {
        // Not one of the load balancer's other ports.
        let _ = writeln!(t, "[postgres.read-endpoint]\nport = 5433\n");
    }

    // An odd number of sentinels, quorum the majority; failover slower
    // than down detection; syncs and write quorum within the replicas.
    let count = 2 * c.sentinel_half + 1;
    let (down_after, down_ms) = DURATIONS[c.down_after];
    let failover_ms = down_ms * u64::from(c.failover_factor);
    let _ = write!(
        t,
        "[redis]\nimage = \"redis:7.4.1\"\nreplicas = {}\nmaster-name = \"mymaster\"\n\
         password-secret = \"redis_password\"\nmin-replicas-to-write = {}\n\
         resources = {{ limits = {{ cpus = 1, memory = \"512M\" }}, reservations = {{ cpus = 0.5, memory = \"256M\" }} }}\n\n",
        c.redis_replicas,
        c.min_replicas_to_write.min(c.redis_replicas - 1),
    );
    let _ = write!(
        t,
        "[redis.sentinel]\ncount = {count}\nquorum = {}\ndown-after = \"{down_after}\"\nparallel-syncs = {}\n\
         failover-timeout = \"{failover_ms}ms\"\nplacement = \"{}\"\n\
         resources = {{ limits = {{ cpus = 0.5, memory = \"256M\" }}, reservations = {{ cpus = 0.25, memory = \"128M\" }} }}\n\n",
        count / 2 + 1,
        c.parallel_syncs.min(c.redis_replicas),
        if c.sentinel_labels {
            "node-labels"
        } else {
            "anywhere"
        },
    );

    let grafana = c.prometheus && c.grafana;
    let _ = writeln!(
        t,
        "[monitoring]\nprometheus = {}\ngrafana = {grafana}",
        c.prometheus
    );
    if grafana {
        secrets.insert("grafana_admin_password");
        let _ = writeln!(
            t,
            "grafana-admin-password-secret = \"grafana_admin_password\""
        );
    }
    t.push_str("\n[secrets]\n");
    // Descriptions are one line (no controls), otherwise anything.
    let pieces: Vec<usize> = c
        .services
        .iter()
        .flat_map(|(_, s)| s.hostile_env.clone())
        .collect();
    for s in secrets {
        let _ = writeln!(t, "{s} = {}", hostile_toml(&pieces, false));
    }
    t
}

/// What the external tools check for one case.
struct Case {
    text: String,
    swarm: Bundle,
    compose: Bundle,
}

fn check_in_process(text: &str) -> Result<Case, TestCaseError> {
    let loaded = pf_model::from_str(text, "random.toml")
        .map_err(|e| TestCaseError::fail(format!("does not load: {e:?}\n{text}")))?;
    let checked = loaded.validate();
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_human())
        .collect();
    prop_assert!(errors.is_empty(), "errors:\n{}\n{text}", errors.join("\n"));
    let topology = checked.topology.expect("no error, so a topology");
    let mut bundles = Vec::new();
    for target in [Target::Swarm, Target::Compose] {
        let first = pf_render::render(&topology, target.clone())
            .map_err(|e| TestCaseError::fail(format!("{target}: {e}\n{text}")))?;
        let second = pf_render::render(&topology, target.clone()).expect("rendered once already");
        prop_assert!(first == second, "{target}: two renderings differ\n{text}");
        bundles.push(first);
    }
    for bundle in &bundles {
        let inputs: Vec<pf_lint::Input> = bundle
            .artifacts()
            .iter()
            .filter_map(|a| pf_lint::Input::new(a.path.clone(), a.contents.clone()))
            .collect();
        let report = pf_lint::lint(&inputs, &pf_lint::Options::default());
        let errors: Vec<&pf_lint::Diagnostic> =
            report.findings.iter().filter(|f| f.is_error()).collect();
        prop_assert!(
            errors.is_empty(),
            "{}: a valid topology renders a bundle the lint catalog rejects:\n{}\n{text}",
            bundle.target(),
            report.to_human()
        );
    }
    let compose = bundles.pop().expect("compose");
    let swarm = bundles.pop().expect("swarm");
    Ok(Case {
        text: text.to_owned(),
        swarm,
        compose,
    })
}

#[test]
fn random_valid_topologies_validate_render_deterministically_and_pass_the_tools() {
    let started = Instant::now();
    let docker = support::tool("docker");
    let nginx = support::tool("nginx");
    let tmp = temp_dir();
    let (cert, key) = self_signed(tmp.path());

    // Two proptest runners of half the cases each generate and check in
    // process, and hand every case to two workers that run the tools, so
    // that both cores stay busy.
    let (tx, rx) = mpsc::sync_channel::<Case>(8);
    let rx = Mutex::new(rx);
    let generated = AtomicUsize::new(0);
    let tool_checked = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let runners: Vec<_> = (0..2)
            .map(|_| {
                let tx = tx.clone();
                let generated = &generated;
                scope.spawn(move || {
                    let config = Config {
                        cases: CASES / 2,
                        failure_persistence: None,
                        ..Config::default()
                    };
                    TestRunner::new(config)
                        .run(&choices(), |c| {
                            let case = check_in_process(&to_toml(&c))?;
                            generated.fetch_add(1, Ordering::Relaxed);
                            // The workers only stop early if one panicked.
                            let _ = tx.send(case);
                            Ok(())
                        })
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        drop(tx);
        for _ in 0..2 {
            scope.spawn(|| {
                while let Ok(case) = rx.lock().expect("lock").recv() {
                    let i = tool_checked.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) =
                        check_with_tools(&case, i, tmp.path(), &docker, &nginx, &cert, &key)
                    {
                        failures.lock().expect("lock").push(e);
                    }
                }
            });
        }
        for runner in runners {
            if let Err(e) = runner.join().expect("the runner did not panic") {
                panic!("{e}");
            }
        }
    });
    let generated = generated.into_inner();
    let tool_checked = tool_checked.into_inner();
    assert!(generated >= CASES as usize, "only {generated} cases ran");
    assert_eq!(tool_checked, generated, "every case went through the tools");
    let failures = failures.into_inner().expect("lock");
    assert!(
        failures.is_empty(),
        "{} of {generated} cases failed the tools; the first:\n{}",
        failures.len(),
        failures[0]
    );
    // Keep CI's budget in view (measured: 53-85 s wall, 47 s CPU, on 2 shared cores).
    let took = started.elapsed();
    assert!(took.as_secs() < 300, "the property test took {took:?}");
}

fn check_with_tools(
    case: &Case,
    i: usize,
    tmp: &Path,
    docker: &Path,
    nginx: &Path,
    cert: &Path,
    key: &Path,
) -> Result<(), String> {
    let dir = tmp.join(format!("case-{i}"));
    let swarm_dir = dir.join("swarm");
    std::fs::create_dir_all(&swarm_dir).expect("mkdir");
    support::write_bundle(&case.swarm, &swarm_dir);
    let (ok, _, stderr) = support::run(
        Command::new(docker)
            .args(["stack", "config", "-c", STACK])
            .current_dir(&swarm_dir),
    );
    if !ok || stderr.contains("Ignoring") {
        return Err(format!(
            "docker stack config failed:\n{stderr}\n{}",
            case.text
        ));
    }
    for (target, bundle) in [("swarm", &case.swarm), ("compose", &case.compose)] {
        let conf = &bundle
            .get(NGINX_CONF)
            .expect("the bundle has nginx")
            .contents;
        let nginx_dir = dir.join(format!("nginx-{target}"));
        std::fs::create_dir_all(&nginx_dir).expect("mkdir");
        let (ok, said) = nginx_t(nginx, &nginx_dir, &test_copy(conf, &nginx_dir, cert, key));
        if !ok || !said.contains("test is successful") {
            return Err(format!(
                "nginx -t ({target}) failed:\n{said}\n{}",
                case.text
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

// The helpers below are those of tests/nginx.rs: the few rewrites that let
// `nginx -t` run outside the container (see `test_copy` there for why).

/// A temp dir the unprivileged nginx workers can enter.
fn temp_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A self-signed certificate and key in `dir`, made with the openssl CLI.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (ok, _, err) = support::run(
        Command::new(support::tool("openssl"))
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=promptforge.example.com", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    assert!(ok, "openssl req failed: {err}");
    (cert, key)
}

/// The rendered file with what exists only inside the container redirected
/// into `dir`: user, pid file, TLS files, temp paths, the stream module,
/// the njs module and the metrics handler (its source, without the header).
fn test_copy(conf: &str, dir: &Path, cert: &Path, key: &Path) -> String {
    let d = dir.display();
    let mut out = Vec::new();
    for line in conf.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let t = line.trim();
        if t == "user nginx;" {
            out.push("user nobody nogroup;".to_owned());
        } else if t == "pid /var/run/nginx.pid;" {
            out.push(format!("pid {d}/nginx.pid;"));
        } else if t.starts_with("ssl_certificate /run/secrets/") {
            out.push(format!("{indent}ssl_certificate {};", cert.display()));
        } else if t.starts_with("ssl_certificate_key /run/secrets/") {
            out.push(format!("{indent}ssl_certificate_key {};", key.display()));
        } else if t == "load_module modules/ngx_http_js_module.so;" {
            let module = support::root()
                .join(".tools/nginx-root/usr/lib/nginx/modules/ngx_http_js_module.so");
            out.push(format!("load_module {};", module.display()));
        } else if let Some(name) = t
            .strip_prefix("js_import ")
            .and_then(|rest| rest.strip_suffix(" from /etc/nginx/metrics.js;"))
        {
            let script = dir.join("metrics.js");
            std::fs::write(&script, include_str!("../src/emit/monitoring/metrics.js"))
                .expect("write metrics.js");
            out.push(format!(
                "{indent}js_import {name} from {};",
                script.display()
            ));
        } else {
            out.push(line.to_owned());
        }
        if line == "http {" {
            for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                out.push(format!("    {kind}_temp_path {d}/{kind}_temp;"));
            }
        }
    }
    let mut text = out.join("\n") + "\n";
    if conf.lines().any(|l| l == "stream {") {
        let module =
            support::root().join(".tools/nginx-root/usr/lib/nginx/modules/ngx_stream_module.so");
        assert!(
            module.is_file(),
            "{} is missing: run scripts/install-test-tools.sh",
            module.display()
        );
        text = format!("load_module {};\n{text}", module.display());
    }
    text
}

/// `nginx -t` on `text`, its `listen` ports moved to free loopback ports.
fn nginx_t(nginx: &Path, dir: &Path, text: &str) -> (bool, String) {
    let path = dir.join("nginx.conf");
    std::fs::write(&path, support::listen_on_loopback(text).0).expect("write config");
    let (ok, out, err) = support::run(
        Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(dir)
            .args(["-e", "stderr", "-c"])
            .arg(&path),
    );
    (ok, out + &err)
}
