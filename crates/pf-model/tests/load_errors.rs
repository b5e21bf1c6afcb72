//! A file with several load errors reports every one of them, each at its
//! own line, and nothing that is only a consequence of another.

const PROD: &str = include_str!("../../../topologies/prod.toml");

fn edit(text: &str, old: &str, new: &str) -> String {
    assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once");
    text.replacen(old, new, 1)
}

/// (code, line) of every load error of `text`.
fn load_errors(text: &str) -> Vec<(String, usize)> {
    match pf_model::from_str(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(pf_model::LoadError::Invalid { diagnostics, .. }) => diagnostics
            .iter()
            .map(|d| (d.code.name().to_owned(), d.location.line))
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"))
        + 1
}

#[test]
fn every_unknown_key_type_and_unit_error_is_reported() {
    let mut text = edit(PROD, "[network]", "colour = \"blue\"\n[network]");
    text = edit(&text, "image = \"nginx:1.28.0\"", "image = 128"); // required, wrong type
    text = edit(
        &text,
        "next-upstream-tries = 3",
        "next-upstream-tries = \"3\"",
    );
    text = edit(&text, "\"http_502\"", "\"http_999\""); // a bad item of a list of choices
    text = edit(&text, "publish-mode = \"host\"", "publish-mode = \"hots\""); // a bad choice
    text = edit(&text, "image = \"redis:7.4.1\"", "image = \"redis\""); // required, malformed
    text = edit(&text, "count = 3", "cuont = 3"); // a typo: not also "missing `count`"
    let found = load_errors(&text);
    let expected = [
        ("unknown-key", line_of(&text, "colour =")),
        ("wrong-type", line_of(&text, "image = 128")),
        ("invalid-value", line_of(&text, "http_999")),
        ("wrong-type", line_of(&text, "next-upstream-tries = \"3\"")),
        ("invalid-value", line_of(&text, "publish-mode = \"hots\"")),
        ("invalid-value", line_of(&text, "image = \"redis\"")),
        ("unknown-key", line_of(&text, "cuont = 3")),
    ];
    let expected: Vec<(String, usize)> = expected
        .iter()
        .map(|(c, l)| ((*c).to_owned(), *l))
        .collect();
    assert_eq!(found, expected);
}

/// A value removed because it was wrong is not also reported as missing;
/// a key that is really missing is.
#[test]
fn consequences_are_not_reported() {
    let text = edit(PROD, "count = 3", "count = \"three\"");
    assert_eq!(
        load_errors(&text),
        [("wrong-type".to_owned(), line_of(&text, "count = \"three\""))]
    );
    let text = edit(PROD, "count = 3\n", "");
    assert_eq!(
        load_errors(&text),
        [("missing-key".to_owned(), line_of(&text, "[redis.sentinel]"))]
    );
}

/// The repeated passes are bounded by the size of the file: a large file
/// full of errors is still checked quickly (and every error of a small
/// one is found).
#[test]
fn many_errors_stay_fast() {
    let mut text = PROD.to_owned();
    for i in 0..2000 {
        text = text.replacen("[network]", &format!("unknown-{i} = 1\n[network]"), 1);
    }
    let start = std::time::Instant::now();
    let found = load_errors(&text);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert!(found.len() > 100, "{}", found.len());
    assert!(found.iter().all(|(c, _)| c == "unknown-key"));
}

/// Syntax errors stop the file: nothing after them can be read reliably.
#[test]
fn a_syntax_error_is_reported_alone() {
    let text = edit(PROD, "count = 3", "count = = 3");
    let text = edit(&text, "image = \"nginx:1.28.0\"", "image = 128");
    assert_eq!(
        load_errors(&text),
        [("toml-syntax".to_owned(), line_of(&text, "count = = 3"))]
    );
}
