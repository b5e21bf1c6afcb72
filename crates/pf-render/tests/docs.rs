//! The bundle's README and `.env.production.example`, for every topology
//! and target: the Mermaid diagram names every instance, the README has
//! this topology's commands, failover budgets, secrets and node labels, and
//! the env example names every secret without ever giving one a value.

mod support;

use pf_model::TopologyFile;
use pf_model::model::Placement;
use pf_model::naming;
use pf_render::{Bundle, Target};

const README: &str = "README.md";
const ENV: &str = ".env.production.example";

fn spec(relative: &str) -> TopologyFile {
    let text = std::fs::read_to_string(support::root().join(relative)).expect("read topology");
    pf_model::from_str(&text, relative)
        .expect("load")
        .validate()
        .topology
        .unwrap_or_else(|| panic!("{relative} is invalid"))
        .spec()
        .clone()
}

/// Every instance name the plan gives for `target`, from the naming rules.
fn instances(t: &TopologyFile, target: &Target) -> Vec<String> {
    let mut v = vec![
        match target {
            Target::Swarm => naming::LOAD_BALANCER_SERVICE,
            Target::Compose | Target::Local(_) => naming::LOAD_BALANCER_INSTANCE,
        }
        .to_owned(),
    ];
    for s in &t.services {
        match target {
            Target::Swarm => v.push(s.name.to_string()),
            Target::Compose | Target::Local(_) => {
                v.extend((1..=s.replicas).map(|i| naming::app_instance(s.name.as_str(), i)))
            }
        }
    }
    v.extend(naming::postgres_instances(t.postgres.replicas));
    v.extend(naming::redis_instances(t.redis.replicas));
    v.extend(naming::sentinel_instances(t.redis.sentinel.count));
    v
}

/// The body of the README's only mermaid block.
fn mermaid(readme: &str) -> Result<&str, String> {
    let start = readme.find("```mermaid\n").ok_or("no ```mermaid block")?;
    let body = &readme[start + "```mermaid\n".len()..];
    let end = body.find("\n```").ok_or("unterminated mermaid block")?;
    Ok(&body[..end])
}

/// What a reader of the diagram needs: a flowchart, balanced subgraphs,
/// and a quoted label naming each instance.
fn check_diagram(readme: &str, names: &[String]) -> Result<(), String> {
    let m = mermaid(readme)?;
    if !m.starts_with("flowchart ") {
        return Err("not a flowchart".into());
    }
    let opens = m
        .lines()
        .filter(|l| l.trim_start().starts_with("subgraph "))
        .count();
    let ends = m.lines().filter(|l| l.trim() == "end").count();
    if opens != ends {
        return Err(format!("{opens} subgraphs, {ends} ends"));
    }
    for name in names {
        if !m.contains(&format!("\"{name}")) {
            return Err(format!("instance {name} is not in the diagram"));
        }
    }
    Ok(())
}

/// Lines of the env example that would hand someone a secret, and
/// declared secrets the example does not mention in a comment.
fn check_env(env: &str, secrets: &[String]) -> Result<(), String> {
    for line in env.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("not NAME=value: {line}"))?;
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad variable name: {line}"));
        }
        let lower = name.to_ascii_lowercase();
        let secret_like = ["pass", "secret", "token", "key"]
            .iter()
            .any(|w| lower.contains(w));
        if secret_like && !value.is_empty() {
            return Err(format!("a secret-like variable has a value: {line}"));
        }
        if value.contains('<') && value.contains('>') {
            return Err(format!("a placeholder someone might leave in: {line}"));
        }
    }
    for s in secrets {
        let commented = env
            .lines()
            .any(|l| l.starts_with('#') && l.contains(&format!("secrets/{s})")));
        if !commented {
            return Err(format!("secret {s} is not named in a comment"));
        }
    }
    Ok(())
}

fn each() -> Vec<(String, Target, Bundle, TopologyFile)> {
    support::all_bundles()
        .into_iter()
        .map(|(t, target, b)| {
            let s = spec(&t);
            (t, target, b, s)
        })
        .collect()
}

