//! Native test harness: run a connector's logic with plain `cargo test`.
//!
//! [`FakeHost`] stands in for Latchkey: scripted HTTP answers matched by
//! method and URL (every request recorded), a fake clock, an in-memory cache
//! with TTLs and a log. [`Harness`] calls the connector through the same
//! entry code the component uses (settings defaults, result checks).
//!
//! ```ignore
//! let h = Harness::<MyConnector>::new([("client_id", "abc"), ("client_secret", "s")]);
//! h.host.on("POST", "https://idp.test/token").json(&json!({"access_token": "t"}));
//! h.host.on("GET", "https://idp.test/user").json(&json!({"id": 7}));
//! let identity = h.complete(&testing::callback([("code", "c1")])).unwrap();
//! assert_eq!(h.host.requests()[0].form_param("code").as_deref(), Some("c1"));
//! ```
//!
//! Only compiled for non-wasm targets.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::rc::Rc;

use serde::Serialize;

pub use crate::host::HostBackend;
use crate::http::{Request, Response, url_without_query};
use crate::log::LogLevel;
use crate::{
    BeginRequest, CompleteRequest, Connector, DirectoryPage, Identity, Manifest, Result,
    SettingError, entry,
};

/// The fake clock's starting time (2023-11-14T22:13:20Z).
pub const DEFAULT_NOW: u64 = 1_700_000_000;
/// The state [`begin_request`] uses.
pub const STATE: &str = "0123456789abcdef0123456789abcdef";
/// The nonce [`begin_request`] and [`callback`] use.
pub const NONCE: &str = "n0nce0123456789abcdef";
/// The redirect URI [`begin_request`] and [`callback`] use.
pub const REDIRECT_URI: &str = "https://portal.test/login/callback";
/// A PKCE verifier (43–128 characters of `[A-Za-z0-9-._~]`) …
pub const PKCE_VERIFIER: &str = "latchkey-test-verifier-0123456789-abcdefghijklmnop";
/// … and its S256 challenge.
pub const PKCE_CHALLENGE: &str = "y8qyPmbiGTAv0RgPPCeySZqd992G-Xc0KAkJ4ZZQAdE";

/// A `begin` request with the constants above.
pub fn begin_request() -> BeginRequest {
    BeginRequest {
        state: STATE.into(),
        nonce: NONCE.into(),
        pkce_challenge: PKCE_CHALLENGE.into(),
        redirect_uri: REDIRECT_URI.into(),
    }
}

/// A `complete` request carrying `query`, with the constants above.
pub fn callback<K: Into<String>, V: Into<String>>(
    query: impl IntoIterator<Item = (K, V)>,
) -> CompleteRequest {
    CompleteRequest {
        query: query
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        pkce_verifier: PKCE_VERIFIER.into(),
        nonce: NONCE.into(),
        redirect_uri: REDIRECT_URI.into(),
    }
}

enum Outcome {
    Respond(Response),
    Fail(String),
}

struct Route {
    method: String,
    url: String,
    outcome: Outcome,
    remaining: Option<usize>,
}

#[derive(Default)]
struct State {
    routes: RefCell<Vec<Route>>,
    requests: RefCell<Vec<Request>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    cache: RefCell<BTreeMap<String, (Vec<u8>, u64)>>,
    now: Cell<u64>,
}

/// A scripted host. Cloning shares the same state.
#[derive(Clone)]
pub struct FakeHost {
    state: Rc<State>,
}

impl Default for FakeHost {
    fn default() -> Self {
        Self::new()
    }
}

/// True when `request_url` is what `route_url` names: the exact URL when the
/// route has a query, otherwise the URL without its query.
fn url_matches(route_url: &str, request_url: &str) -> bool {
    if route_url.contains('?') {
        route_url == request_url
    } else {
        url_without_query(route_url) == url_without_query(request_url)
    }
}

