//! Connector instances: those of `[[connectors]]` in the configuration file (read-only)
//! and those made in the admin console (stored; secret settings sealed with `keys.rs`).
//! One runtime view of both (`App::connector_instances`), cached briefly and dropped
//! whenever the console changes an instance, so a running server picks changes up
//! without a restart. `federation.rs` looks instances up through it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Actor, App, audit, now};
use crate::config::{ConnectorConfig, MatchBy};
use crate::domain::connector::{UrlProblem, check_url, valid_instance_id, valid_instance_name};
use crate::error::{Error, Problem};
use crate::plugins::{SettingKind, Source};
use crate::store::{self, StoreError, connectors::StoredInstance};

/// Other processes (the CLI, a second server) may change instances too: the view is
/// reread at least this often. This process's own changes drop it at once.
const INSTANCES_TTL: Duration = Duration::from_secs(2);

/// The audit events of this file (each has an `event.NAME` translation).
pub const EVENTS: &[&str] = &[
    "admin.connector.create",
    "admin.connector.update",
    "admin.connector.enable",
    "admin.connector.disable",
    "admin.connector.delete",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `[[connectors]]`: read-only in the console.
    ConfigFile,
    /// Made in the admin console (stored in the database).
    Console,
}

/// Why a stored instance cannot be used, whatever its plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Its secret settings cannot be opened (the installation key changed).
    Sealed,
    /// The configuration file has an instance with the same id, which wins.
    Shadowed,
}

/// One connector instance as the portal runs it.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Id, plugin, flags and settings (secrets in the clear: never render or log them).
    pub config: Arc<ConnectorConfig>,
    pub origin: Origin,
    /// Console instances can be disabled; configuration file ones are always enabled.
    pub enabled: bool,
    /// Keys of the secret settings that hold a value (names only).
    pub secrets_set: Vec<String>,
    pub fault: Option<Fault>,
}

impl Instance {
    /// Enabled and not faulty (its plugin may still be missing).
    pub fn active(&self) -> bool {
        self.enabled && self.fault.is_none()
    }
}

pub(crate) type InstanceCache = Mutex<Option<(Instant, Arc<Vec<Instance>>)>>;

/// What the console's connector form sends.
#[derive(Debug, Clone, Default)]
pub struct ConnectorForm {
    /// Ignored when editing (the id names the instance's bindings and callback URL).
    pub id: String,
    /// Ignored when editing.
    pub plugin: String,
    pub name: String,
    pub login: bool,
    pub bind: bool,
    pub provision: bool,
    pub allow_http: bool,
    pub match_by: String,
    /// Typed values by setting key; an empty secret keeps the stored one.
    pub settings: BTreeMap<String, String>,
}

/// What is sealed in `connector_instances.secrets`: the secrets and the instance they
/// belong to (so a sealed value cannot be moved to another row).
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    instance: String,
    secrets: BTreeMap<String, String>,
}

/// The form input of a plugin setting.
pub fn setting_input(key: &str) -> String {
    format!("setting.{key}")
}

impl App {
    /// Every connector instance: the configuration file's, then the console's.
    pub fn connector_instances(&self) -> Arc<Vec<Instance>> {
        if let Ok(cache) = self.connectors_cache.lock()
            && let Some((at, list)) = cache.as_ref()
            && at.elapsed() < INSTANCES_TTL
        {
            return list.clone();
        }
        let list = match self.store.read(store::connectors::list) {
            Ok(stored) => Arc::new(self.runtime_view(stored)),
            Err(e) => {
                // The configuration file's instances still work; try again next time.
                tracing::error!(error = %e, "cannot read the console's connector instances");
                return Arc::new(self.runtime_view(Vec::new()));
            }
        };
        if let Ok(mut cache) = self.connectors_cache.lock() {
            *cache = Some((Instant::now(), list.clone()));
        }
        list
    }

