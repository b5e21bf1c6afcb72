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
        let bundle = render_text(&text, target.clone());
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

/// Environment values that shells, YAML 1.1, Compose interpolation and
/// dotenv readers would each read as something else if written raw.
const HOSTILE_VALUES: &[(&str, &str)] = &[
    (
        "SUBST",
        "$(touch pf-injected) `touch pf-injected` ${HOME} $$ $",
    ),
    ("QUOTES", "it's \"quoted\" and \\ back"),
    ("BOTH_QUOTES", "it's $(touch pf-injected)"),
    ("MULTI", "line1\nEOF\ntouch pf-injected\n"),
    ("YES", "yes"),
    ("ON", "on"),
    ("Y", "y"),
    ("NUMBER", "1_000"),
    ("SEXAGESIMAL", "190:20:30"),
    ("DATE", "2001-12-14"),
    ("TILDE", "~"),
    ("OCTAL", "0o17"),
    ("INF", ".inf"),
    ("EMPTY", ""),
    ("CONTROL", "esc\u{1b}[2J rlo\u{202e}x"),
    ("UNICODE", "Grüße 日本"),
    ("COMMENT", "a #b"),
];

fn hostile_topology() -> String {
    let mut table = String::from("VITE_API_URL = \"https://promptforge.example.com\"");
    for (k, v) in HOSTILE_VALUES {
        table.push_str(&format!(", {k} = {}", toml::Value::String((*v).to_owned())));
    }
    prod_with(
        "environment = { VITE_API_URL = \"https://promptforge.example.com\" }",
        &format!("environment = {{ {table} }}"),
    )
}

/// A YAML 1.1 reader (PyYAML, like Go's yaml.v2 in Prometheus) as JSON.
fn yaml_1_1(path: &Path) -> serde_json::Value {
    let (ok, _, stderr) = support::run(Command::new("python3").args(["-c", "import yaml"]));
    assert!(
        ok,
        "python3 with PyYAML is needed (Debian package python3-yaml; `bash scripts/install-test-tools.sh` installs it): {stderr}"
    );
    let (ok, stdout, stderr) = support::run(Command::new("python3").args([
        "-c",
        "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))",
        &path.display().to_string(),
    ]));
    assert!(ok, "PyYAML cannot read {}: {stderr}", path.display());
    serde_json::from_str(&stdout).expect("JSON")
}

#[test]
fn environment_values_reach_containers_literally() {
    let text = hostile_topology();
    for (target, file, service) in [
        (Target::Swarm, "docker-stack.yml", "frontend"),
        (Target::Compose, "docker-compose.ha.yml", "frontend1"),
    ] {
        let bundle = render_text(&text, target.clone());
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        let contents = &bundle.get(file).expect("file").contents;
        // YAML 1.2 (serde_yaml_ng) and YAML 1.1 (PyYAML) read strings, and
        // `$` is doubled for Compose interpolation.
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(contents).expect("YAML 1.2");
        let yaml11 = yaml_1_1(&dir.path().join(file));
        for (k, v) in HOSTILE_VALUES {
            let expected = v.replace('$', "$$");
            assert_eq!(
                yaml["services"][service]["environment"][*k].as_str(),
                Some(expected.as_str()),
                "{target} {k} (YAML 1.2)"
            );
            assert_eq!(
                yaml11["services"][service]["environment"][*k].as_str(),
                Some(expected.as_str()),
                "{target} {k} (YAML 1.1)"
            );
        }
        assert!(
            contents.is_ascii(),
            "{target}: non-ASCII written raw into {file}"
        );
        if target == Target::Swarm {
            // Docker's own loader, with interpolation: the container gets
            // the topology's value.
            let (ok, stdout, stderr) = support::run(
                Command::new(support::tool("docker"))
                    .args(["stack", "config", "-c", file])
                    .env("HOME", "/should-not-appear")
                    .current_dir(dir.path()),
            );
            assert!(ok, "docker stack config: {stderr}");
            let merged: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(&stdout).expect("docker prints YAML");
            for (k, v) in HOSTILE_VALUES {
                assert_eq!(
                    merged["services"][service]["environment"][*k].as_str(),
                    Some(*v),
                    "docker stack config: {k}"
                );
            }
        }

        // `.env.production.example`, sourced by a shell: nothing runs, and
        // each variable it assigns has the topology's value.
        let names: Vec<&str> = HOSTILE_VALUES.iter().map(|(k, _)| *k).collect();
        let script = format!(
            "set -eu; set -a; . ./.env.production.example; for n in {}; do if [ \"${{!n+set}}\" = set ]; then printf '%s=%s\\0' \"$n\" \"${{!n}}\"; fi; done",
            names.join(" ")
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir.path())
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{target}: sourcing .env.production.example failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let assigned: Vec<String> = String::from_utf8(out.stdout)
            .expect("UTF-8")
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for line in &assigned {
            let (k, v) = line.split_once('=').expect("k=v");
            let original = HOSTILE_VALUES.iter().find(|(n, _)| *n == k).expect("known");
            assert_eq!(v, original.1, "{target}: .env value of {k}");
        }
        for plain in ["YES", "SUBST", "DATE", "UNICODE"] {
            assert!(
                assigned.iter().any(|l| l.starts_with(&format!("{plain}="))),
                "{target}: {plain} missing from the .env example: {assigned:?}"
            );
        }
        assert!(
            !dir.path().join("pf-injected").exists(),
            "{target}: a value ran a command"
        );
    }
}

