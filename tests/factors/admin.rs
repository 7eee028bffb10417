//! What the admin sees of factors and deliveries, and the OTP reset.

use serde_json::json;

use super::bind_otp;
use super::harness::{
    SmsHook, Smtp, admin_account_id, configure, otp_secret, post_with_csrf, recovery_codes,
    settings, six_digit_code, submit_mobile,
};
use crate::support::{Env, PASSWORD, text_of};

/// The rows of the deliveries table, as text.
fn delivery_rows(body: &str) -> Vec<String> {
    let tbody = regex::Regex::new(r"(?s)<tbody>(.*?)</tbody>").unwrap();
    let tr = regex::Regex::new(r"(?s)<tr>(.*?)</tr>").unwrap();
    let Some(t) = tbody.captures(body) else {
        return Vec::new();
    };
    tr.captures_iter(&t[1]).map(|r| text_of(&r[1])).collect()
}

#[tokio::test]
async fn admin_sees_factors_resets_otp_and_lists_deliveries_with_failures() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    let hook = SmsHook::start();
    configure(&env, Some(&smtp), Some(&hook));
    settings(&env, &[("mfa.otp", "true")]);
    env.add_admin("root");
    env.add_user("kate", &[]);
    let srv = env.serve();

    let k = srv.browser();
    k.must_login("kate", PASSWORD).await;
    let bound = bind_otp(&k).await;
    assert_eq!(bound.page.status, 200, "{}", bound.page.summary());
    assert_eq!(recovery_codes(&bound.page).len(), 10);

    // One failed and one good SMS, and one mail.
    hook.set_failing(true);
    let p = submit_mobile(&k, "13800138007").await;
    assert_eq!(p.status, 400, "{}", p.summary());
    hook.set_failing(false);
    let p = submit_mobile(&k, "13800138007").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let code = six_digit_code(&hook.wait_for("+8613800138007", 2).await.text);
    k.submit("/account/mobile/confirm", &[("code", &code)])
        .await
        .assert_redirect("/account?done=sms", "bind mobile");
    let p = k
        .submit("/account/email", &[("email", "kate@example.com")])
        .await;
    assert_eq!(p.status, 200, "{}", p.summary());
    smtp.wait_for("kate@example.com", 1).await;

    let a = srv.browser();
    a.must_login("root", PASSWORD).await;
    let id = admin_account_id(&a, "kate").await;
    let page = a.get(&format!("/admin/accounts/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.summary());
    let text = page.text();
    assert!(text.contains("Second factors"), "{text}");
    assert!(text.contains("OTP authenticator"), "{text}");
    assert!(text.contains("10 unused"), "recovery codes left: {text}");
    let action = format!("/admin/accounts/{id}/otp-reset");
    assert!(
        page.body.contains(&format!(r#"action="{action}""#)),
        "an OTP reset form"
    );

    let csrf = page.csrf().expect("csrf");
    let r = post_with_csrf(&a, &action, &csrf, &[]).await;
    assert_eq!(r.status, 303, "{}", r.summary());
    assert!(
        r.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("/admin/accounts/{id}"))),
        "{}",
        r.summary()
    );
    let page = a.get(&format!("/admin/accounts/{id}")).await;
    assert!(
        page.text().contains("No OTP authenticator"),
        "{}",
        page.text()
    );
    assert!(
        !page.body.contains(&action),
        "no reset form without an authenticator"
    );
    let shown = env.show("kate");
    assert!(
        !shown["factors"].as_array().unwrap().contains(&json!("otp")),
        "{shown}"
    );
    // kate can set up a new authenticator, with a new secret.
    let p = k.get("/account/otp").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert_ne!(otp_secret(&p), bound.secret);

    // Deliveries: channels configured, each attempt listed, failures with their reason,
    // numbers masked.
    let p = a.get("/admin/deliveries").await;
    assert_eq!(p.status, 200, "{}", p.summary());
    assert_eq!(p.text().matches("Configured").count(), 2, "{}", p.text());
    let rows = delivery_rows(&p.body);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let failed: Vec<&String> = rows.iter().filter(|r| r.contains("Failed")).collect();
    assert_eq!(failed.len(), 1, "{rows:#?}");
    let f = failed[0];
    for part in ["sms", "+86*******8007", "kate", "bind_mobile", "500"] {
        assert!(f.contains(part), "{part:?} in the failed row {f:?}");
    }
    assert!(
        rows.iter()
            .any(|r| r.contains("sms") && r.contains("Delivered") && r.contains("bind_mobile")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("email")
            && r.contains("k***@example.com")
            && r.contains("Delivered")
            && r.contains("bind_email")),
        "{rows:#?}"
    );
    assert!(!p.body.contains("13800138007"), "numbers are masked");
    assert!(!p.body.contains("kate@example.com"), "addresses are masked");
}
