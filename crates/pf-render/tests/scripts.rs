//! The ops scripts against the real `shellcheck` and `bash`: every shell
//! script of every bundle (all areas) is shellcheck-clean, the ops scripts
//! answer `--help`, and `setup-swarm.sh` drives a fake `docker` that logs
//! its arguments: the node labels and secrets of the topology are created,
//! secret contents never show up, and bad inputs stop it before it acts.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use pf_model::naming;
use pf_render::Target;

const OPS_SCRIPTS: [&str; 4] = [
    "scripts/setup-swarm.sh",
    "scripts/ha-setup.sh",
    "scripts/health-check.sh",
    "scripts/failover-test.sh",
];

fn shellcheck(files: &[PathBuf]) -> (bool, String) {
    let (ok, out, err) = support::run(
        Command::new(support::tool("shellcheck"))
            .arg("--norc")
            .arg("--external-sources")
            .args(files),
    );
    (ok, format!("{out}{err}"))
}

#[test]
fn every_shell_script_of_every_bundle_passes_shellcheck() {
    for (t, target, bundle) in support::all_bundles() {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        let scripts: Vec<PathBuf> = bundle
            .artifacts()
            .iter()
            .filter(|a| a.path.ends_with(".sh"))
            .inspect(|a| assert_eq!(a.mode, 0o755, "{t} ({target}): {} is executable", a.path))
            .map(|a| dir.path().join(&a.path))
            .collect();
        assert!(scripts.len() >= 3, "{t} ({target}): ops scripts present");
        let (ok, out) = shellcheck(&scripts);
        assert!(ok, "{t} ({target}): shellcheck:\n{out}");
    }
}

#[test]
fn shellcheck_rejects_a_script_with_an_unquoted_expansion() {
    let bundle = support::render("topologies/prod.toml", Target::Swarm);
    let dir = tempfile::tempdir().expect("temp dir");
    let good = &bundle
        .get("scripts/setup-swarm.sh")
        .expect("setup-swarm.sh")
        .contents;
    let path = dir.path().join("broken.sh");
    std::fs::write(&path, format!("{good}\nrm -rf $1/data\n")).expect("write");
    let (ok, out) = shellcheck(std::slice::from_ref(&path));
    assert!(!ok, "shellcheck accepted an unquoted expansion:\n{out}");
    assert!(out.contains("SC2086"), "{out}");
}

#[test]
fn ops_scripts_answer_help_and_reject_unknown_options() {
    let mut seen = 0;
    for (t, target, bundle) in support::all_bundles() {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        for script in OPS_SCRIPTS {
            if bundle.get(script).is_none() {
                continue;
            }
            seen += 1;
            let path = dir.path().join(script);
            let (ok, out, err) = support::run(Command::new("bash").arg(&path).arg("--help"));
            assert!(ok, "{t} ({target}): {script} --help failed:\n{out}{err}");
            assert!(
                out.starts_with("Usage: "),
                "{t}: {script} --help prints usage:\n{out}"
            );
            assert!(
                out.contains("Exit status:"),
                "{t}: {script} documents exit codes"
            );
            let status = Command::new("bash")
                .arg(&path)
                .arg("--no-such-option")
                .output()
                .expect("run");
            assert_eq!(
                status.status.code(),
                Some(2),
                "{t} ({target}): {script} usage error"
            );
        }
        let expected = if target == Target::Swarm {
            "scripts/setup-swarm.sh"
        } else {
            "scripts/ha-setup.sh"
        };
        assert!(bundle.get(expected).is_some(), "{t} ({target}): {expected}");
    }
    assert!(seen >= 18, "3 scripts x 6 bundles, got {seen}");
}

/// A `docker` that logs each invocation's arguments, one line per call,
/// and answers the few queries setup-swarm.sh makes.
const FAKE_DOCKER: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
case "$1 $2" in
"version --format")
    # Debian's docker.io 20.10 has no `stack deploy --detach` (exit 125).
    echo "${FAKE_DOCKER_VERSION:-27.3.1}"
    ;;
"node ls")
    if [[ "$*" == *"--filter node.label=promptforge.edge=true"* ]]; then
        for n in ${FAKE_EDGE:-}; do echo "$n"; done
        exit 0
    fi
    if [[ "$*" == *--filter* ]]; then
        if [[ ${FAKE_LABELLED:-0} == 1 ]]; then echo node-1; fi
        exit 0
    fi
    for ((i = 1; i <= ${FAKE_NODES:-3}; i++)); do echo "id$i node-$i Ready Active"; done
    echo "idd node-drained Ready Drain"
    ;;
"node update") ;;
"secret inspect")
    for s in ${FAKE_EXISTING_SECRETS:-}; do
        if [[ $s == all || $s == "$3" ]]; then exit 0; fi
    done
    echo "Error response from daemon: secret $3 not found" >&2
    exit 1
    ;;
