//! The transformation on the repository's topologies: the result validates
//! with pf_model, every image is local, reservations fit the test machine,
//! and everything not named in docs/containers.md is unchanged.

use pf_model::TopologyFile;
use pf_testbed::{ImageMap, Machine, localize};

const GIB: u64 = 1024 * 1024 * 1024;

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

const TOPOLOGIES: [&str; 3] = [
    "topologies/prod.toml",
    "examples/minimal-single-host.toml",
    "examples/large-multi-host.toml",
];

/// A map like the image build writes, with a stand-in for every app name used in the repository.
fn images() -> ImageMap {
    ImageMap::parse(
        r#"
[images]
load-balancer = "nginx:1.30.0-pftest.0123abcd"
postgres = "postgres:15.14-pftest.0123abcd"
redis = "redis:7.0.15-pftest.0123abcd"
prometheus = "prom/prometheus:2.42.0-pftest.0123abcd"
alertmanager = "prom/alertmanager:0.28.1-pftest.0123abcd"
postgres-exporter = "prometheuscommunity/postgres-exporter:0.11.1-pftest.0123abcd"
redis-exporter = "oliver006/redis_exporter:1.45.0-pftest.0123abcd"
[apps]
backend = "pf-testbed/backend:1.0.0-pftest.0123abcd"
frontend = "pf-testbed/frontend:1.0.0-pftest.0123abcd"
"#,
        "images.toml",
    )
    .expect("image map")
}

fn machine(nodes: u32) -> Machine {
    Machine::new(nodes, 2000, 23 * GIB).expect("machine")
}

fn local(image: &pf_model::units::ImageRef) -> bool {
    image.tag().is_some_and(|t| t.contains("-pftest."))
}

/// Every (count, reservations) group, as the generator deploys them.
fn reserved(t: &TopologyFile) -> (u64, u64) {
    let mut groups: Vec<(u64, &pf_model::model::Resources)> = t
        .services
        .iter()
        .map(|s| (u64::from(s.replicas), &s.resources))
        .collect();
    groups.push((t.load_balancer.instances.into(), &t.load_balancer.resources));
    groups.push((u64::from(t.postgres.replicas) + 1, &t.postgres.resources));
    groups.push((u64::from(t.redis.replicas) + 1, &t.redis.resources));
    groups.push((t.redis.sentinel.count.into(), &t.redis.sentinel.resources));
    let cpu = groups
        .iter()
        .map(|(n, r)| n * r.reservations.cpus.millis())
        .sum();
    let mem = groups
        .iter()
        .map(|(n, r)| n * r.reservations.memory.bytes())
        .sum();
    (cpu, mem)
}

#[test]
fn every_topology_validates_with_local_images_and_fits_one_node() {
    for path in TOPOLOGIES {
        for nodes in [1, 3] {
            let text = std::fs::read_to_string(repo(path)).expect("read");
            let m = machine(nodes);
            let out =
                localize(&text, path, &images(), &m).unwrap_or_else(|e| panic!("{path}: {e}"));
            // The text on disk is what the test tier renders: load it again.
            let again = pf_model::from_str(&out.text, path)
                .expect("loads")
                .validate();
            let t = again
                .topology
                .unwrap_or_else(|| panic!("{path}: {:?}", again.diagnostics));
            let s = t.spec();
            assert!(
                local(&s.load_balancer.image) && local(&s.postgres.image) && local(&s.redis.image),
                "{path}"
            );
            assert!(
                s.services.iter().all(|a| local(&a.image)),
                "{path}: an app image is not local"
            );
            if s.monitoring.prometheus {
                let mon = &s.monitoring;
                for image in [
                    &mon.prometheus_image,
                    &mon.postgres_exporter_image,
                    &mon.redis_exporter_image,
                ] {
                    assert!(local(image), "{path}: {image}");
                }
                if let Some(am) = &mon.alertmanager {
                    assert!(local(&am.image), "{path}: {}", am.image);
                }
                assert!(
                    !mon.grafana,
                    "{path}: Grafana has no local image and must be off"
                );
            }
            assert_eq!(s.capacity.nodes, nodes, "{path}");
            let (cpu, mem) = reserved(s);
            assert!(cpu <= m.cpu_budget() + 20, "{path}: {cpu} millis reserved");
            assert!(
                mem <= m.memory_budget() + 64 * 1024 * 1024,
                "{path}: {mem} bytes reserved"
            );
            let all_limits = s.services.iter().map(|a| &a.resources).chain([
                &s.load_balancer.resources,
                &s.postgres.resources,
                &s.redis.resources,
                &s.redis.sentinel.resources,
            ]);
            for r in all_limits {
                assert!(
                    r.limits.cpus.millis() <= m.cpu_millis_per_node,
                    "{path}: {r:?}"
                );
                assert!(r.limits.cpus >= r.reservations.cpus, "{path}: {r:?}");
            }
            assert_eq!(
                s.network.encrypted,
                nodes == 1 && original(path).network.encrypted,
                "{path}"
            );
            assert!(!out.changes.is_empty(), "{path}: no change reported");
        }
    }
}

