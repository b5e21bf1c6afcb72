//! `pf-render drill` through the built binary, on real nginx, PostgreSQL,
//! Redis and Sentinels: every committed topology passes every scenario;
//! configurations broken on purpose (`PF_DRILL_FAULT`) fail with a message
//! that names the cause; Ctrl-C stops everything; after every run no
//! process is left and the run folder is gone; no secret value reaches a
//! rendered file, a log or the drill's output.
//!
//! Drills use fixed loopback addresses and production ports, so they run
//! one at a time (a lock). Needs the Debian packages the README's test
//! command installs; a missing one fails with the package to install.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const PROD: &str = "topologies/prod.toml";
const MINIMAL: &str = "examples/minimal-single-host.toml";
const LARGE: &str = "examples/large-multi-host.toml";

/// Every drill binds the same loopback addresses: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A whole drill may take this long before the test gives up on it.
const DRILL_LIMIT: Duration = Duration::from_secs(240);

/// A run folder that does not exist yet (short: socket paths live in it).
fn run_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!(
        "pfd-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    assert!(!dir.exists());
    dir
}

fn drill_cmd(topology: &str, run: &Path, args: &[&str], fault: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pf-render"));
    cmd.arg("drill")
        .arg(topology)
        .arg("--run-dir")
        .arg(run)
        .args(args)
        .current_dir(ROOT)
        .env_remove("PF_DRILL_FAULT");
    if let Some(f) = fault {
        cmd.env("PF_DRILL_FAULT", f);
    }
    cmd
}

