//! Just enough JOSE to verify an ID token: compact JWS parsing, the
//! algorithm allowlist, JWK key selection and signature checks. The crypto is
//! RustCrypto's (`rsa`, `p256`, `p384`, `ed25519-dalek`); nothing here
//! implements a primitive.
//!
//! Key selection rule (documented in plugins/README.md):
//! - candidate keys are the JWKS entries whose `use` is absent or "sig",
//!   whose `kty` (and `crv`) fit the token's `alg`, and whose `alg`, when
//!   present, equals it;
//! - a token with a `kid` may only be checked against candidates with that
//!   `kid` (several with the same `kid`: any of them may verify it);
//! - a token without a `kid` is accepted only when exactly one candidate
//!   exists; several candidates are refused as ambiguous (OIDC Core §10.1:
//!   "If there are multiple keys … a kid value MUST be provided").

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The signature algorithms accepted. `none`, `HS*` and anything else are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl Alg {
    /// The allowlisted algorithm named `name`, or why it is refused.
    pub fn from_name(name: &str) -> Result<Alg, String> {
        Ok(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            "none" => return Err("alg \"none\" (unsigned token) is never accepted".into()),
            n if n.starts_with("HS") => {
                return Err(format!("alg \"{n}\" (shared-secret MAC) is not accepted"));
            }
            n => return Err(format!("alg \"{n}\" is not on the allowlist")),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Whether `jwk`'s type and curve can carry this algorithm.
    fn fits(self, jwk: &Jwk) -> bool {
        match self {
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => {
                jwk.kty == "RSA"
            }
            Alg::Es256 => jwk.kty == "EC" && jwk.crv.as_deref() == Some("P-256"),
            Alg::Es384 => jwk.kty == "EC" && jwk.crv.as_deref() == Some("P-384"),
            Alg::EdDsa => jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519"),
        }
    }

    /// `at_hash`: the left half of the hash that goes with this algorithm
    /// (SHA-512 for Ed25519), base64url-encoded.
    pub fn half_hash(self, data: &[u8]) -> String {
        let digest: Vec<u8> = match self {
            Alg::Rs256 | Alg::Ps256 | Alg::Es256 => Sha256::digest(data).to_vec(),
            Alg::Rs384 | Alg::Ps384 | Alg::Es384 => Sha384::digest(data).to_vec(),
            Alg::Rs512 | Alg::Ps512 | Alg::EdDsa => Sha512::digest(data).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

/// A parsed compact JWS whose algorithm is on the allowlist. Not yet verified.
pub struct Jws {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `BASE64URL(header) "." BASE64URL(payload)`, the signed bytes.
    signing_input: String,
    signature: Vec<u8>,
    /// The decoded payload, a JSON object.
    pub claims: Map<String, Value>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

/// Parses a compact JWS, refusing JWE, unknown critical headers and any
/// algorithm off the allowlist.
pub fn parse(token: &str) -> Result<Jws, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 5 {
        return Err("encrypted ID tokens (JWE) are not supported".into());
    }
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(format!("not a compact JWS ({} parts)", parts.len()));
    };
    let header: Header = decode_json(header_b64, "header")?;
    let alg = Alg::from_name(&header.alg)?;
    if header.crit.is_some() {
        return Err("the header has critical extensions (crit), which are not supported".into());
    }
    let claims: Map<String, Value> = decode_json(payload_b64, "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|e| format!("signature is not base64url: {e}"))?;
    Ok(Jws {
        alg,
        kid: header.kid,
        signing_input: format!("{header_b64}.{payload_b64}"),
        signature,
        claims,
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("{what} is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{what} is not the expected JSON: {e}"))
}

/// One JSON Web Key, as far as signature checks need it. Keys of unknown
/// types are kept but never fit an algorithm.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// Reads a JWKS document, skipping entries that are not keys at all.
pub fn parse_jwks(document: &Value) -> Result<Vec<Jwk>, String> {
    let keys = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no \"keys\" array")?;
    Ok(keys
        .iter()
        .filter_map(|k| serde_json::from_value(k.clone()).ok())
        .collect())
}

/// What key selection found for a token.
pub enum Selection<'k> {
    /// Check the signature against these (non-empty).
    Keys(Vec<&'k Jwk>),
    /// No key fits (`kid` unknown or no key of the right type): refetch once.
    NoneFits,
    /// No `kid` and several keys fit: refused.
    Ambiguous(usize),
}

/// Applies the key selection rule (module docs) to `keys`.
pub fn select<'k>(keys: &'k [Jwk], alg: Alg, kid: Option<&str>) -> Selection<'k> {
    let fitting: Vec<&Jwk> = keys
        .iter()
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| alg.fits(k))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg.name()))
        .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
        .collect();
    match (fitting.len(), kid) {
        (0, _) => Selection::NoneFits,
        (1, _) | (_, Some(_)) => Selection::Keys(fitting),
        (n, None) => Selection::Ambiguous(n),
    }
}

