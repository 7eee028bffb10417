//! The console's connector pages: `/admin/connectors` (instances and plugins), the form
//! that adds or edits an instance (generated from the plugin's settings schema).
//! Secret settings are never rendered back: their inputs are always empty.

use maud::{Markup, html};

use super::admin::subnav;
use super::layout::{
    Chrome, Errors, Field, csrf_field, data_table, error_summary, field, flash, input_id, page,
};
use crate::app::connectors::{ConnectorForm, setting_input};
use crate::config::MatchBy;
use crate::i18n::Locale;
use crate::plugins::{SettingKind, SettingSpec};

/// Why an instance cannot serve, as the console explains it.
pub enum InstanceProblem {
    /// Its plugin is missing or broken (the reason is the loader's, in English).
    Plugin(String),
    /// Its secrets cannot be decrypted.
    Sealed,
    /// The configuration file has the same id.
    Shadowed,
}

/// A connector instance as the console lists it.
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    pub plugin: String,
    pub login: bool,
    pub bind: bool,
    pub provision: bool,
    pub allow_http: bool,
    pub from_config: bool,
    pub enabled: bool,
    pub problem: Option<InstanceProblem>,
}

/// A plugin found at start.
pub struct PluginRow {
    pub name: String,
    pub version: String,
    pub source: String,
    pub sha256: String,
    pub problem: Option<String>,
}

fn status(l: Locale, i: &InstanceRow) -> Markup {
    html! {
        @match &i.problem {
            Some(p) => {
                span.tag.bad { (l.t("connectors.disabled")) } " "
                @match p {
                    InstanceProblem::Plugin(reason) => (l.t("connectors.problem_plugin").replace("%{plugin}", &i.plugin).replace("%{reason}", reason)),
                    InstanceProblem::Sealed => (l.t("connectors.problem_sealed")),
                    InstanceProblem::Shadowed => (l.t("connectors.problem_shadowed")),
                }
            }
            None if !i.enabled => span.tag.bad { (l.t("connectors.off")) },
            None => (l.t("connectors.enabled")),
        }
    }
}

/// The enable or disable button of a console instance.
fn toggle(l: Locale, csrf: &str, i: &InstanceRow, from_edit: bool) -> Markup {
    let (action, label) = if i.enabled {
        ("disable", l.t("connectors.disable"))
    } else {
        ("enable", l.t("connectors.enable"))
    };
    html! {
        form.inline method="post" action=(format!("/admin/connectors/{}/{action}", i.id)) {
            (csrf_field(csrf))
            @if from_edit { input type="hidden" name="from" value="edit"; }
            button.secondary type="submit" aria-label=(format!("{label} {}", i.name)) { (label) }
        }
    }
}

