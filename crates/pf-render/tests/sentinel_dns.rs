//! Sentinel never waits on DNS for a stopped instance, measured with real
//! redis-server and redis-sentinel processes from the rendered bundles.
//!
//! Sentinel resolves host names inside its event loop (on every reconnect
//! and on every replica INFO that names the master). In a container, the
//! name of a stopped instance stops resolving on Compose and with Swarm's
//! `dnsrr` endpoint mode; Docker's DNS then forwards the lookup to the
//! hosts' resolvers, and while it waits Sentinel stalls, enters TILT mode
//! and does not fail over. Each scenario runs in its own network and mount
//! namespace: the instances' addresses on its loopback interface, a
//! private `/etc/hosts`, and an `/etc/resolv.conf` naming a resolver that
//! never answers (a UDP socket nobody reads), so every lookup of a name
//! that is not in `/etc/hosts` waits the resolver's full timeout, the worst
//! case of an unreachable upstream.
//!
//! - Compose: Redis and Sentinels use fixed addresses (`resolve-hostnames
//!   no`): the failover stays within the budget although nothing resolves.
//! - Swarm with `vip` (the default): the stopped master's service name
//!   keeps resolving (its virtual IP, stood in for by its `/etc/hosts`
//!   entry): within the budget.
//! - Swarm with `dnsrr`: the stopped master's name stops resolving: the
//!   Sentinels wait on the lookups (then enter TILT) and do not fail over
//!   within the budget; this is what the `endpoint-mode-dnsrr` warning
//!   describes.
//!
//! Needs root (namespaces), `ip`, `unshare` and `nsenter`.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use pf_render::plan::Plan;
use pf_render::{Bundle, Target};

const PASSWORD: &str = "dns test pa\"ss";
/// The resolver of every namespace: a UDP socket in it that nobody reads,
/// so queries are neither answered nor refused.
const BLACK_HOLE_DNS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);

/// A network and mount namespace, held open by a `sleep` process.
struct Ns {
    holder: Child,
    dir: tempfile::TempDir,
    /// The resolver's socket: bound, never read, never answering.
    black_hole: Option<UdpSocket>,
}

impl Ns {
    /// A namespace whose loopback interface has `addresses`, with
    /// `/etc/hosts` = `hosts` and the black-hole resolver.
    fn new(addresses: &[Ipv4Addr], hosts: &str) -> Self {
        assert!(
            rustix_is_root(),
            "the Sentinel DNS tests create network namespaces: run the tests as root"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let holder = Command::new(support::tool("unshare"))
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .args(["sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let mut ns = Self {
            holder,
            dir,
            black_hole: None,
        };
        // The namespaces exist once the holder runs `sleep`.
        let own = fs::read_link("/proc/self/ns/net").expect("own netns");
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::read_link(format!("/proc/{}/ns/net", ns.pid())).ok() == Some(own.clone())
            || !fs::read_to_string(format!("/proc/{}/comm", ns.pid()))
                .is_ok_and(|c| c.trim() == "sleep")
        {
            assert!(Instant::now() < deadline, "unshare did not start");
            sleep(Duration::from_millis(20));
        }
        ns.run(&["ip", "link", "set", "lo", "up"]);
        for a in addresses {
            ns.run(&["ip", "addr", "add", &format!("{a}/32"), "dev", "lo"]);
        }
        ns.run(&[
            "ip",
            "addr",
            "add",
            &format!("{BLACK_HOLE_DNS}/32"),
            "dev",
            "lo",
        ]);
        ns.black_hole = Some(black_hole(ns.pid()));
        let hosts_file = ns.dir.path().join("hosts");
        let resolv = ns.dir.path().join("resolv.conf");
        fs::write(&hosts_file, format!("127.0.0.1 localhost\n{hosts}")).expect("hosts");
        // glibc's defaults, said explicitly: 5 s per try, 2 tries.
        fs::write(
            &resolv,
            format!("nameserver {BLACK_HOLE_DNS}\noptions timeout:5 attempts:2\n"),
        )
        .expect("resolv.conf");
        for (file, target) in [(&hosts_file, "/etc/hosts"), (&resolv, "/etc/resolv.conf")] {
            ns.run(&["mount", "--bind", &file.display().to_string(), target]);
        }
        ns
    }

    fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// `program` run inside the namespaces.
    fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(support::tool("nsenter"));
        c.args(["-t", &self.pid().to_string(), "-n", "-m", "--"])
            .arg(program);
        c
    }

    fn run(&self, args: &[&str]) {
        let (ok, out, err) = support::run(self.cmd(args[0]).args(&args[1..]));
        assert!(ok, "{args:?} in the namespace: {out}{err}");
    }

    /// Replaces `/etc/hosts` in the namespace (in place: the bind mount
    /// keeps the file).
    fn set_hosts(&self, hosts: &str) {
        fs::write(
            self.dir.path().join("hosts"),
            format!("127.0.0.1 localhost\n{hosts}"),
        )
        .expect("hosts");
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A UDP socket on the resolver's address and port inside the network
/// namespace of `pid`, bound from a thread that joins that namespace.
fn black_hole(pid: u32) -> UdpSocket {
    std::thread::spawn(move || {
        let ns = fs::File::open(format!("/proc/{pid}/ns/net")).expect("netns");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&ns),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
        UdpSocket::bind((BLACK_HOLE_DNS, 53)).expect("bind the resolver's port")
    })
    .join()
    .expect("black hole thread")
}

fn rustix_is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|u| u.split_whitespace().nth(1))
            == Some("0")
    })
}

