//! The admin console: `/admin/…`, admins only (everyone else gets 403).

use warp::http::StatusCode;

use super::{forbidden, require_user};
use crate::app::App;
use crate::app::accounts::NewAccountInput;
use crate::domain::account::Account;
use crate::domain::fields::{FieldKind, FieldSpec, UserAccess};
use crate::domain::settings::SETTINGS;
use crate::error::Error;
use crate::store::{self, audit::Filter};
use crate::web::request::{Params, Request};
use crate::web::response::Resp;
use crate::web::views::{self, layout::Errors};

pub async fn route(app: &App, req: &Request, rest: &[&str], post: bool) -> Result<Resp, Error> {
    let (session, me) = match require_user(req) {
        Ok(u) => u,
        Err(resp) => return Ok(resp),
    };
    if !me.is_admin {
        return Ok(forbidden(req));
    }
    let csrf = session.csrf_token.as_str();
    let id = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| Error::NotFound(req.path.clone()))
    };
    match (rest, post) {
        ([], false) => {
            let (accounts, fields) = app.store.read(|c| {
                Ok::<_, Error>((store::accounts::count(c)?, store::fields::list(c)?.len()))
            })?;
            Ok(Resp::page(views::admin::overview(
                &req.chrome(),
                accounts,
                fields,
                &*app.settings()?,
            )))
        }
        (["accounts"], false) => accounts(app, req, csrf, None, &Errors::none(), StatusCode::OK),
        (["accounts"], true) => create_account(app, req, csrf).await,
        (["accounts", a], false) => account(
            app,
            req,
            csrf,
            &me,
            id(a)?,
            &Errors::none(),
            None,
            StatusCode::OK,
        ),
        (["accounts", a, action], true) => {
            account_action(app, req, csrf, &me, id(a)?, action).await
        }
        (["fields"], false) => fields(app, req, csrf, None, &Errors::none(), StatusCode::OK),
        (["fields"], true) => match app.add_field(&req.actor(), spec_from(&req.form)?) {
            Ok(_) => Ok(Resp::redirect("/admin/fields?done=created")),
            Err(Error::Form(p)) => fields(
                app,
                req,
                csrf,
                Some(&req.form),
                &Errors::from_problems(req.locale, &p),
                StatusCode::BAD_REQUEST,
            ),
            Err(e) => Err(e),
        },
        (["fields", f], false) => {
            let def = app.field(id(f)?)?;
            Ok(Resp::page(views::admin::field_edit(
                &req.chrome(),
                csrf,
                &def,
                None,
                &Errors::none(),
            )))
        }
        (["fields", f], true) => {
            let fid = id(f)?;
            match app.update_field(&req.actor(), fid, spec_from(&req.form)?) {
                Ok(()) => Ok(Resp::redirect("/admin/fields?done=saved")),
                Err(Error::Form(p)) => {
                    let def = app.field(fid)?;
                    let errors = Errors::from_problems(req.locale, &p);
                    let page = views::admin::field_edit(
                        &req.chrome(),
                        csrf,
                        &def,
                        Some(&req.form),
                        &errors,
                    );
                    Ok(Resp::html(StatusCode::BAD_REQUEST, page))
                }
                Err(e) => Err(e),
            }
        }
        (["fields", f, "delete"], true) => {
            app.delete_field(&req.actor(), id(f)?)?;
            Ok(Resp::redirect("/admin/fields?done=deleted"))
        }
        (["fields", f, "move"], true) => {
            let delta = if req.form.get("dir") == "up" { -1 } else { 1 };
            app.move_field(&req.actor(), id(f)?, delta)?;
            Ok(Resp::redirect("/admin/fields"))
        }
        (["settings"], false) => {
            let page = views::admin::settings(
                &req.chrome(),
                csrf,
                &*app.settings()?,
                None,
                &Errors::none(),
                req.flash(),
            );
            Ok(Resp::page(page))
        }
        (["settings"], true) => {
            let pairs: Vec<(String, String)> = SETTINGS
                .iter()
                .filter(|d| req.form.has(d.key))
                .map(|d| {
                    // A checked box posts "false" (hidden) then "true": the last value wins.
                    let v = req.form.all(d.key).pop().unwrap_or_default();
                    (d.key.to_string(), v)
                })
                .collect();
            match app.set_settings(&req.actor(), &pairs) {
                Ok(()) => Ok(Resp::redirect("/admin/settings?done=saved")),
                Err(Error::Form(p)) => {
                    let errors = Errors::from_problems(req.locale, &p);
                    let page = views::admin::settings(
                        &req.chrome(),
                        csrf,
                        &*app.settings()?,
                        Some(&req.form),
                        &errors,
                        None,
                    );
                    Ok(Resp::html(StatusCode::BAD_REQUEST, page))
                }
                Err(e) => Err(e),
            }
        }
        (["connectors", cid, "import"], post) => import(app, req, csrf, cid, post).await,
        (["connectors", rest @ ..], _) => {
            super::admin_connectors::route(app, req, csrf, rest, post).await
        }
        (["deliveries"], false) => {
            let list = app
                .store
                .read(|c| store::deliveries::recent(c, false, 200))?;
            Ok(Resp::page(views::admin::deliveries(
                &req.chrome(),
                &list,
                app.delivery.available(crate::delivery::Channel::Email),
                app.delivery.available(crate::delivery::Channel::Sms),
            )))
        }
        (["audit"], false) => {
            let filter = Filter {
                event: req.query.get("event").to_string(),
                account: req.query.get("account").to_string(),
                limit: 200,
            };
            let records = app.store.read(|c| store::audit::search(c, &filter))?;
            Ok(Resp::page(views::admin::audit(
                &req.chrome(),
                &filter.event,
                &filter.account,
                &records,
            )))
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

fn accounts(
    app: &App,
    req: &Request,
    csrf: &str,
    submitted: Option<&Params>,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let q = req.query.get("q");
    let list = app.store.read(|c| store::accounts::search(c, q, 500))?;
    let policy = views::account::policy(req.locale, &app.settings()?.password_policy());
    let form = views::admin::NewAccountForm {
        values: submitted,
        errors,
    };
    let flash = if submitted.is_none() {
        req.flash()
    } else {
        None
    };
    Ok(Resp::html(
        status,
        views::admin::accounts(&req.chrome(), csrf, q, &list, &form, &policy, flash),
    ))
}

async fn create_account(app: &App, req: &Request, csrf: &str) -> Result<Resp, Error> {
    let f = &req.form;
    let input = NewAccountInput {
        account_name: f.get("account_name").to_string(),
        display_name: f.get("display_name").to_string(),
        email: f.get("email").to_string(),
        mobile: f.get("mobile").to_string(),
        is_admin: f.get("is_admin") == "true",
        password: f.get("password").to_string(),
    };
    match app.create_account(&req.actor(), &input).await {
        Ok(id) => Ok(Resp::redirect(&format!(
            "/admin/accounts/{id}?done=created"
        ))),
        Err(Error::Form(p)) => accounts(
            app,
            req,
            csrf,
            Some(f),
            &Errors::from_problems(req.locale, &p),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
fn account(
    app: &App,
    req: &Request,
    csrf: &str,
    me: &Account,
    id: i64,
    errors: &Errors,
    submitted: Option<&Params>,
    status: StatusCode,
) -> Result<Resp, Error> {
    let account = app
        .store
        .read(|c| store::accounts::get(c, id))?
        .ok_or_else(|| Error::NotFound("account".into()))?;
    let fields = app.field_values(id, true)?;
    let sessions = app
        .store
        .read(|c| store::sessions::count_for_account(c, id))?;
    let detail = views::admin::AccountDetail {
        account: &account,
        fields: &fields,
        sessions,
        errors,
        submitted,
        flash: if submitted.is_none() {
            req.flash()
        } else {
            None
        },
        policy: views::account::policy(req.locale, &app.settings()?.password_policy()),
        is_self: me.id == id,
        otp_bound: app.otp_bound(id)?,
        passkeys: app.passkeys(id)?.into_iter().map(|k| k.name).collect(),
        recovery_left: app.factors(&account)?.recovery_codes_left,
        bindings: app
            .bindings_of(id)?
            .into_iter()
            .map(|b| {
                (
                    b.connector_id,
                    b.subject,
                    b.kind == crate::store::bindings::Kind::Auto,
                )
            })
            .collect(),
    };
    Ok(Resp::html(
        status,
        views::admin::account(&req.chrome(), csrf, &detail),
    ))
}

async fn account_action(
    app: &App,
    req: &Request,
    csrf: &str,
    me: &Account,
    id: i64,
    action: &str,
) -> Result<Resp, Error> {
    let f = &req.form;
    let actor = req.actor();
    let result = match action {
        "profile" => app.update_names(&actor, id, f.get("account_name"), f.get("display_name")),
        "contacts" => app.admin_set_contacts(&actor, id, f.get("email"), f.get("mobile")),
        "fields" => app
            .update_field_values(&actor, id, &f.to_map(), true)
            .map(|_| ()),
        "flags" => app
            .admin_set_flags(
                &actor,
                id,
                f.get("is_admin") == "true",
                f.get("disabled") == "true",
            )
            .map_err(last_admin),
        "password" => app.reset_password(&actor, id, f.get("password")).await,
        "otp-reset" => app.admin_reset_otp(&actor, id),
        "sessions" => {
            let a = app.account(id)?;
            app.revoke_other_sessions(&actor, &a, None).map(|_| ())
        }
        "delete" => {
            if f.get("confirm") != "yes" {
                Err(Error::form(
                    "confirm",
                    "err.delete_confirm",
                    "tick the box to confirm the deletion",
                ))
            } else if id == me.id {
                Err(Error::form(
                    "confirm",
                    "err.delete_self",
                    "you cannot delete your own account",
                ))
            } else {
                match app.delete_account(&actor, id).map_err(last_admin) {
                    Ok(()) => return Ok(Resp::redirect("/admin/accounts?done=deleted")),
                    Err(e) => Err(e),
                }
            }
        }
        _ => return Err(Error::NotFound(req.path.clone())),
    };
    match result {
        Ok(()) => {
            let done = if action == "password" {
                "reset"
            } else {
                "saved"
            };
            Ok(Resp::redirect(&format!("/admin/accounts/{id}?done={done}")))
        }
        Err(Error::Form(p)) => {
            let errors = Errors::from_problems(req.locale, &p);
            account(
                app,
                req,
                csrf,
                me,
                id,
                &errors,
                Some(f),
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}

/// The last-admin refusal, as a form error the admin can read in their language.
fn last_admin(e: Error) -> Error {
    match e {
        Error::Refused(m) if m.contains("last enabled administrator") => {
            Error::form("is_admin", "err.last_admin", m)
        }
        other => other,
    }
}

fn fields(
    app: &App,
    req: &Request,
    csrf: &str,
    submitted: Option<&Params>,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let list = app.fields()?;
    let flash = if submitted.is_none() {
        req.flash()
    } else {
        None
    };
    Ok(Resp::html(
        status,
        views::admin::fields(&req.chrome(), csrf, &list, submitted, errors, flash),
    ))
}

/// A field definition from the console's form (validated by the use case).
fn spec_from(f: &Params) -> Result<FieldSpec, Error> {
    let kind = FieldKind::parse(f.get("kind"))
        .ok_or_else(|| Error::form("kind", "err.field_kind", "unknown field type"))?;
    let user_access = UserAccess::parse(f.get("user_access"))
        .ok_or_else(|| Error::form("user_access", "err.field_access", "unknown user access"))?;
    Ok(FieldSpec {
        key: f.get("key").to_string(),
        label: f.get("label").to_string(),
        kind,
        required: f.get("required") == "true",
        unique: f.get("unique") == "true",
        user_access,
        pattern: Some(f.get("pattern").to_string()),
        options: f
            .get("options")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// `/admin/connectors/{id}/import`: the form (with a dry-run choice), then the report.
async fn import(
    app: &App,
    req: &Request,
    csrf: &str,
    connector: &str,
    post: bool,
) -> Result<Resp, Error> {
    let c = app
        .connector_config(connector)
        .ok_or_else(|| Error::NotFound(req.path.clone()))?;
    let name = c.name.clone();
    if !post {
        return Ok(Resp::page(views::admin::import(
            &req.chrome(),
            csrf,
            connector,
            &name,
            None,
        )));
    }
    let dry_run = req.form.get("dry_run") == "on";
    let outcome = app
        .import_directory(&req.actor(), connector, dry_run, &|_| {})
        .await;
    let (report, status) = match outcome {
        Ok(r) => (Ok(r), StatusCode::OK),
        // A refusal or an unreachable directory is shown on the page, not as an error page.
        Err(Error::Refused(m) | Error::Internal(m)) => (Err(m), StatusCode::BAD_GATEWAY),
        Err(e) => return Err(e),
    };
    Ok(Resp::html(
        status,
        views::admin::import(&req.chrome(), csrf, connector, &name, Some(&report)),
    ))
}
