//! The plan: one reviewed JSON snapshot per committed topology and target
//! (what `pf-render inspect` prints), and the local bundle's files stating
//! exactly the addresses, ports and folders of the plan the drill reads.
//!
//! After a deliberate change: `INSTA_UPDATE=always cargo test -p pf-render
//! --test plan`, then read every changed `.snap` in `git diff`.

mod support;

use std::path::Path;

use pf_render::{Bundle, LocalOptions, Plan, Target};

fn topology(relative: &str) -> pf_model::Topology {
    let text = std::fs::read_to_string(support::root().join(relative)).expect("read topology");
    pf_model::from_str(&text, relative)
        .expect("loads")
        .validate()
        .topology
        .expect("valid")
}

/// Swarm, Compose, and the local target with its fixed default run folder,
/// so no snapshot depends on the machine.
fn targets() -> [Target; 3] {
    [Target::Swarm, Target::Compose, Target::local()]
}

#[test]
fn every_plan_matches_its_snapshot() {
    for relative in support::topologies() {
        let t = topology(&relative);
        for target in targets() {
            let name = format!("{}-{}", support::stem(&relative), target.name());
            let plan = pf_render::plan(&t, target);
            let json = serde_json::to_string_pretty(&plan).expect("the plan serializes");
            insta::with_settings!({ omit_expression => true, input_file => support::root().join(&relative) }, {
                insta::assert_snapshot!(name, json);
            });
        }
    }
}

/// The plan is what is rendered: `render` is `emit(plan)`, and the plan
/// itself is deterministic.
#[test]
fn render_is_emit_of_the_plan() {
    for relative in support::topologies() {
        let t = topology(&relative);
        for target in targets() {
            let plan = pf_render::plan(&t, target.clone());
            assert_eq!(plan, pf_render::plan(&t, target.clone()), "{relative}");
            assert_eq!(
                pf_render::emit(&plan).expect("emits"),
                pf_render::render(&t, target).expect("renders"),
                "{relative}"
            );
        }
    }
}

/// Every service the plan names is written into the stack or compose
/// file, and every file an instance reads is in the bundle.
#[test]
fn every_planned_service_and_file_is_rendered() {
    for relative in support::topologies() {
        let t = topology(&relative);
        for target in targets() {
            let plan = pf_render::plan(&t, target);
            let bundle = pf_render::emit(&plan).expect("emits");
            for i in plan.instances() {
                for f in &i.files {
                    assert!(
                        bundle.get(&f.artifact).is_some(),
                        "{relative} ({}): {} reads {}, which is not rendered",
                        plan.target,
                        i.name,
                        f.artifact
                    );
                }
            }
            let file = match plan.target {
                Target::Swarm => "docker-stack.yml",
                Target::Compose => "docker-compose.ha.yml",
                Target::Local(_) => {
                    assert_eq!(plan.services().count(), 0, "local: no orchestrator");
                    continue;
                }
            };
            let text = &bundle.get(file).expect("orchestrator file").contents;
            let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("YAML");
            let services = yaml["services"].as_mapping().expect("services");
            let planned: Vec<&str> = plan.services().map(|(i, _)| i.name.as_str()).collect();
            let written: Vec<&str> = services.keys().filter_map(|k| k.as_str()).collect();
            assert_eq!(planned, written, "{relative} ({})", plan.target);
        }
    }
}

/// What the drill relies on: each local file puts its instance at the
/// plan's address, port and folders. A change to a template or to the plan
/// that makes them disagree fails here, not in the middle of a drill.
#[test]
fn local_files_state_the_plan() {
    for relative in support::topologies() {
        let t = topology(&relative);
        for remap in [false, true] {
            let plan = pf_render::plan(
                &t,
                Target::Local(LocalOptions::new("/tmp/pf-plan-test", remap)),
            );
            let bundle = pf_render::emit(&plan).expect("emits");
            for (path, needle) in needles(&plan) {
                let artifact = bundle
                    .get(&path)
                    .unwrap_or_else(|| panic!("{relative}: no {path}"));
                assert!(
                    artifact.contents.contains(&needle),
                    "{relative} (remap {remap}): {path} has no `{}`",
                    needle.trim()
                );
            }
        }
    }
}

