//! My Account and the password page.

use maud::{Markup, html};

use super::layout::{
    Chrome, Errors, Field, csrf_field, data_table, datetime, device, error_summary, field, flash,
    input_id, page,
};
use crate::app::accounts::field_input_name;
use crate::domain::account::Account;
use crate::domain::fields::{FieldDefinition, FieldKind, UserAccess};
use crate::domain::password_policy::PasswordPolicy;
use crate::i18n::Locale;
use crate::store::audit::Record;
use crate::store::sessions::Session;
use crate::web::request::Params;

/// The password policy, shown before the user types.
pub fn policy(l: Locale, p: &PasswordPolicy) -> Markup {
    html! {
        div.policy id="password-policy" {
            p { strong { (l.t("policy.heading")) } }
            ul {
                li { (l.tn("policy.rule_min", p.min_length)) }
                li { (l.tn("policy.rule_max", p.max_length)) }
                @if p.min_classes > 0 { li { (l.tn("policy.rule_classes", p.min_classes)) } }
                @if p.blocklist { li { (l.t("policy.rule_common")) } }
                @if p.forbid_account_name { li { (l.t("policy.rule_name")) } }
                @if p.history > 0 { li { (l.tn("policy.rule_history", p.history)) } }
                @if p.max_age_days > 0 { li { (l.tn("policy.rule_age", p.max_age_days)) } }
            }
        }
    }
}

/// Everything the My Account page shows.
pub struct AccountPage<'a> {
    pub account: &'a Account,
    pub fields: &'a [(FieldDefinition, Option<String>)],
    pub sessions: &'a [Session],
    /// All of the account's sessions (the list shows the most recent).
    pub session_count: i64,
    pub current_session: i64,
    pub activity: &'a [Record],
    pub errors: &'a Errors,
    /// The submitted form when re-shown after an error (values the user typed).
    pub submitted: Option<&'a Params>,
    pub flash: Option<&'a str>,
    pub security: SecuritySummary,
    pub connectors: &'a [ConnectorRow],
    /// Binding needs the password again (the logon is older than the reauth window).
    pub needs_password: bool,
    /// Shown inside an app's built-in browser: the hand-off to the system browser.
    pub in_app: Option<&'a InApp>,
}

/// The hand-off from an app's built-in browser to the system browser.
pub struct InApp {
    /// Translation key of the app's name.
    pub app_key: &'static str,
    /// This page's address.
    pub url: String,
    /// `url` as a QR code (data URI).
    pub qr: String,
}

/// One connector on My Account: bound (what to show, automatic?) or not.
pub struct ConnectorRow {
    pub id: String,
    pub name: String,
    pub binding: Option<(String, bool)>,
}

/// The second-factor facts My Account shows.
#[derive(Debug, Clone, Default)]
pub struct SecuritySummary {
    pub otp_enabled: bool,
    pub passkey_enabled: bool,
    pub passkeys: usize,
    pub otp_bound: bool,
    pub has_factor: bool,
    pub recovery_left: i64,
}

