//! My Account: `/account` and its forms.

use warp::http::StatusCode;

use super::require_user;
use crate::app::App;
use crate::delivery::Channel;
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::sessions::{Session, Stage};
use crate::web::request::{Params, Request};
use crate::web::response::Resp;
use crate::web::views::{self, layout::Errors};

pub async fn route(app: &App, req: &Request, rest: &[&str], post: bool) -> Result<Resp, Error> {
    let (session, account) = match require_user(req) {
        Ok(u) => u,
        Err(resp) => return Ok(resp),
    };
    match (rest, post) {
        ([], false) => show(
            app,
            req,
            &session,
            &account,
            &Errors::none(),
            None,
            StatusCode::OK,
        ),
        (["profile"], true) => profile(app, req, &session, &account),
        (["fields"], true) => fields(app, req, &session, &account),
        (["password"], false) => password_page(app, req, &session, &Errors::none(), StatusCode::OK),
        (["password"], true) => change_password(app, req, &session, &account).await,
        (["email", rest @ ..], _) => {
            super::factors::contact(app, req, &session, &account, Channel::Email, rest, post).await
        }
        (["mobile", rest @ ..], _) => {
            super::factors::contact(app, req, &session, &account, Channel::Sms, rest, post).await
        }
        (["otp", rest @ ..], _) => {
            super::factors::otp(app, req, &session, &account, rest, post).await
        }
        (["passkeys", rest @ ..], _) => {
            super::passkeys::route(app, req, &session, &account, rest, post).await
        }
        (["recovery"], true) => super::factors::regenerate_recovery(app, req, &account),
        (["sessions", "revoke"], true) => {
            let id: i64 = req
                .form
                .get("session")
                .parse()
                .map_err(|_| Error::NotFound("session".into()))?;
            if id == session.id {
                return Ok(Resp::redirect("/account"));
            }
            app.revoke_session(&req.actor(), &account, id)?;
            Ok(Resp::redirect("/account?done=session"))
        }
        (["sessions", "revoke-others"], true) => {
            app.revoke_other_sessions(&req.actor(), &account, Some(session.id))?;
            Ok(Resp::redirect("/account?done=sessions"))
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

fn show(
    app: &App,
    req: &Request,
    session: &Session,
    account: &Account,
    errors: &Errors,
    submitted: Option<&Params>,
    status: StatusCode,
) -> Result<Resp, Error> {
    let o = app.overview(account)?;
    let security = views::account::SecuritySummary {
        otp_enabled: o.otp_enabled,
        passkey_enabled: app.settings()?.flag("mfa.passkey"),
        passkeys: o.factors.passkeys as usize,
        otp_bound: o.factors.otp_bound,
        has_factor: o.factors.any(),
        recovery_left: o.factors.recovery_codes_left,
    };
    let bindings = &o.bindings;
    let connectors: Vec<views::account::ConnectorRow> = app
        .usable_connectors()
        .into_iter()
        .filter_map(|c| {
            let b = bindings.iter().find(|b| b.connector_id == c.id);
            // Offered when binding is on; always listed once bound.
            (c.bind || b.is_some()).then(|| views::account::ConnectorRow {
                id: c.id.clone(),
                name: c.name.clone(),
                binding: b.map(|b| {
                    let shown = if b.display.is_empty() {
                        b.subject.clone()
                    } else {
                        b.display.clone()
                    };
                    (shown, b.kind == crate::store::bindings::Kind::Auto)
                }),
            })
        })
        .collect();
    let needs_password = !app.recently_authenticated(session)?;
    let in_app = match in_app_browser(&req.client.user_agent) {
        Some(key) => {
            let url = format!("{}/account", app.config.base_url());
            Some(views::account::InApp {
                app_key: key,
                qr: super::qr_data_uri(&url)?,
                url,
            })
        }
        None => None,
    };
    // The bind forms' redirect goes to the IdP: CSP `form-action` must allow it.
    let form_origins = app.bind_origins(bindings);
    let page = views::account::account(
        &req.chrome(),
        &session.csrf_token,
        &views::account::AccountPage {
            account,
            fields: &o.fields,
            sessions: &o.sessions,
            session_count: o.session_count,
            current_session: session.id,
            activity: &o.activity,
            errors,
            submitted,
            flash: if submitted.is_none() {
                req.flash()
            } else {
                None
            },
            security,
            connectors: &connectors,
            needs_password,
            in_app: in_app.as_ref(),
        },
    );
    let mut resp = Resp::html(status, page);
    if !form_origins.is_empty() {
        resp.form_action_origin = Some(form_origins.join(" "));
    }
    Ok(resp)
}

/// Re-shows My Account with the problems next to their fields, or passes other errors on.
fn reshow(
    app: &App,
    req: &Request,
    session: &Session,
    account: &Account,
    e: Error,
) -> Result<Resp, Error> {
    match e {
        Error::Form(problems) => {
            let errors = Errors::from_problems(req.locale, &problems);
            show(
                app,
                req,
                session,
                account,
                &errors,
                Some(&req.form),
                StatusCode::BAD_REQUEST,
            )
        }
        other => Err(other),
    }
}

fn profile(app: &App, req: &Request, session: &Session, account: &Account) -> Result<Resp, Error> {
    match app.update_names(
        &req.actor(),
        account.id,
        req.form.get("account_name"),
        req.form.get("display_name"),
    ) {
        Ok(()) => Ok(Resp::redirect("/account?done=profile")),
        Err(e) => reshow(app, req, session, account, e),
    }
}

fn fields(app: &App, req: &Request, session: &Session, account: &Account) -> Result<Resp, Error> {
    match app.update_field_values(&req.actor(), account.id, &req.form.to_map(), false) {
        Ok(_) => Ok(Resp::redirect("/account?done=fields")),
        Err(e) => reshow(app, req, session, account, e),
    }
}

fn password_page(
    app: &App,
    req: &Request,
    session: &Session,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
    let expired = session.stage == Stage::PasswordExpired;
    let page =
        views::account::password(&req.chrome(), &session.csrf_token, &policy, expired, errors);
    Ok(Resp::html(status, page))
}

async fn change_password(
    app: &App,
    req: &Request,
    session: &Session,
    account: &Account,
) -> Result<Resp, Error> {
    let f = &req.form;
    let result = if f.get("new_password") != f.get("new_password_confirm") {
        Err(Error::form(
            "new_password_confirm",
            "err.confirm_mismatch",
            "the passwords do not match",
        ))
    } else {
        app.change_password(
            &req.actor(),
            account.id,
            Some(session.id),
            f.get("current_password"),
            f.get("new_password"),
        )
        .await
    };
    match result {
        Ok(()) => Ok(Resp::redirect("/account?done=password")),
        Err(Error::Form(problems)) => {
            let errors = Errors::from_problems(req.locale, &problems);
            password_page(app, req, session, &errors, StatusCode::BAD_REQUEST)
        }
        Err(e) => Err(e),
    }
}

/// The translation key of the app whose built-in browser this is, for the apps whose
/// browsers break logons (no password managers, no security keys, cookies that vanish).
pub fn in_app_browser(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("dingtalk") {
        Some("inapp.dingtalk")
    } else if ua.contains("wxwork") {
        Some("inapp.wecom")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::in_app_browser;

    #[test]
    fn in_app_browsers_are_recognised_by_their_user_agent() {
        let dingtalk = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
            (KHTML, like Gecko) Mobile/15E148 AliApp(DingTalk/7.5.0) com.laiwang.DingTalk/123 \
            Channel/201200 language/zh-Hans-CN UT4Aplus/0.0.6 WK";
        let wecom = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) \
            Chrome/107.0 Mobile Safari/537.36 wxwork/4.1.10 MicroMessenger/7.0.1 Language/zh";
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
            Chrome/120.0 Safari/537.36";
        assert_eq!(in_app_browser(dingtalk), Some("inapp.dingtalk"));
        assert_eq!(in_app_browser(wecom), Some("inapp.wecom"));
        assert_eq!(in_app_browser(chrome), None);
        assert_eq!(in_app_browser(""), None);
    }
}
