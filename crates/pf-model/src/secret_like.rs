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
/// use pf_model::secret_like::name_looks_secret;
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
/// use pf_model::secret_like::url_has_password;
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
