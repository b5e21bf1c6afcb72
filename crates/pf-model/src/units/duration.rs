//! Durations such as `500ms`, `5s`, `1m30s`, `2h`.

use std::fmt;
use std::str::FromStr;

use super::{UnitError, string_serde};

/// A non-negative duration with millisecond precision.
///
/// Written as one or more `<integer><unit>` parts, largest unit first, with
/// units `h`, `m`, `s`, `ms` (`1m30s`, `500ms`). Fractions are rejected so
/// that every consumer (Docker, nginx, Redis, PostgreSQL) can express the
/// value exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

const HELP: &str = "write an integer with a unit, largest unit first: `500ms`, `5s`, `1m30s`, `2h`";

impl Duration {
    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            millis: secs * 1_000,
        }
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Whole seconds, rounded up, so a timeout never shrinks when a consumer
    /// only takes seconds.
    pub const fn as_secs_ceil(self) -> u64 {
        self.millis.div_ceil(1_000)
    }

    /// The value as nginx writes times: `30s`, or `500ms` when not whole seconds.
    pub fn nginx(self) -> String {
        if self.millis.is_multiple_of(1_000) {
            format!("{}s", self.millis / 1_000)
        } else {
            format!("{}ms", self.millis)
        }
    }
}

impl fmt::Display for Duration {
    /// The canonical form, also valid Go duration syntax for Docker: `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        if !self.millis.is_multiple_of(1_000) {
            return write!(f, "{}ms", self.millis);
        }
        let mut rest = self.millis;
        for (unit, size) in &UNITS[..3] {
            if rest >= *size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| UnitError::new(format!("invalid duration `{s}`: {why}"), HELP);
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        let mut last_rank = usize::MAX;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(bad("expected a number"));
            }
            let number: u64 = s[start..i].parse().map_err(|_| bad("number too large"))?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[unit_start..i];
            if i < bytes.len() && !bytes[i].is_ascii_digit() {
                // `i` is on a char boundary (only ASCII was skipped), but
                // the character there may be several bytes long.
                let c = s[i..].chars().next().unwrap_or_default();
                return Err(bad(&format!("unexpected `{c}`")));
            }
            let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err(bad(if unit.is_empty() {
                    "missing unit"
                } else {
                    "unknown unit"
                }));
            };
            if last_rank != usize::MAX && rank <= last_rank {
                return Err(bad("units must go from largest to smallest, each once"));
            }
            last_rank = rank;
            total = number
                .checked_mul(UNITS[rank].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| bad("too large"))?;
        }
        Ok(Self { millis: total })
    }
}

string_serde!(Duration, "a duration such as `500ms`, `5s` or `1m30s`");

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Duration>()
            .map(Duration::as_millis)
            .unwrap_or(u64::MAX)
    }

    #[test]
    fn parses_single_and_compound_units() {
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("5s"), 5_000);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert_eq!(ms("1h1m1s1ms"), 3_661_001);
        assert_eq!(ms("0s"), 0);
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "5",
            "s",
            "1.5s",
            "5 s",
            "5sec",
            "30s1m",
            "5s5s",
            "-5s",
            "5S",
            "99999999999999999999h",
        ] {
            let err = bad.parse::<Duration>().expect_err(bad);
            assert!(
                err.message.starts_with("invalid duration"),
                "{bad}: {}",
                err.message
            );
            assert!(err.help.contains("1m30s"));
        }
    }

    /// Found by the `load_validate` fuzz target: a multi-byte character
    /// after the unit was sliced by bytes and panicked.
    #[test]
    fn rejects_a_multibyte_character_after_the_unit() {
        for (bad, shown) in [("10s\u{fffd}", "\u{fffd}"), ("5mé", "é"), ("1h🙂2m", "🙂")] {
            let err = bad.parse::<Duration>().expect_err(bad);
            assert!(
                err.message.contains(&format!("unexpected `{shown}`")),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn displays_canonically_and_round_trips() {
        for (input, shown) in [
            ("90s", "1m30s"),
            ("1500ms", "1500ms"),
            ("60m", "1h"),
            ("0ms", "0s"),
            ("10s", "10s"),
        ] {
            let d: Duration = input.parse().expect(input);
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse::<Duration>().expect(shown), d);
        }
    }

    #[test]
    fn converts_for_consumers() {
        let d = Duration::from_millis(1_500);
        assert_eq!(d.as_secs_ceil(), 2);
        assert_eq!(d.nginx(), "1500ms");
        assert_eq!(Duration::from_secs(30).nginx(), "30s");
    }
}