pub fn account(c: &Chrome<'_>, csrf: &str, p: &AccountPage<'_>) -> Markup {
    let l = c.locale;
    let a = p.account;
    let typed = |name: &str, stored: &str| -> String {
        match p.submitted {
            Some(f) if f.has(name) => f.get(name).to_string(),
            _ => stored.to_string(),
        }
    };
    let account_name = typed("account_name", a.account_name.as_deref().unwrap_or(""));
    let display_name = typed("display_name", &a.display_name);
    let editable: Vec<&(FieldDefinition, Option<String>)> = p
        .fields
        .iter()
        .filter(|(d, _)| d.spec.user_access == UserAccess::Editable)
        .collect();
    let readonly: Vec<&(FieldDefinition, Option<String>)> = p
        .fields
        .iter()
        .filter(|(d, _)| d.spec.user_access == UserAccess::Visible)
        .collect();
    page(
        c,
        &l.t("account.title"),
        html! {
            @if let Some(h) = p.in_app {
                section.notice aria-labelledby="inapp-h" {
                    h2 #inapp-h { (l.t("inapp.title")) }
                    p { (l.tv("inapp.why", "app", &l.t(h.app_key))) }
                    p { a href=(h.url) target="_blank" rel="noopener" { (h.url) } }
                    p { (l.tv("inapp.how", "app", &l.t(h.app_key))) }
                    div.qr { img src=(h.qr) width="220" height="220" alt=(l.tv("inapp.qr_alt", "url", &h.url)); }
                }
            }
            (flash(l, p.flash))
            (error_summary(l, p.errors))
            section aria-labelledby="basic-h" {
                h2 #basic-h { (l.t("account.basic")) }
                form.card method="post" action="/account/profile" novalidate {
                    (csrf_field(csrf))
                    (field(Field::new("account_name", &l.t("account.account_name")).value(&account_name)
                        .autocomplete("username").required(true).hint(Some(&l.t("account.account_name_hint"))), p.errors))
                    (field(Field::new("display_name", &l.t("account.display_name")).value(&display_name)
                        .autocomplete("nickname"), p.errors))
                    button type="submit" { (l.t("form.save")) }
                }
            }
            section aria-labelledby="ext-h" {
                h2 #ext-h { (l.t("account.extended")) }
                @if p.fields.is_empty() {
                    p.muted { (l.t("account.no_fields")) }
                }
                @if !readonly.is_empty() {
                    dl.facts {
                        @for (d, v) in &readonly {
                            dt { (d.spec.label) }
                            dd { (show_value(l, d, v.as_deref())) }
                        }
                    }
                }
                @if !editable.is_empty() {
                    form.card method="post" action="/account/fields" novalidate {
                        (csrf_field(csrf))
                        @for (d, v) in &editable {
                            (field_input(l, d, &typed(&field_input_name(&d.spec.key), v.as_deref().unwrap_or("")), p.errors))
                        }
                        button type="submit" { (l.t("form.save")) }
                    }
                }
            }
            section aria-labelledby="sec-h" {
                h2 #sec-h { (l.t("account.security")) }
                dl.facts {
                    dt { (l.t("account.mobile")) }
                    dd {
                        @if let Some(m) = &a.mobile { (m) " · " } @else { span.muted { (l.t("account.not_bound")) } " · " }
                        a href="/account/mobile" { (l.t(if a.mobile.is_some() { "account.change" } else { "account.bind" })) span.visually-hidden { " " (l.t("account.mobile")) } }
                    }
                    dt { (l.t("account.email")) }
                    dd {
                        @if let Some(e) = &a.email { (e) " · " } @else { span.muted { (l.t("account.not_bound")) } " · " }
                        a href="/account/email" { (l.t(if a.email.is_some() { "account.change" } else { "account.bind" })) span.visually-hidden { " " (l.t("account.email")) } }
                    }
                    dt { (l.t("account.password")) }
                    dd {
                        @if let Some(t) = a.password_changed_at { (l.t("account.password_changed")) " " (datetime(t)) " · " }
                        a href="/account/password" { (l.t("account.change_password")) }
                    }
                    @if p.security.otp_enabled {
                        dt { (l.t("account.otp")) }
                        dd {
                            @if p.security.otp_bound { (l.t("account.otp_bound")) " · " a href="/account/otp" { (l.t("account.manage")) } }
                            @else { span.muted { (l.t("account.not_bound")) } " · " a href="/account/otp" { (l.t("account.bind")) span.visually-hidden { " " (l.t("account.otp")) } } }
                        }
                    }
                    @if p.security.passkey_enabled {
                        dt { (l.t("account.passkeys")) }
                        dd {
                            @if p.security.passkeys > 0 { (l.tn("account.passkeys_count", p.security.passkeys)) " · " a href="/account/passkeys" { (l.t("account.manage")) span.visually-hidden { " " (l.t("account.passkeys")) } } }
                            @else { span.muted { (l.t("account.not_bound")) } " · " a href="/account/passkeys" { (l.t("account.add")) span.visually-hidden { " " (l.t("account.passkeys")) } } }
                        }
                    }
                    @if p.security.has_factor {
                        dt { (l.t("account.recovery")) }
                        dd {
                            (l.tn("account.recovery_left", p.security.recovery_left))
                            form.inline method="post" action="/account/recovery" {
                                (csrf_field(csrf))
                                " " button.link type="submit" { (l.t("account.recovery_new")) }
                            }
                        }
                    }
                }
                @if a.email.is_none() && a.mobile.is_none() {
                    p.notice { (l.t("account.bind_recommend")) }
                }
            }
            section aria-labelledby="idp-h" {
                h2 #idp-h { (l.t("account.third_party")) }
                @if p.connectors.is_empty() {
                    p.muted { (l.t("account.no_connectors")) }
                } @else {
                    ul.bindings {
                        @for c in p.connectors {
                            li {
                                strong { (c.name) }
                                @match &c.binding {
                                    Some((shown, true)) => {
                                        " · " (shown) " · " span.tag { (l.t("binding.auto")) }
                                    }
                                    Some((shown, false)) => {
                                        " · " (shown) " · "
                                        form.inline method="post" action=(format!("/connectors/{}/unbind", c.id)) {
                                            (csrf_field(csrf))
                                            @if p.needs_password {
                                                @let pid = format!("unbind-pw-{}", c.id);
                                                label for=(pid) { (l.t("reauth.password")) }
                                                input id=(pid) type="password" name="password" autocomplete="current-password" required;
                                            }
                                            button.secondary type="submit" aria-label=(format!("{} {}", l.t("binding.unbind"), c.name)) { (l.t("binding.unbind")) }
                                        }
                                    }
                                    None => {
                                        " · " span.muted { (l.t("account.not_bound")) } " "
                                        form.inline method="post" action=(format!("/connectors/{}/bind", c.id)) {
                                            (csrf_field(csrf))
                                            @if p.needs_password {
                                                @let pid = format!("bind-pw-{}", c.id);
                                                label for=(pid) { (l.t("reauth.password")) }
                                                input id=(pid) type="password" name="password" autocomplete="current-password" required;
                                            }
                                            button.secondary type="submit" aria-label=(format!("{} {}", l.t("binding.bind"), c.name)) { (l.t("binding.bind")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="sess-h" {
                h2 #sess-h { (l.t("account.sessions")) }
                (data_table(
                    "tbl-sessions",
                    &l.t("account.sessions"),
                    &[html! { (l.t("sessions.device")) }, html! { (l.t("sessions.ip")) }, html! { (l.t("sessions.started")) }, html! { (l.t("sessions.last_seen")) }, html! { span.visually-hidden { (l.t("sessions.actions")) } }],
                    html! {
                            @for s in p.sessions {
                                tr {
                                    td { (device(&s.user_agent)) }
                                    td { (s.ip) }
                                    td { (datetime(s.created_at)) }
                                    td { (datetime(s.last_seen_at)) }
                                    td {
                                        @if s.id == p.current_session {
                                            strong { (l.t("sessions.this_one")) }
                                        } @else {
                                            form.inline method="post" action="/account/sessions/revoke" {
                                                (csrf_field(csrf))
                                                input type="hidden" name="session" value=(s.id);
                                                button.secondary type="submit" { (l.t("sessions.revoke")) }
                                            }
                                        }
                                    }
                                }
                            }
                        },
                ))
                @if p.session_count > p.sessions.len() as i64 {
                    p.muted { (l.tn("sessions.more", p.session_count - p.sessions.len() as i64)) }
                }
                @if p.session_count > 1 {
                    form method="post" action="/account/sessions/revoke-others" {
                        (csrf_field(csrf))
                        button.secondary type="submit" { (l.t("sessions.revoke_others")) }
                    }
                }
            }
            section aria-labelledby="act-h" {
                h2 #act-h { (l.t("account.activity")) }
                @if p.activity.is_empty() {
                    p.muted { (l.t("account.no_activity")) }
                } @else {
                    ul.activity {
                        @for r in p.activity {
                            li {
                                time datetime=(super::layout::rfc3339(r.at)) { (datetime(r.at)) }
                                " · " (event_label(l, &r.event))
                                @if !r.ip.is_empty() { " · " span.muted { (r.ip) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The translated name of an audit event, or the raw name if none.
pub fn event_label(l: Locale, event: &str) -> String {
    let key = format!("event.{event}");
    let t = l.t(&key);
    if t == key {
        event.to_string()
    } else {
        t.into_owned()
    }
}

fn show_value(l: Locale, d: &FieldDefinition, v: Option<&str>) -> Markup {
    html! {
        @match (d.spec.kind, v) {
            (_, None) => span.muted { (l.t("account.empty")) },
            (FieldKind::Bool, Some(v)) => (if v == "true" { l.t("form.yes") } else { l.t("form.no") }),
            (_, Some(v)) => (v),
        }
    }
}

/// One custom field as an input of the right type.
pub fn field_input(l: Locale, d: &FieldDefinition, value: &str, errors: &Errors) -> Markup {
    let name = field_input_name(&d.spec.key);
    let id = input_id(&name);
    let errs = errors.get(&name);
    let err_id = format!("{id}-err");
    html! {
        @match d.spec.kind {
            FieldKind::Bool => {
                div.field.check {
                    input type="checkbox" id=(id) name=(name) value="true" checked[value == "true"]
                        aria-invalid=[errs.map(|_| "true")] aria-describedby=[errs.map(|_| err_id.clone())];
                    label for=(id) { (d.spec.label) @if d.spec.required { span.req aria-hidden="true" { " *" } } }
                    @if let Some(es) = errs { p.error id=(err_id) { @for e in es { (e) " " } } }
                }
            }
            FieldKind::Choice => {
                div.field {
                    label for=(id) { (d.spec.label) @if d.spec.required { span.req aria-hidden="true" { " *" } } }
                    @if let Some(es) = errs { p.error id=(err_id) { @for e in es { (e) " " } } }
                    select id=(id) name=(name) required[d.spec.required]
                        aria-invalid=[errs.map(|_| "true")] aria-describedby=[errs.map(|_| err_id.clone())] {
                        option value="" { (l.t("form.choose")) }
                        @for o in &d.spec.options {
                            option value=(o) selected[o == value] { (o) }
                        }
                    }
                }
            }
            kind => {
                @let html_type = match kind {
                    FieldKind::Number => "text",
                    FieldKind::Date => "date",
                    FieldKind::Email => "email",
                    FieldKind::Url => "url",
                    _ => "text",
                };
                @let autocomplete = if kind == FieldKind::Email { "email" } else { "off" };
                @let hint = match kind {
                    FieldKind::Date => Some(l.t("field.hint_date")),
                    FieldKind::Number => Some(l.t("field.hint_number")),
                    FieldKind::Url => Some(l.t("field.hint_url")),
                    _ => None,
                };
                (field(Field::new(&name, &d.spec.label).kind(html_type).value(value)
                    .autocomplete(autocomplete).required(d.spec.required).hint(hint.as_deref()), errors))
            }
        }
    }
}

pub fn password(
    c: &Chrome<'_>,
    csrf: &str,
    policy_box: &Markup,
    expired: bool,
    errors: &Errors,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("password.title"),
        html! {
            @if expired { div.alert.error role="alert" { p { (l.t("password.expired")) } } }
            (error_summary(l, errors))
            form.card method="post" action="/account/password" novalidate {
                (csrf_field(csrf))
                (field(Field::new("current_password", &l.t("password.current")).kind("password")
                    .autocomplete("current-password").required(true), errors))
                (policy_box)
                (field(Field::new("new_password", &l.t("password.new")).kind("password")
                    .autocomplete("new-password").required(true).policy(), errors))
                (field(Field::new("new_password_confirm", &l.t("password.confirm")).kind("password")
                    .autocomplete("new-password").required(true), errors))
                p.muted { (l.t("password.others_logged_out")) }
                button type="submit" { (l.t("password.submit")) }
            }
            @if !expired { p { a href="/account" { (l.t("form.back")) } } }
        },
    )
}
