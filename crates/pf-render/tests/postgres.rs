//! The PostgreSQL artifacts against a real PostgreSQL (15 on the CI
//! machine): `postgres -C` reads every rendered setting back; the rendered
//! member entrypoint decides each member's role, and the tests start the
//! servers it asks for: a new cluster with the rendered files and init
//! script, a clone that streams under its slot name, a backup restored
//! into a scratch server, a promotion that refuses while the primary
//! answers, the old primary rejoining with pg_rewind, a promotion by the
//! topology that waits out the fence, an invalidated slot cloned again.
//! Negative: without the `host replication` lines the clone is refused.
//! shellcheck checks every emitted script.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pf_model::TopologyFile;
use pf_model::model::SyncMode;
use pf_render::{Bundle, Target};

const PRIMARY_CONF: &str = "postgresql/primary.conf";
const STANDBY_CONF: &str = "postgresql/standby.conf";
const HBA: &str = "postgresql/pg_hba.conf";
const INIT: &str = "postgresql/init-replication.sh";
const MEMBER: &str = "postgresql/member.sh";
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

/// Every member's slot, in order (`postgres_1`, ...).
fn slots(t: &TopologyFile) -> Vec<String> {
    pf_model::naming::postgres_instances(t.postgres.replicas)
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
    /// Cleared once the test crashed or stopped it: nothing left to stop.
    running: bool,
}

