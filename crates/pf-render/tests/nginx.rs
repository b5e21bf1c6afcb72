//! The load balancer's nginx.conf, checked by a real nginx (>= 1.27.3,
//! `.tools/bin/nginx`): every topology x target passes `nginx -t`, broken
//! files fail it, and the prod Compose file serves real traffic on loopback
//! (spread over backends, failover when one dies, status, HTTPS redirect),
//! as does the PostgreSQL read endpoint of the large example.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pf_render::{Bundle, Target};

const CONF: &str = "nginx/load-balancer.conf";

fn conf(bundle: &Bundle) -> &str {
    &bundle
        .get(CONF)
        .expect("the bundle has the nginx config")
        .contents
}

/// Renders a topology given as text (a variant of a committed one).
fn render_text(text: &str, origin: &str, target: Target) -> Bundle {
    let checked = pf_model::from_str(text, origin)
        .unwrap_or_else(|e| panic!("{origin}: {e:?}"))
        .validate();
    let topology = checked
        .topology
        .unwrap_or_else(|| panic!("{origin} is invalid: {:#?}", checked.diagnostics));
    pf_render::render(&topology, target).expect("render")
}

/// Replaces `from` with `to` in `text`, failing when `from` is absent, so a
/// variant never silently equals its original.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` not found");
    text.replacen(from, to, 1)
}

/// prod.toml variants that reach the template's other branches.
fn prod_variants() -> Vec<(&'static str, String)> {
    let prod = std::fs::read_to_string(support::root().join("topologies/prod.toml"))
        .expect("read prod.toml");
    let no_tls = edit(
        &prod,
        "[load-balancer.tls]\ncertificate-secret = \"tls_certificate\"\nkey-secret = \"tls_private_key\"\n",
        "",
    );
    // Round robin, other ports, and sub-second times where nginx only
    // takes whole seconds.
    let mut other = edit(&prod, "method = \"least-conn\"", "method = \"round-robin\"");
    other = edit(
        &other,
        "fail-timeout = \"30s\"",
        "fail-timeout = \"1500ms\"",
    );
    other = edit(
        &other,
        "publish-mode = \"host\"",
        "publish-mode = \"host\"\nhttp-port = 8081\nhttps-port = 8443\nresolver-valid = \"500ms\"",
    );
    vec![("no-tls", no_tls), ("other-settings", other)]
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

/// A temp dir the unprivileged nginx workers can enter (they run as
/// `nobody` when the tests run as root).
fn temp_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The rendered file, with only what exists inside the container but not
/// here redirected into `dir`. Every rewrite must apply exactly as listed:
///
/// 1. `user nginx;` -> `user nobody nogroup;` (no `nginx` account here;
///    nginx ignores the line when not run as root).
/// 2. `pid /var/run/nginx.pid;` -> `pid <dir>/nginx.pid;`.
/// 3. `ssl_certificate` / `ssl_certificate_key` (Docker secrets under
///    /run/secrets) -> the self-signed pair.
/// 4. After `http {`: the five `*_temp_path` directives in `dir` (Debian's
///    build defaults to /var/lib/nginx, absent here; the official image's
///    /var/cache/nginx exists).
/// 5. With a `stream {}` block: `load_module <stream module>;` first
///    (Debian builds stream as a module; the official image has it built in).
/// 6. With monitoring: `load_module modules/ngx_http_js_module.so;` -> the
///    module's path under .tools, and `js_import ... from
///    /etc/nginx/metrics.js;` -> the bundle's `nginx/metrics.js`, written
///    into `dir`.
///
/// [`nginx_t`] and the traffic tests also move `listen` ports to loopback
/// ([`support::listen_on_loopback`]).
fn test_copy(conf: &str, dir: &Path, cert: &Path, key: &Path) -> String {
    let d = dir.display();
    let mut out = Vec::new();
    let mut counts = BTreeMap::<&str, usize>::new();
    for line in conf.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let t = line.trim();
        let rewritten = if t == "user nginx;" {
            Some(("user", "user nobody nogroup;".to_owned()))
        } else if t == "pid /var/run/nginx.pid;" {
            Some(("pid", format!("pid {d}/nginx.pid;")))
        } else if t.starts_with("ssl_certificate /run/secrets/") {
            Some((
                "cert",
                format!("{indent}ssl_certificate {};", cert.display()),
            ))
        } else if t == "load_module modules/ngx_http_js_module.so;" {
            let module = support::root()
                .join(".tools/nginx-root/usr/lib/nginx/modules/ngx_http_js_module.so");
            assert!(
                module.is_file(),
                "{} is missing: run scripts/install-test-tools.sh",
                module.display()
            );
            Some(("js-module", format!("load_module {};", module.display())))
        } else if let Some(name) = t
            .strip_prefix("js_import ")
            .and_then(|rest| rest.strip_suffix(" from /etc/nginx/metrics.js;"))
        {
            let script = dir.join("metrics.js");
            std::fs::write(&script, metrics_js()).expect("write metrics.js");
            Some((
                "js-import",
                format!("{indent}js_import {name} from {};", script.display()),
            ))
        } else if t.starts_with("ssl_certificate_key /run/secrets/") {
            Some((
                "key",
                format!("{indent}ssl_certificate_key {};", key.display()),
            ))
        } else {
            None
        };
        match rewritten {
            Some((what, new)) => {
                *counts.entry(what).or_default() += 1;
                out.push(new);
            }
            None => out.push(line.to_owned()),
        }
        if line == "http {" {
            *counts.entry("http").or_default() += 1;
            for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                out.push(format!("    {kind}_temp_path {d}/{kind}_temp;"));
            }
        }
    }
    let tls = usize::from(conf.contains(" ssl default_server;"));
    let js = usize::from(conf.contains("load_module modules/ngx_http_js_module.so;"));
    let expected = [
        ("cert", tls),
        ("http", 1),
        ("js-import", js),
        ("js-module", js),
        ("key", tls),
        ("pid", 1),
        ("user", 1),
    ];
    for (what, n) in expected {
        assert_eq!(
            counts.get(what).copied().unwrap_or(0),
            n,
            "rewrite `{what}`"
        );
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

/// The bundle's `nginx/metrics.js` (the same in every bundle).
fn metrics_js() -> &'static str {
    static JS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS.get_or_init(|| {
        support::render("topologies/prod.toml", Target::Swarm)
            .get("nginx/metrics.js")
            .expect("prod has monitoring")
            .contents
            .clone()
    })
}

