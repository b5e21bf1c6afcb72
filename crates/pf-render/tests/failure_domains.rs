//! The failure-domain proof over the real topologies, and over topologies
//! changed so that one node's loss breaks a group.

use pf_render::failure::{FailureDomains, GroupVerdict};

fn topology(file: &str, edit: impl Fn(String) -> String) -> pf_model::Topology {
    let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
    let text = edit(std::fs::read_to_string(&path).expect("topology"));
    let checked = pf_model::from_str(&text, file).expect("loads").validate();
    checked.topology.unwrap_or_else(|| {
        panic!("{file} is invalid: {:#?}", checked.diagnostics);
    })
}

fn verdict<'a>(fd: &'a FailureDomains, node: u32, group: &str) -> &'a GroupVerdict {
    fd.losses[(node - 1) as usize]
        .groups
        .iter()
        .find(|g| g.group == group)
        .unwrap_or_else(|| panic!("no group {group}"))
}

fn node_of(fd: &FailureDomains, instance: &str) -> u32 {
    fd.pinned
        .iter()
        .find(|p| p.instance == instance)
        .unwrap_or_else(|| panic!("{instance} is not pinned"))
        .node
}

#[test]
fn prod_survives_the_loss_of_any_node() {
    let fd = pf_render::failure_domains(&topology("topologies/prod.toml", |t| t));
    assert_eq!(fd.nodes, 3);
    assert_eq!(fd.losses.len(), 3);
    // Round-robin in stack order, as label-nodes does it.
    assert_eq!(node_of(&fd, "postgres-1"), 1);
    assert_eq!(node_of(&fd, "postgres-2"), 2);
    assert_eq!(node_of(&fd, "redis-master"), 3);
    assert_eq!(node_of(&fd, "redis-replica"), 1);
    let sentinels: Vec<u32> = (1..=3)
        .map(|k| node_of(&fd, &format!("redis-sentinel-{k}")))
        .collect();
    assert_eq!(sentinels, [2, 3, 1]);
    // Node 1 carries the PostgreSQL primary: the standby on node 2 remains.
    let pg = verdict(&fd, 1, "postgres");
    assert!(pg.survives && pg.remaining == 1, "{pg:?}");
    assert!(pg.detail.contains("primary lost"), "{pg:?}");
    // Node 3 carries the Redis master: the replica on node 1 remains.
    assert!(verdict(&fd, 3, "redis").detail.contains("master lost"));
    for node in 1..=3 {
        let s = verdict(&fd, node, "sentinels");
        assert_eq!((s.remaining, s.needed), (2, 2), "{s:?}");
        // backend: 3 tasks, at most 2 per node; frontend: 2, at most 1.
        assert_eq!(verdict(&fd, node, "backend").remaining, 1);
        assert_eq!(verdict(&fd, node, "frontend").remaining, 1);
        assert_eq!(verdict(&fd, node, "load-balancer").remaining, 1);
    }
    assert!(fd.survives_any_node(), "{}", pf_render::failure::table(&fd));
    assert!(fd.findings().is_empty());
}

#[test]
fn the_pinning_order_is_the_one_label_nodes_uses() {
    let t = topology("topologies/prod.toml", |t| t);
    let fd = pf_render::failure_domains(&t);
    let bundle = pf_render::render(&t, pf_render::Target::Swarm).expect("renders");
    let script = &bundle
        .get("scripts/setup-swarm.sh")
        .expect("script")
        .contents;
    let line = script
        .lines()
        .find(|l| l.starts_with("LABELLED=("))
        .expect("LABELLED");
    let expected: String = fd
        .pinned
        .iter()
        .map(|p| format!("'{}'", p.instance))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(line, format!("LABELLED=({expected})"));
}