    fn runtime_view(&self, stored: Vec<StoredInstance>) -> Vec<Instance> {
        let mut list: Vec<Instance> = self
            .config
            .connectors
            .iter()
            .map(|c| Instance {
                config: Arc::new(c.clone()),
                origin: Origin::ConfigFile,
                enabled: true,
                secrets_set: Vec::new(),
                fault: None,
            })
            .collect();
        for s in stored {
            let opened = self.open_secrets(&s);
            let fault = if self.in_config_file(&s.id) {
                Some(Fault::Shadowed)
            } else if opened.is_none() {
                Some(Fault::Sealed)
            } else {
                None
            };
            let secrets = opened.unwrap_or_default();
            let mut settings = toml::Table::new();
            for (k, v) in s.settings.iter().chain(secrets.iter()) {
                settings.insert(k.clone(), toml::Value::String(v.clone()));
            }
            list.push(Instance {
                config: Arc::new(ConnectorConfig {
                    id: s.id,
                    plugin: s.plugin,
                    name: s.name,
                    login: s.login,
                    bind: s.bind,
                    provision: s.provision,
                    allow_http: s.allow_http,
                    match_by: MatchBy::parse(&s.match_by).unwrap_or(MatchBy::None),
                    settings,
                }),
                origin: Origin::Console,
                enabled: s.enabled,
                secrets_set: secrets.into_keys().collect(),
                fault,
            });
        }
        list
    }

    fn in_config_file(&self, id: &str) -> bool {
        self.config.connectors.iter().any(|c| c.id == id)
    }

    /// The secret settings of a stored instance; `None` when they cannot be opened.
    fn open_secrets(&self, s: &StoredInstance) -> Option<BTreeMap<String, String>> {
        let Some(blob) = &s.secrets else {
            return Some(BTreeMap::new());
        };
        let plain = self.keys.decrypt(blob)?;
        let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
        (sealed.instance == s.id).then_some(sealed.secrets)
    }

    fn seal_secrets(&self, id: &str, secrets: BTreeMap<String, String>) -> Option<Vec<u8>> {
        if secrets.is_empty() {
            return None;
        }
        let sealed = Sealed {
            instance: id.to_string(),
            secrets,
        };
        let json = serde_json::to_vec(&sealed).expect("a map of strings always serializes");
        Some(self.keys.encrypt(&json))
    }

    /// Drops the runtime view (and the plugin's cached tokens of that instance) after a
    /// change.
    fn forget_connector(&self, id: &str) {
        if let Ok(mut cache) = self.connectors_cache.lock() {
            *cache = None;
        }
        if let Some(p) = &self.plugins {
            p.forget_cache(id);
        }
    }

    /// Why an instance's plugin cannot serve it: `None` when it is loaded, else a
    /// reason (a broken `plugins_dir` file named after the plugin explains itself).
    pub fn plugin_problem(&self, plugin: &str) -> Option<String> {
        let Some(plugins) = &self.plugins else {
            return Some("connector plugins are not loaded".into());
        };
        if plugins.get(plugin).is_some() {
            return None;
        }
        let broken = plugins.broken().iter().find(|b| match &b.source {
            Source::File(f) => f.file_stem().is_some_and(|s| s == plugin),
            Source::BuiltIn(name) => name == plugin,
        });
        Some(match broken {
            Some(b) => b.reason.clone(),
            None => "no loaded plugin has this id".into(),
        })
    }

    /// Adds an instance made in the console (enabled). Nothing is saved on any problem.
    pub async fn create_connector(&self, actor: &Actor, form: &ConnectorForm) -> Result<(), Error> {
        let id = form.id.trim().to_string();
        let (checked, _) = self.check_form(&id, &form.plugin, form, None).await?;
        let t = now();
        let row = StoredInstance {
            id: id.clone(),
            plugin: form.plugin.clone(),
            enabled: true,
            created_at: t,
            updated_at: t,
            ..checked
        };
        self.store.write(|tx| {
            if self.in_config_file(&id) || store::connectors::get(tx, &id)?.is_some() {
                return Err(id_taken());
            }
            store::connectors::insert(tx, &row).map_err(|e| match e {
                StoreError::Conflict(_) => id_taken(),
                other => Error::from(other),
            })?;
            audit(
                tx,
                actor,
                "admin.connector.create",
                None,
                &format!("{id} (plugin {})", row.plugin),
            )
        })?;
        self.forget_connector(&id);
        Ok(())
    }

    /// Saves the console's form for an instance it made. Its id, plugin and enabled
    /// state stay; an empty secret keeps the stored one.
    pub async fn update_connector(
        &self,
        actor: &Actor,
        id: &str,
        form: &ConnectorForm,
    ) -> Result<(), Error> {
        let old = self.stored_connector(id)?;
        let (checked, new_secrets) = self.check_form(id, &old.plugin, form, Some(&old)).await?;
        let old_secrets = self.open_secrets(&old).unwrap_or_default();
        let changed = changes(&old, &checked, &old_secrets, &new_secrets);
        let row = StoredInstance {
            id: old.id.clone(),
            plugin: old.plugin.clone(),
            enabled: old.enabled,
            created_at: old.created_at,
            updated_at: now(),
            ..checked
        };
        self.store.write(|tx| {
            store::connectors::update(tx, &row)?;
            let detail = if changed.is_empty() {
                format!("{id}: nothing changed")
            } else {
                format!("{id}: {}", changed.join(", "))
            };
            audit(tx, actor, "admin.connector.update", None, &detail)
        })?;
        self.forget_connector(id);
        Ok(())
    }