/// One Redis data node or Sentinel, started through its rendered
/// entrypoint inside the namespace.
struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    start: Command,
}

impl Proc {
    fn new(name: &str, dir: &Path, start: Command) -> Self {
        Self {
            name: name.to_owned(),
            child: None,
            log: dir.join("log"),
            start,
        }
    }

    fn start(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        self.start
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.child = Some(self.start.spawn().expect("start"));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// redis-cli in the namespace with the password; `None` when it fails or
/// takes longer than `limit` (a Sentinel stalled in a lookup answers no
/// one).
fn cli(ns: &Ns, host: &str, port: u16, args: &[&str], limit: Duration) -> Option<String> {
    let mut child = ns
        .cmd(support::tool("redis-cli"))
        .args(["-e", "-h", host, "-p", &port.to_string()])
        .args(args)
        .env("REDISCLI_AUTH", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("poll") {
            let mut out = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut out)
                .expect("read");
            return status.success().then(|| out.trim().replace('\r', ""));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

/// What one scenario starts: the rendered templates, the address each
/// instance binds, the host the others know it by.
struct Cluster {
    ns: Ns,
    master_name: String,
    /// (name, bind address, host) of the master, then the replica.
    data: Vec<(String, Ipv4Addr, String)>,
    /// (name, bind address) of each Sentinel.
    sentinels: Vec<(String, Ipv4Addr)>,
    procs: BTreeMap<String, Proc>,
    redis_port: u16,
    sentinel_port: u16,
    budget: Duration,
}

fn text<'a>(bundle: &'a Bundle, path: &str) -> &'a str {
    &bundle
        .get(path)
        .unwrap_or_else(|| panic!("{path} is missing"))
        .contents
}

/// Arguments of the first line starting with `key`.
fn directive<'a>(conf: &'a str, key: &str) -> Vec<&'a str> {
    let n = key.split(' ').count();
    conf.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() >= n && w[..n].join(" ") == key)
        .map(|w| w[n..].to_vec())
        .unwrap_or_else(|| panic!("no `{key}` in\n{conf}"))
}

