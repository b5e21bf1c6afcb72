//! What looks like a secret: variable names and URLs. `pf-model` refuses
//! them in a topology's environment and `pf-lint` reports them in any
//! stack file, with these same predicates, so a valid topology never
//! renders a bundle the lint catalog rejects.

/// Whole words (between `_`) that name a credential.
const SECRET_WORDS: &[&str] = &["PASS", "PWD", "KEY", "APIKEY", "PASSPHRASE", "CREDENTIALS"];

/// Parts that name a credential wherever they appear in a word
/// (`PGPASSWORD`, `CLIENTSECRET`, `ACCESSTOKEN`).
const SECRET_PARTS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL"];

/// True for an environment variable name that looks like it holds a
/// secret: a `_`-separated word `PASS`, `PWD`, `KEY`, `APIKEY`,
/// `PASSPHRASE` or `CREDENTIALS`, or a word containing `PASSWORD`,
/// `PASSWD`, `SECRET`, `TOKEN` or `CREDENTIAL` (any case). A name ending
/// in `_FILE` holds a path to a secret file, not a secret.
///
/// ```
/// use pf_diag::secret_like::name_looks_secret;
/// assert!(name_looks_secret("DB_PASS"));
/// assert!(name_looks_secret("GEMINI_API_KEY"));
/// assert!(!name_looks_secret("KEYCLOAK_URL"));
/// assert!(!name_looks_secret("SECRET_KEY_FILE"));
/// ```
pub fn name_looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("_FILE") {
        return false;
    }
    upper
        .split(['_', '-', '.'])
        .any(|word| SECRET_WORDS.contains(&word) || SECRET_PARTS.iter().any(|p| word.contains(p)))
}

/// True for a URL with a password in its user information
/// (`postgresql://user:pw@db/x`): the password would be in the file, in
/// `docker inspect` and in logs.
///
/// ```
/// use pf_diag::secret_like::url_has_password;
/// assert!(url_has_password("postgresql://u:pw@db/x"));
/// assert!(!url_has_password("postgresql://u@db/x"));
/// assert!(!url_has_password("https://example.org/a:b@c"));
/// ```
pub fn url_has_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return false;
    };
    userinfo
        .split_once(':')
        .is_some_and(|(_, password)| !password.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_names() {
        for s in [
            "DB_PASSWORD",
            "DB_PASS",
            "PASS",
            "DB_PWD",
            "SECRET_KEY",
            "API_KEY",
            "GEMINI_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "GITHUB_TOKEN",
            "ACCESSTOKEN",
            "PGPASSWORD",
            "aws_secret",
            "CLIENT_SECRET",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SSH_PASSPHRASE",
            "PRIVATE_KEY",
        ] {
            assert!(name_looks_secret(s), "{s}");
        }
        for s in [
            "LOG_LEVEL",
            "WORKERS",
            "SECRET_KEY_FILE",
            "TOKEN_FILE",
            "KEYCLOAK_URL",
            "VITE_API_URL",
            "PASSPORT_STRATEGY",
            "CACHE_BYPASS",
            "MONKEY",
            "DATABASE_URL",
        ] {
            assert!(!name_looks_secret(s), "{s}");
        }
    }

    #[test]
    fn urls_with_passwords() {
        for s in [
            "postgresql://u:pw@db/x",
            "redis://:pw@redis:6379/0",
            "https://u:p@h:443/path?q=1",
            "amqp://u:p%40ss@h",
        ] {
            assert!(url_has_password(s), "{s}");
        }
        for s in [
            "postgresql://u@db/x",
            "postgresql://u:@db/x",
            "https://example.org/a:b@c",
            "https://h/?u=a:b@c",
            "not a url u:p@h",
            "",
        ] {
            assert!(!url_has_password(s), "{s}");
        }
    }
}

/// `line` with the values of secret-like keys, and the passwords of URLs,
/// replaced by `*`, one per character, so columns stay where they were.
/// Understands `KEY = "value"` and `KEY = 'value'` (TOML), `KEY: value`
/// (YAML) and `KEY=value` (YAML lists, env files), bare or quoted.
/// Diagnostics show source lines with it: a line that assigns a secret is
/// the line a secret-in-environment diagnostic points at.
///
/// ```
/// use pf_diag::secret_like::mask_line;
/// assert_eq!(mask_line(r#"DB_PASSWORD = "hunter2""#), r#"DB_PASSWORD = "*******""#);
/// assert_eq!(mask_line(r#"URL = "postgres://u:pw@db/x""#), r#"URL = "postgres://u:**@db/x""#);
/// ```
pub fn mask_line(line: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let is_key = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut i = 0;
    while i < chars.len() {
        // A key: bare, or in double quotes.
        let (key, after): (String, usize) = if chars[i] == '"' {
            match chars[i + 1..].iter().position(|&c| c == '"') {
                Some(n) => (chars[i + 1..i + 1 + n].iter().collect(), i + n + 2),
                None => break,
            }
        } else if is_key(chars[i]) && (i == 0 || !is_key(chars[i - 1])) {
            let n = chars[i..].iter().take_while(|&&c| is_key(c)).count();
            (chars[i..i + n].iter().collect(), i + n)
        } else {
            i += 1;
            continue;
        };
        let mut j = after;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let assigns = j < chars.len() && (chars[j] == '=' || chars[j] == ':');
        let yaml = assigns && chars[j] == ':';
        if !assigns {
            i = after.max(i + 1);
            continue;
        }
        j += 1;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let end = value_end(&chars, j, yaml);
        // An array or table holds names (`secrets = ["api_key"]`), and
        // its own pairs are visited one by one.
        if matches!(chars.get(j), Some('[' | '{')) {
            i = j.max(i + 1);
            continue;
        }
        // `password-secret = "redis_password"` names a secret, it is not one.
        if !name_looks_secret(&key) || key.ends_with("-secret") {
            // Past the value: a quoted value is not a key.
            i = if matches!(chars.get(j), Some('"' | '\'')) {
                end
            } else {
                j
            }
            .max(i + 1);
            continue;
        }
        let (from, to) = match chars.get(j) {
            Some('"' | '\'') => (j + 1, end.saturating_sub(1).max(j + 1)),
            _ => (j, end),
        };
        for c in chars.iter_mut().take(to).skip(from) {
            *c = '*';
        }
        i = end.max(i + 1);
    }
    mask_url_passwords(&mut chars);
    chars.into_iter().collect()
}

