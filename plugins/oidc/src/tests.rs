//! The connector against a defect-injecting fake OpenID Provider, run through
//! the SDK harness. Keys are generated at run time with RustCrypto.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_connector_sdk::testing::{self, Harness};
use latchkey_connector_sdk::{ErrorKind, Identity, Result};
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

use super::Oidc;

const ISSUER: &str = "https://op.test";
const CLIENT_ID: &str = "latchkey";
const SECRET: &str = "s3cr=t+x";
const AUTH_URI: &str = "https://op.test/auth";
const TOKEN_URI: &str = "https://op.test/token";
const USERINFO_URI: &str = "https://op.test/me";
const JWKS_URI: &str = "https://op.test/jwks";
const DISCOVERY_URI: &str = "https://op.test/.well-known/openid-configuration";
const ACCESS_TOKEN: &str = "at-1";

struct Keys {
    rsa: rsa::PrivateKey,
    rsa_other: rsa::PrivateKey,
    p256: p256::ecdsa::SigningKey,
    p384: p384::ecdsa::SigningKey,
    ed25519: ed25519_dalek::SigningKey,
}

/// Generated once per test binary (RSA key generation takes a moment).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rng();
        Keys {
            rsa: rsa::PrivateKey::new(&mut rng, 2048).expect("RSA key"),
            rsa_other: rsa::PrivateKey::new(&mut rng, 2048).expect("RSA key"),
            p256: rsa::Generate::generate_from_rng(&mut rng),
            p384: rsa::Generate::generate_from_rng(&mut rng),
            ed25519: ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
        }
    })
}

#[derive(Clone, Copy)]
enum Key {
    Rsa,
    RsaOther,
    P256,
    P384,
    Ed25519,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The public JWK for `key`; like many providers, without `alg`.
fn jwk(key: Key, kid: Option<&str>) -> Value {
    let k = keys();
    let mut jwk = match key {
        Key::Rsa | Key::RsaOther => {
            let private = if matches!(key, Key::Rsa) {
                &k.rsa
            } else {
                &k.rsa_other
            };
            json!({"kty": "RSA", "use": "sig", "n": b64(&private.n_bytes()), "e": b64(&private.e_bytes())})
        }
        Key::P256 => {
            let point = k.p256.verifying_key().to_sec1_point(false);
            let bytes = point.as_bytes();
            json!({"kty": "EC", "crv": "P-256", "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])})
        }
        Key::P384 => {
            let point = k.p384.verifying_key().to_sec1_point(false);
            let bytes = point.as_bytes();
            json!({"kty": "EC", "crv": "P-384", "x": b64(&bytes[1..49]), "y": b64(&bytes[49..97])})
        }
        Key::Ed25519 => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.ed25519.verifying_key().as_bytes())})
        }
    };
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

/// A compact JWS over `claims` with header `alg`/`kid`, signed by `key`.
fn sign(alg: &str, kid: Option<&str>, key: Key, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let msg = input.as_bytes();
    let k = keys();
    let rsa_key = || {
        if matches!(key, Key::RsaOther) {
            k.rsa_other.clone()
        } else {
            k.rsa.clone()
        }
    };
    let mut rng = rand::rng();
    let signature: Vec<u8> = match alg {
        "none" => Vec::new(),
        "HS256" => {
            use hmac::{KeyInit as _, Mac as _};
            let mut mac =
                hmac::Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        "RS256" => rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key())
            .sign(msg)
            .to_vec(),
        "RS384" => rsa::pkcs1v15::SigningKey::<Sha384>::new(rsa_key())
            .sign(msg)
            .to_vec(),
        "RS512" => rsa::pkcs1v15::SigningKey::<Sha512>::new(rsa_key())
            .sign(msg)
            .to_vec(),
        "PS256" => rsa::pss::SigningKey::<Sha256>::new(rsa_key())
            .sign_with_rng(&mut rng, msg)
            .to_vec(),
        "PS384" => rsa::pss::SigningKey::<Sha384>::new(rsa_key())
            .sign_with_rng(&mut rng, msg)
            .to_vec(),
        "PS512" => rsa::pss::SigningKey::<Sha512>::new(rsa_key())
            .sign_with_rng(&mut rng, msg)
            .to_vec(),
        "ES256" => {
            let s: p256::ecdsa::Signature = k.p256.sign(msg);
            s.to_bytes().to_vec()
        }
        "ES384" => {
            let s: p384::ecdsa::Signature = k.p384.sign(msg);
            s.to_bytes().to_vec()
        }
        "EdDSA" => k.ed25519.sign(msg).to_bytes().to_vec(),
        other => panic!("test cannot sign {other}"),
    };
    format!("{input}.{}", b64(&signature))
}

