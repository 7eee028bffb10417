//! The admin console.

use maud::{Markup, html};

use super::account::{event_label, field_input};
use super::layout::{
    Chrome, Errors, Field, csrf_field, data_table, datetime, error_summary, field, flash, page,
};
use crate::app::directory::ImportReport;
use crate::domain::account::Account;
use crate::domain::fields::{FieldDefinition, FieldKind, FieldSpec, UserAccess};
use crate::domain::settings::{SETTINGS, SettingKind, Settings};
use crate::i18n::Locale;
use crate::store::audit::Record;
use crate::web::request::Params;

pub(super) fn subnav(l: Locale, current: &str) -> Markup {
    let items = [
        ("/admin", "admin.overview"),
        ("/admin/accounts", "admin.accounts"),
        ("/admin/fields", "admin.fields"),
        ("/admin/settings", "admin.settings"),
        ("/admin/audit", "admin.audit"),
        ("/admin/deliveries", "admin.deliveries"),
        ("/admin/connectors", "admin.connectors"),
    ];
    html! {
        nav.subnav aria-label=(l.t("admin.nav")) {
            @for (href, key) in items {
                a href=(href) aria-current=[(href == current).then_some("page")] { (l.t(key)) }
            }
        }
    }
}

pub fn warnings(l: Locale, keys: &[&str]) -> Markup {
    html! {
        @if !keys.is_empty() {
            div.alert.warn role="status" {
                p { strong { (l.t("warn.heading")) } }
                ul { @for k in keys { li { (l.t(k)) } } }
            }
        }
    }
}

pub fn overview(c: &Chrome<'_>, accounts: i64, fields: usize, settings: &Settings) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("admin.title"),
        html! {
            (subnav(l, "/admin"))
            (warnings(l, &settings.warnings()))
            ul.tiles {
                li { a href="/admin/accounts" { strong { (accounts) } " " (l.t("admin.accounts")) } }
                li { a href="/admin/fields" { strong { (fields) } " " (l.t("admin.fields")) } }
                li { a href="/admin/settings" { (l.t("admin.settings")) } }
                li { a href="/admin/audit" { (l.t("admin.audit")) } }
            }
        },
    )
}

pub struct NewAccountForm<'a> {
    pub values: Option<&'a Params>,
    pub errors: &'a Errors,
}

pub fn accounts(
    c: &Chrome<'_>,
    csrf: &str,
    q: &str,
    list: &[Account],
    form: &NewAccountForm<'_>,
    policy: &Markup,
    flash_key: Option<&str>,
) -> Markup {
    let l = c.locale;
    let v = |n: &str| {
        form.values
            .map(|p| p.get(n).to_string())
            .unwrap_or_default()
    };
    page(
        c,
        &l.t("admin.accounts"),
        html! {
            (subnav(l, "/admin/accounts"))
            (flash(l, flash_key))
            form.search method="get" action="/admin/accounts" role="search" {
                label for="q" { (l.t("admin.search")) }
                input #q type="search" name="q" value=(q) autocomplete="off";
                button type="submit" { (l.t("admin.search_button")) }
            }
            (data_table(
                "tbl-accounts",
                &l.t("admin.accounts"),
                &[html! { (l.t("account.account_name")) }, html! { (l.t("account.display_name")) }, html! { (l.t("account.email")) }, html! { (l.t("account.mobile")) }, html! { (l.t("admin.status")) }],
                html! {
                        @for a in list {
                            tr {
                                td { a href=(format!("/admin/accounts/{}", a.id)) { (a.account_name.as_deref().unwrap_or("—")) @if a.account_name.is_none() { span.visually-hidden { (l.t("admin.no_name")) " #" (a.id) } } } }
                                td { (a.display_name) }
                                td { (a.email.as_deref().unwrap_or("")) }
                                td { (a.mobile.as_deref().unwrap_or("")) }
                                td {
                                    @if a.is_admin { span.tag { (l.t("admin.role_admin")) } " " }
                                    @if a.disabled { span.tag.bad { (l.t("admin.disabled")) } }
                                }
                            }
                        }
                    },
            ))
            @if list.is_empty() { p.muted { (l.t("admin.no_results")) } }
            section aria-labelledby="new-h" {
                h2 #new-h { (l.t("admin.create_account")) }
                (error_summary(l, form.errors))
                form.card method="post" action="/admin/accounts" novalidate {
                    (csrf_field(csrf))
                    (field(Field::new("account_name", &l.t("account.account_name")).value(&v("account_name")).autocomplete("off").required(true), form.errors))
                    (field(Field::new("display_name", &l.t("account.display_name")).value(&v("display_name")).autocomplete("off"), form.errors))
                    (field(Field::new("email", &l.t("account.email")).kind("email").value(&v("email")).autocomplete("off").hint(Some(&l.t("admin.vouch_hint"))), form.errors))
                    (field(Field::new("mobile", &l.t("account.mobile")).kind("tel").value(&v("mobile")).autocomplete("off"), form.errors))
                    (policy)
                    (field(Field::new("password", &l.t("password.initial")).kind("password").autocomplete("new-password").policy().required(true), form.errors))
                    div.field.check {
                        input #in-is_admin type="checkbox" name="is_admin" value="true" checked[v("is_admin") == "true"];
                        label for="in-is_admin" { (l.t("admin.make_admin")) }
                    }
                    button type="submit" { (l.t("admin.create_button")) }
                }
            }
        },
    )
}

