//! One incoming request, parsed once: path, query, form, cookies, language, client.

use std::collections::HashMap;

use warp::http::{HeaderMap, Method};

use crate::app::logon::Client;
use crate::domain::account::Account;
use crate::i18n::Locale;
use crate::store::sessions::Session;

pub const SESSION_COOKIE: &str = "lk_session";
pub const CSRF_COOKIE: &str = "lk_csrf";
pub const LANG_COOKIE: &str = "lk_lang";
pub const RESET_COOKIE: &str = "lk_reset";
pub const FLOW_COOKIE: &str = "lk_flow";

/// Submitted form fields (or query parameters), in order, repeated names kept.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(bytes: &[u8]) -> Params {
        Params(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        for (k, v) in &self.0 {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        m
    }
}

pub struct Request {
    pub method: Method,
    pub path: String,
    /// The raw query string (kept for the language switcher's return link).
    pub raw_query: String,
    pub query: Params,
    pub form: Params,
    pub cookies: HashMap<String, String>,
    pub locale: Locale,
    pub client: Client,
    /// The logged-on user, once the session filter found one.
    pub session: Option<(Session, Account)>,
}

fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(warp::http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                out.entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().to_string());
            }
        }
    }
    out
}

impl Request {
    pub fn new(
        method: Method,
        path: String,
        raw_query: &str,
        headers: &HeaderMap,
        body: &[u8],
        remote: Option<std::net::SocketAddr>,
    ) -> Request {
        let cookies = parse_cookies(headers);
        let header = |name: warp::http::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let locale = cookies
            .get(LANG_COOKIE)
            .and_then(|c| Locale::parse(c))
            .or_else(|| Locale::from_accept_language(&header(warp::http::header::ACCEPT_LANGUAGE)))
            .unwrap_or(Locale::En);
        let is_form = header(warp::http::header::CONTENT_TYPE)
            .starts_with("application/x-www-form-urlencoded");
        Request {
            method,
            path,
            query: Params::parse(raw_query.as_bytes()),
            raw_query: raw_query.to_string(),
            form: if is_form {
                Params::parse(body)
            } else {
                Params::default()
            },
            cookies,
            locale,
            client: Client {
                ip: remote.map(|a| a.ip().to_string()).unwrap_or_default(),
                user_agent: header(warp::http::header::USER_AGENT),
            },
            session: None,
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn account(&self) -> Option<&Account> {
        self.session.as_ref().map(|(_, a)| a)
    }

    /// The CSRF token the page's forms must carry: the session's once logged on,
    /// else the pre-logon cookie's (double submit).
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.session {
            Some((s, _)) => Some(&s.csrf_token),
            None => self.cookie(CSRF_COOKIE),
        }
    }

    /// Whether the submitted form carries the right CSRF token.
    pub fn csrf_ok(&self) -> bool {
        match self.csrf_token() {
            Some(expected) => crate::tokens::same(expected, self.form.get("csrf")),
            None => false,
        }
    }

    /// A local path to return to after logon (never another site).
    pub fn next_path(&self, raw: &str) -> String {
        safe_next(raw).unwrap_or_else(|| "/account".to_string())
    }
}

/// Accepts only same-site absolute paths: "/x", never "//host" or "/\\host".
pub fn safe_next(raw: &str) -> Option<String> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next("/account"), Some("/account".into()));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next(""), None);
    }
}