impl Server {
    /// Starts a server on an existing data directory with `args` (`-c
    /// name=value` pairs, the configuration file among them), as the
    /// member script hands them to the image's entrypoint.
    fn start(data: PathBuf, port: u16, socket_dir: &Path, user: &str, args: &[String]) -> Self {
        let log = data.with_extension("log");
        let mut server = Self {
            data,
            pid: None,
            socket_dir: socket_dir.to_path_buf(),
            port,
            log,
            user: user.to_owned(),
            running: true,
        };
        // pg_ctl runs postgres through the shell: one quoted word per argument.
        let options: Vec<String> = args
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let out = run_bounded(
            as_pg(support::tool("pg_ctl"))
                .arg("-D")
                .arg(&server.data)
                .arg("-l")
                .arg(&server.log)
                .arg("-o")
                .arg(options.join(" "))
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

    /// SIGKILL to the postmaster: a crashed host.
    fn crash(&mut self) {
        self.running = false;
        if let Some(pid) = self.pid.clone() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            wait_for("the killed server to exit", Duration::from_secs(20), || {
                (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
            });
        }
    }

    /// A fast shutdown, as `docker stop` asks for it.
    fn stop(&mut self) {
        self.running = false;
        let out = run_bounded(
            as_pg(support::tool("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "-t", "30", "stop"]),
            Duration::from_secs(40),
        );
        assert!(out.status.success(), "pg_ctl stop failed: {:?}", text(&out));
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
        if !self.running {
            return;
        }
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
            if let Some(pid) = self.pid.clone() {
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
                // What the stack passes in POSTGRES_INITDB_ARGS.
                "--data-checksums",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display())),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "initdb failed: {:?}", text(&out));
}

/// The owner and the database of a topology.
fn owner_db(t: &TopologyFile) -> (String, String) {
    (
        t.postgres.owner.to_string(),
        t.postgres.database.to_string(),
    )
}

/// Where one member lives in the test: its data folder, its port on
/// 127.0.0.1 and its two configuration files, localized to that port.
struct Place {
    data: PathBuf,
    port: u16,
    primary_conf: PathBuf,
    standby_conf: PathBuf,
}

/// The members of a rendered Swarm bundle on loopback: each on its own
/// port, every socket in the test's folder, the rendered member script run
/// as the stack runs it (PG_MEMBER, PG_PRIMARY), with the addresses of the
/// other members replaced (PG_MEMBER_ADDRESSES) and the image's entrypoint
/// replaced by a stand-in that prints the arguments it was given: the
/// test starts the server the script asked for with exactly those.
struct Cluster {
    spec: TopologyFile,
    bundle: PathBuf,
    replication_password: PathBuf,
    owner_password: PathBuf,
    places: Vec<(String, Place)>,
    /// Dropped last.
    dir: tempfile::TempDir,
}

/// What a run of the member script printed, and the server it asked for.
struct Decision {
    ok: bool,
    stdout: String,
    stderr: String,
    /// The arguments given to the image's entrypoint (`-c name=value`
    /// pairs after `postgres`), when the script got that far.
    args: Option<Vec<String>>,
}

impl Decision {
    /// The value of `-c name=` among the arguments.
    fn setting(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.args
            .as_ref()?
            .iter()
            .find_map(|a| a.strip_prefix(&prefix).map(str::to_owned))
    }

    fn describe(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

impl Cluster {
    fn new(topology: &str, edit_hba: impl Fn(String) -> String) -> Self {
        Self::with_conf(topology, edit_hba, |c| c)
    }

    /// `edit_conf` changes both localized configuration files of every member.
    fn with_conf(
        topology: &str,
        edit_hba: impl Fn(String) -> String,
        edit_conf: impl Fn(String) -> String,
    ) -> Self {
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
        let places = pf_model::naming::postgres_instances(spec.postgres.replicas)
            .into_iter()
            .map(|name| {
                let port = support::free_port();
                let conf = |artifact: &str, kind: &str| {
                    let path = root.join(format!("{name}-{kind}.conf"));
                    let text = localize_conf(file(&rendered, artifact), port, &hba, &root);
                    std::fs::write(&path, edit_conf(text)).expect("write conf");
                    path
                };
                let place = Place {
                    data: root.join(&name),
                    port,
                    primary_conf: conf(PRIMARY_CONF, "primary"),
                    standby_conf: conf(STANDBY_CONF, "standby"),
                };
                (name, place)
            })
            .collect();
        let fake_bin = root.join("fake-bin");
        std::fs::create_dir_all(&fake_bin).expect("mkdir");
        let fake = fake_bin.join("docker-entrypoint.sh");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'entrypoint:'\nfor a in \"$@\"; do printf 'arg:%s\\n' \"$a\"; done\n",
        )
        .expect("write stand-in");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        give_to_pg(&root);
        Self {
            spec,
            bundle,
            replication_password,
            owner_password,
            places,
            dir,
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn place(&self, name: &str) -> &Place {
        &self
            .places
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no member {name}"))
            .1
    }

    /// The rendered member script as member `name` with `primary` as
    /// postgres.primary, and `args`; `env` adds or overrides variables.
    fn member(&self, name: &str, primary: &str, args: &[&str], env: &[(&str, &str)]) -> Decision {
        let place = self.place(name);
        let addresses: Vec<String> = self
            .places
            .iter()
            .map(|(n, p)| format!("{n}=127.0.0.1:{}", p.port))
            .collect();
        let (owner, db) = owner_db(&self.spec);
        let mut cmd = as_pg(self.bundle.join(MEMBER));
        cmd.args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.root().join("fake-bin").display(),
                    path_with_bin()
                ),
            )
            .env("PGDATA", &place.data)
            .env("PG_MEMBER", name)
            .env("PG_PRIMARY", primary)
            .env("PG_MEMBER_ADDRESSES", addresses.join(" "))
            .env("PG_REPLICATION_PASSWORD_FILE", &self.replication_password)
            .env("PG_PASSFILE", self.root().join(format!("{name}.pgpass")))
            .env("PG_PRIMARY_CONF", &place.primary_conf)
            .env("PG_STANDBY_CONF", &place.standby_conf)
            .env("PG_SOCKET_DIR", self.root())
            .env("POSTGRES_USER", owner)
            .env("POSTGRES_DB", db)
            .env("PGOPTIONS", "-c synchronous_commit=local")
            .envs(env.iter().copied());
        let out = run_bounded(&mut cmd, Duration::from_secs(120));
        let (stdout, stderr) = text(&out);
        let args = stdout.contains("entrypoint:\n").then(|| {
            let mut args: Vec<String> = stdout
                .lines()
                .filter_map(|l| l.strip_prefix("arg:").map(str::to_owned))
                .collect();
            assert_eq!(
                args.first().map(String::as_str),
                Some("postgres"),
                "{stdout}"
            );
            args.remove(0);
            args
        });
        Decision {
            ok: out.status.success(),
            stdout,
            stderr,
            args,
        }
    }

    /// The server `decision` asked for, on member `name`'s place.
    fn start(&self, name: &str, decision: &Decision) -> Server {
        let args = decision.args.as_ref().unwrap_or_else(|| {
            panic!(
                "{name}: the script started no server\n{}",
                decision.describe()
            )
        });
        let place = self.place(name);
        give_to_pg(self.root());
        Server::start(
            place.data.clone(),
            place.port,
            self.root(),
            &self.spec.postgres.owner.to_string(),
            args,
        )
    }

    /// A new cluster on member `name`, as the stack makes it: the script
    /// finds no other member and hands over to the image's entrypoint,
    /// which initialises the data folder, creates the application database
    /// and runs the rendered init script (the test does the image's part).
    fn init(&self, name: &str) -> Server {
        let decision = self.member(name, name, &[], &[]);
        assert!(
            decision.ok && decision.stdout.contains("initialises a new cluster"),
            "{}",
            decision.describe()
        );
        let place = self.place(name);
        assert_eq!(
            decision.setting("config_file").map(PathBuf::from),
            Some(place.primary_conf.clone())
        );
        let (owner, db) = owner_db(&self.spec);
        initdb(&place.data, &owner, &self.owner_password);
        let server = self.start(name, &decision);
        let errors = server.sql(
            "postgres",
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
        );
        assert_eq!(errors, "0", "pg_hba.conf has lines PostgreSQL cannot use");
        // What docker_setup_db does before the init scripts. With
        // synchronous replication, the commit of CREATE DATABASE would wait
        // for a standby that cannot exist yet: the stack gives every member
        // PGOPTIONS=-c synchronous_commit=local for exactly this.
        server
            .query_with(
                "postgres",
                &format!("CREATE DATABASE {db}"),
                &[("PGOPTIONS", "-c synchronous_commit=local")],
            )
            .expect("create the application database");
        for run in 1..=2 {
            let out = self.run_init(&server, name);
            assert!(
                out.status.success(),
                "init script run {run} failed: {:?}",
                text(&out)
            );
        }
        server
    }

    /// The rendered init script on `server`, as the image runs it (owner
    /// and database in the environment, PG_MEMBER of the member).
    fn run_init(&self, server: &Server, name: &str) -> Output {
        let (owner, db) = owner_db(&self.spec);
        run_bounded(
            as_pg(self.bundle.join(INIT))
                .env("PATH", path_with_bin())
                .env("PGHOST", self.root())
                .env("PGPORT", server.port.to_string())
                .env("POSTGRES_USER", owner)
                .env("POSTGRES_DB", db)
                .env("PG_MEMBER", name)
                .env("PG_REPLICATION_PASSWORD_FILE", &self.replication_password),
            Duration::from_secs(30),
        )
    }

    /// Member `name` cloned from `primary` by the script, then started.
    fn clone_member(&self, name: &str, primary: &str) -> Server {
        let decision = self.member(name, primary, &[], &[]);
        assert!(decision.ok, "{}", decision.describe());
        assert!(
            decision.stdout.contains("cloning"),
            "{}",
            decision.describe()
        );
        self.start(name, &decision)
    }
}

/// Waits until `standby` streams from `primary` under `slot`.
fn wait_streaming(primary: &Server, standby: &Server, slot: &str) {
    let start = Instant::now();
    let query = "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'";
    while !primary.sql("postgres", query).lines().any(|l| l == slot) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{slot} did not stream within 30s; its log:\n{}\nthe primary's log:\n{}",
            standby.log_text(),
            primary.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A PostgreSQL server's own timeline, from the WAL file it writes.
fn timeline(server: &Server) -> u32 {
    let name = server.sql("postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    u32::from_str_radix(&name[..8], 16).expect("hex timeline")
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// `postgres -C` reads every rendered postgresql.conf (so every setting
/// exists and has a valid value on this PostgreSQL) and reports the values
/// the topology asked for; a standby never runs below the primary.
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
        let standby = case.join("standby.conf");
        std::fs::write(&standby, with_hba_file(file(&bundle, STANDBY_CONF), &hba)).expect("write");
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
                // Every member: the file is the same whichever is primary.
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
            ("hot_standby_feedback", "on".to_owned()),
            // Well under IPVS's 900 s idle timeout (seconds, probes).
            ("tcp_keepalives_idle", "60".to_owned()),
            ("tcp_keepalives_interval", "10".to_owned()),
            ("tcp_keepalives_count", "6".to_owned()),
            // Every member gets its name on the command line.
            ("cluster_name", String::new()),
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
            assert_eq!(
                &read(&standby, param),
                want,
                "standby {param} of {case_name}"
            );
        }
        assert_eq!(
            read(&primary, "synchronous_standby_names"),
            sync,
            "{case_name}"
        );
        assert_eq!(read(&primary, "synchronous_commit"), "on", "{case_name}");
        // A member promoted while it runs must not wait for standbys that
        // still follow the old primary.
        assert_eq!(
            read(&standby, "synchronous_standby_names"),
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
            let (p, r) = (read(&primary, param), read(&standby, param));
            assert_eq!(p, r, "{case_name}: {param} differs between the two files");
            assert!(
                file(&bundle, PRIMARY_CONF).contains(&format!("\n{param} = {p}\n")),
                "{param} not explicit"
            );
            assert!(
                file(&bundle, STANDBY_CONF).contains(&format!("\n{param} = {r}\n")),
                "{param} not explicit"
            );
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} bundles were checked");
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

/// A new cluster, a clone, streaming, a backup restored into a scratch
/// server, a promotion refused while the primary answers and done once it
/// is down, the old primary rejoining with pg_rewind, and a stale
/// postgres.primary that must not promote while another member is the
/// primary.
fn boot(topology: &str) {
    let c = Cluster::new(topology, |hba| hba);
    let t = &c.spec;
    let (owner, db) = owner_db(t);
    let role = t.postgres.replication_role.to_string();
    let slots = slots(t);
    let mut p1 = c.init("postgres-1");

    // The init script (run twice): a login replication role with a SCRAM
    // password, the grants pg_rewind needs, a slot for every other member
    // and none for the member it ran on.
    assert_eq!(
        p1.sql("postgres", &format!(
            "SELECT rolcanlogin, rolreplication, rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = '{role}'"
        )),
        "t|t|t"
    );
    assert_eq!(
        p1.sql("postgres", &format!(
            "SELECT has_function_privilege('{role}', 'pg_read_binary_file(text, bigint, bigint, boolean)', 'execute')"
        )),
        "t"
    );
    let got: Vec<String> = p1
        .sql("postgres", "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, slots[1..], "a slot for every other member");

    // PG_MEMBER is required.
    let out = c.member("postgres-2", "postgres-1", &[], &[("PG_MEMBER", "")]);
    assert!(
        !out.ok && out.stderr.contains("PG_MEMBER is not set"),
        "{}",
        out.describe()
    );

    // A clone interrupted earlier left files but no PG_VERSION: emptied first.
    let d2 = c.place("postgres-2").data.clone();
    std::fs::create_dir_all(d2.join("base")).expect("mkdir");
    std::fs::write(d2.join("base/leftover"), "x").expect("write");
    give_to_pg(&d2);
    let decision = c.member("postgres-2", "postgres-1", &[], &[]);
    assert!(decision.ok, "{}", decision.describe());
    assert!(d2.join("PG_VERSION").is_file() && d2.join("standby.signal").is_file());
    assert!(
        !d2.join("base/leftover").exists(),
        "the partial clone was not emptied"
    );
    assert_eq!(
        decision.setting("config_file").map(PathBuf::from),
        Some(c.place("postgres-2").standby_conf.clone())
    );
    assert_eq!(
        decision.setting("cluster_name").as_deref(),
        Some("postgres_2")
    );
    assert_eq!(
        decision.setting("primary_slot_name").as_deref(),
        Some("postgres_2")
    );
    let conninfo = decision.setting("primary_conninfo").unwrap_or_default();
    assert!(
        conninfo.contains(&format!(
            "host=127.0.0.1 port={} ",
            c.place("postgres-1").port
        )) && conninfo.contains("passfile=")
            && conninfo.contains("keepalives_idle=60"),
        "{conninfo}"
    );
    let auto = std::fs::read_to_string(d2.join("postgresql.auto.conf")).unwrap_or_default();
    assert!(
        !auto.contains("canary") && !auto.contains("password="),
        "a password landed in the data directory:\n{auto}"
    );
    let p2 = c.start("postgres-2", &decision);
    wait_streaming(&p1, &p2, "postgres_2");

    // A write on the primary reaches the standby. With synchronous
    // replication the commit itself waits for this standby (a psql that
    // hangs fails the test): it returns only because the standby's name
    // is in synchronous_standby_names.
    p1.sql(&db, "CREATE TABLE drill (id int PRIMARY KEY, note text)");
    p1.sql(&db, "INSERT INTO drill VALUES (1, 'from the primary')");
    wait_for("the row on the standby", Duration::from_secs(20), || {
        let note = p2.query(&db, "SELECT note FROM drill WHERE id = 1").ok()?;
        (note == "from the primary").then_some(())
    });
    let sync_state = match t.postgres.synchronous {
        SyncMode::Off => "async",
        SyncMode::Any(_) => "quorum",
        SyncMode::First(_) => "sync",
    };
    let streaming = "SELECT application_name, state, sync_state FROM pg_stat_replication";
    let want = format!("postgres_2|streaming|{sync_state}");
    wait_for(
        &format!("pg_stat_replication to show {want}"),
        Duration::from_secs(15),
        || (p1.sql("postgres", streaming) == want).then_some(()),
    );
    assert_eq!(p2.sql("postgres", "SELECT pg_is_in_recovery()"), "t");

    // The guide's backup from the replica, restored into a scratch server.
    backup_and_restore(&c, &p2);

    // --status names every member's role from where it runs.
    let status = c.member("postgres-2", "postgres-1", &["--status"], &[]);
    assert!(status.ok, "{}", status.describe());
    assert!(
        status
            .stdout
            .contains(&format!("postgres-1 127.0.0.1:{} primary 1 ", p1.port))
            && status
                .stdout
                .contains(&format!("postgres-2 127.0.0.1:{} standby ", p2.port)),
        "{}",
        status.describe()
    );

    // --promote refuses while the primary answers, whatever the caller says.
    let quick = [("PG_WAIT_SECONDS", "2"), ("PG_FENCE_SECONDS", "1")];
    let refused = c.member(
        "postgres-2",
        "postgres-1",
        &["--promote", "--old-primary-stopped"],
        &quick,
    );
    assert!(
        !refused.ok
            && refused
                .stderr
                .contains("postgres-1 still answers as a primary"),
        "{}",
        refused.describe()
    );
    assert_eq!(p2.sql("postgres", "SELECT pg_is_in_recovery()"), "t");

    // The primary crashes; the caller knows it stopped: promoted at once.
    p1.crash();
    let promoted = c.member(
        "postgres-2",
        "postgres-1",
        &["--promote", "--old-primary-stopped"],
        &[],
    );
    assert!(
        promoted.ok && promoted.stdout.contains("postgres.primary = 2"),
        "{}",
        promoted.describe()
    );
    assert_eq!(p2.sql("postgres", "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(timeline(&p2), 2);
    p2.sql(&db, "INSERT INTO drill VALUES (2, 'after the promotion')");
    // It made a slot for every other member, the old primary's included.
    assert!(
        p2.sql("postgres", "SELECT slot_name FROM pg_replication_slots")
            .lines()
            .any(|l| l == "postgres_1")
    );

    // The topology now names postgres-2: the crashed old primary rejoins
    // it as a standby, rewound (crash recovery first, with our file).
    let rejoin = c.member("postgres-1", "postgres-2", &[], &[]);
    assert!(rejoin.ok, "{}", rejoin.describe());
    assert!(
        rejoin.stdout.contains("finishing crash recovery")
            && rejoin.stdout.contains("pg_rewind from postgres-2 done"),
        "{}",
        rejoin.describe()
    );
    assert!(
        rejoin
            .setting("primary_conninfo")
            .unwrap_or_default()
            .contains(&format!("port={} ", p2.port)),
        "{}",
        rejoin.describe()
    );
    let mut p1 = c.start("postgres-1", &rejoin);
    wait_streaming(&p2, &p1, "postgres_1");
    wait_for(
        "the new primary's row on the old primary",
        Duration::from_secs(20),
        || (p1.query(&db, "SELECT count(*) FROM drill").ok()? == "2").then_some(()),
    );
    assert_eq!(p1.sql("postgres", "SELECT pg_is_in_recovery()"), "t");

    // A stale topology that still names postgres-1: restarted, it must not
    // promote itself while postgres-2 answers as the primary.
    p1.stop();
    let stale = c.member("postgres-1", "postgres-1", &[], &quick);
    assert!(
        !stale.ok
            && stale
                .stderr
                .contains("postgres-2 still answers as a primary"),
        "{}",
        stale.describe()
    );
    assert!(c.place("postgres-1").data.join("standby.signal").exists());
    assert_eq!(p2.sql("postgres", "SELECT pg_is_in_recovery()"), "f");

    // No secret in any log or output.
    for (name, log) in [("postgres-1", p1.log_text()), ("postgres-2", p2.log_text())] {
        assert!(!log.contains("canary"), "a password is in the {name} log");
    }
    for d in [&decision, &rejoin, &promoted, &stale] {
        assert!(!d.stdout.contains("canary") && !d.stderr.contains("canary"));
    }
    drop(owner);
}

/// The guide's backup from a replica with `--verify-restore`: the dump is
/// restored into a scratch PostgreSQL and its tables counted; then the
/// test restores it once more itself and reads the rows back.
fn backup_and_restore(c: &Cluster, replica: &Server) {
    let (owner, db) = owner_db(&c.spec);
    let dump = c.root().join("backups/drill.dump");
    let out = run_bounded(
        as_pg(c.bundle.join(BACKUP))
            .arg("--verify-restore")
            .arg(&dump)
            .env("PATH", path_with_bin())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", replica.port.to_string())
            .env("POSTGRES_PASSWORD_FILE", &c.owner_password)
            .env("TMPDIR", c.root())
            .env_remove("PGPASSFILE"),
        Duration::from_secs(60),
    );
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stdout.contains("verified") && stdout.contains("restored"),
        "backup failed: {stdout}\n{stderr}"
    );
    assert!(stdout.contains(": 1 of 1 tables"), "{stdout}");
    assert!(!stderr.contains("not a standby"), "{stderr}");
    assert!(
        !std::fs::read_dir(c.root())
            .expect("list")
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("restore-check"))),
        "the scratch cluster was left behind"
    );

    // The same dump, restored by hand into a scratch server of the test's.
    let scratch = c.root().join("scratch");
    initdb(&scratch, &owner, &c.owner_password);
    let port = support::free_port();
    let conf = c.root().join("scratch.conf");
    std::fs::write(
        &conf,
        format!(
            "port = {port}\nlisten_addresses = ''\nunix_socket_directories = '{}'\n",
            c.root().display()
        ),
    )
    .expect("write conf");
    give_to_pg(c.root());
    let server = Server::start(
        scratch,
        port,
        c.root(),
        &owner,
        &["-c".to_owned(), format!("config_file={}", conf.display())],
    );
    server.sql("postgres", &format!("CREATE DATABASE {db}"));
    let (ok, restored, err) = support::run(
        as_pg(bin_dir().join("pg_restore"))
            .args(["--exit-on-error", "-h"])
            .arg(c.root())
            .args(["-p", &port.to_string(), "-U", &owner, "-d", &db])
            .arg(&dump),
    );
    assert!(ok, "pg_restore: {restored}{err}");
    assert_eq!(
        server.sql(&db, "SELECT note FROM drill WHERE id = 1"),
        "from the primary"
    );
}

/// The guide's topology: one asynchronous replica.
#[test]
fn prod_members_stream_fail_over_and_rejoin() {
    boot(PROD);
}

/// Quorum synchronous replication (`any 1`): the commit on the primary
/// returns only because the one running standby's name is in
/// synchronous_standby_names.
#[test]
fn synchronous_members_stream_fail_over_and_rejoin() {
    boot(LARGE);
}

/// A failover by the topology alone: the primary is gone, postgres.primary
/// names the standby, and its entrypoint promotes it only after the other
/// member has been silent for the fence. A member whose volume was emptied
/// then clones the new primary instead of initialising a second cluster.
#[test]
fn promotion_by_the_topology_waits_out_the_fence() {
    let c = Cluster::new(PROD, |hba| hba);
    let (_, db) = owner_db(&c.spec);
    let mut p1 = c.init("postgres-1");
    let mut p2 = c.clone_member("postgres-2", "postgres-1");
    wait_streaming(&p1, &p2, "postgres_2");
    p1.sql(&db, "CREATE TABLE t (id int)");
    p1.sql(&db, "INSERT INTO t VALUES (1)");
    wait_for("the row on the standby", Duration::from_secs(20), || {
        (p2.query(&db, "SELECT count(*) FROM t").ok()? == "1").then_some(())
    });
    p1.crash();
    p2.stop();

    let fence = 4;
    let started = Instant::now();
    let decision = c.member(
        "postgres-2",
        "postgres-2",
        &[],
        &[("PG_FENCE_SECONDS", &fence.to_string())],
    );
    let took = started.elapsed();
    assert!(decision.ok, "{}", decision.describe());
    assert!(
        took >= Duration::from_secs(fence) && decision.stdout.contains("fence passed"),
        "promoted after {took:?}, fence {fence}s\n{}",
        decision.describe()
    );
    assert_eq!(
        decision.setting("config_file").map(PathBuf::from),
        Some(c.place("postgres-2").primary_conf.clone())
    );
    assert!(!c.place("postgres-2").data.join("standby.signal").exists());
    let p2 = c.start("postgres-2", &decision);
    assert_eq!(p2.sql("postgres", "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(timeline(&p2), 2);
    p2.sql(&db, "INSERT INTO t VALUES (2)");

    // postgres-1's volume is lost; the topology still names it primary.
    std::fs::remove_dir_all(&c.place("postgres-1").data).expect("empty the volume");
    let decision = c.member("postgres-1", "postgres-1", &[], &[]);
    assert!(
        decision.ok
            && decision
                .stdout
                .contains("postgres-2 is the primary: cloning it"),
        "{}",
        decision.describe()
    );
    let p1 = c.start("postgres-1", &decision);
    wait_streaming(&p2, &p1, "postgres_1");
    wait_for("both rows on the clone", Duration::from_secs(20), || {
        (p1.query(&db, "SELECT count(*) FROM t").ok()? == "2").then_some(())
    });
}

/// A standby whose slot was invalidated (max_slot_wal_keep_size passed
/// while it was away) can never catch up: its health check says so (Swarm
/// then restarts it), and its next start drops the slot, creates it again
/// and clones the primary.
#[test]
fn an_invalidated_slot_is_cloned_again() {
    let c = Cluster::with_conf(
        PROD,
        |hba| hba,
        |conf| replace_setting(&conf, "max_slot_wal_keep_size", "1MB"),
    );
    let (_, db) = owner_db(&c.spec);
    let p1 = c.init("postgres-1");
    let first = c.member("postgres-2", "postgres-1", &[], &[]);
    assert!(first.ok, "{}", first.describe());
    let mut p2 = c.start("postgres-2", &first);
    wait_streaming(&p1, &p2, "postgres_2");
    let health = |want_ok: bool, why: &str| {
        let h = c.member("postgres-2", "postgres-1", &["--health"], &[]);
        assert_eq!(h.ok, want_ok, "{why}: {}", h.describe());
        h
    };
    health(true, "a streaming standby is healthy");
    p2.stop();

    // More WAL than the slot may keep, then a checkpoint: it is invalidated.
    p1.sql(&db, "CREATE TABLE filler (x text)");
    wait_for("the slot to be lost", Duration::from_secs(60), || {
        p1.sql(
            &db,
            "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 2000)",
        );
        p1.sql("postgres", "SELECT pg_switch_wal()");
        p1.sql("postgres", "CHECKPOINT");
        (p1.sql(
            "postgres",
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'postgres_2'",
        ) == "lost")
            .then_some(())
    });

    // Started as it was, it runs but can never catch up: unhealthy.
    let mut p2 = c.start("postgres-2", &first);
    let h = health(false, "a standby whose slot is lost");
    assert!(h.stdout.contains("wal_status lost"), "{}", h.describe());
    p2.stop();

    // Its entrypoint clones it again, under a new slot.
    let again = c.member("postgres-2", "postgres-1", &[], &[]);
    assert!(again.ok, "{}", again.describe());
    assert!(
        again.stdout.contains("was invalidated") && again.stdout.contains("cloning postgres-1"),
        "{}",
        again.describe()
    );
    let p2 = c.start("postgres-2", &again);
    wait_streaming(&p1, &p2, "postgres_2");
    assert_eq!(
        p1.sql(
            "postgres",
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'postgres_2'"
        ),
        "reserved"
    );
    let rows = p1.sql(&db, "SELECT count(*) FROM filler");
    wait_for(
        "the primary's rows on the new clone",
        Duration::from_secs(30),
        || (p2.query(&db, "SELECT count(*) FROM filler").ok()? == rows).then_some(()),
    );
    health(true, "the new clone is healthy");
}

/// Without the `host replication` lines, `all` does not cover replication
/// connections and the clone is refused.
#[test]
fn clone_is_refused_without_the_replication_hba_lines() {
    let c = Cluster::new(PROD, |hba| {
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
    let _p1 = c.init("postgres-1");
    let out = c.member("postgres-2", "postgres-1", &[], &[]);
    assert!(
        !out.ok,
        "the clone succeeded without a replication line: {}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains("no pg_hba.conf entry for replication connection"),
        "{}",
        out.describe()
    );
    assert!(!c.place("postgres-2").data.join("PG_VERSION").exists());
}

/// Every script the area emits passes shellcheck.
#[test]
fn scripts_pass_shellcheck() {
    let shellcheck = support::tool("shellcheck");
    for (topology, target, bundle) in support::all_bundles() {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        let scripts: Vec<PathBuf> = [INIT, MEMBER, BACKUP]
            .iter()
            .map(|p| dir.path().join(p))
            .collect();
        let (ok, out, err) = support::run(Command::new(&shellcheck).args(&scripts));
        assert!(ok, "{topology} ({target}):\n{out}{err}");
    }
}
