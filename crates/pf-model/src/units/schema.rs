//! JSON Schema for the unit newtypes: strings with a pattern, so editors
//! flag a malformed unit as it is typed. The pattern is a first filter;
//! the `FromStr` parsers stay the authority (for example on CIDR host bits).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::{ByteSize, Cidr, Cpus, DnsLabel, Duration, Ident, ImageRef, SecretName};

macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:literal, $description:literal, $example:literal) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description,
                    "examples": [$example],
                })
            }
        }
    };
}

string_schema!(
    Duration,
    "Duration",
    "^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$",
    "A duration: integers with units h, m, s, ms, largest first.",
    "1m30s"
);
string_schema!(
    ByteSize,
    "ByteSize",
    "^[0-9]+(\\.[0-9]+)?([kKmMgGtT]|KB|kB|MB|GB|TB|KiB|MiB|GiB|TiB|B)?$",
    "A byte size with a binary unit (1k = 1024 bytes).",
    "512M"
);
string_schema!(
    Cidr,
    "Cidr",
    "^[0-9a-fA-F:.]+/[0-9]{1,3}$",
    "A network in CIDR notation with no host bits set.",
    "172.26.0.0/16"
);
string_schema!(
    DnsLabel,
    "DnsLabel",
    "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
    "A lower-case DNS label.",
    "backend"
);
string_schema!(
    SecretName,
    "SecretName",
    "^[a-z][a-z0-9_]{0,63}$",
    "The name of a secret (never its value).",
    "redis_password"
);
string_schema!(
    ImageRef,
    "ImageRef",
    "^(?:(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?|@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))$",
    "A container image reference (distribution grammar) pinned by a tag other than `latest`, or by a digest.",
    "nginx:1.28.0"
);

impl JsonSchema for Cpus {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Cpus")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "CPU cores, at most three decimals.",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0, "maximum": 4096 },
                { "type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,3})?$" }
            ],
            "examples": [1.5],
        })
    }
}
string_schema!(
    Ident,
    "Ident",
    "^[a-z_][a-z0-9_]{0,62}$",
    "A lower-case SQL identifier (database or role name).",
    "promptforge"
);
