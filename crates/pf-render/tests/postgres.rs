//! The PostgreSQL artifacts against a real PostgreSQL (15 on the CI
//! machine): `postgres -C` reads every rendered setting back, a primary
//! boots with the rendered files, the rendered init script creates the
//! replication role and slots, the rendered replica entrypoint clones a
//! standby that streams under its slot name, the backup script dumps it,
//! and the standby is promoted. Negative: without the `host replication`
//! lines the clone is refused. shellcheck checks every emitted script.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pf_model::TopologyFile;
use pf_model::model::SyncMode;
use pf_render::{Bundle, Target};

const PRIMARY_CONF: &str = "postgresql/primary/postgresql.conf";
const HBA: &str = "postgresql/primary/pg_hba.conf";
const INIT: &str = "postgresql/primary/init-replication.sh";
const REPLICA_CONF: &str = "postgresql/replica/postgresql.conf";
const BOOTSTRAP: &str = "postgresql/replica/bootstrap-replica.sh";
const BACKUP: &str = "scripts/backup-from-replica.sh";

/// Secret values used only here; none may show up in a file or a log.
const OWNER_PASSWORD: &str = "owner-canary-5d1e";
/// `:` and `\` must survive the replica's libpq password file.
const REPLICATION_PASSWORD: &str = "repl:canary\\9b7c";

const PROD: &str = "topologies/prod.toml";
const LARGE: &str = "examples/large-multi-host.toml";

// ---------------------------------------------------------------------------
// Running PostgreSQL as an unprivileged user
// ---------------------------------------------------------------------------

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let (ok, out, _) = support::run(Command::new("id").arg("-u"));
        assert!(ok, "id -u failed");
        out.trim() == "0"
    })
}

