//! A deliberately hostile connector, for the host's sandbox tests
//! (`tests/hostile/` of the Latchkey crate). Never install it anywhere else.
//!
//! `begin` misbehaves as the text setting `mode` says; `target` is a URL setting, so its
//! host joins the allowlist (the tests point it at a local HTTP server):
//!
//! | mode | what `begin` does | what the host must do |
//! |---|---|---|
//! | `ok` | returns `https://idp.example/authorize?…` | redirect there |
//! | `spin` | loops forever | trap it on the epoch deadline ("too much time") |
//! | `memory` | allocates and touches 1 GiB, 1 MiB at a time | trap it at the memory cap ("too much memory") |
//! | `panic` | `panic!` (an `unreachable` trap: the workspace builds with `panic = "abort"`) | "the connector failed" |
//! | `fetch-outside` | GET `https://example.com/` (not on the allowlist) | deny it; the plugin returns the denial |
//! | `fetch-loopback` | GET `target` (https to 127.0.0.1; the instance does not allow http) | deny it (private or loopback) |
//! | `huge` | GET `target` (a 5 MiB body) | refuse it ("too large") |
//! | `many` | GET `target` 20 times | deny the 17th |
//! | `stall` | GET `target` (a server that never answers) | time the request out |
//! | `fetch-then-ok` | GET `target` (a slow but working IdP), then as `ok` | wait for it, then redirect |
//! | `sleep` | sleeps for an hour (a WASI clock wait: no wasm runs, so no epoch check) | the wall-clock timeout |
//! | `log-flood` | writes 10,000 log lines of 2,000 characters | (a probe: how much log one call may write) |
//! | `garbage` | returns `javascript:alert(1)` | refuse to redirect there |
//! | `garbage-data` | returns a `data:` URL | refuse |
//! | `garbage-relative` | returns `//evil.example/steal` | refuse |
//! | `garbage-http` | returns `http://evil.example/` (instance without allow_http) | refuse |
//! | `garbage-empty` | returns `""` | refuse |
//! | `garbage-crlf` | returns an https URL followed by CR LF and a `Set-Cookie` line | never let the header through |
//! | `long-url` | returns an https URL of 8 MiB | (a probe: is the URL's length capped?) |
//!
//! The `garbage*` and `long-url` answers go around the SDK (which would refuse the
//! non-http ones itself): this crate exports the WIT interface through its own glue,
//! which hands every other call to the SDK's. A hostile plugin is not bound by the SDK.
//!
//! When a fetch mode's request is refused, `begin` fails with a message that quotes the
//! host's reason, so the tests can read it on the error page.

use latchkey_connector_sdk::{
    self as sdk, BeginRequest, CompleteRequest, Connector, ConnectorError, Identity, Manifest,
    Result, Setting, Settings, http,
};

pub struct Hostile;

/// Requests the `many` mode sends (the host allows 16 per call).
pub const MANY: u32 = 20;
/// Bytes the `memory` mode tries to hold: 1 GiB.
pub const MEMORY_GOAL: usize = 1 << 30;
/// What the `log-flood` mode writes to the host's log: 10,000 lines of 2,000 characters.
pub const LOG_LINES: usize = 10_000;
pub const LOG_LINE: usize = 2_000;
/// Length of the `long-url` answer: 8 MiB.
pub const LONG_URL_BYTES: usize = 8 << 20;

/// The answer of the modes that go around the SDK's own URL check, if `mode` is one.
pub fn raw_begin(mode: &str) -> Option<String> {
    Some(match mode {
        "garbage" => "javascript:alert(1)".into(),
        "garbage-data" => "data:text/html,<script>alert(document.cookie)</script>".into(),
        "garbage-relative" => "//evil.example/steal".into(),
        "garbage-http" => "http://evil.example/".into(),
        "garbage-empty" => String::new(),
        "garbage-crlf" => {
            "https://idp.example/authorize\r\nSet-Cookie: lk_session=planted; Path=/".into()
        }
        "long-url" => {
            let mut url = String::with_capacity(LONG_URL_BYTES);
            url.push_str("https://idp.example/authorize?pad=");
            while url.len() < LONG_URL_BYTES {
                url.push('a');
            }
            url
        }
        _ => return None,
    })
}

/// Where the well-behaved modes send the browser.
fn ok_url(request: &BeginRequest) -> String {
    let mut url = sdk::Url::parse("https://idp.example/authorize").expect("static URL");
    url.query_pairs_mut()
        .append_pair("state", &request.state)
        .append_pair("redirect_uri", &request.redirect_uri);
    url.into()
}

/// A failure that quotes what the host said about a refused request.
fn refused(what: &str, e: ConnectorError) -> ConnectorError {
    ConnectorError::upstream_unavailable(format!("hostile {what}: {}", e.detail))
        .with_detail(e.detail)
}

fn get(url: &str, what: &str) -> Result<http::Response> {
    http::get(url).send().map_err(|e| refused(what, e))
}

/// Reaching here means the sandbox let the mode through: say so, so the tests see it.
fn escaped(mode: &str, how: String) -> ConnectorError {
    ConnectorError::invalid_response(format!("hostile {mode} was not stopped: {how}"))
}

