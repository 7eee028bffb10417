//! Binding an email address or mobile number with a code sent to it.

use serde_json::json;

use super::harness::{
    SmsHook, Smtp, configure, mobile_input_name, other_code, six_digit_code, submit_mobile,
};
use crate::support::{Env, PASSWORD};

#[tokio::test]
async fn email_is_bound_only_by_the_code_that_arrived_and_the_old_address_is_told() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    env.add_user("alice", &["--email", "old@example.com"]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("alice", PASSWORD).await;

    let p = b.get("/account/email").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(p.text().contains("old@example.com"), "{}", p.text());
    assert!(p.has_input("email"));
    assert!(
        p.body.contains(r#"autocomplete="email""#),
        "the address input carries autocomplete=email"
    );

    // Step 1: the address; a code goes to it (normalised: trimmed, lower case).
    let p = b
        .submit("/account/email", &[("email", " New@Example.COM ")])
        .await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(p.has_input("code"), "the confirmation form follows");
    assert!(
        p.body.contains(r#"autocomplete="one-time-code""#),
        "the code input carries autocomplete=one-time-code"
    );
    assert!(
        p.text().contains("n***@example.com"),
        "the page names the masked address: {}",
        p.text()
    );
    let mail = smtp.wait_for("new@example.com", 1).await;
    assert_eq!(mail.subject, "Your Latchkey code");
    assert!(
        mail.from.contains("Latchkey"),
        "the default sender: {mail:?}"
    );
    let code = six_digit_code(&mail.body);
    assert!(
        mail.body.contains(&format!("Your code is {code}")),
        "the code appears as 6 digits in the message: {:?}",
        mail.body
    );
    assert_eq!(
        env.show("alice")["email"],
        json!("old@example.com"),
        "nothing is bound before the code"
    );

    // Asking again at once is throttled (60 s per purpose per browser)…
    let p = b
        .submit("/account/email", &[("email", "other@example.com")])
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text().contains("Wait a minute"),
        "resend is throttled: {}",
        p.text()
    );
    assert!(smtp.mails_to("other@example.com").is_empty());
    // …and the pending confirmation is still offered.
    let p = b.get("/account/email").await;
    assert!(p.has_input("code"), "{}", p.summary());

    // A wrong code is refused and leaves the confirmation form usable.
    let p = b
        .submit("/account/email/confirm", &[("code", &other_code(&code))])
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert_eq!(
        p.field_error("code").as_deref(),
        Some("This code is not right."),
        "{}",
        p.summary()
    );
    assert!(
        p.has_input("code"),
        "the confirmation form stays after a wrong code"
    );
    assert_eq!(env.show("alice")["email"], json!("old@example.com"));

    // The right code binds the address.
    let p = b.submit("/account/email/confirm", &[("code", &code)]).await;
    p.assert_redirect("/account?done=email", "the right code");
    assert_eq!(env.show("alice")["email"], json!("new@example.com"));
    let p = b.get("/account?done=email").await;
    assert!(p.text().contains("Your email address is bound."));
    assert!(p.text().contains("new@example.com"));

    // The same address again is no change.
    let p = b
        .submit("/account/email", &[("email", "new@example.com")])
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text().contains("This is already your address."),
        "{}",
        p.text()
    );

    // Single use.
    let p = b.submit("/account/email/confirm", &[("code", &code)]).await;
    assert_eq!(p.status, 400, "a used code is gone: {}", p.summary());

    // The old address is told, without the new one in full.
    let notice = smtp.wait_for("old@example.com", 1).await;
    assert_eq!(notice.subject, "Your Latchkey address was changed");
    assert!(
        notice.body.contains("n***@example.com"),
        "{:?}",
        notice.body
    );
    assert!(
        !notice.body.contains("new@example.com"),
        "{:?}",
        notice.body
    );
    assert_eq!(
        smtp.mails().len(),
        2,
        "one code and one notice: {:#?}",
        smtp.mails()
    );

    // The verified address now logs on; the old one no longer does.
    let b2 = srv.browser();
    b2.must_login("NEW@example.com", PASSWORD).await;
    let b3 = srv.browser();
    let p = b3.login("old@example.com", PASSWORD).await;
    assert_eq!(p.status, 401, "{}", p.summary());
}