#[test]
fn readme_diagram_names_every_instance() {
    for (t, target, bundle, spec) in each() {
        let readme = &bundle.get(README).expect("README.md").contents;
        let names = instances(&spec, &target);
        check_diagram(readme, &names).unwrap_or_else(|e| panic!("{t} ({target}): {e}"));
        let m = mermaid(readme).expect("mermaid");
        for r in 1..=spec.postgres.replicas {
            let name = &naming::postgres_instances(spec.postgres.replicas)[r as usize];
            let slot = naming::slot_name(name);
            assert!(
                m.contains(&format!("WAL streaming, slot {slot}")),
                "{t}: slot {slot}"
            );
        }
    }
}

#[test]
fn readme_has_the_commands_budgets_secrets_and_labels() {
    for (t, target, bundle, spec) in each() {
        let readme = &bundle.get(README).expect("README.md").contents;
        // The user's files go outside the bundle folder, which every render replaces.
        let user = format!("../{}-secrets", spec.name);
        // ha-setup.sh --secrets makes the 0700 folder and gives each file
        // the owner and mode its containers need.
        let prepare = [
            "./scripts/ha-setup.sh --secrets".to_owned(),
            format!("cp .env.production.example {user}/.env.production"),
        ];
        let commands: Vec<String> = match target {
            Target::Swarm => [
                "./scripts/setup-swarm.sh --init".to_owned(),
                prepare[0].clone(),
                prepare[1].clone(),
                "./scripts/setup-swarm.sh --label-nodes".to_owned(),
                "./scripts/setup-swarm.sh --create-secrets".to_owned(),
                "./scripts/setup-swarm.sh --deploy".to_owned(),
                "./scripts/setup-swarm.sh --status".to_owned(),
            ]
            .into(),
            Target::Compose | Target::Local(_) => [
                prepare[0].clone(),
                prepare[1].clone(),
                "./scripts/ha-setup.sh --compose".to_owned(),
                "./scripts/ha-setup.sh --check".to_owned(),
            ]
            .into(),
        };
        assert!(
            !readme.contains("-p secrets") && !readme.contains(" .env.production\n"),
            "{t} ({target}): user files inside the bundle folder"
        );
        let mut at = 0;
        for c in &commands {
            let found = readme[at..]
                .find(c.as_str())
                .unwrap_or_else(|| panic!("{t} ({target}): `{c}` missing or out of order"));
            at += found + c.len();
        }
        if lb_has_tls(&spec) {
            assert!(
                readme.contains("./scripts/ssl-setup.sh import CERT KEY"),
                "{t} ({target}): ssl-setup.sh"
            );
        }
        if target == Target::Swarm {
            assert!(
                readme.contains("`./scripts/ha-setup.sh --swarm` runs `--init --label-nodes --create-secrets --deploy`"),
                "{t}: the guide's ha-setup.sh --swarm"
            );
            if spec.load_balancer.publish_mode == pf_model::model::PublishMode::Host {
                assert!(
                    readme.contains(&format!(
                        "`node.labels.{}.edge == true` on {} edge node(s)",
                        spec.name,
                        spec.load_balancer.edge_node_count()
                    )),
                    "{t}: edge nodes"
                );
            }
        }
        assert!(
            readme.contains(&format!(
                "`proxy_connect_timeout {}`",
                spec.load_balancer.connect_timeout.nginx()
            )),
            "{t} ({target}): connect timeout"
        );
        for app in &spec.services {
            let has = !app.secrets.is_empty() || !app.connects_to.is_empty();
            let line = format!("**{}** (`secrets-as = \"env\"`", app.name);
            assert_eq!(
                readme.contains(&line),
                has && app.secrets_as == pf_model::model::SecretsAs::Env,
                "{t} ({target}): how {} gets its secrets",
                app.name
            );
        }
        let s = &spec.redis.sentinel;
        let budget = (s.down_after.as_millis() + s.failover_timeout.as_millis()).div_ceil(1000);
        let redis = format!("{} + {} = {budget}s", s.down_after, s.failover_timeout);
        let lb = &spec.load_balancer;
        let backends = format!(
            "max_fails={} fail_timeout={}",
            lb.max_fails, lb.fail_timeout
        );
        let tries = format!(
            "at most {} tries within {}",
            lb.next_upstream_tries, lb.next_upstream_timeout
        );
        for needle in [redis, backends, tries] {
            assert!(
                readme.contains(&needle),
                "{t} ({target}): budget `{needle}` missing"
            );
        }
        for name in spec.secrets.keys() {
            assert!(
                readme.contains(&format!("`{user}/{name}`")),
                "{t} ({target}): secret {name} missing"
            );
            if target == Target::Swarm {
                assert!(
                    readme.contains(&format!("`{}_{name}`", spec.name)),
                    "{t}: swarm secret {name}"
                );
            }
        }
        let stateful = [
            (
                spec.postgres.placement,
                naming::postgres_instances(spec.postgres.replicas),
            ),
            (
                spec.redis.placement,
                naming::redis_instances(spec.redis.replicas),
            ),
            (
                spec.redis.sentinel.placement,
                naming::sentinel_instances(spec.redis.sentinel.count),
            ),
        ];
        for (placement, names) in stateful {
            for n in names {
                let label = format!("`node.labels.{}.{n} == true`", spec.name);
                let wanted = target == Target::Swarm && placement == Placement::NodeLabels;
                assert_eq!(
                    readme.contains(&label),
                    wanted,
                    "{t} ({target}): label of {n}"
                );
            }
        }
    }
}

