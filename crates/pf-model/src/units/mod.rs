//! Unit newtypes with strict parsing.
//!
//! Every value a person writes with a unit (`5s`, `512M`, `1.5`, `172.26.0.0/16`)
//! is parsed into a newtype here, so the rest of the program never handles
//! unit strings. Parsing is strict on purpose: a typo in a unit must fail at
//! `check` time, not when a daemon reads the rendered file.

mod bytes;
mod cidr;
mod cpus;
mod duration;
mod image;
mod name;
mod schema;

pub use bytes::ByteSize;
pub use cidr::Cidr;
pub use cpus::Cpus;
pub use duration::Duration;
pub use image::{ImageRef, Version};
pub use name::{DnsLabel, Ident, SecretName};
/// Free-text rules shared with the renderers of diagnostics.
pub use pf_diag::{first_unsafe_in_line, is_bidi_control};

/// Why a unit value was rejected: the message says what is wrong and the
/// help says what a valid value looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnitError {
    /// What is wrong with the value, lower-case, without the value's key.
    pub message: String,
    /// What a valid value looks like.
    pub help: String,
}

impl UnitError {
    pub(crate) fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// Implements `FromStr`-based serde for a unit: deserialize from a string,
/// serialize with `Display`. Errors carry the unit's help text so the TOML
/// loader can show it next to the offending key.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse::<$ty>()
                            .map_err(|e| E::custom(crate::units::unit_error_text(&e)))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use string_serde;

/// Joins message and help with a marker the loader splits on again, so a
/// unit's help survives the trip through serde's string-only errors.
pub(crate) fn unit_error_text(e: &UnitError) -> String {
    format!("{}{}{}", e.message, HELP_MARKER, e.help)
}

/// Separator between message and help inside a serde custom error.
pub(crate) const HELP_MARKER: &str = "\u{1f}help: ";
