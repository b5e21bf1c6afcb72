//! Redis data nodes and Sentinels, run for real from the rendered bundles:
//! every template starts through its rendered entrypoint and answers with the
//! values the topology asked for; the prod bundle fails over on loopback
//! within its declared budget and the old master rejoins as a replica;
//! Sentinels with a wrong password never see a healthy master; the
//! entrypoints keep failover state and take a rotated secret; shellcheck.
//!
//! Templates are localized by a small explicit rewrite (host names ->
//! 127.0.0.1, ports -> free ports, `bind` -> loopback) and the entrypoints
//! get their template, data folder and secret file through their env
//! overrides. Every process is killed on drop, even when a test panics.

mod support;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pf_render::{Bundle, Target};

/// Exercises the entrypoints' quoting: space, both quotes, backslash, `$`.
const PASSWORD: &str = "t3st pa\"ss\\w'rd $HOME";
const WRONG_PASSWORD: &str = "not-the-password";

const MASTER_CONF: &str = "redis/master.conf";
const REPLICA_CONF: &str = "redis/replica.conf";
const REDIS_ENTRYPOINT: &str = "redis/redis-entrypoint.sh";
const SENTINEL_ENTRYPOINT: &str = "redis/sentinel-entrypoint.sh";

fn sentinel_path(i: usize) -> String {
    format!("redis/sentinel-{i}.conf")
}

fn text<'a>(bundle: &'a Bundle, path: &str) -> &'a str {
    &bundle
        .get(path)
        .unwrap_or_else(|| panic!("{path} is missing from the bundle"))
        .contents
}

/// The sentinel.conf templates of a bundle, in order.
fn sentinel_files(bundle: &Bundle) -> Vec<&str> {
    let files: Vec<&str> = (1..)
        .map_while(|i| bundle.get(&sentinel_path(i)).map(|a| a.contents.as_str()))
        .collect();
    assert!(files.len() >= 3, "expected at least 3 Sentinels");
    files
}

/// Arguments of the first non-comment line whose first word(s) are `key`.
fn directive<'a>(conf: &'a str, key: &str) -> Option<Vec<&'a str>> {
    let words: Vec<&str> = key.split(' ').collect();
    conf.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() >= words.len() && w[..words.len()] == words[..])
        .map(|w| w[words.len()..].to_vec())
}

fn count_directive(conf: &str, key: &str) -> usize {
    let words: Vec<&str> = key.split(' ').collect();
    conf.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= words.len() && w[..words.len()] == words[..])
        .count()
}

/// `host port` of the monitored master, and the master name.
fn monitor(sentinel: &str) -> (String, String, u16, String) {
    let m = directive(sentinel, "sentinel monitor").expect("sentinel monitor line");
    assert_eq!(m.len(), 4, "sentinel monitor <name> <host> <port> <quorum>");
    (
        m[0].to_owned(),
        m[1].to_owned(),
        m[2].parse().expect("port"),
        m[3].to_owned(),
    )
}

/// `1536mb` -> bytes, with Redis's binary `kb`/`mb`/`gb`.
fn redis_bytes(value: &str) -> u64 {
    let units = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("", 1),
    ];
    let (unit, size) = units
        .iter()
        .find(|(u, _)| value.ends_with(u))
        .expect("the empty unit matches");
    value[..value.len() - unit.len()]
        .parse::<u64>()
        .expect("a size")
        * size
}

/// Rewrites a template for loopback: its own port, `bind 127.0.0.1`,
/// announced host names -> 127.0.0.1, and the master's `host port` (in
/// `replicaof` and `sentinel monitor`) -> `127.0.0.1 <master_port>`. Every
/// rewrite must hit a line, so a changed template cannot silently escape it.
fn localize(conf: &str, port: u16, master: Option<(&str, u16, u16)>) -> String {
    let mut hits = BTreeMap::new();
    let mut out = String::new();
    for line in conf.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let mut hit = |k: &'static str, l: String| {
            *hits.entry(k).or_insert(0) += 1;
            l
        };
        let new = match w.as_slice() {
            ["port", _] => hit("port", format!("port {port}")),
            ["bind", ..] => hit("bind", "bind 127.0.0.1".to_owned()),
            ["sentinel", "announce-ip", _] => {
                hit("announce", "sentinel announce-ip 127.0.0.1".to_owned())
            }
            ["replicaof", host, p] => {
                let (mh, mp, new) = master.expect("replicaof needs the master");
                assert_eq!((*host, *p), (mh, mp.to_string().as_str()), "{line}");
                hit("master", format!("replicaof 127.0.0.1 {new}"))
            }
            ["sentinel", "monitor", name, host, p, q] => {
                let (mh, mp, new) = master.expect("monitor needs the master");
                assert_eq!((*host, *p), (mh, mp.to_string().as_str()), "{line}");
                hit(
                    "master",
                    format!("sentinel monitor {name} 127.0.0.1 {new} {q}"),
                )
            }
            _ => line.to_owned(),
        };
        out.push_str(&new);
        out.push('\n');
    }
    for key in ["port", "bind"] {
        assert_eq!(hits.get(key), Some(&1), "one `{key}` line in\n{conf}");
    }
    if master.is_some() {
        assert_eq!(hits.get("master"), Some(&1), "one master line in\n{conf}");
    }
    out
}

