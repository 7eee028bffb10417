//! An app token (a token the connector holds for itself, such as DingTalk's
//! or WeCom's `access_token`) kept in the host [`cache`], with one refresh
//! and one retry when the provider says the token is stale.
//!
//! Only the vendor-neutral part lives here. The connector still decides the
//! token endpoint and request, which answers mean "stale" (it returns
//! [`Failure::StaleToken`] for those), the error messages, what a refused
//! token request means, and the cache key.
//!
//! ```ignore
//! use latchkey_connector_sdk::app_token::{AppToken, CallResult, Failure, FreshToken};
//!
//! fn fetch(settings: &Settings) -> sdk::Result<FreshToken> {
//!     // POST the app credentials, read the token and its lifetime.
//!     Ok(FreshToken { token, expires_in_secs })
//! }
//!
//! let key = format!("app-token:{}", settings.required("client_id")?);
//! let user = AppToken::new(key).with_token(
//!     || fetch(settings),
//!     |token| {
//!         // Call the API with `token`; map "token invalid/expired" answers to
//!         // `Failure::StaleToken(…)`, anything else to `Failure::Fatal(…)`
//!         // (a plain `ConnectorError` converts to `Fatal` with `?`).
//!     },
//! )?;
//! ```

use crate::{ConnectorError, Result, cache, log};

/// Refresh a token this long before the provider says it expires.
pub const MARGIN_SECS: u64 = 300;
/// Never cache a token for less than this (unless the provider says it lives less).
pub const MIN_TTL_SECS: u64 = 60;
/// Never cache a token for longer than this, whatever the provider says.
pub const MAX_TTL_SECS: u64 = 24 * 3600;
/// A token longer than this is not cached unless [`AppToken::max_len`] says otherwise.
pub const DEFAULT_MAX_LEN: usize = 2048;

/// Why a call made with an app token failed: the provider refused the token
/// as invalid or expired (worth one refresh and one retry), or anything else
/// (final).
#[derive(Debug)]
pub enum Failure {
    /// The provider said the token is invalid or expired.
    StaleToken(ConnectorError),
    /// Any other failure; never retried.
    Fatal(ConnectorError),
}

/// A plain error is final.
impl From<ConnectorError> for Failure {
    fn from(e: ConnectorError) -> Self {
        Failure::Fatal(e)
    }
}

impl Failure {
    /// The error inside, stale or not.
    pub fn into_error(self) -> ConnectorError {
        match self {
            Failure::StaleToken(e) | Failure::Fatal(e) => e,
        }
    }
}

/// The result of a call made with an app token.
pub type CallResult<T> = std::result::Result<T, Failure>;

/// How long to cache a token the provider says lives `expires_in_secs`
/// seconds: that minus [`MARGIN_SECS`], at least [`MIN_TTL_SECS`], never
/// longer than the provider said, at most [`MAX_TTL_SECS`]. 0 (do not cache)
/// when the provider gave no lifetime.
pub fn ttl_for(expires_in_secs: u64) -> u32 {
    let ttl = expires_in_secs
        .saturating_sub(MARGIN_SECS)
        .max(MIN_TTL_SECS)
        .min(expires_in_secs)
        .min(MAX_TTL_SECS);
    u32::try_from(ttl).unwrap_or(0)
}

/// A token just fetched from the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshToken {
    pub token: String,
    /// The lifetime the provider gave (0 when it gave none: not cached).
    pub expires_in_secs: u64,
}

/// One app token's place in the host cache.
#[derive(Debug, Clone)]
pub struct AppToken {
    key: String,
    max_len: usize,
}

