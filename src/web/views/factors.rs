//! Second factors: the logon prompt, forced binding, email/mobile binding, the OTP
//! authenticator, recovery codes, and the forgotten-password pages.

use maud::{Markup, html};

use super::layout::{Chrome, Errors, Field, csrf_field, error_summary, field, flash, page};
use crate::app::factors::Method;
use crate::delivery::Channel;
use crate::i18n::Locale;

fn method_label(l: Locale, m: Method) -> std::borrow::Cow<'static, str> {
    match m {
        Method::Passkey => l.t("factor.method_passkey"),
        Method::Otp => l.t("factor.method_otp"),
        Method::Sms => l.t("factor.method_sms"),
        Method::Email => l.t("factor.method_email"),
        Method::Recovery => l.t("factor.method_recovery"),
    }
}

fn code_field<'a>(l: Locale, errors: &'a Errors, label: &'a str) -> Markup {
    let _ = l;
    field(
        Field::new("code", label)
            .autocomplete("one-time-code")
            .required(true),
        errors,
    )
}

pub struct Prompt<'a> {
    pub methods: &'a [Method],
    pub current: Method,
    /// Masked address the code went to, once sent.
    pub sent_to: Option<&'a str>,
    /// Masked address a code would go to.
    pub target: Option<&'a str>,
    pub errors: &'a Errors,
}

pub fn prompt(c: &Chrome<'_>, csrf: &str, p: &Prompt<'_>) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("factor.title"),
        html! {
            p { (l.t("factor.intro")) }
            (error_summary(l, p.errors))
            @if p.methods.len() > 1 {
                nav.subnav aria-label=(l.t("factor.other_methods")) {
                    @for m in p.methods {
                        a href=(format!("/login/factor?method={}", m.as_str())) aria-current=[(*m == p.current).then_some("page")] { (method_label(l, *m)) }
                    }
                }
            }
            @match p.current {
                Method::Passkey => {
                    (super::passkeys::logon_form(l, csrf))
                }
                Method::Sms | Method::Email if p.sent_to.is_none() => {
                    form.card method="post" action="/login/factor/send" {
                        (csrf_field(csrf))
                        input type="hidden" name="method" value=(p.current.as_str());
                        p { (l.t("factor.will_send").replace("%{target}", p.target.unwrap_or(""))) }
                        button type="submit" { (l.t("factor.send")) }
                    }
                }
                m => {
                    form.card method="post" action="/login/factor" novalidate {
                        (csrf_field(csrf))
                        input type="hidden" name="method" value=(m.as_str());
                        @if let Some(t) = p.sent_to { p { (l.t("code.sent_to").replace("%{target}", t)) } }
                        @let label = match m {
                            Method::Otp => l.t("factor.otp_label"),
                            Method::Recovery => l.t("factor.recovery_label"),
                            _ => l.t("code.label"),
                        };
                        (code_field(l, p.errors, &label))
                        button type="submit" { (l.t("factor.verify")) }
                    }
                    @if p.sent_to.is_some() {
                        form.inline method="post" action="/login/factor/send" {
                            (csrf_field(csrf))
                            input type="hidden" name="method" value=(m.as_str());
                            button.secondary type="submit" { (l.t("code.resend")) }
                        }
                    }
                }
            }
        },
    )
}

pub fn bind_choice(c: &Chrome<'_>, methods: &[Method]) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("bind.title"),
        html! {
            p { (l.t("bind.intro")) }
            ul.tiles {
                @for m in methods {
                    @let href = match m { Method::Passkey => "/account/passkeys", Method::Otp => "/account/otp", Method::Sms => "/account/mobile", _ => "/account/email" };
                    li { a href=(href) { (method_label(l, *m)) } }
                }
            }
        },
    )
}

pub enum ContactStep<'a> {
    Enter { value: &'a str },
    Confirm { masked: &'a str },
}

pub struct ContactPage<'a> {
    pub channel: Channel,
    pub current: Option<&'a str>,
    pub available: bool,
    pub step: ContactStep<'a>,
    pub needs_password: bool,
    pub errors: &'a Errors,
}

