//! The guide's `ssl-setup.sh`, run for real with openssl: a self-signed
//! staging pair that a TLS client accepts for the server name, imports that
//! check the pair before writing anything (key of another certificate, a
//! certificate for another name, an expired one), and `ha-setup.sh`'s
//! `--swarm` / `--compose` as the guide calls them.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pf_render::Target;

const NAME: &str = "promptforge.example.com";

struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    fn new(target: Target) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(
            &support::render("topologies/prod.toml", target),
            &dir.path().join("bundle"),
        );
        Self { dir }
    }

    fn secrets(&self) -> PathBuf {
        self.dir.path().join("promptforge-secrets")
    }

    fn cert(&self) -> PathBuf {
        self.secrets().join("tls_certificate")
    }

    fn key(&self) -> PathBuf {
        self.secrets().join("tls_private_key")
    }

    /// `scripts/<script> ARGS` from another folder: (exit code, output).
    fn run(&self, script: &str, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::new("bash")
            .current_dir("/")
            .arg(self.dir.path().join("bundle/scripts").join(script))
            .args(args)
            .env_remove("SECRETS_DIR")
            .output()
            .expect("run script");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

fn openssl(args: &[&str]) {
    let (ok, out, err) = support::run(Command::new(support::tool("openssl")).args(args));
    assert!(ok, "openssl {args:?}: {out}{err}");
}

/// A key and a certificate for `name` in `dir`, valid from `start` to
/// `end` (`YYYYMMDDHHMMSSZ`), made with `openssl ca -selfsign`, which takes
/// any dates.
fn pair(dir: &Path, tag: &str, name: &str, start: &str, end: &str) -> (PathBuf, PathBuf) {
    let d = dir.join(tag);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join("index.txt"), "").expect("index");
    std::fs::write(d.join("serial"), "01\n").expect("serial");
    let cnf = d.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {0}/index.txt\nnew_certs_dir = {0}\nserial = {0}/serial\n\
             default_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n",
            d.display()
        ),
    )
    .expect("config");
    let (key, csr, cert) = (d.join("key.pem"), d.join("req.csr"), d.join("cert.pem"));
    let s = |p: &Path| p.display().to_string();
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &s(&key),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        &s(&key),
        "-subj",
        &format!("/CN={name}"),
        "-addext",
        &format!("subjectAltName=DNS:{name}"),
        "-out",
        &s(&csr),
    ]);
    openssl(&[
        "ca",
        "-batch",
        "-config",
        &s(&cnf),
        "-selfsign",
        "-keyfile",
        &s(&key),
        "-in",
        &s(&csr),
        "-out",
        &s(&cert),
        "-startdate",
        start,
        "-enddate",
        end,
    ]);
    (cert, key)
}

const FROM: &str = "20240101000000Z";
const UNTIL: &str = "20991231000000Z";