#[tokio::test]
async fn a_code_dies_after_ten_minutes_and_a_new_one_can_be_asked_for() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    env.add_user("alice", &[]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("alice", PASSWORD).await;
    let p = b
        .submit("/account/email", &[("email", "new@example.com")])
        .await;
    assert!(p.has_input("code"), "{}", p.summary());
    let code = six_digit_code(&smtp.wait_for("new@example.com", 1).await.body);

    // Ten minutes and a second pass (the row is made older; waiting would take ten minutes).
    let aged = env
        .db()
        .execute(
            "UPDATE codes SET created_at = created_at - 601, expires_at = expires_at - 601",
            [],
        )
        .expect("age the code");
    assert_eq!(aged, 1, "one code was waiting");
    let p = b.submit("/account/email/confirm", &[("code", &code)]).await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text()
            .contains("This code has expired. Ask for a new one."),
        "{}",
        p.text()
    );
    assert_eq!(
        env.show("alice")["email"],
        json!(null),
        "an expired code bound the address"
    );

    // A new code (the minute between sends has passed) binds it.
    let p = b
        .submit("/account/email", &[("email", "new@example.com")])
        .await;
    assert!(p.has_input("code"), "{}", p.summary());
    let fresh = six_digit_code(&smtp.wait_for("new@example.com", 2).await.body);
    let p = b
        .submit("/account/email/confirm", &[("code", &fresh)])
        .await;
    assert_eq!(p.status, 303, "{}", p.summary());
    assert_eq!(env.show("alice")["email"], json!("new@example.com"));
}

#[tokio::test]
async fn mobile_is_bound_by_sms_in_e164_and_taken_addresses_are_refused() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    let hook = SmsHook::start();
    configure(&env, Some(&smtp), Some(&hook));
    env.add_user("bob", &[]);
    env.add_user(
        "carol",
        &["--email", "carol@example.com", "--mobile", "13800138001"],
    );
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("bob", PASSWORD).await;

    let p = b.get("/account/mobile").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        mobile_input_name(&p).is_some(),
        "a tel input: {}",
        p.summary()
    );

    // Addresses verified on another account are refused, without saying whose, and
    // nothing is sent.
    let p = submit_mobile(&b, "+86 138 0013 8001").await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text().contains("already bound to another account"),
        "{}",
        p.text()
    );
    assert!(!p.text().to_lowercase().contains("carol"), "{}", p.text());
    let p = b
        .submit("/account/email", &[("email", "Carol@Example.com")])
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text().contains("already bound to another account"),
        "{}",
        p.text()
    );
    assert!(!p.text().to_lowercase().contains("carol"), "{}", p.text());
    assert!(hook.received().is_empty(), "{:?}", hook.received());
    assert!(smtp.mails().is_empty());

    // A number without country code is read in the default region (CN) and sent as E.164.
    let p = submit_mobile(&b, "138 0013 8000").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(p.text().contains("+86*******8000"), "{}", p.text());
    let sms = hook.wait_for("+8613800138000", 1).await;
    assert!(sms.content_type.starts_with("application/json"), "{sms:?}");
    let code = six_digit_code(&sms.text);
    assert!(sms.text.contains(&code));
    assert_eq!(env.show("bob")["mobile"], json!(null));

    let p = b
        .submit("/account/mobile/confirm", &[("code", &code)])
        .await;
    p.assert_redirect("/account?done=sms", "the right SMS code");
    assert_eq!(env.show("bob")["mobile"], json!("+8613800138000"));
    // bob had no mobile before: no notice goes anywhere.
    assert_eq!(hook.received().len(), 1, "{:?}", hook.received());

    // The verified mobile logs on, typed either way.
    let b2 = srv.browser();
    b2.must_login("13800138000", PASSWORD).await;
    let b3 = srv.browser();
    b3.must_login("+8613800138000", PASSWORD).await;
}