/// prod's config for `target`, as [`test_copy`] runs it in `dir`, with a
/// fresh self-signed pair there.
fn prod_copy(dir: &Path, target: Target) -> String {
    let (cert, key) = self_signed(dir);
    test_copy(
        conf(&support::render("topologies/prod.toml", target)),
        dir,
        &cert,
        &key,
    )
}

/// `nginx -t` on `text` (listening on loopback) written into `dir`:
/// (accepted, what nginx said).
fn nginx_t(dir: &Path, text: &str) -> (bool, String) {
    let path = dir.join("nginx.conf");
    std::fs::write(&path, support::listen_on_loopback(text).0).expect("write config");
    let (ok, out, err) = support::run(
        Command::new(support::tool("nginx"))
            .arg("-t")
            .arg("-p")
            .arg(dir)
            .args(["-e", "stderr", "-c"])
            .arg(&path),
    );
    (ok, out + &err)
}

fn is_root() -> bool {
    let (_, out, _) = support::run(Command::new("id").arg("-u"));
    out.trim() == "0"
}

#[test]
fn every_rendered_config_passes_nginx_t() {
    let tmp = temp_dir();
    let (cert, key) = self_signed(tmp.path());
    let mut cases: Vec<(String, Bundle)> = support::all_bundles()
        .into_iter()
        .map(|(t, target, b)| (format!("{t} ({target})"), b))
        .collect();
    for (name, text) in prod_variants() {
        for target in [Target::Swarm, Target::Compose] {
            let bundle = render_text(&text, "topologies/prod.toml", target.clone());
            cases.push((format!("prod {name} ({target})"), bundle));
        }
    }
    for (i, (name, bundle)) in cases.iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        std::fs::create_dir(&dir).expect("mkdir");
        let (ok, said) = nginx_t(&dir, &test_copy(conf(bundle), &dir, &cert, &key));
        assert!(
            ok && said.contains("test is successful"),
            "{name}: nginx -t failed:\n{said}"
        );
        // nginx-tests' rule: no alerts, and here no warnings either, except
        // the one about `user` that nginx prints when not run as root.
        for line in said
            .lines()
            .filter(|l| l.contains("[warn]") || l.contains("[alert]"))
        {
            assert!(
                !is_root() && line.contains("\"user\" directive"),
                "{name}: nginx warns: {line}"
            );
        }
    }
}

