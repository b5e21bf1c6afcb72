//! The programs the drill runs, found on this machine. A missing one is an
//! environment error that names the Debian package to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::DrillError;

/// The oldest nginx that accepts the rendered file (`http2 on;`).
const NGINX_MIN: (u32, u32, u32) = (1, 25, 1);

/// Absolute paths of every program the drill starts.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    /// Folder of the PostgreSQL server programs (postgres, initdb, pg_basebackup, pg_isready).
    pub(crate) pg_bin: PathBuf,
    pub(crate) psql: PathBuf,
    pub(crate) redis_server: PathBuf,
    pub(crate) nginx: PathBuf,
    /// `ngx_stream_module.so`, when this nginx builds stream as a module.
    pub(crate) stream_module: Option<PathBuf>,
    pub(crate) curl: PathBuf,
    pub(crate) openssl: PathBuf,
}

impl Tools {
    /// Finds every program, or says which package is missing.
    pub(crate) fn find(needs_stream: bool) -> Result<Self, DrillError> {
        let pg_bin = pg_bin()?;
        for p in ["postgres", "initdb", "pg_basebackup", "pg_isready"] {
            if !pg_bin.join(p).is_file() {
                return Err(missing(p, "postgresql"));
            }
        }
        let psql = [pg_bin.join("psql")]
            .into_iter()
            .chain(on_path("psql"))
            .find(|p| p.is_file())
            .ok_or_else(|| missing("psql", "postgresql-client"))?;
        let redis_server =
            on_path("redis-server").ok_or_else(|| missing("redis-server", "redis-server"))?;
        let (nginx, stream_module) = nginx(needs_stream)?;
        let curl = on_path("curl").ok_or_else(|| missing("curl", "curl"))?;
        let openssl = on_path("openssl").ok_or_else(|| missing("openssl", "openssl"))?;
        for (p, package) in [("sh", "dash"), ("awk", "mawk"), ("sed", "sed")] {
            on_path(p).ok_or_else(|| missing(p, package))?;
        }
        Ok(Self {
            pg_bin,
            psql,
            redis_server,
            nginx,
            stream_module,
            curl,
            openssl,
        })
    }

    /// PATH for the processes the drill starts: the PostgreSQL server
    /// programs first (scripts must use the server's own version), then
    /// redis-server's folder and the base system. Nothing named
    /// `docker-entrypoint.sh` is on it, so the entrypoints start the servers
    /// themselves.
    pub(crate) fn child_path(&self) -> String {
        let mut dirs = vec![self.pg_bin.clone()];
        if let Some(d) = self.redis_server.parent() {
            dirs.push(d.to_path_buf());
        }
        for d in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            dirs.push(PathBuf::from(d));
        }
        dirs.dedup();
        dirs.retain(|d| !d.join("docker-entrypoint.sh").exists());
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }
}

fn missing(program: &str, package: &str) -> DrillError {
    DrillError::env(format!(
        "`{program}` is not installed: install the Debian package {package} \
         (apt-get install {package}), or run `bash scripts/install-test-tools.sh` as root"
    ))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The newest PostgreSQL server installed the Debian way, or `postgres` on PATH.
fn pg_bin() -> Result<PathBuf, DrillError> {
    if let Some(dir) = std::env::var_os("PF_DRILL_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    on_path("postgres")
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or_else(|| missing("postgres", "postgresql"))
}

/// nginx: `PF_DRILL_NGINX`, else `.tools/bin/nginx` of this checkout (what
/// `scripts/install-test-tools.sh` installs), else the one on PATH, if
/// recent enough.
fn nginx(needs_stream: bool) -> Result<(PathBuf, Option<PathBuf>), DrillError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("PF_DRILL_NGINX") {
        candidates.push(PathBuf::from(p));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    candidates.extend(roots.iter().map(|r| r.join(".tools/bin/nginx")));
    candidates.extend(on_path("nginx"));
    let mut too_old = Vec::new();
    for nginx in candidates.into_iter().filter(|p| p.is_file()) {
        let Some((version, configure)) = nginx_version(&nginx) else {
            continue;
        };
        if version < NGINX_MIN {
            too_old.push(format!(
                "{} is {}.{}.{}",
                nginx.display(),
                version.0,
                version.1,
                version.2
            ));
            continue;
        }
        let module = if needs_stream && configure.contains("--with-stream=dynamic") {
            let module = stream_module(&nginx).ok_or_else(|| {
                DrillError::env(format!(
                    "{} builds the stream module (needed by the PostgreSQL read endpoint) as a \
                     module, and ngx_stream_module.so was not found: install the Debian package \
                     libnginx-mod-stream",
                    nginx.display()
                ))
            })?;
            Some(module)
        } else {
            None
        };
        return Ok((nginx, module));
    }
    let (a, b, c) = NGINX_MIN;
    let found = if too_old.is_empty() {
        "none is installed".to_owned()
    } else {
        format!("found only {}", too_old.join(", "))
    };
    Err(DrillError::env(format!(
        "the drill needs nginx >= {a}.{b}.{c} ({found}): install the Debian package nginx from \
         trixie or newer, or run `bash scripts/install-test-tools.sh`, which puts one in \
         .tools/bin, or set PF_DRILL_NGINX to an nginx binary"
    )))
}

/// (version, configure arguments) from `nginx -V`.
fn nginx_version(nginx: &Path) -> Option<((u32, u32, u32), String)> {
    let out = Command::new(nginx).arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = text.split("nginx/").nth(1)?.split_whitespace().next()?;
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    Some((version, text))
}

fn stream_module(nginx: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    // .tools/bin/nginx runs the binary extracted into .tools/nginx-root.
    if let Some(tools) = nginx.parent().and_then(Path::parent) {
        candidates.push(tools.join("nginx-root/usr/lib/nginx/modules/ngx_stream_module.so"));
    }
    candidates.push(PathBuf::from("/usr/lib/nginx/modules/ngx_stream_module.so"));
    candidates.into_iter().find(|p| p.is_file())
}