pub fn contact(c: &Chrome<'_>, csrf: &str, p: &ContactPage<'_>) -> Markup {
    let l = c.locale;
    let (title, label, kind, auto, base) = match p.channel {
        Channel::Email => (
            l.t("contact.email_title"),
            l.t("account.email"),
            "email",
            "email",
            "/account/email",
        ),
        Channel::Sms => (
            l.t("contact.mobile_title"),
            l.t("account.mobile"),
            "tel",
            "tel",
            "/account/mobile",
        ),
    };
    page(
        c,
        &title,
        html! {
            p {
                (l.t("contact.current")) " "
                @if let Some(v) = p.current { strong { (v) } } @else { span.muted { (l.t("account.not_bound")) } }
            }
            @if !p.available {
                div.alert.warn role="status" { p { (l.t(if p.channel == Channel::Email { "contact.no_email_delivery" } else { "contact.no_sms_delivery" })) } }
            } @else {
                (error_summary(l, p.errors))
                @match p.step {
                    ContactStep::Enter { value } => {
                        form.card method="post" action=(base) novalidate {
                            (csrf_field(csrf))
                            (field(Field::new(p.channel.field(), &label).kind(kind).value(value).autocomplete(auto).required(true)
                                .hint(Some(&l.t("contact.code_hint"))), p.errors))
                            @if p.needs_password {
                                (field(Field::new("password", &l.t("reauth.password")).kind("password").autocomplete("current-password").required(true)
                                    .hint(Some(&l.t("reauth.hint"))), p.errors))
                            }
                            button type="submit" { (l.t("contact.send")) }
                        }
                    }
                    ContactStep::Confirm { masked } => {
                        form.card method="post" action=(format!("{base}/confirm")) novalidate {
                            (csrf_field(csrf))
                            p { (l.t("code.sent_to").replace("%{target}", masked)) }
                            (code_field(l, p.errors, &l.t("code.label")))
                            button type="submit" { (l.t("contact.confirm")) }
                        }
                        p { a href=(base) { (l.t("contact.start_over")) } }
                    }
                }
            }
            p { a href="/account" { (l.t("form.back")) } }
        },
    )
}

pub enum OtpState<'a> {
    Setup {
        secret: &'a str,
        uri: &'a str,
        qr: &'a str,
    },
    Bound,
}

pub fn otp(
    c: &Chrome<'_>,
    csrf: &str,
    state: &OtpState<'_>,
    needs_password: bool,
    errors: &Errors,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("otp.title"),
        html! {
            (error_summary(l, errors))
            @match state {
                OtpState::Setup { secret, uri, qr } => {
                    ol.steps {
                        li { (l.t("otp.step_scan")) }
                        li { (l.t("otp.step_code")) }
                    }
                    figure.qr {
                        img src=(qr) alt=(l.t("otp.qr_alt")) width="220" height="220";
                    }
                    dl.facts {
                        dt { (l.t("otp.secret")) } dd { code.secret { (secret) } }
                        dt { (l.t("otp.uri")) } dd { code.uri { (uri) } }
                    }
                    form.card method="post" action="/account/otp/confirm" novalidate {
                        (csrf_field(csrf))
                        (code_field(l, errors, &l.t("otp.first_code")))
                        @if needs_password {
                            (field(Field::new("password", &l.t("reauth.password")).kind("password").autocomplete("current-password").required(true)
                                .hint(Some(&l.t("reauth.hint"))), errors))
                        }
                        button type="submit" { (l.t("otp.confirm")) }
                    }
                }
                OtpState::Bound => {
                    p { (l.t("otp.bound")) }
                    form.card method="post" action="/account/otp/unbind" novalidate {
                        (csrf_field(csrf))
                        p { (l.t("otp.unbind_intro")) }
                        (field(Field::new("code", &l.t("otp.current_code")).autocomplete("one-time-code"), errors))
                        (field(Field::new("password", &l.t("reauth.password")).kind("password").autocomplete("current-password"), errors))
                        button.danger type="submit" { (l.t("otp.unbind")) }
                    }
                }
            }
            p { a href="/account" { (l.t("form.back")) } }
        },
    )
}

pub fn recovery_codes(c: &Chrome<'_>, codes: &[String], continue_to: &str) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("recovery.title"),
        html! {
            div.alert.warn role="status" { p { (l.t("recovery.once")) } }
            ul.codes { @for code in codes { li { code { (code) } } } }
            p { a.button href=(continue_to) { (l.t("recovery.continue")) } }
        },
    )
}

pub fn reset_request(c: &Chrome<'_>, csrf: &str, value: &str, errors: &Errors) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("reset.title"),
        html! {
            p { (l.t("reset.intro")) }
            (error_summary(l, errors))
            form.card method="post" action="/password/reset" novalidate {
                (csrf_field(csrf))
                (field(Field::new("identifier", &l.t("login.username")).value(value).autocomplete("username").required(true), errors))
                button type="submit" { (l.t("reset.send")) }
            }
            p { a href="/login" { (l.t("reset.back")) } }
        },
    )
}

pub fn reset_confirm(c: &Chrome<'_>, csrf: &str, policy: &Markup, errors: &Errors) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("reset.title"),
        html! {
            (flash(l, Some("reset.sent")))
            (error_summary(l, errors))
            form.card method="post" action="/password/reset/confirm" novalidate {
                (csrf_field(csrf))
                (code_field(l, errors, &l.t("code.label")))
                (policy)
                (field(Field::new("new_password", &l.t("password.new")).kind("password").autocomplete("new-password").policy().required(true), errors))
                (field(Field::new("new_password_confirm", &l.t("password.confirm")).kind("password").autocomplete("new-password").required(true), errors))
                button type="submit" { (l.t("reset.submit")) }
            }
            p { a href="/password/reset" { (l.t("reset.again")) } }
        },
    )
}