/// PATH for the entrypoints: the real redis binaries and the base system,
/// and no `docker-entrypoint.sh`, so they exec redis-server themselves.
fn base_path() -> String {
    let server = support::tool("redis-server");
    let dir = server.parent().expect("redis-server folder").to_path_buf();
    let dirs = [dir, PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
    for d in &dirs {
        assert!(
            !d.join("docker-entrypoint.sh").exists(),
            "{} has a docker-entrypoint.sh; the test needs the plain redis-server path",
            d.display()
        );
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

fn write_secret(path: &Path, value: &str) {
    fs::write(path, format!("{value}\n")).expect("write secret");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod secret");
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Data,
    Sentinel,
}

/// One Redis or Sentinel process started through its rendered entrypoint,
/// with its own folder: `template.conf`, `data/`, `log`.
struct Node {
    name: String,
    kind: Kind,
    port: u16,
    root: PathBuf,
    secret: PathBuf,
    entrypoint: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn new(
        bundle_dir: &Path,
        work: &Path,
        name: &str,
        kind: Kind,
        port: u16,
        template: &str,
        secret: &Path,
    ) -> Self {
        let root = work.join(name);
        fs::create_dir_all(&root).expect("instance folder");
        fs::write(root.join("template.conf"), template).expect("write template");
        let entrypoint = bundle_dir.join(match kind {
            Kind::Data => REDIS_ENTRYPOINT,
            Kind::Sentinel => SENTINEL_ENTRYPOINT,
        });
        Self {
            name: name.to_owned(),
            kind,
            port,
            root,
            secret: secret.to_path_buf(),
            entrypoint,
            child: None,
        }
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn conf(&self) -> PathBuf {
        self.data().join(match self.kind {
            Kind::Data => "redis.conf",
            Kind::Sentinel => "sentinel.conf",
        })
    }

    fn log(&self) -> String {
        fs::read_to_string(self.root.join("log")).unwrap_or_default()
    }

    fn start(&mut self) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("log"))
            .expect("open log");
        let mut cmd = Command::new(&self.entrypoint);
        cmd.env_clear()
            .env("PATH", base_path())
            .env("REDIS_PASSWORD_FILE", &self.secret)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        let template = self.root.join("template.conf");
        match self.kind {
            Kind::Data => cmd
                .env("REDIS_TEMPLATE", template)
                .env("REDIS_DATA_DIR", self.data())
                .env("REDIS_ANNOUNCE_HOST", "127.0.0.1"),
            Kind::Sentinel => cmd
                .env("SENTINEL_TEMPLATE", template)
                .env("SENTINEL_DATA_DIR", self.data()),
        };
        self.child = Some(cmd.spawn().expect("start the entrypoint"));
    }

    /// SIGKILL, as a crashed host would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Panics with the log if the process has exited.
    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().expect("poll child")
        {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    /// `redis-cli -e` with the node's own password (Sentinels require one
    /// too: the password of their secret file).
    fn cli(&self, args: &[&str]) -> (bool, String) {
        let password = fs::read_to_string(&self.secret).expect("the node's secret");
        cli(self.port, Some(password.trim_end_matches('\n')), args)
    }

    /// Rewrites the node's template, as a new render would.
    fn edit_template(&self, from: &str, to: &str) {
        let path = self.root.join("template.conf");
        let old = fs::read_to_string(&path).expect("template");
        assert!(old.contains(from), "{}: no `{from}` in\n{old}", self.name);
        fs::write(&path, old.replace(from, to)).expect("write template");
    }

    /// Waits until the node answers PING (with the password on data nodes).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.assert_running();
            if self.cli(&["ping"]) == (true, "PONG".to_owned()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never answered PING:\n{}",
                self.name,
                self.log()
            );
            sleep(Duration::from_millis(50));
        }
    }

    fn info(&self, section: &str) -> BTreeMap<String, String> {
        self.try_info(section)
            .unwrap_or_else(|out| panic!("{}: INFO {section}: {out}", self.name))
    }

    /// INFO, or the error of a node that cannot answer yet (LOADING while
    /// it reads its AOF after a restart).
    fn try_info(&self, section: &str) -> Result<BTreeMap<String, String>, String> {
        let (ok, out) = self.cli(&["info", section]);
        if !ok {
            return Err(out);
        }
        Ok(out
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// True once INFO replication says: a replica of the node on `port`.
    fn replicates(&self, port: u16) -> bool {
        self.try_info("replication").is_ok_and(|r| {
            r["role"] == "slave"
                && r["master_port"] == port.to_string()
                && r["master_link_status"] == "up"
        })
    }

    fn config_get(&self, key: &str) -> String {
        let (ok, out) = self.cli(&["config", "get", key]);
        assert!(ok, "{}: CONFIG GET {key}: {out}", self.name);
        out.lines().nth(1).unwrap_or_default().to_owned()
    }

    /// `SENTINEL master <name>` as a map.
    fn sentinel_master(&self, master: &str) -> BTreeMap<String, String> {
        let (ok, out) = self.cli(&["sentinel", "master", master]);
        assert!(ok, "{}: SENTINEL master: {out}", self.name);
        let lines: Vec<&str> = out.split('\n').collect();
        lines
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].to_owned(), c[1].to_owned()))
            .collect()
    }

    /// `host:port` the Sentinel gives for the master.
    fn master_addr(&self, master: &str) -> String {
        let (ok, out) = self.cli(&["sentinel", "get-master-addr-by-name", master]);
        assert!(ok, "{}: get-master-addr-by-name: {out}", self.name);
        out.lines().collect::<Vec<_>>().join(":")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `redis-cli -e` against a loopback port; (success, trimmed stdout+stderr).
fn cli(port: u16, auth: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(support::tool("redis-cli"));
    cmd.args(["-e", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .env_remove("REDISCLI_AUTH");
    if let Some(pw) = auth {
        cmd.env("REDISCLI_AUTH", pw);
    }
    let (ok, out, err) = support::run(&mut cmd);
    let text = format!("{out}{err}").replace('\r', "");
    (ok, text.trim().to_owned())
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        sleep(Duration::from_millis(100));
    }
}

/// A written bundle with a secret file, in a temp folder.
struct Workspace {
    dir: tempfile::TempDir,
    bundle: Bundle,
}

impl Workspace {
    fn new(bundle: Bundle) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, &dir.path().join("bundle"));
        write_secret(&dir.path().join("secret"), PASSWORD);
        write_secret(&dir.path().join("wrong-secret"), WRONG_PASSWORD);
        Self { dir, bundle }
    }

    fn bundle_dir(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    fn secret(&self) -> PathBuf {
        self.dir.path().join("secret")
    }

    /// Data nodes (master, one replica) and the Sentinels, not started.
    /// Sentinels read `sentinel_secret`.
    fn cluster(&self, sentinel_secret: &Path) -> Cluster {
        let b = &self.bundle;
        let master_conf = text(b, MASTER_CONF);
        let replica_conf = text(b, REPLICA_CONF);
        let (name, host, port, _) = monitor(sentinel_files(b)[0]);
        let addr = |new| Some((host.as_str(), port, new));
        let (mp, rp) = (support::free_port(), support::free_port());
        let bd = self.bundle_dir();
        let work = self.dir.path().join("run");
        let data =
            |n: &str, p, t: String| Node::new(&bd, &work, n, Kind::Data, p, &t, &self.secret());
        let master = data("master", mp, localize(master_conf, mp, None));
        let replica = data("replica", rp, localize(replica_conf, rp, addr(mp)));
        let sentinels = sentinel_files(b)
            .iter()
            .enumerate()
            .map(|(i, conf)| {
                let p = support::free_port();
                Node::new(
                    &bd,
                    &work,
                    &format!("sentinel-{}", i + 1),
                    Kind::Sentinel,
                    p,
                    &localize(conf, p, addr(mp)),
                    sentinel_secret,
                )
            })
            .collect();
        Cluster {
            name,
            master,
            replica,
            sentinels,
        }
    }
}

struct Cluster {
    name: String,
    master: Node,
    replica: Node,
    sentinels: Vec<Node>,
}

impl Cluster {
    fn start_data_nodes(&mut self) {
        self.master.start();
        self.replica.start();
        self.master.wait_ready();
        self.replica.wait_ready();
    }

    fn start_sentinels(&mut self) {
        for s in &mut self.sentinels {
            s.start();
        }
        for s in &mut self.sentinels {
            s.wait_ready();
        }
    }

    fn nodes(&self) -> impl Iterator<Item = &Node> {
        [&self.master, &self.replica]
            .into_iter()
            .chain(self.sentinels.iter())
    }
}

fn addr(node: &Node) -> String {
    format!("127.0.0.1:{}", node.port)
}

/// A Sentinel sees a healthy master when it has read its INFO (runid), found
/// the replica through it and heard the other Sentinels: all need the password.
fn healthy_view(view: &BTreeMap<String, String>, others: usize) -> bool {
    view.get("flags").map(String::as_str) == Some("master")
        && view.get("runid").is_some_and(|r| !r.is_empty())
        && view.get("num-slaves").map(String::as_str) == Some("1")
        && view.get("num-other-sentinels") == Some(&others.to_string())
}

#[test]
fn every_template_starts_through_its_entrypoint_with_the_topology_values() {
    for (topology, target, bundle) in support::all_bundles() {
        let label = format!("{topology} ({target})");
        let ws = Workspace::new(bundle);
        let b = &ws.bundle;

        // What the files say, checked as text first.
        let sentinels = sentinel_files(b);
        let mut ids: Vec<&str> = Vec::new();
        // Swarm: service names, which keep resolving while a task is down;
        // Compose and local: fixed addresses, nothing is ever looked up.
        let hostnames = if target == Target::Swarm { "yes" } else { "no" };
        for conf in &sentinels {
            for key in ["sentinel resolve-hostnames", "sentinel announce-hostnames"] {
                assert_eq!(
                    directive(conf, key),
                    Some(vec![hostnames]),
                    "{label}: {key}"
                );
            }
            assert_eq!(
                directive(conf, "sentinel deny-scripts-reconfig"),
                Some(vec!["yes"]),
                "{label}"
            );
            assert!(directive(conf, "sentinel announce-ip").is_some(), "{label}");
            let id = directive(conf, "sentinel myid").expect("myid")[0];
            assert!(
                id.len() == 40 && id.bytes().all(|c| c.is_ascii_hexdigit()),
                "{label}: myid {id}"
            );
            ids.push(id);
        }
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{label}: Sentinel myids repeat");
        let (name, host, port, quorum) = monitor(sentinels[0]);
        assert_eq!(
            directive(text(b, REPLICA_CONF), "replicaof"),
            Some(vec![host.as_str(), &port.to_string()]),
            "{label}: replicas follow the master Sentinels monitor"
        );
        if hostnames == "no" {
            for conf in &sentinels {
                let announced = directive(conf, "sentinel announce-ip").expect("announce-ip")[0];
                assert!(
                    announced.parse::<std::net::IpAddr>().is_ok(),
                    "{label}: Sentinel announces `{announced}`, not an address"
                );
            }
            assert!(
                host.parse::<std::net::IpAddr>().is_ok(),
                "{label}: Sentinels monitor `{host}`, not an address"
            );
        }
        if topology == "topologies/prod.toml" {
            // The guide's numbers.
            let master = if target == Target::Swarm {
                "redis-master"
            } else {
                "172.26.64.1"
            };
            assert_eq!(
                (name.as_str(), host.as_str(), port),
                ("mymaster", master, 6379)
            );
            for conf in &sentinels {
                assert_eq!(monitor(conf).3, "2", "{label}: quorum");
                for (key, value) in [
                    ("down-after-milliseconds", "5000"),
                    ("parallel-syncs", "1"),
                    ("failover-timeout", "10000"),
                ] {
                    assert_eq!(
                        directive(conf, &format!("sentinel {key} mymaster")),
                        Some(vec![value]),
                        "{label}: {key}"
                    );
                }
            }
        }

        // Then every file through its entrypoint, for real.
        let mut cluster = ws.cluster(&ws.secret());
        // Nothing listens on the master's port: only parsing is checked here.
        cluster.replica.start();
        cluster.replica.wait_ready();
        cluster.master.start();
        cluster.start_sentinels();
        cluster.master.wait_ready();

        for (node, template) in [
            (&cluster.master, text(b, MASTER_CONF)),
            (&cluster.replica, text(b, REPLICA_CONF)),
        ] {
            let who = format!("{label} {}", node.name);
            let (ok, out) = cli(node.port, None, &["ping"]);
            assert!(
                !ok && out.contains("NOAUTH"),
                "{who}: ping without password: {out}"
            );
            let (ok, out) = cli(node.port, Some(WRONG_PASSWORD), &["ping"]);
            assert!(!ok, "{who}: ping with a wrong password: {out}");
            for key in [
                "appendonly",
                "min-replicas-to-write",
                "min-replicas-max-lag",
            ] {
                let want = directive(template, key).expect(key)[0];
                assert_eq!(node.config_get(key), want, "{who}: {key}");
            }
            // maxmemory is always set, under the memory limit.
            let maxmemory = redis_bytes(directive(template, "maxmemory").expect("maxmemory")[0]);
            assert!(maxmemory > 0, "{who}");
            assert_eq!(node.config_get("maxmemory"), maxmemory.to_string(), "{who}");
            assert_eq!(
                node.config_get("maxmemory-policy"),
                directive(template, "maxmemory-policy").expect("policy")[0],
                "{who}"
            );
            assert_eq!(node.config_get("replica-priority"), "100", "{who}");
            assert_eq!(node.config_get("protected-mode"), "yes", "{who}");
            assert_eq!(node.config_get("replica-announce-ip"), "127.0.0.1", "{who}");
            assert_eq!(
                node.config_get("dir"),
                node.data().display().to_string(),
                "{who}"
            );
        }
        assert_eq!(
            cluster.master.info("replication")["role"],
            "master",
            "{label}"
        );
        assert_eq!(
            cluster.replica.info("replication")["role"],
            "slave",
            "{label}"
        );

        for (node, (conf, id)) in cluster.sentinels.iter().zip(sentinels.iter().zip(&ids)) {
            let who = format!("{label} {}", node.name);
            // Sentinels require the password too.
            let (ok, out) = cli(node.port, None, &["ping"]);
            assert!(
                !ok && out.contains("NOAUTH"),
                "{who}: ping without password: {out}"
            );
            let (ok, out) = cli(node.port, Some(WRONG_PASSWORD), &["sentinel", "masters"]);
            assert!(!ok, "{who}: a wrong password: {out}");
            let (ok, out) = node.cli(&["sentinel", "myid"]);
            assert!(ok && out == *id, "{who}: running myid {out}, template {id}");
            let view = node.sentinel_master(&name);
            assert_eq!(view["quorum"], quorum, "{who}");
            for key in [
                "down-after-milliseconds",
                "parallel-syncs",
                "failover-timeout",
            ] {
                let want = directive(conf, &format!("sentinel {key} {name}")).expect(key)[0];
                assert_eq!(view[key], want, "{who}: {key}");
            }
            let (ok, out) = node.cli(&["sentinel", "config", "get", "*"]);
            assert!(ok, "{who}: {out}");
            let settings: Vec<&str> = out.split('\n').collect();
            for pair in [
                ["resolve-hostnames", hostnames],
                ["announce-hostnames", hostnames],
            ] {
                assert!(settings.windows(2).any(|w| w == pair), "{who}: {out}");
            }
            // Sentinel runs from the writable copy, not from the template.
            let server = node.info("server");
            assert_eq!(
                server["config_file"],
                node.conf().display().to_string(),
                "{who}"
            );
        }
    }
}

#[test]
fn prod_fails_over_within_its_budget_and_the_old_master_rejoins() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Swarm));
    let sentinel_conf = sentinel_files(&ws.bundle)[0];
    let (name, ..) = monitor(sentinel_conf);
    let ms = |key: &str| -> u64 {
        directive(sentinel_conf, &format!("sentinel {key} {name}")).expect(key)[0]
            .parse()
            .expect("milliseconds")
    };
    let budget = Duration::from_millis(ms("down-after-milliseconds") + ms("failover-timeout"));
    assert_eq!(budget, Duration::from_secs(15), "the guide's 5 s + 10 s");

    let mut c = ws.cluster(&ws.secret());
    c.start_data_nodes();

    // Auth is required, and only `-e` turns NOAUTH into a failing exit code.
    let (ok, out) = cli(c.master.port, None, &["ping"]);
    assert!(!ok && out.contains("NOAUTH"), "{out}");
    let plain = Command::new(support::tool("redis-cli"))
        .args(["-h", "127.0.0.1", "-p", &c.master.port.to_string(), "ping"])
        .env_remove("REDISCLI_AUTH")
        .output()
        .expect("redis-cli");
    assert!(
        plain.status.success() && String::from_utf8_lossy(&plain.stdout).contains("NOAUTH"),
        "without -e redis-cli exits 0 on NOAUTH (why health checks need -e)"
    );

    // Replication.
    assert_eq!(
        c.master.cli(&["set", "before", "failover"]),
        (true, "OK".to_owned())
    );
    wait_for(Duration::from_secs(10), "the replica has the key", || {
        (c.replica.cli(&["get", "before"]).1 == "failover").then_some(())
    });

    // The Sentinels agree on a healthy master, through the password.
    c.start_sentinels();
    let others = c.sentinels.len() - 1;
    wait_for(
        Duration::from_secs(20),
        "every Sentinel sees a healthy master",
        || {
            c.sentinels
                .iter()
                .all(|s| healthy_view(&s.sentinel_master(&name), others))
                .then_some(())
        },
    );
    for s in &c.sentinels {
        assert_eq!(s.master_addr(&name), addr(&c.master), "{}", s.name);
        let (ok, out) = s.cli(&["sentinel", "ckquorum", &name]);
        assert!(ok && out.starts_with("OK"), "{}: {out}", s.name);
    }

    // Kill the master and time the switch on every Sentinel.
    c.master.kill();
    let killed = Instant::now();
    let new_master = addr(&c.replica);
    wait_for(budget, "every Sentinel names the replica as master", || {
        c.sentinels
            .iter()
            .all(|s| s.master_addr(&name) == new_master)
            .then_some(())
    });
    let failover = killed.elapsed();
    report(&format!(
        "redis failover: every Sentinel names the new master {failover:?} after the kill (budget {budget:?})"
    ));
    assert_eq!(c.replica.info("replication")["role"], "master");
    assert_eq!(
        c.replica.cli(&["set", "after", "failover"]),
        (true, "OK".to_owned())
    );

    // The old master restarts through its entrypoint and rejoins as a replica.
    c.master.start();
    let restarted = Instant::now();
    c.master.wait_ready();
    wait_for(
        Duration::from_secs(40),
        "the old master replicates the new one",
        || c.master.replicates(c.replica.port).then_some(()),
    );
    report(&format!(
        "redis rejoin: old master is a replica {:?} after its restart",
        restarted.elapsed()
    ));
    wait_for(
        Duration::from_secs(10),
        "the old master has the new write",
        || (c.master.cli(&["get", "after"]).1 == "failover").then_some(()),
    );

    // Sentinel persisted the new role in the copy; a second restart keeps it
    // (the entrypoint copies the template only once).
    let conf = fs::read_to_string(c.master.conf()).expect("old master's redis.conf");
    assert_eq!(
        directive(&conf, "replicaof"),
        Some(vec!["127.0.0.1", &c.replica.port.to_string()]),
        "{conf}"
    );
    c.master.kill();
    c.master.start();
    c.master.wait_ready();
    assert_eq!(
        c.master.info("replication")["role"],
        "slave",
        "role survives a restart"
    );

    // A Sentinel restarted through its entrypoint keeps its identity and the
    // new master, and authenticates again although it rewrote auth-pass raw.
    let s = &mut c.sentinels[0];
    let (_, id_before) = s.cli(&["sentinel", "myid"]);
    s.kill();
    s.start();
    s.wait_ready();
    assert_eq!(s.cli(&["sentinel", "myid"]).1, id_before);
    assert_eq!(s.master_addr(&name), new_master);
    let s = &c.sentinels[0];
    wait_for(
        Duration::from_secs(15),
        "the restarted Sentinel reads the new master",
        || {
            let v = s.sentinel_master(&name);
            (v["flags"] == "master" && !v["runid"].is_empty()).then_some(())
        },
    );
    let sconf = fs::read_to_string(s.conf()).expect("sentinel.conf");
    assert_eq!(count_directive(&sconf, "sentinel auth-pass"), 1, "{sconf}");

    // Secrets: nowhere in the bundle or the logs; copies are private.
    for a in ws.bundle.artifacts() {
        assert!(
            !a.contents.contains(PASSWORD),
            "{} holds the password",
            a.path
        );
    }
    for n in c.nodes() {
        assert!(
            !n.log().contains(PASSWORD),
            "{} printed the password",
            n.name
        );
        let mode = fs::metadata(n.conf()).expect("conf").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", n.conf().display());
    }
}

