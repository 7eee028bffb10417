//! Passkeys (WebAuthn) without an authenticator: the setting hides them, CSRF guards the
//! ceremony, and a garbage or replayed registration or assertion is refused with a clear
//! error and changes nothing. The browser suite (tests/browser, a virtual authenticator)
//! registers and uses a real one.

use super::harness::{login_expect, post_with_csrf, settings};
use super::prompt_csrf;
use crate::support::{Env, PASSWORD, Page};

/// A passkey a virtual authenticator registered for `http://localhost` (the public key,
/// counter and flags webauthn-rs stores; no secret).
const STORED_PASSKEY: &str = r#"{"cred":{"cred_id":"D0OnDjoMXbFnxV8OpR4uiL4vaKc2cyhyl3K2K7JatS8","cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1","x":"6u0zaklX1hxyX5oOlX4NdMMlkPGN3DXzajNb1fWIFBc","y":"Tw5lK8vFR6cPlP9ZQg9tg-e15J1S0fwEfcnVtpwl9qY"}}},"counter":1,"transports":null,"user_verified":true,"backup_eligible":false,"backup_state":false,"registration_policy":"required","extensions":{"cred_protect":"Ignored","hmac_create_secret":"NotRequested","appid":"NotRequested","cred_props":"Ignored"},"attestation":{"data":"None","metadata":"None"},"attestation_format":"none"}}"#;
const STORED_PASSKEY_ID: &str = "0f43a70e3a0c5db167c55f0ea51e2e88be2f68a7367328729772b62bb25ab52f";

/// WebAuthn needs `public_url` to name a host (an IP address is no relying-party id).
fn localhost_config(env: &Env) {
    let dir = env.path().join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("latchkey.toml"),
        "public_url = \"http://localhost:8080\"\n",
    )
    .expect("write config");
}

fn count(env: &Env, sql: &str) -> i64 {
    env.db()
        .query_row(sql, [], |r| r.get(0))
        .expect("count query")
}

/// The options request was refused (400) with a JSON `error` that says `says`.
fn assert_json_error(p: &Page, says: &str) {
    assert_eq!(p.status, 400, "{}", p.summary());
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("a JSON error");
    assert!(v["error"].as_str().unwrap_or("").contains(says), "{v}");
}