#[test]
fn nginx_t_rejects_broken_configs() {
    let tmp = temp_dir();
    let good = prod_copy(tmp.path(), Target::Swarm);
    assert!(
        nginx_t(tmp.path(), &good).0,
        "the unbroken config must pass first"
    );
    let broken = [
        // A misspelled directive.
        (
            "least_conn;",
            "least_conns;",
            "unknown directive \"least_conns\"",
        ),
        // `resolve` needs the upstream in shared memory.
        ("zone backend 64k;", "", "requires upstream \"backend\""),
        // Without `resolve` nginx resolves at start and gives up: the reason
        // the generator always writes it (tasks.backend does not resolve here).
        (
            " resolve max_fails",
            " max_fails",
            "host not found in upstream",
        ),
    ];
    for (from, to, expected) in broken {
        let (ok, said) = nginx_t(tmp.path(), &edit(&good, from, to));
        assert!(!ok, "nginx -t accepted a config with `{from}` -> `{to}`");
        assert!(
            said.contains(expected),
            "`{from}` -> `{to}`: expected `{expected}` in:\n{said}"
        );
    }
}

#[test]
fn swarm_upstreams_follow_tasks_and_compose_lists_instances() {
    let swarm = support::render("topologies/prod.toml", Target::Swarm);
    let text = conf(&swarm);
    for needle in [
        "resolver 127.0.0.11 valid=10s ipv6=off;",
        "upstream backend {\n        zone backend 64k;\n        least_conn;\n        server tasks.backend:8000 resolve max_fails=3 fail_timeout=30s;\n        keepalive 32;\n    }",
        "server tasks.frontend:80 resolve max_fails=3 fail_timeout=30s;",
        "proxy_next_upstream error timeout http_502 http_503 http_504;",
        "proxy_next_upstream_tries 3;",
        "proxy_next_upstream_timeout 15s;",
        "listen 8080;",
        "location = /nginx_status {\n            stub_status;\n        }",
    ] {
        assert!(
            text.contains(needle),
            "prod swarm config lacks `{needle}`:\n{text}"
        );
    }
    assert!(!text.contains("stream {"), "prod has no read endpoint");
    assert_eq!(
        swarm,
        support::render("topologies/prod.toml", Target::Swarm),
        "deterministic"
    );

    let compose = support::render("topologies/prod.toml", Target::Compose);
    let servers: Vec<&str> = conf(&compose)
        .lines()
        .filter(|l| l.trim().starts_with("server ") && l.contains(" resolve "))
        .collect();
    let expected = [
        "backend1:8000",
        "backend2:8000",
        "backend3:8000",
        "frontend1:80",
        "frontend2:80",
    ];
    assert_eq!(servers.len(), expected.len(), "{servers:#?}");
    for (line, addr) in servers.iter().zip(expected) {
        assert_eq!(
            line.trim(),
            format!("server {addr} resolve max_fails=3 fail_timeout=30s;")
        );
    }

    let large = support::render("examples/large-multi-host.toml", Target::Swarm);
    let text = conf(&large);
    assert!(
        text.contains("ip_hash;") && text.contains("host mode"),
        "{text}"
    );
    // Keepalive probes on both legs of the read endpoint, well under IPVS's
    // 900 s: on accepted sockets by nginx itself, on the upstream sockets
    // by the kernel settings of nginx's own network namespace.
    assert!(
        text.contains("stream {")
            && text.contains("listen 5433 so_keepalive=60s:10s:6;")
            && text.contains("proxy_socket_keepalive on;"),
        "{text}"
    );
    let stack = &large.get("docker-stack.yml").expect("stack").contents;
    let nginx_service = stack
        .split("\n  postgres-1:")
        .next()
        .and_then(|head| head.split("\n  nginx:\n").nth(1))
        .expect("the nginx service");
    for sysctl in [
        "net.ipv4.tcp_keepalive_time: '60'",
        "net.ipv4.tcp_keepalive_intvl: '10'",
        "net.ipv4.tcp_keepalive_probes: '6'",
    ] {
        assert!(nginx_service.contains(sysctl), "{sysctl}:\n{nginx_service}");
    }
    // The read endpoint balances over the members that are not the primary.
    for member in ["postgres-2", "postgres-3", "postgres-4"] {
        assert!(
            text.contains(&format!("server {member}:5432 resolve")),
            "{member}: {text}"
        );
    }
    assert!(!text.contains("server postgres-1:5432"), "{text}");
}