/// After a failover, a new render changes a setting of a Sentinel and of the
/// old master: restarted through their entrypoints, both run with the new
/// setting and keep what the failover changed (the new master, the
/// Sentinel's myid, epochs and the peers it learned).
#[test]
fn a_restart_applies_a_changed_template_and_keeps_the_failover_state() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Swarm));
    let mut c = ws.cluster(&ws.secret());
    let name = c.name.clone();
    c.start_data_nodes();
    c.start_sentinels();
    let others = c.sentinels.len() - 1;
    wait_for(Duration::from_secs(20), "a healthy master", || {
        c.sentinels
            .iter()
            .all(|s| healthy_view(&s.sentinel_master(&name), others))
            .then_some(())
    });
    let (ok, out) = c.sentinels[0].cli(&["sentinel", "failover", &name]);
    assert!(ok && out == "OK", "{out}");
    let new_master = addr(&c.replica);
    wait_for(
        Duration::from_secs(20),
        "every Sentinel names the replica",
        || {
            c.sentinels
                .iter()
                .all(|s| s.master_addr(&name) == new_master)
                .then_some(())
        },
    );
    wait_for(
        Duration::from_secs(30),
        "the old master follows the new one",
        || c.master.replicates(c.replica.port).then_some(()),
    );
    let s = &c.sentinels[0];
    let (_, id_before) = s.cli(&["sentinel", "myid"]);
    let epoch_before = s.sentinel_master(&name)["config-epoch"].clone();
    assert_ne!(epoch_before, "0", "the failover raised the epoch");

    // The new render: another down-after for the Sentinel, another
    // maxmemory for the old master.
    let s = &mut c.sentinels[0];
    s.edit_template(
        &format!("down-after-milliseconds {name} 5000"),
        &format!("down-after-milliseconds {name} 7000"),
    );
    s.kill();
    s.start();
    s.wait_ready();
    c.master.edit_template("maxmemory 256mb", "maxmemory 128mb");
    c.master.kill();
    c.master.start();
    c.master.wait_ready();

    let s = &c.sentinels[0];
    assert_eq!(s.cli(&["sentinel", "myid"]).1, id_before, "myid kept");
    assert_eq!(s.master_addr(&name), new_master, "the new master kept");
    let view = s.sentinel_master(&name);
    assert_eq!(
        view["down-after-milliseconds"], "7000",
        "the new setting applies"
    );
    assert_eq!(view["config-epoch"], epoch_before, "the epoch kept");
    let sconf = fs::read_to_string(s.conf()).expect("sentinel.conf");
    assert_eq!(
        count_directive(&sconf, &format!("sentinel known-sentinel {name}")),
        others,
        "the Sentinels it learned are kept:\n{sconf}"
    );
    assert_eq!(
        count_directive(&sconf, &format!("sentinel known-replica {name}")),
        1,
        "the replica it learned is kept:\n{sconf}"
    );
    wait_for(
        Duration::from_secs(15),
        "the restarted Sentinel sees the new master healthy",
        || healthy_view(&s.sentinel_master(&name), others).then_some(()),
    );

    assert_eq!(c.master.config_get("maxmemory"), (128u64 << 20).to_string());
    wait_for(
        Duration::from_secs(20),
        "the old master is still a replica",
        || c.master.replicates(c.replica.port).then_some(()),
    );
}

