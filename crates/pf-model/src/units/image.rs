//! Container image references with a pinned tag.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// A container image reference `[registry[:port]/]repository:tag[@digest]`.
/// The tag is required and `latest` is rejected: a deployment must say
/// which version it runs, or two nodes may run different ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    repository: String,
    tag: String,
    digest: Option<String>,
}

/// A numeric version read from the start of an image tag (`1.28.0-alpine`
/// gives 1.28.0; missing parts are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl Version {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl ImageRef {
    /// The repository part, including any registry: `localhost:5000/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag: `1.28.0-alpine`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The version at the start of the tag, when the tag starts with digits
    /// (`v1.2` is read too).
    pub fn version(&self) -> Option<Version> {
        let tag = self.tag.strip_prefix('v').unwrap_or(&self.tag);
        let numeric: String = tag
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let help = "pin a version tag: `nginx:1.28.0`, `postgres:16.6`, `registry:5000/app:1.4.2`";
        let bad = |why: &str| UnitError::new(format!("invalid image `{s}`: {why}"), help);
        let (name, digest) = match s.split_once('@') {
            Some((n, d))
                if d.starts_with("sha256:")
                    && d.len() == 71
                    && d[7..].bytes().all(|c| c.is_ascii_hexdigit()) =>
            {
                (n, Some(d.to_owned()))
            }
            Some(_) => return Err(bad("malformed digest")),
            None => (s, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let Some(colon) = name[last_slash..].rfind(':').map(|i| i + last_slash) else {
            return Err(bad("the tag is missing"));
        };
        let (repository, tag) = (&name[..colon], &name[colon + 1..]);
        let repo_ok = !repository.is_empty()
            && repository
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-/:".contains(&c))
            && !repository.starts_with(['/', '.', '-', ':'])
            && !repository.ends_with(['/', '.', '-', ':']);
        if !repo_ok {
            return Err(bad("the repository name is malformed"));
        }
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
            && !tag.starts_with(['.', '-']);
        if !tag_ok {
            return Err(bad("the tag is malformed"));
        }
        if tag == "latest" {
            return Err(bad("`latest` is not a pinned version"));
        }
        Ok(Self {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest,
        })
    }
}

string_serde!(
    ImageRef,
    "an image reference with a pinned tag such as `nginx:1.28.0`"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_ports_and_versions() {
        let i: ImageRef = "localhost:5000/promptforge-backend:1.2.3"
            .parse()
            .expect("valid");
        assert_eq!(i.repository(), "localhost:5000/promptforge-backend");
        assert_eq!(i.tag(), "1.2.3");
        assert_eq!(i.version(), Some(Version::new(1, 2, 3)));
        let n: ImageRef = "nginx:1.28.0-alpine".parse().expect("valid");
        assert_eq!(n.version(), Some(Version::new(1, 28, 0)));
        let r: ImageRef = "redis:7.4".parse().expect("valid");
        assert_eq!(r.version(), Some(Version::new(7, 4, 0)));
        let p: ImageRef = "prom/prometheus:v2.55.1".parse().expect("valid");
        assert_eq!(p.version(), Some(Version::new(2, 55, 1)));
        assert_eq!(
            "nginx:stable".parse::<ImageRef>().expect("valid").version(),
            None
        );
    }

    #[test]
    fn rejects_unpinned_and_malformed() {
        for bad in [
            "nginx",
            "nginx:latest",
            "localhost:5000/app",
            "Nginx:1",
            "nginx:",
            ":1",
            "nginx:1@sha256:abc",
            "nginx:-x",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
        let e = "nginx:latest".parse::<ImageRef>().expect_err("latest");
        assert!(e.message.contains("latest"));
    }

    #[test]
    fn keeps_digests() {
        let d = format!("nginx:1.28.0@sha256:{}", "a".repeat(64));
        let i: ImageRef = d.parse().expect("valid");
        assert_eq!(i.to_string(), d);
    }
}