#[test]
fn prod_variants_take_the_other_branches() {
    let variants: BTreeMap<_, _> = prod_variants().into_iter().collect();
    let bundle = render_text(&variants["no-tls"], "topologies/prod.toml", Target::Swarm);
    let text = conf(&bundle);
    assert!(
        !text.contains("ssl") && !text.contains("return 301"),
        "{text}"
    );
    let site = &text[text
        .find("listen 80 default_server;")
        .expect("site on port 80")..];
    // `/api` exactly and everything under `/api/`, never `/apifoo`.
    assert!(
        site.contains("location = /api {\n            proxy_pass http://backend;")
            && site.contains("location /api/ {\n            proxy_pass http://backend;")
            && !site.contains("location /api {"),
        "{text}"
    );

    let bundle = render_text(
        &variants["other-settings"],
        "topologies/prod.toml",
        Target::Swarm,
    );
    let text = conf(&bundle);
    for needle in [
        "listen 8081 default_server;",
        "listen 8443 ssl default_server;",
        "return 301 https://$host:8443$request_uri;",
        "resolver 127.0.0.11 valid=1s ipv6=off;",
        "server tasks.backend:8000 resolve max_fails=3 fail_timeout=2s;",
    ] {
        assert!(text.contains(needle), "lacks `{needle}`:\n{text}");
    }
    assert!(
        !text.contains("least_conn;") && !text.contains("ip_hash;"),
        "{text}"
    );
}

/// Settings every config must have (CIS NGINX, Mozilla "intermediate"),
/// TLS ones wherever a topology has TLS.
#[test]
fn every_config_is_hardened() {
    const MOZILLA_INTERMEDIATE: &str = "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;";
    let always = [
        "server_tokens off;",
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "keepalive_timeout 10s;",
        "send_timeout 10s;",
        "client_max_body_size ",
        "upstream=$upstream_addr upstream_status=$upstream_status",
        "        deny all;\n\n        location = /nginx_status {",
    ];
    let with_tls = [
        "http2 on;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        MOZILLA_INTERMEDIATE,
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:MozSSL:10m;",
        "add_header Strict-Transport-Security \"max-age=63072000\" always;",
        "return 301 https://$host$request_uri;",
    ];
    let mut bundles = support::all_bundles();
    for (name, text) in prod_variants() {
        bundles.push((
            name.to_owned(),
            Target::Swarm,
            render_text(&text, "topologies/prod.toml", Target::Swarm),
        ));
    }
    for (t, target, bundle) in bundles {
        let text = conf(&bundle);
        let name = format!("{t} ({target})");
        let tls = text.contains(" ssl default_server;");
        assert!(tls || t == "no-tls", "{name} has no TLS");
        for needle in always.iter().chain(if tls { &with_tls[..] } else { &[] }) {
            // The other-settings variant redirects to port 8443.
            if !(t == "other-settings" && needle.starts_with("return 301")) {
                assert!(text.contains(needle), "{name} lacks `{needle}`");
            }
        }
        assert!(
            !text.contains("{{") && !text.contains("{%"),
            "{name}: template syntax leaked"
        );
    }
}

// ---- Real traffic ------------------------------------------------------

