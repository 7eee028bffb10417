//! `/admin/connectors/…`: connector instances in the console (the caller, `admin::route`,
//! has checked that the user is an admin). Instances of the configuration file are
//! listed read-only; the console adds, edits, enables, disables and deletes its own.

use warp::http::StatusCode;

use crate::app::App;
use crate::app::connectors::{ConnectorForm, Fault, Instance, Origin};
use crate::error::Error;
use crate::web::request::{Params, Request};
use crate::web::response::Resp;
use crate::web::views::admin_connectors::{
    InstanceForm, InstanceProblem, InstanceRow, PluginRow, connectors, instance_form,
};
use crate::web::views::layout::Errors;

pub async fn route(
    app: &App,
    req: &Request,
    csrf: &str,
    rest: &[&str],
    post: bool,
) -> Result<Resp, Error> {
    let actor = req.actor();
    match (rest, post) {
        ([], false) => {
            let instances: Vec<InstanceRow> = app
                .connector_instances()
                .iter()
                .map(|i| row(app, i))
                .collect();
            let addable: Vec<(String, String)> = app
                .plugins
                .as_ref()
                .map(|p| {
                    p.list()
                        .into_iter()
                        .map(|i| (i.id.clone(), i.name.clone()))
                        .collect()
                })
                .unwrap_or_default();
            Ok(Resp::page(connectors(
                &req.chrome(),
                csrf,
                &instances,
                &plugin_rows(app),
                &addable,
                req.flash(),
            )))
        }
        (["new"], false) => {
            let values = ConnectorForm {
                plugin: req.query.get("plugin").to_string(),
                login: true,
                bind: true,
                match_by: "none".into(),
                ..Default::default()
            };
            new_form(app, req, csrf, &values, &Errors::none(), StatusCode::OK)
        }
        (["new"], true) => {
            let values = form_values(&req.form);
            match app.create_connector(&actor, &values).await {
                Ok(()) => Ok(Resp::redirect(&format!(
                    "/admin/connectors/{}/edit?done=created",
                    values.id.trim()
                ))),
                Err(Error::Form(p)) => new_form(
                    app,
                    req,
                    csrf,
                    &values,
                    &Errors::from_problems(req.locale, &p),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => Err(e),
            }
        }
        ([id, "edit"], false) => {
            let instance = console_instance(app, id)?;
            let values = stored_values(&instance);
            edit_form(
                app,
                req,
                csrf,
                &instance,
                &values,
                &Errors::none(),
                StatusCode::OK,
            )
        }
        ([id, "edit"], true) => {
            let instance = console_instance(app, id)?;
            let values = form_values(&req.form);
            match app.update_connector(&actor, id, &values).await {
                Ok(()) => Ok(Resp::redirect(&format!(
                    "/admin/connectors/{id}/edit?done=saved"
                ))),
                Err(Error::Form(p)) => edit_form(
                    app,
                    req,
                    csrf,
                    &instance,
                    &values,
                    &Errors::from_problems(req.locale, &p),
                    StatusCode::BAD_REQUEST,
                ),
                Err(e) => Err(e),
            }
        }
        ([id, toggle @ ("enable" | "disable")], true) => {
            console_instance(app, id)?;
            app.set_connector_enabled(&actor, id, *toggle == "enable")?;
            // Back where the button was: the list, or the instance's page.
            let back = if req.form.get("from") == "edit" {
                format!("/admin/connectors/{id}/edit?done=saved")
            } else {
                "/admin/connectors?done=saved".to_string()
            };
            Ok(Resp::redirect(&back))
        }
        ([id, "delete"], true) => {
            let instance = console_instance(app, id)?;
            let result = if req.form.get("confirm") != "true" {
                Err(Error::form(
                    "confirm",
                    "err.delete_confirm",
                    "tick the box to confirm the deletion",
                ))
            } else {
                app.delete_connector(&actor, id)
            };
            match result {
                Ok(()) => Ok(Resp::redirect("/admin/connectors?done=deleted")),
                Err(Error::Form(p)) => {
                    let status = if p.iter().any(|p| p.key == "err.connector_bound") {
                        StatusCode::CONFLICT
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    edit_form(
                        app,
                        req,
                        csrf,
                        &instance,
                        &stored_values(&instance),
                        &Errors::from_problems(req.locale, &p),
                        status,
                    )
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(Error::NotFound(req.path.clone())),
    }
}

/// A console-made instance; configuration file instances are changed in the file.
fn console_instance(app: &App, id: &str) -> Result<Instance, Error> {
    let all = app.connector_instances();
    let mut same_id = all.iter().filter(|i| i.config.id == id);
    match same_id.clone().find(|i| i.origin == Origin::Console) {
        Some(i) => Ok(i.clone()),
        None if same_id.next().is_some() => Err(Error::Refused(format!(
            "connector {id} comes from the configuration file"
        ))),
        None => Err(Error::NotFound(format!("connector {id}"))),
    }
}

/// What the console's form posted.
fn form_values(f: &Params) -> ConnectorForm {
    let settings = f
        .to_map()
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("setting.").map(|k| (k.to_string(), v)))
        .collect();
    ConnectorForm {
        id: f.get("id").to_string(),
        plugin: f.get("plugin").to_string(),
        name: f.get("name").to_string(),
        login: f.get("login") == "true",
        bind: f.get("bind") == "true",
        provision: f.get("provision") == "true",
        allow_http: f.get("allow_http") == "true",
        match_by: f.get("match_by").to_string(),
        settings,
    }
}

/// The stored instance as the form shows it, secrets left out.
fn stored_values(i: &Instance) -> ConnectorForm {
    let c = &i.config;
    ConnectorForm {
        id: c.id.clone(),
        plugin: c.plugin.clone(),
        name: c.name.clone(),
        login: c.login,
        bind: c.bind,
        provision: c.provision,
        allow_http: c.allow_http,
        match_by: c.match_by.as_str().to_string(),
        settings: c
            .settings
            .iter()
            .filter(|(k, _)| !i.secrets_set.contains(k))
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    }
}

fn new_form(
    app: &App,
    req: &Request,
    csrf: &str,
    values: &ConnectorForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let info = app
        .plugins
        .as_ref()
        .and_then(|p| p.get(&values.plugin))
        .ok_or_else(|| Error::NotFound(format!("plugin {}", values.plugin)))?;
    let id = values.id.trim();
    // Until a valid id is typed, its pattern: the admin may register it at the IdP first.
    let redirect_uri = Some(if crate::domain::connector::valid_instance_id(id) {
        app.redirect_uri(id)
    } else {
        app.redirect_uri("{id}")
    });
    let page = instance_form(
        &req.chrome(),
        csrf,
        &InstanceForm {
            existing: None,
            plugin_id: &info.id,
            plugin_name: &info.name,
            settings: Some(&info.settings),
            values,
            secrets_set: &[],
            redirect_uri,
            errors,
            flash: None,
        },
    );
    Ok(Resp::html(status, page))
}

fn edit_form(
    app: &App,
    req: &Request,
    csrf: &str,
    instance: &Instance,
    values: &ConnectorForm,
    errors: &Errors,
    status: StatusCode,
) -> Result<Resp, Error> {
    let info = app
        .plugins
        .as_ref()
        .and_then(|p| p.get(&instance.config.plugin));
    let row = row(app, instance);
    let page = instance_form(
        &req.chrome(),
        csrf,
        &InstanceForm {
            existing: Some(&row),
            plugin_id: &instance.config.plugin,
            plugin_name: info.map(|i| i.name.as_str()).unwrap_or("—"),
            settings: info.map(|i| i.settings.as_slice()),
            values,
            secrets_set: &instance.secrets_set,
            redirect_uri: Some(app.redirect_uri(&instance.config.id)),
            errors,
            flash: if errors.is_empty() { req.flash() } else { None },
        },
    );
    Ok(Resp::html(status, page))
}

fn row(app: &App, i: &Instance) -> InstanceRow {
    let c = &i.config;
    let problem = match i.fault {
        Some(Fault::Sealed) => Some(InstanceProblem::Sealed),
        Some(Fault::Shadowed) => Some(InstanceProblem::Shadowed),
        None => app.plugin_problem(&c.plugin).map(InstanceProblem::Plugin),
    };
    InstanceRow {
        id: c.id.clone(),
        name: c.name.clone(),
        plugin: c.plugin.clone(),
        login: c.login,
        bind: c.bind,
        provision: c.provision,
        allow_http: c.allow_http,
        from_config: i.origin == Origin::ConfigFile,
        enabled: i.enabled,
        problem,
    }
}

/// The plugins found at start, broken ones with why.
fn plugin_rows(app: &App) -> Vec<PluginRow> {
    let mut rows: Vec<PluginRow> = Vec::new();
    if let Some(p) = app.plugins.as_ref() {
        rows.extend(p.list().into_iter().map(|i| PluginRow {
            name: format!("{} ({})", i.name, i.id),
            version: format!("{} · API {}", i.version, i.api_version),
            source: i.source.to_string(),
            sha256: i.sha256.clone(),
            problem: None,
        }));
        rows.extend(p.broken().iter().map(|b| PluginRow {
            name: "—".into(),
            version: String::new(),
            source: b.source.to_string(),
            sha256: b.sha256.clone(),
            problem: Some(b.reason.clone()),
        }));
    }
    rows
}