impl FakeHost {
    /// No routes, an empty cache and the clock at [`DEFAULT_NOW`].
    pub fn new() -> Self {
        let host = FakeHost {
            state: Rc::new(State::default()),
        };
        host.state.now.set(DEFAULT_NOW);
        host
    }

    /// Scripts the answer to `method url`. A URL without `?` matches any
    /// query. The newest matching route wins, so a test can override a
    /// default; a route limited with `once()`/`times(n)` is used up.
    pub fn on(&self, method: &str, url: &str) -> RouteBuilder<'_> {
        RouteBuilder {
            host: self,
            method: method.to_ascii_uppercase(),
            url: url.into(),
            status: 200,
            headers: Vec::new(),
            remaining: None,
        }
    }

    /// Runs `f` with this fake as the host (HTTP, log, cache, clock).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        crate::host::native::with_backend(Rc::new(self.clone()), f)
    }

    /// Every request made so far, in order (unmatched ones too).
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.borrow().clone()
    }

    /// The requests to `method url` (matched as in [`FakeHost::on`]).
    pub fn requests_to(&self, method: &str, url: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && url_matches(url, &r.url))
            .collect()
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.state.logs.borrow().clone()
    }

    /// True when some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.state
            .logs
            .borrow()
            .iter()
            .any(|(_, line)| line.contains(needle))
    }

    /// The fake clock.
    pub fn now(&self) -> u64 {
        self.state.now.get()
    }

    /// Sets the fake clock.
    pub fn set_now(&self, unix: u64) {
        self.state.now.set(unix);
    }

    /// Moves the fake clock forward (cache entries expire with it).
    pub fn advance(&self, seconds: u64) {
        self.state.now.set(self.state.now.get() + seconds);
    }

    /// The live cache entry under `key`.
    pub fn cached(&self, key: &str) -> Option<Vec<u8>> {
        HostBackend::cache_get(self, key)
    }

    /// The live cache keys.
    pub fn cache_keys(&self) -> Vec<String> {
        let now = self.now();
        self.state
            .cache
            .borrow()
            .iter()
            .filter(|(_, (_, exp))| *exp > now)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Empties the cache (as a restarted host might).
    pub fn clear_cache(&self) {
        self.state.cache.borrow_mut().clear();
    }
}

impl HostBackend for FakeHost {
    fn http_fetch(&self, request: &Request) -> std::result::Result<Response, String> {
        self.state.requests.borrow_mut().push(request.clone());
        let mut routes = self.state.routes.borrow_mut();
        let route = routes.iter_mut().rev().find(|r| {
            r.method == request.method
                && url_matches(&r.url, &request.url)
                && r.remaining != Some(0)
        });
        let Some(route) = route else {
            return Err(format!(
                "fake host: no route for {} {}",
                request.method, request.url
            ));
        };
        if let Some(n) = route.remaining.as_mut() {
            *n -= 1;
        }
        match &route.outcome {
            Outcome::Respond(response) => Ok(response.clone()),
            Outcome::Fail(reason) => Err(reason.clone()),
        }
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.state
            .logs
            .borrow_mut()
            .push((level, message.to_string()));
    }

    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.now();
        self.state
            .cache
            .borrow()
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone())
    }

    fn cache_set(&self, key: &str, value: &[u8], ttl_seconds: u32) {
        let mut cache = self.state.cache.borrow_mut();
        if ttl_seconds == 0 {
            cache.remove(key);
        } else {
            cache.insert(
                key.to_string(),
                (value.to_vec(), self.now() + u64::from(ttl_seconds)),
            );
        }
    }

    fn now_unix(&self) -> u64 {
        self.now()
    }
}

/// Scripts one route; finish with `json`, `text`, `body`, `empty` or `fail`.
#[must_use = "a route is only added by json/text/body/empty/fail"]
pub struct RouteBuilder<'a> {
    host: &'a FakeHost,
    method: String,
    url: String,
    status: u16,
    headers: Vec<(String, String)>,
    remaining: Option<usize>,
}