/// Valid claims for the default test login.
fn claims() -> Value {
    let now = testing::DEFAULT_NOW;
    json!({
        "iss": ISSUER, "sub": "alice", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
        "nonce": testing::NONCE, "at_hash": sha256_half(ACCESS_TOKEN),
    })
}

fn sha256_half(s: &str) -> String {
    use sha2::Digest as _;
    b64(&Sha256::digest(s.as_bytes())[..16])
}

fn discovery() -> Value {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": AUTH_URI,
        "token_endpoint": TOKEN_URI,
        "userinfo_endpoint": USERINFO_URI,
        "jwks_uri": JWKS_URI,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// A harness against a well-behaved fake OP publishing one key of each type.
fn op() -> Harness<Oidc> {
    let h = Harness::new([
        ("issuer", ISSUER),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ]);
    h.host.on("GET", DISCOVERY_URI).json(&discovery());
    h.host.on("GET", JWKS_URI).json(&json!({"keys": [
        jwk(Key::Rsa, Some("rsa-1")),
        jwk(Key::P256, Some("ec-1")),
        jwk(Key::P384, Some("ec-2")),
        jwk(Key::Ed25519, Some("ed-1")),
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
    ]}));
    h.host.on("GET", USERINFO_URI).json(&json!({
        "sub": "alice", "name": "Alice Liddell", "email": "alice@example.test",
        "email_verified": "true", "preferred_username": "alice", "picture": "https://op.test/a.png",
    }));
    h
}

/// Scripts the token endpoint to return `id_token`.
fn issue(h: &Harness<Oidc>, id_token: &str) {
    h.host.on("POST", TOKEN_URI).json(&json!({
        "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": "3600", "id_token": id_token,
    }));
}

fn login(h: &Harness<Oidc>) -> Result<Identity> {
    h.complete(&testing::callback([
        ("code", "code-1"),
        ("state", testing::STATE),
    ]))
}

/// Logs in with a token signed with RS256 by the published key.
fn login_with_claims(claims: &Value) -> Result<Identity> {
    let h = op();
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, claims));
    login(&h)
}

#[track_caller]
fn assert_refused(result: Result<Identity>, reason: &str) {
    let error = result.expect_err("the login must be refused");
    assert_eq!(error.kind, ErrorKind::InvalidResponse, "{error}");
    assert!(
        error.detail.contains(reason),
        "expected {reason:?} in {:?}",
        error.detail
    );
}

// ---- the happy paths ----------------------------------------------------

