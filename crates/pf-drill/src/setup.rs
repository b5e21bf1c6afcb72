//! The run folder: the rendered local bundle, secret files with random
//! values, folders for data, sockets and logs, owned by whoever runs the
//! servers; and the faults a test can inject.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{PermissionsExt as _, chown};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pf_render::{Bundle, Plan};

use crate::cancel::Cancel;
use crate::error::DrillError;
use crate::layout::{self, Layout};
use crate::proc;
use crate::tools::Tools;

/// Who runs the servers: the drill's own user, or `postgres` for
/// PostgreSQL when the drill runs as root (PostgreSQL refuses root).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Users {
    /// The drill runs as root.
    pub(crate) root: bool,
    /// (uid, gid) PostgreSQL runs as, when it is not the drill's user.
    pub(crate) postgres: Option<(u32, u32)>,
}

impl Users {
    /// Looks up the `postgres` account when running as root.
    pub(crate) fn detect() -> Result<Self, DrillError> {
        let root = rustix::process::getuid().is_root();
        if !root {
            return Ok(Self {
                root,
                postgres: None,
            });
        }
        let passwd = fs::read_to_string("/etc/passwd")
            .map_err(|e| DrillError::io("cannot read /etc/passwd", &e))?;
        let ids = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "postgres")
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        });
        match ids {
            Some(ids) => Ok(Self {
                root,
                postgres: Some(ids),
            }),
            None => Err(DrillError::env(
                "PostgreSQL refuses to run as root and there is no `postgres` account: run the \
                 drill as a normal user, or install the Debian package postgresql (it creates \
                 the account)",
            )),
        }
    }

    /// Gives `path` to the PostgreSQL user (no-op when that is the drill's).
    pub(crate) fn give_to_postgres(&self, path: &Path) -> Result<(), DrillError> {
        if let Some((uid, gid)) = self.postgres {
            chown(path, Some(uid), Some(gid))
                .map_err(|e| DrillError::io(format!("cannot chown {}", path.display()), &e))?;
        }
        Ok(())
    }
}

/// Faults a test injects through `PF_DRILL_FAULT` (comma-separated), to
/// prove the drill catches a broken configuration:
///
/// - `no-replication-hba`: the `host replication` lines are removed from the
///   rendered pg_hba.conf, so replicas cannot clone or stream;
/// - `wrong-sentinel-auth`: the Sentinels get a password file with another
///   value than the data nodes' (a wrong `sentinel auth-pass`);
/// - `no-next-upstream`: `proxy_next_upstream off;` in the rendered nginx
///   file, so a stopped backend fails client requests;
/// - `slow-connect`: `proxy_connect_timeout 5s;` (nginx's default, the
///   bundles' value before issue 13), so a killed backend holds requests
///   for 5 s;
/// - `old-primary-writes`: the rendered member script starts an old primary
///   as a primary again instead of rejoining (what the old runbook let
///   happen), so the redeploy of the postgres scenario makes two writers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Faults {
    pub(crate) no_replication_hba: bool,
    pub(crate) wrong_sentinel_auth: bool,
    pub(crate) no_next_upstream: bool,
    pub(crate) slow_connect: bool,
    pub(crate) old_primary_writes: bool,
}

/// The variable tests set to inject faults.
pub const FAULT_VARIABLE: &str = "PF_DRILL_FAULT";

impl Faults {
    /// Reads [`FAULT_VARIABLE`].
    pub(crate) fn from_env() -> Result<Self, DrillError> {
        let mut f = Self::default();
        let value = std::env::var(FAULT_VARIABLE).unwrap_or_default();
        for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "no-replication-hba" => f.no_replication_hba = true,
                "wrong-sentinel-auth" => f.wrong_sentinel_auth = true,
                "no-next-upstream" => f.no_next_upstream = true,
                "slow-connect" => f.slow_connect = true,
                "old-primary-writes" => f.old_primary_writes = true,
                other => {
                    return Err(DrillError::env(format!(
                        "{FAULT_VARIABLE}: unknown fault `{other}` (known: no-replication-hba, \
                         wrong-sentinel-auth, no-next-upstream, slow-connect, old-primary-writes)"
                    )));
                }
            }
        }
        Ok(f)
    }

    /// What is injected, for the progress lines.
    pub(crate) fn describe(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.no_replication_hba {
            v.push(
                "no-replication-hba (the `host replication` lines are removed from pg_hba.conf)",
            );
        }
        if self.wrong_sentinel_auth {
            v.push("wrong-sentinel-auth (the Sentinels get another password than the data nodes)");
        }
        if self.no_next_upstream {
            v.push("no-next-upstream (`proxy_next_upstream off;` in the nginx file)");
        }
        if self.slow_connect {
            v.push("slow-connect (`proxy_connect_timeout 5s;` in the nginx file)");
        }
        if self.old_primary_writes {
            v.push(
                "old-primary-writes (the member script starts an old primary as a primary again)",
            );
        }
        v
    }

    /// The bundle file `path` of `plan` as the faults change it.
    pub(crate) fn apply(&self, plan: &Plan, path: &str, text: &str) -> String {
        let mut text = text.to_owned();
        if path == plan.postgres.files.hba.artifact && self.no_replication_hba {
            text = text
                .lines()
                .filter(|l| !l.starts_with("host replication"))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        if path == plan.lb.config.artifact && (self.no_next_upstream || self.slow_connect) {
            text = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    let indent = &l[..l.len() - t.len()];
                    if self.no_next_upstream && t.starts_with("proxy_next_upstream ") {
                        format!("{indent}proxy_next_upstream off;\n")
                    } else if self.slow_connect && t.starts_with("proxy_connect_timeout ") {
                        format!("{indent}proxy_connect_timeout 5s;\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
        }
        if path == plan.postgres.files.member.artifact && self.old_primary_writes {
            text = text.replacen(
                "        # An old primary: never a writer again without a promotion.\n",
                "        run primary\n",
                1,
            );
        }
        text
    }
}

/// Random bytes as hex, from the kernel.
pub(crate) fn random_hex(bytes: usize) -> Result<String, DrillError> {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| DrillError::io("cannot read /dev/urandom", &e))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn mkdir(path: &Path, mode: u32) -> Result<(), DrillError> {
    fs::create_dir_all(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| DrillError::io(format!("cannot create {}", path.display()), &e))
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), DrillError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| DrillError::io(format!("cannot create {}", parent.display()), &e))?;
    }
    fs::write(path, text)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| DrillError::io(format!("cannot write {}", path.display()), &e))
}