/// A tiny HTTP server answering `200 <name>` (or another status) to
/// anything, until dropped or killed; it keeps the last request it saw.
struct Backend {
    port: u16,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
    last_request: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let status = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let last_request = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (name, code, hits, last, stop) = (
                name.to_owned(),
                status.clone(),
                hits.clone(),
                last_request.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                // The listener lives in this thread: when it returns, the
                // port is closed and connections are refused, like a dead
                // container.
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let request = answer(conn, &name, code.load(Ordering::SeqCst));
                            hits.fetch_add(1, Ordering::SeqCst);
                            *last.lock().expect("lock") = request;
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Self {
            port,
            status,
            hits,
            last_request,
            stop,
            thread: Some(thread),
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Answers `code` from now on.
    fn answer_with(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    /// Closes the port: later connections are refused.
    fn kill(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("backend thread");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads one request head, answers `<code> <name>` and closes; returns the head.
fn answer(mut conn: TcpStream, name: &str, code: u16) -> String {
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 {code} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
        name.len()
    );
    let _ = conn.write_all(response.as_bytes());
    String::from_utf8_lossy(&head).into_owned()
}

/// Every `server <host>:<port> resolve ...` -> a [`Backend`] named after
/// the host, on loopback. Returns the text and the backends by host.
fn servers_on_loopback(text: &str) -> (String, BTreeMap<String, Backend>) {
    let mut backends = BTreeMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["server", addr, "resolve", rest @ ..] => {
                let (host, _) = addr.rsplit_once(':').expect("host:port");
                let b = backends
                    .entry(host.to_owned())
                    .or_insert_with(|| Backend::start(host));
                out.push(format!(
                    "{indent}server 127.0.0.1:{} resolve {}",
                    b.port,
                    rest.join(" ")
                ));
            }
            _ => out.push(line.to_owned()),
        }
    }
    (out.join("\n") + "\n", backends)
}

/// A running nginx; stopped (TERM, then KILL) when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(dir: &Path, text: &str, wait_for_port: u16) -> Self {
        let path = dir.join("nginx.conf");
        std::fs::write(&path, text).expect("write config");
        let stdout = std::fs::File::create(dir.join("stdout.log")).expect("stdout log");
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
        let child = Command::new(support::tool("nginx"))
            .arg("-p")
            .arg(dir)
            .args(["-e", "stderr", "-c"])
            .arg(&path)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start nginx");
        let mut nginx = Self {
            child,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", wait_for_port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited with {status}:\n{}", nginx.errors());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen in 10s:\n{}",
                nginx.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The access log (access_log /dev/stdout).
    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM lets the master stop its workers; KILL only if it hangs.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl and returns its stdout; `-w` output follows each body.
fn curl(args: &[&str]) -> String {
    let (ok, out, err) = support::run(
        Command::new(support::tool("curl"))
            .args(["-sS", "-k", "--max-time", "10"])
            .args(args),
    );
    assert!(ok, "curl {args:?} failed: {err}");
    out
}

/// GETs `path` `n` times on one HTTPS connection; returns "<body> <status>" per request.
fn get_many(https: u16, path: &str, n: usize) -> Vec<String> {
    let urls: Vec<String> = (0..n)
        .map(|i| format!("https://127.0.0.1:{https}{path}?n={i}"))
        .collect();
    let mut args = vec![
        "-H",
        "Host: promptforge.example.com",
        "-w",
        " %{http_code}\\n",
    ];
    args.extend(urls.iter().map(String::as_str));
    curl(&args).lines().map(str::to_owned).collect()
}

#[test]
fn prod_compose_serves_real_traffic() {
    let tmp = temp_dir();
    let rendered = prod_copy(tmp.path(), Target::Compose);
    let (text, ports) = support::listen_on_loopback(&rendered);
    let (text, mut backends) = servers_on_loopback(&text);
    assert_eq!(
        backends.keys().collect::<Vec<_>>(),
        ["backend1", "backend2", "backend3", "frontend1", "frontend2"]
    );
    let (http, https, status) = (ports[&80], ports[&443], ports[&8080]);
    let nginx = Nginx::start(tmp.path(), &text, status);

    // Spread: least_conn among idle servers takes each in turn.
    let answers = get_many(https, "/api/users", 30);
    assert_eq!(answers.len(), 30, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| a.starts_with("backend") && a.ends_with(" 200")),
        "{answers:?}"
    );
    for b in ["backend1", "backend2", "backend3"] {
        assert!(
            backends[b].hits() >= 5,
            "{b} got {} of 30 requests: {answers:?}",
            backends[b].hits()
        );
    }
    let answers = get_many(https, "/index.html", 6);
    assert!(
        answers
            .iter()
            .all(|a| a.starts_with("frontend") && a.ends_with(" 200")),
        "{answers:?}"
    );
    assert!(backends["frontend1"].hits() >= 1 && backends["frontend2"].hits() >= 1);

    // What the backend saw: the proxy headers, and no "Connection: close"
    // (upstream keepalive).
    let seen = backends["backend1"]
        .last_request
        .lock()
        .expect("lock")
        .to_ascii_lowercase();
    for header in [
        "host: promptforge.example.com",
        "x-real-ip: 127.0.0.1",
        "x-forwarded-for: 127.0.0.1",
        "x-forwarded-proto: https",
    ] {
        assert!(
            seen.contains(header),
            "backend request lacks `{header}`:\n{seen}"
        );
    }
    assert!(
        seen.starts_with("get /api/users?n=")
            && seen.contains("http/1.1")
            && !seen.contains("connection: close"),
        "{seen}"
    );

    // HTTP/2 and HSTS on the HTTPS port.
    let head = curl(&[
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-w",
        "proto=%{http_version}",
        &format!("https://127.0.0.1:{https}/api/x"),
    ]);
    assert!(
        head.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=63072000"),
        "{head}"
    );
    assert!(head.ends_with("proto=2"), "{head}");

    // Failover: backend1 dies (connection refused: `error`) and backend2
    // answers 503 (`http_503`); every request still succeeds on backend3,
    // and the access log shows nginx moving on past both.
    let dead_port = backends["backend1"].port;
    let sick_port = backends["backend2"].port;
    backends.get_mut("backend1").expect("backend1").kill();
    backends["backend2"].answer_with(503);
    let before = backends["backend3"].hits();
    let answers = get_many(https, "/api/users", 30);
    assert!(answers.iter().all(|a| a == "backend3 200"), "{answers:?}");
    assert_eq!(backends["backend3"].hits() - before, 30);
    let log = nginx.access_log();
    for (port, code) in [(dead_port, 502), (sick_port, 503)] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("upstream=127.0.0.1:{port}, "))
                    && l.contains(&format!("upstream_status={code}, "))
                    && l.contains(" 200 ")),
            "no retry past 127.0.0.1:{port} ({code}) in:\n{log}"
        );
    }

    // HTTP port: /health answers, everything else moves to HTTPS.
    let redirect = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-H",
        "Host: promptforge.example.com",
        &format!("http://127.0.0.1:{http}/api/x?y=1"),
    ]);
    assert_eq!(redirect, "301 https://promptforge.example.com/api/x?y=1");
    assert_eq!(
        curl(&[&format!("http://127.0.0.1:{http}/health")]),
        "healthy\n"
    );

    // Status port: health and stub_status for allowed addresses only.
    let status_url = |p: &str| format!("http://127.0.0.1:{status}{p}");
    assert_eq!(curl(&[&status_url("/health")]), "healthy\n");
    let stub = curl(&[&status_url("/nginx_status")]);
    assert!(
        stub.starts_with("Active connections:") && stub.contains("server accepts handled requests"),
        "{stub}"
    );
    // 127.0.0.2 is loopback but outside prod's allow list (127.0.0.1/32).
    let denied = curl(&[
        "--interface",
        "127.0.0.2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &status_url("/nginx_status"),
    ]);
    assert_eq!(denied, "403");

    let errors = nginx.errors();
    assert!(
        !errors.contains("[alert]") && !errors.contains("[emerg]"),
        "{errors}"
    );
}

