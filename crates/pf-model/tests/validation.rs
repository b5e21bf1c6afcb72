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
        Err(pf_model::LoadError::Invalid { diagnostic }) => {
            return vec![(
                diagnostic.code.name().to_owned(),
                diagnostic.path.clone(),
                diagnostic.location.line,
            )];
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