impl Jws {
    /// True when one of `keys` verifies the signature.
    pub fn verified_by_any(&self, keys: &[&Jwk]) -> Result<(), String> {
        let mut last = String::from("no key");
        for key in keys {
            match verify(
                key,
                self.alg,
                self.signing_input.as_bytes(),
                &self.signature,
            ) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(format!("the signature does not verify ({last})"))
    }
}

fn b64_field(value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let raw = value
        .as_deref()
        .ok_or_else(|| format!("the key lacks \"{name}\""))?;
    URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|e| format!("the key's \"{name}\" is not base64url: {e}"))
}

/// Verifies `signature` over `input` with `jwk` under `alg`.
fn verify(jwk: &Jwk, alg: Alg, input: &[u8], signature: &[u8]) -> Result<(), String> {
    use rsa::signature::Verifier as _;
    match alg {
        Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => {
            let key = rsa_key(jwk)?;
            rsa_verify(alg, key, input, signature).map_err(|e| format!("{}: {e}", alg.name()))
        }
        Alg::Es256 => {
            let point = ec_point(jwk, 32)?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|e| format!("P-256 key: {e}"))?;
            let sig = p256::ecdsa::Signature::from_slice(signature)
                .map_err(|e| format!("ES256 signature: {e}"))?;
            key.verify(input, &sig).map_err(|e| format!("ES256: {e}"))
        }
        Alg::Es384 => {
            let point = ec_point(jwk, 48)?;
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|e| format!("P-384 key: {e}"))?;
            let sig = p384::ecdsa::Signature::from_slice(signature)
                .map_err(|e| format!("ES384 signature: {e}"))?;
            key.verify(input, &sig).map_err(|e| format!("ES384: {e}"))
        }
        Alg::EdDsa => {
            let x: [u8; 32] = b64_field(&jwk.x, "x")?
                .try_into()
                .map_err(|_| "Ed25519 key is not 32 bytes")?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|e| format!("Ed25519 key: {e}"))?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|e| format!("EdDSA signature: {e}"))?;
            key.verify_strict(input, &sig)
                .map_err(|e| format!("EdDSA: {e}"))
        }
    }
}

fn rsa_verify(
    alg: Alg,
    key: rsa::PublicKey,
    input: &[u8],
    signature: &[u8],
) -> Result<(), rsa::signature::Error> {
    use rsa::signature::Verifier as _;
    use rsa::{pkcs1v15, pss};
    match alg {
        Alg::Rs256 => {
            pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(input, &signature.try_into()?)
        }
        Alg::Rs384 => {
            pkcs1v15::VerifyingKey::<Sha384>::new(key).verify(input, &signature.try_into()?)
        }
        Alg::Rs512 => {
            pkcs1v15::VerifyingKey::<Sha512>::new(key).verify(input, &signature.try_into()?)
        }
        Alg::Ps256 => pss::VerifyingKey::<Sha256>::new(key).verify(input, &signature.try_into()?),
        Alg::Ps384 => pss::VerifyingKey::<Sha384>::new(key).verify(input, &signature.try_into()?),
        _ => pss::VerifyingKey::<Sha512>::new(key).verify(input, &signature.try_into()?),
    }
}

/// An RSA public key of 2048 to 8192 bits.
fn rsa_key(jwk: &Jwk) -> Result<rsa::PublicKey, String> {
    let n = b64_field(&jwk.n, "n")?;
    let e = b64_field(&jwk.e, "e")?;
    let strip = |b: &[u8]| {
        b.iter()
            .position(|&x| x != 0)
            .map_or_else(Vec::new, |i| b[i..].to_vec())
    };
    let (n, e) = (strip(&n), strip(&e));
    let n = rsa::BoxedUint::from_be_slice_vartime(&n);
    let e = rsa::BoxedUint::from_be_slice_vartime(&e);
    rsa::PublicKey::new_with_size_limits(n, e, 2048..=8192).map_err(|e| format!("RSA key: {e}"))
}

/// The uncompressed SEC1 point `04 || x || y` of an EC key whose
/// coordinates are `size` bytes each.
fn ec_point(jwk: &Jwk, size: usize) -> Result<Vec<u8>, String> {
    let x = b64_field(&jwk.x, "x")?;
    let y = b64_field(&jwk.y, "y")?;
    if x.len() != size || y.len() != size {
        return Err(format!("EC coordinates are not {size} bytes"));
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}
