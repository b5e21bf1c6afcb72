//! Byte sizes such as `512M`, `1.5G`, `64MB`, `64k`.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// A size in bytes. Units are binary (1024-based), as Docker, nginx and
/// PostgreSQL read them: `k`/`K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`,
/// `T`/`TB`/`TiB`, or a plain number of bytes (`B` optional). One decimal
/// fraction is allowed when it gives a whole number of bytes (`1.5G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize {
    bytes: u64,
}

const KIB: u64 = 1024;
const SUFFIXES: [(u64, &str); 4] = [
    (KIB * KIB * KIB * KIB, "T"),
    (KIB * KIB * KIB, "G"),
    (KIB * KIB, "M"),
    (KIB, "K"),
];
const HELP: &str =
    "write a number with a binary unit: `512M`, `1.5G`, `64MB`, `64k` (1k = 1024 bytes)";

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Self { bytes }
    }

    /// A size of `mib` mebibytes.
    pub const fn from_mib(mib: u64) -> Self {
        Self {
            bytes: mib * KIB * KIB,
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.bytes
    }

    fn largest_exact(self) -> (u64, &'static str) {
        for (size, suffix) in SUFFIXES {
            if self.bytes >= size && self.bytes.is_multiple_of(size) {
                return (self.bytes / size, suffix);
            }
        }
        (self.bytes, "")
    }

    /// Docker's form: `512M`, `2G`, or plain bytes.
    pub fn docker(self) -> String {
        let (n, s) = self.largest_exact();
        format!("{n}{s}")
    }

    /// PostgreSQL's form: `512MB`, `10GB`, `64kB`; plain bytes are written
    /// as `B`. PostgreSQL only knows `kB`, `MB`, `GB`, `TB`.
    pub fn postgres(self) -> String {
        match self.largest_exact() {
            (n, "K") => format!("{n}kB"),
            (n, "") => format!("{n}B"),
            (n, s) => format!("{n}{s}B"),
        }
    }

    /// nginx's form: `64k`, `1m`, `1g`, or bytes.
    pub fn nginx(self) -> String {
        match self.largest_exact() {
            (n, "T") => format!("{}g", n * KIB),
            (n, s) => format!("{n}{}", s.to_ascii_lowercase()),
        }
    }
}

impl fmt::Display for ByteSize {
    /// The canonical form, the same as [`ByteSize::docker`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.docker())
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| UnitError::new(format!("invalid byte size `{s}`: {why}"), HELP);
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        if number.is_empty() {
            return Err(bad("expected a number"));
        }
        let multiplier = match unit {
            "" | "B" => 1,
            "k" | "K" | "KB" | "kB" | "KiB" => KIB,
            "m" | "M" | "MB" | "MiB" => KIB * KIB,
            "g" | "G" | "GB" | "GiB" => KIB * KIB * KIB,
            "t" | "T" | "TB" | "TiB" => KIB * KIB * KIB * KIB,
            _ => return Err(bad("unknown unit")),
        };
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) if !w.is_empty() && !f.is_empty() && !f.contains('.') => (w, f),
            Some(_) => return Err(bad("malformed number")),
            None => (number, ""),
        };
        let too_large = || bad("too large");
        let whole: u64 = whole.parse().map_err(|_| too_large())?;
        let mut bytes = whole.checked_mul(multiplier).ok_or_else(too_large)?;
        if !frac.is_empty() {
            if frac.len() > 6 {
                return Err(bad("too many decimals"));
            }
            let scale = 10u64.pow(frac.len() as u32);
            let frac: u64 = frac.parse().map_err(|_| bad("malformed number"))?;
            let part = frac.checked_mul(multiplier).ok_or_else(too_large)?;
            if part % scale != 0 {
                return Err(bad("the fraction is not a whole number of bytes"));
            }
            bytes = bytes.checked_add(part / scale).ok_or_else(too_large)?;
        }
        Ok(Self { bytes })
    }
}

string_serde!(ByteSize, "a byte size such as `512M` or `1.5G`");

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> u64 {
        s.parse::<ByteSize>()
            .map(ByteSize::bytes)
            .unwrap_or(u64::MAX)
    }

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(b("512M"), 512 * 1024 * 1024);
        assert_eq!(b("1.5G"), 1536 * 1024 * 1024);
        assert_eq!(b("64MB"), 64 * 1024 * 1024);
        assert_eq!(b("64k"), 64 * 1024);
        assert_eq!(b("10GiB"), 10 * 1024 * 1024 * 1024);
        assert_eq!(b("100"), 100);
        assert_eq!(b("1T"), 1 << 40);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "M",
            "1.5",
            "1..5G",
            ".5G",
            "5.G",
            "12X",
            "1 G",
            "-1G",
            "0.1B",
            "99999999999T",
            "1.1234567G",
        ] {
            let err = bad.parse::<ByteSize>().expect_err(bad);
            assert!(err.message.starts_with("invalid byte size"), "{bad}");
        }
    }

    #[test]
    fn formats_for_each_consumer() {
        let s: ByteSize = "1.5G".parse().expect("valid");
        assert_eq!(s.docker(), "1536M");
        assert_eq!(s.postgres(), "1536MB");
        assert_eq!(s.nginx(), "1536m");
        let k: ByteSize = "64k".parse().expect("valid");
        assert_eq!(k.postgres(), "64kB");
        assert_eq!(k.nginx(), "64k");
        assert_eq!(ByteSize::from_bytes(100).postgres(), "100B");
        assert_eq!("2G".parse::<ByteSize>().expect("valid").to_string(), "2G");
    }
}
