//! The component side: WIT bindings for `latchkey:connector@0.1.0`, the
//! host imports, and `Glue<C>`, which exports a [`Connector`] as the
//! `plugin` interface. Only compiled for wasm32.

use std::marker::PhantomData;

use crate::http::{Request, Response};
use crate::log::LogLevel;
use crate::{Connector, entry};

/// Generated bindings. `register!` expands the export macro in the author's
/// crate, so every path in it goes through this crate's public `__private`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.1.0",
        world: "connector",
        pub_export_macro: true,
        export_macro_name: "__export_connector",
        default_bindings_module: "::latchkey_connector_sdk::__private::bindings",
        runtime_path: "::latchkey_connector_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::latchkey::connector::plugin as wit;
use bindings::latchkey::connector::host as imports;

// ---- host imports -------------------------------------------------------

pub(crate) fn http_fetch(request: &Request) -> Result<Response, String> {
    let wire = imports::HttpRequest {
        method: request.method.clone(),
        url: request.url.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    };
    imports::http_fetch(&wire).map(|r| Response::new(r.status, r.headers, r.body))
}

pub(crate) fn log(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Debug => imports::LogLevel::Debug,
        LogLevel::Info => imports::LogLevel::Info,
        LogLevel::Warn => imports::LogLevel::Warn,
        LogLevel::Error => imports::LogLevel::Error,
    };
    imports::log(level, message);
}

pub(crate) fn cache_get(key: &str) -> Option<Vec<u8>> {
    imports::cache_get(key)
}

pub(crate) fn cache_set(key: &str, value: &[u8], ttl_seconds: u32) {
    imports::cache_set(key, value, ttl_seconds);
}

pub(crate) fn now_unix() -> u64 {
    imports::now_unix()
}

// ---- exports ------------------------------------------------------------

/// Implements the WIT `plugin` interface for any [`Connector`].
pub struct Glue<C>(PhantomData<C>);

impl<C: Connector> wit::Guest for Glue<C> {
    fn describe() -> wit::Manifest {
        let m = entry::describe::<C>();
        wit::Manifest {
            id: m.id,
            name: m.name,
            version: m.version,
            api_version: m.api_version,
            settings: m.settings.into_iter().map(setting).collect(),
            outbound_hosts: m.outbound_hosts,
        }
    }

    fn validate_settings(settings: wit::Settings) -> Result<(), Vec<wit::SettingError>> {
        entry::validate_settings::<C>(settings).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| wit::SettingError {
                    key: e.key,
                    message: e.message,
                })
                .collect()
        })
    }

    fn begin(
        settings: wit::Settings,
        request: wit::BeginRequest,
    ) -> Result<String, wit::ConnectorError> {
        let request = crate::BeginRequest {
            state: request.state,
            nonce: request.nonce,
            pkce_challenge: request.pkce_challenge,
            redirect_uri: request.redirect_uri,
        };
        entry::begin::<C>(settings, request).map_err(error)
    }

    fn complete(
        settings: wit::Settings,
        request: wit::CompleteRequest,
    ) -> Result<wit::Identity, wit::ConnectorError> {
        let request = crate::CompleteRequest {
            query: request.query,
            pkce_verifier: request.pkce_verifier,
            nonce: request.nonce,
            redirect_uri: request.redirect_uri,
        };
        entry::complete::<C>(settings, request)
            .map(identity)
            .map_err(error)
    }

    fn directory_page(
        settings: wit::Settings,
        cursor: Option<String>,
    ) -> Result<wit::IdentityPage, wit::ConnectorError> {
        entry::directory_page::<C>(settings, cursor)
            .map(|page| wit::IdentityPage {
                identities: page.identities.into_iter().map(identity).collect(),
                next_cursor: page.next_cursor,
            })
            .map_err(error)
    }

    fn unbound(settings: wit::Settings, subject: String) -> Result<(), wit::ConnectorError> {
        entry::unbound::<C>(settings, subject).map_err(error)
    }
}

fn setting(s: crate::Setting) -> wit::Setting {
    let kind = match s.kind {
        crate::SettingKind::Text => wit::SettingKind::Text,
        crate::SettingKind::Secret => wit::SettingKind::Secret,
        crate::SettingKind::Url => wit::SettingKind::Url,
        crate::SettingKind::Bool => wit::SettingKind::Bool,
    };
    wit::Setting {
        key: s.key,
        label: s.label,
        kind,
        required: s.required,
        default: s.default,
    }
}

fn identity(i: crate::Identity) -> wit::Identity {
    wit::Identity {
        subject: i.subject,
        display_name: i.display_name,
        email: i.email,
        email_verified: i.email_verified,
        mobile: i.mobile,
        mobile_verified: i.mobile_verified,
        avatar_url: i.avatar_url,
        account_name_hint: i.account_name_hint,
    }
}

fn error(e: crate::ConnectorError) -> wit::ConnectorError {
    let kind = match e.kind {
        crate::ErrorKind::Config => wit::ErrorKind::Config,
        crate::ErrorKind::UpstreamRefused => wit::ErrorKind::UpstreamRefused,
        crate::ErrorKind::UpstreamUnavailable => wit::ErrorKind::UpstreamUnavailable,
        crate::ErrorKind::InvalidResponse => wit::ErrorKind::InvalidResponse,
        crate::ErrorKind::NotSupported => wit::ErrorKind::NotSupported,
        crate::ErrorKind::Cancelled => wit::ErrorKind::Cancelled,
    };
    wit::ConnectorError {
        kind,
        message: e.message,
        detail: e.detail,
    }
}