"secret create") echo "fakesecretid" ;;
"secret ls") printf '%s\n' ${FAKE_SECRET_LIST:-} ;;
"secret rm")
    # Docker refuses to remove a secret a service uses.
    for s in ${FAKE_SECRET_IN_USE:-}; do
        if [[ $s == "$3" ]]; then
            echo "Error response from daemon: secret '$3' is in use" >&2
            exit 1
        fi
    done
    echo "$3"
    ;;
"stack deploy")
    if [[ "$*" == *--detach* && ${FAKE_DOCKER_VERSION:-27.3.1} == 2[0-5].* ]]; then
        echo 'unknown flag: --detach' >&2
        exit 125
    fi
    # Each step's stack file comes on stdin; the script runs from its bundle
    # folder, so the file's relative paths resolve.
    if [[ " $* " != *" -c - "* || ! -f docker-stack.yml ]]; then
        echo "fake docker: no stack file on stdin in $PWD" >&2
        exit 98
    fi
    n=$(($(ls "$FAKE_DOCKER_LOG".step-* 2>/dev/null | wc -l) + 1))
    cat >"$FAKE_DOCKER_LOG.step-$n"
    ;;
"service inspect")
    # The update state of the service ($5); FAKE_UPDATE_STATE for the one
    # named by FAKE_UPDATE_SERVICE.
    if [[ $5 == "${FAKE_UPDATE_SERVICE:-}" ]]; then echo "$FAKE_UPDATE_STATE"; else echo completed; fi
    ;;
"service ls") echo "${4#name=} 1/1" ;;
*)
    echo "fake docker: unexpected call: $*" >&2
    exit 99
    ;;
esac
"#;

struct Fake {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    bin: PathBuf,
    secrets: PathBuf,
    log: PathBuf,
}

impl Fake {
    fn new() -> Self {
        Self::of(support::render("topologies/prod.toml", Target::Swarm))
    }

    /// The fake around another rendering of a Swarm bundle.
    fn of(rendered: pf_render::Bundle) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("bundle");
        support::write_bundle(&rendered, &bundle);
        if rendered.get("docker-stack.yml").is_none() {
            // Until the stack emitter lands; --deploy only needs the file.
            std::fs::write(bundle.join("docker-stack.yml"), "services: {}\n").expect("stack");
        }
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir bin");
        let docker = bin.join("docker");
        std::fs::write(&docker, FAKE_DOCKER).expect("write fake docker");
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let secrets = dir.path().join("secret-files");
        std::fs::create_dir(&secrets).expect("mkdir secrets");
        for name in declared_secrets() {
            std::fs::write(secrets.join(&name), secret_value(&name)).expect("write secret");
        }
        let log = dir.path().join("docker.log");
        Self {
            _dir: dir,
            bundle,
            bin,
            secrets,
            log,
        }
    }

    /// Runs setup-swarm.sh with the fake docker first in PATH; returns the
    /// exit code, stdout+stderr and the docker log of this run.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let _ = std::fs::remove_file(&self.log);
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        // From elsewhere: the script must find its bundle by itself.
        cmd.current_dir("/")
            .arg(self.bundle.join("scripts/setup-swarm.sh"))
            .args(args)
            .env("PATH", path)
            .env("FAKE_DOCKER_LOG", &self.log)
            .env("SECRETS_DIR", &self.secrets)
            .env_remove("FAKE_NODES")
            .env_remove("FAKE_LABELLED")
            .env_remove("FAKE_EDGE")
            .env_remove("FAKE_DOCKER_VERSION")
            .env_remove("FAKE_EXISTING_SECRETS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run setup-swarm.sh");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            log,
        )
    }
}

fn prod() -> pf_model::TopologyFile {
    let text = std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("read");
    pf_model::from_str(&text, "topologies/prod.toml")
        .expect("load")
        .validate()
        .topology
        .expect("valid")
        .spec()
        .clone()
}

