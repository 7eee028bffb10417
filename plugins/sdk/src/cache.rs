//! The connector instance's private cache in the host (app tokens, JWKS,
//! discovery documents). Entries may vanish at any time: treat it as a hint.

use serde::{Serialize, de::DeserializeOwned};

/// The raw bytes stored under `key`, if present and not expired.
pub fn get(key: &str) -> Option<Vec<u8>> {
    crate::host::cache_get(key)
}

/// Stores `value` under `key` for `ttl_seconds` (0 removes it).
pub fn set(key: &str, value: &[u8], ttl_seconds: u32) {
    crate::host::cache_set(key, value, ttl_seconds);
}

/// Removes `key`.
pub fn remove(key: &str) {
    crate::host::cache_set(key, &[], 0);
}

/// The JSON value stored under `key`; `None` when absent or unreadable.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    get(key).and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// Stores `value` as JSON under `key` for `ttl_seconds`.
pub fn set_json<T: Serialize>(key: &str, value: &T, ttl_seconds: u32) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        set(key, &bytes, ttl_seconds);
    }
}