    /// Enables or disables an instance made in the console.
    pub fn set_connector_enabled(
        &self,
        actor: &Actor,
        id: &str,
        enabled: bool,
    ) -> Result<(), Error> {
        let mut row = self.stored_connector(id)?;
        if row.enabled == enabled {
            return Ok(());
        }
        row.enabled = enabled;
        row.updated_at = now();
        self.store.write(|tx| {
            store::connectors::update(tx, &row)?;
            let event = if enabled {
                "admin.connector.enable"
            } else {
                "admin.connector.disable"
            };
            audit(tx, actor, event, None, id)
        })?;
        self.forget_connector(id);
        Ok(())
    }

    /// Deletes an instance made in the console. Refused while accounts are bound to it
    /// (their bindings would point nowhere): disable it instead.
    pub fn delete_connector(&self, actor: &Actor, id: &str) -> Result<(), Error> {
        self.stored_connector(id)?;
        self.store.write(|tx| {
            let bound = store::connectors::bindings_count(tx, id)?;
            if bound > 0 {
                return Err(Error::Form(vec![
                    Problem::new(
                        "confirm",
                        "err.connector_bound",
                        format!(
                            "{bound} account(s) are bound to this connector: it cannot be \
                             deleted while bindings exist; disable it instead"
                        ),
                    )
                    .with_n(bound as usize),
                ]));
            }
            if !store::connectors::delete(tx, id)? {
                return Err(Error::NotFound(format!("connector {id}")));
            }
            audit(tx, actor, "admin.connector.delete", None, id)
        })?;
        self.forget_connector(id);
        Ok(())
    }

    /// A console-made instance as stored (one the file shadows included: the console
    /// may still disable or delete it); configuration file instances are refused.
    fn stored_connector(&self, id: &str) -> Result<StoredInstance, Error> {
        match self.store.read(|c| store::connectors::get(c, id))? {
            Some(s) => Ok(s),
            None if self.in_config_file(id) => Err(Error::Refused(format!(
                "connector {id} comes from the configuration file; change it there"
            ))),
            None => Err(Error::NotFound(format!("connector {id}"))),
        }
    }