fn declared_secrets() -> Vec<String> {
    prod()
        .secrets
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// A value that must never appear in any output.
fn secret_value(name: &str) -> String {
    format!("SECRET-VALUE-of-{name}-5f0c2e")
}

/// prod's stateful instances, all placed by node labels, in the order the
/// script assigns them.
fn labelled_instances() -> Vec<String> {
    let t = prod();
    let mut v = naming::postgres_instances(t.postgres.replicas);
    v.extend(naming::redis_instances(t.redis.replicas));
    v.extend(naming::sentinel_instances(t.redis.sentinel.count));
    v
}

fn assert_no_secret_values(text: &str) {
    for name in declared_secrets() {
        assert!(
            !text.contains(&secret_value(&name)),
            "the value of {name} leaked:\n{text}"
        );
    }
    assert!(
        !text.contains("SECRET-VALUE"),
        "a secret value leaked:\n{text}"
    );
}

#[test]
fn label_nodes_pins_every_stateful_instance_round_robin() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(&["--label-nodes"], &[]);
    assert_eq!(code, Some(0), "{out}\n{log}");
    let updates: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("node update") && !l.contains(".edge="))
        .collect();
    let instances = labelled_instances();
    assert_eq!(updates.len(), instances.len(), "{log}");
    // nginx's two edge nodes: the first two by host name.
    let edge: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("node update") && l.contains(".edge="))
        .collect();
    assert_eq!(
        edge,
        [
            "node update --label-add promptforge.edge=true id1",
            "node update --label-add promptforge.edge=true id2"
        ],
        "{log}"
    );
    assert!(
        out.contains("edge node: node-2 (labelled promptforge.edge=true)"),
        "{out}"
    );
    for (i, instance) in instances.iter().enumerate() {
        let node = format!("id{}", i % 3 + 1);
        let expected = format!("node update --label-add promptforge.{instance}=true {node}");
        assert_eq!(updates[i], expected, "{log}");
        assert!(
            out.contains(&format!(
                "{instance} -> node-{} (labelled promptforge.{instance}=true)",
                i % 3 + 1
            )),
            "the assignment is printed:\n{out}"
        );
    }
    assert!(!log.contains("idd"), "a drained node got a label:\n{log}");
}

#[test]
fn label_nodes_refuses_fewer_nodes_than_the_capacity() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(&["--label-nodes"], &[("FAKE_NODES", "2")]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("found 2 Ready, Active nodes; this topology needs 3"),
        "{out}"
    );
    assert!(
        !log.contains("node update"),
        "labels were set anyway:\n{log}"
    );
}

#[test]
fn label_nodes_keeps_existing_labels() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(
        &["--label-nodes"],
        &[("FAKE_LABELLED", "1"), ("FAKE_EDGE", "node-3 node-2")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!log.contains("node update"), "relabelled:\n{log}");
    assert!(
        out.contains("edge nodes already labelled promptforge.edge=true: node-3 node-2"),
        "{out}"
    );
    assert!(
        out.contains("postgres-1 -> node-1 (already labelled"),
        "{out}"
    );
}

#[test]
fn create_secrets_creates_every_declared_secret_without_printing_it() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(&["--create-secrets"], &[]);
    assert_eq!(code, Some(0), "{out}\n{log}");
    let names = declared_secrets();
    assert!(names.len() >= 5, "prod declares its secrets");
    for name in &names {
        let expected = format!(
            "secret create promptforge_{name} {}",
            fake.secrets.join(name).display()
        );
        assert!(
            log.lines().any(|l| l == expected),
            "missing `{expected}`:\n{log}"
        );
    }
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("secret create"))
            .count(),
        names.len()
    );
    assert_no_secret_values(&out);
    assert_no_secret_values(&log);
}

#[test]
fn create_secrets_skips_existing_secrets() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(
        &["--create-secrets"],
        &[("FAKE_EXISTING_SECRETS", "promptforge_redis_password")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        !log.contains("secret create promptforge_redis_password"),
        "{log}"
    );
    assert!(out.contains("promptforge_redis_password exists"), "{out}");
    assert!(
        log.contains("secret create promptforge_postgres_password"),
        "{log}"
    );
}

