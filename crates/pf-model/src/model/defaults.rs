//! Default values of optional keys, each from the HA guide or from the
//! upstream default the guide relies on. Kept in one place so the docs and
//! the schema's `default` entries come from the same functions.

use crate::units::{ByteSize, Cidr, Duration};

pub(crate) fn yes() -> bool {
    true
}
pub(crate) fn one() -> u32 {
    1
}
pub(crate) fn secs<const N: u64>() -> Duration {
    Duration::from_secs(N)
}
pub(crate) fn millis<const N: u64>() -> Duration {
    Duration::from_millis(N)
}
pub(crate) fn http_port() -> u16 {
    80
}
pub(crate) fn https_port() -> u16 {
    443
}
pub(crate) fn status_port() -> u16 {
    8080
}
pub(crate) fn postgres_port() -> u16 {
    5432
}
pub(crate) fn redis_port() -> u16 {
    6379
}
pub(crate) fn sentinel_port() -> u16 {
    26379
}
pub(crate) fn zone_size() -> ByteSize {
    ByteSize::from_bytes(64 * 1024)
}
pub(crate) fn body_size() -> ByteSize {
    ByteSize::from_mib(10)
}
pub(crate) fn loopback() -> Vec<Cidr> {
    vec!["127.0.0.1/32".parse().expect("constant CIDR")]
}
