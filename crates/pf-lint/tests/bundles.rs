//! Every bundle of every committed topology, for both targets, passes the
//! whole catalog: no finding, every deviation waived with a reason in the
//! stack file itself, and every target exception named.

use std::path::{Path, PathBuf};

use pf_lint::{FileKind, Input, Options, Report, Rule, Target, lint};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `topologies/*.toml`, then `examples/*.toml`, relative to the root.
fn topologies() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["topologies", "examples"] {
        let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
            .expect("read topology folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| format!("{dir}/{}", p.file_name().expect("name").to_string_lossy()))
            .collect();
        found.sort();
        files.extend(found);
    }
    assert!(
        files.len() >= 3,
        "expected prod and the examples: {files:?}"
    );
    files
}

fn render(relative: &str, target: pf_render::Target) -> pf_render::Bundle {
    let text = std::fs::read_to_string(root().join(relative)).expect("read topology");
    let checked = pf_model::from_str(&text, relative)
        .unwrap_or_else(|e| panic!("{relative}: {e:?}"))
        .validate();
    let topology = checked
        .topology
        .unwrap_or_else(|| panic!("{relative} is invalid: {:#?}", checked.diagnostics));
    pf_render::render(&topology, target).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The bundle's lintable files, as `pf-render lint DIR` would find them.
fn inputs(bundle: &pf_render::Bundle) -> Vec<Input> {
    bundle
        .artifacts()
        .iter()
        .filter_map(|a| Input::new(a.path.clone(), a.contents.clone()))
        .collect()
}

fn lint_bundle(bundle: &pf_render::Bundle) -> Report {
    lint(&inputs(bundle), &Options::default())
}

#[test]
fn every_bundle_passes_the_whole_catalog() {
    for topology in topologies() {
        for target in [pf_render::Target::Swarm, pf_render::Target::Compose] {
            let bundle = render(&topology, target.clone());
            let inputs = inputs(&bundle);
            let kinds: Vec<FileKind> = inputs.iter().map(|i| i.kind).collect();
            for kind in FileKind::ALL {
                assert!(
                    kinds.contains(kind),
                    "{topology} ({target}): no {kind} file was linted: {:?}",
                    inputs.iter().map(|i| &i.name).collect::<Vec<_>>()
                );
            }
            let report = lint(&inputs, &Options::default());
            assert!(
                report.findings.is_empty(),
                "{topology} ({target}):\n{}",
                report.to_human()
            );
            let stack = &report.files[inputs
                .iter()
                .position(|i| i.kind == FileKind::Stack)
                .expect("stack")];
            let expected = match target {
                pf_render::Target::Swarm => Target::Swarm,
                _ => Target::Compose,
            };
            assert_eq!(stack.target, Some(expected), "{topology}: target detection");
            // Exceptions are named, never silent.
            let named: Vec<Rule> = report.exceptions.iter().map(|e| e.exception.rule).collect();
            for e in pf_lint::exceptions(expected) {
                assert!(
                    named.contains(&e.rule),
                    "{topology}: {} not reported",
                    e.rule
                );
            }
            for w in &report.waived {
                assert!(
                    w.reason.len() > 20,
                    "{topology}: a waiver without a real reason: {w:?}"
                );
            }
        }
    }
}

/// The catalog sees real problems in generated files: break one thing in
/// each kind of file and the matching rule fires, at the edited line.
#[test]
fn the_catalog_catches_a_broken_bundle() {
    let bundle = render("topologies/prod.toml", pf_render::Target::Swarm);
    let cases: &[(&str, &str, &str, Rule)] = &[
        (
            "docker-stack.yml",
            "          pids: 1024\n",
            "",
            Rule::PidsLimitMissing,
        ),
        (
            "docker-stack.yml",
            "cpus: '1.5'",
            "cpus: 1.5",
            Rule::CpusNotString,
        ),
        (
            "docker-stack.yml",
            "      BACKEND_WORKERS: '2'\n",
            "      BACKEND_WORKERS: '2'\n      DB_PASSWORD: hunter2\n",
            Rule::SecretInEnvironment,
        ),
        (
            "docker-stack.yml",
            "    internal: true\n",
            "",
            Rule::DataNetworkNotInternal,
        ),
        (
            "nginx/load-balancer.conf",
            "server_tokens off;",
            "server_tokens on;",
            Rule::NginxServerTokens,
        ),
        (
            "nginx/load-balancer.conf",
            "        deny all;\n",
            "",
            Rule::NginxStatusOpen,
        ),
        (
            "postgresql/pg_hba.conf",
            "host all all 172.26.0.0/16 scram-sha-256",
            "host all all 0.0.0.0/0 md5",
            Rule::PgHbaWeakAuth,
        ),
        (
            "redis/sentinel-1.conf",
            "sentinel deny-scripts-reconfig yes",
            "sentinel deny-scripts-reconfig no",
            Rule::SentinelScriptsReconfig,
        ),
    ];
    for (file, old, new, rule) in cases {
        let mut inputs = inputs(&bundle);
        let input = inputs
            .iter_mut()
            .find(|i| i.name == *file)
            .expect("file in bundle");
        assert!(input.text.contains(old), "{file}: `{old}` not found");
        input.text = input.text.replacen(old, new, 1);
        let report = lint(&inputs, &Options::default());
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.code == *rule && f.location.file == *file),
            "{rule} not found after editing {file}:\n{}",
            report.to_human()
        );
    }
}

/// Waivers in the stack file apply to the bundle's other files only when
/// those are linted together: a template alone has no password in it.
#[test]
fn a_redis_template_alone_has_no_password() {
    let bundle = render("topologies/prod.toml", pf_render::Target::Swarm);
    let master = bundle.get("redis/master.conf").expect("master.conf");
    let alone = lint(
        &[Input::new("redis/master.conf", master.contents.clone()).expect("redis")],
        &Options::default(),
    );
    assert!(
        alone
            .findings
            .iter()
            .any(|f| f.code == Rule::RedisAuthMissing)
    );
    assert!(lint_bundle(&bundle).findings.is_empty());
}