#[test]
fn create_secrets_refuses_missing_and_empty_files_before_creating_any() {
    let fake = Fake::new();
    std::fs::remove_file(fake.secrets.join("postgres_password")).expect("rm");
    std::fs::write(fake.secrets.join("redis_password"), "").expect("empty");
    let (code, out, log) = fake.run(&["--create-secrets"], &[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("postgres_password (missing)"), "{out}");
    assert!(out.contains("redis_password (empty)"), "{out}");
    assert!(
        !log.contains("secret create"),
        "created secrets anyway:\n{log}"
    );
    assert_no_secret_values(&out);
}

#[test]
fn deploy_checks_secrets_and_labels_first() {
    let fake = Fake::new();
    let (code, out, log) = fake.run(&["--deploy"], &[("FAKE_LABELLED", "1")]);
    assert_eq!(code, Some(5), "missing secrets: {out}");
    assert!(!log.contains("stack deploy"), "{log}");

    let (code, out, log) = fake.run(&["--deploy"], &[("FAKE_EXISTING_SECRETS", "all")]);
    assert_eq!(code, Some(6), "unlabelled nodes: {out}");
    assert!(out.contains("promptforge.postgres-1"), "{out}");
    assert!(!log.contains("stack deploy"), "{log}");

    // Fewer edge nodes than nginx tasks: refused before deploying.
    let (code, out, log) = fake.run(
        &["--deploy"],
        &[
            ("FAKE_EXISTING_SECRETS", "all"),
            ("FAKE_LABELLED", "1"),
            ("FAKE_EDGE", "node-1"),
        ],
    );
    assert_eq!(code, Some(6), "{out}");
    assert!(
        out.contains("1 node(s) carry promptforge.edge=true; the load balancer needs 2"),
        "{out}"
    );
    assert!(!log.contains("stack deploy"), "{log}");

    let ready = READY;
    let (code, out, log) = fake.run(&["--deploy"], &ready);
    assert_eq!(code, Some(0), "{out}\n{log}");
    let deploys = stack_deploys(&log);
    assert_eq!(
        deploys,
        vec!["stack deploy --resolve-image changed --detach=true -c - promptforge"; 3],
        "one deploy per step:\n{log}"
    );
    assert!(out.contains("step 3 converged"), "{out}");
    // Each step's file holds its services only, and every service of the
    // stack is in exactly one step.
    let steps: Vec<Vec<String>> = (1..=3).map(|n| services(&read(&fake.log, n))).collect();
    assert_eq!(
        steps[1],
        ["postgres-2", "redis-replica", "redis-sentinel-2"],
        "{steps:?}"
    );
    assert_eq!(steps[2], ["redis-sentinel-3"], "{steps:?}");
    let mut all: Vec<String> = steps.concat();
    all.sort();
    let mut want =
        services(&std::fs::read_to_string(fake.bundle.join("docker-stack.yml")).expect("stack"));
    want.sort();
    assert_eq!(all, want);
    for n in 1..=3 {
        assert_eq!(
            read(&fake.log, n).split("\nservices:").next(),
            std::fs::read_to_string(fake.bundle.join("docker-stack.yml"))
                .expect("stack")
                .split("\nservices:")
                .next(),
            "the header of step {n}"
        );
    }

    // A step whose update rolls back stops the deploy before the next.
    let (code, out, log) = fake.run(
        &["--deploy"],
        &[
            ("FAKE_EXISTING_SECRETS", "all"),
            ("FAKE_LABELLED", "1"),
            ("FAKE_EDGE", "node-1 node-2"),
            ("FAKE_UPDATE_SERVICE", "promptforge_redis-replica"),
            ("FAKE_UPDATE_STATE", "rollback_completed"),
        ],
    );
    assert_eq!(code, Some(7), "{out}");
    assert!(
        out.contains("step 2: the update of promptforge_redis-replica"),
        "{out}"
    );
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("stack deploy"))
            .count(),
        2,
        "step 3 deployed anyway:\n{log}"
    );
}

/// What the fake docker needs for `--deploy` to get to `stack deploy`:
/// secrets created, nodes labelled, two edge nodes.
const READY: [(&str, &str); 3] = [
    ("FAKE_EXISTING_SECRETS", "all"),
    ("FAKE_LABELLED", "1"),
    ("FAKE_EDGE", "node-1 node-2"),
];

/// The `stack deploy` calls in the fake docker's log, in order.
fn stack_deploys(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with("stack deploy"))
        .collect()
}

/// The stack file of deploy step `n` the fake docker received.
fn read(log: &std::path::Path, n: usize) -> String {
    std::fs::read_to_string(format!("{}.step-{n}", log.display()))
        .unwrap_or_else(|e| panic!("step {n}: {e}"))
}

/// The services of a stack file, in order.
fn services(stack: &str) -> Vec<String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(stack).expect("a YAML stack file");
    doc["services"]
        .as_mapping()
        .expect("services")
        .keys()
        .map(|k| k.as_str().expect("a name").to_owned())
        .collect()
}

#[test]
fn deploy_leaves_out_detach_for_clients_that_reject_it() {
    let fake = Fake::new();
    let ready = READY;
    for version in ["20.10.24+dfsg1", "25.0.5"] {
        let mut env = ready.to_vec();
        env.push(("FAKE_DOCKER_VERSION", version));
        let (code, out, log) = fake.run(&["--deploy"], &env);
        assert_eq!(code, Some(0), "Docker {version}: {out}\n{log}");
        // Every step's deploy, without --detach (the fake refuses it).
        let deploys = stack_deploys(&log);
        assert_eq!(
            deploys,
            vec!["stack deploy --resolve-image changed -c - promptforge"; 3],
            "Docker {version}: {log}"
        );
    }
}

