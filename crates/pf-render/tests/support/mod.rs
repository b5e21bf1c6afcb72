//! Shared test support: the committed topologies, rendering them, and
//! finding the real tools that check the output. A missing tool fails the
//! test with the command that installs it; it never skips.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pf_render::{Bundle, Target};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every committed topology: `topologies/*.toml`, then `examples/*.toml`,
/// as paths relative to the root (the form rendered headers name).
pub fn topologies() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["topologies", "examples"] {
        let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
            .expect("read topology folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| format!("{dir}/{}", p.file_name().expect("name").to_string_lossy()))
            .collect();
        found.sort();
        files.extend(found);
    }
    assert!(
        files.len() >= 3,
        "expected prod and the examples, found {files:?}"
    );
    files
}

/// The file name of a topology without `.toml`: names its snapshots.
pub fn stem(topology: &str) -> String {
    Path::new(topology)
        .file_stem()
        .expect("topology file name")
        .to_string_lossy()
        .into_owned()
}

/// Loads, validates and renders one topology (path relative to the root).
pub fn render(relative: &str, target: Target) -> Bundle {
    let text = std::fs::read_to_string(root().join(relative)).expect("read topology");
    let loaded =
        pf_model::from_str(&text, relative).unwrap_or_else(|e| panic!("{relative}: {e:?}"));
    let checked = loaded.validate();
    let topology = checked
        .topology
        .unwrap_or_else(|| panic!("{relative} is invalid: {:#?}", checked.diagnostics));
    pf_render::render(&topology, target.clone())
        .unwrap_or_else(|e| panic!("{relative} ({target}): {e}"))
}

/// Every topology rendered for every target.
pub fn all_bundles() -> Vec<(String, Target, Bundle)> {
    let mut out = Vec::new();
    for t in topologies() {
        for target in [Target::Swarm, Target::Compose] {
            let bundle = render(&t, target.clone());
            out.push((t.clone(), target, bundle));
        }
    }
    out
}

/// Writes a bundle's files under `dir` (with their modes).
pub fn write_bundle(bundle: &Bundle, dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for a in bundle.artifacts() {
        let path = dir.join(&a.path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &a.contents).expect("write artifact");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(a.mode)).expect("chmod");
    }
}

/// How to get a tool that is missing.
fn install_hint(name: &str) -> &'static str {
    match name {
        "nginx" => {
            "a current nginx (>= 1.27.3) with the njs module, extracted from Debian unstable into .tools/"
        }
        "amtool" => {
            "amtool (>= 0.26) of Debian unstable's prometheus-alertmanager, extracted into .tools/"
        }
        "compose-spec-validate" => "the compose-spec JSON schema validator (npm) in .tools/",
        "postgres" | "initdb" | "pg_ctl" | "psql" | "pg_basebackup" => "Debian package postgresql",
        "redis-server" | "redis-cli" => "Debian package redis-server",
        "redis-sentinel" => "Debian package redis-sentinel",
        "prometheus-redis-exporter" => "Debian package prometheus-redis-exporter",
        "ip" => "Debian package iproute2",
        "unshare" | "nsenter" => "Debian package util-linux",
        "promtool" => "Debian package prometheus",
        "shellcheck" => "Debian package shellcheck",
        "docker" => "the Docker CLI (Debian package docker.io)",
        "setpriv" => "Debian package util-linux",
        "openssl" => "Debian package openssl",
        "dash" => "Debian package dash",
        "busybox" => "Debian package busybox",
        _ => "the tool",
    }
}

/// The path of a real tool, or a panic that says how to install it.
pub fn tool(name: &str) -> PathBuf {
    let candidates: Vec<PathBuf> = match name {
        "nginx" | "compose-spec-validate" | "amtool" => {
            vec![root().join(".tools/bin").join(name)]
        }
        "postgres" | "initdb" | "pg_ctl" | "pg_basebackup" => {
            let mut v: Vec<PathBuf> = ["17", "16", "15"]
                .iter()
                .map(|m| PathBuf::from(format!("/usr/lib/postgresql/{m}/bin/{name}")))
                .collect();
            v.extend(path_lookup(name));
            v
        }
        _ => path_lookup(name),
    };
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed ({}): run `bash scripts/install-test-tools.sh` as root, \
             or the README's test command, which runs it",
                install_hint(name)
            )
        })
}

fn path_lookup(name: &str) -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default()
}

/// Runs a command, returning (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback port nothing listens on, never the same one twice in this
/// test process. The kernel can hand a port it just released out again at
/// once, so two calls in a row may return one port; a config with two
/// listens on it fails (nginx: "a duplicate default server"), and tests
/// running side by side could pick each other's ports.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a free loopback port")
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// `listen <port> ...` -> `listen 127.0.0.1:<free port> ...`. `nginx -t`
/// binds listen sockets too, and the rendered ports are privileged (80,
/// 443) or may be taken on a shared machine. Returns the new port of each
/// rendered one.
pub fn listen_on_loopback(text: &str) -> (String, std::collections::BTreeMap<u16, u16>) {
    let mut ports = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["listen", port, rest @ ..] => {
                let port: u16 = port.trim_end_matches(';').parse().expect("listen <port>");
                let new = *ports.entry(port).or_insert_with(free_port);
                let rest = if rest.is_empty() {
                    ";".to_owned()
                } else {
                    format!(" {}", rest.join(" "))
                };
                out.push(format!("{indent}listen 127.0.0.1:{new}{rest}"));
            }
            _ => out.push(line.to_owned()),
        }
    }
    (out.join("\n") + "\n", ports)
}