#[test]
fn sentinels_with_a_wrong_password_never_see_a_healthy_master() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Swarm));
    let wrong = ws.dir.path().join("wrong-secret");
    let mut c = ws.cluster(&wrong);
    c.start_data_nodes();
    c.start_sentinels();
    let down_after = directive(
        sentinel_files(&ws.bundle)[0],
        &format!("sentinel down-after-milliseconds {}", c.name),
    )
    .expect("down-after")[0]
        .parse::<u64>()
        .expect("ms");
    // Past down-after, every Sentinel holds the live master subjectively down
    // and never learned the replica or the other Sentinels.
    sleep(Duration::from_millis(down_after + 2_000));
    for s in &c.sentinels {
        let view = s.sentinel_master(&c.name);
        assert!(
            !healthy_view(&view, c.sentinels.len() - 1),
            "{}: {view:?}",
            s.name
        );
        assert!(view["flags"].contains("s_down"), "{}: {view:?}", s.name);
        assert_eq!(view["num-slaves"], "0", "{}", s.name);
        assert_eq!(s.master_addr(&c.name), addr(&c.master), "no failover");
    }
    // The data nodes themselves are fine: only Sentinel auth is wrong.
    assert_eq!(c.master.cli(&["ping"]), (true, "PONG".to_owned()));
    assert_eq!(c.replica.info("replication")["master_link_status"], "up");
}