#[tokio::test]
async fn passkeys_are_absent_while_the_setting_is_off() {
    let env = Env::new();
    localhost_config(&env);
    env.add_user("pia", &["--display-name", "Pia"]);
    assert_eq!(
        env.get("mfa.passkey"),
        "false",
        "passkeys are off by default"
    );
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("pia", PASSWORD).await;
    let account = b.get("/account").await;
    assert!(
        !account.body.contains("/account/passkeys"),
        "My Account links to passkeys while they are off"
    );
    assert_eq!(b.get("/account/passkeys").await.status, 404);
    let csrf = b.csrf().await;
    let p = post_with_csrf(&b, "/account/passkeys/options", &csrf, &[("name", "Key")]).await;
    assert_eq!(p.status, 404, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkey_ceremonies"), 0);

    env.set("mfa.passkey", "true");
    // The settings cache lives two seconds.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let account = b.get("/account").await;
    assert!(
        account.body.contains(r#"href="/account/passkeys""#),
        "no link once on"
    );
    let p = b.get("/account/passkeys").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        p.text().contains("Passkeys need JavaScript"),
        "{}",
        p.text()
    );
    let csp = p.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'"),
        "passkeys page CSP: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "passkeys page CSP: {csp}");
    let csp = account
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(
        !csp.contains("script-src"),
        "My Account must allow no script: {csp}"
    );
    let js = b.get("/static/passkey.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .unwrap_or_default()
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn garbage_or_replayed_registrations_are_refused_and_change_nothing() {
    let env = Env::new();
    localhost_config(&env);
    settings(&env, &[("mfa.passkey", "true")]);
    env.add_user("quinn", &["--display-name", "Quinn"]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("quinn", PASSWORD).await;
    let page = b.get("/account/passkeys").await;
    let csrf = page.csrf().expect("csrf field");

    // No or a wrong CSRF token: refused before anything happens.
    let p = b
        .post("/account/passkeys/options", &[("name", "Key")])
        .await;
    assert_eq!(p.status, 403, "{}", p.summary());
    let p = post_with_csrf(
        &b,
        "/account/passkeys/options",
        "forged",
        &[("name", "Key")],
    )
    .await;
    assert_eq!(p.status, 403, "{}", p.summary());
    let p = post_with_csrf(&b, "/account/passkeys", "forged", &[("credential", "{}")]).await;
    assert_eq!(p.status, 403, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkey_ceremonies"), 0);

    // A name is needed.
    let p = post_with_csrf(&b, "/account/passkeys/options", &csrf, &[("name", " ")]).await;
    assert_json_error(&p, "Name the passkey");

    // Options: the relying party is public_url's host, the user is quinn.
    let p = post_with_csrf(&b, "/account/passkeys/options", &csrf, &[("name", "Key")]).await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        p.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON options");
    assert_eq!(v["publicKey"]["rp"]["id"], "localhost", "{v}");
    assert_eq!(v["publicKey"]["user"]["name"], "quinn", "{v}");
    assert!(
        v["publicKey"]["challenge"]
            .as_str()
            .is_some_and(|c| c.len() >= 16),
        "{v}"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM passkey_ceremonies"), 1);

    // Garbage instead of the authenticator's answer: a clear error, no passkey.
    let p = post_with_csrf(
        &b,
        "/account/passkeys",
        &csrf,
        &[("credential", "not json")],
    )
    .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.alert()
            .unwrap_or_default()
            .contains("The passkey's answer was not accepted"),
        "{}",
        p.summary()
    );
    // The ceremony was used up: the same answer again is refused as expired.
    let p = post_with_csrf(
        &b,
        "/account/passkeys",
        &csrf,
        &[("credential", "not json")],
    )
    .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.alert()
            .unwrap_or_default()
            .contains("expired or was already used"),
        "{}",
        p.summary()
    );
    // A well-formed but forged answer to a fresh ceremony.
    post_with_csrf(&b, "/account/passkeys/options", &csrf, &[("name", "Key")]).await;
    let forged = serde_json::json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key", "extensions": {},
        "response": {"attestationObject": "o2NmbXRkbm9uZQ", "clientDataJSON": "e30"}
    })
    .to_string();
    let p = post_with_csrf(&b, "/account/passkeys", &csrf, &[("credential", &forged)]).await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkeys"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM passkey_ceremonies"), 0);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE event LIKE 'factor.passkey%'"
        ),
        0
    );
    assert!(
        env.show("quinn")["factors"]
            .as_array()
            .is_some_and(|f| f.is_empty())
    );
}