    /// Checks the form: the host's rules first (id, name, required settings, URL
    /// syntax), then the plugin's `validate-settings`. Returns the row to store (id,
    /// plugin, enabled and times left for the caller), secrets sealed, and the secrets.
    async fn check_form(
        &self,
        id: &str,
        plugin: &str,
        form: &ConnectorForm,
        old: Option<&StoredInstance>,
    ) -> Result<(StoredInstance, BTreeMap<String, String>), Error> {
        let plugins = self.loaded_plugins()?;
        let Some(info) = plugins.get(plugin) else {
            return Err(Error::form(
                "plugin",
                "err.connector_plugin",
                format!("no loaded plugin has the id {plugin:?}"),
            ));
        };
        let mut problems = Vec::new();
        if old.is_none() {
            if !valid_instance_id(id) {
                problems.push(Problem::new(
                    "id",
                    "err.connector_id",
                    "use 1 to 64 characters: a-z, 0-9 and -",
                ));
            } else if self.in_config_file(id)
                || self
                    .store
                    .read(|c| store::connectors::get(c, id))?
                    .is_some()
            {
                problems.extend(id_taken_problems());
            }
        }
        let name = form.name.trim().to_string();
        if !valid_instance_name(&name) {
            problems.push(Problem::new(
                "name",
                "err.connector_name",
                "give a name of 1 to 100 characters",
            ));
        }
        let match_by = MatchBy::parse(&form.match_by).unwrap_or_else(|| {
            problems.push(Problem::new(
                "match_by",
                "err.connector_match_by",
                "choose none, email, mobile or account_name",
            ));
            MatchBy::None
        });
        let old_secrets = old.and_then(|o| self.open_secrets(o)).unwrap_or_default();
        let mut plain = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for spec in &info.settings {
            let typed = form
                .settings
                .get(&spec.key)
                .map(String::as_str)
                .unwrap_or("");
            let value = match spec.kind {
                SettingKind::Bool => Some(if typed == "true" { "true" } else { "false" }.into()),
                // Secrets are taken as typed (spaces may matter); empty keeps the old one.
                SettingKind::Secret if typed.is_empty() => old_secrets.get(&spec.key).cloned(),
                SettingKind::Secret => Some(typed.to_string()),
                SettingKind::Text | SettingKind::Url => {
                    Some(typed.trim().to_string()).filter(|v| !v.is_empty())
                }
            };
            let input = setting_input(&spec.key);
            match &value {
                None if spec.required && spec.default.is_none() => problems.push(Problem::new(
                    input,
                    "err.connector_setting_required",
                    format!("{} is required", spec.label),
                )),
                Some(v) if spec.kind == SettingKind::Url => match check_url(v, form.allow_http) {
                    Ok(()) => {}
                    Err(UrlProblem::Invalid) => problems.push(Problem::new(
                        input,
                        "err.connector_setting_url",
                        "enter a full https:// address",
                    )),
                    Err(UrlProblem::PlainHttp) => problems.push(Problem::new(
                        input,
                        "err.connector_setting_http",
                        "plain http is refused unless plain http is allowed for this connector",
                    )),
                },
                _ => {}
            }
            if let Some(v) = value {
                if spec.kind == SettingKind::Secret {
                    secrets.insert(spec.key.clone(), v);
                } else {
                    plain.insert(spec.key.clone(), v);
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Form(problems));
        }
        let all: Vec<(String, String)> = plain
            .iter()
            .chain(secrets.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A plugin may quote what it refuses: never let a secret reach the page.
        let scrub = |m: &str| {
            secrets
                .values()
                .filter(|s| s.len() >= 3)
                .fold(m.to_string(), |m, s| m.replace(s.as_str(), "…"))
        };
        match plugins.validate_settings(plugin, id, all).await {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => {
                for (key, message) in refused {
                    let field = if info.settings.iter().any(|s| s.key == key) {
                        setting_input(&key)
                    } else {
                        "settings".to_string()
                    };
                    problems.push(Problem::new(
                        field,
                        "err.connector_setting_plugin",
                        scrub(&message),
                    ));
                }
            }
            Err(e) => {
                tracing::warn!(plugin = %plugin, detail = %scrub(&e.detail), "validate-settings failed");
                problems.push(Problem::new(
                    "plugin",
                    "err.connector_validate_failed",
                    scrub(&e.message),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Form(problems));
        }
        let row = StoredInstance {
            id: id.to_string(),
            plugin: plugin.to_string(),
            name,
            login: form.login,
            bind: form.bind,
            provision: form.provision,
            allow_http: form.allow_http,
            match_by: match_by.as_str().to_string(),
            enabled: true,
            settings: plain,
            secrets: self.seal_secrets(id, secrets.clone()),
            created_at: 0,
            updated_at: 0,
        };
        Ok((row, secrets))
    }
}

fn id_taken_problems() -> Vec<Problem> {
    vec![Problem::new(
        "id",
        "err.connector_id_taken",
        "another connector instance has this id",
    )]
}

fn id_taken() -> Error {
    Error::Form(id_taken_problems())
}

/// What an edit changed, for the audit log: names only, never setting values.
fn changes(
    old: &StoredInstance,
    new: &StoredInstance,
    old_secrets: &BTreeMap<String, String>,
    new_secrets: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let flags = [
        ("name", old.name != new.name),
        ("login", old.login != new.login),
        ("bind", old.bind != new.bind),
        ("provision", old.provision != new.provision),
        ("allow_http", old.allow_http != new.allow_http),
        ("match_by", old.match_by != new.match_by),
    ];
    out.extend(flags.iter().filter(|f| f.1).map(|f| f.0.to_string()));
    for (before, after) in [(&old.settings, &new.settings), (old_secrets, new_secrets)] {
        let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        out.extend(
            keys.into_iter()
                .filter(|k| before.get(*k) != after.get(*k))
                .map(|k| setting_input(k)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::i18n::Locale;

    #[test]
    fn audit_events_are_translated() {
        for e in super::EVENTS {
            let key = format!("event.{e}");
            for l in Locale::ALL {
                assert_ne!(l.t(&key), key, "{e} has no {} text", l.code());
            }
        }
    }
}