/// A `docker` for health-check.sh: every Compose container runs and
/// answers like a healthy stack, except what the FAKE_* variables break.
/// `docker ps` finds no Swarm task on this node.
const FAKE_DOCKER_HEALTH: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
case $1 in
inspect) echo true ;;
ps) ;;
exec)
    c=$2
    shift 2
    case "$*" in
    *"curl "*) echo healthy ;;
    *pg_isready*) exit 0 ;;
    *pg_is_in_recovery*) if [[ $c == *postgres-1 ]]; then echo f; else echo t; fi ;;
    *pg_stat_replication*) printf '%s\n' ${FAKE_STREAMING-postgres_2} ;;
    *"postgres-member.sh --status")
        printf 'postgres-1 postgres-1:5432 %s 1 7000\n' "${FAKE_ROLE_1:-primary}"
        printf 'postgres-2 postgres-2:5432 %s 1 7000\n' "${FAKE_ROLE_2:-standby}"
        ;;
    *" PING") echo PONG ;;
    *" ROLE") if [[ $c == *master* ]]; then printf 'master\n0\n'; else printf 'slave\nredis-master\n6379\n'; fi ;;
    *get-master-addr-by-name*)
        # redis-cli's warnings go to stderr; the reply to stdout.
        if [[ -n ${FAKE_CLI_WARNING:-} ]]; then echo "$FAKE_CLI_WARNING" >&2; fi
        printf '%s\n6379\n' "$FAKE_MASTER_HOST"
        ;;
    *"SENTINEL master mymaster")
        printf 'name\nmymaster\nflags\n%s\nnum-slaves\n1\nnum-other-sentinels\n%s\n' \
            "${FAKE_SENTINEL_FLAGS:-master}" "${FAKE_OTHER_SENTINELS:-2}"
        ;;
    *"SENTINEL ckquorum mymaster") echo "OK 3 usable Sentinels. Quorum and failover authorization can be reached" ;;
    *)
        echo "fake docker: unexpected exec: $*" >&2
        exit 99
        ;;
    esac
    ;;
*)
    echo "fake docker: unexpected call: $*" >&2
    exit 99
    ;;
esac
"#;

/// The host Sentinels name the initial master by: its fixed address on
/// Compose, its service name on Swarm.
fn master_host(target: &Target) -> &'static str {
    if *target == Target::Swarm {
        "redis-master"
    } else {
        "172.26.64.1"
    }
}