#[test]
fn env_example_names_every_secret_and_values_none() {
    for (t, target, bundle, spec) in each() {
        let env = &bundle.get(ENV).expect(".env.production.example").contents;
        let secrets: Vec<String> = spec.secrets.keys().map(|k| k.as_str().to_owned()).collect();
        check_env(env, &secrets).unwrap_or_else(|e| panic!("{t} ({target}): {e}\n{env}"));
        for var in [
            format!("POSTGRES_USER={}", spec.postgres.owner),
            format!("POSTGRES_DB={}", spec.postgres.database),
            format!(
                "POSTGRES_REPLICATION_USER={}",
                spec.postgres.replication_role
            ),
        ] {
            assert!(
                env.lines().any(|l| l == var),
                "{t} ({target}): `{var}` missing"
            );
        }
        for s in &spec.services {
            if let Some(w) = s.workers {
                let var = format!("{}_WORKERS={w}", s.name.as_str().to_ascii_uppercase());
                assert!(env.lines().any(|l| l == var), "{t}: `{var}` missing");
            }
            if let Some(url) = s.environment.get("VITE_API_URL") {
                assert!(
                    env.contains(&format!("VITE_API_URL={url}")),
                    "{t}: VITE_API_URL"
                );
            }
        }
        if spec
            .services
            .iter()
            .all(|s| s.image.repository().starts_with("localhost:5000/"))
        {
            assert!(
                env.lines().any(|l| l == "DOCKER_REGISTRY=localhost:5000"),
                "{t}: registry"
            );
        }
        if target == Target::Swarm {
            let pw = &spec.postgres.password_secret;
            let want = format!(
                "# {}: Docker secret {}_{pw} (file ../{}-secrets/{pw})",
                pw.env_stem(),
                spec.name,
                spec.name
            );
            assert!(env.contains(&want), "{t}: `{want}` missing\n{env}");
        }
    }
}

#[test]
fn the_checks_catch_a_leaked_secret_and_a_missing_instance() {
    let bundle = support::render("topologies/prod.toml", Target::Compose);
    let spec = spec("topologies/prod.toml");
    let env = &bundle.get(ENV).expect("env").contents;
    let secrets: Vec<String> = spec.secrets.keys().map(|k| k.as_str().to_owned()).collect();
    assert!(check_env(env, &secrets).is_ok());
    for bad in [
        format!("{env}POSTGRES_PASSWORD=hunter2\n"),
        format!("{env}GEMINI_API_KEY=<your-api-key>\n"),
        format!("{env}SESSION_TOKEN=abc\n"),
        env.replace("secrets/redis_password)", "secrets/elsewhere)"),
    ] {
        assert!(check_env(&bad, &secrets).is_err(), "not caught:\n{bad}");
    }
    let readme = &bundle.get(README).expect("readme").contents;
    let names = instances(&spec, &Target::Compose);
    assert!(check_diagram(readme, &names).is_ok());
    let without = readme.replace("\"backend2\"", "\"backendX\"");
    assert!(
        check_diagram(&without, &names).is_err(),
        "a missing instance was not caught"
    );
    let unbalanced = readme.replacen("    end\n", "", 1);
    assert!(
        check_diagram(&unbalanced, &names).is_err(),
        "an unbalanced subgraph was not caught"
    );
}

fn lb_has_tls(spec: &pf_model::TopologyFile) -> bool {
    spec.load_balancer.tls.is_some()
}
