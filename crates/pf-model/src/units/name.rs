//! Names: DNS labels for services, and Docker secret names.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// A lower-case DNS label (RFC 1123): `a-z`, `0-9` and `-`, 1 to 63
/// characters, starting with a letter and not ending with `-`. Service,
/// stack and network names become host names, so they must be labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsLabel(String);

impl DnsLabel {
    /// The label as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DnsLabel {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let help = "use 1-63 lower-case letters, digits and `-`, starting with a letter: `backend`, `api-v2`";
        let bad = |why: &str| UnitError::new(format!("invalid name `{s}`: {why}"), help);
        if s.is_empty() || s.len() > 63 {
            return Err(bad("it must be 1 to 63 characters long"));
        }
        if !s
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return Err(bad("only lower-case letters, digits and `-` are allowed"));
        }
        if !s.as_bytes()[0].is_ascii_lowercase() {
            return Err(bad("it must start with a letter"));
        }
        if s.ends_with('-') {
            return Err(bad("it must not end with `-`"));
        }
        Ok(Self(s.to_owned()))
    }
}

string_serde!(DnsLabel, "a lower-case DNS label such as `backend`");

/// The name of a secret: lower-case letters, digits and `_`, starting with
/// a letter, at most 64 characters. It names a Docker secret, the file
/// `/run/secrets/<name>` and the `<NAME>_FILE` variable that points at it.
/// A secret's value never appears in a topology.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The upper-case environment variable stem: `postgres_password` -> `POSTGRES_PASSWORD`.
    pub fn env_stem(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SecretName {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let help =
            "use 1-64 lower-case letters, digits and `_`, starting with a letter: `redis_password`";
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(UnitError::new(format!("invalid secret name `{s}`"), help))
        }
    }
}

string_serde!(SecretName, "a secret name such as `redis_password`");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for good in ["backend", "api-v2", "a", "x1"] {
            assert!(good.parse::<DnsLabel>().is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Backend",
            "1api",
            "api-",
            "api_v2",
            "api.v2",
            long.as_str(),
        ] {
            assert!(bad.parse::<DnsLabel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_names() {
        let s: SecretName = "postgres_password".parse().expect("valid");
        assert_eq!(s.env_stem(), "POSTGRES_PASSWORD");
        for bad in ["", "Pass", "_x", "a-b", "a b"] {
            assert!(bad.parse::<SecretName>().is_err(), "{bad}");
        }
    }
}

/// A lower-case PostgreSQL identifier for database and role names:
/// `a-z`, `0-9`, `_`, starting with a letter or `_`, at most 63 bytes
/// (PostgreSQL truncates longer names silently). Kept unquoted-safe so the
/// generated SQL and connection URLs never need quoting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident(String);

impl Ident {
    /// The identifier as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Ident {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && (s.as_bytes()[0].is_ascii_lowercase() || s.as_bytes()[0] == b'_')
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(UnitError::new(
                format!("invalid identifier `{s}`"),
                "use 1-63 lower-case letters, digits and `_`, starting with a letter: `promptforge_prod`",
            ))
        }
    }
}

string_serde!(Ident, "a lower-case SQL identifier such as `promptforge`");
