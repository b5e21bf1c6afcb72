//! Container privileges and isolation (catalog checks 1-10).

use super::{Stack, Svc};
use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::Node;

const DANGEROUS_CAPS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "BPF",
    "PERFMON",
];

/// Host folders that must not be bind-mounted (kube-linter
/// sensitive-host-mounts, plus Docker's own state).
const SENSITIVE: &[&str] = &[
    "/",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/sys",
    "/usr",
    "/bin",
    "/sbin",
    "/root",
    "/run",
    "/var/run",
    "/var/lib/docker",
];

/// Always sensitive, even a file below them and read-only.
const NEVER: &[&str] = &["/proc", "/sys", "/dev", "/boot", "/var/lib/docker", "/root"];

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    for svc in &stack.services {
        privileges(cx, svc);
        namespaces(cx, svc);
        mounts(cx, svc);
    }
}

fn privileges(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    if let Some((k, v)) = svc.node.entry("privileged")
        && v.as_bool() == Some(true)
    {
        svc.report(
            cx,
            Rule::Privileged,
            k.pos,
            "privileged",
            format!("`{}` runs privileged", svc.name),
            "remove `privileged` and add only the capabilities the image needs with `cap_add`",
        );
    }
    let drops: Vec<String> = svc
        .node
        .get("cap_drop")
        .map(|n| n.strings().into_iter().map(|(s, _)| cap(s)).collect())
        .unwrap_or_default();
    if !drops.iter().any(|c| c == "ALL") {
        svc.report(
            cx,
            Rule::CapabilitiesNotDropped,
            svc.anchor(&["cap_drop"]),
            "cap_drop",
            format!("`{}` keeps Docker's default capabilities", svc.name),
            "add `cap_drop: [ALL]` and `cap_add` only what the image documents it needs",
        );
    }
    for (c, pos) in svc
        .node
        .get("cap_add")
        .map(Node::strings)
        .unwrap_or_default()
    {
        if DANGEROUS_CAPS.contains(&cap(c).as_str()) {
            svc.report(
                cx,
                Rule::DangerousCapability,
                pos,
                "cap_add",
                format!("`{}` adds the capability {c}", svc.name),
                "remove it",
            );
        }
    }
    let opts = svc
        .node
        .get("security_opt")
        .map(Node::strings)
        .unwrap_or_default();
    let nnp = opts.iter().any(|(o, _)| {
        let o = o.to_ascii_lowercase();
        o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true"
    });
    if !nnp {
        svc.report(
            cx,
            Rule::NoNewPrivileges,
            svc.anchor(&["security_opt"]),
            "security_opt",
            format!("`{}` does not set no-new-privileges", svc.name),
            "add `security_opt: [\"no-new-privileges:true\"]`",
        );
    }
    for (o, pos) in &opts {
        let o = o.to_ascii_lowercase().replace('=', ":");
        if o == "seccomp:unconfined" || o == "apparmor:unconfined" {
            svc.report(
                cx,
                Rule::SecurityProfileDisabled,
                *pos,
                "security_opt",
                format!("`{}` sets `{o}`", svc.name),
                "remove it; if one system call is missing, write a seccomp profile that adds it",
            );
        }
    }
    match svc.node.entry("read_only") {
        Some((_, v)) if v.as_bool() == Some(true) => {}
        found => svc.report(
            cx,
            Rule::RootFsWritable,
            found.map_or(svc.key.pos, |(k, _)| k.pos),
            "read_only",
            format!("`{}` has a writable root file system", svc.name),
            "set `read_only: true` and mount `tmpfs` where the image documents that it writes",
        ),
    }
    match svc.node.entry("user") {
        None => svc.report(
            cx,
            Rule::UserNotSet,
            svc.key.pos,
            "user",
            format!(
                "`{}` does not set `user`, so the image decides (often root)",
                svc.name
            ),
            "set `user: \"<uid>:<gid>\"` where the image supports it",
        ),
        Some((_, v)) => {
            let u = v.as_str().unwrap_or_default();
            let name = u.split(':').next().unwrap_or_default();
            if name == "root" || name == "0" {
                svc.report(
                    cx,
                    Rule::UserNotSet,
                    v.pos,
                    "user",
                    format!("`{}` runs as root (`user: {u}`)", svc.name),
                    "run as an unprivileged user",
                );
            }
        }
    }
}

