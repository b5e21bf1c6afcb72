//! No secret value, and no password-like literal, in any generated file:
//! credentials are only ever file paths (`/run/secrets/<name>`, `*_FILE`)
//! or read at run time from those files.

mod support;

const CREDENTIAL_WORDS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "requirepass",
    "masterauth",
];

/// True when `value` is not a literal: a path, a variable or command
/// substitution, or an empty value.
fn safe_value(value: &str, declared: &[String]) -> bool {
    let v = value
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '(' || c == ')');
    v.is_empty()
        || v.starts_with('/')
        || v.starts_with("./")
        // A folder beside the bundle (`SECRETS_DIR_DEFAULT='../<stack>-secrets'`).
        || v.starts_with("../")
        || v.contains('$')
        || v.contains('`')
        || v.contains("_FILE")
        || v.starts_with(':')
        || v == "scram-sha-256"
        // A secret's name is not its value (`SECRETS=('redis_password' ...)`).
        || declared.iter().any(|d| d == v)
        // Nor is its Docker secret's name (`SECRET_NAMES=('<stack>_redis_password_v2' ...)`).
        || declared.iter().any(|d| is_swarm_name(v, d))
}

/// `<stack>_<name>` or `<stack>_<name>_v<N>`.
fn is_swarm_name(v: &str, name: &str) -> bool {
    let unversioned = match v.rsplit_once("_v") {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => v,
    };
    unversioned
        .strip_suffix(name)
        .is_some_and(|stack| stack.ends_with('_') && stack.len() > 1)
}

/// A line that assigns a literal to a credential-like name: `NAME=value`,
/// `name: value`, or a config directive `requirepass value` /
/// `sentinel auth-pass <master> value`.
fn leaks(line: &str, declared: &[String]) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with("--") || trimmed.starts_with("//") {
        return false;
    }
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    match words.as_slice() {
        ["requirepass" | "masterauth", value, ..] => return !safe_value(value, declared),
        ["sentinel", "auth-pass", _, value, ..] => return !safe_value(value, declared),
        _ => {}
    }
    // Identifier tokens followed directly by `=` or `:`.
    let bytes = trimmed.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
        {
            i += 1;
        }
        if i > start {
            let name = trimmed[start..i].to_ascii_lowercase();
            let rest = &trimmed[i..];
            // `KEY=value` anywhere (shell, env); `key: value` only as the
            // line's own key (YAML), not inside a sentence.
            let first = trimmed[..start].trim_start_matches("- ").trim().is_empty();
            let value = rest
                .strip_prefix('=')
                .or_else(|| rest.strip_prefix(": ").filter(|_| first));
            if let Some(value) = value {
                let value = value.split_whitespace().next().unwrap_or("");
                if CREDENTIAL_WORDS.iter().any(|w| name.contains(w)) && !safe_value(value, declared)
                {
                    return true;
                }
            }
        } else {
            i += 1;
        }
    }
    false
}

#[test]
fn no_artifact_assigns_a_literal_credential() {
    let mut found = Vec::new();
    for (topology, target, bundle) in support::all_bundles() {
        let declared: Vec<String> = {
            let text = std::fs::read_to_string(support::root().join(&topology)).expect("read");
            let value: toml::Value = toml::from_str(&text).expect("toml");
            value
                .get("secrets")
                .and_then(|s| s.as_table())
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default()
        };
        // Markdown is prose about secrets, not configuration.
        for a in bundle
            .artifacts()
            .iter()
            .filter(|a| !a.path.ends_with(".md"))
        {
            for (n, line) in a.contents.lines().enumerate() {
                // Mentions of a secret's *name* are fine (`secrets: [redis_password]`).
                let names_only = declared.iter().any(|d| {
                    line.trim().trim_start_matches("- ").trim_end_matches(':') == d.as_str()
                });
                if !names_only && leaks(line, &declared) {
                    found.push(format!(
                        "{topology} ({target}) {}:{}: {line}",
                        a.path,
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "credential-like literals:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_detector_catches_literals() {
    for bad in [
        "POSTGRES_PASSWORD=hunter2",
        "      GF_SECURITY_ADMIN_PASSWORD: admin",
        "requirepass s3cret",
        "sentinel auth-pass mymaster hunter2",
        "  API_TOKEN: abc123",
    ] {
        assert!(leaks(bad, &[]), "{bad}");
    }
    for ok in [
        "      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password",
        "password_encryption = 'scram-sha-256'",
        "# POSTGRES_PASSWORD: Docker secret promptforge_postgres_password",
        "password=$(cat \"$password_file\")",
        "SECRETS=('redis_password')",
    ] {
        assert!(!leaks(ok, &["redis_password".to_owned()]), "{ok}");
    }
}
