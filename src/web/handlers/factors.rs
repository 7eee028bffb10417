//! Second factors: the logon prompt (`/login/factor`), forced binding (`/login/bind`),
//! binding email and mobile, the OTP authenticator and recovery codes.

use warp::http::StatusCode;

use super::auth::session_cookie;
use crate::app::App;
use crate::app::factors::{Method, mask};
use crate::delivery::Channel;
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::codes::{Owner, Purpose};
use crate::store::sessions::{Session, Stage};
use crate::web::request::Request;
use crate::web::response::Resp;
use crate::web::views::factors::{self as v, ContactStep, OtpState};
use crate::web::views::layout::Errors;

pub(super) fn stage_home(stage: Stage) -> &'static str {
    match stage {
        Stage::Active => "/account",
        Stage::PasswordExpired => "/account/password",
        Stage::SecondFactor => "/login/factor",
        Stage::BindFactor => "/login/bind",
    }
}

/// The session waiting for its second factor, or where to go instead.
fn pending(req: &Request) -> Result<(Session, Account), Resp> {
    match &req.session {
        Some((s, a)) if s.stage == Stage::SecondFactor => Ok((s.clone(), a.clone())),
        Some((s, _)) => Err(Resp::redirect(stage_home(s.stage))),
        None => Err(Resp::redirect("/login")),
    }
}

fn render_prompt(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    method: Option<Method>,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let methods = app.logon_methods(a)?;
    let Some(&first) = methods.first() else {
        // Nothing usable any more (e.g. the admin reset the authenticator): let them on.
        let (token, stage) =
            app.advance_session(&req.actor(), s, a, "logon.second_factor_skipped")?;
        return Ok(Resp::redirect(stage_home(stage)).with_cookie(session_cookie(app, &token)));
    };
    let current = method.filter(|m| methods.contains(m)).unwrap_or(first);
    let (purpose, target) = match current {
        Method::Sms => (Some(Purpose::LogonSms), a.mobile.clone()),
        Method::Email => (Some(Purpose::LogonEmail), a.email.clone()),
        _ => (None, None),
    };
    let sent = match purpose {
        Some(p) => app.pending_code_target(p, s.id)?.map(|t| mask(&t)),
        None => None,
    };
    let target = target.map(|t| mask(&t));
    let page = v::prompt(
        &req.chrome(),
        &s.csrf_token,
        &v::Prompt {
            methods: &methods,
            current,
            sent_to: sent.as_deref(),
            target: target.as_deref(),
            errors,
        },
    );
    let resp = Resp::html(status, page);
    Ok(if current == Method::Passkey {
        resp.with_scripts()
    } else {
        resp
    })
}