/// A stub `docker-entrypoint.sh` that records its folder and arguments.
fn stub_docker_entrypoint(dir: &Path) -> PathBuf {
    let bin = dir.join("stub-bin");
    fs::create_dir_all(&bin).expect("stub folder");
    let stub = bin.join("docker-entrypoint.sh");
    fs::write(
        &stub,
        "#!/bin/sh\n{ pwd; printf '%s\\n' \"$@\"; } >\"$STUB_OUT\"\n",
    )
    .expect("stub");
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod stub");
    bin
}

/// Runs an entrypoint with the stub first on PATH; (success, output).
fn run_stubbed(script: &Path, bin: &Path, env: &[(&str, &Path)], out: &Path) -> (bool, String) {
    run_stubbed_as(script, bin, env, out, "redis-replica")
}

/// The same, with `announce` as REDIS_ANNOUNCE_HOST.
fn run_stubbed_as(
    script: &Path,
    bin: &Path,
    env: &[(&str, &Path)],
    out: &Path,
    announce: &str,
) -> (bool, String) {
    let _ = fs::remove_file(out);
    let mut cmd = Command::new(script);
    cmd.env_clear()
        .env("PATH", format!("{}:{}", bin.display(), base_path()))
        .env("STUB_OUT", out)
        .env("REDIS_ANNOUNCE_HOST", announce);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (ok, o, e) = support::run(&mut cmd);
    (ok, format!("{o}{e}"))
}