/// Where a value starting at `j` ends: after its closing quote; for a
/// bare YAML value at the end of the line or its comment; otherwise at
/// the first space, comma, brace, bracket or comment.
fn value_end(chars: &[char], j: usize, yaml: bool) -> usize {
    match chars.get(j) {
        Some(&q @ ('"' | '\'')) => {
            let mut k = j + 1;
            while k < chars.len() && chars[k] != q {
                if q == '"' && chars[k] == '\\' {
                    k += 1;
                }
                k += 1;
            }
            (k + 1).min(chars.len())
        }
        _ if yaml => {
            let rest = &chars[j.min(chars.len())..];
            let comment = (1..rest.len()).find(|&k| rest[k] == '#' && rest[k - 1] == ' ');
            let mut end = j + comment.unwrap_or(rest.len());
            while end > j && chars[end - 1] == ' ' {
                end -= 1;
            }
            end
        }
        _ => {
            j + chars[j.min(chars.len())..]
                .iter()
                .take_while(|c| !matches!(c, ' ' | ',' | '}' | ']' | '#'))
                .count()
        }
    }
}

/// `scheme://user:password@host`: the password becomes `*`s.
fn mask_url_passwords(chars: &mut [char]) {
    let text: String = chars.iter().collect();
    let mut search = 0;
    while let Some(at) = text[search..].find("://") {
        let start = search + at + 3;
        let rest = &text[start..];
        let authority_len = rest
            .find(['/', '?', '#', '"', '\'', ' ', ',', '}'])
            .unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(userinfo_len) = authority.rfind('@')
            && let Some(colon) = authority[..userinfo_len].find(':')
        {
            // Byte offsets to char offsets.
            let from = text[..start + colon + 1].chars().count();
            let to = text[..start + userinfo_len].chars().count();
            for c in &mut chars[from..to] {
                *c = '*';
            }
        }
        search = start;
    }
}

#[cfg(test)]
mod mask_tests {
    use super::mask_line;

    #[test]
    fn masks_secret_values_and_keeps_columns() {
        for (line, masked) in [
            (r#"DB_PASSWORD = "hunter2""#, r#"DB_PASSWORD = "*******""#),
            (
                r#"environment = { LOG = "x", API_KEY = "abc", B = 1 }"#,
                r#"environment = { LOG = "x", API_KEY = "***", B = 1 }"#,
            ),
            (r#""DB_PASS" = 'lit'"#, r#""DB_PASS" = '***'"#),
            ("      DB_PASSWORD: hunter2", "      DB_PASSWORD: *******"),
            ("      - DB_PASSWORD=hunter2", "      - DB_PASSWORD=*******"),
            (
                r#"X = "postgresql://u:pw@db/x""#,
                r#"X = "postgresql://u:**@db/x""#,
            ),
            (
                r#"T = "esc \" q", TOKEN = "a\"b""#,
                r#"T = "esc \" q", TOKEN = "****""#,
            ),
            (
                r#"DB_PASSWORD_FILE = "/run/secrets/p""#,
                r#"DB_PASSWORD_FILE = "/run/secrets/p""#,
            ),
            ("quorum = 4", "quorum = 4"),
            (r#"GRÜSSE_TOKEN = "ü1""#, r#"GRÜSSE_TOKEN = "**""#),
            ("SECRET =", "SECRET ="),
            (
                r#"password-secret = "redis_password""#,
                r#"password-secret = "redis_password""#,
            ),
            (
                r#"secrets = ["secret_key", "api_key"]"#,
                r#"secrets = ["secret_key", "api_key"]"#,
            ),
            (
                "      API_TOKEN: ${API_TOKEN} # c",
                "      API_TOKEN: ************ # c",
            ),
        ] {
            let got = mask_line(line);
            assert_eq!(got, masked, "{line}");
            assert_eq!(got.chars().count(), line.chars().count());
        }
    }
}