impl RouteBuilder<'_> {
    /// The status to answer with (default 200).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    /// Answers only once.
    pub fn once(self) -> Self {
        self.times(1)
    }
    /// Answers only `n` times.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }
    /// Answers with `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) {
        let body = serde_json::to_vec(value).expect("test JSON serialises");
        self.header("content-type", "application/json").body(body);
    }
    /// Answers with plain text.
    pub fn text(self, text: &str) {
        self.body(text.as_bytes().to_vec());
    }
    /// Answers with no body.
    pub fn empty(self) {
        self.body(Vec::new());
    }
    /// Answers with raw bytes.
    pub fn body(mut self, body: Vec<u8>) {
        let headers = std::mem::take(&mut self.headers);
        let response = Response::new(self.status, headers, body);
        self.push(Outcome::Respond(response));
    }
    /// Fails at the transport level, as `http-fetch` returning `err(reason)`.
    pub fn fail(self, reason: &str) {
        self.push(Outcome::Fail(reason.into()));
    }
    fn push(self, outcome: Outcome) {
        self.host.state.routes.borrow_mut().push(Route {
            method: self.method,
            url: self.url,
            outcome,
            remaining: self.remaining,
        });
    }
}

/// A connector under test, with its settings and a [`FakeHost`].
pub struct Harness<C> {
    /// The fake host every call runs against.
    pub host: FakeHost,
    settings: Vec<(String, String)>,
    connector: PhantomData<C>,
}

impl<C: Connector> Harness<C> {
    /// A harness with these settings (schema defaults apply as in the host).
    pub fn new<K: Into<String>, V: Into<String>>(
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Harness {
            host: FakeHost::new(),
            settings: settings
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            connector: PhantomData,
        }
    }

