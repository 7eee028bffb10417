//! The page shell and the small pieces every page reuses: form fields with label and
//! error, the CSRF field, flash messages, dates.

use std::collections::HashMap;

use maud::{DOCTYPE, Markup, html};

use crate::domain::account::Account;
use crate::error::Problem;
use crate::i18n::Locale;

/// What the shell needs to know about the request.
pub struct Chrome<'a> {
    pub locale: Locale,
    pub account: Option<&'a Account>,
    pub csrf: Option<&'a str>,
    pub path: &'a str,
    pub query: &'a str,
}

pub fn page(c: &Chrome<'_>, title: &str, content: Markup) -> Markup {
    let l = c.locale;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · Latchkey" }
                link rel="stylesheet" href="/static/style.css";
                // No favicon request (and no 404 in the console): an empty data: icon.
                link rel="icon" href="data:,";
            }
            body {
                a.skip href="#main" { (l.t("nav.skip")) }
                header.top {
                    a.brand href="/" { "Latchkey" }
                    @if let Some(a) = c.account {
                        nav aria-label=(l.t("nav.label")) {
                            a href="/account" aria-current=[(c.path.starts_with("/account")).then_some("page")] { (l.t("nav.account")) }
                            @if a.is_admin {
                                a href="/admin" aria-current=[(c.path.starts_with("/admin")).then_some("page")] { (l.t("nav.admin")) }
                            }
                            @if let Some(csrf) = c.csrf {
                                form.inline method="post" action="/logout" {
                                    (csrf_field(csrf))
                                    button.link type="submit" { (l.t("nav.logout")) }
                                }
                            }
                        }
                    }
                    nav.lang aria-label=(l.t("nav.language")) {
                        @for other in Locale::ALL {
                            @if other == l {
                                span lang=(other.code()) aria-current="true" { (other.native_name()) }
                            } @else {
                                a href=(lang_link(other, c.path, c.query)) lang=(other.code()) hreflang=(other.code()) { (other.native_name()) }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (content)
                }
                footer { p { (l.t("footer.text")) } }
            }
        }
    }
}

/// The switcher returns to the same page, query included (a setup link keeps its token).
fn lang_link(l: Locale, path: &str, query: &str) -> String {
    let here = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    format!("/lang?to={}&next={next}", l.code())
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Translated problems, by input name.
#[derive(Default)]
pub struct Errors(HashMap<String, Vec<String>>);

impl Errors {
    pub fn none() -> Errors {
        Errors::default()
    }

    pub fn from_problems(l: Locale, problems: &[Problem]) -> Errors {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for p in problems {
            // `%{detail}` in a message stands for the English detail (a plugin's words).
            let text = l.tn(p.key, p.n).replace("%{detail}", &p.english);
            m.entry(p.field.clone()).or_default().push(text);
        }
        Errors(m)
    }

    pub fn one(field: &str, message: String) -> Errors {
        let mut m = HashMap::new();
        m.insert(field.to_string(), vec![message]);
        Errors(m)
    }

    pub fn get(&self, field: &str) -> Option<&Vec<String>> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every message, for the summary at the top of a form.
    pub fn all(&self) -> Vec<&String> {
        let mut v: Vec<&String> = self.0.values().flatten().collect();
        v.sort();
        v
    }
}

/// A text-like input with its label, hint and error.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub autocomplete: &'a str,
    pub required: bool,
    pub readonly: bool,
    pub hint: Option<&'a str>,
    pub pattern: Option<&'a str>,
    pub placeholder: Option<&'a str>,
    /// Another element describing this input (e.g. the password policy).
    pub described_by: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            kind: "text",
            value: "",
            autocomplete: "off",
            required: false,
            readonly: false,
            hint: None,
            pattern: None,
            placeholder: None,
            described_by: None,
        }
    }
    pub fn kind(mut self, k: &'a str) -> Self {
        self.kind = k;
        self
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = a;
        self
    }
    pub fn required(mut self, r: bool) -> Self {
        self.required = r;
        self
    }
    pub fn readonly(mut self, r: bool) -> Self {
        self.readonly = r;
        self
    }
    pub fn hint(mut self, h: Option<&'a str>) -> Self {
        self.hint = h;
        self
    }
    pub fn placeholder(mut self, p: Option<&'a str>) -> Self {
        self.placeholder = p;
        self
    }
    /// For new-password inputs: the policy shown above them.
    pub fn policy(mut self) -> Self {
        self.described_by = Some("password-policy");
        self
    }
}

pub fn field(f: Field<'_>, errors: &Errors) -> Markup {
    let id = input_id(f.name);
    let errs = errors.get(f.name);
    let mut ids = Vec::new();
    if f.hint.is_some() {
        ids.push(format!("{id}-hint"));
    }
    if errs.is_some() {
        ids.push(format!("{id}-err"));
    }
    if let Some(other) = f.described_by {
        ids.push(other.to_string());
    }
    let describedby = (!ids.is_empty()).then(|| ids.join(" "));
    html! {
        div.field {
            label for=(id) { (f.label) @if f.required { span.req aria-hidden="true" { " *" } } }
            @if let Some(h) = f.hint { p.hint id=(format!("{id}-hint")) { (h) } }
            @if let Some(es) = errs {
                p.error id=(format!("{id}-err")) { @for e in es { (e) " " } }
            }
            input id=(id) name=(f.name) type=(f.kind) value=(f.value) autocomplete=(f.autocomplete)
                required[f.required] readonly[f.readonly] aria-invalid=[errs.map(|_| "true")]
                aria-describedby=[describedby] pattern=[f.pattern] placeholder=[f.placeholder];
        }
    }
}

/// HTML ids from input names: field.dept becomes in-field-dept.
pub fn input_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("in-{clean}")
}

/// A data table that scrolls sideways on narrow screens: a focusable, labelled region
/// (so keyboard users can scroll it) with a caption for screen readers.
pub fn data_table(id: &str, caption: &str, headers: &[Markup], rows: Markup) -> Markup {
    html! {
        div.table-wrap tabindex="0" role="region" aria-labelledby=(id) {
            table {
                caption.visually-hidden id=(id) { (caption) }
                thead { tr { @for h in headers { th scope="col" { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

pub fn error_summary(l: Locale, errors: &Errors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.alert.error role="alert" {
                p { strong { (l.t("form.fix_errors")) } }
                ul { @for e in errors.all() { li { (e) } } }
            }
        }
    }
}

pub fn flash(l: Locale, key: Option<&str>) -> Markup {
    html! {
        @if let Some(k) = key {
            div.alert.ok role="status" { p { (l.t(k)) } }
        }
    }
}

/// A Unix time as "2026-12-04 20:25 UTC".
pub fn datetime(t: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

/// A Unix time as RFC 3339, for `<time datetime>`.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A short human label for a User-Agent string.
pub fn device(ua: &str) -> String {
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            _ => "curl",
        });
    let os = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .iter()
        .find(|o| ua.contains(*o))
        .map(|o| if *o == "Mac OS" { "macOS" } else { o });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} · {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) if ua.is_empty() => "?".to_string(),
        (None, None) => ua.chars().take(40).collect(),
    }
}