pub struct AccountDetail<'a> {
    pub account: &'a Account,
    pub fields: &'a [(FieldDefinition, Option<String>)],
    pub sessions: i64,
    pub errors: &'a Errors,
    pub submitted: Option<&'a Params>,
    pub flash: Option<&'a str>,
    pub policy: Markup,
    pub is_self: bool,
    pub otp_bound: bool,
    /// Names of the account's passkeys.
    pub passkeys: Vec<String>,
    pub recovery_left: i64,
    /// (connector, subject, automatic?)
    pub bindings: Vec<(String, String, bool)>,
}

pub fn account(c: &Chrome<'_>, csrf: &str, d: &AccountDetail<'_>) -> Markup {
    let l = c.locale;
    let a = d.account;
    let base = format!("/admin/accounts/{}", a.id);
    let typed = |name: &str, stored: &str| -> String {
        match d.submitted {
            Some(f) if f.has(name) => f.get(name).to_string(),
            _ => stored.to_string(),
        }
    };
    page(
        c,
        &format!("{} {}", l.t("admin.account"), a.label()),
        html! {
            (subnav(l, "/admin/accounts"))
            (flash(l, d.flash))
            (error_summary(l, d.errors))
            dl.facts {
                dt { (l.t("admin.created")) } dd { (datetime(a.created_at)) }
                dt { (l.t("admin.last_logon")) } dd { @if let Some(t) = a.last_logon_at { (datetime(t)) } @else { (l.t("admin.never")) } }
                dt { (l.t("admin.sessions")) } dd { (d.sessions) }
                dt { (l.t("account.third_party")) }
                dd {
                    @if d.bindings.is_empty() { span.muted { (l.t("admin.no_bindings")) } }
                    @for (connector, subject, auto) in &d.bindings {
                        (connector) ": " code { (subject) } " "
                        span.tag { (l.t(if *auto { "binding.auto" } else { "binding.manual" })) }
                        br;
                    }
                }
                dt { (l.t("admin.factors")) }
                dd {
                    @if d.otp_bound { (l.t("account.otp")) } @else { span.muted { (l.t("admin.no_otp")) } }
                    @if !d.passkeys.is_empty() {
                        " · " (l.t("account.passkeys")) ": "
                        @for (i, name) in d.passkeys.iter().enumerate() {
                            @if i > 0 { ", " }
                            (name)
                        }
                    }
                    " · " (l.tn("account.recovery_left", d.recovery_left))
                    @if d.otp_bound || !d.passkeys.is_empty() {
                        form.inline method="post" action=(format!("{base}/otp-reset")) {
                            (csrf_field(csrf))
                            " " button.secondary type="submit" {
                                (l.t(if d.passkeys.is_empty() { "admin.reset_otp" } else { "admin.reset_factors" }))
                            }
                        }
                    }
                }
            }
            section aria-labelledby="names-h" {
                h2 #names-h { (l.t("account.basic")) }
                form.card method="post" action=(format!("{base}/profile")) novalidate {
                    (csrf_field(csrf))
                    (field(Field::new("account_name", &l.t("account.account_name")).value(&typed("account_name", a.account_name.as_deref().unwrap_or(""))).autocomplete("off").required(true), d.errors))
                    (field(Field::new("display_name", &l.t("account.display_name")).value(&typed("display_name", &a.display_name)).autocomplete("off"), d.errors))
                    button type="submit" { (l.t("form.save")) }
                }
            }
            section aria-labelledby="contacts-h" {
                h2 #contacts-h { (l.t("account.security")) }
                form.card method="post" action=(format!("{base}/contacts")) novalidate {
                    (csrf_field(csrf))
                    (field(Field::new("email", &l.t("account.email")).kind("email").value(&typed("email", a.email.as_deref().unwrap_or(""))).autocomplete("off").hint(Some(&l.t("admin.vouch_hint"))), d.errors))
                    (field(Field::new("mobile", &l.t("account.mobile")).kind("tel").value(&typed("mobile", a.mobile.as_deref().unwrap_or(""))).autocomplete("off"), d.errors))
                    button type="submit" { (l.t("form.save")) }
                }
            }
            @if !d.fields.is_empty() {
                section aria-labelledby="fields-h" {
                    h2 #fields-h { (l.t("account.extended")) }
                    form.card method="post" action=(format!("{base}/fields")) novalidate {
                        (csrf_field(csrf))
                        @for (def, v) in d.fields {
                            (field_input(l, def, &typed(&crate::app::accounts::field_input_name(&def.spec.key), v.as_deref().unwrap_or("")), d.errors))
                        }
                        button type="submit" { (l.t("form.save")) }
                    }
                }
            }
            section aria-labelledby="flags-h" {
                h2 #flags-h { (l.t("admin.access")) }
                form.card method="post" action=(format!("{base}/flags")) {
                    (csrf_field(csrf))
                    div.field.check {
                        input #in-is_admin type="checkbox" name="is_admin" value="true" checked[a.is_admin];
                        label for="in-is_admin" { (l.t("admin.role_admin")) }
                    }
                    div.field.check {
                        input #in-disabled type="checkbox" name="disabled" value="true" checked[a.disabled];
                        label for="in-disabled" { (l.t("admin.disabled")) }
                    }
                    button type="submit" { (l.t("form.save")) }
                }
            }
            section aria-labelledby="reset-h" {
                h2 #reset-h { (l.t("admin.reset_password")) }
                form.card method="post" action=(format!("{base}/password")) novalidate {
                    (csrf_field(csrf))
                    (d.policy)
                    (field(Field::new("password", &l.t("password.new")).kind("password").autocomplete("new-password").policy().required(true), d.errors))
                    p.muted { (l.t("admin.reset_ends_sessions")) }
                    button type="submit" { (l.t("admin.reset_button")) }
                }
            }
            section aria-labelledby="danger-h" {
                h2 #danger-h { (l.t("admin.danger")) }
                form.inline method="post" action=(format!("{base}/sessions")) {
                    (csrf_field(csrf))
                    button.secondary type="submit" { (l.t("admin.end_sessions")) }
                }
                @if !d.is_self {
                    form.inline method="post" action=(format!("{base}/delete")) {
                        (csrf_field(csrf))
                        div.field.check {
                            input #in-confirm type="checkbox" name="confirm" value="yes" required;
                            label for="in-confirm" { (l.t("admin.delete_confirm")) }
                        }
                        button.danger type="submit" { (l.t("admin.delete")) }
                    }
                }
            }
        },
    )
}