/// A one-line description full of shell, heredoc, Markdown and HTML
/// syntax: shown as written, never run or rendered.
const HOSTILE_DESCRIPTION: &str =
    "'$(touch pf-injected)' `touch pf-injected` EOF --> | <script>x</script> *b* [a](b) \\ \"q\" #";

#[test]
fn secret_descriptions_are_text_in_every_file() {
    let text = prod_with(
        "secret_key = \"Application signing key (SECRET_KEY)\"",
        &format!(
            "secret_key = {}",
            toml::Value::String(HOSTILE_DESCRIPTION.to_owned())
        ),
    );
    for target in [Target::Swarm, Target::Compose] {
        let bundle = render_text(&text, target.clone());
        let dir = tempfile::tempdir().expect("temp dir");
        support::write_bundle(&bundle, dir.path());
        for a in bundle
            .artifacts()
            .iter()
            .filter(|a| a.path.ends_with(".sh"))
        {
            let (ok, _, stderr) = support::run(
                Command::new("bash")
                    .arg("-n")
                    .arg(&a.path)
                    .current_dir(dir.path()),
            );
            assert!(ok, "{}: {stderr}", a.path);
        }
        if target == Target::Compose {
            let (ok, stdout, stderr) = support::run(
                Command::new("bash")
                    .args(["scripts/ha-setup.sh", "--help"])
                    .current_dir(dir.path()),
            );
            assert!(ok, "ha-setup.sh --help: {stderr}");
            assert!(
                stdout.contains(&format!("-secrets/secret_key  {HOSTILE_DESCRIPTION}\n")),
                "the description is not printed as written:\n{stdout}"
            );
            assert!(stdout.contains("Exit status:"), "{stdout}");
        }
        let out = Command::new("bash")
            .args(["-c", "set -eu; set -a; . ./.env.production.example"])
            .current_dir(dir.path())
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let readme = &bundle.get("README.md").expect("README").contents;
        assert!(!readme.contains("<script>"), "raw HTML in the README");
        let row = readme
            .lines()
            .find(|l| l.starts_with("| `../") && l.contains("-secrets/secret_key` |"))
            .expect("the secret's row");
        // Four cells (file, secret, description, readers): the
        // description's `|` is escaped.
        assert_eq!(
            row.split(" | ").count(),
            4,
            "the description split the table row: {row}"
        );
        assert!(
            !dir.path().join("pf-injected").exists(),
            "{target}: a description ran a command"
        );
    }
}

/// A description on several lines is refused: it broke out of the help
/// heredoc of ha-setup.sh and ran a command on `--help`.
#[test]
fn a_description_with_a_line_break_is_refused() {
    let text = prod_with(
        "secret_key = \"Application signing key (SECRET_KEY)\"",
        "secret_key = \"key\\nEOF\\ntouch pf-injected\\ncat <<'EOF'\"",
    );
    assert_eq!(errors(&text), ["invalid-description secrets.secret_key"]);
}
