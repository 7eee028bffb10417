//! The admin's settings for one connector instance, with schema defaults.

use crate::{Connector, ConnectorError, Result, Setting, SettingError, SettingKind};

/// Settings as the host passed them, with the manifest's defaults filled in.
/// An empty value counts as "not set".
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: Vec<(String, String)>,
    schema: Vec<Setting>,
}

impl Settings {
    /// Settings checked against `schema` (defaults apply to absent keys).
    pub fn new<K, V>(schema: Vec<Setting>, values: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let values = values
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Settings { values, schema }
    }

    /// Settings for connector `C`, using its manifest's schema.
    pub fn for_connector<C: Connector>(values: Vec<(String, String)>) -> Self {
        Self::new(C::describe().settings, values)
    }

    /// The value of `key`, or its schema default; `None` when neither is set.
    pub fn get(&self, key: &str) -> Option<&str> {
        let given = self
            .values
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        match given {
            Some(v) if !v.is_empty() => Some(v),
            _ => self
                .schema
                .iter()
                .find(|s| s.key == key)
                .and_then(|s| s.default.as_deref())
                .filter(|d| !d.is_empty()),
        }
    }

    /// The value of `key`, or a [`crate::ErrorKind::Config`] error naming it.
    pub fn required(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| {
            ConnectorError::config(format!(
                "The connector is not configured: the setting \"{}\" is missing.",
                self.label(key)
            ))
        })
    }

    /// The value of `key`, or `fallback`.
    pub fn get_or<'a>(&'a self, key: &str, fallback: &'a str) -> &'a str {
        self.get(key).unwrap_or(fallback)
    }

    /// True when `key` is "true" (any case). Absent or anything else is false;
    /// [`Settings::schema_errors`] rejects values other than true/false.
    pub fn bool(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The value of `key` parsed as an absolute http(s) URL (required).
    pub fn url(&self, key: &str) -> Result<url::Url> {
        let raw = self.required(key)?;
        parse_http_url(raw).map_err(|why| {
            ConnectorError::config(format!(
                "The connector is not configured: the setting \"{}\" is not a valid URL.",
                self.label(key)
            ))
            .with_detail(format!("{key}: {why}"))
        })
    }

    /// Every (key, value) the host passed, as given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Problems against the schema: missing required keys, malformed URLs and
    /// bools, unknown keys. Empty when all is well.
    pub fn schema_errors(&self) -> Vec<SettingError> {
        let mut errors = Vec::new();
        for setting in &self.schema {
            let Some(value) = self.get(&setting.key) else {
                if setting.required {
                    errors.push(SettingError::new(
                        &setting.key,
                        format!("{} is required.", setting.label),
                    ));
                }
                continue;
            };
            match setting.kind {
                SettingKind::Url => {
                    if let Err(why) = parse_http_url(value) {
                        errors.push(SettingError::new(
                            &setting.key,
                            format!(
                                "{} must be an absolute http or https URL ({why}).",
                                setting.label
                            ),
                        ));
                    }
                }
                SettingKind::Bool => {
                    if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                        errors.push(SettingError::new(
                            &setting.key,
                            format!("{} must be true or false.", setting.label),
                        ));
                    }
                }
                SettingKind::Text | SettingKind::Secret => {}
            }
        }
        for (key, _) in &self.values {
            let known = self.schema.iter().any(|s| &s.key == key);
            let reported = errors.iter().any(|e| &e.key == key);
            if !known && !reported {
                errors.push(SettingError::new(
                    key,
                    "This connector has no such setting.",
                ));
            }
        }
        errors
    }

    fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.schema
            .iter()
            .find(|s| s.key == key)
            .map_or(key, |s| s.label.as_str())
    }
}

fn parse_http_url(raw: &str) -> std::result::Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<Setting> {
        vec![
            Setting::url("issuer", "Issuer URL").required(),
            Setting::text("scopes", "Scopes").with_default("openid profile email"),
            Setting::boolean("trust_email", "Trust email").with_default("false"),
            Setting::secret("client_secret", "Client secret"),
        ]
    }

    #[test]
    fn defaults_fill_absent_and_empty_values() {
        let s = Settings::new(schema(), [("issuer", "https://idp.test"), ("scopes", "")]);
        assert_eq!(s.get("scopes"), Some("openid profile email"));
        assert_eq!(s.get_or("client_secret", "x"), "x");
        assert!(!s.bool("trust_email"));
        assert_eq!(s.required("issuer").unwrap(), "https://idp.test");
        assert_eq!(s.url("issuer").unwrap().host_str(), Some("idp.test"));
    }

    #[test]
    fn required_names_the_missing_setting_by_label() {
        let s = Settings::new(schema(), Vec::<(String, String)>::new());
        let err = s.required("issuer").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Config);
        assert!(err.message.contains("Issuer URL"), "{}", err.message);
    }

    #[test]
    fn schema_errors_list_every_problem() {
        let s = Settings::new(
            schema(),
            [
                ("issuer", "ftp://x"),
                ("trust_email", "yes"),
                ("colour", "blue"),
            ],
        );
        let keys: Vec<_> = s.schema_errors().into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["issuer", "trust_email", "colour"]);
        let ok = Settings::new(
            schema(),
            [("issuer", "http://127.0.0.1:9/x"), ("trust_email", "TRUE")],
        );
        assert!(ok.schema_errors().is_empty());
        assert!(ok.bool("trust_email"));
        let missing = Settings::new(schema(), [("issuer", "")]);
        assert_eq!(
            missing.schema_errors()[0].message,
            "Issuer URL is required."
        );
    }
}
