//! Logon, logout, the first-run setup and the language switcher.

use warp::http::StatusCode;

use super::super::request::{CSRF_COOKIE, LANG_COOKIE, Request, SESSION_COOKIE, safe_next};
use super::super::response::{Resp, cookie, expired_cookie};
use super::super::views::{self, layout::Errors};
use crate::app::App;
use crate::app::accounts::NewAccountInput;
use crate::error::Error;
use crate::i18n::Locale;
use crate::store::sessions::Stage;

/// The pre-logon CSRF token: the browser's cookie, or a new one to set.
pub fn anonymous_csrf(req: &Request) -> (String, Option<String>) {
    match req.cookie(CSRF_COOKIE) {
        Some(t) => (t.to_string(), None),
        None => {
            let t = crate::tokens::new_token();
            (t.clone(), Some(t))
        }
    }
}

pub fn with_csrf_cookie(app: &App, resp: Resp, new: Option<String>) -> Resp {
    match new {
        Some(t) => resp.with_cookie(cookie(
            CSRF_COOKIE,
            &t,
            "Strict",
            app.config.secure_cookies(),
            None,
        )),
        None => resp,
    }
}

pub fn session_cookie(app: &App, token: &str) -> String {
    // SameSite=Lax: the cookie follows top-level navigations (links, IdP redirects back).
    cookie(
        SESSION_COOKIE,
        token,
        "Lax",
        app.config.secure_cookies(),
        None,
    )
}

pub fn login_page(app: &App, req: &Request) -> Result<Resp, Error> {
    let next = safe_next(req.query.get("next")).unwrap_or_default();
    if req.session.is_some() {
        return Ok(Resp::redirect(&req.next_path(&next)));
    }
    let (csrf, new) = anonymous_csrf(req);
    let page = views::auth::login(
        &req.chrome(),
        &csrf,
        "",
        &next,
        &Errors::none(),
        req.flash(),
        &login_connectors(app),
    );
    Ok(with_csrf_cookie(app, Resp::page(page), new))
}

pub async fn login(app: &App, req: &Request) -> Result<Resp, Error> {
    let username = req.form.get("username");
    let next = safe_next(req.form.get("next")).unwrap_or_default();
    match app
        .logon(
            username,
            req.form.get("password"),
            &req.client,
            req.cookie(SESSION_COOKIE),
        )
        .await
    {
        Ok(logon) => {
            let to = match logon.session.stage {
                Stage::PasswordExpired => "/account/password".to_string(),
                Stage::SecondFactor => "/login/factor".to_string(),
                Stage::BindFactor => "/login/bind".to_string(),
                Stage::Active => req.next_path(&next),
            };
            Ok(Resp::redirect(&to).with_cookie(session_cookie(app, &logon.token)))
        }
        Err(Error::Form(problems)) => {
            let errors = Errors::from_problems(req.locale, &problems);
            let csrf = req.csrf_token().unwrap_or_default();
            let page = views::auth::login(
                &req.chrome(),
                csrf,
                username.trim(),
                &next,
                &errors,
                None,
                &login_connectors(app),
            );
            Ok(Resp::html(StatusCode::UNAUTHORIZED, page))
        }
        Err(e) => Err(e),
    }
}

pub fn logout(app: &App, req: &Request) -> Result<Resp, Error> {
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        app.logout(token, &req.client)?;
    }
    Ok(Resp::redirect("/login?done=logout")
        .with_cookie(expired_cookie(SESSION_COOKIE, app.config.secure_cookies())))
}

fn setup_gone(req: &Request) -> Resp {
    let l = req.locale;
    Resp::html(
        StatusCode::NOT_FOUND,
        views::auth::error(&req.chrome(), &l.t("setup.gone_title"), &l.t("setup.gone")),
    )
}