pub fn fields(
    c: &Chrome<'_>,
    csrf: &str,
    list: &[FieldDefinition],
    form_values: Option<&Params>,
    errors: &Errors,
    flash_key: Option<&str>,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("admin.fields"),
        html! {
            (subnav(l, "/admin/fields"))
            (flash(l, flash_key))
            @if list.is_empty() {
                p.muted { (l.t("admin.no_fields")) }
            } @else {
                (data_table(
                    "tbl-fields",
                    &l.t("admin.fields"),
                    &[html! { (l.t("field.label")) }, html! { (l.t("field.key")) }, html! { (l.t("field.type")) }, html! { (l.t("field.user_access")) }, html! { (l.t("field.flags")) }, html! { (l.t("field.actions")) }],
                    html! {
                            @for (i, f) in list.iter().enumerate() {
                                tr {
                                    td { a href=(format!("/admin/fields/{}", f.id)) { (f.spec.label) } }
                                    td { code { (f.spec.key) } }
                                    td { (l.t(&format!("field.kind_{}", f.spec.kind.as_str()))) }
                                    td { (l.t(&format!("field.access_{}", f.spec.user_access.as_str()))) }
                                    td {
                                        @if f.spec.required { span.tag { (l.t("field.required")) } " " }
                                        @if f.spec.unique { span.tag { (l.t("field.unique")) } }
                                    }
                                    td.actions {
                                        @if i > 0 {
                                            form.inline method="post" action=(format!("/admin/fields/{}/move", f.id)) {
                                                (csrf_field(csrf))
                                                input type="hidden" name="dir" value="up";
                                                button.secondary type="submit" aria-label=(format!("{} {}", l.t("field.move_up"), f.spec.label)) { "↑" }
                                            }
                                        }
                                        @if i + 1 < list.len() {
                                            form.inline method="post" action=(format!("/admin/fields/{}/move", f.id)) {
                                                (csrf_field(csrf))
                                                input type="hidden" name="dir" value="down";
                                                button.secondary type="submit" aria-label=(format!("{} {}", l.t("field.move_down"), f.spec.label)) { "↓" }
                                            }
                                        }
                                        form.inline method="post" action=(format!("/admin/fields/{}/delete", f.id)) {
                                            (csrf_field(csrf))
                                            button.danger type="submit" aria-label=(format!("{} {}", l.t("field.delete"), f.spec.label)) { (l.t("field.delete")) }
                                        }
                                    }
                                }
                            }
                        },
                ))
            }
            section aria-labelledby="newf-h" {
                h2 #newf-h { (l.t("admin.create_field")) }
                (error_summary(l, errors))
                (field_form(l, csrf, "/admin/fields", None, form_values, errors, &l.t("admin.create_field_button")))
            }
        },
    )
}

