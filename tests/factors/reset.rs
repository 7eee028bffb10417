//! The forgotten-password flow.

use super::harness::{SmsHook, Smtp, configure, other_code, six_digit_code};
use crate::support::{Env, PASSWORD, PASSWORD2, set_cookie_header};

#[tokio::test]
async fn reset_by_email_reveals_nothing_enforces_the_policy_and_ends_every_session() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    env.add_user("ivan", &["--email", "ivan@example.com"]);
    let srv = env.serve();
    // A session that the reset must end.
    let old = srv.browser();
    old.must_login("ivan", PASSWORD).await;

    let stranger = srv.browser();
    let form = stranger.get("/password/reset").await;
    assert_eq!(form.status, 200, "{}", form.summary());
    assert!(form.has_input("identifier"));
    let unknown = stranger
        .submit("/password/reset", &[("identifier", "nobody@example.com")])
        .await;
    let user = srv.browser();
    let known = user
        .submit("/password/reset", &[("identifier", "ivan@example.com")])
        .await;
    // Same status, same words, same cookie (but its value) either way.
    assert_eq!(unknown.status, 200, "{}", unknown.summary());
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.text(), unknown.text(), "the pages must not differ");
    let cookie_shape = |p: &crate::support::Page| {
        let c = set_cookie_header(p, "lk_reset").expect("an lk_reset cookie");
        c.split(';')
            .skip(1)
            .map(str::trim)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(cookie_shape(&known), cookie_shape(&unknown));
    assert!(known.has_input("code") && known.has_input("new_password"));
    assert!(known.has_input("new_password_confirm"));

    let mail = smtp.wait_for("ivan@example.com", 1).await;
    let code = six_digit_code(&mail.body);
    assert_eq!(smtp.mails().len(), 1, "nothing for the unknown identifier");

    // The code is bound to the browser that asked for it.
    let p = stranger
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", PASSWORD2),
                ("new_password_confirm", PASSWORD2),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "another browser's code: {}", p.summary());
    assert_eq!(
        p.field_error("code").as_deref(),
        Some("The code is not right or has expired.")
    );

    // A wrong code.
    let p = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &other_code(&code)),
                ("new_password", PASSWORD2),
                ("new_password_confirm", PASSWORD2),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert_eq!(
        p.field_error("code").as_deref(),
        Some("The code is not right or has expired.")
    );
    // The policy applies: too short…
    let p = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", "short1"),
                ("new_password_confirm", "short1"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(p.field_error("new_password").is_some(), "{}", p.summary());
    // …containing the account name…
    let with_name = "ivan kettle orbit 42 zz";
    let p = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", with_name),
                ("new_password_confirm", with_name),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(p.field_error("new_password").is_some(), "{}", p.summary());
    // …and the confirmation must match.
    let p = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", PASSWORD2),
                ("new_password_confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(old.logged_on().await, "nothing changed so far");

    // The refusals did not spend the code.
    let p = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", PASSWORD2),
                ("new_password_confirm", PASSWORD2),
            ],
        )
        .await;
    p.assert_redirect("/login?done=reset_done", "the reset");
    assert!(!old.logged_on().await, "every session of the account ended");
    let again = user
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", PASSWORD),
                ("new_password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        400,
        "the code is single use: {}",
        again.summary()
    );

    let p = srv.browser().login("ivan", PASSWORD).await;
    assert_eq!(p.status, 401, "the old password is gone: {}", p.summary());
    srv.browser()
        .must_login("ivan@example.com", PASSWORD2)
        .await;
}

#[tokio::test]
async fn reset_by_mobile_sends_the_code_by_sms() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    let hook = SmsHook::start();
    configure(&env, Some(&smtp), Some(&hook));
    env.add_user(
        "jack",
        &["--email", "jack@example.com", "--mobile", "13800138003"],
    );
    let srv = env.serve();

    let b = srv.browser();
    let p = b
        .submit("/password/reset", &[("identifier", "+86 138-0013-8003")])
        .await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let sms = hook.wait_for("+8613800138003", 1).await;
    let code = six_digit_code(&sms.text);
    assert!(
        smtp.mails().is_empty(),
        "a mobile identifier gets an SMS, not a mail"
    );

    // Named by account name, the verified email gets it.
    let by_name = srv.browser();
    by_name
        .submit("/password/reset", &[("identifier", "jack")])
        .await;
    smtp.wait_for("jack@example.com", 1).await;
    assert_eq!(hook.received().len(), 1);

    let p = b
        .submit(
            "/password/reset/confirm",
            &[
                ("code", &code),
                ("new_password", PASSWORD2),
                ("new_password_confirm", PASSWORD2),
            ],
        )
        .await;
    p.assert_redirect("/login?done=reset_done", "reset by SMS code");
    srv.browser().must_login("13800138003", PASSWORD2).await;
}

/// "Resend throttled (60 s per purpose per browser)" holds for the reset code too: a
/// browser that asks twice in a row gets one code (the page stays the same, so the
/// throttle reveals nothing).
#[tokio::test]
async fn asking_twice_for_a_reset_code_sends_one() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    configure(&env, Some(&smtp), None);
    env.add_user("kim", &["--email", "kim@example.com"]);
    let srv = env.serve();
    let b = srv.browser();
    let first = b
        .submit("/password/reset", &[("identifier", "kim@example.com")])
        .await;
    assert_eq!(first.status, 200, "{}", first.summary());
    smtp.wait_for("kim@example.com", 1).await;
    let second = b
        .submit("/password/reset", &[("identifier", "kim@example.com")])
        .await;
    assert_eq!(second.status, 200, "{}", second.summary());
    assert_eq!(second.text(), first.text());
    // The code is sent in the background: give a second one time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        smtp.mails_to("kim@example.com").len(),
        1,
        "a second code within 60 s from the same browser"
    );
}