pub fn setup_page(app: &App, req: &Request) -> Result<Resp, Error> {
    let token = req.query.get("token");
    if !app.setup_token_valid(token)? {
        return Ok(setup_gone(req));
    }
    let (csrf, new) = anonymous_csrf(req);
    let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
    let values = views::auth::SetupValues {
        account_name: "",
        display_name: "",
        email: "",
    };
    let page = views::auth::setup(
        &req.chrome(),
        &csrf,
        token,
        &values,
        &policy,
        &Errors::none(),
    );
    Ok(with_csrf_cookie(app, Resp::page(page), new))
}

pub async fn setup(app: &App, req: &Request) -> Result<Resp, Error> {
    let f = &req.form;
    let token = f.get("token");
    if !app.setup_token_valid(token)? {
        return Ok(setup_gone(req));
    }
    let input = NewAccountInput {
        account_name: f.get("account_name").to_string(),
        display_name: f.get("display_name").to_string(),
        email: f.get("email").to_string(),
        mobile: String::new(),
        is_admin: true,
        password: f.get("password").to_string(),
    };
    let result = if f.get("password") != f.get("password_confirm") {
        Err(Error::form(
            "password_confirm",
            "err.confirm_mismatch",
            "the passwords do not match",
        ))
    } else {
        app.complete_setup(token, &input, &req.client).await
    };
    match result {
        Ok(logon) => Ok(Resp::redirect("/admin").with_cookie(session_cookie(app, &logon.token))),
        Err(Error::Form(problems)) => {
            let errors = Errors::from_problems(req.locale, &problems);
            let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
            let values = views::auth::SetupValues {
                account_name: f.get("account_name"),
                display_name: f.get("display_name"),
                email: f.get("email"),
            };
            let csrf = req.csrf_token().unwrap_or_default();
            let page = views::auth::setup(&req.chrome(), csrf, token, &values, &policy, &errors);
            Ok(Resp::html(StatusCode::BAD_REQUEST, page))
        }
        Err(e) => Err(e),
    }
}

/// `GET /lang?to=zh-CN&next=/account`: remembers the choice for a year.
pub fn switch_language(app: &App, req: &Request) -> Resp {
    let next = safe_next(req.query.get("next")).unwrap_or_else(|| "/".into());
    match Locale::parse(req.query.get("to")) {
        Some(l) => Resp::redirect(&next).with_cookie(cookie(
            LANG_COOKIE,
            l.code(),
            "Lax",
            app.config.secure_cookies(),
            Some(365 * 86_400),
        )),
        None => Resp::redirect(&next),
    }
}

/// The connectors offered on the logon page: (id, name).
fn login_connectors(app: &App) -> Vec<(String, String)> {
    app.usable_connectors()
        .into_iter()
        .filter(|c| c.login)
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect()
}

/// `GET/POST /login/name`: an account without a name chooses one before anything else.
pub fn choose_name(app: &App, req: &Request, post: bool) -> Result<Resp, Error> {
    let (s, a) = match &req.session {
        Some((s, a)) if s.stage == Stage::Active => (s, a),
        Some((s, _)) => return Ok(Resp::redirect(super::factors::stage_home(s.stage))),
        None => return Ok(Resp::redirect("/login")),
    };
    if a.account_name.is_some() {
        return Ok(Resp::redirect("/account"));
    }
    let csrf = s.csrf_token.as_str();
    if !post {
        return Ok(Resp::page(views::auth::choose_name(
            &req.chrome(),
            csrf,
            "",
            &Errors::none(),
        )));
    }
    let value = req.form.get("account_name");
    match app.choose_account_name(&req.actor(), a.id, value) {
        Ok(_) => Ok(Resp::redirect("/account?done=profile")),
        Err(Error::Form(p)) => Ok(Resp::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::auth::choose_name(
                &req.chrome(),
                csrf,
                value.trim(),
                &Errors::from_problems(req.locale, &p),
            ),
        )),
        Err(e) => Err(e),
    }
}
