//! The Redis exporter, run for real (Debian's prometheus-redis-exporter)
//! through the bundle's entrypoint against a real password-protected
//! redis-server: it reads `REDIS_PASSWORD_FILE` as a JSON object of Redis
//! URI to password and exits at start on anything else, so the raw secret
//! file crashes it, and the JSON the entrypoint writes makes it scrape.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pf_render::Target;

/// Quotes and a backslash: JSON escaping must be right.
const PASSWORD: &str = "exp\"orter \\ pass $HOME";
const ENTRYPOINT: &str = "monitoring/redis-exporter-entrypoint.sh";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// redis-server from the bundle's master template (its memory settings),
/// on loopback `port`, with the password.
fn redis(template: &str, port: u16, dir: &Path) -> Killed {
    let conf = dir.join("master.conf");
    // `dir` changes directory while the file loads: the container's /data
    // becomes this test's folder before any command-line override applies.
    let local: String = template
        .lines()
        .map(|l| {
            if l.starts_with("dir ") {
                format!("dir {}\n", dir.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(&conf, local).expect("template");
    let child = Command::new(support::tool("redis-server"))
        .arg(&conf)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not listen");
        sleep(Duration::from_millis(50));
    }
    Killed(child)
}

/// The body of GET /metrics, once the exporter answers.
fn metrics(port: u16, exporter: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = exporter.try_wait().expect("poll") {
            panic!("the exporter exited: {status}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .expect("request");
            let mut body = String::new();
            if s.read_to_string(&mut body).is_ok() && body.contains("redis_up") {
                return body;
            }
        }
        assert!(Instant::now() < deadline, "no metrics");
        sleep(Duration::from_millis(100));
    }
}

fn value(metrics: &str, name: &str) -> Option<String> {
    metrics
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_owned)
}

#[test]
fn the_exporter_scrapes_with_the_json_the_entrypoint_writes_and_crashes_on_the_raw_secret() {
    let exporter_bin = support::tool("prometheus-redis-exporter");
    let bundle = support::render("topologies/prod.toml", Target::Compose);
    let dir = tempfile::tempdir().expect("temp dir");
    support::write_bundle(&bundle, &dir.path().join("bundle"));
    let secret = dir.path().join("redis_password");
    fs::write(&secret, format!("{PASSWORD}\n")).expect("secret");
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).expect("tmp");
    let redis_port = support::free_port();
    let template = &bundle
        .get("redis/master.conf")
        .expect("master.conf")
        .contents;
    let _redis = redis(template, redis_port, dir.path());
    let addr = format!("redis://127.0.0.1:{redis_port}");

    // What the stack gave it before: the raw secret as REDIS_PASSWORD_FILE.
    let web = support::free_port();
    let out = Command::new(&exporter_bin)
        .env_clear()
        .env("REDIS_ADDR", &addr)
        .env("REDIS_PASSWORD_FILE", &secret)
        .env(
            "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
            format!("127.0.0.1:{web}"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("exporter");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && log.contains("password"),
        "the exporter took the raw password file: {log}"
    );

    // Through the entrypoint: a JSON file it can read.
    let web = support::free_port();
    let entrypoint = dir.path().join("bundle").join(ENTRYPOINT);
    let run = |secret: &Path, web: u16| {
        Command::new(&entrypoint)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("REDIS_ADDR", &addr)
            .env("REDIS_SECRET_FILE", secret)
            .env("REDIS_EXPORTER_BIN", &exporter_bin)
            .env("TMPDIR", &tmp)
            .env(
                "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
                format!("127.0.0.1:{web}"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("entrypoint")
    };
    let mut exporter = Killed(run(&secret, web));
    let body = metrics(web, &mut exporter.0);
    assert_eq!(value(&body, "redis_up").as_deref(), Some("1"), "{body}");
    // The template's maxmemory, as the exporter reports it: RedisMemoryHigh
    // is guarded by `redis_memory_max_bytes > 0`.
    let max = maxmemory(template);
    assert_eq!(
        value(&body, "redis_memory_max_bytes").and_then(|v| v.parse::<f64>().ok()),
        Some(max as f64),
        "{body}"
    );
    let alerts = &bundle
        .get("monitoring/alerts.yml")
        .expect("alerts")
        .contents;
    assert!(
        memory_high_fires(alerts, max, dir.path()),
        "at 90% of {max}"
    );
    assert!(
        !memory_high_fires(alerts, 0, dir.path()),
        "without maxmemory the alert cannot fire (what the bundle gave before)"
    );

    // The file: private, JSON, the password for REDIS_ADDR and for every
    // Redis node of the topology.
    let files: Vec<_> = fs::read_dir(&tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = fs::metadata(&files[0]).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(&files[0]).expect("read")).expect("JSON");
    let plan = pf_render::plan(
        &pf_model::from_str(
            &fs::read_to_string(support::root().join("topologies/prod.toml")).expect("prod"),
            "topologies/prod.toml",
        )
        .expect("parses")
        .validate()
        .topology
        .expect("valid"),
        Target::Compose,
    );
    let mut want: Vec<String> = plan
        .redis
        .nodes()
        .map(|n| pf_render::plan::redis_uri(&n.instance, plan.redis.settings.port))
        .collect();
    want.push(addr.clone());
    want.sort();
    let mut keys: Vec<String> = json.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, want);
    assert!(json.values().all(|v| v == PASSWORD), "{json:?}");
    drop(exporter);

    // The password is in no output, and a password JSON cannot hold stops
    // the entrypoint before the exporter starts.
    let bad = dir.path().join("bad");
    fs::write(&bad, "tab\there").expect("bad secret");
    let out = run(&bad, support::free_port())
        .wait_with_output()
        .expect("entrypoint");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("control characters"),
        "{err}"
    );
    let out = run(&dir.path().join("missing"), support::free_port())
        .wait_with_output()
        .expect("entrypoint");
    assert!(!out.status.success());
}

/// `maxmemory` of a redis.conf, in bytes (`256mb` is 256 MiB to Redis).
fn maxmemory(conf: &str) -> u64 {
    let value = conf
        .lines()
        .find_map(|l| l.strip_prefix("maxmemory "))
        .expect("a maxmemory line");
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u64 = digits.parse().expect("a number");
    n * match unit {
        "" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        other => panic!("unit {other}"),
    }
}

/// Whether the rendered RedisMemoryHigh expression yields a sample when the
/// exporter reports `max` bytes of maxmemory and 90% of it used
/// (`promtool test rules`, its own expression evaluated).
fn memory_high_fires(alerts: &str, max: u64, dir: &Path) -> bool {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(alerts).expect("alerts");
    let expr = doc["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules"))
        .find(|r| r["alert"].as_str() == Some("RedisMemoryHigh"))
        .expect("RedisMemoryHigh")["expr"]
        .as_str()
        .expect("expr")
        .to_owned();
    let rules = dir.join("empty-rules.yml");
    fs::write(&rules, "groups: []\n").expect("rules");
    let series = |name: &str, v: u64| {
        serde_json::json!({
            "series": format!("{name}{{instance=\"redis-exporter:9121\",job=\"redis\"}}"),
            "values": format!("{v}x10"),
        })
    };
    let used = max / 10 * 9;
    let test = serde_json::json!({
        "rule_files": [rules.display().to_string()],
        "evaluation_interval": "15s",
        "tests": [{
            "interval": "15s",
            "input_series": [series("redis_memory_used_bytes", used), series("redis_memory_max_bytes", max)],
            "promql_expr_test": [{
                "expr": expr,
                "eval_time": "1m",
                "exp_samples": [{
                    "labels": "{instance=\"redis-exporter:9121\",job=\"redis\"}",
                    "value": if max == 0 { 0.0 } else { used as f64 / max as f64 },
                }],
            }],
        }],
    });
    let file = dir.join("memory-test.yml");
    fs::write(&file, serde_yaml_ng::to_string(&test).expect("yaml")).expect("test");
    let (ok, _, _) = support::run(
        Command::new(support::tool("promtool"))
            .args(["test", "rules"])
            .arg(&file),
    );
    ok
}

#[test]
fn the_exporter_entrypoint_passes_shellcheck() {
    let shellcheck = support::tool("shellcheck");
    for (topology, target, bundle) in support::all_bundles() {
        let Some(a) = bundle.get(ENTRYPOINT) else {
            continue;
        };
        assert_eq!(a.mode, 0o755, "{topology} ({target})");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("entrypoint.sh");
        fs::write(&path, &a.contents).expect("write");
        let (ok, out, err) = support::run(Command::new(&shellcheck).args(["-s", "sh"]).arg(&path));
        assert!(ok, "{topology} ({target}):\n{out}{err}");
        assert!(!a.contents.contains(PASSWORD));
    }
}