#[test]
fn read_endpoint_balances_and_fails_over_replicas() {
    let tmp = temp_dir();
    let (cert, key) = self_signed(tmp.path());
    let rendered = test_copy(
        conf(&support::render(
            "examples/large-multi-host.toml",
            Target::Compose,
        )),
        tmp.path(),
        &cert,
        &key,
    );
    let (text, ports) = support::listen_on_loopback(&rendered);
    let (text, mut backends) = servers_on_loopback(&text);
    let read = ports[&5433];
    let _nginx = Nginx::start(tmp.path(), &text, read);
    let replicas = ["postgres-2", "postgres-3", "postgres-4"];

    // One TCP session each; the fake replica answers its name.
    let session = || {
        let mut conn =
            TcpStream::connect(("127.0.0.1", read)).expect("connect to the read endpoint");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        conn.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
        let mut reply = String::new();
        conn.read_to_string(&mut reply).expect("read");
        reply
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let names: Vec<String> = (0..9).map(|_| session()).collect();
    for r in replicas {
        assert!(backends[r].hits() >= 1, "{r} got no session: {names:?}");
    }
    backends.get_mut("postgres-2").expect("replica").kill();
    let names: Vec<String> = (0..9).map(|_| session()).collect();
    assert!(
        names.iter().all(|n| n == "postgres-3" || n == "postgres-4"),
        "{names:?}"
    );
}

/// The port of a dead task on an overlay network: nothing answers a SYN,
/// not even with a reset. A never-accepting listener with backlog 0 whose
/// one queue slot is taken drops every further SYN (Linux
/// `tcp_conn_request`), so a connect hangs until the client's timeout.
struct Silent {
    _listener: TcpListener,
    _queued: TcpStream,
}

impl Silent {
    fn on(port: u16) -> Self {
        use rustix::net::{
            AddressFamily, SocketFlags, SocketType, bind, listen, socket_with, sockopt,
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        // Close-on-exec: curl and nginx must not inherit the listener.
        let fd = socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .expect("socket");
        sockopt::set_socket_reuseaddr(&fd, true).expect("SO_REUSEADDR");
        bind(&fd, &addr).expect("bind the dead port");
        listen(&fd, 0).expect("listen");
        let listener = TcpListener::from(fd);
        let queued = TcpStream::connect(addr).expect("fill the queue");
        let probe = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(
            matches!(&probe, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
            "the dead port answered: {probe:?}"
        );
        Self {
            _listener: listener,
            _queued: queued,
        }
    }
}

/// "<body> <status> <seconds>" per request, each on its own connection.
fn timed_gets(https: u16, path: &str, n: usize) -> Vec<(String, f64)> {
    (0..n)
        .map(|i| {
            let out = curl(&[
                "-H",
                "Host: promptforge.example.com",
                "-w",
                " %{http_code} %{time_total}",
                &format!("https://127.0.0.1:{https}{path}?n={i}"),
            ]);
            let (answer, secs) = out.rsplit_once(' ').expect("time");
            (answer.to_owned(), secs.parse().expect("seconds"))
        })
        .collect()
}

#[test]
fn routes_match_whole_segments_and_a_dead_task_costs_one_connect_timeout() {
    let tmp = temp_dir();
    let rendered = prod_copy(tmp.path(), Target::Compose);
    // One worker per CPU of prod's 1-CPU limit, not one per host CPU.
    assert!(rendered.contains("\nworker_processes 1;\n"), "{rendered}");
    assert!(
        conf(&support::render(
            "examples/large-multi-host.toml",
            Target::Swarm
        ))
        .contains("\nworker_processes 2;\n"),
        "the large example's nginx has a 2-CPU limit"
    );
    let (text, ports) = support::listen_on_loopback(&rendered);
    let (text, mut backends) = servers_on_loopback(&text);
    let https = ports[&443];
    let nginx = Nginx::start(tmp.path(), &text, ports[&8080]);

    // `/api` routes `/api` and `/api/...`; `/apifoo` is not under it and
    // goes to the frontend at `/`.
    for (path, to) in [
        ("/api", "backend"),
        ("/api/", "backend"),
        ("/api/users", "backend"),
        ("/apifoo", "frontend"),
        ("/apifoo/x", "frontend"),
        ("/ap", "frontend"),
    ] {
        for answer in get_many(https, path, 3) {
            assert!(
                answer.starts_with(to) && answer.ends_with(" 200"),
                "{path} went to `{answer}`, not {to}"
            );
        }
    }

    // backend1 dies as a task does on an overlay: no reset. Each request
    // nginx sends there waits proxy_connect_timeout (500ms), then goes to
    // the next server: every client request succeeds within the guide's 1 s.
    let dead = backends["backend1"].port;
    backends.get_mut("backend1").expect("backend1").kill();
    let _silent = Silent::on(dead);
    let answers = timed_gets(https, "/api/users", 12);
    let worst = answers.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    assert!(
        answers
            .iter()
            .all(|(a, _)| a.ends_with(" 200") && !a.starts_with("backend1")),
        "{answers:?}"
    );
    assert!(worst < 1.0, "slowest request {worst:.3} s: {answers:?}");
    assert!(
        worst >= 0.45,
        "no request waited for the dead backend ({worst:.3} s): the test's dead port answered"
    );
    let log = nginx.access_log();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("upstream=127.0.0.1:{dead}, ")) && l.contains(" 200 ")),
        "no retry past the dead 127.0.0.1:{dead} in:\n{log}"
    );
    drop(nginx);

    // nginx's former 5s: the same death costs a client 5 s.
    let slow_dir = tmp.path().join("slow");
    std::fs::create_dir(&slow_dir).expect("mkdir");
    let slow = text.replace("proxy_connect_timeout 500ms;", "proxy_connect_timeout 5s;");
    assert_ne!(slow, text);
    let _nginx = Nginx::start(&slow_dir, &slow, ports[&8080]);
    let worst = timed_gets(https, "/api/users", 6)
        .iter()
        .map(|(_, s)| *s)
        .fold(0.0, f64::max);
    assert!(
        worst >= 4.5,
        "with a 5s connect timeout the slowest took {worst:.3} s"
    );
}