/// The lines redis-entrypoint.sh writes, and the replication line, each
/// once in a rebuilt copy.
fn assert_owned_lines_once(conf: &str) {
    for key in [
        "requirepass",
        "masterauth",
        "replica-announce-ip",
        "dir",
        "replicaof",
    ] {
        assert_eq!(count_directive(conf, key), 1, "{key} in\n{conf}");
    }
}

#[test]
fn entrypoints_rebuild_from_the_template_keep_runtime_state_and_take_a_rotated_secret() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Swarm));
    let dir = ws.dir.path();
    let bin = stub_docker_entrypoint(dir);
    let out = dir.join("stub-out");
    let data = dir.join("data");
    let secret = dir.join("rotating-secret");
    // A copy of the template, edited below as a new render would.
    let template = dir.join("replica-template.conf");
    fs::write(&template, text(&ws.bundle, REPLICA_CONF)).expect("template");
    let script = ws.bundle_dir().join(REDIS_ENTRYPOINT);
    let env: &[(&str, &Path)] = &[
        ("REDIS_TEMPLATE", &template),
        ("REDIS_DATA_DIR", &data),
        ("REDIS_PASSWORD_FILE", &secret),
    ];
    let conf_path = data.join("redis.conf");
    let quoted = |pw: &str| format!("\"{}\"", pw.replace('\\', "\\\\").replace('"', "\\\""));

    write_secret(&secret, PASSWORD);
    let (ok, log) = run_stubbed(&script, &bin, env, &out);
    assert!(ok, "{log}");
    assert!(!log.contains(PASSWORD), "printed the password: {log}");
    assert!(log.contains("first start"), "{log}");
    let args = fs::read_to_string(&out).expect("the stub ran");
    assert_eq!(
        args,
        format!(
            "{}\nredis-server\n{}\n",
            data.display(),
            conf_path.display()
        ),
        "exec docker-entrypoint.sh redis-server <conf> from the data folder"
    );
    let conf = fs::read_to_string(&conf_path).expect("copied conf");
    let mode = fs::metadata(&conf_path).expect("conf").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(conf.contains("replicaof redis-master 6379"), "{conf}");
    assert!(
        conf.contains(&format!("requirepass {}\n", quoted(PASSWORD))),
        "{conf}"
    );
    assert_owned_lines_once(&conf);
    assert!(
        conf.contains(&format!("masterauth {}\n", quoted(PASSWORD))),
        "{conf}"
    );
    assert!(
        conf.contains("replica-announce-ip \"redis-replica\"\n"),
        "{conf}"
    );

    // What a failover and CONFIG REWRITE leave behind (the new master, the
    // password's hash, a setting changed at runtime), a new render that
    // changes a setting, and a rotated secret.
    let rewritten = format!(
        "{conf}# Generated by CONFIG REWRITE\nreplicaof redis-replica 6379\nuser default on #0123 ~* &* +@all\nmin-replicas-max-lag 99\n"
    )
    .replace("replicaof redis-master 6379\n", "");
    fs::write(&conf_path, rewritten).expect("simulate a rewrite");
    let t = fs::read_to_string(&template).expect("template");
    fs::write(
        &template,
        t.replace("min-replicas-max-lag 10", "min-replicas-max-lag 20"),
    )
    .expect("a new render");
    write_secret(&secret, "rotated");
    let (ok, log) = run_stubbed(&script, &bin, env, &out);
    assert!(ok && log.contains("keeping its replication state"), "{log}");
    let conf = fs::read_to_string(&conf_path).expect("conf");
    assert_eq!(
        directive(&conf, "replicaof"),
        Some(vec!["redis-replica", "6379"]),
        "the failover state is kept, the template's master is not:\n{conf}"
    );
    assert_eq!(
        directive(&conf, "min-replicas-max-lag"),
        Some(vec!["20"]),
        "the new render applies, the runtime change does not:\n{conf}"
    );
    assert_eq!(count_directive(&conf, "min-replicas-max-lag"), 1, "{conf}");
    assert_eq!(count_directive(&conf, "user default"), 0, "{conf}");
    assert!(
        conf.contains("requirepass \"rotated\"\n") && conf.contains("masterauth \"rotated\"\n"),
        "{conf}"
    );
    assert!(!conf.contains(PASSWORD), "the old password is gone");
    assert_owned_lines_once(&conf);

    // A promoted replica (REPLICAOF NO ONE + CONFIG REWRITE: no replicaof
    // line) stays a master, although its template names a master.
    let promoted: String = conf
        .lines()
        .filter(|l| !l.starts_with("replicaof"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&conf_path, promoted).expect("simulate a promotion");
    let (ok, log) = run_stubbed(&script, &bin, env, &out);
    assert!(ok, "{log}");
    let conf = fs::read_to_string(&conf_path).expect("conf");
    assert_eq!(count_directive(&conf, "replicaof"), 0, "{conf}");

    // A copy from before the topology addressed nodes by IP (Compose now)
    // names its master: the template's replication line replaces it.
    let compose = support::render("topologies/prod.toml", Target::Compose);
    fs::write(&template, text(&compose, REPLICA_CONF)).expect("the Compose template");
    fs::write(&conf_path, "replicaof redis-replica 6379\n").expect("an old copy");
    let (ok, log) = run_stubbed_as(&script, &bin, env, &out, "172.26.64.2");
    assert!(ok, "{log}");
    let conf = fs::read_to_string(&conf_path).expect("conf");
    assert_eq!(
        directive(&conf, "replicaof"),
        Some(vec!["172.26.64.1", "6379"]),
        "{conf}"
    );
    assert_owned_lines_once(&conf);

    // Bad secrets stop the entrypoint before anything runs.
    for (what, value) in [("empty", ""), ("multi-line", "a\nb")] {
        fs::write(&secret, value).expect("secret");
        let (ok, log) = run_stubbed(&script, &bin, env, &out);
        assert!(!ok && !out.exists(), "{what} secret accepted: {log}");
    }
    fs::remove_file(&secret).expect("rm secret");
    let (ok, log) = run_stubbed(&script, &bin, env, &out);
    assert!(
        !ok && !out.exists() && log.contains("password file"),
        "{log}"
    );

    // The Sentinel entrypoint: the settings are the template's, Sentinel's
    // own state is the previous copy's, the password lines are its own.
    let sdata = dir.join("sentinel-data");
    let stemplate = dir.join("sentinel-template.conf");
    fs::write(&stemplate, text(&ws.bundle, &sentinel_path(2))).expect("template");
    let template_id = directive(text(&ws.bundle, &sentinel_path(2)), "sentinel myid")
        .expect("myid")[0]
        .to_owned();
    let sscript = ws.bundle_dir().join(SENTINEL_ENTRYPOINT);
    let senv: &[(&str, &Path)] = &[
        ("SENTINEL_TEMPLATE", &stemplate),
        ("SENTINEL_DATA_DIR", &sdata),
        ("REDIS_PASSWORD_FILE", &secret),
    ];
    let sconf_path = sdata.join("sentinel.conf");
    write_secret(&secret, PASSWORD);
    let (ok, log) = run_stubbed(&sscript, &bin, senv, &out);
    assert!(ok && !log.contains(PASSWORD), "{log}");
    assert_eq!(
        fs::read_to_string(&out).expect("the stub ran"),
        format!(
            "{}\nredis-server\n{}\n--sentinel\n",
            sdata.display(),
            sconf_path.display()
        )
    );
    let sconf = fs::read_to_string(&sconf_path).expect("sentinel conf");
    for line in [
        format!("sentinel auth-pass mymaster {}\n", quoted(PASSWORD)),
        format!("sentinel sentinel-pass {}\n", quoted(PASSWORD)),
        format!("requirepass {}\n", quoted(PASSWORD)),
        "sentinel monitor mymaster redis-master 6379 2\n".to_owned(),
    ] {
        assert!(
            sconf.contains(&line),
            "no `{}` in\n{sconf}",
            line.trim_end()
        );
    }

    // What Sentinel rewrites after a failover (its state, the password raw,
    // the hash of requirepass), state of a master the topology no longer
    // names, a new render (another quorum and down-after), a rotated secret.
    let other_id = "0123456789abcdef0123456789abcdef01234567";
    let state = format!(
        "sentinel myid {other_id}\n\
         sentinel monitor mymaster redis-replica 6379 2\n\
         sentinel down-after-milliseconds mymaster 5000\n\
         sentinel auth-pass mymaster {PASSWORD}\n\
         requirepass {PASSWORD}\n\
         user default on sanitize-payload #0123 ~* &* +@all\n\
         sentinel config-epoch mymaster 3\n\
         sentinel leader-epoch mymaster 3\n\
         sentinel current-epoch 3\n\
         sentinel known-replica mymaster redis-master 6379\n\
         sentinel known-sentinel mymaster redis-sentinel-1 26379 {template_id}\n\
         sentinel known-replica oldmaster old-replica 6379\n"
    );
    fs::write(&sconf_path, state).expect("simulate a rewrite");
    let t = fs::read_to_string(&stemplate).expect("template");
    fs::write(
        &stemplate,
        t.replace("redis-master 6379 2", "redis-master 6379 3")
            .replace(
                "down-after-milliseconds mymaster 5000",
                "down-after-milliseconds mymaster 7000",
            ),
    )
    .expect("a new render");
    write_secret(&secret, "rotated");
    let (ok, log) = run_stubbed(&sscript, &bin, senv, &out);
    assert!(ok && log.contains("keeping its Sentinel state"), "{log}");
    let sconf = fs::read_to_string(&sconf_path).expect("sentinel conf");
    for (key, want) in [
        ("sentinel myid", vec![other_id]),
        (
            "sentinel monitor",
            vec!["mymaster", "redis-replica", "6379", "3"],
        ),
        ("sentinel down-after-milliseconds mymaster", vec!["7000"]),
        ("sentinel current-epoch", vec!["3"]),
        ("sentinel config-epoch mymaster", vec!["3"]),
        ("sentinel leader-epoch mymaster", vec!["3"]),
        (
            "sentinel known-replica mymaster",
            vec!["redis-master", "6379"],
        ),
        (
            "sentinel known-sentinel mymaster",
            vec!["redis-sentinel-1", "26379", template_id.as_str()],
        ),
        ("sentinel auth-pass mymaster", vec!["\"rotated\""]),
        ("sentinel sentinel-pass", vec!["\"rotated\""]),
        ("requirepass", vec!["\"rotated\""]),
    ] {
        assert_eq!(directive(&sconf, key), Some(want), "{key} in\n{sconf}");
        assert_eq!(count_directive(&sconf, key), 1, "{key} in\n{sconf}");
    }
    assert_eq!(count_directive(&sconf, "sentinel monitor"), 1, "{sconf}");
    assert!(!sconf.contains("oldmaster"), "stale state kept:\n{sconf}");
    assert_eq!(count_directive(&sconf, "user default"), 0, "{sconf}");
    assert!(
        !sconf.contains(PASSWORD),
        "the old password is kept:\n{sconf}"
    );
    assert_eq!(count_directive(&sconf, "dir"), 1, "{sconf}");

    // A Compose template (by IP) over a state that names hosts: Sentinel
    // would refuse to load it, so only myid and the current epoch stay.
    fs::write(&stemplate, text(&compose, &sentinel_path(2))).expect("the Compose template");
    let (ok, log) = run_stubbed(&sscript, &bin, senv, &out);
    assert!(ok && log.contains("its state is dropped"), "{log}");
    let sconf = fs::read_to_string(&sconf_path).expect("sentinel conf");
    assert_eq!(
        directive(&sconf, "sentinel myid"),
        Some(vec![other_id]),
        "{sconf}"
    );
    assert_eq!(
        directive(&sconf, "sentinel current-epoch"),
        Some(vec!["3"]),
        "{sconf}"
    );
    assert_eq!(
        directive(&sconf, "sentinel monitor"),
        Some(vec!["mymaster", "172.26.64.1", "6379", "2"]),
        "{sconf}"
    );
    for key in [
        "known-replica",
        "known-sentinel",
        "config-epoch",
        "leader-epoch",
    ] {
        assert_eq!(
            count_directive(&sconf, &format!("sentinel {key}")),
            0,
            "{key}: {sconf}"
        );
    }
    assert_eq!(
        fs::metadata(&sconf_path)
            .expect("conf")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn a_real_rotation_survives_config_rewrite() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Compose));
    let port = support::free_port();
    let secret = ws.dir.path().join("node-secret");
    write_secret(&secret, "first secret");
    let mut node = Node::new(
        &ws.bundle_dir(),
        &ws.dir.path().join("run"),
        "node",
        Kind::Data,
        port,
        &localize(text(&ws.bundle, MASTER_CONF), port, None),
        &secret,
    );
    node.start();
    wait_for(Duration::from_secs(10), "the node answers", || {
        node.assert_running();
        (cli(port, Some("first secret"), &["ping"]).1 == "PONG").then_some(())
    });
    // CONFIG REWRITE stores `user default ... #<hash of the first secret>`.
    assert_eq!(
        cli(port, Some("first secret"), &["config", "rewrite"]).1,
        "OK"
    );
    let conf = fs::read_to_string(node.conf()).expect("conf");
    assert_eq!(count_directive(&conf, "user default"), 1, "{conf}");
    node.kill();
    write_secret(&secret, PASSWORD);
    node.start();
    node.wait_ready();
    let (ok, out) = cli(port, Some("first secret"), &["ping"]);
    assert!(!ok, "the old password still works: {out}");
}