/// Runs a drill to completion (killed after [`DRILL_LIMIT`]).
fn drill(topology: &str, run: &Path, args: &[&str], fault: Option<&str>) -> Output {
    let child = drill_cmd(topology, run, args, fault)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pf-render runs");
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        let end = Instant::now() + DRILL_LIMIT;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return false;
            }
        }
        // Ctrl-C: the drill stops its processes and removes its folder.
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        true
    });
    let out = child.wait_with_output().expect("wait for pf-render");
    let timed_out = watchdog.join().expect("watchdog");
    assert!(
        !timed_out,
        "the drill took longer than {DRILL_LIMIT:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Processes whose command line names `run` or that work inside it.
fn processes_in(run: &Path) -> Vec<String> {
    let needle = run.display().to_string();
    let own = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == own {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
        {
            continue;
        }
        let cmdline =
            text(&std::fs::read(e.path().join("cmdline")).unwrap_or_default()).replace('\0', " ");
        let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(run) {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}

/// After a run: nothing left, and the folder gone unless kept.
fn assert_clean(run: &Path, kept: bool) {
    let left = processes_in(run);
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    if !kept {
        assert!(!run.exists(), "{} was not removed", run.display());
    }
}

/// The `--json` report, validated against `schema/report.schema.json`
/// (the shape `check` and `lint` print too), with one finding per failed
/// check.
fn json(out: &Output) -> Value {
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "--json output is not JSON ({e}):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let schema: Value = serde_json::from_str(include_str!("../../../schema/report.schema.json"))
        .expect("the report schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{}\n{value:#}", problems.join("\n"));
    assert_eq!(value["command"], "drill");
    let failed = value["scenarios"].as_array().map_or(0, |s| {
        s.iter()
            .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["passed"] == false)
            .count()
    });
    let check_findings = value["findings"].as_array().map_or(0, |f| {
        f.iter()
            .filter(|f| f["code"] == "drill-check-failed")
            .count()
    });
    assert_eq!(failed, check_findings, "one finding per failed check");
    value
}

/// Every scenario ran and passed, with the table's worth of checks.
fn assert_all_passed(report: &Value, out: &Output) {
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "backend-failover",
            "redis-failover",
            "postgres",
            "load-balancer"
        ],
        "{}",
        text(&out.stderr)
    );
    for s in report["scenarios"].as_array().expect("scenarios") {
        assert!(
            s["passed"] == Value::Bool(true),
            "{} failed: {s:#}\n{}",
            s["name"],
            text(&out.stderr)
        );
    }
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The guide's topology passes every scenario; nothing it printed, logged or
/// rendered holds a secret value.
#[test]
fn prod_passes_every_scenario_and_leaks_no_secret() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("prod");
    let out = drill(PROD, &run, &["--json", "--keep"], None);
    let report = json(&out);
    let kept = scopeguard(&run);
    assert_all_passed(&report, &out);
    // The Redis failover stays within the topology's budget
    // (down-after 5s + failover-timeout 10s).
    // A killed backend costs a client at most the connect timeout: under
    // the guide's "<1 s" (the check fails the drill otherwise).
    let backend = report["scenarios"][0]["checks"].as_array().expect("checks");
    assert!(
        backend
            .iter()
            .any(|c| c["what"] == "slowest request while a backend was dead" && c["passed"] == true),
        "{report}"
    );
    let redis = &report["scenarios"][1]["checks"][0];
    assert_eq!(redis["what"], "Sentinels agree on a new master");
    assert!(
        redis["budget"]
            .as_str()
            .expect("budget")
            .starts_with("<= 15.0 s")
    );

    // The canaries: every secret the drill made up (TLS material aside).
    let secrets: Vec<String> = std::fs::read_dir(run.join("secrets"))
        .expect("secrets kept")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).expect("read secret"))
        .filter(|v| !v.contains("-----BEGIN"))
        .filter_map(|v| v.lines().next().map(str::to_owned))
        .filter(|v| v.len() >= 16 && !v.contains(':'))
        .collect();
    assert!(
        secrets.len() >= 5,
        "expected the topology's secrets: {secrets:?}"
    );
    let mut scanned = 0;
    for dir in ["bundle", "logs"] {
        for file in files_under(&run.join(dir)) {
            let body = text(&std::fs::read(&file).expect("read"));
            for s in &secrets {
                assert!(
                    !body.contains(s.as_str()),
                    "a secret value is in {}",
                    file.display()
                );
            }
            scanned += 1;
        }
    }
    assert!(scanned >= 20, "only {scanned} files scanned");
    for s in &secrets {
        assert!(
            !text(&out.stdout).contains(s.as_str()),
            "a secret is on stdout"
        );
        assert!(
            !text(&out.stderr).contains(s.as_str()),
            "a secret is on stderr"
        );
    }
    // The local variants of the rendered scripts pass shellcheck too (the
    // render tests check the Swarm and Compose ones).
    let scripts: Vec<PathBuf> = files_under(&run.join("bundle"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert!(scripts.len() >= 5, "{scripts:?}");
    let check = Command::new("shellcheck")
        .args(&scripts)
        .output()
        .expect("shellcheck is not installed: apt-get install shellcheck");
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    drop(kept);
    assert_clean(&run, false);
}

/// Removes a kept run folder when the test ends, pass or fail.
fn scopeguard(run: &Path) -> impl Drop {
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    Remove(run.to_path_buf())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The single-host example passes, printed as the table.
#[test]
fn minimal_example_passes_every_scenario() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("mini");
    let out = drill(MINIMAL, &run, &[], None);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}\n{}", text(&out.stderr));
    assert!(table.starts_with("scenario"), "{table}");
    for s in [
        "backend-failover",
        "redis-failover",
        "postgres",
        "load-balancer",
    ] {
        assert!(table.contains(s), "{s} missing from\n{table}");
    }
    assert!(!table.contains("FAIL"), "{table}");
    assert_clean(&run, false);
}

/// Three synchronous replicas, five Sentinels, ip-hash, a read endpoint.
#[test]
fn large_example_passes_every_scenario() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("large");
    let out = drill(LARGE, &run, &["--json"], None);
    assert_all_passed(&json(&out), &out);
    let lost = &json(&out)["scenarios"][2]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["what"] == "acknowledged commits lost")
        .cloned()
        .expect("lost commits check");
    assert!(
        lost["measured"]
            .as_str()
            .expect("measured")
            .starts_with("0 of"),
        "synchronous replication lost commits: {lost}"
    );
    assert_clean(&run, false);
}

