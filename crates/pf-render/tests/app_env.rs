//! `secrets-as = "env"`: the guide's app reads `SECRET_KEY`,
//! `GEMINI_API_KEY`, `REDIS_PASSWORD` and a `DATABASE_URL` with the
//! password. The bundle's entrypoint shim exports them from the secret
//! files at start and runs the image's command. These tests run the
//! rendered shim under the shells app images have (dash, bash in POSIX
//! mode, busybox ash) with passwords full of URL syntax, and hand its
//! DATABASE_URL to libpq against a real PostgreSQL.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pf_render::Target;

const SHIM: &str = "apps/backend-secrets-env.sh";

/// A password with every character that means something in a URL, a
/// quote of each kind, a space, a multi-byte character and a `%`.
const PASSWORD: &str = "p@ss:w/rd?#[]%20 é'\"`$HOME\\";

fn shim_text(target: Target) -> String {
    let bundle = support::render("topologies/prod.toml", target);
    bundle
        .get(SHIM)
        .expect("the backend's shim")
        .contents
        .clone()
}

struct Run {
    dir: tempfile::TempDir,
    shim: PathBuf,
    secrets: PathBuf,
}

impl Run {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let shim = dir.path().join("secrets-env.sh");
        std::fs::write(&shim, shim_text(Target::Swarm)).expect("write shim");
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).expect("mkdir");
        for (name, value) in [
            ("secret_key", "signing-key\n".to_owned()),
            ("gemini_api_key", "AIza-key with spaces".to_owned()),
            ("redis_password", "redis pass\n\n".to_owned()),
            ("postgres_password", format!("{PASSWORD}\n")),
        ] {
            std::fs::write(secrets.join(name), value).expect("write secret");
        }
        Self { dir, shim, secrets }
    }

    /// The shim under `shell`, with the service's `*_FILE` variables and
    /// URLs, running `command`.
    fn run(&self, shell: &[&str], database_url: &str, command: &[&str]) -> Output {
        let mut cmd = Command::new(shell[0]);
        cmd.args(&shell[1..])
            .arg(&self.shim)
            .args(command)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for name in [
            "secret_key",
            "gemini_api_key",
            "redis_password",
            "postgres_password",
        ] {
            cmd.env(
                format!("{}_FILE", name.to_ascii_uppercase()),
                self.secrets.join(name),
            );
        }
        cmd.env("DATABASE_URL", database_url).env(
            "DATABASE_REPLICA_URL",
            database_url.replace("/promptforge_prod", "/replica_db"),
        );
        cmd.output().expect("run the shim")
    }
}