#[tokio::test]
async fn garbage_or_replayed_assertions_are_refused_and_count_toward_lockout() {
    let env = Env::new();
    localhost_config(&env);
    settings(
        &env,
        &[
            ("mfa.passkey", "true"),
            ("mfa.required", "true"),
            ("lockout.max_failures", "3"),
        ],
    );
    env.add_user("rosa", &["--display-name", "Rosa"]);
    let id: i64 = env
        .db()
        .query_row(
            "SELECT id FROM accounts WHERE account_name = 'rosa'",
            [],
            |r| r.get(0),
        )
        .expect("rosa's id");
    env.db()
        .execute(
            "INSERT INTO passkeys (account_id, name, credential_id, credential, created_at)              VALUES (?1, 'Laptop', ?2, ?3, 1)",
            rusqlite::params![id, STORED_PASSKEY_ID, STORED_PASSKEY],
        )
        .expect("insert a passkey");
    let shown = env.show("rosa");
    assert!(
        shown["factors"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "passkey")),
        "user show lists the passkey: {shown}"
    );
    let srv = env.serve();
    let b = srv.browser();
    login_expect(&b, "rosa", PASSWORD, "/login/factor").await;
    let p = b.get("/login/factor").await;
    assert_eq!(
        p.input_value("method").as_deref(),
        Some("passkey"),
        "{}",
        p.summary()
    );
    assert!(p.has_input("credential"));
    let csrf = prompt_csrf(&b).await;

    // Without CSRF no options.
    let p = b.post("/login/factor/passkey", &[]).await;
    assert_eq!(p.status, 403, "{}", p.summary());
    let p = post_with_csrf(&b, "/login/factor/passkey", &csrf, &[]).await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let v: serde_json::Value = serde_json::from_str(&p.body).expect("JSON options");
    assert_eq!(v["publicKey"]["rpId"], "localhost", "{v}");
    assert_eq!(
        v["publicKey"]["allowCredentials"][0]["id"], "D0OnDjoMXbFnxV8OpR4uiL4vaKc2cyhyl3K2K7JatS8",
        "{v}"
    );

    // A forged assertion naming the real credential: refused, the session stays waiting.
    let forged = serde_json::json!({
        "id": "D0OnDjoMXbFnxV8OpR4uiL4vaKc2cyhyl3K2K7JatS8",
        "rawId": "D0OnDjoMXbFnxV8OpR4uiL4vaKc2cyhyl3K2K7JatS8",
        "type": "public-key", "extensions": {},
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "e30", "signature": "AAAA", "userHandle": null}
    })
    .to_string();
    let answer = [("method", "passkey"), ("credential", forged.as_str())];
    let p = post_with_csrf(&b, "/login/factor", &csrf, &answer).await;
    assert_eq!(p.status, 401, "{}", p.summary());
    assert!(
        p.alert()
            .unwrap_or_default()
            .contains("The passkey's answer was not accepted"),
        "{}",
        p.summary()
    );
    b.get("/account")
        .await
        .assert_redirect("/login/factor", "after a refused passkey");
    // Replayed: the ceremony is gone.
    let p = post_with_csrf(&b, "/login/factor", &csrf, &answer).await;
    assert_eq!(p.status, 401, "{}", p.summary());
    assert!(
        p.alert()
            .unwrap_or_default()
            .contains("expired or was already used"),
        "{}",
        p.summary()
    );
    // Garbage: the third failure locks the account.
    post_with_csrf(&b, "/login/factor/passkey", &csrf, &[]).await;
    let p = post_with_csrf(
        &b,
        "/login/factor",
        &csrf,
        &[("method", "passkey"), ("credential", "garbage")],
    )
    .await;
    assert_eq!(p.status, 401, "{}", p.summary());
    post_with_csrf(&b, "/login/factor/passkey", &csrf, &[]).await;
    let p = post_with_csrf(&b, "/login/factor", &csrf, &answer).await;
    assert_eq!(p.status, 401, "{}", p.summary());
    assert!(
        p.alert().unwrap_or_default().contains("Too many"),
        "locked after three failures: {}",
        p.summary()
    );
    let used: Option<i64> = env
        .db()
        .query_row("SELECT last_used_at FROM passkeys", [], |r| r.get(0))
        .expect("the passkey");
    assert_eq!(used, None, "a refused assertion must not count as a use");
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE event = 'logon.second_factor_failed' AND detail = 'passkey'"
        ),
        4
    );

    // The admin's factor reset removes passkeys too.
    env.add_admin("root");
    let admin = srv.browser();
    admin.must_login("root", PASSWORD).await;
    let detail = admin.get(&format!("/admin/accounts/{id}")).await;
    assert!(
        detail.text().contains("Laptop"),
        "the admin sees the passkey: {}",
        detail.text()
    );
    let csrf = detail.csrf().expect("csrf");
    let p = post_with_csrf(
        &admin,
        &format!("/admin/accounts/{id}/otp-reset"),
        &csrf,
        &[],
    )
    .await;
    assert!(p.status == 303 || p.status == 200, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkeys"), 0);
}