fn original(path: &str) -> TopologyFile {
    let text = std::fs::read_to_string(repo(path)).expect("read");
    pf_model::from_str(&text, path).expect("loads").file
}

#[test]
fn nothing_else_changes() {
    for path in TOPOLOGIES {
        let before = original(path);
        let text = std::fs::read_to_string(repo(path)).expect("read");
        let out = localize(&text, path, &images(), &machine(3)).expect("localize");
        let mut after = out.topology.spec().clone();
        // Put back exactly what the transformation is documented to change.
        after.load_balancer.image = before.load_balancer.image.clone();
        after.load_balancer.instances = before.load_balancer.instances;
        after.load_balancer.edge_nodes = before.load_balancer.edge_nodes;
        after.load_balancer.resources = before.load_balancer.resources.clone();
        after.postgres.image = before.postgres.image.clone();
        after.postgres.resources = before.postgres.resources.clone();
        after.redis.image = before.redis.image.clone();
        after.redis.resources = before.redis.resources.clone();
        after.redis.sentinel.resources = before.redis.sentinel.resources.clone();
        after.capacity = before.capacity.clone();
        after.network.encrypted = before.network.encrypted;
        // No IPVS here: the tier runs every topology with DNS round robin.
        assert_eq!(after.network.endpoint_mode.as_str(), "dnsrr", "{path}");
        after.network.endpoint_mode = before.network.endpoint_mode;
        after.monitoring.grafana = before.monitoring.grafana;
        after.monitoring.prometheus_image = before.monitoring.prometheus_image.clone();
        if let (Some(a), Some(b)) = (
            &mut after.monitoring.alertmanager,
            &before.monitoring.alertmanager,
        ) {
            a.image = b.image.clone();
        }
        after.monitoring.postgres_exporter_image =
            before.monitoring.postgres_exporter_image.clone();
        after.monitoring.redis_exporter_image = before.monitoring.redis_exporter_image.clone();
        for (a, b) in after.services.iter_mut().zip(&before.services) {
            a.image = b.image.clone();
            a.resources = b.resources.clone();
            // The stand-in's own program, only where the topology names one.
            if !b.entrypoint.is_empty() || !b.command.is_empty() {
                assert_eq!(a.entrypoint, ["python3", "/usr/local/bin/standin.py"]);
                assert_eq!(a.command[0], b.name.as_str());
                a.entrypoint.clone_from(&b.entrypoint);
                a.command.clone_from(&b.command);
            }
        }
        assert_eq!(after, before, "{path}: an undocumented change");
    }
}

