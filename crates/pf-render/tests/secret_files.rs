//! Compose bind-mounts each secret file into its containers with the host
//! file's owner and mode, so a file the container's user cannot read breaks
//! the service (the postgres entrypoint drops to uid 999 before its init
//! scripts read the replication password; Grafana runs as 472, the
//! exporters as 65534 and 59000). These tests run the bundle's own
//! `ha-setup.sh` against files with different owners and modes, and check
//! its verdicts against the kernel: a real read as each container user's
//! numeric uid and gid (`setpriv`, what gosu does: setgroups, setgid, setuid).
//!
//! They need root (files owned by other users, reads as other users).

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use pf_render::Target;

fn require_root() {
    let (ok, out, _) = support::run(Command::new("id").arg("-u"));
    assert!(
        ok && out.trim() == "0",
        "these tests create files owned by container users and read them as those users: run them as root (sudo -E cargo test -p pf-render --test secret_files)"
    );
}

/// Reads `file` as `uid:gid` with no supplementary groups, as a container
/// process that dropped privileges with gosu does. Inside a container the
/// file is bind-mounted at /run/secrets/<name>: only its own owner and mode
/// count, not the host folder's. A hard link in an open folder is that
/// same inode, reachable the same way.
fn kernel_reads(file: &Path, uid: u32, gid: u32) -> bool {
    let open = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mounted = open.path().join("mounted");
    std::fs::hard_link(file, &mounted).expect("hard link");
    let setpriv = support::tool("setpriv");
    Command::new(setpriv)
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg("--clear-groups")
        .arg("--")
        .arg("cat")
        .arg(&mounted)
        .output()
        .expect("run setpriv")
        .status
        .success()
}

/// A written prod bundle and a secrets folder next to it.
struct Setup {
    dir: tempfile::TempDir,
    target: Target,
}

impl Setup {
    fn new(target: Target) -> Self {
        require_root();
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(
            &support::render("topologies/prod.toml", target.clone()),
            &dir.path().join("bundle"),
        );
        // The owner of the bundle's parent must not matter; readers inside
        // containers only see the file.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        Self { dir, target }
    }

    fn secrets(&self) -> PathBuf {
        self.dir.path().join("promptforge-secrets")
    }

