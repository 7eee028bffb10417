//! Responses: HTML pages, redirects, cookies, and the security headers every answer gets.

use maud::Markup;
use warp::http::{HeaderValue, StatusCode, header};

pub struct Resp {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    /// Static assets may be cached; pages never are (they hold personal data).
    pub cacheable: bool,
    /// An origin this answer's redirect may take a form submission to (a POST that
    /// starts a sign-in at an identity provider); CSP `form-action` covers redirects.
    pub form_action_origin: Option<String>,
    /// The page loads our own script (`/static/passkey.js`): CSP `script-src 'self'`.
    /// Every other page forbids scripts altogether.
    pub scripts: bool,
}

impl Resp {
    pub fn html(status: StatusCode, markup: Markup) -> Resp {
        Resp {
            status,
            content_type: "text/html; charset=utf-8",
            body: markup.into_string(),
            location: None,
            cookies: Vec::new(),
            cacheable: false,
            form_action_origin: None,
            scripts: false,
        }
    }

    pub fn page(markup: Markup) -> Resp {
        Resp::html(StatusCode::OK, markup)
    }

    pub fn text(status: StatusCode, body: &str) -> Resp {
        Resp {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
            location: None,
            cookies: Vec::new(),
            cacheable: false,
            form_action_origin: None,
            scripts: false,
        }
    }

    /// 303 See Other: the answer to a successful POST, and to pages that need logon.
    pub fn redirect(to: &str) -> Resp {
        Resp {
            status: StatusCode::SEE_OTHER,
            content_type: "text/plain; charset=utf-8",
            body: String::new(),
            location: Some(to.to_string()),
            cookies: Vec::new(),
            cacheable: false,
            form_action_origin: None,
            scripts: false,
        }
    }

    /// A JSON answer (the passkey script's options requests).
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Resp {
        let mut r = Resp::text(status, &value.to_string());
        r.content_type = "application/json";
        r
    }

    pub fn with_scripts(mut self) -> Resp {
        self.scripts = true;
        self
    }

    pub fn with_cookie(mut self, cookie: String) -> Resp {
        self.cookies.push(cookie);
        self
    }

    pub fn into_response(self) -> warp::http::Response<String> {
        let mut r = warp::http::Response::new(self.body);
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(loc) = self.location
            && let Ok(v) = HeaderValue::from_str(&loc)
        {
            h.insert(header::LOCATION, v);
        }
        for c in self.cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        security_headers(
            h,
            self.cacheable,
            self.form_action_origin.as_deref(),
            self.scripts,
        );
        r
    }
}

/// The one place security headers are set. No inline script or style anywhere, so the
/// policy can forbid both.
fn security_headers(
    h: &mut warp::http::HeaderMap,
    cacheable: bool,
    form_origin: Option<&str>,
    scripts: bool,
) {
    const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    // Only the passkey pages run a script, and only ours (no inline script): they also
    // fetch their options from this origin.
    const CSP_SCRIPTS: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                               style-src 'self'; img-src 'self' data:; \
                               form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    let base = if scripts { CSP_SCRIPTS } else { CSP };
    let csp = match form_origin {
        Some(o) => HeaderValue::from_str(
            &base.replace("form-action 'self'", &format!("form-action 'self' {o}")),
        )
        .unwrap_or(HeaderValue::from_static(base)),
        None => HeaderValue::from_static(base),
    };
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if cacheable {
            "public, max-age=3600"
        } else {
            "no-store"
        }),
    );
}

/// A cookie for the whole portal: HttpOnly always, `Secure` on https.
pub fn cookie(
    name: &str,
    value: &str,
    same_site: &str,
    secure: bool,
    max_age: Option<i64>,
) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

pub fn expired_cookie(name: &str, secure: bool) -> String {
    cookie(name, "", "Lax", secure, Some(0))
}
