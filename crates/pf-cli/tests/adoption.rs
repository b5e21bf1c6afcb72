//! Adoption in other repositories: the pre-commit hooks of
//! `.pre-commit-hooks.yaml` run by pre-commit itself (pinned, installed by
//! scripts/install-test-tools.sh into .tools) on a repository that holds
//! topologies and a committed bundle, and the Dockerfile passes hadolint.
//!
//! The hooks repository pre-commit clones is a new git repository holding
//! this working tree's `.pre-commit-hooks.yaml` (the hooks run the
//! `pf-render` on PATH, the one under test), so an edit of the manifest is
//! tested before it is committed.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{code, stderr, stdout};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tool installed under `.tools/bin`, or a failure saying how to get it.
fn tool(name: &str) -> PathBuf {
    let path = root().join(".tools/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools.sh (it installs {name} into .tools)",
        path.display()
    );
    path
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

fn head(dir: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .expect("git");
    stdout(&out).trim().to_owned()
}

/// A user repository, a hooks repository and a PATH with pf-render.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let setup = Self { dir };
        // The hooks repository: this tree's manifest, committed.
        let hooks = setup.hooks();
        std::fs::create_dir(&hooks).expect("mkdir");
        std::fs::copy(
            root().join(".pre-commit-hooks.yaml"),
            hooks.join(".pre-commit-hooks.yaml"),
        )
        .expect("copy manifest");
        git(&hooks, &["init", "-q", "-b", "main"]);
        git(&hooks, &["add", "."]);
        git(&hooks, &["commit", "-q", "-m", "hooks"]);
        // pf-render on PATH.
        let bin = setup.dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        let wrapper = bin.join("pf-render");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' \"$@\"\n",
                env!("CARGO_BIN_EXE_pf-render")
            ),
        )
        .expect("write");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // The user's repository: prod, and its Swarm bundle committed in deploy/.
        let user = setup.user();
        support::prod_and_bundle(&user, "deploy");
        std::fs::write(
            user.join(".pre-commit-config.yaml"),
            format!(
                "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: pf-render-check\n      - id: pf-render-lint\n      - id: pf-render-drift\n        args: [swarm, topologies/prod.toml, --check, deploy]\n",
                hooks.display(),
                head(&hooks)
            ),
        )
        .expect("write config");
        git(&user, &["init", "-q", "-b", "main"]);
        git(&user, &["add", "."]);
        git(&user, &["commit", "-q", "-m", "bundle"]);
        setup
    }

    fn hooks(&self) -> PathBuf {
        self.dir.path().join("hooks")
    }

    fn user(&self) -> PathBuf {
        self.dir.path().join("user")
    }

    /// `pre-commit ARGS` in the user repository.
    fn pre_commit(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(tool("pre-commit"))
            .args(args)
            .current_dir(self.user())
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", self.dir.path().join("cache"))
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env_remove("PRE_COMMIT_COLOR")
            .output()
            .expect("pre-commit runs")
    }
}

/// pre-commit's line for a hook: `name.....Passed`.
fn result<'a>(log: &'a str, name: &str) -> &'a str {
    log.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no line for {name}:\n{log}"))
        .rsplit('.')
        .next()
        .unwrap_or_default()
}

