//! ID token validation (OIDC Core §3.1.3.7): signature against the JWKS with
//! one refetch for an unknown key, then the claims.

use latchkey_connector_sdk::{ConnectorError, Result};
use serde_json::{Map, Value};

use crate::discovery;
use crate::jose::{self, Selection};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY: u64 = 60;

/// What the token must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: u64,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
}

/// A validated ID token's claims.
pub struct IdToken {
    pub sub: String,
    pub claims: Map<String, Value>,
}

fn refused(why: impl Into<String>) -> ConnectorError {
    ConnectorError::invalid_response(
        "The identity provider's sign-in token failed a security check.",
    )
    .with_detail(format!("ID token rejected: {}", why.into()))
}

/// Verifies `token` (signature with keys from `jwks_uri`, then claims).
pub fn validate(token: &str, jwks_uri: &str, expected: &Expected<'_>) -> Result<IdToken> {
    let jws = jose::parse(token).map_err(refused)?;
    let kid = jws.kid.as_deref();

    let mut keys = discovery::jwks(jwks_uri, false)?;
    if matches!(jose::select(&keys, jws.alg, kid), Selection::NoneFits) {
        // Key rotation: the provider may have published a new key since we cached.
        keys = discovery::jwks(jwks_uri, true)?;
    }
    match jose::select(&keys, jws.alg, kid) {
        Selection::Keys(candidates) => jws.verified_by_any(&candidates).map_err(refused)?,
        Selection::NoneFits => {
            return Err(refused(format!(
                "no {} key with kid {:?} in the JWKS",
                jws.alg.name(),
                kid
            )));
        }
        Selection::Ambiguous(n) => {
            return Err(refused(format!(
                "no kid in the header and {n} {} keys in the JWKS",
                jws.alg.name()
            )));
        }
    }

    let claims = jws.claims;
    check_claims(&claims, expected).map_err(refused)?;
    if let (Some(at_hash), Some(access_token)) = (claims.get("at_hash"), expected.access_token)
        && at_hash.as_str() != Some(jws.alg.half_hash(access_token.as_bytes()).as_str())
    {
        return Err(refused("at_hash does not match the access token"));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(IdToken { sub, claims })
}

/// The claim checks, each failing with the reason.
fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> std::result::Result<(), String> {
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(expected.issuer) {
        return Err(format!("iss {iss:?} is not {:?}", expected.issuer));
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(format!("aud {audiences:?} does not contain the client id"));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if audiences.len() > 1 && azp.is_none() {
        return Err("several audiences and no azp".into());
    }
    if let Some(azp) = azp
        && azp != expected.client_id
    {
        return Err(format!("azp {azp:?} is not the client id"));
    }

    let exp = numeric_date(claims, "exp")?.ok_or("no exp")?;
    if exp.saturating_add(LEEWAY) <= expected.now {
        return Err(format!(
            "expired: exp {exp} is before now {} (leeway {LEEWAY} s)",
            expected.now
        ));
    }
    let iat = numeric_date(claims, "iat")?.ok_or("no iat")?;
    if iat > expected.now.saturating_add(LEEWAY) {
        return Err(format!("iat {iat} is in the future (now {})", expected.now));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > expected.now.saturating_add(LEEWAY)
    {
        return Err(format!("not valid before {nbf} (now {})", expected.now));
    }

    let nonce = claims.get("nonce").and_then(Value::as_str);
    if nonce != Some(expected.nonce) {
        return Err(if nonce.is_none() {
            "no nonce".into()
        } else {
            "nonce does not match".into()
        });
    }

    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= 255 => Ok(()),
        Some(_) => Err("sub is empty or longer than 255 characters".into()),
        None => Err("no sub".into()),
    }
}

/// A NumericDate claim (seconds, possibly fractional); negative is refused.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<u64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        {
            Some(v) => Ok(Some(v)),
            None => Err(format!("{name} is not a valid time")),
        },
        Some(other) => Err(format!("{name} is not a number: {other}")),
    }
}
