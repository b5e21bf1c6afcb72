//! CIDR blocks such as `172.26.0.0/16`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// An IPv4 or IPv6 network in CIDR notation, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

const HELP: &str =
    "write a network address and prefix length: `172.26.0.0/16`, `127.0.0.1/32`, `::1/128`";

impl Cidr {
    /// The network address.
    pub const fn addr(self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub const fn prefix(self) -> u8 {
        self.prefix
    }

    fn bits(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    fn mask(width: u8, prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            let all = if width == 32 {
                u128::from(u32::MAX)
            } else {
                u128::MAX
            };
            (all >> (width - prefix)) << (width - prefix) & all
        }
    }

    /// True when `addr` lies inside this network.
    pub fn contains_addr(self, addr: IpAddr) -> bool {
        let (net, width) = Self::bits(self.addr);
        let (other, other_width) = Self::bits(addr);
        width == other_width && (other & Self::mask(width, self.prefix)) == net
    }

    /// True when every address of `other` lies inside this network.
    pub fn contains(self, other: Cidr) -> bool {
        self.prefix <= other.prefix && self.contains_addr(other.addr)
    }

    /// True when this is the whole address space (`0.0.0.0/0` or `::/0`).
    pub fn is_everything(self) -> bool {
        self.prefix == 0
    }

    /// The two halves of this network (one bit longer prefix): the low one
    /// first. `None` for a single address.
    pub fn halves(self) -> Option<(Cidr, Cidr)> {
        let (value, width) = Self::bits(self.addr);
        if self.prefix >= width {
            return None;
        }
        let prefix = self.prefix + 1;
        let high = value | 1u128 << (width - prefix);
        let addr = |v: u128| match self.addr {
            IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(v as u32)),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(v)),
        };
        Some((
            Self {
                addr: self.addr,
                prefix,
            },
            Self {
                addr: addr(high),
                prefix,
            },
        ))
    }

    /// Number of addresses in an IPv4 network; `None` for IPv6.
    pub fn ipv4_size(self) -> Option<u64> {
        match self.addr {
            IpAddr::V4(_) => Some(1u64 << (32 - u32::from(self.prefix))),
            IpAddr::V6(_) => None,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| UnitError::new(format!("invalid CIDR `{s}`: {why}"), HELP);
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| bad("missing `/prefix`".into()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad(format!("`{addr}` is not an IP address")))?;
        let (value, width) = Self::bits(addr);
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= width)
            .ok_or_else(|| bad(format!("prefix must be a number from 0 to {width}")))?;
        if value
            & !Self::mask(width, prefix)
            & if width == 32 {
                u128::from(u32::MAX)
            } else {
                u128::MAX
            }
            != 0
        {
            let network = value & Self::mask(width, prefix);
            let shown = match addr {
                IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(network as u32)),
                IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(network)),
            };
            return Err(UnitError::new(
                format!("invalid CIDR `{s}`: host bits are set"),
                format!("did you mean `{shown}/{prefix}`?"),
            ));
        }
        Ok(Self { addr, prefix })
    }
}

string_serde!(Cidr, "a CIDR block such as `172.26.0.0/16`");

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().expect(s)
    }

    #[test]
    fn parses_v4_and_v6() {
        assert_eq!(c("172.26.0.0/16").prefix(), 16);
        assert_eq!(c("::1/128").to_string(), "::1/128");
        assert_eq!(c("172.26.0.0/16").ipv4_size(), Some(65_536));
        assert!(c("0.0.0.0/0").is_everything());
    }

    #[test]
    fn rejects_bad_blocks_and_suggests_the_network() {
        let err = "172.26.1.0/16".parse::<Cidr>().expect_err("host bits");
        assert!(err.help.contains("172.26.0.0/16"), "{}", err.help);
        for bad in [
            "172.26.0.0",
            "172.26.0.0/33",
            "300.1.1.1/8",
            "x/8",
            "::1/129",
            "10.0.0.0/-1",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn halves() {
        let h = |s: &str| c(s).halves().map(|(a, b)| (a.to_string(), b.to_string()));
        assert_eq!(
            h("172.26.0.0/16"),
            Some(("172.26.0.0/17".into(), "172.26.128.0/17".into()))
        );
        assert_eq!(
            h("172.28.0.0/24"),
            Some(("172.28.0.0/25".into(), "172.28.0.128/25".into()))
        );
        assert_eq!(
            h("fd00::/64").map(|h| h.1),
            Some("fd00::8000:0:0:0/65".into())
        );
        assert_eq!(
            h("0.0.0.0/0"),
            Some(("0.0.0.0/1".into(), "128.0.0.0/1".into()))
        );
        assert_eq!(h("10.0.0.1/32"), None);
        assert_eq!(h("::1/128"), None);
    }

    #[test]
    fn containment() {
        let net = c("172.26.0.0/16");
        assert!(net.contains(c("172.26.3.0/24")));
        assert!(!net.contains(c("172.0.0.0/8")));
        assert!(!net.contains(c("10.0.0.0/24")));
        assert!(c("0.0.0.0/0").contains(net));
        assert!(!net.contains(c("::1/128")));
        assert!(net.contains_addr("172.26.9.9".parse().expect("ip")));
    }
}
