//! Random tokens (sessions, CSRF, setup links) and their stored hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Fills `buf` from the operating system's CSPRNG. Failing to get randomness is not
/// recoverable for an identity server.
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// A fresh 256-bit token, URL-safe base64 (43 characters).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    fill_random(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of a token: what the database stores instead of the token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time string equality (CSRF tokens, codes).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
