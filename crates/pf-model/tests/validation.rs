//! Validation rules that keep input from changing what a generated file
//! means, or from exhausting the machine: each case edits one line of
//! `topologies/prod.toml` and checks the located diagnostic.

const PROD: &str = include_str!("../../../topologies/prod.toml");

/// prod.toml with the first line starting with `key =` (after `[table]`,
/// when given) replaced by `line`.
fn edit(table: Option<&str>, key: &str, line: &str) -> String {
    let mut in_table = table.is_none();
    let mut done = false;
    let mut out = String::new();
    for l in PROD.lines() {
        if let Some(t) = table
            && l.trim() == format!("[{t}]")
        {
            in_table = true;
        }
        if in_table && !done && l.starts_with(&format!("{key} =")) {
            out.push_str(line);
            done = true;
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    assert!(done, "no `{key} =` line to edit");
    out
}

/// (code, path, line) of every error.
fn errors(text: &str) -> Vec<(String, String, usize)> {
    let loaded = match pf_model::from_str(text, "t.toml") {
        Ok(l) => l,
        Err(pf_model::LoadError::Invalid { diagnostics, .. }) => {
            return diagnostics
                .iter()
                .map(|d| (d.code.name().to_owned(), d.path.clone(), d.location.line))
                .collect();
        }
        Err(e) => panic!("{e}"),
    };
    loaded
        .validate()
        .diagnostics
        .into_iter()
        .filter(pf_model::Diagnostic::is_error)
        .map(|d| (d.code.name().to_owned(), d.path, d.location.line))
        .collect()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in text")
}

/// One error, with this code, on the edited line.
fn assert_one(text: &str, code: &str, needle: &str) {
    let found = errors(text);
    assert_eq!(
        found.len(),
        1,
        "expected one `{code}` at `{needle}`, found {found:?}"
    );
    assert_eq!(found[0].0, code, "{found:?}");
    assert_eq!(found[0].2, line_of(text, needle), "{found:?}");
}

#[test]
fn prod_is_valid() {
    assert_eq!(errors(PROD), Vec::new());
}

#[test]
fn not_a_number_fails_every_fraction() {
    for value in ["nan", "+nan", "-nan"] {
        let t = edit(Some("capacity"), "headroom", &format!("headroom = {value}"));
        assert_one(&t, "out-of-range", "headroom =");
        let t = edit(
            Some("monitoring.alerts"),
            "resource-usage",
            &format!("resource-usage = {value}"),
        );
        assert_one(&t, "out-of-range", "resource-usage =");
        let t = edit(
            Some("rollout"),
            "parallelism",
            &format!("parallelism = 1\nmax-failure-ratio = {value}"),
        );
        assert_one(&t, "out-of-range", "max-failure-ratio =");
    }
    for value in ["inf", "+inf", "-inf"] {
        let t = edit(Some("capacity"), "headroom", &format!("headroom = {value}"));
        assert_one(&t, "out-of-range", "headroom =");
        let t = edit(
            Some("rollout"),
            "parallelism",
            &format!("parallelism = 1\nmax-failure-ratio = {value}"),
        );
        assert_one(&t, "out-of-range", "max-failure-ratio =");
    }
    let t = edit(
        Some("load-balancer"),
        "resources",
        "resources = { limits = { cpus = nan, memory = \"512M\" }, reservations = { cpus = 0.5, memory = \"256M\" } }",
    );
    assert_one(&t, "invalid-value", "cpus = nan");
}

fn warnings(text: &str) -> Vec<String> {
    pf_model::from_str(text, "t.toml")
        .expect("loads")
        .validate()
        .diagnostics
        .into_iter()
        .filter(|d| !d.is_error())
        .map(|d| format!("{} {}", d.code, d.path))
        .collect()
}

#[test]
fn image_references_follow_the_distribution_grammar() {
    for bad in [
        "a//b:1.0",
        "ng..inx:1.0",
        "a:b:c:1.0",
        "localhost:5000/a/../../etc:1.0.0",
        "nginx",
        "nginx:latest",
    ] {
        let t = edit(
            Some("load-balancer"),
            "image",
            &format!("image = \"{bad}\""),
        );
        assert_one(&t, "invalid-value", &format!("image = \"{bad}\""));
    }
    let digest = format!("sha256:{}", "0".repeat(64));
    // A registry host may have upper case; a digest pins an image.
    for good in [
        "Registry.Example.com/app:1.0".to_owned(),
        format!("localhost:5000/promptforge-backend@{digest}"),
        format!("localhost:5000/promptforge-backend:1.0.0@{digest}"),
    ] {
        let t = PROD.replacen(
            "image = \"localhost:5000/promptforge-backend:1.0.0\"",
            &format!("image = \"{good}\""),
            1,
        );
        assert_eq!(errors(&t), Vec::new(), "{good}");
        assert!(
            !warnings(&t).iter().any(|w| w.contains("services[0].image")),
            "{good}: {:?}",
            warnings(&t)
        );
    }
    // nginx pinned by digest alone: valid, with a warning that its
    // version (>= 1.27.3 for `resolve`) cannot be checked.
    let t = edit(
        Some("load-balancer"),
        "image",
        &format!("image = \"nginx@{digest}\""),
    );
    assert_eq!(errors(&t), Vec::new());
    assert!(
        warnings(&t).contains(&"unknown-image-version load-balancer.image".to_owned()),
        "{:?}",
        warnings(&t)
    );
}

#[test]
fn secrets_in_environment_values_are_refused() {
    let env = "environment = { VITE_API_URL = \"https://promptforge.example.com\" }";
    for (entry, code) in [
        ("DB_PASS = \"hunter2\"", "secret-in-environment"),
        ("ACCESSTOKEN = \"x\"", "secret-in-environment"),
        (
            "DATABASE_URL = \"postgresql://u:pw@db/x\"",
            "password-in-url",
        ),
        ("CACHE = \"redis://:pw@redis:6379/0\"", "password-in-url"),
    ] {
        let t = PROD.replacen(
            env,
            &format!(
                "environment = {{ VITE_API_URL = \"https://promptforge.example.com\", {entry} }}"
            ),
            1,
        );
        let found = errors(&t);
        assert_eq!(found.len(), 1, "{entry}: {found:?}");
        assert_eq!(found[0].0, code, "{entry}: {found:?}");
        assert!(
            found[0].1.starts_with("services[1].environment."),
            "{found:?}"
        );
    }
    for fine in [
        "KEYCLOAK_URL = \"https://id.example.org\"",
        "DATABASE_URL = \"postgresql://u@db/x\"",
        "PASSPORT_STRATEGY = \"local\"",
    ] {
        let t = PROD.replacen(
            env,
            &format!(
                "environment = {{ VITE_API_URL = \"https://promptforge.example.com\", {fine} }}"
            ),
            1,
        );
        assert_eq!(errors(&t), Vec::new(), "{fine}");
    }
}

#[test]
fn a_subnet_of_every_address_is_refused() {
    for subnet in ["0.0.0.0/0", "::/0"] {
        let t = edit(Some("network"), "subnet", &format!("subnet = \"{subnet}\"")).replace(
            "allow = [\"127.0.0.1/32\", \"172.26.0.0/16\"]",
            "allow = [\"127.0.0.1/32\"]",
        );
        assert_one(&t, "subnet-open-to-all", "subnet =");
    }
}

/// 10,000 services of 1,000 replicas passed `check`, then rendering took
/// 6 GB. Here 51 services of 1,000 replicas: over the bound of 50,000.
#[test]
fn too_many_instances_are_refused() {
    let mut t = PROD.replace("nodes = 3", "nodes = 1000");
    let service = "\n[[services]]\nname = \"bulk{n}x\"\nimage = \"nginx:1.28.0\"\nreplicas = 1000\nport = 80\nroute = \"/bulk{n}\"\nhealth-path = \"/\"\nresources = { limits = { cpus = 0.001, memory = \"1M\" }, reservations = { cpus = 0.001, memory = \"1M\" } }\n";
    let at = t.find("[postgres]").expect("postgres table");
    let services: String = (0..51)
        .map(|n| service.replace("{n}", &n.to_string()))
        .collect();
    t.insert_str(at, &services);
    let found = errors(&t);
    assert!(
        found
            .iter()
            .any(|(code, path, _)| code == "too-many-instances" && path == "services[2].replicas"),
        "{found:?}"
    );
    // 50 of them (50,000 + prod's 21 instances is still over; 49 is not).
    let mut t = PROD.replace("nodes = 3", "nodes = 1000");
    let services: String = (0..49)
        .map(|n| service.replace("{n}", &n.to_string()))
        .collect();
    t.insert_str(at, &services);
    assert!(
        !errors(&t)
            .iter()
            .any(|(code, ..)| code == "too-many-instances"),
        "{:?}",
        errors(&t)
    );
}

/// Members of a replication group pinned by node labels need a node each:
/// three PostgreSQL members on two nodes, or three Redis data nodes on two,
/// are reported at the replica count; `placement = "anywhere"` and a group
/// that fits are not.
#[test]
fn stateful_members_on_fewer_nodes_are_reported() {
    let shared = |text: &str| -> Vec<String> {
        warnings(text)
            .into_iter()
            .filter(|w| w.starts_with("stateful-members-share-nodes "))
            .collect()
    };
    let two_nodes = PROD.replace("nodes = 3", "nodes = 2");
    assert_eq!(
        shared(&two_nodes),
        Vec::<String>::new(),
        "2 members on 2 nodes fit"
    );
    let pg = two_nodes.replacen("replicas = 1\ndatabase", "replicas = 2\ndatabase", 1);
    assert_eq!(
        shared(&pg),
        ["stateful-members-share-nodes postgres.replicas"]
    );
    let redis = two_nodes.replacen("replicas = 1\nmaster-name", "replicas = 2\nmaster-name", 1);
    assert_eq!(
        shared(&redis),
        ["stateful-members-share-nodes redis.replicas"]
    );
    let anywhere = pg.replacen(
        "stop-grace-period = \"2m\"",
        "stop-grace-period = \"2m\"\nplacement = \"anywhere\"",
        1,
    );
    assert_eq!(shared(&anywhere), Vec::<String>::new());
}

/// `postgres.primary` names a member: 1 ..= replicas + 1. A topology edited
/// in code is validated again and keeps its origin.
#[test]
fn postgres_primary_names_a_member() {
    assert_one(
        &edit(Some("postgres"), "replicas", "replicas = 1\nprimary = 3"),
        "pg-primary-out-of-range",
        "primary = 3",
    );
    let topology = pf_model::from_str(PROD, "prod.toml")
        .expect("loads")
        .validate()
        .topology
        .expect("valid");
    let moved = topology.edited(|t| t.postgres.primary = 2);
    let moved = moved.topology.expect("member 2 exists");
    assert_eq!(moved.spec().postgres.primary, 2);
    assert_eq!(moved.origin(), "prod.toml");
    let checked = topology.edited(|t| t.postgres.primary = 3);
    assert!(checked.topology.is_none());
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.code.name() == "pg-primary-out-of-range" && d.location.file == "prod.toml")
    );
    // Every member name is reserved, its exporter's, and the aliases that
    // follow the roles.
    for name in [
        "postgres-7",
        "postgres-7-exporter",
        "postgres-primary",
        "postgres-replica",
    ] {
        assert_one(
            &edit(Some("[services]"), "name", &format!("name = \"{name}\"")),
            "reserved-service-name",
            &format!("name = \"{name}\""),
        );
    }
}
