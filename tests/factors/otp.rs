//! The OTP authenticator, recovery codes, and the second factor at logon.

use std::collections::BTreeSet;

use serde_json::json;

use super::harness::{
    login_expect, otp_secret, otp_uri, post_from, post_with_csrf, recovery_codes, settings,
};
use super::totp::{base32_decode, code_for_step, current_step, fresh_step, wrong_code};
use super::{bind_otp, prompt_csrf};
use crate::support::{Env, PASSWORD};

fn assert_recovery_codes(codes: &[String]) {
    assert_eq!(codes.len(), 10, "ten recovery codes: {codes:?}");
    let unique: BTreeSet<&String> = codes.iter().collect();
    assert_eq!(unique.len(), 10, "all different: {codes:?}");
    let re = regex::Regex::new(r"^[a-z2-9]{5}-[a-z2-9]{5}$").unwrap();
    for c in codes {
        assert!(re.is_match(c), "recovery code {c:?}");
    }
}

#[tokio::test]
async fn otp_binding_recovery_codes_and_logon_without_replay() {
    let env = Env::new();
    settings(&env, &[("mfa.otp", "true"), ("mfa.required", "true")]);
    env.add_user("erin", &[]);
    let srv = env.serve();
    let b = srv.browser();
    // No factor bound yet: mfa.required lets the password through alone.
    b.must_login("erin", PASSWORD).await;

    // The setup page: secret, otpauth:// URI as text, QR image, a code input.
    let p = b.get("/account/otp").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let secret = otp_secret(&p);
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "base32 secret: {secret:?}"
    );
    let key = base32_decode(&secret);
    assert!(
        key.len() >= 16,
        "at least 128 bits of secret, got {}",
        key.len()
    );
    let uri = otp_uri(&p);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let parsed = url::Url::parse(&uri).expect("the URI parses");
    let q: std::collections::HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q.get("secret"), Some(&secret), "{uri}");
    assert_eq!(
        q.get("issuer").map(String::as_str),
        Some("Latchkey"),
        "{uri}"
    );
    assert!(uri.contains("erin"), "the label names the account: {uri}");
    let img = regex::Regex::new(r#"<img\b[^>]*\bsrc="data:image/[^"]+""#).unwrap();
    assert!(img.is_match(&p.body), "a QR <img> is shown");
    assert!(p.has_input("code"));
    assert!(p.body.contains(r#"autocomplete="one-time-code""#));
    // Reused until confirmed.
    assert_eq!(otp_secret(&b.get("/account/otp").await), secret);

    // Wrong first codes are refused: a made-up one, and those two steps (60 s) away,
    // outside the ±1 step window. Nothing is bound.
    let csrf = p.csrf().expect("csrf");
    let now = fresh_step().await;
    for (what, code) in [
        ("made up", wrong_code(&key, now)),
        ("two steps back", code_for_step(&key, now - 2)),
        ("two steps ahead", code_for_step(&key, now + 2)),
    ] {
        let r = post_with_csrf(&b, "/account/otp/confirm", &csrf, &[("code", &code)]).await;
        assert_eq!(r.status, 400, "{what}: {}", r.summary());
        assert_eq!(
            r.field_error("code").as_deref(),
            Some("This code is not right.")
        );
        assert_eq!(otp_secret(&r), secret, "the same secret is offered again");
    }
    assert_eq!(env.show("erin")["factors"], json!([]));

    // The previous step's code (within the window) binds it and shows ten recovery
    // codes, once.
    let now = fresh_step().await;
    let step = now - 1;
    let r = post_with_csrf(
        &b,
        "/account/otp/confirm",
        &csrf,
        &[("code", &code_for_step(&key, step))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let codes = recovery_codes(&r);
    assert_recovery_codes(&codes);
    assert!(
        r.body.contains(r#"href="/account""#),
        "a way on to My Account"
    );
    let shown = env.show("erin");
    assert_eq!(shown["factors"], json!(["otp"]));
    assert_eq!(shown["recovery_codes"], json!(10));
    let account = b.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text().contains("10 unused"), "{}", account.text());
    let otp_page = b.get("/account/otp").await;
    assert!(otp_page.text().contains("An authenticator app is bound"));
    assert!(
        !otp_page.body.contains(r#"class="secret""#),
        "the secret is not shown again"
    );
    for c in &codes {
        assert!(!account.body.contains(c.as_str()) && !otp_page.body.contains(c.as_str()));
    }

    // Logon now asks for the second factor; My Account waits for it.
    let b2 = srv.browser();
    login_expect(&b2, "erin", PASSWORD, "/login/factor").await;
    let pending_cookie = b2.cookie("lk_session").expect("a session cookie");
    b2.get("/account")
        .await
        .assert_redirect("/login/factor", "My Account before the factor");
    b2.get("/account/otp")
        .await
        .assert_redirect("/login/factor", "OTP page before the factor");
    let prompt = b2.get("/login/factor").await;
    assert_eq!(prompt.status, 200);
    assert_eq!(
        prompt.input_value("method").as_deref(),
        Some("otp"),
        "OTP first"
    );
    assert!(prompt.text().contains("Code from your authenticator app"));
    assert!(prompt.body.contains("/login/factor?method=recovery"));
    let csrf2 = prompt.csrf().expect("csrf");

    // The code that bound the app was spent: replay refused.
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf2,
        &[("method", "otp"), ("code", &code_for_step(&key, step))],
    )
    .await;
    assert_eq!(r.status, 401, "replayed binding code: {}", r.summary());
    assert_eq!(
        r.field_error("code").as_deref(),
        Some("This code is not right.")
    );
    b2.get("/account")
        .await
        .assert_redirect("/login/factor", "still pending");

    // The next step's code (within the ±1 window) passes, with a new session cookie.
    let next = code_for_step(&key, now + 1);
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf2,
        &[("method", "otp"), ("code", &next)],
    )
    .await;
    r.assert_redirect("/account", "a fresh OTP code");
    let passed_cookie = b2.cookie("lk_session").expect("a session cookie");
    assert_ne!(
        pending_cookie, passed_cookie,
        "the cookie changes when the factor passes"
    );
    assert!(b2.logged_on().await);
    let stale = srv.browser();
    stale.set_cookie("lk_session", &pending_cookie);
    assert!(!stale.logged_on().await, "the pre-factor cookie is dead");

    // The same code again, in another logon: replay refused. A recovery code works.
    let b3 = srv.browser();
    login_expect(&b3, "erin", PASSWORD, "/login/factor").await;
    let csrf3 = prompt_csrf(&b3).await;
    let r = post_with_csrf(
        &b3,
        "/login/factor",
        &csrf3,
        &[("method", "otp"), ("code", &next)],
    )
    .await;
    assert_eq!(r.status, 401, "replayed code: {}", r.summary());
    let rp = b3.get("/login/factor?method=recovery").await;
    assert_eq!(rp.input_value("method").as_deref(), Some("recovery"));
    assert!(rp.text().contains("One of your recovery codes"));
    let r = post_with_csrf(
        &b3,
        "/login/factor",
        &csrf3,
        &[("method", "recovery"), ("code", &codes[0])],
    )
    .await;
    r.assert_redirect("/account", "a recovery code");
    assert_eq!(env.show("erin")["recovery_codes"], json!(9));

    // Each recovery code works once.
    let b4 = srv.browser();
    login_expect(&b4, "erin", PASSWORD, "/login/factor").await;
    let csrf4 = prompt_csrf(&b4).await;
    let r = post_with_csrf(
        &b4,
        "/login/factor",
        &csrf4,
        &[("method", "recovery"), ("code", &codes[0])],
    )
    .await;
    assert_eq!(r.status, 401, "a used recovery code: {}", r.summary());
    let r = post_with_csrf(
        &b4,
        "/login/factor",
        &csrf4,
        &[("method", "recovery"), ("code", &codes[1])],
    )
    .await;
    r.assert_redirect("/account", "another recovery code");

    // New codes replace the old ones.
    let r = b4.submit("/account/recovery", &[]).await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let fresh = recovery_codes(&r);
    assert_recovery_codes(&fresh);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    assert_eq!(env.show("erin")["recovery_codes"], json!(10));
    let b5 = srv.browser();
    login_expect(&b5, "erin", PASSWORD, "/login/factor").await;
    let csrf5 = prompt_csrf(&b5).await;
    let r = post_with_csrf(
        &b5,
        "/login/factor",
        &csrf5,
        &[("method", "recovery"), ("code", &codes[2])],
    )
    .await;
    assert_eq!(
        r.status,
        401,
        "an old unused code after regeneration: {}",
        r.summary()
    );
    let r = post_with_csrf(
        &b5,
        "/login/factor",
        &csrf5,
        &[("method", "recovery"), ("code", &fresh[0])],
    )
    .await;
    r.assert_redirect("/account", "a new recovery code");

    // Unbinding: a spent code is no proof; the password is.
    let r = post_from(
        &b5,
        "/account/otp",
        "/account/otp/unbind",
        &[("code", &next), ("password", "")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.summary());
    assert!(
        r.text()
            .contains("Enter a current code from your app, or your password."),
        "{}",
        r.text()
    );
    assert_eq!(env.show("erin")["factors"], json!(["otp"]));
    let r = post_from(
        &b5,
        "/account/otp",
        "/account/otp/unbind",
        &[("code", ""), ("password", PASSWORD)],
    )
    .await;
    r.assert_redirect("/account?done=otp_removed", "unbind with the password");
    assert_eq!(env.show("erin")["factors"], json!([]));
    // With no factor left the password alone logs on again.
    srv.browser().must_login("erin", PASSWORD).await;
}

#[tokio::test]
async fn wrong_second_factor_codes_lock_the_account() {
    let env = Env::new();
    settings(
        &env,
        &[
            ("mfa.otp", "true"),
            ("mfa.required", "true"),
            ("lockout.max_failures", "3"),
        ],
    );
    env.add_user("frank", &[]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("frank", PASSWORD).await;
    let bound = bind_otp(&b).await;
    assert_eq!(bound.page.status, 200, "{}", bound.page.summary());
    let codes = recovery_codes(&bound.page);
    assert_eq!(codes.len(), 10);

    let b2 = srv.browser();
    login_expect(&b2, "frank", PASSWORD, "/login/factor").await;
    let csrf = prompt_csrf(&b2).await;
    let wrong = wrong_code(&bound.key, current_step());
    for i in 1..=3 {
        let r = post_with_csrf(
            &b2,
            "/login/factor",
            &csrf,
            &[("method", "otp"), ("code", &wrong)],
        )
        .await;
        assert_eq!(r.status, 401, "wrong code #{i}: {}", r.summary());
        assert_eq!(
            r.field_error("code").as_deref(),
            Some("This code is not right.")
        );
    }
    // Locked: even the right code and a recovery code are refused now.
    let right = code_for_step(&bound.key, bound.step + 1);
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf,
        &[("method", "otp"), ("code", &right)],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
    assert_eq!(
        r.field_error("code").as_deref(),
        Some("Too many wrong attempts. Try again later."),
        "{}",
        r.summary()
    );
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf,
        &[("method", "recovery"), ("code", &codes[0])],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
    b2.get("/account")
        .await
        .assert_redirect("/login/factor", "locked and pending");
    assert_eq!(
        env.show("frank")["recovery_codes"],
        json!(10),
        "no recovery code was spent"
    );

    // The password alone does not get in either while locked.
    let b3 = srv.browser();
    let p = b3.login("frank", PASSWORD).await;
    assert_eq!(p.status, 401, "{}", p.summary());
}