pub fn connectors(
    c: &Chrome<'_>,
    csrf: &str,
    instances: &[InstanceRow],
    plugins: &[PluginRow],
    addable: &[(String, String)],
    flash_key: Option<&str>,
) -> Markup {
    let l = c.locale;
    page(
        c,
        &l.t("admin.connectors"),
        html! {
            (subnav(l, "/admin/connectors"))
            (flash(l, flash_key))
            h2 { (l.t("connectors.instances")) }
            @if instances.is_empty() {
                p.muted { (l.t("connectors.none")) }
            } @else {
                (data_table(
                    "tbl-instances",
                    &l.t("connectors.instances"),
                    &[html! { (l.t("connectors.id")) }, html! { (l.t("connectors.name")) }, html! { (l.t("connectors.plugin")) }, html! { (l.t("connectors.offered")) }, html! { (l.t("connectors.origin")) }, html! { (l.t("admin.status")) }, html! { (l.t("connectors.actions")) }],
                    html! {
                            @for i in instances {
                                tr id=(format!("connector-{}", i.id)) {
                                    td { code { (i.id) } }
                                    td { (i.name) }
                                    td { code { (i.plugin) } }
                                    td {
                                        @if i.login { span.tag { (l.t("connectors.login")) } " " }
                                        @if i.bind { span.tag { (l.t("connectors.bind")) } " " }
                                        @if i.provision { span.tag { (l.t("connectors.provision")) } " " }
                                        @if i.allow_http { span.tag.bad { "http" } }
                                    }
                                    td { (l.t(if i.from_config { "connectors.from_config" } else { "connectors.from_console" })) }
                                    td { (status(l, i)) }
                                    td.actions {
                                        @if i.enabled && i.problem.is_none() {
                                            a href=(format!("/admin/connectors/{}/import", i.id)) aria-label=(format!("{} {}", l.t("connectors.import"), i.name)) { (l.t("connectors.import")) }
                                            " "
                                        }
                                        @if !i.from_config {
                                            a href=(format!("/admin/connectors/{}/edit", i.id)) aria-label=(format!("{} {}", l.t("connectors.edit"), i.name)) { (l.t("connectors.edit")) }
                                            " "
                                            (toggle(l, csrf, i, false))
                                        }
                                    }
                                }
                            }
                        },
                ))
            }
            section aria-labelledby="add-h" {
                h2 #add-h { (l.t("connectors.add")) }
                @if addable.is_empty() {
                    p.muted { (l.t("connectors.no_plugins")) }
                } @else {
                    form.card method="get" action="/admin/connectors/new" {
                        div.field {
                            label for="in-plugin" { (l.t("connectors.plugin")) }
                            select #in-plugin name="plugin" {
                                @for (id, name) in addable {
                                    option value=(id) { (name) " (" (id) ")" }
                                }
                            }
                        }
                        button type="submit" { (l.t("connectors.add_button")) }
                    }
                }
            }
            h2 { (l.t("connectors.plugins")) }
            (data_table(
                "tbl-plugins",
                &l.t("connectors.plugins"),
                &[html! { (l.t("connectors.plugin")) }, html! { (l.t("connectors.version")) }, html! { (l.t("connectors.source")) }, html! { "SHA-256" }, html! { (l.t("admin.status")) }],
                html! {
                        @for p in plugins {
                            tr {
                                td { (p.name) }
                                td { (p.version) }
                                td { (p.source) }
                                td { code { (p.sha256.get(..12).unwrap_or("")) } }
                                td {
                                    @match &p.problem {
                                        None => (l.t("connectors.loaded")),
                                        Some(r) => { span.tag.bad { (l.t("connectors.broken")) } " " (r) }
                                    }
                                }
                            }
                        }
                    },
            ))
        },
    )
}

/// The add or edit form of an instance.
pub struct InstanceForm<'a> {
    /// `Some` when editing a stored instance: its row (status, toggles, delete).
    pub existing: Option<&'a InstanceRow>,
    pub plugin_id: &'a str,
    pub plugin_name: &'a str,
    /// The plugin's settings schema; `None` when its plugin is not loaded.
    pub settings: Option<&'a [SettingSpec]>,
    /// What the inputs show (secrets never: their inputs stay empty).
    pub values: &'a ConnectorForm,
    /// Secret settings that hold a stored value.
    pub secrets_set: &'a [String],
    pub redirect_uri: Option<String>,
    pub errors: &'a Errors,
    pub flash: Option<&'a str>,
}

fn checkbox(name: &str, label: &str, checked: bool, errors: &Errors) -> Markup {
    let id = input_id(name);
    let errs = errors.get(name);
    html! {
        div.field.check {
            input id=(id) type="checkbox" name=(name) value="true" checked[checked]
                aria-invalid=[errs.map(|_| "true")]
                aria-describedby=[errs.map(|_| format!("{id}-err"))];
            label for=(id) { (label) }
            @if let Some(es) = errs { p.error id=(format!("{id}-err")) { @for e in es { (e) " " } } }
        }
    }
}

fn setting_field(l: Locale, spec: &SettingSpec, f: &InstanceForm<'_>) -> Markup {
    let name = setting_input(&spec.key);
    let typed = f
        .values
        .settings
        .get(&spec.key)
        .map(String::as_str)
        .unwrap_or("");
    let stored_secret = f.secrets_set.contains(&spec.key);
    let default_hint = spec
        .default
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| format!("{} {d}", l.t("connectors.default")));
    match spec.kind {
        SettingKind::Bool => {
            let on = match f.values.settings.get(&spec.key) {
                Some(v) => v == "true",
                None => spec.default.as_deref() == Some("true"),
            };
            checkbox(&name, &spec.label, on, f.errors)
        }
        SettingKind::Secret => {
            let hint = if stored_secret {
                l.t("connectors.secret_set").into_owned()
            } else if f.existing.is_some() {
                l.t("connectors.secret_unset").into_owned()
            } else {
                String::new()
            };
            let hint = match &default_hint {
                Some(d) if hint.is_empty() => d.clone(),
                Some(d) => format!("{hint} {d}"),
                None => hint,
            };
            field(
                Field::new(&name, &spec.label)
                    .kind("password")
                    .autocomplete("off")
                    .required(spec.required && spec.default.is_none() && !stored_secret)
                    .hint((!hint.is_empty()).then_some(hint.as_str())),
                f.errors,
            )
        }
        SettingKind::Text | SettingKind::Url => field(
            Field::new(&name, &spec.label)
                .kind(if spec.kind == SettingKind::Url {
                    "url"
                } else {
                    "text"
                })
                .value(typed)
                .autocomplete("off")
                .required(spec.required && spec.default.is_none())
                .placeholder(spec.default.as_deref())
                .hint(default_hint.as_deref()),
            f.errors,
        ),
    }
}