#[test]
fn comments_survive_and_the_header_says_what_the_file_is() {
    let path = "topologies/prod.toml";
    let text = std::fs::read_to_string(repo(path)).expect("read");
    let out = localize(&text, path, &images(), &machine(1)).expect("localize");
    assert!(
        out.text
            .starts_with("# Localized by pf-testbed from topologies/prod.toml")
    );
    assert!(
        out.text
            .contains("# \"Update 1 task at a time (parallelism=1)")
    );
    let grafana = out
        .changes
        .iter()
        .find(|c| c.key == "monitoring.grafana")
        .expect("grafana change");
    assert!(grafana.why.contains("not packaged in Debian"), "{grafana}");
}

#[test]
fn a_missing_app_image_names_the_key_to_add() {
    let path = "topologies/prod.toml";
    let text = std::fs::read_to_string(repo(path)).expect("read");
    let mut map = images();
    map.apps.remove("frontend");
    let e = localize(&text, path, &map, &machine(1)).expect_err("frontend has no image");
    assert!(e.to_string().contains("apps.frontend"), "{e}");
}

#[test]
fn an_invalid_input_is_reported_not_transformed() {
    let text = std::fs::read_to_string(repo("topologies/prod.toml")).expect("read");
    let broken = text.replace("quorum = 2", "quorum = 7");
    let e = localize(&broken, "broken.toml", &images(), &machine(1)).expect_err("invalid");
    assert!(e.to_string().contains("broken.toml"), "{e}");
}

#[test]
fn a_machine_smaller_than_one_cpu_is_refused() {
    assert!(Machine::new(1, 500, 8 * GIB).is_err());
    assert!(Machine::new(0, 2000, 8 * GIB).is_err());
}

#[test]
fn facts_are_shell_safe_key_value_lines() {
    for path in TOPOLOGIES {
        let text = std::fs::read_to_string(repo(path)).expect("read");
        let t = pf_testbed::validated(&text, path).expect("valid");
        let facts = pf_testbed::facts(&t);
        for (k, v) in &facts {
            assert!(
                !v.contains(['=', '\n', '\'', '"', '`', '$', '\\']),
                "{path}: {k}={v}"
            );
        }
        let get = |key: &str| {
            facts
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("stack").as_deref(), Some(t.spec().name.as_str()));
        // The container tier finds the primary and the standbys by these.
        let pg = &t.spec().postgres;
        assert_eq!(
            get("pg_primary"),
            Some(format!("postgres-{}", pg.primary)),
            "{path}"
        );
        let standbys = get("pg_standbys").unwrap_or_default();
        let standbys: Vec<&str> = standbys.split(' ').filter(|s| !s.is_empty()).collect();
        assert_eq!(standbys.len(), pg.replicas as usize, "{path}");
        assert!(
            standbys
                .iter()
                .all(|s| s.starts_with("postgres-") && *s != format!("postgres-{}", pg.primary)),
            "{path}: {standbys:?}"
        );
        assert!(
            get("secrets").is_some_and(|s| s.contains("redis_password")),
            "{path}"
        );
        // Every webhook secret and the htpasswd secret are declared secrets:
        // the harness writes a URL or an htpasswd line into exactly those.
        let secrets = get("secrets").unwrap_or_default();
        let declared: Vec<&str> = secrets.split(' ').collect();
        let webhooks = get("webhook_secrets").unwrap_or_default();
        for w in webhooks.split(' ').filter(|w| !w.is_empty()) {
            assert!(declared.contains(&w), "{path}: {w}");
        }
        let htpasswd = get("web_htpasswd_secret").unwrap_or_default();
        assert!(
            htpasswd.is_empty() || declared.contains(&htpasswd.as_str()),
            "{path}"
        );
        if path == "topologies/prod.toml" {
            assert_eq!(get("alertmanager").as_deref(), Some("1"));
            assert_eq!(webhooks, "alert_webhook_url");
            assert_eq!(htpasswd, "monitoring_htpasswd");
            assert_eq!(get("alert_for_s").as_deref(), Some("120"));
        }
    }
}
