//! CPU amounts such as `0.5`, `1.5`, `2`.

use std::fmt;
use std::str::FromStr;

use super::{HELP_MARKER, UnitError};

/// An amount of CPU, in thousandths of a core (`0.5` = 500).
///
/// Written as a TOML number (`1.5`) or a string (`"1.5"`). Rendered as a
/// quoted string in stack files, because the v3 schema rejects numbers there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cpus {
    millis: u64,
}

const HELP: &str =
    "write a positive number of cores with at most three decimals: `0.5`, `1.5`, `2`";

impl Cpus {
    /// `millis` thousandths of a core.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// Thousandths of a core.
    pub const fn millis(self) -> u64 {
        self.millis
    }

    fn from_f64(v: f64) -> Result<Self, UnitError> {
        let bad = |why: &str| UnitError::new(format!("invalid CPU amount `{v}`: {why}"), HELP);
        if !v.is_finite() || v <= 0.0 {
            return Err(bad("it must be greater than zero"));
        }
        if v > 4096.0 {
            return Err(bad("more than 4096 cores"));
        }
        let millis = (v * 1000.0).round();
        if (millis / 1000.0 - v).abs() > 1e-9 {
            return Err(bad("more than three decimals"));
        }
        Ok(Self {
            millis: millis as u64,
        })
    }
}

impl fmt::Display for Cpus {
    /// The shortest exact decimal: `0.5`, `1.5`, `2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.millis / 1000;
        let frac = self.millis % 1000;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl FromStr for Cpus {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let well_formed = !s.is_empty()
            && s.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            && s.matches('.').count() <= 1
            && !s.starts_with('.')
            && !s.ends_with('.');
        if !well_formed {
            return Err(UnitError::new(
                format!("invalid CPU amount `{s}`: not a decimal number"),
                HELP,
            ));
        }
        let v: f64 = s
            .parse()
            .map_err(|_| UnitError::new(format!("invalid CPU amount `{s}`"), HELP))?;
        Self::from_f64(v)
    }
}

impl serde::Serialize for Cpus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cpus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn fail<E: serde::de::Error>(e: UnitError) -> E {
            E::custom(format!("{}{HELP_MARKER}{}", e.message, e.help))
        }
        impl serde::de::Visitor<'_> for V {
            type Value = Cpus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of CPU cores such as 0.5 or \"1.5\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cpus, E> {
                v.parse().map_err(fail)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Cpus, E> {
                Cpus::from_f64(v).map_err(fail)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Cpus, E> {
                Cpus::from_f64(v as f64).map_err(fail)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cpus, E> {
                Cpus::from_f64(v as f64).map_err(fail)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_displays_shortest() {
        for (input, millis, shown) in [
            ("0.5", 500, "0.5"),
            ("1.5", 1500, "1.5"),
            ("2", 2000, "2"),
            ("0.125", 125, "0.125"),
            ("1.50", 1500, "1.5"),
        ] {
            let c: Cpus = input.parse().expect(input);
            assert_eq!(c.millis(), millis);
            assert_eq!(c.to_string(), shown);
        }
    }

    #[test]
    fn rejects_bad_amounts() {
        for bad in [
            "", "0", "-1", "1.2345", "abc", "1.", ".5", "1e3", "5000", "1,5",
        ] {
            let err = bad.parse::<Cpus>().expect_err(bad);
            assert!(err.message.starts_with("invalid CPU amount"), "{bad}");
        }
    }

    #[test]
    fn deserializes_numbers_from_toml() {
        #[derive(serde::Deserialize)]
        struct T {
            a: Cpus,
            b: Cpus,
            c: Cpus,
        }
        let t: T = toml::from_str("a = 1.5\nb = 2\nc = \"0.25\"").expect("valid");
        assert_eq!(
            (t.a.millis(), t.b.millis(), t.c.millis()),
            (1500, 2000, 250)
        );
        assert!(toml::from_str::<T>("a = 0\nb = 1\nc = 1").is_err());
    }
}
