//! Forgotten password: `/password/reset`. The same answer whether or not the account exists.

use std::sync::Arc;

use warp::http::StatusCode;

use super::auth::anonymous_csrf;
use crate::app::App;
use crate::error::Error;
use crate::web::request::{RESET_COOKIE, Request};
use crate::web::response::{Resp, cookie, expired_cookie};
use crate::web::views::{self, layout::Errors};

pub fn request_page(app: &App, req: &Request) -> Result<Resp, Error> {
    let (csrf, new) = anonymous_csrf(req);
    let page = views::factors::reset_request(&req.chrome(), &csrf, "", &Errors::none());
    Ok(super::auth::with_csrf_cookie(app, Resp::page(page), new))
}

pub fn request(app: &Arc<App>, req: &Request) -> Result<Resp, Error> {
    let identifier = req.form.get("identifier").trim();
    let csrf = req.csrf_token().unwrap_or_default();
    if identifier.is_empty() {
        let errors = Errors::one(
            "identifier",
            req.locale.t("err.identifier_empty").into_owned(),
        );
        let page = views::factors::reset_request(&req.chrome(), csrf, identifier, &errors);
        return Ok(Resp::html(StatusCode::BAD_REQUEST, page));
    }
    // The same browser keeps its reset flow, so asking again is throttled like any code.
    let flow = req
        .cookie(RESET_COOKIE)
        .filter(|f| f.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(crate::tokens::new_token);
    app.start_reset(req.locale, identifier, &flow, &req.client.ip)?;
    let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
    let page = views::factors::reset_confirm(&req.chrome(), csrf, &policy, &Errors::none());
    Ok(Resp::page(page).with_cookie(cookie(
        RESET_COOKIE,
        &flow,
        "Strict",
        app.config.secure_cookies(),
        Some(900),
    )))
}

pub async fn confirm(app: &App, req: &Request) -> Result<Resp, Error> {
    let f = &req.form;
    let csrf = req.csrf_token().unwrap_or_default();
    let result = match req.cookie(RESET_COOKIE) {
        None => Err(Error::form(
            "code",
            "err.reset_code",
            "the code is not right or has expired",
        )),
        Some(_) if f.get("new_password") != f.get("new_password_confirm") => Err(Error::form(
            "new_password_confirm",
            "err.confirm_mismatch",
            "the passwords do not match",
        )),
        Some(flow) => {
            app.finish_reset(flow, f.get("code"), f.get("new_password"), &req.client.ip)
                .await
        }
    };
    match result {
        Ok(()) => Ok(Resp::redirect("/login?done=reset_done")
            .with_cookie(expired_cookie(RESET_COOKIE, app.config.secure_cookies()))),
        Err(Error::Form(p)) => {
            let errors = Errors::from_problems(req.locale, &p);
            let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
            let page = views::factors::reset_confirm(&req.chrome(), csrf, &policy, &errors);
            Ok(Resp::html(StatusCode::BAD_REQUEST, page))
        }
        Err(e) => Err(e),
    }
}