fn cap(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    up.strip_prefix("CAP_").map(str::to_owned).unwrap_or(up)
}

fn namespaces(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    for key in ["network_mode", "pid", "ipc", "uts", "userns_mode"] {
        if let Some(v) = svc.node.get(key)
            && v.as_str() == Some("host")
        {
            svc.report(
                cx,
                Rule::HostNamespace,
                v.pos,
                key,
                format!("`{}` shares the host's namespace (`{key}: host`)", svc.name),
                "remove it; attach the service to the stack's networks",
            );
        }
    }
}

/// One mount, whatever the syntax.
struct Mount<'n> {
    node: &'n Node,
    kind: &'n str,
    source: &'n str,
    read_only: bool,
    propagation: Option<&'n str>,
}

fn parse_mount(v: &Node) -> Option<Mount<'_>> {
    if let Some(s) = v.as_str() {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() < 2 {
            return None; // an anonymous volume
        }
        let source = parts[0];
        let opts: Vec<&str> = parts
            .get(2)
            .map(|o| o.split(',').collect())
            .unwrap_or_default();
        let bind = source.starts_with('/') || source.starts_with('.') || source.starts_with('~');
        return Some(Mount {
            node: v,
            kind: if bind { "bind" } else { "volume" },
            source,
            read_only: opts.contains(&"ro"),
            propagation: opts
                .iter()
                .copied()
                .find(|o| matches!(*o, "shared" | "rshared" | "slave" | "rslave")),
        });
    }
    Some(Mount {
        node: v,
        kind: v.get("type").and_then(Node::as_str).unwrap_or("volume"),
        source: v.get("source").and_then(Node::as_str).unwrap_or_default(),
        read_only: v.get("read_only").and_then(Node::as_bool) == Some(true),
        propagation: v.at(&["bind", "propagation"]).and_then(Node::as_str),
    })
}

fn mounts(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    for v in svc.node.get("volumes").map(Node::items).unwrap_or_default() {
        let Some(m) = parse_mount(v) else { continue };
        if m.source.contains("docker.sock") {
            svc.report(
                cx,
                Rule::DockerSocketMounted,
                m.node.pos,
                "volumes",
                format!("`{}` mounts the Docker socket `{}`", svc.name, m.source),
                "remove the mount",
            );
            continue;
        }
        if m.kind == "bind" && m.source.starts_with('/') {
            let path = crate::waiver::normalize(m.source);
            let path = format!("/{}", path.trim_start_matches('/'));
            let under = |d: &&str| path == *d || path.starts_with(&format!("{d}/"));
            let exact = SENSITIVE.contains(&path.as_str());
            let never = NEVER.iter().any(under);
            let writable_under = !m.read_only && SENSITIVE.iter().filter(|d| **d != "/").any(under);
            if exact || never || writable_under {
                svc.report(
                    cx,
                    Rule::SensitiveHostMount,
                    m.node.pos,
                    "volumes",
                    format!(
                        "`{}` bind-mounts the host folder `{path}`{}",
                        svc.name,
                        if m.read_only { "" } else { " writable" }
                    ),
                    "mount only the files the service needs, read-only",
                );
            }
        }
        if let Some(p) = m.propagation
            && matches!(p, "shared" | "rshared" | "slave" | "rslave")
        {
            svc.report(
                cx,
                Rule::SharedMountPropagation,
                m.node.pos,
                "volumes",
                format!(
                    "`{}` mounts `{}` with `{p}` propagation",
                    svc.name, m.source
                ),
                "remove the propagation option (the default is rprivate)",
            );
        }
    }
}