#[test]
fn large_survives_the_loss_of_any_node() {
    let fd = pf_render::failure_domains(&topology("examples/large-multi-host.toml", |t| t));
    assert_eq!(fd.nodes, 5);
    assert!(fd.survives_any_node(), "{}", pf_render::failure::table(&fd));
    // 5 Sentinels on 5 nodes, quorum 3: any loss leaves 4.
    for node in 1..=5 {
        let s = verdict(&fd, node, "sentinels");
        assert_eq!((s.remaining, s.needed), (4, 3), "{s:?}");
    }
    assert!(fd.findings().is_empty());
}

#[test]
fn minimal_on_one_node_loses_everything_and_says_so_once() {
    let fd = pf_render::failure_domains(&topology("examples/minimal-single-host.toml", |t| t));
    assert_eq!(fd.nodes, 1);
    let loss = &fd.losses[0];
    assert!(loss.groups.iter().all(|g| !g.survives), "{loss:#?}");
    assert_eq!(verdict(&fd, 1, "sentinels").remaining, 0);
    let f = fd.findings();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].code.name(), "node-loss-breaks-ha");
    assert_eq!(f[0].path, "capacity.nodes");
}

#[test]
fn two_sentinels_of_three_on_one_node_are_reported() {
    // Two nodes: the labels of the 7 pinned members alternate, so
    // Sentinels 1 and 3 share node 1.
    let fd = pf_render::failure_domains(&topology("topologies/prod.toml", |t| {
        t.replace("nodes = 3", "nodes = 2")
    }));
    assert_eq!(node_of(&fd, "redis-sentinel-1"), 1);
    assert_eq!(node_of(&fd, "redis-sentinel-3"), 1);
    let s = verdict(&fd, 1, "sentinels");
    assert!(!s.survives);
    assert_eq!((s.remaining, s.total, s.needed), (1, 3, 2));
    // Node 2 carries one Sentinel: its loss leaves the majority.
    assert!(verdict(&fd, 2, "sentinels").survives);
    let f = fd.findings();
    let sentinel: Vec<_> = f
        .iter()
        .filter(|f| f.message.starts_with("sentinels:"))
        .collect();
    assert_eq!(sentinel.len(), 1, "{f:#?}");
    assert_eq!(sentinel[0].path, "redis.sentinel.count");
    assert!(
        sentinel[0].message.contains("losing node 1 of 2"),
        "{}",
        sentinel[0].message
    );
    assert!(!fd.survives_any_node());
}

#[test]
fn unpinned_sentinels_are_judged_by_the_worst_case() {
    let fd = pf_render::failure_domains(&topology("topologies/prod.toml", |t| {
        t.replace(
            "[redis.sentinel]\n",
            "[redis.sentinel]\nplacement = \"anywhere\"\n",
        )
    }));
    assert!(fd.pinned.iter().all(|p| !p.instance.contains("sentinel")));
    for node in 1..=3 {
        let s = verdict(&fd, node, "sentinels");
        assert!(!s.survives && s.remaining == 0, "{s:?}");
    }
    let f = fd.findings();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].path, "redis.sentinel.placement");
    assert!(f[0].help.contains("node-labels"), "{}", f[0].help);
}

#[test]
fn unpinned_postgres_may_lose_primary_and_standby_together() {
    let fd = pf_render::failure_domains(&topology("topologies/prod.toml", |t| {
        t.replace("[postgres]\n", "[postgres]\nplacement = \"anywhere\"\n")
    }));
    let pg = verdict(&fd, 2, "postgres");
    assert!(!pg.survives, "{pg:?}");
    assert!(pg.detail.contains("unpinned"), "{pg:?}");
    let f = fd.findings();
    assert!(f.iter().any(|f| f.path == "postgres.placement"), "{f:#?}");
}

#[test]
fn a_single_task_tier_is_reported_at_its_replicas() {
    let fd = pf_render::failure_domains(&topology("topologies/prod.toml", |t| {
        t.replacen("replicas = 2\nport = 80", "replicas = 1\nport = 80", 1)
    }));
    assert!(!verdict(&fd, 1, "frontend").survives);
    let f = fd.findings();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].path, "services[1].replicas");
    assert!(f[0].message.starts_with("frontend:"), "{}", f[0].message);
}