/// The shells the shim must work in, each found or a failure naming its package.
fn shells() -> Vec<Vec<String>> {
    let tool = |n: &str| support::tool(n).display().to_string();
    vec![
        vec![tool("dash")],
        vec![tool("bash"), "--posix".to_owned()],
        vec![tool("busybox"), "sh".to_owned()],
    ]
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex digits"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn the_shim_exports_each_secret_and_the_urls_with_the_password_in_every_shell() {
    let run = Run::new();
    let printer = [
        "printenv",
        "SECRET_KEY",
        "GEMINI_API_KEY",
        "REDIS_PASSWORD",
        "POSTGRES_PASSWORD",
        "DATABASE_URL",
        "DATABASE_REPLICA_URL",
    ];
    for shell in shells() {
        let shell: Vec<&str> = shell.iter().map(String::as_str).collect();
        let out = run.run(
            &shell,
            "postgresql://promptforge@postgres-primary:5432/promptforge_prod",
            &printer,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{shell:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[0], "signing-key", "{shell:?}");
        assert_eq!(lines[1], "AIza-key with spaces", "{shell:?}");
        // Trailing newlines of a file are not part of the value.
        assert_eq!(lines[2], "redis pass", "{shell:?}");
        assert_eq!(lines[3], PASSWORD, "{shell:?}");
        for (line, db) in [(lines[4], "promptforge_prod"), (lines[5], "replica_db")] {
            let rest = line
                .strip_prefix("postgresql://promptforge:")
                .unwrap_or_else(|| panic!("{shell:?}: {line}"));
            let (encoded, host) = rest.split_once('@').expect("user-info and host");
            assert_eq!(host, format!("postgres-primary:5432/{db}"), "{shell:?}");
            assert!(
                encoded
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._~%".contains(&c)),
                "{shell:?}: `{encoded}` has URL syntax left"
            );
            assert_eq!(percent_decode(encoded), PASSWORD.as_bytes(), "{shell:?}");
        }
        // It never prints a value itself.
        assert!(out.stderr.is_empty(), "{shell:?}: {:?}", out.stderr);
    }
}

#[test]
fn the_shim_refuses_missing_or_empty_secrets_without_running_the_app() {
    let good = "postgresql://promptforge@postgres-primary:5432/promptforge_prod";
    let with_password = "postgresql://promptforge:old@postgres-primary:5432/promptforge_prod";
    for (what, file, url, expected) in [
        (
            "empty",
            Some(("secret_key", Some("\n"))),
            good,
            "SECRET_KEY: ",
        ),
        (
            "missing",
            Some(("gemini_api_key", None)),
            good,
            "GEMINI_API_KEY: cannot read",
        ),
        (
            "a password in the URL",
            None,
            with_password,
            "DATABASE_URL already holds a password",
        ),
    ] {
        let run = Run::new();
        if let Some((name, contents)) = file {
            match contents {
                Some(c) => std::fs::write(run.secrets.join(name), c).expect("write"),
                None => std::fs::remove_file(run.secrets.join(name)).expect("rm"),
            }
        }
        let marker = run.dir.path().join("app-ran");
        let out = run.run(&["sh"], url, &["touch", marker.to_str().expect("utf-8")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: the shim went on");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(!marker.exists(), "{what}: the app ran");
        assert!(!stderr.contains(PASSWORD), "{what}: a value was printed");
    }
    let out = Run::new().run(&["sh"], good, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no command to run"),
        "{out:?}"
    );
}

// ---- libpq reads the URL ----------------------------------------------

fn is_root() -> bool {
    let (_, out, _) = support::run(Command::new("id").arg("-u"));
    out.trim() == "0"
}

/// `program` as the `postgres` OS user when root (PostgreSQL refuses root).
fn as_pg(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

struct Server {
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = as_pg(&support::tool("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
fn libpq_connects_with_the_database_url_the_shim_builds() {
    let run = Run::new();
    let dir = run.dir.path().join("pg");
    std::fs::create_dir(&dir).expect("mkdir");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PASSWORD).expect("write");
    if is_root() {
        let (ok, _, err) = support::run(Command::new("chown").arg("-R").arg("postgres:").arg(&dir));
        assert!(ok, "chown: {err}");
    }
    let data = dir.join("data");
    let (ok, out, err) = support::run(
        as_pg(&support::tool("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "promptforge", "--auth=scram-sha-256", "--pwfile"])
            .arg(&pwfile),
    );
    assert!(ok, "initdb: {out}{err}");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let (ok, out, err) = support::run(
        as_pg(&support::tool("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                dir.display()
            ))
            .args(["-l"])
            .arg(dir.join("log"))
            .args(["-w", "start"]),
    );
    let _server = Server { data };
    assert!(ok, "pg_ctl start: {out}{err}");

    let url = format!("postgresql://promptforge@127.0.0.1:{port}/postgres");
    let psql = support::tool("psql").display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // As the app does: the URL from the environment the shim made.
        let out = run.run(
            &["sh"],
            &url,
            &[
                "sh",
                "-c",
                "exec \"$0\" -X -A -t -c 'select current_user' \"$DATABASE_URL\"",
                &psql,
            ],
        );
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "promptforge");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "libpq rejected the shim's URL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The same URL without the shim has no password: refused.
    let (ok, _, err) = support::run(
        Command::new(&psql)
            .args(["-X", "-w", "-c", "select 1"])
            .arg(&url)
            .env_remove("PGPASSWORD"),
    );
    assert!(!ok && err.contains("password"), "{err}");
}