/// `program` run as the `postgres` OS user when the tests run as root
/// (PostgreSQL refuses root), else as the current user. The environment is
/// kept, so `.env()` reaches the program.
fn as_pg(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Hands a folder to the user the servers run as.
fn give_to_pg(path: &Path) {
    if is_root() {
        let (ok, _, err) = support::run(Command::new("chown").arg("-R").arg("postgres:").arg(path));
        assert!(ok, "chown {}: {err}", path.display());
    }
}

/// The folder of the server binaries, put first on PATH so scripts use the
/// same version as the server (pg_dump refuses a newer server).
fn bin_dir() -> PathBuf {
    support::tool("postgres")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn path_with_bin() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `cmd`, killing it once `limit` has passed.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `probe` until it returns `Some`, or fails after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------
// The rewrite from container to loopback: the only changes the tests make
// ---------------------------------------------------------------------------

/// Points `hba_file` at the test's copy of pg_hba.conf.
fn with_hba_file(conf: &str, hba: &Path) -> String {
    replace_setting(conf, "hba_file", &format!("'{}'", hba.display()))
}

/// The rendered postgresql.conf on loopback: listen on 127.0.0.1 and a free
/// port, the test's pg_hba.conf, its socket in the test's folder.
fn localize_conf(conf: &str, port: u16, hba: &Path, socket_dir: &Path) -> String {
    let conf = with_hba_file(conf, hba);
    let conf = replace_setting(&conf, "listen_addresses", "'127.0.0.1'");
    let conf = replace_setting(&conf, "port", &port.to_string());
    format!(
        "{conf}unix_socket_directories = '{}'\n",
        socket_dir.display()
    )
}

/// The rendered pg_hba.conf on loopback: the overlay subnet becomes
/// 127.0.0.1/32; every other byte stays.
fn localize_hba(hba: &str, subnet: &str) -> String {
    let lines = hba
        .lines()
        .filter(|l| l.starts_with("host") && l.contains(subnet))
        .count();
    assert_eq!(
        lines, 2,
        "expected a replication and an application line for {subnet}:\n{hba}"
    );
    hba.replace(&format!(" {subnet} "), " 127.0.0.1/32 ")
}

fn replace_setting(conf: &str, name: &str, value: &str) -> String {
    let prefix = format!("{name} = ");
    let mut found = 0;
    let mut out = String::new();
    for line in conf.lines() {
        if line.starts_with(&prefix) {
            found += 1;
            out.push_str(&format!("{prefix}{value}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert_eq!(found, 1, "`{name}` must be set exactly once in:\n{conf}");
    out
}

// ---------------------------------------------------------------------------
// Topologies
// ---------------------------------------------------------------------------

fn spec(relative: &str) -> TopologyFile {
    let text = std::fs::read_to_string(support::root().join(relative)).expect("read topology");
    let checked = pf_model::from_str(&text, relative)
        .expect("parse")
        .validate();
    checked.topology.expect("valid topology").spec().clone()
}

fn slots(t: &TopologyFile) -> Vec<String> {
    pf_model::naming::postgres_instances(t.postgres.replicas)[1..]
        .iter()
        .map(|n| pf_model::naming::slot_name(n))
        .collect()
}

fn file<'a>(bundle: &'a Bundle, path: &str) -> &'a str {
    &bundle
        .get(path)
        .unwrap_or_else(|| panic!("bundle has no {path}"))
        .contents
}

// ---------------------------------------------------------------------------
// A PostgreSQL server in a temp folder, stopped on drop
// ---------------------------------------------------------------------------

struct Server {
    data: PathBuf,
    /// The postmaster, read from postmaster.pid once it runs.
    pid: Option<String>,
    socket_dir: PathBuf,
    port: u16,
    log: PathBuf,
    /// Role the checks connect as (over the socket, `local all all trust`).
    user: String,
}

impl Server {
    /// Starts a server on an existing data directory with `conf` as its
    /// configuration file.
    fn start(
        data: PathBuf,
        conf: &Path,
        port: u16,
        socket_dir: &Path,
        user: &str,
        extra: &str,
    ) -> Self {
        let log = data.with_extension("log");
        let mut server = Self {
            data,
            pid: None,
            socket_dir: socket_dir.to_path_buf(),
            port,
            log,
            user: user.to_owned(),
        };
        let out = run_bounded(
            as_pg(support::tool("pg_ctl"))
                .arg("-D")
                .arg(&server.data)
                .arg("-l")
                .arg(&server.log)
                .arg("-o")
                .arg(format!("-c config_file={} {extra}", conf.display()))
                .args(["-w", "-t", "30", "start"]),
            Duration::from_secs(40),
        );
        server.pid = postmaster_pid(&server.data);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {:?}\nlog:\n{}",
            text(&out),
            server.log_text()
        );
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One SQL statement; the unaligned, tuples-only result.
    fn query(&self, db: &str, sql: &str) -> Result<String, String> {
        self.query_with(db, sql, &[])
    }

    fn query_with(&self, db: &str, sql: &str, env: &[(&str, &str)]) -> Result<String, String> {
        let mut cmd = Command::new(support::tool("psql"));
        cmd.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                &self.user,
                "-d",
                db,
                "-c",
                sql,
            ])
            .envs(env.iter().copied());
        let out = run_bounded(&mut cmd, Duration::from_secs(20));
        let (stdout, stderr) = text(&out);
        if out.status.success() {
            Ok(stdout.trim().to_owned())
        } else {
            Err(stderr)
        }
    }

    fn sql(&self, db: &str, sql: &str) -> String {
        self.query(db, sql).unwrap_or_else(|e| {
            panic!(
                "`{sql}` failed on port {}: {e}\nlog:\n{}",
                self.port,
                self.log_text()
            )
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stopped = as_pg(support::tool("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "10", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            // pg_ctl failed: kill the postmaster by the pid it wrote.
            if let Some(pid) = self.pid.clone().or_else(|| postmaster_pid(&self.data)) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }
}

/// The first line of postmaster.pid: the postmaster's process id.
fn postmaster_pid(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid = text.lines().next()?.trim();
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then(|| pid.to_owned())
}

fn initdb(data: &Path, superuser: &str, password_file: &Path) {
    let out = run_bounded(
        as_pg(support::tool("initdb"))
            .arg("-D")
            .arg(data)
            .args([
                "-U",
                superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display())),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "initdb failed: {:?}", text(&out));
}

/// A primary set up the way the official image does it on first start:
/// initdb with the owner as superuser, the rendered configuration, the
/// application database, then the rendered init script.
struct Stage {
    /// Dropped first (fields drop in order): the server stops while its
    /// data directory still exists.
    primary: Server,
    spec: TopologyFile,
    bundle: PathBuf,
    hba: PathBuf,
    replication_password: PathBuf,
    owner_password: PathBuf,
    /// Dropped last.
    dir: tempfile::TempDir,
}

impl Stage {
    fn new(topology: &str, edit_hba: impl Fn(String) -> String) -> Self {
        let spec = spec(topology);
        let rendered = support::render(topology, Target::Swarm);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        let bundle = root.join("bundle");
        support::write_bundle(&rendered, &bundle);
        let hba = root.join("pg_hba.conf");
        std::fs::write(
            &hba,
            edit_hba(localize_hba(
                file(&rendered, HBA),
                &spec.network.subnet.to_string(),
            )),
        )
        .expect("write hba");
        let owner_password = root.join("owner-password");
        std::fs::write(&owner_password, format!("{OWNER_PASSWORD}\n")).expect("write secret");
        let replication_password = root.join("replication-password");
        std::fs::write(&replication_password, format!("{REPLICATION_PASSWORD}\n"))
            .expect("write secret");
        let port = support::free_port();
        let conf = root.join("primary.conf");
        std::fs::write(
            &conf,
            localize_conf(file(&rendered, PRIMARY_CONF), port, &hba, &root),
        )
        .expect("write conf");
        give_to_pg(&root);

        let owner = spec.postgres.owner.to_string();
        initdb(&root.join("primary"), &owner, &owner_password);
        let primary = Server::start(root.join("primary"), &conf, port, &root, &owner, "");

        let errors = primary.sql(
            "postgres",
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
        );
        assert_eq!(errors, "0", "pg_hba.conf has lines PostgreSQL cannot use");

        // What docker_setup_db does before the init scripts. With
        // synchronous replication, the commit of CREATE DATABASE would wait
        // for a standby that cannot exist yet: the stack gives the primary
        // PGOPTIONS=-c synchronous_commit=local for exactly this.
        let db = spec.postgres.database.to_string();
        primary
            .query_with(
                "postgres",
                &format!("CREATE DATABASE {db}"),
                &[("PGOPTIONS", "-c synchronous_commit=local")],
            )
            .expect("create the application database");

        let stage = Self {
            spec,
            bundle,
            hba,
            replication_password,
            owner_password,
            primary,
            dir,
        };
        for run in 1..=2 {
            let out = stage.run_init();
            assert!(
                out.status.success(),
                "init script run {run} failed: {:?}",
                text(&out)
            );
        }
        stage
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The rendered init script, pointed at the test primary through libpq
    /// variables, as the image runs it (owner and database in the env).
    fn run_init(&self) -> Output {
        run_bounded(
            as_pg(self.bundle.join(INIT))
                .env("PATH", path_with_bin())
                .env("PGHOST", self.root())
                .env("PGPORT", self.primary.port.to_string())
                .env("POSTGRES_USER", self.spec.postgres.owner.to_string())
                .env("POSTGRES_DB", self.spec.postgres.database.to_string())
                .env("PG_REPLICATION_PASSWORD_FILE", &self.replication_password),
            Duration::from_secs(30),
        )
    }

    /// The rendered replica entrypoint with `--bootstrap-only`, pointed at the
    /// test primary.
    fn run_bootstrap(&self, data: &Path, slot: Option<&str>) -> Output {
        self.run_entrypoint(data, slot, &["--bootstrap-only"])
    }

    /// The rendered replica entrypoint pointed at the test primary. Its
    /// final `exec docker-entrypoint.sh ...` reaches a stand-in that prints
    /// its arguments (`entrypoint: postgres -c ...`).
    fn run_entrypoint(&self, data: &Path, slot: Option<&str>, args: &[&str]) -> Output {
        let fake_bin = self.root().join("fake-bin");
        let fake = fake_bin.join("docker-entrypoint.sh");
        if !fake.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&fake_bin).expect("mkdir");
            std::fs::write(
                &fake,
                "#!/bin/sh\nprintf 'entrypoint:'\nprintf ' %s' \"$@\"\necho\n",
            )
            .expect("write stand-in");
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let mut cmd = as_pg(self.bundle.join(BOOTSTRAP));
        cmd.args(args)
            .env(
                "PATH",
                format!("{}:{}", fake_bin.display(), path_with_bin()),
            )
            .env("PGDATA", data)
            .env("PG_PRIMARY_HOST", "127.0.0.1")
            .env("PG_PRIMARY_PORT", self.primary.port.to_string())
            .env("PG_REPLICATION_PASSWORD_FILE", &self.replication_password)
            .env("PG_PASSFILE", self.root().join("replication.pgpass"))
            .env_remove("PG_SLOT");
        if let Some(slot) = slot {
            cmd.env("PG_SLOT", slot);
        }
        run_bounded(&mut cmd, Duration::from_secs(60))
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// `postgres -C` reads every rendered postgresql.conf (so every setting
/// exists and has a valid value on this PostgreSQL) and reports the values
/// the topology asked for; the replica never runs below the primary.
#[test]
fn postgres_reads_the_rendered_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let data = root.join("data");
    let pw = root.join("pw");
    std::fs::write(&pw, "unused\n").expect("write");
    give_to_pg(root);
    initdb(&data, "postgres", &pw);

    let read = |conf: &Path, param: &str| -> String {
        let out = run_bounded(
            as_pg(support::tool("postgres"))
                .args(["-C", param, "-c"])
                .arg(format!("config_file={}", conf.display()))
                .arg("-D")
                .arg(&data),
            Duration::from_secs(10),
        );
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "postgres -C {param} with {}: {stderr}",
            conf.display()
        );
        stdout.trim_end_matches('\n').to_owned()
    };

    let mut checked = 0;
    for (index, (topology, target, bundle)) in support::all_bundles().into_iter().enumerate() {
        let t = spec(&topology);
        let pg = &t.postgres;
        let case = root.join(format!("case{index}"));
        let hba = case.join("pg_hba.conf");
        std::fs::create_dir_all(&case).expect("mkdir");
        std::fs::write(&hba, file(&bundle, HBA)).expect("write");
        let primary = case.join("primary.conf");
        std::fs::write(&primary, with_hba_file(file(&bundle, PRIMARY_CONF), &hba)).expect("write");
        let replica = case.join("replica.conf");
        let has_replicas = pg.replicas > 0;
        if has_replicas {
            std::fs::write(&replica, with_hba_file(file(&bundle, REPLICA_CONF), &hba))
                .expect("write");
        } else {
            assert!(bundle.get(REPLICA_CONF).is_none() && bundle.get(BOOTSTRAP).is_none());
        }
        give_to_pg(&case);

        // `postgres -C` prints a size as a number of its base unit (MB here).
        let keep = pg.max_slot_wal_keep_size.map_or_else(
            || "-1".to_owned(),
            |b| (b.bytes() / (1024 * 1024)).to_string(),
        );
        let sync = match pg.synchronous {
            SyncMode::Off => String::new(),
            SyncMode::Any(n) | SyncMode::First(n) => {
                let kind = if matches!(pg.synchronous, SyncMode::Any(_)) {
                    "ANY"
                } else {
                    "FIRST"
                };
                let names: Vec<String> = slots(&t).iter().map(|s| format!("\"{s}\"")).collect();
                format!("{kind} {n} ({})", names.join(", "))
            }
        };
        let hba_path = hba.display().to_string();
        let shared = [
            ("listen_addresses", "*".to_owned()),
            ("port", pg.port.to_string()),
            ("max_connections", pg.max_connections.to_string()),
            ("password_encryption", "scram-sha-256".to_owned()),
            ("hba_file", hba_path),
            ("wal_level", "replica".to_owned()),
            ("max_wal_senders", pg.max_wal_senders.to_string()),
            (
                "max_replication_slots",
                pg.max_replication_slots.to_string(),
            ),
            ("max_slot_wal_keep_size", keep),
            ("wal_log_hints", "on".to_owned()),
            ("hot_standby", "on".to_owned()),
            ("logging_collector", "off".to_owned()),
            ("log_destination", "stderr".to_owned()),
        ];
        let case_name = format!("{topology} ({target})");
        for (param, want) in &shared {
            assert_eq!(
                &read(&primary, param),
                want,
                "primary {param} of {case_name}"
            );
        }
        assert_eq!(
            read(&primary, "cluster_name"),
            "postgres_primary",
            "{case_name}"
        );
        assert_eq!(
            read(&primary, "synchronous_standby_names"),
            sync,
            "{case_name}"
        );
        assert_eq!(read(&primary, "synchronous_commit"), "on", "{case_name}");
        if !has_replicas {
            continue;
        }
        for (param, want) in &shared {
            assert_eq!(
                &read(&replica, param),
                want,
                "replica {param} of {case_name}"
            );
        }
        assert_eq!(read(&replica, "hot_standby_feedback"), "on", "{case_name}");
        // Each replica names itself with -c cluster_name=$PG_SLOT.
        assert_eq!(read(&replica, "cluster_name"), "", "{case_name}");
        // A promoted replica must not wait for standbys that follow the old primary.
        assert_eq!(
            read(&replica, "synchronous_standby_names"),
            "",
            "{case_name}"
        );
        for param in [
            "max_connections",
            "max_worker_processes",
            "max_wal_senders",
            "max_locks_per_transaction",
            "max_prepared_transactions",
        ] {
            let (p, r) = (read(&primary, param), read(&replica, param));
            let (pn, rn): (u64, u64) = (p.parse().expect("number"), r.parse().expect("number"));
            assert!(
                rn >= pn,
                "{case_name}: replica {param} = {r} is below the primary's {p}"
            );
            assert!(
                file(&bundle, PRIMARY_CONF).contains(&format!("\n{param} = {p}\n")),
                "{param} not explicit"
            );
            assert!(
                file(&bundle, REPLICA_CONF).contains(&format!("\n{param} = {r}\n")),
                "{param} not explicit"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} bundles had replicas");
}

/// The rendered pg_hba.conf is what the security rules ask for.
#[test]
fn hba_lines_are_scram_only_and_replication_comes_first() {
    for (topology, target, bundle) in support::all_bundles() {
        let t = spec(&topology);
        let subnet = t.network.subnet.to_string();
        let role = t.postgres.replication_role.to_string();
        let rules: Vec<Vec<&str>> = file(&bundle, HBA)
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect())
            .collect();
        let expected: Vec<Vec<&str>> = vec![
            vec!["local", "all", "all", "trust"],
            vec!["host", "replication", &role, &subnet, "scram-sha-256"],
            vec![
                "host",
                "replication",
                &role,
                "127.0.0.1/32",
                "scram-sha-256",
            ],
            vec!["host", "all", "all", &subnet, "scram-sha-256"],
            vec!["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
        ];
        assert_eq!(rules, expected, "{topology} ({target})");
    }
}

fn boot(topology: &str) {
    let stage = Stage::new(topology, |hba| hba);
    let t = &stage.spec;
    let primary = &stage.primary;
    let db = t.postgres.database.to_string();
    let role = t.postgres.replication_role.to_string();
    let slots = slots(t);
    let slot = slots[0].as_str();

    // The init script (run twice by Stage::new): a login replication role
    // with a SCRAM password, one slot per replica, nothing more.
    assert_eq!(
        primary.sql("postgres", &format!(
            "SELECT rolcanlogin, rolreplication, rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = '{role}'"
        )),
        "t|t|t"
    );
    let got: Vec<String> = primary
        .sql("postgres", "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut want = slots.clone();
    want.sort();
    assert_eq!(got, want);

    // PG_SLOT is required.
    let replica_data = stage.root().join("replica");
    let out = stage.run_bootstrap(&replica_data, None);
    assert!(
        !out.status.success() && text(&out).1.contains("PG_SLOT is not set"),
        "{:?}",
        text(&out)
    );

    // A clone interrupted earlier left files but no PG_VERSION: emptied first.
    std::fs::create_dir_all(replica_data.join("base")).expect("mkdir");
    std::fs::write(replica_data.join("base/leftover"), "x").expect("write");
    give_to_pg(&replica_data);
    let out = stage.run_bootstrap(&replica_data, Some(slot));
    assert!(
        out.status.success(),
        "bootstrap failed: {:?}\nprimary log:\n{}",
        text(&out),
        primary.log_text()
    );
    assert!(
        replica_data.join("PG_VERSION").is_file() && replica_data.join("standby.signal").is_file()
    );
    assert!(
        !replica_data.join("base/leftover").exists(),
        "the partial clone was not emptied"
    );
    let auto =
        std::fs::read_to_string(replica_data.join("postgresql.auto.conf")).expect("auto.conf");
    assert!(
        auto.contains(&format!("primary_slot_name = '{slot}'")),
        "{auto}"
    );
    assert!(auto.contains("passfile="), "{auto}");
    assert!(
        !auto.contains("canary") && !auto.contains("password="),
        "a password landed in the data directory:\n{auto}"
    );

    // The standby, with the rendered replica configuration and its name.
    let replica_conf = stage.root().join("replica.conf");
    let replica_port = support::free_port();
    let rendered_replica = std::fs::read_to_string(stage.bundle.join(REPLICA_CONF)).expect("read");
    std::fs::write(
        &replica_conf,
        localize_conf(&rendered_replica, replica_port, &stage.hba, stage.root()),
    )
    .expect("write conf");
    give_to_pg(stage.root());
    let replica = Server::start(
        replica_data.clone(),
        &replica_conf,
        replica_port,
        stage.root(),
        &t.postgres.owner.to_string(),
        &format!("-c cluster_name={slot}"),
    );

    let streaming = "SELECT application_name, state, sync_state FROM pg_stat_replication";
    wait_for("the standby to stream", Duration::from_secs(20), || {
        primary
            .sql("postgres", streaming)
            .contains("|streaming|")
            .then_some(())
    });

    // A write on the primary reaches the standby. With synchronous
    // replication the commit itself waits for this standby (a psql that
    // hangs fails the test): it returns only because the standby's name
    // matches synchronous_standby_names.
    primary.sql(&db, "CREATE TABLE drill (id int PRIMARY KEY, note text)");
    primary.sql(&db, "INSERT INTO drill VALUES (1, 'from the primary')");
    wait_for("the row on the standby", Duration::from_secs(20), || {
        let note = replica
            .query(&db, "SELECT note FROM drill WHERE id = 1")
            .ok()?;
        (note == "from the primary").then_some(())
    });
    // The standby counts as synchronous once it has reported a flush
    // position, which the writes above made it do.
    let sync_state = match t.postgres.synchronous {
        SyncMode::Off => "async",
        SyncMode::Any(_) => "quorum",
        SyncMode::First(_) => "sync",
    };
    let want = format!("{slot}|streaming|{sync_state}");
    wait_for(
        &format!("pg_stat_replication to show {want}"),
        Duration::from_secs(15),
        || (primary.sql("postgres", streaming) == want).then_some(()),
    );
    assert_eq!(replica.sql("postgres", "SELECT pg_is_in_recovery()"), "t");

    // The guide's backup from the replica, verified.
    let dump = stage.root().join("backups/drill.dump");
    let out = run_bounded(
        as_pg(stage.bundle.join(BACKUP))
            .arg("--verify")
            .arg(&dump)
            .env("PATH", path_with_bin())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", replica_port.to_string())
            .env("POSTGRES_PASSWORD_FILE", &stage.owner_password)
            .env_remove("PGPASSFILE"),
        Duration::from_secs(30),
    );
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stdout.contains("verified"),
        "backup failed: {stdout}\n{stderr}"
    );
    assert!(!stderr.contains("not a standby"), "{stderr}");
    let (ok, listing, err) = support::run(
        Command::new(bin_dir().join("pg_restore"))
            .arg("--list")
            .arg(&dump),
    );
    assert!(
        ok && listing.contains("TABLE DATA public drill"),
        "{listing}{err}"
    );

    // Promotion: the standby leaves recovery and takes writes without
    // waiting for standbys.
    assert_eq!(
        replica.sql(
            "postgres",
            "SELECT pg_promote(wait => true, wait_seconds => 30)"
        ),
        "t"
    );
    assert_eq!(replica.sql("postgres", "SELECT pg_is_in_recovery()"), "f");
    replica.sql(&db, "INSERT INTO drill VALUES (2, 'after the promotion')");
    assert_eq!(replica.sql(&db, "SELECT count(*) FROM drill"), "2");

    // Running the entrypoint again on a cluster (a container restart) is a
    // no-op: no new clone (which would bring standby.signal back), the
    // promoted server untouched; then it starts PostgreSQL with the config
    // file and the slot's name, as this test started the standby.
    let out = stage.run_entrypoint(&replica_data, Some(slot), &[]);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stdout.contains("not cloning"),
        "{stdout}{stderr}"
    );
    let exec_line = format!(
        "entrypoint: postgres -c config_file=/etc/postgresql/postgresql.conf -c cluster_name={slot}\n"
    );
    assert!(stdout.ends_with(&exec_line), "{stdout}");
    assert!(!replica_data.join("standby.signal").exists());
    assert_eq!(replica.sql(&db, "SELECT count(*) FROM drill"), "2");

    // No secret in any log.
    for (name, log) in [
        ("primary", primary.log_text()),
        ("replica", replica.log_text()),
    ] {
        assert!(!log.contains("canary"), "a password is in the {name} log");
    }
}

/// The guide's topology: one asynchronous replica.
#[test]
fn prod_primary_and_replica_stream_and_promote() {
    boot(PROD);
}

/// Quorum synchronous replication (`any 1` of three replicas): the commit
/// on the primary returns only because the one running standby's name is
/// in synchronous_standby_names.
#[test]
fn synchronous_primary_and_replica_stream_and_promote() {
    boot(LARGE);
}

/// Without the `host replication` lines, `all` does not cover replication
/// connections and the clone is refused: the boot tests depend on them.
#[test]
fn clone_is_refused_without_the_replication_hba_lines() {
    let stage = Stage::new(PROD, |hba| {
        let kept: Vec<&str> = hba
            .lines()
            .filter(|l| !l.starts_with("host replication"))
            .collect();
        assert_eq!(
            kept.len() + 2,
            hba.lines().count(),
            "expected two replication lines"
        );
        kept.join("\n") + "\n"
    });
    let slot = slots(&stage.spec).remove(0);
    let data = stage.root().join("replica");
    let out = stage.run_bootstrap(&data, Some(&slot));
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "the clone succeeded without a replication line: {stdout}"
    );
    assert!(
        stderr.contains("no pg_hba.conf entry for replication connection"),
        "{stderr}"
    );
    assert!(!data.join("PG_VERSION").exists());
}

/// Every script the area emits passes shellcheck.
#[test]
fn scripts_pass_shellcheck() {
    let shellcheck = support::tool("shellcheck");
    for (topology, target, bundle) in support::all_bundles() {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        let scripts: Vec<PathBuf> = [INIT, BOOTSTRAP, BACKUP]
            .iter()
            .filter(|p| bundle.get(p).is_some())
            .map(|p| dir.path().join(p))
            .collect();
        assert!(scripts.len() >= 2, "{topology} ({target}): scripts missing");
        let (ok, out, err) = support::run(Command::new(&shellcheck).args(&scripts));
        assert!(ok, "{topology} ({target}):\n{out}{err}");
    }
}