/// (bundle file, text it must hold) for every address, port and folder
/// the drill starts a process with.
fn needles(plan: &Plan) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let lb = &plan.lb;
    let nginx = &lb.config.artifact;
    let addr = lb.instance.listen;
    v.push((nginx.clone(), format!("listen {addr}:{}", lb.http_port)));
    v.push((nginx.clone(), format!("listen {addr}:{}", lb.status_port)));
    for app in &plan.apps {
        for i in &app.instances {
            v.push((nginx.clone(), format!("server {}:{} ", i.listen, app.port)));
        }
    }
    let pg = &plan.postgres;
    for conf in [
        &pg.files.primary_conf.artifact,
        &pg.files.standby_conf.artifact,
    ] {
        v.push((conf.clone(), format!("\nport = {}\n", pg.settings.port)));
        v.push((
            conf.clone(),
            format!("hba_file = '{}'", pg.files.hba.path.display()),
        ));
    }
    // The member script gives each member what its container would have
    // had: its address, socket folder and data folder, by its name.
    let member = &pg.files.member.artifact;
    for m in pg.members() {
        v.push((
            member.clone(),
            format!(
                "    {})\n        m_host='{}'",
                m.instance.name, m.instance.listen
            ),
        ));
        v.push((member.clone(), format!("m_listen='{}'", m.instance.listen)));
        v.push((
            member.clone(),
            format!("m_socket='{}'", dir(m.socket_dir.as_deref())),
        ));
        v.push((
            member.clone(),
            format!(
                "m_data='{}'",
                dir(m.instance.data.as_ref().map(|d| d.path.as_path()))
            ),
        ));
    }
    let redis = &plan.redis;
    let port = redis.settings.port;
    v.push((
        redis.files.master_conf.artifact.clone(),
        format!("bind {}\n", redis.master.instance.listen),
    ));
    v.push((
        redis.files.replica_conf.artifact.clone(),
        format!("replicaof {} {port}\n", redis.master.instance.host),
    ));
    for s in &redis.sentinels {
        let path = &s.template.artifact;
        for needle in [
            format!("bind {}\n", s.instance.listen),
            format!("port {}\n", redis.settings.sentinel.port),
            format!(
                "dir {}\n",
                dir(s.instance.data.as_ref().map(|d| d.path.as_path()))
            ),
            format!(
                "sentinel monitor {} {} {port} ",
                redis.settings.master_name, redis.master.instance.host
            ),
        ] {
            v.push((path.clone(), needle));
        }
    }
    v
}

fn dir(path: Option<&Path>) -> String {
    path.expect("a local folder").display().to_string()
}

/// A planned file that disagrees with the bundle is caught: the check
/// above is not vacuous.
#[test]
fn a_drifted_address_is_caught() {
    let t = topology("topologies/prod.toml");
    let plan = pf_render::plan(&t, Target::local());
    let bundle: Bundle = pf_render::emit(&plan).expect("emits");
    let mut wrong = plan.clone();
    wrong.redis.master.instance.listen = "127.0.3.9".parse().expect("address");
    let missing: Vec<(String, String)> = needles(&wrong)
        .into_iter()
        .filter(|(path, needle)| {
            !bundle
                .get(path)
                .is_some_and(|a| a.contents.contains(needle))
        })
        .collect();
    assert_eq!(
        missing,
        [(
            "redis/master.conf".to_owned(),
            "bind 127.0.3.9\n".to_owned()
        )]
    );
}

/// A deploy in steps starts the member `postgres.primary` names first, so the
/// standbys of a new cluster find a primary to clone instead of waiting for
/// one a later step would start; the other members follow one per step.
#[test]
fn the_primary_is_deployed_in_the_first_step() {
    let t = topology("examples/large-multi-host.toml");
    for primary in [1, 3] {
        let moved = t
            .edited(|s| s.postgres.primary = primary)
            .topology
            .expect("valid");
        let plan = pf_render::plan(&moved, Target::Swarm);
        let steps: Vec<(String, u32)> = plan
            .postgres
            .members()
            .map(|m| {
                let d = m.instance.deployment.as_ref().expect("deployment");
                (m.instance.name.clone(), d.update_step)
            })
            .collect();
        let want: Vec<(String, u32)> = match primary {
            1 => vec![
                ("postgres-1", 1),
                ("postgres-2", 2),
                ("postgres-3", 3),
                ("postgres-4", 4),
            ],
            _ => vec![
                ("postgres-1", 2),
                ("postgres-2", 3),
                ("postgres-3", 1),
                ("postgres-4", 4),
            ],
        }
        .into_iter()
        .map(|(n, s)| (n.to_owned(), s))
        .collect();
        assert_eq!(steps, want, "postgres.primary = {primary}");
    }
}
