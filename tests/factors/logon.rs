//! The second factor by SMS or email at logon, and forced binding.

use serde_json::json;

use super::harness::{
    SmsHook, Smtp, configure, login_expect, other_code, post_with_csrf, recovery_codes, settings,
    six_digit_code,
};
use super::{bind_otp, prompt_csrf};
use crate::support::{Env, PASSWORD};

#[tokio::test]
async fn sms_and_email_codes_are_sent_only_when_the_user_chooses_them() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    let hook = SmsHook::start();
    configure(&env, Some(&smtp), Some(&hook));
    settings(
        &env,
        &[
            ("mfa.required", "true"),
            ("mfa.sms", "true"),
            ("mfa.email", "true"),
        ],
    );
    env.add_user(
        "gina",
        &["--email", "gina@example.com", "--mobile", "13800138002"],
    );
    let srv = env.serve();

    let b = srv.browser();
    login_expect(&b, "gina", PASSWORD, "/login/factor").await;
    let before = b.cookie("lk_session").expect("session cookie");
    // SMS is the strongest bound method; nothing is sent just for looking.
    let p = b.get("/login/factor").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert_eq!(p.input_value("method").as_deref(), Some("sms"));
    assert!(
        p.text()
            .contains("We will send a 6-digit code to +86*******8002"),
        "{}",
        p.text()
    );
    assert!(!p.has_input("code"), "no code field before a code is sent");
    assert!(p.body.contains(r#"action="/login/factor/send""#));
    assert!(p.body.contains("/login/factor?method=email"));
    let p = b.get("/login/factor?method=email").await;
    assert_eq!(p.input_value("method").as_deref(), Some("email"));
    assert!(p.text().contains("g***@example.com"), "{}", p.text());
    assert!(!p.has_input("code"));
    for path in ["/account", "/account/email", "/account/mobile", "/admin"] {
        b.get(path)
            .await
            .assert_redirect("/login/factor", &format!("GET {path} before the factor"));
    }
    assert!(hook.received().is_empty(), "{:?}", hook.received());
    assert!(smtp.mails().is_empty(), "{:?}", smtp.mails());

    // Choosing SMS sends one.
    let csrf = prompt_csrf(&b).await;
    let r = post_with_csrf(&b, "/login/factor/send", &csrf, &[("method", "sms")]).await;
    r.assert_redirect("/login/factor?method=sms", "send SMS");
    let sms = hook.wait_for("+8613800138002", 1).await;
    let code = six_digit_code(&sms.text);
    assert!(smtp.mails().is_empty(), "no email for an SMS choice");
    let p = b.get("/login/factor?method=sms").await;
    assert!(p.has_input("code"), "{}", p.summary());
    assert!(
        p.text()
            .contains("We sent a 6-digit code to +86*******8002"),
        "{}",
        p.text()
    );

    let r = post_with_csrf(
        &b,
        "/login/factor",
        &csrf,
        &[("method", "sms"), ("code", &other_code(&code))],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
    assert_eq!(
        r.field_error("code").as_deref(),
        Some("This code is not right.")
    );
    let r = post_with_csrf(
        &b,
        "/login/factor",
        &csrf,
        &[("method", "sms"), ("code", &code)],
    )
    .await;
    r.assert_redirect("/account", "the SMS code");
    assert_ne!(
        b.cookie("lk_session").expect("cookie"),
        before,
        "cookie rotated"
    );
    assert!(b.logged_on().await);

    // Another logon, by email this time.
    let b2 = srv.browser();
    login_expect(&b2, "gina", PASSWORD, "/login/factor").await;
    let csrf2 = prompt_csrf(&b2).await;
    let r = post_with_csrf(&b2, "/login/factor/send", &csrf2, &[("method", "email")]).await;
    r.assert_redirect("/login/factor?method=email", "send email");
    let mail = smtp.wait_for("gina@example.com", 1).await;
    assert_eq!(mail.subject, "Your Latchkey code");
    let code = mail.code();
    // Asking again at once is throttled; nothing more is sent.
    let r = post_with_csrf(&b2, "/login/factor/send", &csrf2, &[("method", "email")]).await;
    assert_eq!(r.status, 400, "{}", r.summary());
    assert!(r.text().contains("Wait a minute"), "{}", r.text());
    assert_eq!(smtp.mails().len(), 1);
    // The first browser's used SMS code is no use here.
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf2,
        &[("method", "email"), ("code", &other_code(&code))],
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.summary());
    let r = post_with_csrf(
        &b2,
        "/login/factor",
        &csrf2,
        &[("method", "email"), ("code", &code)],
    )
    .await;
    r.assert_redirect("/account", "the email code");
    assert!(b2.logged_on().await);
    assert_eq!(hook.received().len(), 1, "one SMS in all");
}

#[tokio::test]
async fn forced_binding_keeps_the_user_on_the_bind_page_until_otp_is_bound() {
    let env = Env::new();
    // The age gate is on (1 day), but an account created today is young even after a
    // first logon. (An old account's refusal: the next test.)
    settings(
        &env,
        &[
            ("mfa.otp", "true"),
            ("mfa.force_binding", "true"),
            ("mfa.force_binding_max_age_days", "1"),
        ],
    );
    env.add_user("hana", &[]);
    let srv = env.serve();
    // First logon ever.
    login_expect(&srv.browser(), "hana", PASSWORD, "/login/bind").await;
    // Logged on before, still young: may bind.
    let b = srv.browser();
    login_expect(&b, "hana", PASSWORD, "/login/bind").await;
    let before = b.cookie("lk_session").expect("cookie");

    for path in [
        "/account",
        "/account/password",
        "/admin",
        "/login/factor",
        "/account?done=otp",
    ] {
        b.get(path)
            .await
            .assert_redirect("/login/bind", &format!("GET {path} while binding is due"));
    }
    let p = b.get("/login/bind").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(p.body.contains(r#"href="/account/otp""#), "OTP is offered");
    assert!(
        !p.body.contains(r#"href="/account/email""#),
        "email is not enabled"
    );
    assert!(
        !p.body.contains(r#"href="/account/mobile""#),
        "SMS is not enabled"
    );

    let otp_page = b.get("/account/otp").await;
    assert_eq!(otp_page.status, 200, "{}", otp_page.summary());
    assert!(
        !otp_page.has_input("password"),
        "no password asked right after logon"
    );
    let csrf = otp_page.csrf().expect("csrf");
    // Other forms are out of reach too.
    let r = post_with_csrf(
        &b,
        "/account/profile",
        &csrf,
        &[("account_name", "hijacked"), ("display_name", "x")],
    )
    .await;
    r.assert_redirect("/login/bind", "POST /account/profile while binding is due");
    assert_eq!(env.show("hana")["account_name"], json!("hana"));

    let bound = bind_otp(&b).await;
    assert_eq!(bound.page.status, 200, "{}", bound.page.summary());
    assert_eq!(recovery_codes(&bound.page).len(), 10);
    assert!(bound.page.body.contains(r#"href="/account""#));
    let after = b.cookie("lk_session").expect("cookie");
    assert_ne!(before, after, "the cookie changes once a factor is bound");
    let p = b.get("/account").await;
    assert_eq!(p.status, 200, "My Account after binding: {}", p.summary());
    assert_eq!(env.show("hana")["factors"], json!(["otp"]));
}

#[tokio::test]
async fn forced_binding_sends_an_old_account_that_logged_on_before_to_an_administrator() {
    let env = Env::new();
    settings(
        &env,
        &[
            ("mfa.otp", "true"),
            ("mfa.force_binding", "true"),
            ("mfa.force_binding_max_age_days", "1"),
        ],
    );
    env.add_user("ivan", &[]);
    let srv = env.serve();
    // Three days old, never logged on: the first logon may still bind.
    let backdate = |secs: i64| {
        env.db()
            .execute(
                "UPDATE accounts SET created_at = created_at - ?1 WHERE account_name = 'ivan'",
                [secs],
            )
            .expect("backdate ivan");
    };
    backdate(3 * 86_400);
    login_expect(&srv.browser(), "ivan", PASSWORD, "/login/bind").await;

    // Logged on before and older than a day: a stolen password must not enrol the
    // thief's authenticator. Refused, sent to an administrator, no session.
    let b = srv.browser();
    let p = b.login("ivan", PASSWORD).await;
    assert_ne!(p.status, 303, "an old account was let in: {}", p.summary());
    assert!(
        p.text()
            .contains("Your account needs a second factor. Ask your administrator to set one up."),
        "{}",
        p.summary()
    );
    assert!(!b.logged_on().await);
    assert_eq!(b.get("/login/bind").await.status, 303);
    let refused: i64 = env
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE event = 'logon.refused'",
            [],
            |r| r.get(0),
        )
        .expect("count refusals");
    assert_eq!(refused, 1, "the refusal is audited");

    // Back to an hour old: young enough again.
    backdate(3_600 - 3 * 86_400);
    login_expect(&b, "ivan", PASSWORD, "/login/bind").await;
}

#[tokio::test]
async fn forced_binding_by_email_without_an_age_gate() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    // mfa.force_binding_max_age_days stays 0: any account may bind at logon.
    settings(
        &env,
        &[("mfa.email", "true"), ("mfa.force_binding", "true")],
    );
    env.add_user("iris", &[]);
    let srv = env.serve();
    let b = srv.browser();
    login_expect(&b, "iris", PASSWORD, "/login/bind").await;
    let before = b.cookie("lk_session").expect("cookie");
    let p = b.get("/login/bind").await;
    assert!(
        p.body.contains(r#"href="/account/email""#),
        "{}",
        p.summary()
    );
    assert!(!p.body.contains(r#"href="/account/otp""#));

    let p = b.get("/account/email").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(!p.has_input("password"));
    let csrf = p.csrf().expect("csrf");
    let r = post_with_csrf(
        &b,
        "/account/email",
        &csrf,
        &[("email", "iris@example.com")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.summary());
    let code = smtp.wait_for("iris@example.com", 1).await.code();
    b.get("/account")
        .await
        .assert_redirect("/login/bind", "not bound yet");
    let r = post_with_csrf(&b, "/account/email/confirm", &csrf, &[("code", &code)]).await;
    assert_eq!(
        r.status,
        200,
        "recovery codes after the first factor: {}",
        r.summary()
    );
    assert_eq!(recovery_codes(&r).len(), 10);
    assert_ne!(b.cookie("lk_session").expect("cookie"), before);
    assert_eq!(b.get("/account").await.status, 200);
    let shown = env.show("iris");
    assert_eq!(shown["email"], json!("iris@example.com"));
    assert_eq!(shown["factors"], json!(["email"]));
}

#[tokio::test]
async fn forced_binding_is_not_satisfied_by_an_address_that_is_no_factor() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    // Only OTP is a second factor; email can be bound but is not one.
    settings(&env, &[("mfa.otp", "true"), ("mfa.force_binding", "true")]);
    env.add_user("jill", &[]);
    let srv = env.serve();
    let b = srv.browser();
    login_expect(&b, "jill", PASSWORD, "/login/bind").await;
    // The binding page offers only what counts, and the email page is closed while
    // binding is forced (binding an address that is no factor would not help).
    let p = b.get("/login/bind").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(p.text().contains("Authenticator app"), "{}", p.summary());
    assert!(!p.text().contains("Email code"), "{}", p.summary());
    b.get("/account/email")
        .await
        .assert_redirect("/login/bind", "email page while only OTP counts");
    let csrf = p.csrf().or_else(|| b.cookie("lk_csrf"));
    if let Some(csrf) = csrf {
        let r = post_with_csrf(
            &b,
            "/account/email",
            &csrf,
            &[("email", "jill@example.com")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.summary());
    }
    assert!(
        smtp.mails_to("jill@example.com").is_empty(),
        "no code may be sent for an address that is no factor"
    );
    b.get("/account")
        .await
        .assert_redirect("/login/bind", "My Account with no usable second factor");
}
