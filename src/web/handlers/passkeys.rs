//! Passkeys: `/account/passkeys` (list, add, remove) and the logon side's options
//! request (`POST /login/factor/passkey`). The ceremony's second step is a plain form
//! post filled in by `/static/passkey.js`, so its outcome is an ordinary page.

use warp::http::StatusCode;

use super::factors::{after_binding, needs_password, stage_home};
use crate::app::App;
use crate::app::factors::Method;
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::sessions::{Session, Stage};
use crate::web::request::Request;
use crate::web::response::Resp;
use crate::web::views::layout::Errors;
use crate::web::views::passkeys as v;

/// An error for the script: one translated line, as JSON.
fn json_error(req: &Request, e: Error) -> Result<Resp, Error> {
    match e {
        Error::Form(p) => {
            let errors = Errors::from_problems(req.locale, &p);
            let text = errors
                .all()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            Ok(Resp::json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": text }),
            ))
        }
        Error::NotFound(_) => Ok(Resp::json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": req.locale.t("error.404") }),
        )),
        other => Err(other),
    }
}

fn options_json(value: &impl serde::Serialize) -> Result<Resp, Error> {
    let v = serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Resp::json(StatusCode::OK, &v))
}

pub async fn route(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    rest: &[&str],
    post: bool,
) -> Result<Resp, Error> {
    if !app.settings()?.flag("mfa.passkey") {
        return Err(Error::NotFound(req.path.clone()));
    }
    match (rest, post) {
        ([], false) => render(app, req, s, a, &Errors::none(), StatusCode::OK),
        // Step 1: creation options (after the password again, when the logon is old).
        (["options"], true) => {
            if needs_password(app, s)?
                && let Err(e) = app.reauthenticate(s, a, req.form.get("password")).await
            {
                return json_error(req, e);
            }
            match app.passkey_register_start(s.id, a, req.form.get("name")) {
                Ok(options) => options_json(&options),
                Err(e) => json_error(req, e),
            }
        }
        // Step 2: the authenticator's answer.
        ([], true) => {
            let result = if needs_password(app, s)? {
                Err(Error::form(
                    "password",
                    "err.passkey_reauth",
                    "enter your password again to add a passkey",
                ))
            } else {
                app.passkey_register_finish(&req.actor(), s.id, a, req.form.get("credential"))
            };
            match result {
                Ok(()) => {
                    let codes = app.ensure_recovery_codes(&req.actor(), a)?;
                    after_binding(app, req, s, a, codes, "passkey")
                }
                Err(Error::Form(p)) => render(
                    app,
                    req,
                    s,
                    a,
                    &Errors::from_problems(req.locale, &p),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => Err(e),
            }
        }
        (["remove"], true) => {
            if s.stage == Stage::BindFactor {
                return Err(Error::NotFound(req.path.clone()));
            }
            let id: i64 = req
                .form
                .get("passkey")
                .parse()
                .map_err(|_| Error::NotFound("passkey".into()))?;
            if needs_password(app, s)?
                && let Err(e) = app.reauthenticate(s, a, req.form.get("password")).await
            {
                return match e {
                    Error::Form(p) => render(
                        app,
                        req,
                        s,
                        a,
                        &Errors::from_problems(req.locale, &p),
                        StatusCode::BAD_REQUEST,
                    ),
                    other => Err(other),
                };
            }
            app.passkey_remove(&req.actor(), a, id)?;
            Ok(Resp::redirect("/account/passkeys?done=passkey_removed"))
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

fn render(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let rows = app.passkeys(a.id)?;
    let page = v::passkeys(
        &req.chrome(),
        &s.csrf_token,
        &v::PasskeysPage {
            passkeys: &rows,
            needs_password: needs_password(app, s)?,
            binding: s.stage == Stage::BindFactor,
            flash: req.flash(),
            errors,
        },
    );
    Ok(Resp::html(status, page).with_scripts())
}

/// `POST /login/factor/passkey`: request options for the session waiting for its
/// second factor.
pub fn logon_options(app: &App, req: &Request) -> Result<Resp, Error> {
    let (s, a) = match &req.session {
        Some((s, a)) if s.stage == Stage::SecondFactor => (s.clone(), a.clone()),
        Some((s, _)) => return Ok(Resp::redirect(stage_home(s.stage))),
        None => return Ok(Resp::redirect("/login")),
    };
    if !app.logon_methods(&a)?.contains(&Method::Passkey) {
        return json_error(req, Error::NotFound("passkey".into()));
    }
    match app.passkey_logon_start(s.id, &a) {
        Ok(options) => options_json(&options),
        Err(e) => json_error(req, e),
    }
}