#[test]
fn self_signed_makes_a_staging_pair_a_client_accepts_for_the_server_name() {
    let b = Bundle::new(Target::Compose);
    let (code, out) = b.run("ssl-setup.sh", &["self-signed"]);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "! STAGING ONLY: a self-signed certificate for promptforge.example.com",
        "✓ the key belongs to the certificate",
        "✓ the certificate covers promptforge.example.com",
        "! STAGING: this is a self-signed certificate; do not use it in production",
    ] {
        assert!(out.contains(line), "missing `{line}`:\n{out}");
    }
    for f in [b.cert(), b.key()] {
        let meta = std::fs::metadata(&f).expect("written");
        assert_eq!(meta.mode() & 0o777, 0o400, "{}", f.display());
    }
    let dir = std::fs::metadata(b.secrets()).expect("folder");
    assert_eq!(dir.mode() & 0o777, 0o700);
    // Nothing left behind but the two files.
    let names: Vec<String> = std::fs::read_dir(b.secrets())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A real TLS handshake: curl, trusting only this certificate, accepts it
    // for the server name (and would refuse any other name).
    let port = free_port();
    let _server = TlsServer::start(&b.cert(), &b.key(), port);
    let url = format!("https://{NAME}:{port}/");
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let (ok, _, err) = support::run(
        Command::new(support::tool("curl"))
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "--max-time",
                "10",
                "--resolve",
                &resolve,
                "--cacert",
            ])
            .arg(b.cert())
            .arg(&url),
    );
    assert!(ok, "curl refused the staging certificate: {err}");

    // Existing files are kept unless --force.
    let (code, out) = b.run("ssl-setup.sh", &["self-signed"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("use --force"), "{out}");
    let (code, out) = b.run("ssl-setup.sh", &["self-signed", "7", "--force"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("expires within 30 days"), "{out}");
    let (code, out) = b.run("ssl-setup.sh", &["check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn import_checks_the_pair_and_writes_nothing_when_it_fails() {
    let b = Bundle::new(Target::Swarm);
    let work = b.dir.path().join("work");
    let (good_cert, good_key) = pair(&work, "good", NAME, FROM, UNTIL);
    let (_, other_key) = pair(&work, "other", NAME, FROM, UNTIL);
    let (wrong_name, wrong_name_key) = pair(&work, "name", "other.example.org", FROM, UNTIL);
    let (expired, expired_key) = pair(&work, "old", NAME, "20200101000000Z", "20200102000000Z");
    let s = |p: &PathBuf| p.display().to_string();
    for (what, cert, key, expected) in [
        (
            "a key of another certificate",
            &good_cert,
            &other_key,
            "✗ the key does not belong to the certificate",
        ),
        (
            "another name",
            &wrong_name,
            &wrong_name_key,
            "✗ the certificate does not cover promptforge.example.com (its names: DNS:other.example.org)",
        ),
        (
            "expired",
            &expired,
            &expired_key,
            "✗ the certificate has expired",
        ),
        (
            "not a key",
            &good_cert,
            &good_cert,
            "is not an unencrypted PEM private key",
        ),
    ] {
        let (code, out) = b.run("ssl-setup.sh", &["import", &s(cert), &s(key)]);
        assert_eq!(code, Some(1), "{what}: {out}");
        assert!(
            out.contains(expected),
            "{what}: missing `{expected}`:\n{out}"
        );
        assert!(
            !b.cert().exists() && !b.key().exists(),
            "{what}: written anyway"
        );
    }
    let (code, out) = b.run("ssl-setup.sh", &["import", &s(&good_cert), &s(&good_key)]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        std::fs::read(b.cert()).expect("cert"),
        std::fs::read(&good_cert).expect("source")
    );
    assert!(!out.contains("STAGING"), "{out}");
    // The swarm bundle says what comes next.
    let (_, help) = b.run("ssl-setup.sh", &["--help"]);
    assert!(help.contains("setup-swarm.sh --create-secrets"), "{help}");
    let (code, out) = b.run("ssl-setup.sh", &["check"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn ha_setup_accepts_the_guides_swarm_and_compose_flags_for_its_bundle() {
    // The swarm bundle delegates --swarm to setup-swarm.sh (which, without
    // docker here, fails on its first docker call) and refuses --compose.
    let b = Bundle::new(Target::Swarm);
    let bin = b.dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let log = b.dir.path().join("docker.log");
    std::fs::write(
        bin.join("docker"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >>{}\nexit 42\n",
            log.display()
        ),
    )
    .expect("docker");
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(b.dir.path().join("bundle/scripts/ha-setup.sh"))
            .args(args)
            .env("PATH", &path)
            .output()
            .expect("run");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, out) = run(&["--swarm"]);
    assert_eq!(code, Some(42), "{out}");
    assert_eq!(
        std::fs::read_to_string(&log).expect("docker was called"),
        "info --format {{.Swarm.LocalNodeState}}\n",
        "--swarm starts with setup-swarm.sh --init"
    );
    let (code, out) = run(&["--compose"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("rendered for Docker Swarm: use --swarm"),
        "{out}"
    );

    let c = Bundle::new(Target::Compose);
    let out = Command::new("bash")
        .arg(c.dir.path().join("bundle/scripts/ha-setup.sh"))
        .arg("--swarm")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rendered for Docker Compose: use --compose")
    );
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `openssl s_server` with the pair, until dropped.
struct TlsServer(Child);

impl TlsServer {
    fn start(cert: &Path, key: &Path, port: u16) -> Self {
        let child = Command::new(support::tool("openssl"))
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
