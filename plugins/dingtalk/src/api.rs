//! DingTalk's two API hosts, how their errors map, and the cached app token.
//!
//! - `api.dingtalk.com` (setting `api_base`) answers non-2xx with
//!   `{"code","requestid","message"}`.
//! - `oapi.dingtalk.com` (setting `oapi_base`) answers HTTP 200 with
//!   `{"errcode","errmsg",…}`; errcode 0 means success.
//!
//! Answers are read as `serde_json::Value` and fields are taken leniently
//! (a string or a number both do for an id), so a surprising answer is an
//! error or an absent field, never a trap.

use latchkey_connector_sdk::app_token::{AppToken, FreshToken};
use latchkey_connector_sdk::{ConnectorError, Result, Settings, Url, http};
use serde_json::{Value, json};

/// How long an app token is cached (the SDK's rule), under its old name.
#[cfg(test)]
pub(crate) use latchkey_connector_sdk::app_token::ttl_for as token_ttl;
pub(crate) use latchkey_connector_sdk::app_token::{CallResult, Failure};

/// A token longer than this is not cached (DingTalk's are ~32 characters).
const TOKEN_MAX_LEN: usize = 2048;

/// `{setting key}` + `path`, e.g. `https://api.dingtalk.com` + `/v1.0/…`,
/// keeping a base path (`http://127.0.0.1:9/dingtalk` in a lab).
pub(crate) fn endpoint(settings: &Settings, key: &str, path: &str) -> Result<Url> {
    let mut url = settings.url(key)?;
    let joined = format!("{}{path}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

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
pub(crate) fn integer(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The body as a JSON object; anything else is an `invalid-response` error.
fn object(response: &http::Response) -> Result<Value> {
    let value: Value = response.json()?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(
            ConnectorError::invalid_response("DingTalk sent an answer Latchkey cannot read.")
                .with_detail(format!("{}: not a JSON object", response.detail())),
        )
    }
}

/// Reads an `api.dingtalk.com` answer: a 2xx JSON object, or an error mapped
/// from its `code`. `refused` is the message for an unrecognised refusal.
pub(crate) fn api_answer(response: &http::Response, refused: &str) -> CallResult<Value> {
    if response.is_success() {
        return Ok(object(response)?);
    }
    let detail = response.detail();
    if response.status == 429 || response.status >= 500 {
        return Err(Failure::Fatal(
            ConnectorError::upstream_unavailable(
                "DingTalk is not available right now. Try again later.",
            )
            .with_detail(detail),
        ));
    }
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let code = text(&body, "code").unwrap_or_default();
    Err(match code.as_str() {
        "InvalidAuthentication" => Failure::StaleToken(
            ConnectorError::upstream_refused("DingTalk did not accept the access token.")
                .with_detail(detail),
        ),
        "Forbidden.AccessDenied.AccessTokenPermissionDenied" => Failure::Fatal(
            ConnectorError::config(permission_message(&body)).with_detail(detail),
        ),
        "invalid.client" | "invalidClient" | "InvalidClient" => Failure::Fatal(
            ConnectorError::config(
                "DingTalk refused the app credentials: an administrator must check the AppKey (client_id) and AppSecret (client_secret).",
            )
            .with_detail(detail),
        ),
        _ => Failure::Fatal(ConnectorError::upstream_refused(refused).with_detail(detail)),
    })
}

/// "DingTalk refused: the app lacks a permission (Contact.User.Read)." The
/// scope names come from `accessdenieddetail.requiredScopes` when they look
/// like scope names; nothing else of the body reaches the message.
fn permission_message(body: &Value) -> String {
    let scopes: Vec<&str> = body
        .pointer("/accessdenieddetail/requiredScopes")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter(|s| {
                    !s.is_empty()
                        && s.len() <= 64
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                })
                .take(5)
                .collect()
        })
        .unwrap_or_default();
    if scopes.is_empty() {
        "DingTalk refused: the app lacks a permission. An administrator must grant it in the DingTalk developer console.".into()
    } else {
        format!(
            "DingTalk refused: the app lacks a permission ({}). An administrator must grant it in the DingTalk developer console.",
            scopes.join(", ")
        )
    }
}

