//! The OpenID Connect connector: authorization code flow with PKCE (S256),
//! state and nonce always; verified ID tokens; UserInfo when offered.
//!
//! Identity key: OIDC identifies an account by (iss, sub), so the subject
//! this connector returns is `"{issuer}#{sub}"` (an issuer never contains
//! `#`). Repointing a connector instance at another issuer therefore can
//! never match the old bindings.
//!
//! Email and phone count as verified only when `trust_email` is on and the
//! provider says so (`email_verified` / `phone_number_verified` true, or the
//! string "true").

use latchkey_connector_sdk::{
    self as sdk, BeginRequest, CompleteRequest, Connector, ConnectorError, ErrorKind, Identity,
    Manifest, Result, Setting, SettingError, Settings, clock, http, log,
};
use serde::Deserialize;
use serde_json::{Map, Value};

mod discovery;
mod id_token;
mod jose;
#[cfg(test)]
mod tests;

/// The OpenID Connect connector.
pub struct Oidc;

const DEFAULT_SCOPES: &str = "openid profile email";
const BASIC: &str = "client_secret_basic";
const POST: &str = "client_secret_post";

impl Connector for Oidc {
    fn describe() -> Manifest {
        Manifest::new("oidc", "OpenID Connect", env!("CARGO_PKG_VERSION"))
            .setting(Setting::url("issuer", "Issuer URL").required())
            .setting(Setting::text("client_id", "Client ID").required())
            .setting(Setting::secret("client_secret", "Client secret").required())
            .setting(
                Setting::text("scopes", "Scopes (space-separated, must include openid)")
                    .with_default(DEFAULT_SCOPES),
            )
            .setting(
                Setting::text(
                    "token_auth",
                    "Token endpoint authentication: client_secret_basic or client_secret_post",
                )
                .with_default(BASIC),
            )
            .setting(
                Setting::boolean(
                    "trust_email",
                    "Trust the email and phone the provider marks as verified",
                )
                .with_default("false"),
            )
            // Providers whose endpoints live on other hosts than the issuer (Google's
            // token, userinfo and JWKS endpoints do): naming them here puts their hosts
            // on the outbound allowlist, and they replace what discovery says.
            .setting(Setting::url(
                "authorization_endpoint",
                "Authorization endpoint (optional: only if on another host than the issuer)",
            ))
            .setting(Setting::url(
                "token_endpoint",
                "Token endpoint (optional: only if on another host than the issuer)",
            ))
            .setting(Setting::url(
                "userinfo_endpoint",
                "Userinfo endpoint (optional: only if on another host than the issuer)",
            ))
            .setting(Setting::url(
                "jwks_uri",
                "JWKS URI (optional: only if on another host than the issuer)",
            ))
    }

