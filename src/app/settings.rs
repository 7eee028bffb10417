//! Changing the admin's settings.

use super::{Actor, App, audit};
use crate::domain::settings;
use crate::error::Error;
use crate::store;

impl App {
    /// Validates and stores one setting; returns the canonical value.
    pub fn set_setting(&self, actor: &Actor, key: &str, value: &str) -> Result<String, Error> {
        let v = settings::parse_value(key, value).map_err(|e| Error::Invalid(e.to_string()))?;
        self.store.write(|tx| {
            store::settings::set(tx, key, &v)?;
            audit(tx, actor, "admin.settings", None, &format!("{key} = {v}"))
        })?;
        self.forget_settings();
        Ok(v)
    }

    /// Stores several settings at once: all valid, or none stored.
    pub fn set_settings(&self, actor: &Actor, pairs: &[(String, String)]) -> Result<(), Error> {
        let mut checked = Vec::new();
        let mut problems = Vec::new();
        for (k, v) in pairs {
            match settings::parse_value(k, v) {
                Ok(v) => checked.push((k.clone(), v)),
                Err(e) => problems.push(crate::error::Problem::new(
                    k.clone(),
                    "err.setting",
                    e.to_string(),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Form(problems));
        }
        let current = self.settings()?;
        self.store.write(|tx| {
            for (k, v) in &checked {
                if current.get(k) != Some(v.as_str()) {
                    store::settings::set(tx, k, v)?;
                    audit(tx, actor, "admin.settings", None, &format!("{k} = {v}"))?;
                }
            }
            Ok::<_, Error>(())
        })?;
        self.forget_settings();
        Ok(())
    }
}