#[test]
fn broken_configs_are_rejected_by_the_real_servers() {
    let ws = Workspace::new(support::render("topologies/prod.toml", Target::Swarm));
    let b = &ws.bundle;
    let cases = [
        (
            "bad-node",
            Kind::Data,
            text(b, MASTER_CONF).replace("appendonly yes", "appendonly maybe"),
        ),
        ("bad-myid", Kind::Sentinel, {
            let conf = sentinel_files(b)[0];
            let id = directive(conf, "sentinel myid").expect("myid")[0];
            conf.replace(id, &id[..39])
        }),
    ];
    for (name, kind, conf) in cases {
        let port = support::free_port();
        let master = monitor(sentinel_files(b)[0]);
        let m =
            (kind == Kind::Sentinel).then_some((master.1.as_str(), master.2, support::free_port()));
        let mut node = Node::new(
            &ws.bundle_dir(),
            &ws.dir.path().join("run"),
            name,
            kind,
            port,
            &localize(&conf, port, m),
            &ws.secret(),
        );
        node.start();
        let status = wait_for(
            Duration::from_secs(10),
            "the server refuses the file",
            || {
                node.child
                    .as_mut()
                    .and_then(|c| c.try_wait().expect("poll"))
            },
        );
        assert!(!status.success(), "{name} started:\n{}", node.log());
    }
}

