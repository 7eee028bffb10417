//! Plain Rust mirrors of the WIT records a connector exchanges with the host.

use crate::API_VERSION;

/// How the admin console shows and checks a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// Free text.
    Text,
    /// A secret: never logged or shown again.
    Secret,
    /// An absolute http(s) URL; its host joins the outbound allowlist.
    Url,
    /// "true" or "false".
    Bool,
}

/// One setting in a connector's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub label: String,
    pub kind: SettingKind,
    pub required: bool,
    pub default: Option<String>,
}

impl Setting {
    fn new(key: &str, label: &str, kind: SettingKind) -> Self {
        Setting {
            key: key.into(),
            label: label.into(),
            kind,
            required: false,
            default: None,
        }
    }
    /// A free-text setting.
    pub fn text(key: &str, label: &str) -> Self {
        Self::new(key, label, SettingKind::Text)
    }
    /// A secret setting (client secrets, app secrets).
    pub fn secret(key: &str, label: &str) -> Self {
        Self::new(key, label, SettingKind::Secret)
    }
    /// A URL setting (base URLs; tests point them at loopback).
    pub fn url(key: &str, label: &str) -> Self {
        Self::new(key, label, SettingKind::Url)
    }
    /// A yes/no setting.
    pub fn boolean(key: &str, label: &str) -> Self {
        Self::new(key, label, SettingKind::Bool)
    }
    /// Marks the setting as required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// The value used when the admin leaves the setting empty.
    pub fn with_default(mut self, value: &str) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// What a connector is: returned by [`crate::Connector::describe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `[a-z][a-z0-9-]{1,31}`.
    pub id: String,
    pub name: String,
    /// The connector's own semver version.
    pub version: String,
    /// Filled in by [`Manifest::new`] with [`API_VERSION`].
    pub api_version: String,
    pub settings: Vec<Setting>,
    /// Outbound hosts needed beyond those of URL settings ("https://host[:port]").
    pub outbound_hosts: Vec<String>,
}

impl Manifest {
    /// A manifest for this SDK's API version, with no settings yet.
    pub fn new(id: &str, name: &str, version: &str) -> Self {
        Manifest {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            api_version: API_VERSION.into(),
            settings: Vec::new(),
            outbound_hosts: Vec::new(),
        }
    }
    /// Appends a setting (settings show in this order).
    pub fn setting(mut self, setting: Setting) -> Self {
        self.settings.push(setting);
        self
    }
    /// Declares an extra outbound host, e.g. `"https://api.example.com"`.
    pub fn outbound_host(mut self, origin: &str) -> Self {
        self.outbound_hosts.push(origin.into());
        self
    }
}

/// Why one setting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl SettingError {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        SettingError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Host-made values for starting a sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeginRequest {
    /// Alphanumeric; the callback carries it back (the host checks it).
    pub state: String,
    /// The ID token must echo it (OIDC).
    pub nonce: String,
    /// PKCE S256 challenge.
    pub pkce_challenge: String,
    pub redirect_uri: String,
}

/// The callback as the browser brought it back; `state` is already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompleteRequest {
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub pkce_verifier: String,
    pub nonce: String,
    pub redirect_uri: String,
}

impl CompleteRequest {
    /// The first value of a callback query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An external account, as the provider vouches for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Stable and unique within the connector instance; never empty.
    pub subject: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Only when the provider vouches for the email and the admin trusts it.
    pub email_verified: bool,
    pub mobile: Option<String>,
    /// Only when the provider vouches for the mobile and the admin trusts it.
    pub mobile_verified: bool,
    pub avatar_url: Option<String>,
    pub account_name_hint: Option<String>,
}

impl Identity {
    /// An identity with only its subject set.
    pub fn new(subject: impl Into<String>) -> Self {
        Identity {
            subject: subject.into(),
            ..Identity::default()
        }
    }
}

/// One page of a provider's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryPage {
    pub identities: Vec<Identity>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}