pub fn field_edit(
    c: &Chrome<'_>,
    csrf: &str,
    f: &FieldDefinition,
    form_values: Option<&Params>,
    errors: &Errors,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &format!("{} {}", l.t("admin.field"), f.spec.label),
        html! {
            (subnav(l, "/admin/fields"))
            (error_summary(l, errors))
            (field_form(l, csrf, &format!("/admin/fields/{}", f.id), Some(&f.spec), form_values, errors, &l.t("form.save")))
            p { a href="/admin/fields" { (l.t("form.back")) } }
        },
    )
}

fn field_form(
    l: Locale,
    csrf: &str,
    action: &str,
    spec: Option<&FieldSpec>,
    submitted: Option<&Params>,
    errors: &Errors,
    submit: &str,
) -> Markup {
    let val = |name: &str, stored: String| -> String {
        match submitted {
            Some(p) => p.get(name).to_string(),
            None => stored,
        }
    };
    let flag = |name: &str, stored: bool| -> bool {
        match submitted {
            Some(p) => p.get(name) == "true",
            None => stored,
        }
    };
    let key = val("key", spec.map(|s| s.key.clone()).unwrap_or_default());
    let label = val("label", spec.map(|s| s.label.clone()).unwrap_or_default());
    let kind = val(
        "kind",
        spec.map(|s| s.kind.as_str().to_string())
            .unwrap_or_else(|| "text".into()),
    );
    let access = val(
        "user_access",
        spec.map(|s| s.user_access.as_str().to_string())
            .unwrap_or_else(|| "visible".into()),
    );
    let pattern = val(
        "pattern",
        spec.and_then(|s| s.pattern.clone()).unwrap_or_default(),
    );
    let options = val(
        "options",
        spec.map(|s| s.options.join("\n")).unwrap_or_default(),
    );
    let required = flag("required", spec.is_some_and(|s| s.required));
    let unique = flag("unique", spec.is_some_and(|s| s.unique));
    html! {
        form.card method="post" action=(action) novalidate {
            (csrf_field(csrf))
            (field(Field::new("key", &l.t("field.key")).value(&key).required(true).hint(Some(&l.t("field.key_hint"))), errors))
            (field(Field::new("label", &l.t("field.label")).value(&label).required(true), errors))
            div.field {
                label for="in-kind" { (l.t("field.type")) }
                select #in-kind name="kind" {
                    @for k in FieldKind::ALL {
                        option value=(k.as_str()) selected[k.as_str() == kind] { (l.t(&format!("field.kind_{}", k.as_str()))) }
                    }
                }
            }
            div.field {
                label for="in-user_access" { (l.t("field.user_access")) }
                select #in-user_access name="user_access" {
                    @for a in UserAccess::ALL {
                        option value=(a.as_str()) selected[a.as_str() == access] { (l.t(&format!("field.access_{}", a.as_str()))) }
                    }
                }
            }
            div.field.check {
                input #in-required type="checkbox" name="required" value="true" checked[required];
                label for="in-required" { (l.t("field.required")) }
            }
            div.field.check {
                input #in-unique type="checkbox" name="unique" value="true" checked[unique]
                    aria-invalid=[errors.get("unique").map(|_| "true")]
                    aria-describedby=[errors.get("unique").map(|_| "in-unique-err")];
                label for="in-unique" { (l.t("field.unique")) }
                @if let Some(es) = errors.get("unique") { p.error id="in-unique-err" { @for e in es { (e) " " } } }
            }
            (field(Field::new("pattern", &l.t("field.pattern")).value(&pattern).hint(Some(&l.t("field.pattern_hint"))), errors))
            div.field {
                label for="in-options" { (l.t("field.options")) }
                p.hint id="in-options-hint" { (l.t("field.options_hint")) }
                @if let Some(es) = errors.get("options") { p.error id="in-options-err" { @for e in es { (e) " " } } }
                @let opt_err = errors.get("options");
                textarea #in-options name="options" rows="4"
                    aria-describedby=(if opt_err.is_some() { "in-options-hint in-options-err" } else { "in-options-hint" })
                    aria-invalid=[opt_err.map(|_| "true")] { (options) }
            }
            button type="submit" { (submit) }
        }
    }
}