    /// Sets (or replaces) one setting.
    pub fn set(&mut self, key: &str, value: &str) {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.into(), value.into()));
    }

    /// Calls `describe`.
    pub fn describe(&self) -> Manifest {
        self.host.run(entry::describe::<C>)
    }

    /// Calls `validate-settings`.
    pub fn validate(&self) -> std::result::Result<(), Vec<SettingError>> {
        self.host
            .run(|| entry::validate_settings::<C>(self.settings.clone()))
    }

    /// Calls `begin`.
    pub fn begin(&self, request: &BeginRequest) -> Result<String> {
        self.host
            .run(|| entry::begin::<C>(self.settings.clone(), request.clone()))
    }

    /// Calls `complete`.
    pub fn complete(&self, request: &CompleteRequest) -> Result<Identity> {
        self.host
            .run(|| entry::complete::<C>(self.settings.clone(), request.clone()))
    }

    /// Calls `directory-page`.
    pub fn directory_page(&self, cursor: Option<&str>) -> Result<DirectoryPage> {
        self.host
            .run(|| entry::directory_page::<C>(self.settings.clone(), cursor.map(str::to_string)))
    }

    /// Calls `unbound`.
    pub fn unbound(&self, subject: &str) -> Result<()> {
        self.host
            .run(|| entry::unbound::<C>(self.settings.clone(), subject.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConnectorError, ErrorKind, Setting, Settings, http};

    struct Echo;

    impl Connector for Echo {
        fn describe() -> Manifest {
            Manifest::new("echo", "Echo", "0.0.1")
                .setting(Setting::url("base", "Base URL").required())
                .setting(Setting::text("greeting", "Greeting").with_default("hi"))
        }
        fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
            let base = settings.url("base")?;
            Ok(http::get(
                base.join("auth")
                    .map_err(|e| ConnectorError::config(e.to_string()))?
                    .as_str(),
            )
            .query([
                ("state", request.state.as_str()),
                ("g", settings.get_or("greeting", "?")),
            ])
            .url)
        }
        fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity> {
            let base = settings.required("base")?;
            let code = request.param("code").unwrap_or_default();
            let me: serde_json::Value = http::post(format!("{base}/token"))
                .form([("code", code)])
                .send()?
                .error_for_status()?
                .json()?;
            crate::cache::set("seen", code.as_bytes(), 60);
            crate::log::info(format!("at {}", crate::clock::now_unix()));
            Ok(Identity::new(me["id"].as_str().unwrap_or_default()))
        }
    }

    #[test]
    fn pkce_constants_match() {
        // The S256 relation itself is checked where sha2 is at hand (oidc tests).
        assert!((43..=128).contains(&PKCE_VERIFIER.len()));
        assert_eq!(PKCE_CHALLENGE.len(), 43);
    }

    #[test]
    fn harness_runs_through_the_entry_code() {
        let h = Harness::<Echo>::new([("base", "https://idp.test/")]);
        let url = h.begin(&begin_request()).unwrap();
        assert_eq!(url, format!("https://idp.test/auth?state={STATE}&g=hi"));

        h.host
            .on("POST", "https://idp.test//token")
            .json(&serde_json::json!({"id": "u1"}));
        let id = h.complete(&callback([("code", "c-1")])).unwrap();
        assert_eq!(id.subject, "u1");
        assert_eq!(
            h.host.requests()[0].form_param("code").as_deref(),
            Some("c-1")
        );
        assert_eq!(h.host.cached("seen").as_deref(), Some(&b"c-1"[..]));
        assert!(h.host.logged(&format!("at {DEFAULT_NOW}")));
        h.host.advance(61);
        assert_eq!(h.host.cached("seen"), None);
    }

    #[test]
    fn empty_subject_is_refused_by_the_entry_code() {
        let h = Harness::<Echo>::new([("base", "https://idp.test")]);
        h.host
            .on("POST", "https://idp.test/token")
            .json(&serde_json::json!({"id": ""}));
        assert_eq!(
            h.complete(&callback([("code", "c")])).unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
    }

    #[test]
    fn routes_are_newest_first_limited_and_recorded() {
        let host = FakeHost::new();
        host.on("GET", "https://h.test/x").text("default");
        host.on("GET", "https://h.test/x")
            .status(503)
            .once()
            .text("busy");
        host.on("GET", "https://h.test/y?exact=1")
            .fail("connection refused");
        host.run(|| {
            let first = http::get("https://h.test/x")
                .query([("a", "1")])
                .send()
                .unwrap();
            assert_eq!(
                (first.status, first.text().into_owned()),
                (503, "busy".into())
            );
            let second = http::get("https://h.test/x").send().unwrap();
            assert_eq!(second.text(), "default");
            let failed = http::get("https://h.test/y?exact=1").send().unwrap_err();
            assert_eq!(failed.kind, ErrorKind::UpstreamUnavailable);
            assert!(failed.detail.contains("connection refused"));
            let unrouted = http::get("https://h.test/y?exact=2").send().unwrap_err();
            assert!(unrouted.detail.contains("no route"), "{unrouted}");
        });
        assert_eq!(host.requests().len(), 4);
        assert_eq!(host.requests_to("GET", "https://h.test/x").len(), 2);
    }

    #[test]
    fn validate_and_optional_exports_have_defaults() {
        let h = Harness::<Echo>::new([("base", "nope")]);
        assert_eq!(h.validate().unwrap_err()[0].key, "base");
        assert_eq!(
            h.directory_page(None).unwrap_err().kind,
            ErrorKind::NotSupported
        );
        assert!(h.unbound("u1").is_ok());
        assert_eq!(h.describe().api_version, crate::API_VERSION);
    }

    #[test]
    fn outside_the_harness_the_network_is_closed() {
        let err = http::get("https://h.test/").send().unwrap_err();
        assert_eq!(err.kind, ErrorKind::UpstreamUnavailable);
    }
}