#[test]
fn the_hooks_pass_a_repository_in_order_and_fail_each_kind_of_problem() {
    let setup = Setup::new();
    let out = setup.pre_commit(&["run", "--all-files"]);
    let log = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{log}");
    // Each hook ran on files (a hook with no matching file says Skipped).
    assert_eq!(
        result(&log, "pf-render check (topologies)"),
        "Passed",
        "{log}"
    );
    assert_eq!(result(&log, "pf-render lint"), "Passed", "{log}");
    assert_eq!(result(&log, "pf-render drift"), "Passed", "{log}");

    // A broken topology, a hand-written Compose file with a privileged
    // service, and an edited bundle file: each hook fails and says why.
    let user = setup.user();
    let prod = std::fs::read_to_string(user.join("topologies/prod.toml")).expect("read");
    std::fs::write(
        user.join("topologies/broken.toml"),
        support::edit(&prod, "quorum = 2", "quorum = 4"),
    )
    .expect("write");
    std::fs::write(user.join("docker-compose.yml"), support::PRIVILEGED_COMPOSE).expect("write");
    let nginx = user.join("deploy/nginx/load-balancer.conf");
    let text = std::fs::read_to_string(&nginx).expect("read");
    std::fs::write(
        &nginx,
        text.replacen("server_tokens off;", "server_tokens on;", 1),
    )
    .expect("write");
    git(&user, &["add", "."]);
    let out = setup.pre_commit(&["run", "--all-files"]);
    let log = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 1, "{log}");
    assert_eq!(
        result(&log, "pf-render check (topologies)"),
        "Failed",
        "{log}"
    );
    assert!(log.contains("error[sentinel-quorum-out-of-range]"), "{log}");
    assert!(log.contains("--> topologies/broken.toml:"), "{log}");
    assert_eq!(result(&log, "pf-render lint"), "Failed", "{log}");
    assert!(log.contains("error[privileged]"), "{log}");
    assert!(log.contains("docker-compose.yml:4:"), "{log}");
    assert_eq!(result(&log, "pf-render drift"), "Failed", "{log}");
    assert!(
        log.contains("-    server_tokens off;") || log.contains("server_tokens on;"),
        "{log}"
    );
}

/// The lint hook's file pattern takes every file of a bundle that lint
/// reads (stack, nginx, pg_hba, Redis, Sentinel) and none it cannot tell
/// the kind of: `lint` fails on a named file of an unknown kind.
#[test]
fn try_repo_lints_exactly_the_lintable_files_of_a_bundle() {
    let setup = Setup::new();
    let out = setup.pre_commit(&[
        "try-repo",
        &setup.hooks().display().to_string(),
        "pf-render-lint",
        "--all-files",
        "--verbose",
    ]);
    let log = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{log}");
    assert_eq!(result(&log, "pf-render lint"), "Passed", "{log}");
    // `lint` prints one summary line per file it read.
    let read: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("deploy/"))
        .filter_map(|l| l.split(':').next())
        .collect();
    for expected in [
        "docker-stack.yml",
        "nginx/load-balancer.conf",
        "postgresql/pg_hba.conf",
        "redis/master.conf",
        "redis/replica.conf",
        "redis/sentinel-1.conf",
    ] {
        assert!(read.contains(&expected), "{expected} not linted:\n{log}");
    }
    for skipped in [
        "monitoring/prometheus.yml",
        "monitoring/alerts.yml",
        "README.md",
    ] {
        assert!(
            !read.contains(&skipped),
            "{skipped} was passed to lint:\n{log}"
        );
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let hadolint = tool("hadolint");
    let out = Command::new(&hadolint)
        .arg(root().join("Dockerfile"))
        .output()
        .expect("hadolint runs");
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // And it does find problems: a Dockerfile with two of them.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "FROM debian\nRUN apt-get install curl\n").expect("write");
    let out = Command::new(&hadolint)
        .arg(&bad)
        .output()
        .expect("hadolint runs");
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("DL3006"), "{}", stdout(&out));
}

/// The pre-commit configuration in docs/ci.md names this repository and
/// hooks that exist.
#[test]
fn the_documented_pre_commit_configuration_names_existing_hooks() {
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    let start = docs
        .find("# .pre-commit-config.yaml\n")
        .expect("the example");
    let block = &docs[start..start + docs[start..].find("```").expect("block end")];
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(block).expect("parses");
    let manifest: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("manifest"),
    )
    .expect("manifest parses");
    let ids: Vec<&str> = manifest
        .as_sequence()
        .expect("a list of hooks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["pf-render-check", "pf-render-lint", "pf-render-drift"]
    );
    let repo = &config["repos"][0];
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        cargo.contains(&format!(
            "repository = \"{}\"",
            repo["repo"].as_str().expect("repo")
        )),
        "docs name another repository than Cargo.toml"
    );
    let used: Vec<&str> = repo["hooks"]
        .as_sequence()
        .expect("hooks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(used, ids);
}