    /// Runs `scripts/ha-setup.sh ARGS` with a `docker` that answers the
    /// prerequisite checks and fails anything else; returns the exit code
    /// and stdout+stderr.
    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let docker = bin.join("docker");
        std::fs::write(
            &docker,
            "#!/bin/sh\ncase \"$1 $2\" in\n\"compose version\") echo 'Docker Compose version v2.29.7' ;;\n*) echo \"fake docker: unexpected $*\" >&2; exit 99 ;;\nesac\n",
        )
        .expect("write docker");
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let out = Command::new("bash")
            .arg(self.dir.path().join("bundle/scripts/ha-setup.sh"))
            .args(args)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env_remove("SECRETS_DIR")
            .output()
            .expect("run ha-setup.sh");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Every declared secret as a file with `mode`, owned by `uid:gid`,
    /// in a 0700 folder.
    fn write_all(&self, uid: u32, gid: u32, mode: u32) {
        let dir = self.secrets();
        std::fs::create_dir_all(&dir).expect("mkdir secrets");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        for (name, _) in readers(&self.target) {
            let file = dir.join(&name);
            std::fs::write(&file, format!("value-of-{name}\n")).expect("write secret");
            chown(&file, uid, gid);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
}

/// The (uid, gid) a container reads a secret as; `None`: its image's own user.
type Reader = Option<(u32, u32)>;

/// Each secret of prod and the (uid, gid) of every container that reads it
/// (`None`: an app image whose user the generator does not know), from the
/// plan.
fn readers(target: &Target) -> Vec<(String, Vec<Reader>)> {
    let text = std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("read");
    let topology = pf_model::from_str(&text, "topologies/prod.toml")
        .expect("load")
        .validate()
        .topology
        .expect("valid");
    let plan = pf_render::plan(&topology, target.clone());
    plan.secrets
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.readers
                    .iter()
                    .map(|r| r.owner.map(|o| (o.uid, o.gid)))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_plan_names_the_users_of_the_official_images() {
    let all = readers(&Target::Compose);
    let of = |name: &str| {
        all.iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no secret {name}"))
    };
    // postgres (Debian image): groupadd -r postgres --gid=999; useradd --uid=999.
    assert_eq!(
        of("postgres_replication_password"),
        vec![Some((999, 999)), Some((999, 999))]
    );
    assert!(of("grafana_admin_password").contains(&Some((472, 0))));
    assert!(of("postgres_password").contains(&Some((65534, 65534))));
    assert!(of("redis_password").contains(&Some((59000, 59000))));
    // nginx: its workers read the htpasswd on every request (uid 101).
    assert_eq!(of("monitoring_htpasswd"), vec![Some((101, 101))]);
    assert_eq!(of("tls_private_key"), vec![Some((101, 101))]);
    // The app image's user is not known: it must be readable by all.
    assert!(of("secret_key").iter().all(Option::is_none));
}

#[test]
fn the_readmes_advice_of_0600_is_refused_naming_each_reader() {
    let s = Setup::new(Target::Compose);
    s.write_all(0, 0, 0o600);
    let (code, out) = s.run(&[]);
    assert_eq!(code, Some(4), "{out}");
    for line in [
        "postgres_replication_password (owner 0:0, mode 0600): postgres-1 reads it as uid 999, which cannot",
        "grafana_admin_password (owner 0:0, mode 0600): grafana reads it as uid 472, which cannot",
        "postgres_password (owner 0:0, mode 0600): postgres-1-exporter reads it as uid 65534, which cannot",
        "redis_password (owner 0:0, mode 0600): redis-master-exporter reads it as uid 59000, which cannot",
        "secret_key (owner 0:0, mode 0600): backend1 reads it as its image's own user, unknown here, so it must be readable by all",
        "fix: ./scripts/ha-setup.sh --secrets",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    // nginx's workers (uid 101) read the htpasswd; root-owned 0600 is refused.
    assert!(
        out.contains(
            "monitoring_htpasswd (owner 0:0, mode 0600): nginx-lb reads it as uid 101, which cannot"
        ),
        "{out}"
    );
    // --compose refuses before starting anything (the fake docker would
    // fail on `compose up`).
    let (code, out) = s.run(&["--compose"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(!out.contains("unexpected"), "{out}");
}

#[test]
fn a_file_owned_by_its_only_reader_passes_with_0400() {
    let s = Setup::new(Target::Compose);
    s.write_all(0, 0, 0o444);
    let file = s.secrets().join("postgres_replication_password");
    chown(&file, 999, 999);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    let (code, out) = s.run(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("secret files are present and readable by their containers"),
        "{out}"
    );
    // The same file owned by someone else is refused.
    chown(&file, 1000, 1000);
    let (code, out) = s.run(&[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains("postgres_replication_password (owner 1000:1000, mode 0400): postgres-1 reads it as uid 999"),
        "{out}"
    );
}

#[test]
fn world_readable_files_need_a_private_folder() {
    let s = Setup::new(Target::Compose);
    s.write_all(0, 0, 0o444);
    std::fs::set_permissions(s.secrets(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (code, out) = s.run(&[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains("(mode 0755): holds files readable by others, so the folder must be 0700"),
        "{out}"
    );
}

#[test]
fn secrets_fixes_owners_and_modes_so_every_container_user_reads_its_files() {
    let s = Setup::new(Target::Compose);
    // The README's old advice: everything 0600, owned by the operator.
    s.write_all(1000, 1000, 0o600);
    let (code, out) = s.run(&["--secrets"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("secret files are present and readable by their containers"),
        "{out}"
    );
    for (name, readers) in readers(&Target::Compose) {
        let file = s.secrets().join(&name);
        let meta = std::fs::metadata(&file).expect("stat");
        for r in &readers {
            // An unknown app user: try one that is nobody in particular.
            let (uid, gid) = r.unwrap_or((4242, 4242));
            assert!(
                kernel_reads(&file, uid, gid),
                "{name} (owner {}:{}, mode {:o}) is not readable by {uid}:{gid}",
                meta.uid(),
                meta.gid(),
                meta.mode() & 0o7777
            );
        }
    }
    // Least privilege: a file read by one user only belongs to it, 0400.
    let meta = std::fs::metadata(s.secrets().join("postgres_replication_password")).expect("stat");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (999, 999, 0o400)
    );
    assert!(
        !kernel_reads(
            &s.secrets().join("postgres_replication_password"),
            65534,
            65534
        ),
        "the replication password is readable by an exporter's user"
    );
    let meta = std::fs::metadata(s.secrets().join("tls_private_key")).expect("stat");
    assert_eq!(
        meta.mode() & 0o777,
        0o400,
        "the TLS key is read by root only"
    );
    let dir = std::fs::metadata(s.secrets()).expect("stat");
    assert_eq!(dir.mode() & 0o777, 0o700);
}

#[test]
fn secrets_generates_the_stack_passwords_and_asks_for_the_rest() {
    let s = Setup::new(Target::Compose);
    let (code, out) = s.run(&["--secrets"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("still to write (then run --secrets again):"),
        "{out}"
    );
    for name in [
        "postgres_password",
        "postgres_replication_password",
        "redis_password",
        "grafana_admin_password",
    ] {
        let file = s.secrets().join(name);
        let value = std::fs::read_to_string(&file).expect("generated");
        assert_eq!(value.len(), 64, "{name}: 32 random bytes as hex");
        assert!(value.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert!(
            !out.contains(&value),
            "a generated value was printed:\n{out}"
        );
    }
    for name in ["secret_key", "gemini_api_key"] {
        assert!(!s.secrets().join(name).exists(), "{name} was invented");
        assert!(out.contains(&format!("{name}: write it yourself")), "{out}");
    }
    assert!(
        out.contains("ssl-setup.sh self-signed for staging"),
        "{out}"
    );
    // The checks before starting refuse the missing files.
    let (code, out) = s.run(&[]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("secret_key (missing)"), "{out}");
    // Two runs never make different passwords.
    let before = std::fs::read_to_string(s.secrets().join("redis_password")).expect("read");
    let _ = s.run(&["--secrets"]);
    let after = std::fs::read_to_string(s.secrets().join("redis_password")).expect("read");
    assert_eq!(before, after);
}

/// The check's idea of "readable" is the kernel's, for owners, groups and
/// modes around the container users.
#[test]
fn the_check_agrees_with_the_kernel() {
    require_root();
    let s = Setup::new(Target::Compose);
    let script = std::fs::read_to_string(s.dir.path().join("bundle/scripts/ha-setup.sh"))
        .expect("read ha-setup.sh");
    let start = script
        .find("can_read() {")
        .expect("can_read in ha-setup.sh");
    let end = start + script[start..].find("\n}\n").expect("end of can_read") + 3;
    let can_read = &script[start..end];
    let file = s.dir.path().join("probe");
    std::fs::write(&file, "x").expect("write");
    let mut checked = 0;
    for (fuid, fgid) in [(0, 0), (999, 999), (1000, 999), (1000, 1000), (472, 0)] {
        for mode in [0o400, 0o440, 0o444, 0o600, 0o640, 0o604, 0o040, 0o004] {
            chown(&file, fuid, fgid);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
            for (uid, gid) in [(999, 999), (472, 0), (65534, 65534), (0, 0)] {
                let script_says = Command::new("bash")
                    .arg("-c")
                    .arg(format!(
                        "{can_read}\ncan_read {uid} {gid} {fuid} {fgid} {mode:o}"
                    ))
                    .status()
                    .expect("bash")
                    .success();
                assert_eq!(
                    script_says,
                    kernel_reads(&file, uid, gid),
                    "{uid}:{gid} reading a file of {fuid}:{fgid} mode {mode:04o}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 160);
}

#[test]
fn the_swarm_bundle_mounts_each_secret_for_its_reader() {
    let bundle = support::render("topologies/prod.toml", Target::Swarm);
    let stack = &bundle.get("docker-stack.yml").expect("stack").contents;
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(stack).expect("yaml");
    let secrets_of = |svc: &str| doc["services"][svc]["secrets"].clone();
    let key = secrets_of("nginx")
        .as_sequence()
        .expect("list")
        .iter()
        .find(|s| s["source"] == "tls_private_key")
        .cloned()
        .expect("the TLS key is mounted");
    assert_eq!(key["uid"], "101");
    assert_eq!(key["mode"], 0o400);
    let repl = secrets_of("postgres-2")
        .as_sequence()
        .expect("list")
        .iter()
        .find(|s| s["source"] == "postgres_replication_password")
        .cloned()
        .expect("mounted");
    assert_eq!(
        (repl["uid"].clone(), repl["mode"].clone()),
        ("999".into(), 0o400.into())
    );
    // The app's user is unknown: Docker's default, root-owned 0444.
    assert!(
        secrets_of("backend")
            .as_sequence()
            .expect("list")
            .iter()
            .all(|s| s.as_str().is_some()),
        "{stack}"
    );
}
