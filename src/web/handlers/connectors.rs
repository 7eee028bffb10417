//! Federated logon and binding: `/connectors/{id}/login|bind|callback|unbind`.

use warp::http::StatusCode;

use super::auth::session_cookie;
use super::require_user;
use crate::app::App;
use crate::app::federation::{Outcome, Purpose};
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::sessions::{Session, Stage};
use crate::web::request::{FLOW_COOKIE, Request};
use crate::web::response::{Resp, cookie, expired_cookie};
use crate::web::views;

/// A failed sign-in, explained (the detail went to the log).
fn failure(req: &Request, e: Error) -> Result<Resp, Error> {
    let l = req.locale;
    match e {
        Error::Form(problems) => {
            let p = &problems[0];
            let mut message = l.t(p.key).into_owned();
            if matches!(p.key, "err.connector_failed" | "err.connector_refused") {
                // The connector's own sentence (plugins speak English).
                message = format!("{message} {}", p.english);
            }
            let status = match p.key {
                "err.connector_failed" => StatusCode::BAD_GATEWAY,
                "err.sign_in_cancelled" => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            Ok(Resp::html(
                status,
                views::auth::error(&req.chrome(), &l.t("federation.failed_title"), &message),
            ))
        }
        other => Err(other),
    }
}

fn flow_cookie(app: &App, token: &str) -> String {
    // Lax: the IdP's redirect back is a top-level GET from another site.
    cookie(
        FLOW_COOKIE,
        token,
        "Lax",
        app.config.secure_cookies(),
        Some(600),
    )
}

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

/// A sensitive change goes ahead after a recent logon, or with the password again
/// (a wrong or missing one is the one "confirm your password" message).
async fn recent_or_password(
    app: &App,
    req: &Request,
    session: &Session,
    account: &Account,
    what: &'static str,
) -> Result<(), Error> {
    if app.recently_authenticated(session)? {
        return Ok(());
    }
    match app
        .reauthenticate(session, account, req.form.get("password"))
        .await
    {
        Err(Error::Form(_)) => Err(Error::form(
            "connector",
            "err.reauth_needed",
            format!("confirm your password {what}"),
        )),
        other => other,
    }
}

pub async fn route(
    app: &App,
    req: &Request,
    id: &str,
    action: &str,
    post: bool,
) -> Result<Resp, Error> {
    match (action, post) {
        ("login", false) => {
            let token = crate::tokens::new_token();
            match app.begin_federation(id, Purpose::Login, &token).await {
                Ok(url) => Ok(Resp::redirect(&url).with_cookie(flow_cookie(app, &token))),
                Err(e) => failure(req, e),
            }
        }
        ("bind", true) => {
            let (session, account) = match require_user(req) {
                Ok(u) => u,
                Err(r) => return Ok(r),
            };
            // Binding is a sensitive change: a recent logon, or the password again.
            if let Err(e) = recent_or_password(app, req, &session, &account, "to bind").await {
                return failure(req, e);
            }
            let token = crate::tokens::new_token();
            match app
                .begin_federation(id, Purpose::Bind(account.id), &token)
                .await
            {
                Ok(url) => {
                    let mut r = Resp::redirect(&url).with_cookie(flow_cookie(app, &token));
                    r.form_action_origin = origin_of(&url);
                    Ok(r)
                }
                Err(e) => failure(req, e),
            }
        }
        ("callback", false) => {
            let query: Vec<(String, String)> =
                url::form_urlencoded::parse(req.raw_query.as_bytes())
                    .into_owned()
                    .collect();
            let clear = expired_cookie(FLOW_COOKIE, app.config.secure_cookies());
            match app
                .complete_federation(id, query, req.cookie(FLOW_COOKIE), &req.client)
                .await
            {
                Ok(Outcome::LoggedOn(logon)) => {
                    let to = match logon.session.stage {
                        Stage::PasswordExpired => "/account/password",
                        Stage::SecondFactor => "/login/factor",
                        Stage::BindFactor => "/login/bind",
                        Stage::Active => "/account",
                    };
                    Ok(Resp::redirect(to)
                        .with_cookie(session_cookie(app, &logon.token))
                        .with_cookie(clear))
                }
                Ok(Outcome::Bound { .. }) => {
                    Ok(Resp::redirect("/account?done=bound").with_cookie(clear))
                }
                Err(e) => failure(req, e).map(|r| r.with_cookie(clear)),
            }
        }
        ("unbind", true) => {
            let (session, account) = match require_user(req) {
                Ok(u) => u,
                Err(r) => return Ok(r),
            };
            // Unbinding is a sensitive change too.
            if let Err(e) = recent_or_password(app, req, &session, &account, "to unbind").await {
                return failure(req, e);
            }
            match app.unbind(&req.actor(), &account, id) {
                Ok(()) => Ok(Resp::redirect("/account?done=unbound")),
                Err(e) => failure(req, e),
            }
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}
