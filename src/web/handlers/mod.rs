//! Request handlers, one file per area. Shared here: guards, flash messages, error pages.

pub mod account;
pub mod admin;
pub mod admin_connectors;
pub mod auth;
pub mod connectors;
pub mod factors;
pub mod passkeys;
pub mod reset;

use warp::http::StatusCode;

use super::request::Request;
use super::response::Resp;
use super::views::layout::Chrome;
use crate::app::Actor;
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::sessions::{Session, Stage};

impl Request {
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            locale: self.locale,
            account: self.account(),
            csrf: self.csrf_token(),
            path: &self.path,
            query: &self.raw_query,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: self.account().map(|a| a.id),
            name: self.account().map(|a| a.label()).unwrap_or_default(),
            ip: self.client.ip.clone(),
        }
    }

    /// The flash message named by `?done=…`, if it is one we know.
    pub fn flash(&self) -> Option<&'static str> {
        const KNOWN: &[&str] = &[
            "bound",
            "unbound",
            "profile",
            "fields",
            "password",
            "session",
            "sessions",
            "created",
            "saved",
            "deleted",
            "reset",
            "logout",
            "otp",
            "otp_removed",
            "passkey",
            "passkey_removed",
            "email",
            "sms",
            "reset_done",
        ];
        let d = self.query.get("done");
        KNOWN.iter().find(|k| **k == d).map(|k| match *k {
            "profile" => "flash.profile",
            "fields" => "flash.fields",
            "password" => "flash.password",
            "session" => "flash.session",
            "sessions" => "flash.sessions",
            "created" => "flash.created",
            "deleted" => "flash.deleted",
            "reset" => "flash.reset",
            "logout" => "flash.logout",
            "otp" => "flash.otp",
            "otp_removed" => "flash.otp_removed",
            "passkey" => "flash.passkey",
            "passkey_removed" => "flash.passkey_removed",
            "email" => "flash.email",
            "sms" => "flash.mobile",
            "reset_done" => "flash.reset_done",
            "bound" => "flash.bound",
            "unbound" => "flash.unbound",
            _ => "flash.saved",
        })
    }
}

/// The pages a session in the `BindFactor` stage may use.
const BIND_PAGES: &[&str] = &[
    "/account/otp",
    "/account/email",
    "/account/mobile",
    "/account/passkeys",
];

/// A logged-on user, or the answer to give instead (logon page, or the password page
/// while the password is expired).
pub fn require_user(req: &Request) -> Result<(Session, Account), Resp> {
    match &req.session {
        None => {
            let next: String = url::form_urlencoded::byte_serialize(req.path.as_bytes()).collect();
            Err(Resp::redirect(&format!("/login?next={next}")))
        }
        Some((s, a)) => {
            let allowed = match s.stage {
                // An account without a name chooses one before anything else.
                Stage::Active if a.account_name.is_none() => false,
                Stage::Active => true,
                Stage::PasswordExpired => req.path == "/account/password",
                // Only the second-factor prompt (its own handler) until it passes.
                Stage::SecondFactor => false,
                // Only the pages that bind a factor.
                Stage::BindFactor => BIND_PAGES.iter().any(|p| req.path.starts_with(p)),
            };
            if allowed {
                Ok((s.clone(), a.clone()))
            } else {
                Err(Resp::redirect(match s.stage {
                    Stage::Active => "/login/name",
                    Stage::PasswordExpired => "/account/password",
                    Stage::SecondFactor => "/login/factor",
                    _ => "/login/bind",
                }))
            }
        }
    }
}

pub fn csrf_failure(req: &Request) -> Resp {
    let l = req.locale;
    Resp::html(
        StatusCode::FORBIDDEN,
        super::views::auth::error(&req.chrome(), &l.t("error.csrf_title"), &l.t("error.csrf")),
    )
}

pub fn forbidden(req: &Request) -> Resp {
    let l = req.locale;
    Resp::html(
        StatusCode::FORBIDDEN,
        super::views::auth::error(&req.chrome(), &l.t("error.403_title"), &l.t("error.403")),
    )
}

/// The page for an error no handler dealt with. Internal details go to the log only.
pub fn error_page(req: &Request, e: Error) -> Resp {
    let l = req.locale;
    let (status, title, message) = match &e {
        Error::NotFound(_) => (
            StatusCode::NOT_FOUND,
            l.t("error.404_title"),
            l.t("error.404"),
        ),
        Error::Refused(_) => (
            StatusCode::FORBIDDEN,
            l.t("error.403_title"),
            l.t("error.refused"),
        ),
        Error::Invalid(_) | Error::Form(_) => (
            StatusCode::BAD_REQUEST,
            l.t("error.400_title"),
            l.t("error.400"),
        ),
        Error::Internal(detail) => {
            tracing::error!(path = %req.path, error = %detail, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                l.t("error.500_title"),
                l.t("error.500"),
            )
        }
    };
    if !matches!(e, Error::Internal(_)) {
        tracing::debug!(path = %req.path, error = %e, "request refused");
    }
    Resp::html(
        status,
        super::views::auth::error(&req.chrome(), &title, &message),
    )
}

/// A QR code as an SVG data URI (allowed by the CSP's `img-src data:`).
pub fn qr_data_uri(uri: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| Error::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    use base64::Engine as _;
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}