#[tokio::test]
async fn changing_the_mobile_sends_a_notice_to_the_old_number_and_codes_die_after_five_tries() {
    let env = Env::new();
    let hook = SmsHook::start();
    configure(&env, None, Some(&hook));
    // Five wrong codes must kill the code before the account lockout steps in.
    env.set("lockout.max_failures", "20");
    env.add_user("dora", &["--mobile", "13800138005"]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("dora", PASSWORD).await;

    let p = submit_mobile(&b, "13800138006").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let code = six_digit_code(&hook.wait_for("+8613800138006", 1).await.text);
    for i in 1..=5 {
        let p = b
            .submit("/account/mobile/confirm", &[("code", &other_code(&code))])
            .await;
        assert_eq!(p.status, 400, "wrong code #{i}: {}", p.summary());
    }
    let p = b
        .submit("/account/mobile/confirm", &[("code", &code)])
        .await;
    assert_eq!(
        p.status,
        400,
        "after five wrong tries the code is dead: {}",
        p.summary()
    );
    assert_eq!(env.show("dora")["mobile"], json!("+8613800138005"));
    assert!(hook.received_for("+8613800138005").is_empty());
    assert!(
        mobile_input_name(&p).is_some(),
        "with the code dead, the page asks for the number again: {}",
        p.summary()
    );

    // A second browser (its own throttle) binds the new number; the old one is told.
    let b2 = srv.browser();
    b2.must_login("dora", PASSWORD).await;
    let p = submit_mobile(&b2, "13800138006").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let code = six_digit_code(&hook.wait_for("+8613800138006", 2).await.text);
    let p = b2
        .submit("/account/mobile/confirm", &[("code", &code)])
        .await;
    p.assert_redirect("/account?done=sms", "the right SMS code");
    assert_eq!(env.show("dora")["mobile"], json!("+8613800138006"));
    let notice = hook.wait_for("+8613800138005", 1).await;
    assert!(
        notice.text.contains("+86*******8006"),
        "the old number is told (masked new one): {notice:?}"
    );
    assert!(!notice.text.contains("+8613800138006"), "{notice:?}");
}

#[tokio::test]
async fn unconfigured_channels_say_so_and_otp_is_off_by_default() {
    let env = Env::new();
    env.add_admin("root");
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("root", PASSWORD).await;

    let p = b.get("/account/email").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        p.text()
            .contains("This portal cannot send email (no mail server is configured)"),
        "{}",
        p.text()
    );
    assert!(!p.has_input("email"), "no form that cannot work");
    let p = b.get("/account/mobile").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert!(
        p.text()
            .contains("This portal cannot send SMS (no SMS gateway is configured)"),
        "{}",
        p.text()
    );
    assert!(mobile_input_name(&p).is_none());
    // Posting anyway changes nothing and still says why.
    let p = b
        .submit("/account/email", &[("email", "root@example.com")])
        .await;
    assert!(p.text().contains("cannot send email"), "{}", p.text());
    assert_eq!(env.show("root")["email"], json!(null));

    let p = b.get("/admin/deliveries").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert_eq!(
        p.text()
            .matches("Not configured: codes cannot be sent")
            .count(),
        2,
        "{}",
        p.text()
    );

    // mfa.otp is false by default: the OTP pages do not exist.
    assert_eq!(b.get("/account/otp").await.status, 404);
    let p = b
        .submit("/account/otp/confirm", &[("code", "123456")])
        .await;
    assert_eq!(p.status, 404);
}

#[tokio::test]
async fn a_failing_sms_gateway_is_reported_to_the_user_and_a_retry_is_not_throttled() {
    let env = Env::new();
    let hook = SmsHook::start();
    configure(&env, None, Some(&hook));
    env.add_user("dave", &[]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("dave", PASSWORD).await;

    hook.set_failing(true);
    let p = submit_mobile(&b, "13800138004").await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.text()
            .contains("The code could not be sent. Try again later."),
        "{}",
        p.text()
    );
    assert_eq!(
        p.input_value(&mobile_input_name(&p).expect("the form again"))
            .as_deref(),
        Some("13800138004"),
        "the number is kept in the form"
    );
    let got = hook.received_for("+8613800138004");
    assert_eq!(got.len(), 1, "the gateway was called: {got:?}");
    assert_eq!(got[0].answered, 500);
    // No confirmation form for a code that never arrived.
    let p = b.get("/account/mobile").await;
    assert!(!p.has_input("code"), "{}", p.summary());

    hook.set_failing(false);
    let p = submit_mobile(&b, "13800138004").await;
    assert_eq!(
        p.status,
        200,
        "a retry right away is allowed: {}",
        p.summary()
    );
    let code = six_digit_code(&hook.wait_for("+8613800138004", 2).await.text);
    let p = b
        .submit("/account/mobile/confirm", &[("code", &code)])
        .await;
    p.assert_redirect("/account?done=sms", "the right SMS code");
    assert_eq!(env.show("dave")["mobile"], json!("+8613800138004"));
}

/// The issue's contract: `POST /account/mobile` takes the number in a field `mobile`.
#[tokio::test]
async fn mobile_form_field_is_named_mobile() {
    let env = Env::new();
    let hook = SmsHook::start();
    configure(&env, None, Some(&hook));
    env.add_user("milo", &[]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("milo", PASSWORD).await;
    let p = b.get("/account/mobile").await;
    assert!(
        p.has_input("mobile"),
        "an input named mobile: {}",
        p.summary()
    );
    let p = b
        .submit("/account/mobile", &[("mobile", "13800138009")])
        .await;
    assert_eq!(p.status, 200, "{}", p.summary());
    hook.wait_for("+8613800138009", 1).await;
}
