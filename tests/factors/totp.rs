//! The tests' own RFC 6238 TOTP (HMAC-SHA1, 30 s steps), independent of the server's
//! totp-rs, checked against the RFC's Appendix B vectors.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub const STEP: u64 = 30;

/// RFC 4226 HOTP: HMAC-SHA1 over the 8-byte big-endian counter, dynamic truncation,
/// `digits` decimal digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(bin) % modulus,
        width = digits as usize
    )
}

/// RFC 6238 TOTP at Unix time `t`.
pub fn totp_at(key: &[u8], t: u64, digits: u32) -> String {
    hotp(key, t / STEP, digits)
}

/// The 6-digit code of time step `step`.
pub fn code_for_step(key: &[u8], step: u64) -> String {
    hotp(key, step, 6)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

pub fn current_step() -> u64 {
    now() / STEP
}

/// The current step, once at least 2 s of it are left (so a code computed now is
/// checked by the server within the same step).
pub async fn fresh_step() -> u64 {
    if now() % STEP > STEP - 3 {
        let wait = STEP - now() % STEP;
        tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    }
    current_step()
}

/// A 6-digit code valid for none of the steps around `step` (so surely wrong).
pub fn wrong_code(key: &[u8], step: u64) -> String {
    let near: Vec<String> = (step.saturating_sub(3)..=step + 3)
        .map(|s| code_for_step(key, s))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|c| !near.contains(c))
        .expect("some code is wrong")
}

/// RFC 4648 base32 (upper or lower case, padding and spaces ignored).
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let c = c.to_ascii_uppercase() as u8;
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("{:?} is not base32 (in {s:?})", c as char))
            as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn totp_matches_the_rfc6238_sha1_vectors() {
    let key = b"12345678901234567890";
    // RFC 6238 Appendix B, SHA1 column (8 digits).
    let vectors: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];
    for (t, expected) in vectors {
        assert_eq!(totp_at(key, t, 8), expected, "T = {t}");
        // Six digits are the last six of the eight (same truncated number, smaller modulus).
        assert_eq!(totp_at(key, t, 6), expected[2..], "T = {t}, 6 digits");
    }
    // RFC 4226 Appendix D, counters 0 and 9.
    assert_eq!(hotp(key, 0, 6), "755224");
    assert_eq!(hotp(key, 9, 6), "520489");
}

#[test]
fn base32_decoder_follows_rfc4648() {
    // RFC 4648 section 10 test vectors.
    for (plain, encoded) in [
        ("", ""),
        ("f", "MY======"),
        ("fo", "MZXQ===="),
        ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI======"),
    ] {
        assert_eq!(base32_decode(encoded), plain.as_bytes(), "{encoded}");
    }
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        b"12345678901234567890"
    );
    assert_eq!(base32_decode("mzxw6ytboi"), b"foobar");
}