#[tokio::test]
async fn forced_binding_offers_passkeys_and_an_ip_public_url_is_explained() {
    // The default public_url is http://127.0.0.1:8080: no relying-party id.
    let env = Env::new();
    settings(
        &env,
        &[("mfa.passkey", "true"), ("mfa.force_binding", "true")],
    );
    env.add_user("sam", &["--display-name", "Sam"]);
    let srv = env.serve();
    let b = srv.browser();
    login_expect(&b, "sam", PASSWORD, "/login/bind").await;
    let p = b.get("/login/bind").await;
    assert!(
        p.body.contains(r#"href="/account/passkeys""#),
        "{}",
        p.text()
    );
    b.get("/account")
        .await
        .assert_redirect("/login/bind", "My Account before binding");
    let p = b.get("/account/passkeys").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        !p.has_input("password"),
        "binding at logon asks no password again"
    );
    assert!(!p.body.contains("/account/passkeys/remove"));
    let csrf = p.csrf().expect("csrf");
    let p = post_with_csrf(&b, "/account/passkeys/options", &csrf, &[("name", "Key")]).await;
    assert_json_error(&p, "must be a domain name");
    let p = post_with_csrf(&b, "/account/passkeys/remove", &csrf, &[("passkey", "1")]).await;
    assert_eq!(p.status, 404, "{}", p.summary());
}

#[tokio::test]
async fn removing_a_passkey_needs_a_recent_logon_and_only_touches_ones_own() {
    let env = Env::new();
    localhost_config(&env);
    settings(&env, &[("mfa.passkey", "true")]);
    env.add_user("tia", &["--display-name", "Tia"]);
    env.add_user("uma", &["--display-name", "Uma"]);
    let db = env.db();
    let id_of = |name: &str| -> i64 {
        db.query_row(
            "SELECT id FROM accounts WHERE account_name = ?1",
            [name],
            |r| r.get(0),
        )
        .expect("account id")
    };
    let (tia, uma) = (id_of("tia"), id_of("uma"));
    for (account, cred_id) in [(tia, "aa"), (uma, "bb")] {
        db.execute(
            "INSERT INTO passkeys (account_id, name, credential_id, credential, created_at) \
             VALUES (?1, 'Key', ?2, ?3, 1)",
            rusqlite::params![account, cred_id, STORED_PASSKEY],
        )
        .expect("insert a passkey");
    }
    let key_of = |account: i64| -> String {
        db.query_row(
            "SELECT id FROM passkeys WHERE account_id = ?1",
            [account],
            |r| r.get::<_, i64>(0),
        )
        .expect("passkey id")
        .to_string()
    };
    let (tia_key, uma_key) = (key_of(tia), key_of(uma));
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("tia", PASSWORD).await;
    let p = b.get("/account/passkeys").await;
    assert!(p.text().contains("Key"), "{}", p.text());
    let csrf = p.csrf().expect("csrf");

    // Someone else's passkey: not found, nothing removed.
    let p = post_with_csrf(
        &b,
        "/account/passkeys/remove",
        &csrf,
        &[("passkey", &uma_key)],
    )
    .await;
    assert_eq!(p.status, 404, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkeys"), 2);

    // An old logon: the password is asked again.
    db.execute(
        "UPDATE sessions SET authenticated_at = authenticated_at - 86400",
        [],
    )
    .expect("backdate the logon");
    let p = b.get("/account/passkeys").await;
    assert!(
        p.has_input("password"),
        "no password field for an old logon"
    );
    let p = post_with_csrf(
        &b,
        "/account/passkeys/remove",
        &csrf,
        &[("passkey", &tia_key), ("password", "not the password")],
    )
    .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert_eq!(count(&env, "SELECT count(*) FROM passkeys"), 2);
    let p = post_with_csrf(
        &b,
        "/account/passkeys/remove",
        &csrf,
        &[("passkey", &tia_key), ("password", PASSWORD)],
    )
    .await;
    p.assert_redirect("/account/passkeys?done=passkey_removed", "removing");
    let p = b.get("/account/passkeys?done=passkey_removed").await;
    assert!(p.text().contains("Passkey removed."), "{}", p.text());
    assert_eq!(count(&env, "SELECT count(*) FROM passkeys"), 1);
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM audit_log WHERE event = 'factor.passkey.remove'"
        ),
        1
    );
}