pub fn settings(
    c: &Chrome<'_>,
    csrf: &str,
    s: &Settings,
    submitted: Option<&Params>,
    errors: &Errors,
    flash_key: Option<&str>,
) -> Markup {
    let l = c.locale;
    let groups = ["password", "mfa", "lockout", "session"];
    page(
        c,
        &l.t("admin.settings"),
        html! {
            (subnav(l, "/admin/settings"))
            (flash(l, flash_key))
            (warnings(l, &s.warnings()))
            (error_summary(l, errors))
            form.card method="post" action="/admin/settings" novalidate {
                (csrf_field(csrf))
                @for g in groups {
                    fieldset {
                        legend { (l.t(&format!("settings.group_{g}"))) }
                        @for def in SETTINGS.iter().filter(|d| d.key.starts_with(&format!("{g}."))) {
                            @let label = l.t(&format!("settings.{}", def.key)).into_owned();
                            @let current = match submitted { Some(p) => p.get(def.key).to_string(), None => s.get(def.key).unwrap_or(def.default).to_string() };
                            @match def.kind {
                                SettingKind::Bool => {
                                    div.field.check {
                                        input type="hidden" name=(def.key) value="false";
                                        input id=(format!("in-{}", def.key.replace('.', "-"))) type="checkbox" name=(def.key) value="true" checked[current == "true"];
                                        label for=(format!("in-{}", def.key.replace('.', "-"))) { (label) " " code.muted { (def.key) } }
                                    }
                                }
                                SettingKind::Int { min, max } => {
                                    @let hint = format!("{min}–{max} · {} {} · {}", l.t("settings.default"), def.default, def.key);
                                    (field(Field::new(def.key, &label).kind("number").value(&current).hint(Some(&hint)), errors))
                                }
                            }
                        }
                    }
                }
                button type="submit" { (l.t("form.save")) }
            }
        },
    )
}

pub fn audit(c: &Chrome<'_>, event: &str, account: &str, records: &[Record]) -> Markup {
    let l = c.locale;
    let events = [
        "", "logon", "logout", "password", "account", "session", "setup", "admin",
    ];
    page(
        c,
        &l.t("admin.audit"),
        html! {
            (subnav(l, "/admin/audit"))
            form.search method="get" action="/admin/audit" role="search" {
                div.field {
                    label for="in-event" { (l.t("audit.event")) }
                    select #in-event name="event" {
                        @for e in events {
                            option value=(e) selected[e == event] { @if e.is_empty() { (l.t("audit.all")) } @else { (e) } }
                        }
                    }
                }
                div.field {
                    label for="in-account" { (l.t("audit.account")) }
                    input #in-account type="search" name="account" value=(account) autocomplete="off";
                }
                button type="submit" { (l.t("audit.filter")) }
            }
            (data_table(
                "tbl-audit",
                &l.t("admin.audit"),
                &[html! { (l.t("audit.time")) }, html! { (l.t("audit.event")) }, html! { (l.t("audit.actor")) }, html! { (l.t("audit.account")) }, html! { (l.t("audit.ip")) }, html! { (l.t("audit.detail")) }],
                html! {
                        @for r in records {
                            tr {
                                td { (datetime(r.at)) }
                                td { (event_label(l, &r.event)) br; code.muted { (r.event) } }
                                td { (r.actor_name) }
                                td { (r.account_name) }
                                td { (r.ip) }
                                td { (r.detail) }
                            }
                        }
                    },
            ))
            @if records.is_empty() { p.muted { (l.t("admin.no_results")) } }
        },
    )
}