/// What setting up the run folder produced.
pub(crate) struct Prepared {
    pub(crate) bundle: Bundle,
    /// Every secret value the drill made up; never printed. Used to scrub
    /// anything the drill prints, and by the scenarios to log in.
    pub(crate) secrets: Vec<String>,
    /// The password the Sentinels are started with (the data nodes' unless
    /// a fault is injected).
    pub(crate) sentinel_password_file: std::path::PathBuf,
}

/// Creates the folders, writes the secrets, renders and writes the local
/// bundle of `plan` (with the injected faults).
pub(crate) fn prepare(
    plan: &Plan,
    layout: &Layout,
    users: &Users,
    tools: &Tools,
    faults: Faults,
    cancel: &Cancel,
) -> Result<Prepared, DrillError> {
    let local = &layout.local;
    // Readable by the unprivileged servers (postgres, nginx workers).
    mkdir(&local.run_dir, 0o755)?;
    mkdir(&layout.logs, 0o755)?;
    mkdir(&local.data_dir, 0o755)?;
    // Enterable, not listable: each server opens only its own files.
    mkdir(&local.secrets_dir, 0o711)?;
    // PostgreSQL writes its sockets and the replication password file here.
    mkdir(&local.state_dir, 0o755)?;
    users.give_to_postgres(&local.state_dir)?;
    let pg = &plan.postgres;
    for m in pg.members() {
        let dir = layout::data_dir(&m.instance);
        mkdir(dir, 0o700)?;
        users.give_to_postgres(dir)?;
    }

    let tls: Vec<&str> = plan
        .lb
        .settings
        .tls
        .iter()
        .flat_map(|t| [t.certificate_secret.as_str(), t.key_secret.as_str()])
        .collect();
    let mut secrets = Vec::new();
    for secret in &plan.secrets {
        if tls.contains(&secret.name.as_str()) {
            continue;
        }
        let value = random_hex(16)?;
        write(&secret.file, &format!("{value}\n"), 0o600)?;
        secrets.push(value);
    }
    for secret in [&pg.password_file, &pg.replication_password_file] {
        users.give_to_postgres(secret)?;
    }
    if let Some(files) = &plan.lb.tls {
        self_signed(
            tools,
            &plan.lb.settings.server_name,
            &files.certificate,
            &files.key,
            cancel,
        )?;
    }
    let sentinel_password_file = if faults.wrong_sentinel_auth {
        let wrong = random_hex(16)?;
        let path = local.secrets_dir.join("wrong-sentinel-password");
        write(&path, &format!("{wrong}\n"), 0o600)?;
        secrets.push(wrong);
        path
    } else {
        plan.redis.password_file.clone()
    };

    let bundle = pf_render::emit(plan)
        .map_err(|e| DrillError::env(format!("rendering the local bundle failed (a bug): {e}")))?;
    for a in bundle.artifacts() {
        let text = faults.apply(plan, &a.path, &a.contents);
        write(&local.bundle_dir.join(&a.path), &text, a.mode)?;
    }
    Ok(Prepared {
        bundle,
        secrets,
        sentinel_password_file,
    })
}

/// A self-signed certificate for the server name (the TLS secrets).
fn self_signed(
    tools: &Tools,
    server_name: &str,
    cert: &Path,
    key: &Path,
    cancel: &Cancel,
) -> Result<(), DrillError> {
    let (ok, _, err) = proc::run(
        Command::new(&tools.openssl)
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .arg("-subj")
            .arg(format!("/CN={server_name}"))
            .arg("-addext")
            .arg(format!("subjectAltName=DNS:{server_name}"))
            .arg("-keyout")
            .arg(key)
            .arg("-out")
            .arg(cert),
        Duration::from_secs(30),
        cancel,
    )?;
    if !ok {
        return Err(DrillError::env(format!(
            "openssl could not make the TLS certificate: {}",
            err.trim()
        )));
    }
    for f in [cert, key] {
        fs::set_permissions(f, fs::Permissions::from_mode(0o600))
            .map_err(|e| DrillError::io(format!("cannot chmod {}", f.display()), &e))?;
    }
    Ok(())
}
