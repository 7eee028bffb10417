//! Provider metadata (`/.well-known/openid-configuration`) and the JWKS,
//! both cached in the host for an hour.

use latchkey_connector_sdk::{ConnectorError, Result, Settings, cache, http, log};
use serde::{Deserialize, Serialize};

use crate::jose::{self, Jwk};

const METADATA_TTL: u32 = 3600;
const JWKS_TTL: u32 = 3600;
/// At most one forced JWKS refetch per minute (unknown `kid`).
const JWKS_REFETCH_INTERVAL: u32 = 60;

/// The parts of the provider metadata this connector uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

/// The metadata for `issuer` with the endpoints the admin named in the settings
/// (for providers whose endpoints are on other hosts) in place of discovery's.
pub fn metadata_for(issuer: &str, settings: &Settings) -> Result<Metadata> {
    let mut m = metadata(issuer)?;
    let named = |key: &str| settings.get(key).map(|v| v.trim().to_string());
    if let Some(v) = named("authorization_endpoint") {
        m.authorization_endpoint = v;
    }
    if let Some(v) = named("token_endpoint") {
        m.token_endpoint = v;
    }
    if let Some(v) = named("userinfo_endpoint") {
        m.userinfo_endpoint = Some(v);
    }
    if let Some(v) = named("jwks_uri") {
        m.jwks_uri = v;
    }
    Ok(m)
}

/// The metadata for `issuer`, from the cache or fetched and checked: its
/// `issuer` must equal the configured one exactly, and its endpoints must be
/// absolute http(s) URLs.
pub fn metadata(issuer: &str) -> Result<Metadata> {
    let key = format!("oidc/metadata/{issuer}");
    if let Some(cached) = cache::get_json::<Metadata>(&key)
        && cached.issuer == issuer
    {
        return Ok(cached);
    }
    // OIDC Discovery §4: drop a terminating "/" before appending the path.
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let unreadable = "Latchkey could not read the identity provider's OpenID configuration.";
    let metadata: Metadata = http::get(&url)
        .accept_json()
        .send()
        .map_err(|e| e.with_message("The identity provider could not be reached."))?
        .error_for_status()
        .map_err(|e| e.with_message(unreadable))?
        .json()
        .map_err(|e| e.with_message(unreadable))?;

    if metadata.issuer != issuer {
        return Err(ConnectorError::config(
            "The identity provider's configuration names a different issuer than the connector's settings.",
        )
        .with_detail(format!("discovery issuer {:?} != configured issuer {:?}", metadata.issuer, issuer)));
    }
    for (name, endpoint) in [
        (
            "authorization_endpoint",
            Some(&metadata.authorization_endpoint),
        ),
        ("token_endpoint", Some(&metadata.token_endpoint)),
        ("jwks_uri", Some(&metadata.jwks_uri)),
        ("userinfo_endpoint", metadata.userinfo_endpoint.as_ref()),
    ] {
        if let Some(endpoint) = endpoint {
            check_endpoint(name, endpoint).map_err(|e| e.with_message(unreadable))?;
        }
    }
    if let Some(methods) = &metadata.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        log::warn(format!(
            "{issuer} does not list PKCE S256; sending it anyway"
        ));
    }
    cache::set_json(&key, &metadata, METADATA_TTL);
    Ok(metadata)
}

fn check_endpoint(name: &str, endpoint: &str) -> Result<()> {
    match url::Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(()),
        _ => Err(ConnectorError::invalid_response("").with_detail(format!(
            "discovery {name} is not an absolute http(s) URL: {endpoint:?}"
        ))),
    }
}

/// The provider's signing keys. `refresh` bypasses the cache, at most once a
/// minute (then the cached keys are returned again).
pub fn jwks(jwks_uri: &str, refresh: bool) -> Result<Vec<Jwk>> {
    let key = format!("oidc/jwks/{jwks_uri}");
    if !refresh {
        if let Some(keys) = cache::get_json::<Vec<Jwk>>(&key) {
            return Ok(keys);
        }
    } else {
        let throttle = format!("oidc/jwks-refetched/{jwks_uri}");
        if cache::get(&throttle).is_some() {
            log::info("JWKS refetch skipped: already refetched within the last minute");
            return Ok(cache::get_json::<Vec<Jwk>>(&key).unwrap_or_default());
        }
        cache::set(&throttle, b"1", JWKS_REFETCH_INTERVAL);
    }
    let unreadable = "Latchkey could not read the identity provider's signing keys.";
    let document: serde_json::Value = http::get(jwks_uri)
        .accept_json()
        .send()?
        .error_for_status()
        .map_err(|e| e.with_message(unreadable))?
        .json()
        .map_err(|e| e.with_message(unreadable))?;
    let keys = jose::parse_jwks(&document).map_err(|why| {
        ConnectorError::invalid_response(unreadable).with_detail(format!("{jwks_uri}: {why}"))
    })?;
    cache::set_json(&key, &keys, JWKS_TTL);
    Ok(keys)
}