#[test]
fn begin_sends_the_browser_to_the_authorization_endpoint() {
    let h = op();
    let url = url::Url::parse(&h.begin(&testing::begin_request()).unwrap()).unwrap();
    assert_eq!(url.as_str().split('?').next(), Some(AUTH_URI));
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", testing::REDIRECT_URI),
        ("scope", "openid profile email"),
        ("state", testing::STATE),
        ("nonce", testing::NONCE),
        ("code_challenge", testing::PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(params, expected);

    // Discovery is cached: a second begin makes no request.
    h.begin(&testing::begin_request()).unwrap();
    assert_eq!(h.host.requests().len(), 1);
}

#[test]
fn endpoints_named_in_the_settings_replace_discovery_s() {
    // Like Google: the token, userinfo and JWKS endpoints are on other hosts.
    const TOKEN_ELSEWHERE: &str = "https://tokens.op-apis.test/token";
    const USERINFO_ELSEWHERE: &str = "https://userinfo.op-apis.test/me";
    const JWKS_ELSEWHERE: &str = "https://keys.op-apis.test/jwks";
    let mut h = op();
    h.set("token_endpoint", TOKEN_ELSEWHERE);
    h.set("userinfo_endpoint", USERINFO_ELSEWHERE);
    h.set("jwks_uri", JWKS_ELSEWHERE);
    h.host
        .on("GET", JWKS_ELSEWHERE)
        .json(&json!({"keys": [jwk(Key::Rsa, Some("rsa-1"))]}));
    h.host
        .on("GET", USERINFO_ELSEWHERE)
        .json(&json!({"sub": "alice", "name": "Alice"}));
    h.host.on("POST", TOKEN_ELSEWHERE).json(&json!({
        "access_token": ACCESS_TOKEN, "token_type": "Bearer",
        "id_token": sign("RS256", Some("rsa-1"), Key::Rsa, &claims()),
    }));
    let identity = login(&h).expect("logon through the named endpoints");
    assert_eq!(identity.subject, "https://op.test#alice");
    assert!(
        h.host.requests_to("POST", TOKEN_URI).is_empty(),
        "discovery's token endpoint was used"
    );
    assert_eq!(h.host.requests_to("GET", JWKS_ELSEWHERE).len(), 1);
    // The authorization endpoint too; a malformed one is refused by validation.
    h.set("authorization_endpoint", "https://login.op-apis.test/auth");
    let url = h.begin(&testing::begin_request()).unwrap();
    assert!(url.starts_with("https://login.op-apis.test/auth?"), "{url}");
    h.set("jwks_uri", "not a url");
    let errors = h.validate().expect_err("a malformed endpoint is refused");
    assert!(errors.iter().any(|e| e.key == "jwks_uri"), "{errors:?}");
}

#[test]
fn scopes_always_include_openid() {
    let mut h = op();
    h.set("scopes", "email  profile");
    let url = h.begin(&testing::begin_request()).unwrap();
    assert!(url.contains("scope=openid+email+profile"), "{url}");
    assert_eq!(h.validate().unwrap_err()[0].key, "scopes");
}

#[test]
fn a_valid_login_yields_the_identity() {
    let h = op();
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    let identity = login(&h).unwrap();
    assert_eq!(
        identity,
        Identity {
            subject: "https://op.test#alice".into(),
            display_name: Some("Alice Liddell".into()),
            email: Some("alice@example.test".into()),
            email_verified: false, // trust_email is off by default
            mobile: None,
            mobile_verified: false,
            avatar_url: Some("https://op.test/a.png".into()),
            account_name_hint: Some("alice".into()),
        }
    );

    let token = &h.host.requests_to("POST", TOKEN_URI)[0];
    assert_eq!(
        token.form_param("grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(token.form_param("code").as_deref(), Some("code-1"));
    assert_eq!(
        token.form_param("redirect_uri").as_deref(),
        Some(testing::REDIRECT_URI)
    );
    assert_eq!(
        token.form_param("code_verifier").as_deref(),
        Some(testing::PKCE_VERIFIER)
    );
    // client_secret_basic, with form-encoded credentials, and nothing in the body.
    assert_eq!(
        token.header_value("authorization"),
        Some("Basic bGF0Y2hrZXk6czNjciUzRHQlMkJ4")
    );
    assert_eq!(token.form_param("client_secret"), None);
    let userinfo = &h.host.requests_to("GET", USERINFO_URI)[0];
    assert_eq!(userinfo.header_value("authorization"), Some("Bearer at-1"));
}

#[test]
fn trusted_email_verified_as_a_string_counts() {
    let mut h = op();
    h.set("trust_email", "true");
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    assert!(login(&h).unwrap().email_verified);
}

#[test]
fn client_secret_post_puts_the_credentials_in_the_body_only() {
    let mut h = op();
    h.set("token_auth", "client_secret_post");
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    login(&h).unwrap();
    let token = &h.host.requests_to("POST", TOKEN_URI)[0];
    assert_eq!(token.form_param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(token.form_param("client_secret").as_deref(), Some(SECRET));
    assert_eq!(token.header_value("authorization"), None);
}

#[test]
fn every_allowlisted_algorithm_verifies() {
    let cases = [
        ("RS256", "rsa-1", Key::Rsa),
        ("RS384", "rsa-1", Key::Rsa),
        ("RS512", "rsa-1", Key::Rsa),
        ("PS256", "rsa-1", Key::Rsa),
        ("PS384", "rsa-1", Key::Rsa),
        ("PS512", "rsa-1", Key::Rsa),
        ("ES256", "ec-1", Key::P256),
        ("ES384", "ec-2", Key::P384),
        ("EdDSA", "ed-1", Key::Ed25519),
    ];
    for (alg, kid, key) in cases {
        let h = op();
        let mut c = claims();
        c.as_object_mut().unwrap().remove("at_hash");
        issue(&h, &sign(alg, Some(kid), key, &c));
        let identity = login(&h).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(identity.subject, "https://op.test#alice");
    }
}

#[test]
fn aud_may_be_an_array_with_azp() {
    let mut c = claims();
    c["aud"] = json!([CLIENT_ID, "another-api"]);
    c["azp"] = json!(CLIENT_ID);
    login_with_claims(&c).unwrap();
    c["aud"] = json!([CLIENT_ID]);
    c.as_object_mut().unwrap().remove("azp");
    login_with_claims(&c).unwrap();
}

#[test]
fn expiry_within_the_leeway_is_accepted() {
    let mut c = claims();
    c["exp"] = json!(testing::DEFAULT_NOW - 30);
    login_with_claims(&c).unwrap();
}

#[test]
fn a_token_without_kid_uses_the_only_fitting_key() {
    // One RSA key (and keys of other types) published: unambiguous.
    login_with_claims_unsigned_kid(Key::Rsa).unwrap();
}

fn login_with_claims_unsigned_kid(key: Key) -> Result<Identity> {
    let h = op();
    issue(&h, &sign("RS256", None, key, &claims()));
    login(&h)
}

#[test]
fn an_unknown_kid_refetches_the_jwks_once() {
    let h = op();
    // The cached JWKS predates key rotation; the refetch finds the new key.
    h.host
        .on("GET", JWKS_URI)
        .json(&json!({"keys": [jwk(Key::RsaOther, Some("rsa-2"))]}));
    h.host
        .on("GET", JWKS_URI)
        .once()
        .json(&json!({"keys": [jwk(Key::Rsa, Some("rsa-1"))]}));
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    login(&h).unwrap();
    issue(&h, &sign("RS256", Some("rsa-2"), Key::RsaOther, &claims()));
    login(&h).unwrap();
    assert_eq!(h.host.requests_to("GET", JWKS_URI).len(), 2);
    // A third unknown kid within the minute does not refetch again.
    issue(&h, &sign("RS256", Some("rsa-3"), Key::Rsa, &claims()));
    assert_refused(login(&h), "no RS256 key with kid");
    assert_eq!(h.host.requests_to("GET", JWKS_URI).len(), 2);
}

// ---- each defect is refused ---------------------------------------------

#[test]
fn wrong_iss_is_refused() {
    let mut c = claims();
    c["iss"] = json!("https://evil.test");
    assert_refused(login_with_claims(&c), "iss");
}

#[test]
fn wrong_aud_is_refused() {
    let mut c = claims();
    c["aud"] = json!("someone-else");
    assert_refused(login_with_claims(&c), "aud");
    c["aud"] = json!([CLIENT_ID, "someone-else"]);
    assert_refused(login_with_claims(&c), "no azp");
    c["azp"] = json!("someone-else");
    assert_refused(login_with_claims(&c), "azp");
}

#[test]
fn wrong_nonce_is_refused() {
    let mut c = claims();
    c["nonce"] = json!("replayed-nonce");
    assert_refused(login_with_claims(&c), "nonce does not match");
    c.as_object_mut().unwrap().remove("nonce");
    assert_refused(login_with_claims(&c), "no nonce");
}

#[test]
fn bad_signature_is_refused() {
    // Signed by a key the provider never published, under its kid.
    let h = op();
    issue(&h, &sign("RS256", Some("rsa-1"), Key::RsaOther, &claims()));
    assert_refused(login(&h), "signature does not verify");

    // A validly signed token whose payload was altered afterwards.
    let token = sign("RS256", Some("rsa-1"), Key::Rsa, &claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut altered = claims();
    altered["sub"] = json!("mallory");
    parts[1] = b64(altered.to_string().as_bytes());
    let h = op();
    issue(&h, &parts.join("."));
    assert_refused(login(&h), "signature does not verify");
}

#[test]
fn alg_none_is_refused() {
    let h = op();
    issue(&h, &sign("none", Some("rsa-1"), Key::Rsa, &claims()));
    assert_refused(login(&h), "alg \"none\"");
}

#[test]
fn alg_hs256_is_refused() {
    // HMAC-ed with the client secret, which an HS256-accepting RP would trust.
    let h = op();
    issue(&h, &sign("HS256", None, Key::Rsa, &claims()));
    assert_refused(login(&h), "alg \"HS256\"");
}

#[test]
fn expired_is_refused() {
    let mut c = claims();
    c["exp"] = json!(testing::DEFAULT_NOW - 120);
    assert_refused(login_with_claims(&c), "expired");
}

#[test]
fn missing_iat_or_sub_is_refused() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iat");
    assert_refused(login_with_claims(&c), "no iat");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_refused(login_with_claims(&c), "no sub");
}

#[test]
fn missing_kid_with_two_keys_is_refused() {
    let h = op();
    h.host
        .on("GET", JWKS_URI)
        .json(&json!({"keys": [jwk(Key::Rsa, Some("a")), jwk(Key::RsaOther, Some("b"))]}));
    issue(&h, &sign("RS256", None, Key::Rsa, &claims()));
    assert_refused(login(&h), "no kid in the header and 2 RS256 keys");
}

#[test]
fn userinfo_sub_mismatch_is_refused() {
    let h = op();
    h.host
        .on("GET", USERINFO_URI)
        .json(&json!({"sub": "mallory", "email": "mallory@example.test"}));
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    let error = login(&h).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidResponse);
    assert!(error.detail.contains("userinfo sub"), "{error}");
}

#[test]
fn issuer_mismatch_in_discovery_is_refused() {
    let h = op();
    let mut doc = discovery();
    doc["issuer"] = json!("https://op.test/");
    h.host.on("GET", DISCOVERY_URI).json(&doc);
    let error = h.begin(&testing::begin_request()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Config);
    assert!(error.detail.contains("discovery issuer"), "{error}");
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    assert_eq!(login(&h).unwrap_err().kind, ErrorKind::Config);
    assert!(
        h.host.requests_to("POST", TOKEN_URI).is_empty(),
        "no code was exchanged"
    );
    assert!(
        h.host.cache_keys().is_empty(),
        "a refused document is not cached"
    );
}

#[test]
fn at_hash_mismatch_is_refused() {
    let mut c = claims();
    c["at_hash"] = json!(sha256_half("another-token"));
    assert_refused(login_with_claims(&c), "at_hash");
}

#[test]
fn encrypted_and_malformed_tokens_are_refused() {
    let h = op();
    issue(&h, "a.b.c.d.e");
    assert_refused(login(&h), "JWE");
    let h = op();
    issue(&h, "not-a-jwt");
    assert_refused(login(&h), "compact JWS");
}

// ---- callback and token endpoint errors --------------------------------

#[test]
fn callback_errors_are_cancelled_or_refused() {
    let h = op();
    let cancelled = h.complete(&testing::callback([
        ("error", "access_denied"),
        ("state", testing::STATE),
    ]));
    assert_eq!(cancelled.unwrap_err().kind, ErrorKind::Cancelled);
    let refused = h
        .complete(&testing::callback([
            ("error", "server_error"),
            ("error_description", "boom"),
        ]))
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::UpstreamRefused);
    assert!(refused.detail.contains("boom"));
    assert!(h.host.requests_to("POST", TOKEN_URI).is_empty());
}

#[test]
fn callback_iss_must_name_the_issuer() {
    let h = op();
    issue(&h, &sign("RS256", Some("rsa-1"), Key::Rsa, &claims()));
    let mixed_up = h.complete(&testing::callback([
        ("code", "c"),
        ("iss", "https://evil.test"),
    ]));
    assert_eq!(mixed_up.unwrap_err().kind, ErrorKind::InvalidResponse);
    h.complete(&testing::callback([("code", "c"), ("iss", ISSUER)]))
        .unwrap();
}

#[test]
fn the_code_is_exchanged_once_even_when_it_fails() {
    let h = op();
    h.host
        .on("POST", TOKEN_URI)
        .status(400)
        .json(&json!({"error": "invalid_grant", "error_description": "used"}));
    let error = login(&h).unwrap_err();
    assert_eq!(error.kind, ErrorKind::UpstreamRefused);
    assert!(error.detail.contains("invalid_grant"));
    assert_eq!(h.host.requests_to("POST", TOKEN_URI).len(), 1);

    let h = op();
    h.host.on("POST", TOKEN_URI).fail("timeout");
    assert_eq!(login(&h).unwrap_err().kind, ErrorKind::UpstreamUnavailable);
    assert_eq!(h.host.requests_to("POST", TOKEN_URI).len(), 1);

    let h = op();
    h.host
        .on("POST", TOKEN_URI)
        .status(401)
        .json(&json!({"error": "invalid_client"}));
    assert_eq!(login(&h).unwrap_err().kind, ErrorKind::Config);
}

#[test]
fn settings_are_validated() {
    let h = Harness::<Oidc>::new([
        ("issuer", "https://op.test?x=1"),
        ("token_auth", "private_key_jwt"),
    ]);
    let mut keys: Vec<String> = h
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.key)
        .collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "client_secret", "issuer", "token_auth"]);
    assert!(op().validate().is_ok());
    assert_eq!(
        op().directory_page(None).unwrap_err().kind,
        ErrorKind::NotSupported
    );
}

#[test]
fn the_pkce_test_constants_are_s256_of_each_other() {
    use sha2::Digest as _;
    assert_eq!(
        b64(&Sha256::digest(testing::PKCE_VERIFIER.as_bytes())),
        testing::PKCE_CHALLENGE
    );
}