pub fn deliveries(
    c: &Chrome<'_>,
    list: &[crate::store::deliveries::Delivery],
    email: bool,
    sms: bool,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("admin.deliveries"),
        html! {
                    (subnav(l, "/admin/deliveries"))
                    dl.facts {
                        dt { (l.t("deliveries.email")) } dd { (l.t(if email { "deliveries.configured" } else { "deliveries.not_configured" })) }
                        dt { (l.t("deliveries.sms")) } dd { (l.t(if sms { "deliveries.configured" } else { "deliveries.not_configured" })) }
                    }
        @if !list.is_empty() {
                    (data_table(
                        "tbl-deliveries",
                        &l.t("admin.deliveries"),
                        &[html! { (l.t("audit.time")) }, html! { (l.t("deliveries.channel")) }, html! { (l.t("deliveries.to")) }, html! { (l.t("audit.account")) }, html! { (l.t("deliveries.purpose")) }, html! { (l.t("deliveries.result")) }],
                        html! {
                                @for d in list {
                                    tr {
                                        td { (datetime(d.at)) }
                                        td { (d.channel) }
                                        td { (crate::app::factors::mask(&d.target)) }
                                        td { (d.account_name) }
                                        td { (d.purpose) }
                                        td {
                                            @if d.ok { (l.t("deliveries.ok")) }
                                            @else { span.tag.bad { (l.t("deliveries.failed")) } " " (d.error) }
                                        }
                                    }
                                }
                            },
                    ))
                    }
                    @if list.is_empty() { p.muted { (l.t("admin.no_results")) } }
                },
    )
}

/// A directory import: the form, then what it did (or why it could not run).
pub fn import(
    c: &Chrome<'_>,
    csrf: &str,
    id: &str,
    name: &str,
    result: Option<&Result<ImportReport, String>>,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.tv("import.title", "name", name),
        html! {
            (subnav(l, "/admin/connectors"))
            @match result {
                Some(Ok(r)) => {
                    div.alert.ok role="status" {
                        p {
                            @if r.dry_run { strong { (l.t("import.dry_run_done")) } " " }
                            (l.tn("import.people", r.people))
                        }
                    }
                    dl.facts {
                        dt { (l.t("import.created")) } dd { (r.created) }
                        dt { (l.t("import.updated")) } dd { (r.updated) }
                        dt { (l.t("import.unchanged")) } dd { (r.unchanged) }
                        dt { (l.t("import.conflicts")) } dd { (r.conflicts.len()) }
                        dt { (l.t("import.errors")) } dd { (r.errors.len()) }
                    }
                    @if !r.conflicts.is_empty() {
                        h2 { (l.t("import.conflicts")) }
                        p { (l.t("import.conflicts_hint")) }
                        ul { @for x in &r.conflicts { li { (x) } } }
                    }
                    @if !r.errors.is_empty() {
                        h2 { (l.t("import.errors")) }
                        ul { @for x in &r.errors { li { (x) } } }
                    }
                }
                Some(Err(m)) => {
                    div.alert.error role="alert" { p { (l.t("import.failed")) " " (m) } }
                }
                None => {}
            }
            p { (l.t("import.intro")) }
            form.card method="post" action=(format!("/admin/connectors/{id}/import")) {
                (csrf_field(csrf))
                div.field.check {
                    input #in-dry_run type="checkbox" name="dry_run" value="on";
                    label for="in-dry_run" { (l.t("import.dry_run")) }
                }
                button type="submit" { (l.t("import.submit")) }
            }
        },
    )
}