pub fn instance_form(c: &Chrome<'_>, csrf: &str, f: &InstanceForm<'_>) -> Markup {
    let l = c.locale;
    let v = f.values;
    let (title, action) = match f.existing {
        Some(i) => (
            format!("{} {}", l.t("connectors.edit_title"), i.id),
            format!("/admin/connectors/{}/edit", i.id),
        ),
        None => (
            format!("{}: {}", l.t("connectors.new_title"), f.plugin_name),
            "/admin/connectors/new".to_string(),
        ),
    };
    page(
        c,
        &title,
        html! {
            (subnav(l, "/admin/connectors"))
            (flash(l, f.flash))
            (error_summary(l, f.errors))
            @if let Some(i) = f.existing {
                div.status { strong { (l.t("connectors.status_line")) } " " (status(l, i)) " " (toggle(l, csrf, i, true)) }
            }
            @if let Some(uri) = &f.redirect_uri {
                p { (l.t("connectors.redirect_uri")) " " code.uri { (uri) } }
            }
            @match f.settings {
                None => p.muted { (l.t("connectors.plugin_missing_edit")) },
                Some(specs) => {
                    form.card method="post" action=(action) novalidate {
                        (csrf_field(csrf))
                        fieldset {
                            legend { (l.t("connectors.general")) }
                            @if f.existing.is_none() {
                                input type="hidden" name="plugin" value=(f.plugin_id);
                                (field(Field::new("id", &l.t("connectors.id")).value(&v.id).required(true).hint(Some(&l.t("connectors.id_hint"))), f.errors))
                            }
                            div.field {
                                label for="in-plugin-shown" { (l.t("connectors.plugin")) }
                                input #in-plugin-shown type="text" value=(format!("{} ({})", f.plugin_name, f.plugin_id)) readonly autocomplete="off";
                                @if let Some(es) = f.errors.get("plugin") { p.error id="in-plugin-err" { @for e in es { (e) " " } } }
                            }
                            (field(Field::new("name", &l.t("connectors.name")).value(&v.name).required(true), f.errors))
                            (checkbox("login", &l.t("connectors.offer_login"), v.login, f.errors))
                            (checkbox("bind", &l.t("connectors.offer_bind"), v.bind, f.errors))
                            (checkbox("provision", &l.t("connectors.offer_provision"), v.provision, f.errors))
                            (checkbox("allow_http", &l.t("connectors.allow_http"), v.allow_http, f.errors))
                            @let mid = input_id("match_by");
                            div.field {
                                label for=(mid) { (l.t("connectors.match_by")) }
                                p.hint id=(format!("{mid}-hint")) { (l.t("connectors.match_by_hint")) }
                                @if let Some(es) = f.errors.get("match_by") { p.error id=(format!("{mid}-err")) { @for e in es { (e) " " } } }
                                select id=(mid) name="match_by" aria-describedby=(format!("{mid}-hint")) {
                                    @for m in MatchBy::ALL {
                                        option value=(m.as_str()) selected[m.as_str() == v.match_by] { (l.t(&format!("connectors.match_{}", m.as_str()))) }
                                    }
                                }
                            }
                        }
                        fieldset {
                            legend { (l.t("connectors.settings")) }
                            @for spec in specs {
                                (setting_field(l, spec, f))
                            }
                        }
                        button type="submit" {
                            @if f.existing.is_some() { (l.t("form.save")) } @else { (l.t("connectors.create_button")) }
                        }
                    }
                }
            }
            @if let Some(i) = f.existing {
                section aria-labelledby="danger-h" {
                    h2 #danger-h { (l.t("connectors.delete")) }
                    p.muted { (l.t("connectors.delete_hint")) }
                    form.inline method="post" action=(format!("/admin/connectors/{}/delete", i.id)) {
                        (csrf_field(csrf))
                        (checkbox("confirm", &l.t("connectors.delete_confirm"), false, f.errors))
                        button.danger type="submit" { (l.t("connectors.delete")) }
                    }
                }
            }
            p { a href="/admin/connectors" { (l.t("form.back")) } }
        },
    )
}
