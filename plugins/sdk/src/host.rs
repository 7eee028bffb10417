//! The only place that calls the host. In the component these are the
//! `latchkey:connector/host` imports; natively they go to the [`HostBackend`]
//! installed by the test harness (or to inert defaults outside it).

#[cfg(not(target_arch = "wasm32"))]
use crate::{
    http::{Request, Response},
    log::LogLevel,
};

/// The host's functions, as plain Rust. The test harness implements it; the
/// component uses the WIT imports instead.
#[cfg(not(target_arch = "wasm32"))]
pub trait HostBackend {
    /// One outbound HTTP request; `Err` is a transport-level failure.
    fn http_fetch(&self, request: &Request) -> Result<Response, String>;
    /// One log line.
    fn log(&self, level: LogLevel, message: &str);
    /// A cached value, if present and not expired.
    fn cache_get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores a value for `ttl_seconds` (0 removes it).
    fn cache_set(&self, key: &str, value: &[u8], ttl_seconds: u32);
    /// Wall-clock seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::wasm::{cache_get, cache_set, http_fetch, log, now_unix};

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{cache_get, cache_set, http_fetch, log, now_unix};

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod native {
    use super::HostBackend;
    use crate::http::{Request, Response};
    use crate::log::LogLevel;
    use std::cell::RefCell;
    use std::rc::Rc;

    thread_local! {
        static CURRENT: RefCell<Option<Rc<dyn HostBackend>>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `backend` as the host of this thread, restoring the
    /// previous one afterwards (also on panic).
    pub fn with_backend<R>(backend: Rc<dyn HostBackend>, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Rc<dyn HostBackend>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|c| c.borrow_mut().replace(backend));
        let _restore = Restore(previous);
        f()
    }

    fn current() -> Option<Rc<dyn HostBackend>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    pub(crate) fn http_fetch(request: &Request) -> Result<Response, String> {
        match current() {
            Some(host) => host.http_fetch(request),
            None => {
                Err("no host: native code outside the test harness cannot use the network".into())
            }
        }
    }

    pub(crate) fn log(level: LogLevel, message: &str) {
        match current() {
            Some(host) => host.log(level, message),
            None => eprintln!("[{level:?}] {message}"),
        }
    }

    pub(crate) fn cache_get(key: &str) -> Option<Vec<u8>> {
        current().and_then(|host| host.cache_get(key))
    }

    pub(crate) fn cache_set(key: &str, value: &[u8], ttl_seconds: u32) {
        if let Some(host) = current() {
            host.cache_set(key, value, ttl_seconds);
        }
    }

    pub(crate) fn now_unix() -> u64 {
        match current() {
            Some(host) => host.now_unix(),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}