fn run_health_check(target: Target, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    support::write_bundle(
        &support::render("topologies/prod.toml", target.clone()),
        dir.path(),
    );
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    for (name, body) in [
        ("docker", FAKE_DOCKER_HEALTH),
        // The public entry: curl on the host, through the load balancer.
        (
            "curl",
            "#!/usr/bin/env bash\nprintf 'curl %s\\n' \"$*\" >>\"$FAKE_DOCKER_LOG\"\n",
        ),
    ] {
        std::fs::write(bin.join(name), body).expect("write stub");
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let log = dir.path().join("calls.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(dir.path().join("scripts/health-check.sh"))
        .env("PATH", path)
        .env("FAKE_DOCKER_LOG", &log)
        .env("FAKE_MASTER_HOST", master_host(&target))
        .env_remove("FAKE_STREAMING")
        .env_remove("PUBLIC_IP");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run health-check.sh");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[test]
fn health_check_checks_every_component_of_a_compose_host() {
    let (code, out, calls) = run_health_check(Target::Compose, &[]);
    assert_eq!(code, Some(0), "{out}\n{calls}");
    for line in [
        "✓ Nginx load balancer is healthy (/health on port 8080 in promptforge-nginx-lb)",
        "✓ backend is healthy (GET /api/health via https://promptforge.example.com:443)",
        "✓ frontend is healthy (GET / via https://promptforge.example.com:443)",
        "✓ exactly one PostgreSQL member accepts writes: postgres-1, as postgres.primary says",
        "✓ PostgreSQL primary postgres-1 is accepting connections",
        "✓ postgres-1 is the primary (not in recovery)",
        "✓ postgres-2 streams WAL from the primary (pg_stat_replication: postgres_2)",
        "✓ postgres-2 is a hot standby (in recovery)",
        "✓ Redis redis-master is healthy (role: master)",
        "✓ Redis redis-replica is healthy (role: slave)",
        "✓ Redis Sentinel redis-sentinel-3 is healthy (master mymaster at 172.26.64.1:6379, quorum reachable)",
        "14 passed, 0 failed, 0 not checked from this host",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    // TCP health check, password only as a file path, public entry via --resolve.
    assert!(calls.contains(
        "exec promptforge-postgres-2 pg_isready -q -h 127.0.0.1 -p 5432 -U promptforge -d promptforge_prod"
    ), "{calls}");
    assert!(
        calls.contains(
            "sh /run/secrets/redis_password -p 26379 SENTINEL get-master-addr-by-name mymaster"
        ),
        "{calls}"
    );
    assert!(calls.contains(
        "--resolve promptforge.example.com:443:127.0.0.1 https://promptforge.example.com:443/api/health"
    ), "{calls}");
}

#[test]
fn health_check_fails_when_a_replica_does_not_stream() {
    let (code, out, _) = run_health_check(Target::Compose, &[("FAKE_STREAMING", "")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ postgres-2 has no streaming row in pg_stat_replication on postgres-1"),
        "{out}"
    );
}

/// Two members that accept writes, or a primary the topology does not
/// name, fail the health check, as the member script's --status sees them.
#[test]
fn health_check_fails_on_two_writers_or_a_stale_postgres_primary() {
    let (code, out, _) = run_health_check(Target::Compose, &[("FAKE_ROLE_2", "primary")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ 2 PostgreSQL members accept writes at once: postgres-1 postgres-2"),
        "{out}"
    );
    let (code, out, _) = run_health_check(
        Target::Compose,
        &[("FAKE_ROLE_1", "down"), ("FAKE_ROLE_2", "primary")],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ the primary is postgres-2, but postgres.primary names postgres-1: set postgres.primary to 2"),
        "{out}"
    );
}

#[test]
fn health_check_fails_when_a_sentinel_answers_wrong() {
    // redis-cli warnings on stderr (what a password sent to a Sentinel
    // without one printed) do not garble the address, nor fail the check.
    let (code, out, _) = run_health_check(
        Target::Compose,
        &[(
            "FAKE_CLI_WARNING",
            "AUTH failed: ERR AUTH <password> called without any password configured",
        )],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("✓ Redis Sentinel redis-sentinel-1 is healthy (master mymaster at 172.26.64.1:6379, quorum reachable)"),
        "{out}"
    );
    for (env, line) in [
        (
            ("FAKE_MASTER_HOST", "10.9.9.9"),
            "✗ Redis Sentinel redis-sentinel-1 does not name a Redis node of this topology as master mymaster (reply: 10.9.9.9 6379)",
        ),
        (
            ("FAKE_MASTER_HOST", "ERR No such master with that name"),
            "✗ Redis Sentinel redis-sentinel-1 does not name a Redis node of this topology",
        ),
        (
            ("FAKE_SENTINEL_FLAGS", "s_down,master"),
            "✗ Redis Sentinel redis-sentinel-1 sees master mymaster at 172.26.64.1:6379 as 's_down,master'",
        ),
        (
            ("FAKE_OTHER_SENTINELS", "1"),
            "✗ Redis Sentinel redis-sentinel-1 knows 1 other Sentinel(s); the topology has 2",
        ),
    ] {
        let (code, out, _) = run_health_check(Target::Compose, &[env]);
        assert_eq!(code, Some(1), "{env:?}: {out}");
        assert!(out.contains(line), "{env:?}: missing `{line}` in\n{out}");
    }
}

#[test]
fn health_check_on_a_swarm_node_says_what_it_cannot_check() {
    let (code, out, calls) = run_health_check(Target::Swarm, &[]);
    assert_eq!(code, Some(3), "nothing checked, nothing failed:\n{out}");
    assert!(
        out.contains("- postgres-1: not running on this node (promptforge_postgres-1)"),
        "{out}"
    );
    assert!(
        out.contains("- No nginx task publishes ports on this node; set PUBLIC_IP"),
        "{out}"
    );
    assert!(
        out.contains("0 passed, 0 failed, 10 not checked from this host"),
        "{out}"
    );
    assert!(calls.contains("ps -q --filter label=com.docker.swarm.service.name=promptforge_redis-sentinel-1 --filter status=running"), "{calls}");
}

/// A `docker` for failover-test.sh on Compose: stopping the Redis master
/// makes the Sentinels name the replica FAKE_FAILOVER_AFTER seconds later;
/// the old master comes back as a replica.
const FAKE_DOCKER_FAILOVER: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
state=$FAKE_STATE
# PostgreSQL members as the member script would leave them: a started member
# rejoins as a standby when another member is the primary (unless
# FAKE_SECOND_WRITER=1, the old bug); --promote makes a standby primary.
pg_role() {
    if [[ -e $state/stopped-$1 ]]; then
        echo down
    elif [[ -e $state/role-$1 ]]; then
        cat "$state/role-$1"
    elif [[ $1 == *postgres-1 ]]; then
        echo primary
    else
        echo standby
    fi
}
other_primary() {
    local m
    for m in promptforge-postgres-1 promptforge-postgres-2; do
        if [[ $m != "$1" && $(pg_role "$m") == primary ]]; then return 0; fi
    done
    return 1
}
case $1 in
inspect) if [[ -e $state/stopped-$3 ]]; then echo false; else echo true; fi ;;
stop)
    if [[ $2 == *postgres-* ]]; then pg_role "$2" >"$state/data-$2"; fi
    touch "$state/stopped-$2"
    date +%s >"$state/stop-time-$2"
    ;;
start)
    rm -f "$state/stopped-$2"
    if [[ $2 == *redis-master ]]; then touch "$state/master-rejoined"; fi
    if [[ $2 == *postgres-* ]]; then
        if other_primary "$2" && [[ ${FAKE_SECOND_WRITER:-0} != 1 ]]; then
            echo standby >"$state/role-$2"
        else
            cat "$state/data-$2" >"$state/role-$2"
        fi
    fi
    ;;
exec)
    if [[ $2 == -u ]]; then shift 2; fi
    c=$2
    shift 2
    case "$*" in
    *"postgres-member.sh --status")
        for m in promptforge-postgres-1 promptforge-postgres-2; do
            r=$(pg_role "$m")
            if [[ $r == down ]]; then echo "${m#promptforge-} ${m#promptforge-}:5432 down"; else echo "${m#promptforge-} ${m#promptforge-}:5432 $r 2 7000"; fi
        done
        exit 0
        ;;
    *"postgres-member.sh --promote --old-primary-stopped")
        if other_primary "$c"; then echo "still answers as a primary" >&2; exit 1; fi
        echo primary >"$state/role-$c"
        echo "promoted"
        exit 0
        ;;
    *pg_is_in_recovery*)
        if [[ $(pg_role "$c") == primary ]]; then echo f; else echo t; fi
        exit 0
        ;;
    esac
    # The instance that is master, and the host Sentinels know it by
    # (FAKE_HOSTS: the master's and the replica's).
    read -r master_host replica_host <<<"$FAKE_HOSTS"
    master=redis-master host=$master_host
    if [[ -e $state/stop-time-promptforge-redis-master ]] &&
        (($(date +%s) - $(cat "$state/stop-time-promptforge-redis-master") >= ${FAKE_FAILOVER_AFTER:-1})); then
        master=redis-replica host=$replica_host
    fi
    case "$*" in
    *get-master-addr-by-name*) printf '%s\n6379\n' "$host" ;;
    *" ROLE")
        if [[ $c == *-$master ]]; then echo master; else echo slave; fi
        ;;
    *)
        echo "fake docker: unexpected exec: $*" >&2
        exit 99
        ;;
    esac
    ;;