pub fn factor_page(app: &App, req: &Request) -> Result<Resp, Error> {
    let (s, a) = match pending(req) {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    render_prompt(
        app,
        req,
        &s,
        &a,
        Method::parse(req.query.get("method")),
        &Errors::none(),
        StatusCode::OK,
    )
}

pub async fn factor_send(app: &App, req: &Request) -> Result<Resp, Error> {
    let (s, a) = match pending(req) {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let method = Method::parse(req.form.get("method"));
    let (purpose, channel, target) = match method {
        Some(Method::Sms) if app.factors(&a)?.sms => {
            (Purpose::LogonSms, Channel::Sms, a.mobile.clone())
        }
        Some(Method::Email) if app.factors(&a)?.email => {
            (Purpose::LogonEmail, Channel::Email, a.email.clone())
        }
        _ => return Ok(Resp::redirect("/login/factor")),
    };
    let target = target.unwrap_or_default();
    match app
        .send_code(
            req.locale,
            purpose,
            &a,
            Owner::Session(s.id),
            channel,
            &target,
            "code",
        )
        .await
    {
        Ok(()) => Ok(Resp::redirect(&format!(
            "/login/factor?method={}",
            method.map(|m| m.as_str()).unwrap_or("")
        ))),
        Err(Error::Form(p)) => render_prompt(
            app,
            req,
            &s,
            &a,
            method,
            &Errors::from_problems(req.locale, &p),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

pub fn factor_submit(app: &App, req: &Request) -> Result<Resp, Error> {
    let (s, a) = match pending(req) {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let Some(method) = Method::parse(req.form.get("method"))
        .filter(|m| app.logon_methods(&a).is_ok_and(|ms| ms.contains(m)))
    else {
        return Ok(Resp::redirect("/login/factor"));
    };
    let checked = if method == Method::Passkey {
        app.passkey_logon_finish(&req.actor(), s.id, &a, req.form.get("credential"))
    } else {
        app.check_second_factor(&a, method, s.id, req.form.get("code"))
    };
    match checked {
        Ok(()) => {
            let (token, stage) =
                app.advance_session(&req.actor(), &s, &a, "logon.second_factor")?;
            Ok(Resp::redirect(stage_home(stage)).with_cookie(session_cookie(app, &token)))
        }
        Err(Error::Form(p)) => {
            let actor = req.actor();
            app.audit(
                &actor,
                "logon.second_factor_failed",
                Some((a.id, &a.label())),
                method.as_str(),
            )?;
            render_prompt(
                app,
                req,
                &s,
                &a,
                Some(method),
                &Errors::from_problems(req.locale, &p),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => Err(e),
    }
}

pub fn bind_page(app: &App, req: &Request) -> Result<Resp, Error> {
    match &req.session {
        Some((s, _)) if s.stage == Stage::BindFactor => {
            let methods = app.bindable_factors(&*app.settings()?);
            Ok(Resp::page(v::bind_choice(&req.chrome(), &methods)))
        }
        Some((s, _)) => Ok(Resp::redirect(stage_home(s.stage))),
        None => Ok(Resp::redirect("/login")),
    }
}

/// After a factor is bound: leave the forced-binding stage, and show recovery codes
/// if this made the first ones.
pub(super) fn after_binding(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    codes: Option<Vec<String>>,
    done: &str,
) -> Result<Resp, Error> {
    let mut cookie = None;
    let mut next = format!("/account?done={done}");
    if s.stage == Stage::BindFactor && app.factors(a)?.any() {
        let (token, stage) = app.advance_session(&req.actor(), s, a, "logon.factor_bound")?;
        cookie = Some(session_cookie(app, &token));
        next = stage_home(stage).to_string();
    }
    let resp = match codes {
        Some(codes) => Resp::page(v::recovery_codes(&req.chrome(), &codes, &next)),
        None => Resp::redirect(&next),
    };
    Ok(match cookie {
        Some(c) => resp.with_cookie(c),
        None => resp,
    })
}

pub(super) fn needs_password(app: &App, s: &Session) -> Result<bool, Error> {
    Ok(s.stage != Stage::BindFactor && !app.recently_authenticated(s)?)
}

pub async fn contact(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    channel: Channel,
    rest: &[&str],
    post: bool,
) -> Result<Resp, Error> {
    // While binding is forced, only the methods that would count may be bound here.
    if s.stage == Stage::BindFactor {
        let method = if channel == Channel::Email {
            Method::Email
        } else {
            Method::Sms
        };
        if !app.bindable_factors(&*app.settings()?).contains(&method) {
            return Ok(Resp::redirect("/login/bind"));
        }
    }
    let purpose = if channel == Channel::Email {
        Purpose::BindEmail
    } else {
        Purpose::BindMobile
    };
    let current = if channel == Channel::Email {
        a.email.clone()
    } else {
        a.mobile.clone()
    };
    let render =
        |step: ContactStep<'_>, errors: &Errors, status: StatusCode| -> Result<Resp, Error> {
            let page = v::contact(
                &req.chrome(),
                &s.csrf_token,
                &v::ContactPage {
                    channel,
                    current: current.as_deref(),
                    available: app.delivery.available(channel),
                    step,
                    needs_password: needs_password(app, s)?,
                    errors,
                },
            );
            Ok(Resp::html(status, page))
        };
    match (rest, post) {
        ([], false) => match app.pending_code_target(purpose, s.id)? {
            Some(t) if req.query.get("again").is_empty() => render(
                ContactStep::Confirm { masked: &mask(&t) },
                &Errors::none(),
                StatusCode::OK,
            ),
            _ => render(
                ContactStep::Enter { value: "" },
                &Errors::none(),
                StatusCode::OK,
            ),
        },
        ([], true) => {
            let value = req.form.get(channel.field());
            let mut result = Ok(());
            if needs_password(app, s)? {
                result = app.reauthenticate(s, a, req.form.get("password")).await;
            }
            let result = match result {
                Ok(()) => {
                    app.start_contact_binding(req.locale, s.id, a, channel, value)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(target) => render(
                    ContactStep::Confirm {
                        masked: &mask(&target),
                    },
                    &Errors::none(),
                    StatusCode::OK,
                ),
                Err(Error::Form(p)) => render(
                    ContactStep::Enter { value },
                    &Errors::from_problems(req.locale, &p),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => Err(e),
            }
        }
        (["confirm"], true) => {
            match app
                .confirm_contact_binding(
                    req.locale,
                    &req.actor(),
                    s.id,
                    a,
                    channel,
                    req.form.get("code"),
                )
                .await
            {
                Ok(()) => {
                    let fresh = app.account(a.id)?;
                    let is_factor = app.settings()?.flag(if channel == Channel::Email {
                        "mfa.email"
                    } else {
                        "mfa.sms"
                    });
                    let codes = if is_factor {
                        app.ensure_recovery_codes(&req.actor(), &fresh)?
                    } else {
                        None
                    };
                    after_binding(app, req, s, &fresh, codes, channel.as_str())
                }
                Err(Error::Form(p)) => {
                    let errors = Errors::from_problems(req.locale, &p);
                    // A wrong code leaves the confirmation form usable while the code lives.
                    match app.pending_code_target(purpose, s.id)? {
                        Some(t) => render(
                            ContactStep::Confirm { masked: &mask(&t) },
                            &errors,
                            StatusCode::BAD_REQUEST,
                        ),
                        None => render(
                            ContactStep::Enter { value: "" },
                            &errors,
                            StatusCode::BAD_REQUEST,
                        ),
                    }
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

pub async fn otp(
    app: &App,
    req: &Request,
    s: &Session,
    a: &Account,
    rest: &[&str],
    post: bool,
) -> Result<Resp, Error> {
    if !app.settings()?.flag("mfa.otp") {
        return Err(Error::NotFound(req.path.clone()));
    }
    let render = |errors: &Errors, status: StatusCode| -> Result<Resp, Error> {
        let setup = app.otp_setup(a)?;
        let qr;
        let state = match &setup {
            Some((secret, uri)) => {
                qr = super::qr_data_uri(uri)?;
                OtpState::Setup {
                    secret,
                    uri,
                    qr: &qr,
                }
            }
            None => OtpState::Bound,
        };
        let page = v::otp(
            &req.chrome(),
            &s.csrf_token,
            &state,
            needs_password(app, s)?,
            errors,
        );
        Ok(Resp::html(status, page))
    };
    match (rest, post) {
        ([], false) => render(&Errors::none(), StatusCode::OK),
        (["confirm"], true) => {
            let mut result = Ok(());
            if needs_password(app, s)? {
                result = app.reauthenticate(s, a, req.form.get("password")).await;
            }
            match result.and_then(|_| app.otp_confirm(&req.actor(), a, req.form.get("code"))) {
                Ok(codes) => after_binding(app, req, s, a, codes, "otp"),
                Err(Error::Form(p)) => render(
                    &Errors::from_problems(req.locale, &p),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => Err(e),
            }
        }
        (["unbind"], true) => match app
            .otp_unbind(
                &req.actor(),
                a,
                req.form.get("code"),
                req.form.get("password"),
            )
            .await
        {
            Ok(()) => Ok(Resp::redirect("/account?done=otp_removed")),
            Err(Error::Form(p)) => render(
                &Errors::from_problems(req.locale, &p),
                StatusCode::BAD_REQUEST,
            ),
            Err(e) => Err(e),
        },
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

/// `POST /account/recovery`: ten new recovery codes, shown once.
pub fn regenerate_recovery(app: &App, req: &Request, a: &Account) -> Result<Resp, Error> {
    if !app.factors(a)?.any() {
        return Ok(Resp::redirect("/account"));
    }
    let codes = app.regenerate_recovery_codes(&req.actor(), a)?;
    Ok(Resp::page(v::recovery_codes(
        &req.chrome(),
        &codes,
        "/account",
    )))
}