#[test]
fn rendered_redis_files_hold_no_password_and_scripts_pass_shellcheck() {
    let shellcheck = support::tool("shellcheck");
    for (topology, target, bundle) in support::all_bundles() {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        for a in bundle
            .artifacts()
            .iter()
            .filter(|a| a.path.starts_with("redis/"))
        {
            for key in ["requirepass", "masterauth", "sentinel auth-pass"] {
                assert_eq!(
                    count_directive(&a.contents, key),
                    0,
                    "{topology} ({target}) {}",
                    a.path
                );
            }
        }
        for script in [REDIS_ENTRYPOINT, SENTINEL_ENTRYPOINT] {
            let path = dir.path().join(script);
            assert_eq!(bundle.get(script).expect("script").mode, 0o755);
            let (ok, out, err) =
                support::run(Command::new(&shellcheck).args(["-s", "sh"]).arg(&path));
            assert!(ok, "{topology} ({target}) {script}:\n{out}{err}");
        }
    }
    // shellcheck catches a broken script.
    let bundle = support::render("topologies/prod.toml", Target::Swarm);
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.sh");
    let mut f = File::create(&broken).expect("create");
    std::io::Write::write_all(
        &mut f,
        format!("{}cd $data_dir\n", text(&bundle, REDIS_ENTRYPOINT)).as_bytes(),
    )
    .expect("write");
    let (ok, out, _) = support::run(Command::new(&shellcheck).args(["-s", "sh"]).arg(&broken));
    assert!(!ok && out.contains("SC2086"), "{out}");
}

/// The measured times, shown with `--nocapture`.
#[allow(clippy::print_stderr)]
fn report(line: &str) {
    eprintln!("{line}");
}