impl AppToken {
    /// The token cached under `key`. The host's cache is per connector
    /// instance; put in the key whatever must not share a token (the app id).
    pub fn new(key: impl Into<String>) -> Self {
        AppToken {
            key: key.into(),
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// Tokens longer than `max_len` bytes are used but not cached.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The cache key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The cached token, if any (an empty or non-UTF-8 entry counts as none).
    pub fn cached(&self) -> Option<String> {
        cache::get(&self.key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|token| !token.is_empty())
    }

    /// Caches `token` for [`ttl_for`]`(expires_in_secs)`; not when that is 0
    /// or the token is longer than the maximum length.
    pub fn store(&self, token: &str, expires_in_secs: u64) {
        let ttl = ttl_for(expires_in_secs);
        if ttl > 0 && token.len() <= self.max_len {
            cache::set(&self.key, token.as_bytes(), ttl);
        }
    }

    /// Drops the cached token.
    pub fn forget(&self) {
        cache::remove(&self.key);
    }

    /// Runs `fetch`, caches what it returns and returns the token.
    fn refresh(&self, fetch: &mut impl FnMut() -> Result<FreshToken>) -> Result<String> {
        let fresh = fetch()?;
        self.store(&fresh.token, fresh.expires_in_secs);
        Ok(fresh.token)
    }

    /// Runs `call` with the cached token, or with one from `fetch` (then
    /// cached). When `call` says the token is stale, logs a warning, drops
    /// it, fetches a fresh one and runs `call` once more; a second failure of
    /// any kind is final. A failed `fetch` is returned as it is.
    pub fn with_token<T>(
        &self,
        mut fetch: impl FnMut() -> Result<FreshToken>,
        mut call: impl FnMut(&str) -> CallResult<T>,
    ) -> Result<T> {
        let token = match self.cached() {
            Some(token) => token,
            None => self.refresh(&mut fetch)?,
        };
        match call(&token) {
            Ok(value) => Ok(value),
            Err(Failure::Fatal(e)) => Err(e),
            Err(Failure::StaleToken(e)) => {
                log::warn(format!(
                    "app token refused, fetching a new one and retrying once ({})",
                    e.detail
                ));
                self.forget();
                let token = self.refresh(&mut fetch)?;
                call(&token).map_err(Failure::into_error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::ErrorKind;
    use crate::log::LogLevel;
    use crate::testing::FakeHost;

    const KEY: &str = "app-token:test";

    fn stale() -> Failure {
        Failure::StaleToken(ConnectorError::upstream_refused("stale").with_detail("code 42001"))
    }

    /// A fetch handing out "fresh-1", "fresh-2", … with a 7200 s lifetime.
    fn counting_fetch(fetches: &Cell<u32>) -> impl FnMut() -> Result<FreshToken> + '_ {
        || {
            fetches.set(fetches.get() + 1);
            Ok(FreshToken {
                token: format!("fresh-{}", fetches.get()),
                expires_in_secs: 7200,
            })
        }
    }

    #[test]
    fn ttl_keeps_a_margin_a_floor_and_a_ceiling() {
        assert_eq!(ttl_for(7200), 6900);
        assert_eq!(ttl_for(361), 61);
        assert_eq!(ttl_for(200), 60);
        assert_eq!(ttl_for(100), 60);
        assert_eq!(ttl_for(30), 30);
        assert_eq!(ttl_for(0), 0);
        assert_eq!(ttl_for(MAX_TTL_SECS + MARGIN_SECS + 1), 24 * 3600);
        assert_eq!(ttl_for(u64::MAX), 24 * 3600);
    }

    #[test]
    fn a_fetched_token_is_cached_and_reused() {
        let host = FakeHost::new();
        let fetches = Cell::new(0);
        let seen = RefCell::new(Vec::new());
        let slot = AppToken::new(KEY);
        for _ in 0..2 {
            let out = host.run(|| {
                slot.with_token(counting_fetch(&fetches), |token| {
                    seen.borrow_mut().push(token.to_string());
                    Ok(token.len())
                })
            });
            assert_eq!(out.unwrap(), 7);
        }
        assert_eq!(fetches.get(), 1);
        assert_eq!(*seen.borrow(), ["fresh-1", "fresh-1"]);
        assert_eq!(host.cached(KEY).as_deref(), Some(&b"fresh-1"[..]));
        // Cached for 7200 - 300 s.
        host.advance(6899);
        assert!(host.cached(KEY).is_some());
        host.advance(1);
        assert_eq!(host.cached(KEY), None);
    }

    #[test]
    fn a_cached_token_is_used_without_fetching() {
        let host = FakeHost::new();
        host.run(|| cache::set(KEY, b"cached", 600));
        let fetches = Cell::new(0);
        let out = host.run(|| {
            AppToken::new(KEY).with_token(counting_fetch(&fetches), |token| Ok(token.to_string()))
        });
        assert_eq!(out.unwrap(), "cached");
        assert_eq!(fetches.get(), 0);
        // An empty entry counts as none.
        host.run(|| cache::set(KEY, b"", 600));
        let out = host.run(|| {
            AppToken::new(KEY).with_token(counting_fetch(&fetches), |token| Ok(token.to_string()))
        });
        assert_eq!(out.unwrap(), "fresh-1");
    }

    #[test]
    fn a_stale_token_is_refetched_once_and_the_call_retried_once() {
        let host = FakeHost::new();
        host.run(|| cache::set(KEY, b"old", 3600));
        let fetches = Cell::new(0);
        let calls = RefCell::new(Vec::new());
        let out = host.run(|| {
            AppToken::new(KEY).with_token(counting_fetch(&fetches), |token| {
                calls.borrow_mut().push(token.to_string());
                if token == "old" {
                    Err(stale())
                } else {
                    Ok("done")
                }
            })
        });
        assert_eq!(out.unwrap(), "done");
        assert_eq!(fetches.get(), 1);
        assert_eq!(*calls.borrow(), ["old", "fresh-1"]);
        assert_eq!(host.cached(KEY).as_deref(), Some(&b"fresh-1"[..]));
        assert!(
            host.logs()
                .iter()
                .any(|(level, line)| *level == LogLevel::Warn
                    && line
                        == "app token refused, fetching a new one and retrying once (code 42001)")
        );
    }

    #[test]
    fn a_second_stale_answer_is_final() {
        let host = FakeHost::new();
        let fetches = Cell::new(0);
        let calls = Cell::new(0);
        let err = host
            .run(|| {
                AppToken::new(KEY).with_token(counting_fetch(&fetches), |_| -> CallResult<()> {
                    calls.set(calls.get() + 1);
                    Err(stale())
                })
            })
            .unwrap_err();
        assert_eq!(err.message, "stale");
        assert_eq!(err.kind, ErrorKind::UpstreamRefused);
        assert_eq!(fetches.get(), 2);
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn a_fatal_failure_is_not_retried() {
        let host = FakeHost::new();
        let fetches = Cell::new(0);
        let calls = Cell::new(0);
        let err = host
            .run(|| {
                AppToken::new(KEY).with_token(counting_fetch(&fetches), |_| -> CallResult<()> {
                    calls.set(calls.get() + 1);
                    Err(ConnectorError::config("no"))?
                })
            })
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert_eq!((fetches.get(), calls.get()), (1, 1));
        assert_eq!(host.cached(KEY).as_deref(), Some(&b"fresh-1"[..]));
    }

    #[test]
    fn a_failed_fetch_is_returned_and_nothing_is_cached() {
        let host = FakeHost::new();
        let calls = Cell::new(0);
        let err = host
            .run(|| {
                AppToken::new(KEY).with_token(
                    || Err(ConnectorError::config("bad credentials")),
                    |_| -> CallResult<()> {
                        calls.set(calls.get() + 1);
                        Ok(())
                    },
                )
            })
            .unwrap_err();
        assert_eq!(err.message, "bad credentials");
        assert_eq!(calls.get(), 0);
        assert_eq!(host.cached(KEY), None);
    }

    #[test]
    fn long_or_lifetimeless_tokens_are_used_but_not_cached() {
        let host = FakeHost::new();
        host.run(|| {
            let slot = AppToken::new(KEY).max_len(4);
            slot.store("12345", 7200);
            assert_eq!(slot.cached(), None);
            slot.store("1234", 0);
            assert_eq!(slot.cached(), None);
            slot.store("1234", 7200);
            assert_eq!(slot.cached().as_deref(), Some("1234"));
            slot.forget();
            assert_eq!(slot.cached(), None);
            // The default maximum.
            let slot = AppToken::new(KEY);
            slot.store(&"x".repeat(DEFAULT_MAX_LEN + 1), 7200);
            assert_eq!(slot.cached(), None);
            slot.store(&"x".repeat(DEFAULT_MAX_LEN), 7200);
            assert!(slot.cached().is_some());
        });
        let out = host.run(|| {
            AppToken::new("other").max_len(2).with_token(
                || {
                    Ok(FreshToken {
                        token: "long".into(),
                        expires_in_secs: 7200,
                    })
                },
                |token| Ok(token.to_string()),
            )
        });
        assert_eq!(out.unwrap(), "long");
        assert_eq!(host.cached("other"), None);
    }
}
