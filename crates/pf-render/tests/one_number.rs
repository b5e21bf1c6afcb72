//! One number, everything follows: raising the backend replicas from 3 to 5
//! in the topology changes the compose services, the nginx upstream, the
//! capacity check and the bundle's docs, with nothing else edited.

mod support;

use pf_render::Target;

fn prod_with_backends(n: u32) -> (pf_model::Checked, String) {
    let text =
        std::fs::read_to_string(support::root().join("topologies/prod.toml")).expect("read prod");
    assert!(
        text.contains("replicas = 3\nport = 8000"),
        "prod.toml no longer has `replicas = 3` before `port = 8000`"
    );
    let changed = text.replacen(
        "replicas = 3\nport = 8000",
        &format!("replicas = {n}\nport = 8000"),
        1,
    );
    let checked = pf_model::from_str(&changed, "topologies/prod.toml")
        .expect("parses")
        .validate();
    (checked, changed)
}

#[test]
fn five_backends_reach_every_file_that_names_them() {
    let (three, _) = prod_with_backends(3);
    let (five, _) = prod_with_backends(5);
    let three = three.topology.expect("3 backends are valid");
    let five = five.topology.expect("5 backends are valid");

    let c3 = pf_render::render(&three, Target::Compose).expect("render");
    let c5 = pf_render::render(&five, Target::Compose).expect("render");
    let compose3 = &c3.get("docker-compose.ha.yml").expect("compose").contents;
    let compose5 = &c5.get("docker-compose.ha.yml").expect("compose").contents;
    for n in 4..=5 {
        assert!(!compose3.contains(&format!("  backend{n}:")));
        assert!(
            compose5.contains(&format!("  backend{n}:")),
            "compose service backend{n}"
        );
        assert!(compose5.contains(&format!("container_name: promptforge-backend-{n}")));
    }
    let nginx5 = &c5.get("nginx/load-balancer.conf").expect("nginx").contents;
    for n in 1..=5 {
        assert!(
            nginx5.contains(&format!("server backend{n}:8000 resolve")),
            "upstream lists backend{n}"
        );
    }
    let readme5 = &c5.get("README.md").expect("readme").contents;
    assert!(
        readme5.contains("backend5"),
        "the bundle README names the new instances"
    );

    let s5 = pf_render::render(&five, Target::Swarm).expect("render");
    let stack5 = &s5.get("docker-stack.yml").expect("stack").contents;
    assert!(stack5.contains("replicas: 5"), "the Swarm service scales");
    assert!(
        s5.get("README.md")
            .expect("readme")
            .contents
            .contains("backend (5 replicas")
    );
}

#[test]
fn the_capacity_check_follows_the_replica_count() {
    // 60 backends reserve 45 CPUs: with the other services, more than 3 nodes of 16.
    let (checked, _) = prod_with_backends(60);
    assert!(checked.topology.is_none(), "60 backends should not fit");
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.code == pf_model::Code::ReservationsExceedCapacity),
        "{:#?}",
        checked.diagnostics
    );
    let (five, _) = prod_with_backends(5);
    assert!(
        !five
            .diagnostics
            .iter()
            .any(|d| d.code == pf_model::Code::ReservationsExceedCapacity)
    );
}
