//! Configuration: built-in defaults < `config/latchkey.toml` (or `--config FILE`) <
//! `LATCHKEY_*` environment variables (nested keys with `__`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::error::Error;

pub const DEFAULT_CONFIG_FILE: &str = "config/latchkey.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: url::Url,
    pub data_dir: PathBuf,
    pub plugins_dir: PathBuf,
    /// Region for mobile numbers typed without a country code (ISO 3166 code).
    pub phone_region: String,
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub sms: SmsConfig,
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub tls: Option<SmtpTls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub webhook_url: Option<url::Url>,
}

/// An IdP connector instance (`[[connectors]]`); the connector runtime consumes these.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    pub id: String,
    pub plugin: String,
    pub name: String,
    #[serde(default = "yes")]
    pub login: bool,
    #[serde(default = "yes")]
    pub bind: bool,
    #[serde(default)]
    pub provision: bool,
    #[serde(default)]
    pub allow_http: bool,
    #[serde(default = "match_none")]
    pub match_by: MatchBy,
    #[serde(default)]
    pub settings: toml::Table,
}

fn yes() -> bool {
    true
}
fn match_none() -> MatchBy {
    MatchBy::None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    None,
    Email,
    Mobile,
    AccountName,
}

impl MatchBy {
    pub const ALL: [MatchBy; 4] = [
        MatchBy::None,
        MatchBy::Email,
        MatchBy::Mobile,
        MatchBy::AccountName,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchBy::None => "none",
            MatchBy::Email => "email",
            MatchBy::Mobile => "mobile",
            MatchBy::AccountName => "account_name",
        }
    }

    pub fn parse(s: &str) -> Option<MatchBy> {
        MatchBy::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: url::Url::parse("http://127.0.0.1:8080").expect("static URL"),
            data_dir: PathBuf::from("./data"),
            plugins_dir: PathBuf::from("./plugins.d"),
            phone_region: "CN".into(),
            smtp: SmtpConfig::default(),
            sms: SmsConfig::default(),
            connectors: Vec::new(),
        }
    }
}

impl Config {
    /// Loads the configuration. An explicitly named file must exist; the default file
    /// is optional. Errors name the offending key.
    pub fn load(file: Option<&Path>) -> Result<Config, Error> {
        let (path, must_exist) = match file {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if must_exist && !path.is_file() {
            return Err(Error::Invalid(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        let figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .merge(Env::prefixed("LATCHKEY_").split("__"));
        let config: Config = figment
            .extract()
            .map_err(|e| Error::Invalid(format!("configuration: {}", one_line(&e))))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), Error> {
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(Error::Invalid(
                "configuration: public_url must be an http or https URL".into(),
            ));
        }
        if let Some(url) = &self.sms.webhook_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(Error::Invalid(
                "configuration: sms.webhook_url must be an http or https URL".into(),
            ));
        }
        if self
            .phone_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            return Err(Error::Invalid(format!(
                "configuration: phone_region {:?} is not a known region code (e.g. CN, US)",
                self.phone_region
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.connectors {
            if !crate::domain::connector::valid_instance_id(&c.id) {
                return Err(Error::Invalid(format!(
                    "configuration: connectors.id {:?} must match [a-z0-9-]+",
                    c.id
                )));
            }
            if !seen.insert(c.id.clone()) {
                return Err(Error::Invalid(format!(
                    "configuration: connectors.id {:?} is used twice",
                    c.id
                )));
            }
        }
        Ok(())
    }

    /// Compiled plugin artifacts, keyed by content hash and wasmtime version.
    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache").join("plugins")
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("latchkey.db")
    }

    /// Cookies get `Secure` when the portal is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `public_url` without a trailing slash, for building links.
    pub fn base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }
}

/// figment errors can span lines; the CLI contract is one line on stderr.
fn one_line(e: &figment::Error) -> String {
    let mut parts = Vec::new();
    for err in e.clone() {
        let mut s = err.to_string().replace('\n', " ");
        if !err.path.is_empty() && !s.contains(&err.path.join(".")) {
            s = format!("{}: {s}", err.path.join("."));
        }
        parts.push(s);
    }
    parts.join("; ")
}
