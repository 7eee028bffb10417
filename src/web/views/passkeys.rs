//! `/account/passkeys`: the account's passkeys, adding one (through `/static/passkey.js`)
//! and removing them; and the passkey form of the logon prompt.

use maud::{Markup, html};

use super::layout::{
    Chrome, Errors, Field, csrf_field, data_table, datetime, error_summary, field, flash, page,
};
use crate::i18n::Locale;
use crate::store::passkeys::PasskeyRow;

pub const SCRIPT: &str = "/static/passkey.js";

pub struct PasskeysPage<'a> {
    pub passkeys: &'a [PasskeyRow],
    pub needs_password: bool,
    /// Forced binding at logon: only adding is offered.
    pub binding: bool,
    pub flash: Option<&'static str>,
    pub errors: &'a Errors,
}

/// What the script needs beyond the form: where to get options, and its messages.
/// Without JavaScript the button stays hidden and the `noscript` text explains.
pub fn ceremony_parts(l: Locale, button: &str) -> Markup {
    html! {
        input type="hidden" name="credential" value="";
        noscript { p.notice { (l.t("passkey.needs_js")) } }
        p.error.passkey-status role="alert" {}
        button type="submit" hidden data-passkey-button { (button) }
    }
}

/// Messages the script shows, in the page's language.
fn script_messages(l: Locale) -> (String, String) {
    (
        l.t("passkey.unsupported").into_owned(),
        l.t("passkey.failed").into_owned(),
    )
}

pub fn passkeys(c: &Chrome<'_>, csrf: &str, p: &PasskeysPage<'_>) -> Markup {
    let l = c.locale;
    let (unsupported, failed) = script_messages(l);
    page(
        c,
        &l.t("passkey.title"),
        html! {
            (flash(l, p.flash))
            p { (l.t("passkey.intro")) }
            (error_summary(l, p.errors))
            @if !p.binding {
                @if p.passkeys.is_empty() {
                    p.muted { (l.t("passkey.none")) }
                } @else {
                    (data_table("passkeys-caption", &l.t("passkey.list"), &[
                        html! { (l.t("passkey.name")) },
                        html! { (l.t("passkey.added")) },
                        html! { (l.t("passkey.last_used")) },
                        html! { span.visually-hidden { (l.t("passkey.actions")) } },
                    ], html! {
                        @for k in p.passkeys {
                            tr {
                                td { (k.name) }
                                td { (datetime(k.created_at)) }
                                td { @if let Some(t) = k.last_used_at { (datetime(t)) } @else { span.muted { (l.t("passkey.never")) } } }
                                td {
                                    form.inline method="post" action="/account/passkeys/remove" {
                                        (csrf_field(csrf))
                                        input type="hidden" name="passkey" value=(k.id);
                                        @if p.needs_password {
                                            @let id = format!("in-password-{}", k.id);
                                            label for=(id) { (l.t("reauth.password")) }
                                            " "
                                            input id=(id) name="password" type="password" autocomplete="current-password" required;
                                            " "
                                        }
                                        button.danger type="submit" { (l.t("passkey.remove")) span.visually-hidden { " " (k.name) } }
                                    }
                                }
                            }
                        }
                    }))
                }
            }
            h2 #add-h { (l.t("passkey.add")) }
            form.card #passkey-add method="post" action="/account/passkeys" novalidate
                aria-labelledby="add-h"
                data-passkey="register" data-options="/account/passkeys/options"
                data-unsupported=(unsupported) data-failed=(failed) {
                (csrf_field(csrf))
                (field(Field::new("name", &l.t("passkey.name")).autocomplete("off").required(true)
                    .hint(Some(&l.t("passkey.name_hint"))), p.errors))
                @if p.needs_password {
                    (field(Field::new("password", &l.t("reauth.password")).kind("password").autocomplete("current-password").required(true)
                        .hint(Some(&l.t("reauth.hint"))), p.errors))
                }
                (ceremony_parts(l, &l.t("passkey.add_button")))
            }
            p { a href="/account" { (l.t("form.back")) } }
            script src=(SCRIPT) defer {}
        },
    )
}

/// The passkey form of the logon prompt (`/login/factor?method=passkey`).
pub fn logon_form(l: Locale, csrf: &str) -> Markup {
    let (unsupported, failed) = script_messages(l);
    html! {
        form.card method="post" action="/login/factor" novalidate
            data-passkey="logon" data-options="/login/factor/passkey"
            data-unsupported=(unsupported) data-failed=(failed) {
            (csrf_field(csrf))
            input type="hidden" name="method" value="passkey";
            p { (l.t("passkey.logon_intro")) }
            (ceremony_parts(l, &l.t("passkey.use")))
        }
        script src=(SCRIPT) defer {}
    }
}
