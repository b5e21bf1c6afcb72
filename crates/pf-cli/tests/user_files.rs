//! The files a user adds next to a bundle (the secret files and
//! `.env.production`) live outside the folder pf-render replaces: a user
//! who follows the bundle README keeps them across renders, and the
//! scripts and the Compose file find them there.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use support::{PROD, code, prod_changed, run, stderr, topology};

/// The lines of the README's "Deploy" commands that prepare the user's
/// files: setting SECRETS_DIR, making the secrets folder (ha-setup.sh
/// --secrets, which also generates the stack's passwords), copying the
/// environment example.
fn preparation(readme: &str) -> Vec<String> {
    let deploy = readme
        .split("\n## Deploy")
        .nth(1)
        .expect("a Deploy section")
        .split("\n## ")
        .next()
        .expect("section text");
    let lines: Vec<String> = deploy
        .lines()
        .filter(|l| {
            [
                "SECRETS_DIR=",
                "mkdir ",
                "cp ",
                "./scripts/ha-setup.sh --secrets",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(str::to_owned)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("./scripts/ha-setup.sh --secrets")),
        "{deploy}"
    );
    assert!(lines.iter().any(|l| l.starts_with("cp ")), "{deploy}");
    lines
}

/// The secret files the README's table asks for (first column).
fn secret_files(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## Secrets")
        .nth(1)
        .expect("a Secrets section")
        .split("\n## ")
        .next()
        .expect("section text");
    let files: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(f, _)| f.to_owned()))
        .collect();
    assert!(files.len() >= 5, "{section}");
    files
}

/// Runs a bash script in `dir`, without a SECRETS_DIR from the test's
/// environment, with `path_prefix` first on PATH.
fn bash(dir: &Path, script: &str, path_prefix: &Path) -> std::process::Output {
    Command::new("bash")
        .args(["-euc", script])
        .current_dir(dir)
        .env_remove("SECRETS_DIR")
        .env(
            "PATH",
            format!(
                "{}:{}",
                path_prefix.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("run bash")
}

/// A `docker` that answers what the setup scripts ask and logs the files
/// `docker secret create` is given.
fn fake_docker(dir: &Path) {
    let docker = dir.join("docker");
    std::fs::write(
        &docker,
        "#!/bin/sh\ncase \"$1 $2\" in\n\"secret inspect\") exit 1 ;;\n\"secret create\") printf '%s\\n' \"$4\" >>\"$DOCKER_LOG\" ;;\nesac\nexit 0\n",
    )
    .expect("write fake docker");
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn files_made_as_the_readme_says_survive_the_next_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    fake_docker(&bin);
    topology(tmp.path(), "prod.toml", PROD);
    for target in ["swarm", "compose"] {
        let o = run(tmp.path(), &[target, "prod.toml"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let bundle = tmp.path().join("out/prod").join(target);
        let readme = std::fs::read_to_string(bundle.join("README.md")).expect("README");

        // What the README says to do, as it says it, in the bundle folder.
        let mut script = preparation(&readme).join("\n");
        let files = secret_files(&readme);
        for f in &files {
            script.push_str(&format!("\nprintf 'value of %s' '{f}' > {f}"));
        }
        let made = bash(&bundle, &script, &bin);
        assert!(made.status.success(), "{}", stderr(&made));
        let env_file = readme
            .lines()
            .find_map(|l| l.strip_prefix("cp .env.production.example "))
            .expect("the cp line")
            .split_whitespace()
            .next()
            .expect("destination")
            .to_owned();
        let check = format!(
            "for f in {} {env_file}; do test -s \"$f\"; done",
            files.join(" ")
        );
        assert!(bash(&bundle, &check, &bin).status.success());

        // A changed topology: the bundle folder is replaced...
        std::fs::write(tmp.path().join("prod.toml"), prod_changed()).expect("write");
        let o = run(tmp.path(), &[target, "prod.toml"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(support::stdout(&o).contains("wrote"), "not replaced");
        // ...and the user's files are where they were.
        let kept = bash(&bundle, &check, &bin);
        assert!(
            kept.status.success(),
            "{target}: the files the README asked for are gone after a render:\n{script}"
        );
        for f in &files {
            let inside = bundle.join(f).canonicalize().expect("exists");
            assert!(
                !inside.starts_with(bundle.canonicalize().expect("bundle")),
                "{f} is inside the bundle folder"
            );
        }

        // The scripts read them from there.
        let log = tmp.path().join(format!("docker-{target}.log"));
        let use_them = if target == "swarm" {
            format!(
                "DOCKER_LOG='{}' ./scripts/setup-swarm.sh --create-secrets",
                log.display()
            )
        } else {
            "./scripts/ha-setup.sh".to_owned()
        };
        let used = bash(&bundle, &use_them, &bin);
        assert!(
            used.status.success(),
            "{target}: {}{}",
            support::stdout(&used),
            stderr(&used)
        );
        if target == "swarm" {
            let created = std::fs::read_to_string(&log).expect("docker log");
            assert_eq!(created.lines().count(), files.len(), "{created}");
            for line in created.lines() {
                let path = bundle.join(line);
                assert!(
                    std::fs::read_to_string(&path)
                        .expect("a created secret's file")
                        .starts_with("value of "),
                    "{line}"
                );
            }
        } else {
            // The Compose file mounts the same files.
            let compose =
                std::fs::read_to_string(bundle.join("docker-compose.ha.yml")).expect("compose");
            let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&compose).expect("YAML");
            let secrets = yaml["secrets"].as_mapping().expect("secrets");
            assert_eq!(secrets.len(), files.len());
            for (_, s) in secrets {
                let file = s["file"].as_str().expect("file");
                let resolved = bash(&bundle, &format!("f=\"{file}\"; test -s \"$f\""), &bin);
                assert!(resolved.status.success(), "{file} is not the user's file");
            }
        }
        std::fs::write(tmp.path().join("prod.toml"), PROD).expect("write");
    }
}
