//! Outbound HTTP through the host's `http-fetch` (allowlisted, capped, no
//! redirects followed). Build a [`Request`], `send()` it, then read the
//! [`Response`]:
//!
//! ```ignore
//! let user: User = http::get(format!("{api}/user"))
//!     .bearer(&token)
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```
//!
//! Error details name the method and URL without its query string, since
//! queries may carry codes or tokens.

use std::borrow::Cow;

use base64::Engine as _;
use serde::{Serialize, de::DeserializeOwned};

use crate::{ConnectorError, Result};

/// An outbound request; also what the test harness records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// Absolute URL including the query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A problem found while building (bad URL, unserialisable body),
    /// reported by `send` so that building stays chainable.
    problem: Option<String>,
}

/// Starts a GET request.
pub fn get(url: impl Into<String>) -> Request {
    Request::new("GET", url)
}

/// Starts a POST request.
pub fn post(url: impl Into<String>) -> Request {
    Request::new("POST", url)
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            problem: None,
        }
    }

    /// Appends URL-encoded query parameters, keeping any already there.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        match url::Url::parse(&self.url) {
            Ok(mut url) => {
                url.query_pairs_mut().extend_pairs(pairs);
                self.url = url.into();
            }
            Err(e) => self.problem = Some(format!("invalid URL: {e}")),
        }
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Asks for a JSON answer (`accept: application/json`).
    pub fn accept_json(self) -> Self {
        self.header("accept", "application/json")
    }

    /// `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// `authorization: Basic …` with both parts form-encoded first, as OAuth 2
    /// requires for client credentials (RFC 6749 §2.3.1).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(user), encode(password));
        let token = base64::engine::general_purpose::STANDARD.encode(pair);
        self.header("authorization", format!("Basic {token}"))
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A JSON body (`application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => self.body = body,
            Err(e) => self.problem = Some(format!("cannot encode the JSON body: {e}")),
        }
        self.header("content-type", "application/json")
    }

    /// Sends the request once. A transport failure (denied, timeout, refused
    /// connection) is an `upstream-unavailable` error; any HTTP status is a
    /// [`Response`].
    pub fn send(self) -> Result<Response> {
        let what = format!("{} {}", self.method, url_without_query(&self.url));
        if let Some(problem) = &self.problem {
            return Err(
                ConnectorError::config("The connector built an invalid request.")
                    .with_detail(format!("{what}: {problem}")),
            );
        }
        match crate::host::http_fetch(&self) {
            Ok(mut response) => {
                crate::log::debug(format!("{what} -> {}", response.status));
                response.what = what;
                Ok(response)
            }
            Err(e) => Err(ConnectorError::upstream_unavailable(
                "The identity provider could not be reached.",
            )
            .with_detail(format!("{what}: {e}"))),
        }
    }

    /// The first value of header `name` (any case).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The first value of `name` in a form body.
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The first value of `name` in the URL's query.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&self.url).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// An HTTP answer of any status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// "METHOD url-without-query", for error details.
    what: String,
}

impl Response {
    /// A response as a host backend produces it.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Response {
            status,
            headers,
            body,
            what: String::new(),
        }
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Passes 2xx through. 5xx and 429 become `upstream-unavailable`, other
    /// 4xx `upstream-refused`, anything else `invalid-response`; the detail
    /// holds the status and the start of the body.
    pub fn error_for_status(self) -> Result<Self> {
        if self.is_success() {
            return Ok(self);
        }
        let error = match self.status {
            429 | 500..=599 => ConnectorError::upstream_unavailable(
                "The identity provider is not available right now. Try again later.",
            ),
            400..=499 => {
                ConnectorError::upstream_refused("The identity provider refused the request.")
            }
            _ => {
                ConnectorError::invalid_response("The identity provider sent an unexpected answer.")
            }
        };
        Err(error.with_detail(self.detail()))
    }

    /// Decodes the JSON body into `T`. A body that is not the expected JSON is
    /// an `invalid-response` error whose detail says what did not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::invalid_response(
                "The identity provider sent an answer Latchkey cannot read.",
            )
            .with_detail(format!(
                "{}: HTTP {}: unexpected JSON: {e}",
                self.what, self.status
            ))
        })
    }

    /// "METHOD url: HTTP status: body start" for logs. Only used for error
    /// answers, whose bodies carry error codes rather than tokens.
    pub fn detail(&self) -> String {
        let text = self.text();
        let mut snippet: String = text.chars().take(300).collect();
        if text.chars().count() > 300 {
            snippet.push('…');
        }
        format!("{}: HTTP {}: {}", self.what, self.status, snippet)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The URL without query and fragment, safe to log.
pub fn url_without_query(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.into()
        }
        Err(_) => raw.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_appends_encoded_pairs() {
        let r = get("https://idp.test/authorize?x=1")
            .query([("scope", "openid email"), ("r", "a&b=c")]);
        assert_eq!(
            r.url,
            "https://idp.test/authorize?x=1&scope=openid+email&r=a%26b%3Dc"
        );
        assert_eq!(r.query_param("r").as_deref(), Some("a&b=c"));
    }

    #[test]
    fn basic_auth_form_encodes_credentials() {
        let r = post("https://idp.test/token").basic_auth("my client", "s3cr=t+%");
        let header = r.header_value("Authorization").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&header[6..])
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "my+client:s3cr%3Dt%2B%25"
        );
    }

    #[test]
    fn form_and_json_bodies_set_content_type() {
        let r = post("https://idp.test/t").form([("code", "a b"), ("x", "é")]);
        assert_eq!(
            r.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(r.form_param("code").as_deref(), Some("a b"));
        let j = post("https://idp.test/t").json(&serde_json::json!({"k": 1}));
        assert_eq!(j.body_text(), r#"{"k":1}"#);
    }

    #[test]
    fn status_errors_map_to_kinds() {
        use crate::ErrorKind::*;
        let kind = |s| {
            Response::new(s, vec![], b"{}".to_vec())
                .error_for_status()
                .unwrap_err()
                .kind
        };
        assert_eq!(kind(400), UpstreamRefused);
        assert_eq!(kind(503), UpstreamUnavailable);
        assert_eq!(kind(429), UpstreamUnavailable);
        assert_eq!(kind(302), InvalidResponse);
        assert!(
            Response::new(204, vec![], vec![])
                .error_for_status()
                .is_ok()
        );
    }

    #[test]
    fn logged_urls_drop_the_query() {
        assert_eq!(
            url_without_query("https://h.test/p?code=secret#f"),
            "https://h.test/p"
        );
        assert_eq!(url_without_query("not a url?code=1"), "not a url");
    }
}
