//! Container image references, parsed by the grammar of the Docker
//! distribution project (github.com/distribution/reference, `reference.go`
//! and `regexp.go`), and pinned: a tag other than `latest`, or a digest.
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] path-component ['/' path-component]*
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6 ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" hex   (sha256: 64, sha384: 96, sha512: 128
//!                                          lower-case hex digits, as go-digest checks)
//! ```
//!
//! The name is at most 255 characters. Registry host names may have upper
//! case (`Registry.Example.com/app`); repository paths may not.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// Longest name (domain and path) the distribution grammar accepts.
const NAME_MAX: usize = 255;

/// A container image reference `[registry[:port]/]path[:tag][@digest]`,
/// pinned by a tag other than `latest` or by a digest: a deployment must
/// say which version it runs, or two nodes may run different ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    repository: String,
    tag: Option<String>,
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
    /// The name, including any registry: `localhost:5000/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag (`1.28.0-alpine`); `None` for a reference pinned by digest alone.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:…`), when the reference has one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The version at the start of the tag, when the tag starts with digits
    /// (`v1.2` is read too). `None` without a tag (digest only).
    pub fn version(&self) -> Option<Version> {
        let tag = self.tag.as_deref()?;
        let tag = tag.strip_prefix('v').unwrap_or(tag);
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
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let help = "pin a version tag or a digest: `nginx:1.28.0`, `registry.example.com:5000/team/app:1.4.2`, `nginx@sha256:<64 hex digits>`";
        let bad = |why: &str| UnitError::new(format!("invalid image `{s}`: {why}"), help);
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) if valid_digest(d) => (rest, Some(d)),
            Some(_) => {
                return Err(bad(
                    "the digest is malformed (sha256, sha384 or sha512 and its lower-case hex digits)",
                ));
            }
            None => (s, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it
        // belongs to a registry port).
        let after_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[after_slash..].rfind(':') {
            Some(i) => (&rest[..after_slash + i], Some(&rest[after_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(bad(
                "the tag is malformed (1-128 letters, digits, `_`, `.`, `-`, not starting with `.` or `-`)",
            ));
        }
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(bad("the name must be 1 to 255 characters long"));
        }
        if !valid_name(name) {
            return Err(bad(
                "the name is malformed (lower-case path components such as `team/app`, separated by `/`, each joined only by `.`, `_`, `__` or dashes; an optional registry host and port first)",
            ));
        }
        match (tag, digest) {
            (None, None) => return Err(bad("the tag is missing")),
            (Some("latest"), None) => return Err(bad("`latest` is not a pinned version")),
            _ => {}
        }
        Ok(Self {
            repository: name.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }
}

/// `[domain '/'] path-component ['/' path-component]*`. A first component
/// that is both (`prom/prometheus`) reads either way; what matters here is
/// that one reading matches.
fn valid_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let rest_ok = rest.iter().all(|p| path_component(p));
    rest_ok && (path_component(first) || (!rest.is_empty() && domain(first)))
}

/// `alpha-numeric [separator alpha-numeric]*` with `[a-z0-9]+` and
/// separators `.`, `_`, `__` or one or more `-`.
fn path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        // alpha-numeric run
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // separator
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `host [':' port-number]`, host a domain name or a bracketed IPv6 address.
fn domain(s: &str) -> bool {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => ("", after.strip_prefix(':')),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = match port {
        None => true,
        Some(p) => !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()),
    };
    let host_ok = s.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|c| {
                let b = c.as_bytes();
                !b.is_empty()
                    && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            }));
    port_ok && host_ok
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// A digest Docker can verify: a known algorithm and its lower-case hex.
fn valid_digest(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

string_serde!(
    ImageRef,
    "an image reference with a pinned tag or a digest, such as `nginx:1.28.0`"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn sha() -> String {
        format!("sha256:{}", "a".repeat(64))
    }

    #[test]
    fn parses_registry_ports_and_versions() {
        let i: ImageRef = "localhost:5000/promptforge-backend:1.2.3"
            .parse()
            .expect("valid");
        assert_eq!(i.repository(), "localhost:5000/promptforge-backend");
        assert_eq!(i.tag(), Some("1.2.3"));
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

    /// Cases from distribution/reference's `reference_test.go` and
    /// `regexp_test.go`, with the ones a deployment refuses (no tag, or
    /// `latest`) given a tag.
    #[test]
    fn accepts_the_distribution_grammar() {
        let digest = sha();
        for good in [
            "test_com:tag",
            "test.com:5000/repo:tag",
            "test:5000/repo:tag",
            "lowercase:Uppercase",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "xn--n3h.com/myimage:xn--n3h.com",
            "foo_bar.com:1.0",
            "foo/foo_bar.com:8080",
            "192.168.1.1:5000/a:1",
            "[2001:db8::1]:5000/repo:1",
            "[2001:db8::1]/repo:1",
            "Registry.Example.com/app:1.0",
            "REGISTRY.EXAMPLE.COM:443/team/app:1",
            "a__b/c:1",
            "a--b---c/d:1",
            "registry/ubuntu:14.04",
            "docker.io/library/nginx:1.28.0",
            "a:_tag",
        ] {
            assert!(good.parse::<ImageRef>().is_ok(), "{good}");
        }
        let pinned = format!("nginx@{digest}");
        let i: ImageRef = pinned.parse().expect("digest only");
        assert_eq!((i.tag(), i.digest()), (None, Some(digest.as_str())));
        assert_eq!(i.to_string(), pinned);
        assert_eq!(i.version(), None);
        let both = format!("localhost:5000/app:1.2@{digest}");
        let i: ImageRef = both.parse().expect("tag and digest");
        assert_eq!(i.repository(), "localhost:5000/app");
        assert_eq!(i.tag(), Some("1.2"));
        assert_eq!(i.to_string(), both);
        // A digest pins even a moving tag.
        assert!(format!("nginx:latest@{digest}").parse::<ImageRef>().is_ok());
        for algo in [("sha384", 96), ("sha512", 128)] {
            let d = format!("nginx@{}:{}", algo.0, "0".repeat(algo.1));
            assert!(d.parse::<ImageRef>().is_ok(), "{d}");
        }
        let long = format!("{}/{}:1", "a".repeat(127), "b".repeat(127));
        assert!(long.parse::<ImageRef>().is_ok());
    }

    #[test]
    fn rejects_unpinned_and_malformed() {
        let too_long = format!("{}/{}:1", "a".repeat(128), "b".repeat(127));
        let tag_129 = format!("a:{}", "t".repeat(129));
        for bad in [
            "nginx",
            "nginx:latest",
            "localhost:5000/app",
            "Nginx:1",
            "nginx:",
            ":1",
            "nginx:1@sha256:abc",
            "nginx:-x",
            "nginx:.x",
            "a//b:1.0",
            "ng..inx:1.0",
            "a:b:c:1.0",
            "localhost:5000/a/../../etc:1.0.0",
            "a/./b:1",
            "/a:1",
            "a/:1",
            "-a:1",
            "a-:1",
            "a_:1",
            "a___b:1",
            "a._b:1",
            "aa/asdf$$^/aa:1",
            "foo/Bar:1",
            "registry.example.com/App:1",
            "-registry.com/a:1",
            "registry-.com/a:1",
            "registry.com:port/a:1",
            "registry.com:/a:1",
            "[zz::1]/a:1",
            "[::1/a:1",
            "a b:1",
            "a:1 2",
            "a\n:1",
            "a:1\n",
            "nginx@sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            "nginx@md5:0123456789abcdef0123456789abcdef",
            "nginx@sha256:",
            "nginx@",
            "@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            too_long.as_str(),
            tag_129.as_str(),
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad:?}");
        }
        let e = "nginx:latest".parse::<ImageRef>().expect_err("latest");
        assert!(e.message.contains("latest"));
    }

    #[test]
    fn keeps_digests() {
        let d = format!("nginx:1.28.0@{}", sha());
        let i: ImageRef = d.parse().expect("valid");
        assert_eq!(i.to_string(), d);
    }
}