impl Connector for Hostile {
    fn describe() -> Manifest {
        Manifest::new(
            "hostile",
            "Hostile (sandbox tests only)",
            env!("CARGO_PKG_VERSION"),
        )
        .setting(Setting::text("mode", "Misbehaviour").with_default("ok"))
        .setting(Setting::url("target", "Target URL").with_default("https://idp.example/"))
    }

    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
        let mode = settings.get_or("mode", "ok");
        let target = settings.get_or("target", "https://idp.example/");
        match mode {
            "ok" => Ok(ok_url(request)),
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut held: Vec<Vec<u8>> = Vec::new();
                let mut total = 0usize;
                while total < MEMORY_GOAL {
                    let mut block = vec![0u8; 1 << 20];
                    // Touch every page, so nothing stays merely reserved.
                    for i in (0..block.len()).step_by(4096) {
                        block[i] = std::hint::black_box(1);
                    }
                    total += block.len();
                    held.push(block);
                }
                Err(escaped(
                    mode,
                    format!("held {} MiB", std::hint::black_box(&held).len()),
                ))
            }
            "panic" => panic!("the hostile connector panics on purpose"),
            "fetch-outside" => {
                let r = get("https://example.com/", mode)?;
                Err(escaped(mode, format!("example.com answered {}", r.status)))
            }
            "fetch-then-ok" => {
                get(target, mode)?;
                Ok(ok_url(request))
            }
            "fetch-loopback" | "huge" | "stall" => {
                let r = get(target, mode)?;
                Err(escaped(
                    mode,
                    format!("{target} answered {} with {} bytes", r.status, r.body.len()),
                ))
            }
            "many" => {
                for i in 1..=MANY {
                    http::get(target)
                        .send()
                        .map_err(|e| refused(&format!("many: request {i} of {MANY}"), e))?;
                }
                Err(escaped(mode, format!("all {MANY} requests went through")))
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Err(escaped(mode, "slept for an hour".into()))
            }
            "log-flood" => {
                let line = "x".repeat(LOG_LINE);
                for _ in 0..LOG_LINES {
                    sdk::log::info(&line);
                }
                Err(ConnectorError::upstream_unavailable(format!(
                    "hostile log-flood: wrote {LOG_LINES} lines of {LOG_LINE} characters"
                )))
            }
            other => match raw_begin(other) {
                // Natively (the SDK's harness) the SDK checks these; the component's
                // own glue below returns them untouched.
                Some(raw) => Ok(raw),
                None => Err(ConnectorError::config(format!("unknown mode {other:?}"))),
            },
        }
    }

    fn complete(_settings: &Settings, _request: &CompleteRequest) -> Result<Identity> {
        Err(ConnectorError::not_supported(
            "the hostile connector never completes a sign-in",
        ))
    }
}

// The component's exports: the SDK's glue for everything, except the answers that the
// SDK would refuse itself.
#[cfg(target_arch = "wasm32")]
mod glue {
    use latchkey_connector_sdk::__private::{Glue, bindings};

    use bindings::exports::latchkey::connector::plugin as wit;

    type Sdk = Glue<super::Hostile>;

    pub struct HostileGlue;

    impl wit::Guest for HostileGlue {
        fn describe() -> wit::Manifest {
            <Sdk as wit::Guest>::describe()
        }

        fn validate_settings(settings: wit::Settings) -> Result<(), Vec<wit::SettingError>> {
            <Sdk as wit::Guest>::validate_settings(settings)
        }

        fn begin(
            settings: wit::Settings,
            request: wit::BeginRequest,
        ) -> Result<String, wit::ConnectorError> {
            let mode = settings
                .iter()
                .rev()
                .find(|(k, _)| k == "mode")
                .map(|(_, v)| v.as_str())
                .unwrap_or("ok");
            match super::raw_begin(mode) {
                Some(raw) => Ok(raw),
                None => <Sdk as wit::Guest>::begin(settings, request),
            }
        }

        fn complete(
            settings: wit::Settings,
            request: wit::CompleteRequest,
        ) -> Result<wit::Identity, wit::ConnectorError> {
            <Sdk as wit::Guest>::complete(settings, request)
        }

        fn directory_page(
            settings: wit::Settings,
            cursor: Option<String>,
        ) -> Result<wit::IdentityPage, wit::ConnectorError> {
            <Sdk as wit::Guest>::directory_page(settings, cursor)
        }

        fn unbound(settings: wit::Settings, subject: String) -> Result<(), wit::ConnectorError> {
            <Sdk as wit::Guest>::unbound(settings, subject)
        }
    }

    bindings::__export_connector!(HostileGlue);
}

// Natively, a harmless registration check (the component uses `glue` above instead of
// `sdk::register!`, which would export the SDK's glue unchanged).
const _: fn() = || {
    fn implements_connector<C: Connector>() {}
    implements_connector::<Hostile>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use sdk::{
        ErrorKind,
        testing::{self, Harness},
    };

    fn harness(mode: &str) -> Harness<Hostile> {
        Harness::new([("mode", mode), ("target", "http://127.0.0.1:9/t")])
    }

    #[test]
    fn ok_gives_an_https_url() {
        let url = harness("ok").begin(&testing::begin_request()).unwrap();
        assert!(
            url.starts_with("https://idp.example/authorize?state="),
            "{url}"
        );
    }

    #[test]
    fn a_refused_fetch_is_quoted() {
        // The fake host answers unscripted requests like a denied fetch.
        let e = harness("fetch-outside")
            .begin(&testing::begin_request())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::UpstreamUnavailable);
        assert!(
            e.message
                .starts_with("hostile fetch-outside: GET https://example.com/"),
            "{e:?}"
        );
    }

    #[test]
    fn many_sends_twenty_requests() {
        let h = harness("many");
        h.host.on("GET", "http://127.0.0.1:9/t").text("hi");
        let e = h.begin(&testing::begin_request()).unwrap_err();
        assert!(e.message.contains("all 20 requests went through"), "{e:?}");
        assert_eq!(h.host.requests().len(), 20);
    }

    #[test]
    fn the_sdk_itself_refuses_garbage() {
        // Only natively: the component's glue goes around this check on purpose.
        let e = harness("garbage")
            .begin(&testing::begin_request())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(raw_begin("long-url").unwrap().len() >= LONG_URL_BYTES);
    }
}