    fn validate_settings(settings: &Settings) -> std::result::Result<(), Vec<SettingError>> {
        let mut errors = settings.schema_errors();
        if let Some(issuer) = settings.get("issuer")
            && issuer.contains(['?', '#'])
        {
            let message = "The issuer URL must not have a query or fragment.";
            errors.push(SettingError::new("issuer", message));
        }
        if !matches!(settings.get_or("token_auth", BASIC), BASIC | POST) {
            errors.push(SettingError::new(
                "token_auth",
                "Use client_secret_basic or client_secret_post.",
            ));
        }
        if !settings
            .get_or("scopes", DEFAULT_SCOPES)
            .split_whitespace()
            .any(|s| s == "openid")
        {
            errors.push(SettingError::new(
                "scopes",
                "The scopes must include openid.",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
        let issuer = issuer(settings)?;
        let client_id = settings.required("client_id")?;
        let metadata = discovery::metadata_for(issuer, settings)?;
        let mut url = url::Url::parse(&metadata.authorization_endpoint).map_err(|e| {
            ConnectorError::invalid_response("The identity provider's sign-in address is invalid.")
                .with_detail(e.to_string())
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("scope", &scopes(settings))
            .append_pair("state", &request.state)
            .append_pair("nonce", &request.nonce)
            .append_pair("code_challenge", &request.pkce_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity> {
        let issuer = issuer(settings)?;
        let client_id = settings.required("client_id")?;
        let client_secret = settings.required("client_secret")?;
        check_callback_error(request)?;
        let metadata = discovery::metadata_for(issuer, settings)?;

        // RFC 9207 mix-up defence: the callback's iss must name our issuer.
        match request.param("iss") {
            Some(iss) if iss != issuer => {
                return Err(ConnectorError::invalid_response(
                    "The sign-in answer came from the wrong identity provider.",
                )
                .with_detail(format!("callback iss {iss:?} != issuer {issuer:?}")));
            }
            None if metadata.authorization_response_iss_parameter_supported == Some(true) => {
                return Err(
                    ConnectorError::invalid_response("The sign-in answer is incomplete.")
                        .with_detail(
                            "callback has no iss although the provider advertises RFC 9207",
                        ),
                );
            }
            _ => {}
        }
        let code = request
            .param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ConnectorError::invalid_response(
                    "The identity provider sent no authorization code.",
                )
                .with_detail("callback without code or error")
            })?;

        let tokens = exchange_code(settings, &metadata, client_id, client_secret, code, request)?;
        let expected = id_token::Expected {
            issuer,
            client_id,
            nonce: &request.nonce,
            now: clock::now_unix(),
            access_token: tokens.access_token.as_deref(),
        };
        let id_token = id_token::validate(&tokens.id_token, &metadata.jwks_uri, &expected)?;

        let mut claims = id_token.claims;
        if let (Some(endpoint), Some(access_token)) =
            (&metadata.userinfo_endpoint, &tokens.access_token)
        {
            let userinfo = fetch_userinfo(endpoint, access_token)?;
            let sub = userinfo.get("sub").and_then(Value::as_str);
            if sub != Some(id_token.sub.as_str()) {
                return Err(ConnectorError::invalid_response(
                    "The identity provider's answers do not agree about who signed in.",
                )
                .with_detail(format!(
                    "userinfo sub {sub:?} != ID token sub {:?}",
                    id_token.sub
                )));
            }
            // The ID token fixes who it is; UserInfo is fresher for profile claims.
            for (name, value) in userinfo {
                if !value.is_null() && !matches!(name.as_str(), "iss" | "aud" | "sub") {
                    claims.insert(name, value);
                }
            }
        }
        Ok(identity(
            issuer,
            &id_token.sub,
            &claims,
            settings.bool("trust_email"),
        ))
    }
}

sdk::register!(Oidc);

fn issuer(settings: &Settings) -> Result<&str> {
    settings.url("issuer")?;
    settings.required("issuer")
}

/// The configured scopes, with `openid` added if the admin left it out.
fn scopes(settings: &Settings) -> String {
    let mut scopes: Vec<&str> = settings
        .get_or("scopes", DEFAULT_SCOPES)
        .split_whitespace()
        .collect();
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    scopes.join(" ")
}

/// An `error` in the callback: the user cancelled or the provider refused.
fn check_callback_error(request: &CompleteRequest) -> Result<()> {
    let Some(error) = request.param("error") else {
        return Ok(());
    };
    let description: String = request
        .param("error_description")
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    let detail = format!("callback error={error:?} error_description={description:?}");
    Err(match error {
        "access_denied" => {
            ConnectorError::cancelled("You cancelled the sign-in at the identity provider.")
        }
        _ => ConnectorError::upstream_refused("The identity provider refused the sign-in."),
    }
    .with_detail(detail))
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Exchanges the code at the token endpoint, exactly once (codes are
/// single-use: a failure is final, never retried).
fn exchange_code(
    settings: &Settings,
    metadata: &discovery::Metadata,
    client_id: &str,
    client_secret: &str,
    code: &str,
    request: &CompleteRequest,
) -> Result<TokenResponse> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("code_verifier", request.pkce_verifier.as_str()),
    ];
    let mut token_request = http::post(&metadata.token_endpoint).accept_json();
    // Exactly one client authentication method (some servers reject two).
    if settings.get_or("token_auth", BASIC) == POST {
        form.extend([("client_id", client_id), ("client_secret", client_secret)]);
    } else {
        token_request = token_request.basic_auth(client_id, client_secret);
    }
    let response = token_request.form(form).send()?;
    if !response.is_success() {
        let body: TokenError = response.json().unwrap_or_default();
        let detail = format!(
            "{}; error={:?} error_description={:?}",
            response.detail(),
            body.error,
            body.error_description
        );
        let error = match (response.status, body.error.as_str()) {
            (_, "invalid_client" | "unauthorized_client") | (401, _) => ConnectorError::config(
                "The identity provider rejected Latchkey's client credentials. An administrator must check the client ID and secret.",
            ),
            (_, "invalid_grant") => ConnectorError::upstream_refused(
                "The sign-in expired or was already used. Please sign in again.",
            ),
            (429 | 500..=599, _) => ConnectorError::upstream_unavailable(
                "The identity provider is not available right now. Try again later.",
            ),
            _ => ConnectorError::upstream_refused("The identity provider refused the sign-in."),
        };
        return Err(error.with_detail(detail));
    }
    response.json::<TokenResponse>().map_err(|e| {
        let message = "The identity provider did not return an ID token.";
        if e.kind == ErrorKind::InvalidResponse {
            e.with_message(message)
        } else {
            e
        }
    })
}

fn fetch_userinfo(endpoint: &str, access_token: &str) -> Result<Map<String, Value>> {
    let response = http::get(endpoint)
        .bearer(access_token)
        .accept_json()
        .send()?
        .error_for_status()?;
    let content_type = response.header("content-type").unwrap_or_default();
    if content_type.starts_with("application/jwt") {
        return Err(ConnectorError::not_supported(
            "Signed UserInfo answers are not supported; ask the provider for JSON.",
        )
        .with_detail(format!("{endpoint}: content-type {content_type}")));
    }
    response.json()
}

/// A claim that is `true` or the string "true".
fn claim_true(claims: &Map<String, Value>, name: &str) -> bool {
    match claims.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn claim_str(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn identity(issuer: &str, sub: &str, claims: &Map<String, Value>, trust: bool) -> Identity {
    let full_name = match (
        claim_str(claims, "given_name"),
        claim_str(claims, "family_name"),
    ) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (g, f) => g.or(f),
    };
    let email = claim_str(claims, "email");
    let mobile = claim_str(claims, "phone_number");
    if !trust && claim_true(claims, "email_verified") {
        log::debug("the provider marks the email verified, but trust_email is off");
    }
    Identity {
        subject: format!("{issuer}#{sub}"),
        display_name: claim_str(claims, "name")
            .or(full_name)
            .or_else(|| claim_str(claims, "preferred_username")),
        email_verified: trust && email.is_some() && claim_true(claims, "email_verified"),
        email,
        mobile_verified: trust && mobile.is_some() && claim_true(claims, "phone_number_verified"),
        mobile,
        avatar_url: claim_str(claims, "picture"),
        account_name_hint: claim_str(claims, "preferred_username"),
    }
}
