//! Content hashes for naming immutable Swarm configs and secrets, and
//! stable Sentinel ids.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    out
}

/// The first 10 hex digits: enough to tell versions of one file apart.
pub(crate) fn short(data: &[u8]) -> String {
    sha256_hex(data)[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short(b"abc"), "ba7816bf8f");
    }
}