/// Without the `host replication` lines no replica can clone: the drill
/// fails at start-up and says why.
#[test]
fn missing_replication_hba_line_fails_and_names_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("hba");
    let out = drill(
        PROD,
        &run,
        &["--scenario", "postgres"],
        Some("no-replication-hba"),
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("FAULT INJECTED: no-replication-hba"), "{all}");
    assert!(
        all.contains("no pg_hba.conf entry for replication connection"),
        "{all}"
    );
    assert!(all.contains("host replication"), "{all}");
    assert_clean(&run, false);
}

/// An old primary that comes back as a writer after the failover (what
/// the old runbook let happen) is caught: two members accept writes at
/// once, and the old primary does not rejoin.
#[test]
fn an_old_primary_that_writes_again_fails_the_postgres_scenario() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("writer");
    let out = drill(
        PROD,
        &run,
        &["--scenario", "postgres"],
        Some("old-primary-writes"),
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("FAULT INJECTED: old-primary-writes"), "{all}");
    let table = text(&out.stdout);
    let row = |what: &str| {
        table
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` row in\n{table}"))
            .to_owned()
    };
    let writers = row("members accepting writes at once");
    assert!(
        writers.contains("2 at once, postgres-1 and postgres-2") && writers.ends_with("FAIL"),
        "{writers}"
    );
    assert!(row("rejoins as a standby").ends_with("FAIL"), "{table}");
    assert_clean(&run, false);
}

/// Sentinels with another password than the data nodes never see a healthy
/// master: the drill fails and points at `sentinel auth-pass`.
#[test]
fn wrong_sentinel_auth_fails_and_names_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("auth");
    let out = drill(
        PROD,
        &run,
        &["--scenario", "redis-failover"],
        Some("wrong-sentinel-auth"),
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("sentinel auth-pass"), "{all}");
    assert!(all.contains("failed AUTH"), "{all}");
    assert_clean(&run, false);
}

/// A backend killed as on an overlay (its address drops connection
/// attempts): with the bundle's connect timeout the slowest request stays
/// under the guide's 1 s; with nginx's default 5s (the fault) it does not,
/// and the drill fails on that check while no request fails.
#[test]
fn a_slow_connect_timeout_fails_the_guides_one_second() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("slow-connect");
    let out = drill(
        PROD,
        &run,
        &["--scenario", "backend-failover", "--json"],
        Some("slow-connect"),
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    let report = json(&out);
    let checks = report["scenarios"][0]["checks"]
        .as_array()
        .expect("checks")
        .clone();
    let slowest = checks
        .iter()
        .find(|c| c["what"] == "slowest request while a backend was dead")
        .unwrap_or_else(|| panic!("no slowest-request check: {all}"));
    assert_eq!(slowest["passed"], false, "{slowest}");
    let seconds: f64 = slowest["measured"]
        .as_str()
        .and_then(|m| m.split(" s in nginx").next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{slowest}"));
    assert!(seconds >= 4.5, "{slowest}");
    // No client request failed: nginx still moved on, only late.
    assert_eq!(checks[0]["passed"], true, "{}", checks[0]);
    assert_clean(&run, false);
}

/// Ctrl-C in the middle of a scenario: every process stops, the run folder
/// goes, the exit status is 2.
#[test]
fn interrupt_stops_everything() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = run_dir("int");
    let mut child = drill_cmd(PROD, &run, &["--scenario", "redis-failover"], None)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pf-render runs");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("killed the master") {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let started = rx.recv_timeout(Duration::from_secs(90)).is_ok();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let end = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > end {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = reader.join().expect("reader");
    assert!(started, "the scenario never got going:\n{log}");
    let status = status.unwrap_or_else(|| panic!("no exit within 60s of Ctrl-C:\n{log}"));
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    assert_clean(&run, false);
}

/// Usage and environment errors exit 2 before anything starts.
#[test]
fn usage_errors_exit_2() {
    let run = run_dir("usage");
    let out = drill(PROD, &run, &["--scenario", "nope"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = drill(PROD, &run, &[], Some("no-such-fault"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unknown fault"));
    // A missing program names the Debian package that brings it.
    let out = drill_cmd(PROD, &run, &[], None)
        .env("PF_DRILL_PG_BIN", "/nonexistent/bin")
        .output()
        .expect("pf-render runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("install the Debian package postgresql"),
        "{}",
        text(&out.stderr)
    );
    assert_clean(&run, false);
}
