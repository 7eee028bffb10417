//! Second factors, end to end: binding email and mobile by codes that really travel
//! (a real SMTP server and an SMS webhook on 127.0.0.1), the OTP authenticator checked
//! with the tests' own RFC 6238 implementation, recovery codes, 2FA and forced binding
//! at logon, the forgotten-password flow, and the admin's view of factors and deliveries.
//!
//! Needs `python3` with aiosmtpd importable (`pip install aiosmtpd`).
//!
//! OTP codes: a time step is accepted once, so a test that needs a second code uses the
//! next step's (accepted within the ±1 step window) instead of waiting 30 s.

mod admin;
mod contacts;
mod env_config;
mod harness;
mod logon;
mod otp;
mod passkeys;
mod reset;
mod totp;

use crate::support::{Browser, Page};
use harness::{otp_secret, post_with_csrf};

/// An authenticator just bound through `/account/otp`.
pub struct BoundOtp {
    pub key: Vec<u8>,
    pub secret: String,
    /// The time step whose code bound it (spent from then on).
    pub step: u64,
    /// The answer to the confirmation (the recovery codes page, or a redirect).
    pub page: Page,
}

/// Binds an authenticator with the code of the current time step, as an app would.
pub async fn bind_otp(b: &Browser) -> BoundOtp {
    let p = b.get("/account/otp").await;
    assert_eq!(p.status, 200, "GET /account/otp: {}", p.summary());
    let secret = otp_secret(&p);
    let key = totp::base32_decode(&secret);
    let csrf = p.csrf().expect("the OTP page has a csrf field");
    let step = totp::current_step();
    let code = totp::code_for_step(&key, step);
    let page = post_with_csrf(b, "/account/otp/confirm", &csrf, &[("code", &code)]).await;
    BoundOtp {
        key,
        secret,
        step,
        page,
    }
}

/// The CSRF token of the second-factor prompt (the session's own).
pub async fn prompt_csrf(b: &Browser) -> String {
    let p = b.get("/login/factor").await;
    assert_eq!(p.status, 200, "GET /login/factor: {}", p.summary());
    p.csrf().expect("the prompt has a csrf field")
}
