//! WeCom's `cgi-bin` API: every answer is HTTP 200 with `{"errcode","errmsg"}`
//! (0 = success), every call takes the app token as `?access_token=`.
//!
//! A [`Client`] counts the requests of one connector call, so the directory
//! can stop before the host's per-call cap. Answers are read as
//! `serde_json::Value` and fields taken leniently: a surprising answer is an
//! error or an absent field, never a trap.

use std::cell::Cell;

use latchkey_connector_sdk::app_token::{AppToken, CallResult, Failure, FreshToken};
use latchkey_connector_sdk::{ConnectorError, ErrorKind, Result, Settings, Url, http};
use serde_json::Value;

/// How long an app token is cached (the SDK's rule), under its old name.
#[cfg(test)]
pub(crate) use latchkey_connector_sdk::app_token::ttl_for as token_ttl;

/// WeCom tokens are at most 512 bytes; anything longer is not cached.
const TOKEN_MAX_LEN: usize = 1024;

/// The most requests one `with_app_token` can cost: a token fetch, the call,
/// a second token fetch and the retry.
pub(crate) const WORST_CALL_COST: u32 = 4;

/// A string field, or a number written as a string; `None` when absent,
/// empty or of another type.
pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer field (a JSON number or a numeric string).
fn integer(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

const CREDENTIALS: &str = "WeCom refused the app credentials: an administrator must check the corp ID (corp_id) and the app secret (secret).";

/// Maps a non-zero `errcode`. Branch on the code, never on `errmsg`: WeCom
/// documents that its wording changes.
fn errcode_failure(errcode: i64, detail: String) -> Failure {
    let fatal = |e: ConnectorError| Failure::Fatal(e.with_detail(detail.clone()));
    match errcode {
        // Unavailable, not refused: when even a fresh token is refused, the
        // fault is WeCom's, and the directory must not skip members over it.
        40014 | 42001 => Failure::StaleToken(
            ConnectorError::upstream_unavailable(
                "WeCom did not accept the app's access token. Try again later.",
            )
            .with_detail(detail),
        ),
        40029 | 40163 | 42003 => fatal(ConnectorError::upstream_refused(
            "The sign-in code was invalid or already used; try again.",
        )),
        60020 => fatal(ConnectorError::config(
            "WeCom refused the call: this server's IP address is not in the app's trusted IP list (企业可信IP). An administrator must add it in the WeCom admin console (app details → trusted IPs).",
        )),
        50001 => fatal(ConnectorError::config(
            "WeCom refused the sign-in: the redirect URL's domain is not the app's trusted domain. An administrator must set Latchkey's domain as the app's trusted domain (可信域名) in the WeCom admin console.",
        )),
        40001 | 40013 | 40091 => fatal(ConnectorError::config(CREDENTIALS)),
        60011 => fatal(ConnectorError::upstream_refused(
            "Your WeCom account is outside this app's visible range. Ask an administrator to add you to it.",
        )),
        -1 => fatal(ConnectorError::upstream_unavailable(
            "WeCom is busy right now. Try again later.",
        )),
        _ => fatal(ConnectorError::upstream_refused(
            "WeCom refused the request.",
        )),
    }
}

/// One connector call's view of the WeCom API.
pub(crate) struct Client<'a> {
    settings: &'a Settings,
    sent: Cell<u32>,
}

impl<'a> Client<'a> {
    pub(crate) fn new(settings: &'a Settings) -> Self {
        Client {
            settings,
            sent: Cell::new(0),
        }
    }

    /// Requests sent so far in this call.
    pub(crate) fn sent(&self) -> u32 {
        self.sent.get()
    }

    /// `{api_base}{path}`, keeping a base path (a lab's `http://127.0.0.1:9/wecom`).
    fn endpoint(&self, path: &str) -> Result<Url> {
        let mut url = self.settings.url("api_base")?;
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }

    /// Sends `request` and reads the `errcode` envelope.
    fn call(&self, request: http::Request) -> CallResult<Value> {
        self.sent.set(self.sent.get().saturating_add(1));
        let response = request
            .accept_json()
            .send()?
            .error_for_status()
            .map_err(|e| match e.kind {
                ErrorKind::UpstreamUnavailable => {
                    e.with_message("WeCom is not available right now. Try again later.")
                }
                _ => e.with_message("WeCom refused the request."),
            })?;
        let value: Value = response.json()?;
        if !value.is_object() {
            return Err(Failure::Fatal(
                ConnectorError::invalid_response("WeCom sent an answer Latchkey cannot read.")
                    .with_detail(format!("{}: not a JSON object", response.detail())),
            ));
        }
        let errcode = match value.get("errcode") {
            None | Some(Value::Null) => 0,
            Some(_) => integer(&value, "errcode").ok_or_else(|| {
                ConnectorError::invalid_response("WeCom sent an answer Latchkey cannot read.")
                    .with_detail(format!("{}: errcode is not a number", response.detail()))
            })?,
        };
        if errcode != 0 {
            return Err(errcode_failure(errcode, response.detail()));
        }
        Ok(value)
    }

    /// The cache key of the app token: per app (an instance may be repointed).
    fn token_key(&self) -> Result<String> {
        Ok(format!(
            "app-token:{}:{}",
            self.settings.required("corp_id")?,
            self.settings.required("agent_id")?
        ))
    }

    /// `GET {api_base}/cgi-bin/gettoken?corpid=…&corpsecret=…`; the SDK caches it.
    fn fetch_app_token(&self) -> Result<FreshToken> {
        let request = http::get(self.endpoint("/cgi-bin/gettoken")?.as_str()).query([
            ("corpid", self.settings.required("corp_id")?),
            ("corpsecret", self.settings.required("secret")?),
        ]);
        let answer = self.call(request).map_err(|f| match f {
            // A refused token request is the credentials, not a stale token.
            Failure::StaleToken(e) => ConnectorError::config(CREDENTIALS).with_detail(e.detail),
            Failure::Fatal(e) => e,
        })?;
        let token = text(&answer, "access_token").ok_or_else(|| {
            ConnectorError::invalid_response("WeCom did not return an app access token.")
                .with_detail("GET /cgi-bin/gettoken: no access_token")
        })?;
        let expires_in_secs = integer(&answer, "expires_in")
            .unwrap_or(0)
            .max(0)
            .unsigned_abs();
        Ok(FreshToken {
            token,
            expires_in_secs,
        })
    }

    /// Sends the request `build` makes with the app token. When WeCom says
    /// the token is invalid or expired (40014, 42001), drops it, fetches a
    /// fresh one and sends once more; a second failure is final (the SDK's
    /// [`AppToken::with_token`]).
    fn with_app_token(&self, build: impl Fn(&str) -> Result<http::Request>) -> Result<Value> {
        AppToken::new(self.token_key()?)
            .max_len(TOKEN_MAX_LEN)
            .with_token(|| self.fetch_app_token(), |token| self.call(build(token)?))
    }

    /// `GET {api_base}{path}?access_token=…&{query}`.
    pub(crate) fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let url = self.endpoint(path)?;
        self.with_app_token(|token| {
            Ok(http::get(url.as_str())
                .query([("access_token", token)])
                .query(query.iter().copied()))
        })
    }

    /// `POST {api_base}{path}?access_token=…` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = self.endpoint(path)?;
        self.with_app_token(|token| {
            Ok(http::post(url.as_str())
                .query([("access_token", token)])
                .json(body))
        })
    }
}