*)
    echo "fake docker: unexpected call: $*" >&2
    exit 99
    ;;
esac
"#;

fn run_failover_test(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    run_failover_test_of(Target::Compose, args, env)
}

fn run_failover_test_of(
    target: Target,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    support::write_bundle(&support::render("topologies/prod.toml", target), dir.path());
    let bin = dir.path().join("bin");
    let state = dir.path().join("state");
    std::fs::create_dir(&bin).expect("mkdir");
    std::fs::create_dir(&state).expect("mkdir");
    for (name, body) in [
        ("docker", FAKE_DOCKER_FAILOVER),
        (
            "curl",
            "#!/usr/bin/env bash\nprintf 'curl %s\\n' \"$*\" >>\"$FAKE_DOCKER_LOG\"\n",
        ),
        ("sleep", "#!/usr/bin/env bash\nexec /bin/sleep 0.2\n"),
    ] {
        std::fs::write(bin.join(name), body).expect("write stub");
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let log = dir.path().join("calls.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(dir.path().join("scripts/failover-test.sh"))
        .args(args)
        .env("PATH", path)
        .env("FAKE_DOCKER_LOG", &log)
        .env("FAKE_STATE", &state)
        .env("FAKE_HOSTS", "172.26.64.1 172.26.64.2")
        .env("REQUESTS", "3")
        .env("REJOIN_TIMEOUT", "5");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run failover-test.sh");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[test]
fn failover_test_stops_and_restores_and_times_the_redis_failover() {
    let (code, out, calls) = run_failover_test(&[], &[]);
    assert_eq!(code, Some(0), "{out}\n{calls}");
    for line in [
        "✓ backend: 3/3 requests succeeded with promptforge-backend-1 stopped",
        "✓ frontend: 3/3 requests succeeded with promptforge-frontend-1 stopped",
        "current master: redis-master (172.26.64.1); stopping it",
        "(budget 15s = down-after 5s + failover-timeout 10s)",
        "✓ redis-replica answers as master",
        "✓ backend is healthy after the failover",
        "✓ redis-master rejoined as a replica",
        "docker stop promptforge-postgres-1",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    for call in [
        "stop promptforge-backend-1",
        "start promptforge-backend-1",
        "stop promptforge-redis-master",
        "start promptforge-redis-master",
    ] {
        assert!(
            calls.lines().any(|l| l == call),
            "missing `{call}`:\n{calls}"
        );
    }
    assert!(
        !calls.contains("--promote") && !calls.lines().any(|l| l.contains("postgres-")),
        "promoted PostgreSQL without --postgres:\n{calls}"
    );
}

#[test]
fn failover_test_fails_a_redis_failover_over_budget_and_still_restores() {
    // Sentinel never promotes: the test waits (bounded by MAX_WAIT), fails,
    // and the stopped master is started again on exit.
    let (code, out, calls) = run_failover_test(
        &["--redis"],
        &[("FAKE_FAILOVER_AFTER", "3600"), ("MAX_WAIT", "2")],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("✗ no new master after"), "{out}");
    assert!(
        calls.lines().any(|l| l == "start promptforge-redis-master"),
        "{calls}"
    );
}

/// `--postgres` on Compose: the primary stops (docker stop returns once it
/// has), the standby is promoted by the member script, the old primary
/// starts again and must come back as a standby; then the same back. Every
/// check of the roles finds at most one writer.
#[test]
fn failover_test_fails_over_rejoins_and_fails_back_postgres() {
    let (code, out, calls) = run_failover_test(&["--postgres"], &[]);
    assert_eq!(code, Some(0), "{out}\n{calls}");
    for line in [
        "✓ postgres-2 was promoted and accepts writes",
        "✓ postgres-1 rejoined postgres-2 as a standby",
        "failing back to postgres-1, which postgres.primary names",
        "✓ postgres-1 was promoted and accepts writes",
        "✓ postgres-2 rejoined postgres-1 as a standby",
        "✓ at most one PostgreSQL member accepted writes at every check",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    let order: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("stop ") || l.starts_with("start ") || l.contains("--promote"))
        .collect();
    assert_eq!(
        order,
        [
            "stop promptforge-postgres-1",
            "exec -u postgres promptforge-postgres-2 /usr/local/bin/postgres-member.sh --promote --old-primary-stopped",
            "start promptforge-postgres-1",
            "stop promptforge-postgres-2",
            "exec -u postgres promptforge-postgres-1 /usr/local/bin/postgres-member.sh --promote --old-primary-stopped",
            "start promptforge-postgres-2",
        ],
        "{calls}"
    );
}

/// An old primary that comes back as a writer (what the old runbook let
/// happen) fails the test.
#[test]
fn failover_test_fails_when_the_old_primary_comes_back_as_a_writer() {
    let (code, out, _) = run_failover_test(
        &["--postgres", "--no-failback"],
        &[("FAKE_SECOND_WRITER", "1")],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ 2 PostgreSQL members accept writes at once: postgres-1 postgres-2"),
        "{out}"
    );
    assert!(out.contains("✗ postgres-1 is not a standby"), "{out}");
}

/// prod with `redis_password` at version 2 (a rotation).
fn rotated() -> Fake {
    let text = std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("prod")
        + "\n[secret-versions]\nredis_password = 2\n";
    let topology = pf_model::from_str(&text, "topologies/prod.toml")
        .expect("loads")
        .validate()
        .topology
        .expect("valid");
    Fake::of(pf_render::render(&topology, Target::Swarm).expect("renders"))
}

#[test]
fn a_rotated_secret_is_created_under_its_version_and_old_versions_go_after_the_deploy() {
    let fake = rotated();
    let stack = std::fs::read_to_string(fake.bundle.join("docker-stack.yml")).expect("stack");
    assert!(
        stack.contains("name: promptforge_redis_password_v2"),
        "{stack}"
    );
    // The mount path stays: services still name the secret by its key.
    assert!(!stack.contains("target: redis_password_v2"), "{stack}");

    let (code, out, log) = fake.run(
        &["--create-secrets"],
        &[("FAKE_EXISTING_SECRETS", "promptforge_redis_password")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        log.contains("secret create promptforge_redis_password_v2 "),
        "the new version is created from the same file:\n{log}"
    );
    assert!(
        out.contains("created promptforge_redis_password_v2 from"),
        "{out}"
    );

    let (code, out, log) = fake.run(
        &["--deploy"],
        &[
            ("FAKE_EXISTING_SECRETS", "all"),
            ("FAKE_LABELLED", "1"),
            ("FAKE_EDGE", "node-1 node-2"),
            (
                "FAKE_SECRET_LIST",
                "promptforge_redis_password promptforge_redis_password_v1 \
                 promptforge_redis_password_v2 promptforge_redis_password_old \
                 promptforge_secret_key promptforge_tls_private_key_v3",
            ),
            ("FAKE_SECRET_IN_USE", "promptforge_redis_password_v1"),
        ],
    );
    assert_eq!(code, Some(0), "{out}\n{log}");
    let removed: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("secret rm "))
        .collect();
    // Old versions of declared secrets only, never the current ones or a
    // name that only starts like one; and only after the last step.
    assert_eq!(
        removed,
        [
            "promptforge_redis_password",
            "promptforge_redis_password_v1",
            "promptforge_tls_private_key_v3"
        ],
        "{log}"
    );
    let last_deploy = log.rfind("stack deploy").expect("deployed");
    assert!(
        log.find("secret rm").expect("removed") > last_deploy,
        "{log}"
    );
    assert!(
        out.contains("removed promptforge_redis_password (an old version of redis_password)"),
        "{out}"
    );
    assert!(
        out.contains("kept promptforge_redis_password_v1: still in use"),
        "{out}"
    );
}
