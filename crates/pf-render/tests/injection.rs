//! Input text never changes what a generated file does: every free-text
//! value (secret descriptions, environment values) is escaped for each
//! file it reaches, and paths are validated, then quoted, where a shell
//! reads them.

mod support;

use std::path::Path;
use std::process::Command;

use pf_render::{Bundle, Target};

fn prod() -> String {
    std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("read prod.toml")
}

/// prod.toml with `from` replaced by `to` (which must occur).
fn prod_with(from: &str, to: &str) -> String {
    let text = prod();
    assert!(text.contains(from), "prod.toml has no `{from}`");
    text.replacen(from, to, 1)
}

fn render_text(text: &str, target: Target) -> Bundle {
    let checked = pf_model::from_str(text, "prod.toml")
        .unwrap_or_else(|e| panic!("{e:?}"))
        .validate();
    let topology = checked
        .topology
        .unwrap_or_else(|| panic!("invalid: {:#?}", checked.diagnostics));
    pf_render::render(&topology, target).expect("renders")
}

fn errors(text: &str) -> Vec<String> {
    pf_model::from_str(text, "prod.toml")
        .expect("loads")
        .validate()
        .diagnostics
        .into_iter()
        .filter(pf_model::Diagnostic::is_error)
        .map(|d| format!("{} {}", d.code, d.path))
        .collect()
}

/// A `bin` folder with `curl` and `wget` that log their arguments to
/// `calls` and fail, as against an app that is down.
fn failing_http_tools(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    for tool in ["curl", "wget"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"{tool} $*\" >> '{}'\nexit 7\n",
                dir.join("calls").display()
            ),
        )
        .expect("write tool");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

/// The `CMD-SHELL` command of a service's health check, as the container
/// runs it (Compose and `docker stack deploy` turn `$$` into `$`).
fn health_command(bundle: &Bundle, file: &str, service: &str) -> String {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&bundle.get(file).expect("stack file").contents)
            .expect("YAML parses");
    let test = &yaml["services"][service]["healthcheck"]["test"];
    assert_eq!(test[0].as_str(), Some("CMD-SHELL"), "{test:?}");
    test[1].as_str().expect("command").replace("$$", "$")
}

/// `health-path = "/api/health?probe=1&x=1"`: unquoted, `&` sent curl to
/// the background and the check reported healthy while the app was down.
#[test]
fn a_health_path_with_a_query_is_one_word_of_the_health_check() {
    let path = "/api/health?probe=1&x=1";
    let text = prod_with(
        "health-path = \"/api/health\"",
        &format!("health-path = \"{path}\""),
    );
    for (target, file, service) in [
        (Target::Swarm, "docker-stack.yml", "backend"),
        (Target::Compose, "docker-compose.ha.yml", "backend1"),
    ] {
        let bundle = render_text(&text, target);
        let command = health_command(&bundle, file, service);
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = failing_http_tools(dir.path());
        let status = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .current_dir(dir.path())
            .status()
            .expect("sh runs");
        assert!(
            !status.success(),
            "{target}: `{command}` reports healthy while curl and wget fail"
        );
        let calls = std::fs::read_to_string(dir.path().join("calls")).expect("tools ran");
        let url = format!("http://127.0.0.1:8000{path}");
        assert_eq!(
            calls,
            format!("curl -fsS {url}\nwget -qO- {url}\n"),
            "{target}: `{command}`"
        );
    }
}

/// Shell syntax in a path is refused with a located error, before any
/// file is written.
#[test]
fn shell_syntax_in_paths_is_refused() {
    for bad in [
        "/x|id>/tmp/pf-pwned",
        "/x;id",
        "/x$(id)",
        "/x`id`",
        "/x'y",
        "/a b",
    ] {
        for key in ["health-path = \"/api/health\"", "route = \"/api\""] {
            let (name, _) = key.split_once(" = ").expect("key");
            let text = prod_with(key, &format!("{name} = \"{bad}\""));
            assert_eq!(
                errors(&text),
                [format!("invalid-path services[0].{name}")],
                "{name} = {bad}"
            );
        }
    }
}