/// The template with `bind` set to `addr`: every process shares the
/// namespace and its ports, as each container has its own.
fn bind_to(conf: &str, addr: Ipv4Addr) -> String {
    let out: Vec<String> = conf
        .lines()
        .map(|l| {
            if l.starts_with("bind ") {
                format!("bind {addr}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_eq!(
        conf.lines().filter(|l| l.starts_with("bind ")).count(),
        1,
        "one bind line in\n{conf}"
    );
    out.join("\n") + "\n"
}

/// PATH with the real redis binaries and no `docker-entrypoint.sh`.
fn base_path() -> String {
    let dir = support::tool("redis-server")
        .parent()
        .expect("folder")
        .display()
        .to_string();
    format!("{dir}:/usr/bin:/bin:/usr/sbin:/sbin")
}

impl Cluster {
    /// Writes the bundle, and prepares the data nodes and Sentinels of
    /// `bundle` (rendered from `plan`) bound to `addresses` (data nodes
    /// first) in a namespace whose `/etc/hosts` is `hosts`. The hosts the
    /// templates name are the plan's.
    fn new(bundle: &Bundle, plan: &Plan, addresses: &[Ipv4Addr], hosts: &str) -> Self {
        let ns = Ns::new(addresses, hosts);
        let root = ns.dir.path().to_path_buf();
        support::write_bundle(bundle, &root.join("bundle"));
        let secret = root.join("secret");
        fs::write(&secret, format!("{PASSWORD}\n")).expect("secret");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
        let sentinel1 = text(bundle, "redis/sentinel-1.conf");
        let monitor = directive(sentinel1, "sentinel monitor");
        let master_name = monitor[0].to_owned();
        let master_host = monitor[1].to_owned();
        let redis_port: u16 = monitor[2].parse().expect("port");
        let sentinel_port: u16 = directive(sentinel1, "port")[0].parse().expect("port");
        let ms = |key: &str| -> u64 {
            directive(sentinel1, &format!("sentinel {key} {master_name}"))[0]
                .parse()
                .expect("ms")
        };
        let budget = Duration::from_millis(ms("down-after-milliseconds") + ms("failover-timeout"));
        let replica_host = directive(text(bundle, "redis/replica.conf"), "replicaof")[0];
        assert_eq!(
            replica_host, master_host,
            "replicas follow the monitored master"
        );
        assert_eq!(
            plan.redis.master.instance.host, master_host,
            "the plan's master"
        );
        let mut procs = BTreeMap::new();
        let entrypoint = |script: &str| {
            let mut c = ns.cmd(root.join("bundle").join(script));
            c.env_clear()
                .env("PATH", base_path())
                .env("REDIS_PASSWORD_FILE", &secret);
            c
        };
        // An instance's folder, with its template bound to its address.
        let instance_dir = |root: &Path, name: &str, template: &str, addr: Ipv4Addr| {
            let dir = root.join(name);
            fs::create_dir_all(&dir).expect("dir");
            let path = dir.join("template.conf");
            fs::write(&path, bind_to(text(bundle, template), addr)).expect("template");
            (dir, path)
        };
        let mut data = Vec::new();
        for (i, (role, node)) in ["master", "replica"]
            .into_iter()
            .zip(plan.redis.nodes())
            .enumerate()
        {
            let name = node.instance.name.clone();
            let host = node.instance.host.clone();
            let addr = addresses[i];
            let (dir, template) = instance_dir(&root, &name, &format!("redis/{role}.conf"), addr);
            let mut cmd = entrypoint("redis/redis-entrypoint.sh");
            cmd.env("REDIS_TEMPLATE", &template)
                .env("REDIS_DATA_DIR", dir.join("data"))
                .env("REDIS_ANNOUNCE_HOST", &host);
            procs.insert(name.clone(), Proc::new(&name, &dir, cmd));
            data.push((name, addr, host));
        }
        let mut sentinels = Vec::new();
        for (i, sentinel) in plan.redis.sentinels.iter().enumerate() {
            let name = sentinel.instance.name.clone();
            let addr = addresses[2 + i];
            let (dir, template) = instance_dir(
                &root,
                &name,
                &format!("redis/sentinel-{}.conf", i + 1),
                addr,
            );
            let mut cmd = entrypoint("redis/sentinel-entrypoint.sh");
            cmd.env("SENTINEL_TEMPLATE", &template)
                .env("SENTINEL_DATA_DIR", dir.join("data"));
            procs.insert(name.clone(), Proc::new(&name, &dir, cmd));
            sentinels.push((name, addr));
        }
        Self {
            ns,
            master_name,
            data,
            sentinels,
            procs,
            redis_port,
            sentinel_port,
            budget,
        }
    }

    fn start_all(&mut self) {
        for p in self.procs.values_mut() {
            p.start();
        }
    }

    /// Waits until every Sentinel sees the master with its replica and the
    /// other Sentinels.
    fn wait_healthy(&self) {
        let others = (self.sentinels.len() - 1).to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let healthy = self.every_sentinel(
                &["sentinel", "master", &self.master_name],
                Duration::from_secs(2),
                |out| {
                    let v: Vec<&str> = out.lines().collect();
                    let field = |k: &str| {
                        v.chunks(2)
                            .find(|c| c[0] == k)
                            .and_then(|c| c.get(1).copied())
                    };
                    field("flags") == Some("master")
                        && field("num-slaves") == Some("1")
                        && field("num-other-sentinels") == Some(others.as_str())
                },
            );
            if healthy {
                return;
            }
            self.wait_until(deadline, "the Sentinels never saw a healthy master");
        }
    }

    /// Sleeps a poll interval, or panics with the logs past `deadline`.
    fn wait_until(&self, deadline: Instant, what: &str) {
        assert!(Instant::now() < deadline, "{what}:\n{}", self.logs());
        sleep(Duration::from_millis(200));
    }

    /// Kills the master, then (when `vanish`) removes its name from
    /// `/etc/hosts`, as Docker's DNS does for a stopped container or dnsrr
    /// task. Returns how long until every Sentinel names the replica, or
    /// `None` if that does not happen within `limit`.
    fn kill_master(&mut self, hosts_after: Option<&str>, limit: Duration) -> Option<Duration> {
        self.procs.get_mut("redis-master").expect("master").kill();
        if let Some(hosts) = hosts_after {
            self.ns.set_hosts(hosts);
        }
        let killed = Instant::now();
        let replica = self.data[1].2.clone();
        loop {
            let all = self.every_sentinel(
                &["sentinel", "get-master-addr-by-name", &self.master_name],
                Duration::from_millis(500),
                |out| out.lines().next() == Some(replica.as_str()),
            );
            if all {
                return Some(killed.elapsed());
            }
            if killed.elapsed() > limit {
                return None;
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// Kills the master (its name keeps resolving) and asserts every
    /// Sentinel names the replica within the budget, none in TILT.
    fn assert_failover_within_budget(&mut self, label: &str) {
        let limit = self.budget + Duration::from_secs(5);
        let took = self.kill_master(None, limit);
        report(&format!(
            "{label}: failover after {took:?} (budget {:?})",
            self.budget
        ));
        let took = took.unwrap_or_else(|| panic!("no failover within {limit:?}:\n{}", self.logs()));
        assert!(
            took <= self.budget,
            "{took:?} over the budget {:?}",
            self.budget
        );
        assert_eq!(self.tilts(), 0, "a Sentinel stalled:\n{}", self.logs());
    }

    /// True when every Sentinel answers `args` within `limit` with a reply
    /// `ok` accepts.
    fn every_sentinel(&self, args: &[&str], limit: Duration, ok: impl Fn(&str) -> bool) -> bool {
        self.sentinels.iter().all(|(_, addr)| {
            cli(&self.ns, &addr.to_string(), self.sentinel_port, args, limit)
                .is_some_and(|out| ok(&out))
        })
    }

    /// TILT events in the Sentinels' logs.
    fn tilts(&self) -> usize {
        self.sentinels
            .iter()
            .map(|(n, _)| self.procs[n].log().matches("+tilt").count())
            .sum()
    }

    fn logs(&self) -> String {
        self.procs
            .values()
            .map(|p| format!("--- {}\n{}", p.name, p.log()))
            .collect()
    }
}

fn load(relative: &str) -> pf_model::Topology {
    let text = fs::read_to_string(support::root().join(relative)).expect("topology");
    pf_model::from_str(&text, relative)
        .expect("parses")
        .validate()
        .topology
        .expect("valid")
}

/// The prod plan for `target`.
fn prod_plan(target: Target) -> Plan {
    pf_render::plan(&load("topologies/prod.toml"), target)
}

/// The fixed addresses of a Compose plan: data nodes, then Sentinels.
fn fixed_addresses(plan: &Plan) -> Vec<Ipv4Addr> {
    plan.redis
        .nodes()
        .map(|n| &n.instance)
        .chain(plan.redis.sentinels.iter().map(|s| &s.instance))
        .map(|i| {
            i.host
                .parse()
                .unwrap_or_else(|_| panic!("{} has no fixed address: {}", i.name, i.host))
        })
        .collect()
}

/// Addresses standing in for the Swarm services, and the `/etc/hosts`
/// lines that resolve the plan's names to them.
fn swarm_hosts(plan: &Plan) -> (Vec<Ipv4Addr>, String) {
    let names: Vec<&str> = plan
        .redis
        .nodes()
        .map(|n| n.instance.host.as_str())
        .chain(
            plan.redis
                .sentinels
                .iter()
                .map(|s| s.instance.host.as_str()),
        )
        .collect();
    let addresses: Vec<Ipv4Addr> = (1..)
        .take(names.len())
        .map(|i| Ipv4Addr::new(10, 77, 0, i))
        .collect();
    let hosts = names
        .iter()
        .zip(&addresses)
        .map(|(n, a)| format!("{a} {n}\n"))
        .collect();
    (addresses, hosts)
}

/// The measured times, shown with `--nocapture`.
#[allow(clippy::print_stderr)]
fn report(line: &str) {
    eprintln!("{line}");
}

#[test]
fn compose_sentinels_fail_over_within_the_budget_when_dns_never_answers() {
    let bundle = support::render("topologies/prod.toml", Target::Compose);
    let plan = prod_plan(Target::Compose);
    let addresses = fixed_addresses(&plan);
    // No name of the stack is in /etc/hosts: any lookup waits on the black
    // hole, so the failover only stays in budget if nothing is looked up.
    let mut c = Cluster::new(&bundle, &plan, &addresses, "");
    c.start_all();
    c.wait_healthy();
    c.assert_failover_within_budget("compose (fixed addresses), DNS never answers");
    // The old master comes back at its address and is made a replica.
    c.procs.get_mut("redis-master").expect("master").start();
    let (_, master_addr, _) = c.data[0].clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let role = cli(
            &c.ns,
            &master_addr.to_string(),
            c.redis_port,
            &["role"],
            Duration::from_secs(2),
        );
        if role.is_some_and(|r| r.starts_with("slave")) {
            break;
        }
        c.wait_until(deadline, "the old master did not rejoin");
    }
}

/// The prod Swarm bundle's Redis group, healthy, with the `/etc/hosts`
/// that resolves its service names.
fn healthy_swarm_cluster() -> (Cluster, String) {
    let bundle = support::render("topologies/prod.toml", Target::Swarm);
    let plan = prod_plan(Target::Swarm);
    let (addresses, hosts) = swarm_hosts(&plan);
    let mut c = Cluster::new(&bundle, &plan, &addresses, &hosts);
    c.start_all();
    c.wait_healthy();
    (c, hosts)
}

#[test]
fn swarm_vip_names_keep_resolving_and_the_failover_stays_within_the_budget() {
    let (mut c, _) = healthy_swarm_cluster();
    // A VIP name resolves while its task is down: /etc/hosts keeps it.
    c.assert_failover_within_budget("swarm names that keep resolving (vip)");
}

#[test]
fn swarm_dnsrr_names_that_vanish_stall_the_sentinels() {
    let (mut c, hosts) = healthy_swarm_cluster();
    // dnsrr: the stopped task's name stops resolving.
    let without_master: String = hosts
        .lines()
        .filter(|l| !l.ends_with(" redis-master"))
        .map(|l| format!("{l}\n"))
        .collect();
    let limit = c.budget + Duration::from_secs(5);
    let took = c.kill_master(Some(&without_master), limit);
    report(&format!(
        "swarm names that vanish (dnsrr), DNS never answers: failover after {took:?} (watched {limit:?}), {} TILT event(s)",
        c.tilts()
    ));
    assert!(
        took.is_none_or(|t| t > c.budget),
        "the failover took {took:?}: the black hole no longer stalls Sentinel, so this test proves nothing"
    );
    // They waited on DNS for the vanished name (TILT follows once the
    // stalled timer notices, depending on when the lookups returned).
    assert!(
        c.logs()
            .contains("Failed to resolve hostname 'redis-master'"),
        "no Sentinel looked the stopped master up:\n{}",
        c.logs()
    );
}
