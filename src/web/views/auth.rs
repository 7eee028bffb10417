//! Logon, first-run setup and error pages.

use maud::{Markup, html};

use super::layout::{Chrome, Errors, Field, csrf_field, error_summary, field, page};

pub fn login(
    c: &Chrome<'_>,
    csrf: &str,
    username: &str,
    next: &str,
    errors: &Errors,
    flash: Option<&str>,
    connectors: &[(String, String)],
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("login.title"),
        html! {
            (super::layout::flash(l, flash))
            @if !errors.is_empty() {
                div.alert.error role="alert" { @for e in errors.all() { p { (e) } } }
            }
            form.card method="post" action="/login" novalidate {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                // The alert above says what failed; no single field is to blame (and
                // saying which would tell whether the account exists).
                (field(Field::new("username", &l.t("login.username")).value(username)
                    .autocomplete("username").required(true).hint(Some(&l.t("login.username_hint"))), &Errors::none()))
                (field(Field::new("password", &l.t("login.password")).kind("password")
                    .autocomplete("current-password").required(true), &Errors::none()))
                button type="submit" { (l.t("login.submit")) }
            }
            p { a href="/password/reset" { (l.t("login.forgot")) } }
            @if !connectors.is_empty() {
                section aria-labelledby="fed-h" {
                    h2 #fed-h { (l.t("login.other_ways")) }
                    ul.tiles {
                        @for (id, name) in connectors {
                            li { a href=(format!("/connectors/{id}/login")) { (l.tv("login.with", "name", name)) } }
                        }
                    }
                }
            }
        },
    )
}

pub struct SetupValues<'a> {
    pub account_name: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
}

pub fn setup(
    c: &Chrome<'_>,
    csrf: &str,
    token: &str,
    v: &SetupValues<'_>,
    policy: &Markup,
    errors: &Errors,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("setup.title"),
        html! {
            p { (l.t("setup.intro")) }
            (error_summary(l, errors))
            form.card method="post" action="/setup" novalidate {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(token);
                (field(Field::new("account_name", &l.t("account.account_name")).value(v.account_name)
                    .autocomplete("username").required(true).hint(Some(&l.t("account.account_name_hint"))), errors))
                (field(Field::new("display_name", &l.t("account.display_name")).value(v.display_name)
                    .autocomplete("nickname"), errors))
                (field(Field::new("email", &l.t("account.email")).kind("email").value(v.email)
                    .autocomplete("email").hint(Some(&l.t("setup.email_hint"))), errors))
                (policy)
                (field(Field::new("password", &l.t("password.new")).kind("password")
                    .autocomplete("new-password").required(true).policy(), errors))
                (field(Field::new("password_confirm", &l.t("password.confirm")).kind("password")
                    .autocomplete("new-password").required(true), errors))
                button type="submit" { (l.t("setup.submit")) }
            }
        },
    )
}

/// First logon of an account without a name: choose one before anything else.
pub fn choose_name(c: &Chrome<'_>, csrf: &str, value: &str, errors: &Errors) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("choose_name.title"),
        html! {
            p { (l.t("choose_name.intro")) }
            (error_summary(l, errors))
            form.card method="post" action="/login/name" novalidate {
                (csrf_field(csrf))
                (field(Field::new("account_name", &l.t("account.account_name")).value(value)
                    .autocomplete("username").required(true).hint(Some(&l.t("account.account_name_hint"))), errors))
                button type="submit" { (l.t("choose_name.submit")) }
            }
        },
    )
}

/// 403, 404, 500 and friends. Never shows internals.
pub fn error(c: &Chrome<'_>, title: &str, message: &str) -> Markup {
    let l = c.locale;
    page(
        c,
        title,
        html! {
            p { (message) }
            p {
                @if c.account.is_some() {
                    a href="/account" { (l.t("error.back_account")) }
                } @else {
                    a href="/login" { (l.t("error.back_login")) }
                }
            }
        },
    )
}