/// Maps a non-zero `errcode` from the oapi host.
fn oapi_failure(errcode: i64, detail: String) -> Failure {
    match errcode {
        40014 | 42001 => Failure::StaleToken(
            ConnectorError::upstream_refused("DingTalk did not accept the app's access token.")
                .with_detail(detail),
        ),
        60121 => Failure::Fatal(
            ConnectorError::upstream_refused(
                "Your DingTalk account is not a member of this organization.",
            )
            .with_detail(detail),
        ),
        -1 => Failure::Fatal(
            ConnectorError::upstream_unavailable(
                "DingTalk is busy right now. Try again later.",
            )
            .with_detail(detail),
        ),
        60011 | 88 => Failure::Fatal(
            ConnectorError::config(
                "DingTalk refused: the app lacks a permission for the contact directory. An administrator must grant it in the DingTalk developer console.",
            )
            .with_detail(detail),
        ),
        _ => Failure::Fatal(
            ConnectorError::upstream_refused("DingTalk refused the request.").with_detail(detail),
        ),
    }
}

/// `POST {oapi_base}{path}?access_token=…` with a JSON body; the answer's
/// `result` when `errcode` is 0.
pub(crate) fn oapi_post(
    settings: &Settings,
    app_token: &str,
    path: &str,
    body: &Value,
) -> CallResult<Value> {
    let url = endpoint(settings, "oapi_base", path)?;
    let response = http::post(url.as_str())
        .query([("access_token", app_token)])
        .accept_json()
        .json(body)
        .send()?
        .error_for_status()
        .map_err(|e| {
            if e.kind == latchkey_connector_sdk::ErrorKind::UpstreamUnavailable {
                e.with_message("DingTalk is not available right now. Try again later.")
            } else {
                e.with_message("DingTalk refused the request.")
            }
        })?;
    let mut value = object(&response)?;
    let errcode = match value.get("errcode") {
        None | Some(Value::Null) => 0,
        Some(_) => integer(&value, "errcode").ok_or_else(|| {
            ConnectorError::invalid_response("DingTalk sent an answer Latchkey cannot read.")
                .with_detail(format!("{}: errcode is not a number", response.detail()))
        })?,
    };
    if errcode != 0 {
        return Err(oapi_failure(errcode, response.detail()));
    }
    match value.get_mut("result").map(Value::take) {
        Some(result) if !result.is_null() => Ok(result),
        _ => Err(Failure::Fatal(
            ConnectorError::invalid_response("DingTalk sent an answer Latchkey cannot read.")
                .with_detail(format!("{}: no result", response.detail())),
        )),
    }
}

/// The cache key of the app token: per connector instance (the host's cache
/// is), and per app so that a changed AppKey never reuses an old token.
fn token_key(settings: &Settings) -> Result<String> {
    Ok(format!("app-token:{}", settings.required("client_id")?))
}

/// Fetches a fresh app token (`POST {api_base}/v1.0/oauth2/accessToken`);
/// the SDK caches it.
fn fetch_app_token(settings: &Settings) -> Result<FreshToken> {
    let url = endpoint(settings, "api_base", "/v1.0/oauth2/accessToken")?;
    let response = http::post(url.as_str())
        .accept_json()
        .json(&json!({
            "appKey": settings.required("client_id")?,
            "appSecret": settings.required("client_secret")?,
        }))
        .send()?;
    let answer = api_answer(
        &response,
        "DingTalk refused the app credentials: an administrator must check the AppKey (client_id) and AppSecret (client_secret).",
    )
    .map_err(|f| match f {
        // A refused app token request is a configuration problem, not a stale token.
        Failure::StaleToken(e) => ConnectorError::config(
            "DingTalk refused the app credentials: an administrator must check the AppKey (client_id) and AppSecret (client_secret).",
        )
        .with_detail(e.detail),
        Failure::Fatal(e) => e,
    })?;
    let token = text(&answer, "accessToken").ok_or_else(|| {
        ConnectorError::invalid_response("DingTalk did not return an app access token.")
            .with_detail(format!(
                "POST /v1.0/oauth2/accessToken: HTTP {}: no accessToken",
                response.status
            ))
    })?;
    let expires_in_secs = integer(&answer, "expireIn")
        .unwrap_or(0)
        .max(0)
        .unsigned_abs();
    Ok(FreshToken {
        token,
        expires_in_secs,
    })
}

/// Runs `call` with the app token (cached, or fetched and cached). When
/// DingTalk says the token is invalid, drops it, fetches a fresh one and runs
/// `call` once more; a second failure is final (the SDK's
/// [`AppToken::with_token`]).
pub(crate) fn with_app_token<T>(
    settings: &Settings,
    call: impl FnMut(&str) -> CallResult<T>,
) -> Result<T> {
    AppToken::new(token_key(settings)?)
        .max_len(TOKEN_MAX_LEN)
        .with_token(|| fetch_app_token(settings), call)
}
