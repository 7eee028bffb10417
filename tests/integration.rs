//! HTTP integration tests: each test boots the real `latchkey serve` on a free port with
//! its own data directory and drives it like a browser (cookie jar, no redirects
//! followed), checking what a user sees and what the database holds (via the CLI).
//!
//! Password hashing dominates the cost of these tests, so each logs on only as often
//! as its story needs.

mod connectors;
mod enterprise;
mod factors;
mod federation;
mod hostile;
mod support;

use serde_json::json;
use support::{Browser, Env, PASSWORD, PASSWORD2, PASSWORD3, Page, set_cookie_header};

fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// The error the logon page shows (one alert; no field is singled out, since saying
/// which one failed would tell whether the account exists).
fn logon_error(p: &Page) -> String {
    assert!(
        p.field_error("username").is_none() && p.field_error("password").is_none(),
        "the logon page must not single out a field: {}",
        p.summary()
    );
    p.alert()
        .unwrap_or_else(|| panic!("no logon error shown: {}", p.summary()))
}

/// The id in `/admin/accounts/ID…`.
fn account_id_from(location: &str) -> i64 {
    let rest = location
        .strip_prefix("/admin/accounts/")
        .unwrap_or_else(|| panic!("not an account page: {location}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .expect("account id")
}

/// The admin console's id of an account, found in the account list.
async fn admin_account_id(admin: &Browser, name: &str) -> i64 {
    let p = admin.get(&format!("/admin/accounts?q={name}")).await;
    assert_eq!(p.status, 200);
    let re = regex::Regex::new(&format!(
        r#"href="/admin/accounts/(\d+)">{}<"#,
        regex::escape(name)
    ))
    .unwrap();
    re.captures(&p.body)
        .unwrap_or_else(|| panic!("{name} not in the admin's account list"))[1]
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------------------------
// 1. First-run setup
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn setup_link_creates_the_first_admin_exactly_once() {
    let env = Env::new();
    let srv = env.serve();
    let token = srv
        .setup_token
        .clone()
        .expect("serve prints a setup link while no admin exists");
    assert!(srv.setup_link.as_deref().unwrap().contains("/setup?token="));
    let b = srv.browser();

    // A wrong or missing token never shows the form.
    for path in [
        "/setup?token=wrong".to_string(),
        "/setup".to_string(),
        format!("/setup?token={token}x"),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(!p.has_input("account_name"), "{path} shows the setup form");
        assert!(
            lower(&p.text()).contains("setup link"),
            "{path}: {}",
            p.text()
        );
    }

    // The right token shows the form, with the token and a CSRF token in it.
    let p = b.get(&format!("/setup?token={token}")).await;
    assert_eq!(p.status, 200);
    for input in [
        "account_name",
        "display_name",
        "email",
        "password",
        "password_confirm",
    ] {
        assert!(p.has_input(input), "setup form lacks {input}");
    }
    assert_eq!(p.input_value("token").as_deref(), Some(token.as_str()));
    let csrf = p.csrf().expect("csrf field");
    assert_eq!(
        b.cookie("lk_csrf").as_deref(),
        Some(csrf.as_str()),
        "double-submit cookie"
    );

    let form = |token: &str, confirm: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf.as_str()),
            ("account_name", "root"),
            ("display_name", "The Root"),
            ("email", "root@example.com"),
            ("password", PASSWORD),
            ("password_confirm", confirm),
            ("token", token),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };

    // A wrong token is refused even with a valid form, and creates nothing.
    let p = b.post_owned("/setup", &form("wrong", PASSWORD)).await;
    assert_eq!(p.status, 404, "{}", p.summary());
    assert!(env.list().is_empty());

    // Passwords that do not match: the form again, with the error, nothing created.
    let p = b
        .post_owned("/setup", &form(&token, "something else entirely"))
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.field_error("password_confirm").is_some(),
        "{}",
        p.summary()
    );
    assert_eq!(
        p.input_value("account_name").as_deref(),
        Some("root"),
        "typed values are kept"
    );
    assert!(env.list().is_empty());

    // Success: the admin exists and is logged on.
    let p = b.post_owned("/setup", &form(&token, PASSWORD)).await;
    p.assert_redirect("/admin", "setup");
    assert!(b.cookie("lk_session").is_some(), "setup logs the admin on");
    let admin = b.get("/admin").await;
    assert_eq!(admin.status, 200);
    let root = env.show("root");
    assert_eq!(root["admin"], json!(true));
    assert_eq!(root["display_name"], json!("The Root"));
    assert_eq!(root["email"], json!("root@example.com"));

    // The link is spent: neither the page nor the form works again.
    let other = srv.browser();
    let p = other.get(&format!("/setup?token={token}")).await;
    assert_eq!(p.status, 404);
    assert!(!p.has_input("password"));
    let login = other.get("/login").await;
    let csrf2 = login.csrf().unwrap();
    let p = other
        .post(
            "/setup",
            &[
                ("csrf", &csrf2),
                ("token", &token),
                ("account_name", "intruder"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 404);
    assert!(other.cookie("lk_session").is_none());
    assert_eq!(env.account_names(), ["root".to_string()].into());

    // A restarted server prints no new link.
    drop(srv);
    let srv = env.serve();
    assert!(
        srv.setup_token.is_none(),
        "setup link printed although an admin exists"
    );
}

#[tokio::test]
async fn cli_admin_retires_the_setup_link() {
    let env = Env::new();
    let srv = env.serve();
    let token = srv.setup_token.clone().expect("setup link");
    let b = srv.browser();
    assert_eq!(b.get(&format!("/setup?token={token}")).await.status, 200);

    // The CLI runs while the server does, on the same database.
    env.add_admin("root");
    let p = b.get(&format!("/setup?token={token}")).await;
    assert_eq!(
        p.status, 404,
        "the setup link still works after `user add --admin`"
    );
    assert!(!p.has_input("account_name"));

    // And the CLI's admin can log on to the running server.
    let b = srv.browser();
    b.must_login("root", PASSWORD).await;
    assert_eq!(b.get("/admin").await.status, 200);
}

#[tokio::test]
async fn a_restart_replaces_the_setup_link() {
    let env = Env::new();
    let first = env.serve();
    let old = first.setup_token.clone().expect("setup link");
    drop(first);
    let srv = env.serve();
    let new = srv.setup_token.clone().expect("setup link after restart");
    assert_ne!(old, new, "the same setup token was printed twice");
    let b = srv.browser();
    assert_eq!(
        b.get(&format!("/setup?token={old}")).await.status,
        404,
        "the old link still works"
    );
    assert_eq!(b.get(&format!("/setup?token={new}")).await.status, 200);
}

#[tokio::test]
async fn cli_non_admin_keeps_the_setup_link() {
    let env = Env::new();
    env.add_user("someone", &[]);
    let srv = env.serve();
    let token = srv
        .setup_token
        .clone()
        .expect("a plain user is no admin: the link is printed");
    assert_eq!(
        srv.browser()
            .get(&format!("/setup?token={token}"))
            .await
            .status,
        200
    );
}

// ---------------------------------------------------------------------------------
// 2. Logon
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn logon_with_account_name_email_or_mobile() {
    let env = Env::new();
    env.add_user(
        "alice",
        &[
            "--display-name",
            "Alice Liddell",
            "--email",
            "Alice@Example.com",
            "--mobile",
            "13800138000",
        ],
    );
    let alice = env.show("alice");
    assert_eq!(
        alice["email"],
        json!("alice@example.com"),
        "email is stored normalised"
    );
    assert_eq!(
        alice["mobile"],
        json!("+8613800138000"),
        "mobile is stored as E.164"
    );
    // `user show` finds the account by each identifier too.
    assert_eq!(env.show("+8613800138000")["account_name"], json!("alice"));
    assert_eq!(
        env.show("alice@example.com")["account_name"],
        json!("alice")
    );

    let srv = env.serve();
    for (identifier, next, to) in [
        ("alice", "", "/account"),
        ("ALICE", "/account/password", "/account/password"),
        ("alice@example.com", "//evil.example/", "/account"),
        ("Alice@Example.COM", "https://evil.example/", "/account"),
        ("13800138000", "", "/account"),
        ("+8613800138000", "/\\evil.example", "/account"),
    ] {
        let b = srv.browser();
        let p = b.login_next(identifier, PASSWORD, next).await;
        p.assert_redirect(to, &format!("logon as {identifier:?} with next={next:?}"));
        let me = b.get("/account").await;
        assert_eq!(me.status, 200);
        assert_eq!(
            me.input_value("account_name").as_deref(),
            Some("alice"),
            "logged on as {identifier}"
        );
        assert_eq!(
            me.input_value("display_name").as_deref(),
            Some("Alice Liddell")
        );
        assert!(me.text().contains("+8613800138000") && me.text().contains("alice@example.com"));
    }

    // A wrong password and an unknown account look exactly the same.
    let b = srv.browser();
    let wrong = b.login("alice", "not the right password at all").await;
    assert_eq!(wrong.status, 401);
    assert!(b.cookie("lk_session").is_none());
    let unknown = b.login("nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    let unknown_mobile = b.login("13900000000", PASSWORD).await;
    assert_eq!(unknown_mobile.status, 401);
    let (m1, m2, m3) = (
        logon_error(&wrong),
        logon_error(&unknown),
        logon_error(&unknown_mobile),
    );
    assert_eq!(
        m1, m2,
        "wrong password and unknown account must read the same"
    );
    assert_eq!(m1, m3);
    assert!(lower(&m1).contains("incorrect account or password"), "{m1}");
    assert!(b.cookie("lk_session").is_none());
    // The logon form is shown again with the name typed, and the password not echoed.
    assert_eq!(unknown.input_value("username").as_deref(), Some("nobody"));
    assert_eq!(unknown.input_value("password").as_deref(), Some(""));
    assert!(!unknown.body.contains(PASSWORD));
}

#[tokio::test]
async fn pages_need_a_logon_and_unknown_pages_are_friendly() {
    let env = Env::new();
    let srv = env.serve();
    let b = srv.browser();
    assert_eq!(b.get("/healthz").await.body, "ok");
    b.get("/").await.assert_redirect("/login", "home");
    b.get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount", "My Account");
    b.get("/account/password")
        .await
        .assert_redirect("/login?next=%2Faccount%2Fpassword", "password");
    b.get("/admin")
        .await
        .assert_redirect("/login?next=%2Fadmin", "admin");
    let p = b.get("/no/such/page").await;
    assert_eq!(p.status, 404);
    assert!(
        p.body.starts_with("<!DOCTYPE html>"),
        "a friendly HTML page"
    );
    assert!(lower(&p.text()).contains("page not found"), "{}", p.text());
    assert!(
        p.body.contains(r#"href="/login""#),
        "the 404 page links back"
    );
}

// ---------------------------------------------------------------------------------
// 3. Lockout
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn lockout_after_max_failures_spares_other_accounts() {
    let env = Env::new();
    env.set("lockout.max_failures", "3");
    env.add_user("bob", &[]);
    env.add_user("carol", &[]);
    let srv = env.serve();

    let b = srv.browser();
    let mut invalid = String::new();
    for i in 0..3 {
        let p = b.login("bob", "wrong password number x").await;
        assert_eq!(p.status, 401, "attempt {i}");
        invalid = logon_error(&p);
    }
    // Now even the right password is refused, and the page says to try again later.
    let p = b.login("bob", PASSWORD).await;
    assert_eq!(p.status, 401, "locked account logged on: {}", p.summary());
    assert!(b.cookie("lk_session").is_none());
    let locked = logon_error(&p);
    assert_ne!(locked, invalid);
    assert!(lower(&locked).contains("try again"), "{locked}");
    assert!(!b.logged_on().await);

    // Another account is not affected.
    let c = srv.browser();
    c.must_login("carol", PASSWORD).await;
    assert!(c.logged_on().await);

    // Guessing the current password on the password page counts too.
    let wrong = [
        ("current_password", "is it this one perhaps"),
        ("new_password", PASSWORD2),
        ("new_password_confirm", PASSWORD2),
    ];
    for i in 0..3 {
        let p = c.submit("/account/password", &wrong).await;
        assert_eq!(p.status, 400, "attempt {i}");
        assert!(p.field_error("current_password").is_some());
    }
    let right = [
        ("current_password", PASSWORD),
        ("new_password", PASSWORD2),
        ("new_password_confirm", PASSWORD2),
    ];
    let p = c.submit("/account/password", &right).await;
    assert_eq!(p.status, 400, "a locked account changed its password");
    let err = p.field_error("current_password").expect("lock message");
    assert!(lower(&err).contains("try again"), "{err}");
    assert_eq!(srv.browser().login("carol", PASSWORD).await.status, 401);
    assert!(
        c.logged_on().await,
        "the lock ended the session that was already open"
    );
}

#[tokio::test]
async fn successful_password_change_clears_failed_attempts() {
    let env = Env::new();
    env.set("lockout.max_failures", "3");
    env.add_user("fay", &[]);
    let srv = env.serve();
    let a = srv.browser();
    a.must_login("fay", PASSWORD).await;
    // Two typos of the current password, then the right one: the change succeeds.
    for _ in 0..2 {
        let p = a
            .submit(
                "/account/password",
                &[
                    ("current_password", "typo typo typo"),
                    ("new_password", PASSWORD2),
                    ("new_password_confirm", PASSWORD2),
                ],
            )
            .await;
        assert_eq!(p.status, 400);
    }
    a.submit(
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", PASSWORD2),
            ("new_password_confirm", PASSWORD2),
        ],
    )
    .await
    .assert_redirect("/account?done=password", "password change");
    // Proving the password must reset the count, as a successful logon does: one
    // later typo must not lock the account.
    let b = srv.browser();
    assert_eq!(b.login("fay", "one more typo here").await.status, 401);
    let p = b.login("fay", PASSWORD2).await;
    p.assert_redirect("/account", "logon after one typo");
}

// ---------------------------------------------------------------------------------
// 4. Sessions: rotation and logout
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn session_cookie_rotates_at_logon_and_logout_ends_it() {
    let env = Env::new();
    env.add_user("sam", &[]);
    let srv = env.serve();

    // A cookie planted before logon (session fixation) is replaced.
    let b = srv.browser();
    b.set_cookie("lk_session", "planted-by-an-attacker");
    b.must_login("sam", PASSWORD).await;
    let first = b.cookie("lk_session").unwrap();
    assert_ne!(first, "planted-by-an-attacker");
    let planted = srv.browser();
    planted.set_cookie("lk_session", "planted-by-an-attacker");
    assert!(!planted.logged_on().await);

    // Logging on again in the same browser gives a new token; the old one is dead.
    b.must_login("sam", PASSWORD).await;
    let second = b.cookie("lk_session").unwrap();
    assert_ne!(first, second, "the session token did not rotate");
    let old = srv.browser();
    old.set_cookie("lk_session", &first);
    old.get("/account")
        .await
        .assert_redirect("/login?next=%2Faccount", "old session token");
    let copy = srv.browser();
    copy.set_cookie("lk_session", &second);
    assert!(
        copy.logged_on().await,
        "the current token works from any browser"
    );
    assert_eq!(env.show("sam")["sessions"], json!(1));

    // Logout ends the session on the server, not just in this browser.
    let p = b.submit("/logout", &[]).await;
    p.assert_redirect("/login?done=logout", "logout");
    let cleared = set_cookie_header(&p, "lk_session").expect("logout clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(b.cookie("lk_session").is_none());
    assert!(!copy.logged_on().await, "the session outlived logout");
    assert_eq!(env.show("sam")["sessions"], json!(0));
    let flash = b.get("/login?done=logout").await;
    assert!(
        lower(&flash.text()).contains("logged out"),
        "{}",
        flash.text()
    );
}

// ---------------------------------------------------------------------------------
// 5. CSRF
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn posts_without_the_right_csrf_token_change_nothing() {
    let env = Env::new();
    env.add_user("carl", &["--display-name", "Carl"]);
    let srv = env.serve();

    // Logon itself: no lk_csrf cookie -> 403, whatever the form says.
    let fresh = srv.browser();
    let p = fresh
        .post(
            "/login",
            &[
                ("csrf", "made-up"),
                ("username", "carl"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(fresh.cookie("lk_session").is_none());
    // With the cookie but another token in the form -> 403.
    let pre = srv.browser();
    let login_page = pre.get("/login").await;
    assert!(login_page.csrf().is_some());
    let p = pre
        .post(
            "/login",
            &[
                ("csrf", "made-up"),
                ("username", "carl"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(pre.cookie("lk_session").is_none());
    let p = pre
        .post("/login", &[("username", "carl"), ("password", PASSWORD)])
        .await;
    assert_eq!(p.status, 403);
    assert!(pre.cookie("lk_session").is_none());

    let b = srv.browser();
    b.must_login("carl", PASSWORD).await;
    let anonymous_token = b.cookie("lk_csrf").expect("pre-logon token");
    let change = [("account_name", "carl"), ("display_name", "Mallory")];
    for (what, csrf) in [
        ("no token", None),
        ("empty token", Some("")),
        ("wrong token", Some("0123456789abcdef")),
        ("the pre-logon token", Some(anonymous_token.as_str())),
    ] {
        let mut form: Vec<(&str, &str)> = change.to_vec();
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let p = b.post("/account/profile", &form).await;
        assert_eq!(p.status, 403, "{what}");
        assert!(
            p.body.starts_with("<!DOCTYPE html>"),
            "{what}: a friendly page"
        );
        assert!(
            lower(&p.text()).contains("nothing was changed"),
            "{what}: {}",
            p.text()
        );
        assert_eq!(
            env.show("carl")["display_name"],
            json!("Carl"),
            "{what} changed the display name"
        );
    }
    // Logout without a token does not log out.
    assert_eq!(b.post("/logout", &[]).await.status, 403);
    assert!(b.logged_on().await);
    // The same form with the right token works (so the refusals above were about CSRF).
    b.submit("/account/profile", &change)
        .await
        .assert_redirect("/account?done=profile", "profile");
    assert_eq!(env.show("carl")["display_name"], json!("Mallory"));
}

// ---------------------------------------------------------------------------------
// 6. My Account: names
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn my_account_changes_names_and_refuses_bad_ones() {
    let env = Env::new();
    env.add_user("dana", &["--display-name", "Dana"]);
    env.add_user("erin", &[]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("dana", PASSWORD).await;

    let p = b
        .submit(
            "/account/profile",
            &[
                ("account_name", "dana.k"),
                ("display_name", "Dana Kowalska"),
            ],
        )
        .await;
    p.assert_redirect("/account?done=profile", "rename");
    let me = b.get("/account?done=profile").await;
    assert_eq!(me.input_value("account_name").as_deref(), Some("dana.k"));
    assert_eq!(
        me.input_value("display_name").as_deref(),
        Some("Dana Kowalska")
    );
    assert!(
        lower(&me.text()).contains("saved"),
        "flash message: {}",
        me.text()
    );
    assert_eq!(env.show("dana.k")["display_name"], json!("Dana Kowalska"));
    assert!(
        env.try_show("dana").is_none(),
        "the old name still finds the account"
    );

    // An invalid name: the error next to the field, the typed value kept, nothing saved.
    let p = b
        .submit(
            "/account/profile",
            &[("account_name", "bad name!"), ("display_name", "Changed")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    let err = p
        .field_error("account_name")
        .expect("error next to the account name");
    assert!(lower(&err).contains("letters"), "{err}");
    assert_eq!(p.input_value("account_name").as_deref(), Some("bad name!"));
    assert!(p.alert().is_some(), "an error summary on top");
    assert_eq!(env.show("dana.k")["display_name"], json!("Dana Kowalska"));

    // Digits only would read as a mobile number.
    let p = b
        .submit(
            "/account/profile",
            &[("account_name", "12345"), ("display_name", "Changed")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("account_name").is_some());

    // Someone else's name, in any case: refused, nothing changed.
    for taken in ["erin", "ERIN"] {
        let p = b
            .submit(
                "/account/profile",
                &[("account_name", taken), ("display_name", "Changed")],
            )
            .await;
        assert_eq!(p.status, 400, "{taken}: {}", p.summary());
        let err = p
            .field_error("account_name")
            .expect("error next to the account name");
        assert!(lower(&err).contains("taken"), "{err}");
    }
    let dana = env.show("dana.k");
    assert_eq!(dana["display_name"], json!("Dana Kowalska"));
    assert_eq!(
        env.account_names(),
        ["dana.k".to_string(), "erin".to_string()].into()
    );

    // Markup in a display name is shown as text, never as markup.
    let tricky = r#"<b>Dana</b> & "Co" 张"#;
    b.submit(
        "/account/profile",
        &[("account_name", "dana.k"), ("display_name", tricky)],
    )
    .await
    .assert_redirect("/account?done=profile", "display name with markup");
    let me = b.get("/account").await;
    assert_eq!(me.input_value("display_name").as_deref(), Some(tricky));
    assert!(
        !me.body.contains("<b>Dana</b>"),
        "markup from a display name reached the page"
    );
    assert_eq!(env.show("dana.k")["display_name"], json!(tricky));

    // The new name logs on; the old one no longer does.
    let n = srv.browser();
    n.must_login("dana.k", PASSWORD).await;
    let o = srv.browser();
    assert_eq!(o.login("dana", PASSWORD).await.status, 401);
}

// ---------------------------------------------------------------------------------
// 7. Extended fields
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn extended_fields_respect_user_access_and_validate_all_or_nothing() {
    let env = Env::new();
    env.add_field(
        "employee_id",
        "Employee ID",
        "text",
        &["--user-access", "editable", "--pattern", "[A-Z]{2}[0-9]{4}"],
    );
    env.add_field("floor", "Floor", "number", &["--user-access", "editable"]);
    env.add_field(
        "team",
        "Team",
        "choice",
        &[
            "--user-access",
            "editable",
            "--option",
            "Red",
            "--option",
            "Blue",
        ],
    );
    env.add_field(
        "newsletter",
        "Newsletter",
        "bool",
        &["--user-access", "editable"],
    );
    env.add_field("hired", "Hire date", "date", &[]); // visible (read-only) by default
    env.add_field(
        "work_email",
        "Work email",
        "email",
        &["--unique", "--user-access", "editable"],
    );
    env.add_field(
        "salary_band",
        "Salary band",
        "text",
        &["--user-access", "invisible"],
    );
    env.add_admin("root");
    env.add_user("alice", &[]);
    env.add_user("bob", &[]);
    let srv = env.serve();

    // The admin sets the fields a user cannot.
    let admin = srv.browser();
    admin.must_login("root", PASSWORD).await;
    let alice_id = admin_account_id(&admin, "alice").await;
    let detail = admin.get(&format!("/admin/accounts/{alice_id}")).await;
    assert!(
        detail.has_input("field.salary_band") && detail.has_input("field.hired"),
        "the admin sees every field"
    );
    admin
        .submit(
            &format!("/admin/accounts/{alice_id}/fields"),
            &[
                ("field.hired", "2021-03-01"),
                ("field.salary_band", "B7-secret"),
            ],
        )
        .await
        .assert_redirect(
            &format!("/admin/accounts/{alice_id}?done=saved"),
            "admin sets fields",
        );
    assert_eq!(env.fields("alice")["hired"], json!("2021-03-01"));
    assert_eq!(env.fields("alice")["salary_band"], json!("B7-secret"));

    let a = srv.browser();
    a.must_login("alice", PASSWORD).await;
    let me = a.get("/account").await;
    assert!(
        !me.body.contains("Salary band"),
        "the invisible field's label is shown"
    );
    assert!(
        !me.body.contains("B7-secret"),
        "the invisible field's value is shown"
    );
    assert!(!me.has_input("field.salary_band"));
    assert!(
        me.text().contains("Hire date") && me.text().contains("2021-03-01"),
        "the visible field is shown"
    );
    assert!(
        !me.has_input("field.hired"),
        "the visible field is editable"
    );
    for editable in [
        "field.employee_id",
        "field.floor",
        "field.team",
        "field.newsletter",
        "field.work_email",
    ] {
        assert!(me.has_input(editable), "{editable} has no input");
    }

    // Valid values are saved and shown.
    let good = [
        ("field.employee_id", "AB1234"),
        ("field.floor", "7"),
        ("field.team", "Blue"),
        ("field.newsletter", "true"),
        ("field.work_email", "alice@corp.example.com"),
    ];
    a.submit("/account/fields", &good)
        .await
        .assert_redirect("/account?done=fields", "save fields");
    let me = a.get("/account").await;
    assert_eq!(
        me.input_value("field.employee_id").as_deref(),
        Some("AB1234")
    );
    assert_eq!(me.input_value("field.floor").as_deref(), Some("7"));
    assert_eq!(me.selected_option("field.team").as_deref(), Some("Blue"));
    assert!(me.is_checked("field.newsletter"));
    assert_eq!(
        me.input_value("field.work_email").as_deref(),
        Some("alice@corp.example.com")
    );
    let saved = json!({
        "employee_id": "AB1234",
        "floor": "7",
        "team": "Blue",
        "newsletter": "true",
        "work_email": "alice@corp.example.com",
        "hired": "2021-03-01",
        "salary_band": "B7-secret",
    });
    assert_eq!(env.fields("alice"), saved);

    // One bad value: the error is next to that field, and nothing of the form is saved.
    let p = a
        .submit(
            "/account/fields",
            &[
                ("field.employee_id", "CD5678"),
                ("field.floor", "seven"),
                ("field.team", "Red"),
                ("field.work_email", "alice2@corp.example.com"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    let err = p
        .field_error("field.floor")
        .expect("error next to the number field");
    assert!(lower(&err).contains("number"), "{err}");
    assert!(p.field_error("field.employee_id").is_none());
    assert_eq!(
        p.input_value("field.floor").as_deref(),
        Some("seven"),
        "the typed value is kept"
    );
    assert_eq!(
        env.fields("alice"),
        saved,
        "part of a refused submission was saved"
    );

    // Pattern and choice are checked too.
    for (name, value) in [
        ("field.employee_id", "ab12"),
        ("field.team", "Green"),
        ("field.work_email", "not-an-email"),
    ] {
        let mut form: Vec<(&str, &str)> =
            good.iter().filter(|(k, _)| *k != name).cloned().collect();
        form.push((name, value));
        let p = a.submit("/account/fields", &form).await;
        assert_eq!(p.status, 400, "{name}={value}: {}", p.summary());
        assert!(
            p.field_error(name).is_some(),
            "{name}: no error shown next to it"
        );
    }
    assert_eq!(env.fields("alice"), saved);

    // A forged form cannot set the read-only or the invisible field.
    let mut forged: Vec<(&str, &str)> = good.to_vec();
    forged.push(("field.hired", "1999-12-31"));
    forged.push(("field.salary_band", "Z9"));
    forged.push(("field.no_such_field", "x"));
    a.submit("/account/fields", &forged)
        .await
        .assert_redirect("/account?done=fields", "forged form");
    assert_eq!(env.fields("alice"), saved, "a forged field was saved");

    // A unique value another account holds is refused, and none of bob's form is saved.
    let b = srv.browser();
    b.must_login("bob", PASSWORD).await;
    let p = b
        .submit(
            "/account/fields",
            &[
                ("field.employee_id", "EF0001"),
                ("field.floor", "3"),
                ("field.work_email", "alice@corp.example.com"),
            ],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    let err = p
        .field_error("field.work_email")
        .expect("error next to the unique field");
    assert!(lower(&err).contains("already used"), "{err}");
    assert!(
        !p.body.contains(">alice<"),
        "the clash must not name the other account"
    );
    let bob = env.fields("bob");
    assert!(
        bob.get("work_email").is_none()
            && bob.get("floor").is_none()
            && bob.get("employee_id").is_none(),
        "{bob}"
    );
    // Without the clash it is saved.
    b.submit(
        "/account/fields",
        &[
            ("field.employee_id", "EF0001"),
            ("field.floor", "3"),
            ("field.work_email", "bob@corp.example.com"),
        ],
    )
    .await
    .assert_redirect("/account?done=fields", "bob's fields");
    assert_eq!(
        env.fields("bob")["work_email"],
        json!("bob@corp.example.com")
    );
    assert_eq!(
        env.fields("bob")["newsletter"],
        json!("false"),
        "an unticked box is saved as false"
    );
}

// ---------------------------------------------------------------------------------
// 8. Password change
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn password_change_checks_policy_and_ends_other_sessions() {
    let env = Env::new();
    env.set("password.history", "2");
    env.add_user("gina", &[]);
    let srv = env.serve();
    let a = srv.browser();
    a.must_login("gina", PASSWORD).await;
    let other = srv.browser();
    other.must_login("gina", PASSWORD).await;

    let page = a.get("/account/password").await;
    assert_eq!(page.status, 200);
    for input in ["current_password", "new_password", "new_password_confirm"] {
        assert!(page.has_input(input), "{input}");
    }
    assert!(
        page.text().contains("12"),
        "the policy is shown before typing: {}",
        page.text()
    );

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("current_password", current),
            ("new_password", new),
            ("new_password_confirm", confirm),
        ]
    };
    // Wrong current password.
    let p = a
        .submit(
            "/account/password",
            &change("not my password at all", PASSWORD2, PASSWORD2),
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(lower(&p.field_error("current_password").expect("error")).contains("wrong"));
    // Too short.
    let p = a
        .submit(
            "/account/password",
            &change(PASSWORD, "short pw 1", "short pw 1"),
        )
        .await;
    assert_eq!(p.status, 400);
    let err = p.field_error("new_password").expect("policy error");
    assert!(err.contains("12"), "{err}");
    // Too common.
    let p = a
        .submit(
            "/account/password",
            &change(PASSWORD, "password1234", "password1234"),
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(lower(&p.field_error("new_password").expect("policy error")).contains("common"));
    // Contains the account name.
    let p = a
        .submit(
            "/account/password",
            &change(PASSWORD, "gina likes saffron tea", "gina likes saffron tea"),
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(lower(&p.field_error("new_password").expect("policy error")).contains("name"));
    // Confirmation differs.
    let p = a
        .submit("/account/password", &change(PASSWORD, PASSWORD2, PASSWORD3))
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("new_password_confirm").is_some());
    // No password was echoed back in any of these pages.
    assert!(!p.body.contains(PASSWORD2) && !p.body.contains(PASSWORD));
    assert!(
        other.logged_on().await,
        "a refused change logged the other session out"
    );

    // Success: this session stays, the other one ends.
    a.submit("/account/password", &change(PASSWORD, PASSWORD2, PASSWORD2))
        .await
        .assert_redirect("/account?done=password", "password change");
    assert!(
        a.logged_on().await,
        "the session that changed the password was logged out"
    );
    assert!(
        !other.logged_on().await,
        "the other session survived the password change"
    );
    assert_eq!(env.show("gina")["sessions"], json!(1));

    // The new password works, the old one does not.
    let fresh = srv.browser();
    assert_eq!(fresh.login("gina", PASSWORD).await.status, 401);
    fresh.must_login("gina", PASSWORD2).await;

    // History 2: going back to the previous password is refused.
    let p = a
        .submit("/account/password", &change(PASSWORD2, PASSWORD, PASSWORD))
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    let err = p.field_error("new_password").expect("history error");
    assert!(lower(&err).contains("last 2"), "{err}");
    // The same as the current one is refused too.
    let p = a
        .submit(
            "/account/password",
            &change(PASSWORD2, PASSWORD2, PASSWORD2),
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("new_password").is_some());
    // A third password is fine.
    a.submit(
        "/account/password",
        &change(PASSWORD2, PASSWORD3, PASSWORD3),
    )
    .await
    .assert_redirect("/account?done=password", "third password");
    assert!(!fresh.logged_on().await);
}

// ---------------------------------------------------------------------------------
// 9. Admin console
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn admin_console_is_for_admins_only() {
    let env = Env::new();
    env.add_admin("root");
    env.add_user("uma", &[]);
    let srv = env.serve();
    let u = srv.browser();
    u.must_login("uma", PASSWORD).await;

    let me = u.get("/account").await;
    assert!(
        !me.body.contains(r#"href="/admin""#),
        "a non-admin sees the admin link"
    );
    for path in [
        "/admin",
        "/admin/accounts",
        "/admin/accounts/1",
        "/admin/fields",
        "/admin/settings",
        "/admin/audit",
    ] {
        let p = u.get(path).await;
        assert_eq!(p.status, 403, "{path}");
        assert!(
            p.body.starts_with("<!DOCTYPE html>"),
            "{path}: a friendly page"
        );
        assert!(
            lower(&p.text()).contains("not allowed"),
            "{path}: {}",
            p.text()
        );
    }
    let p = u
        .submit(
            "/admin/accounts",
            &[
                ("account_name", "sneaky"),
                ("password", PASSWORD),
                ("is_admin", "true"),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
    let p = u
        .submit("/admin/settings", &[("lockout.max_failures", "100")])
        .await;
    assert_eq!(p.status, 403);
    assert_eq!(
        env.account_names(),
        ["root".to_string(), "uma".to_string()].into()
    );
    assert_eq!(env.get("lockout.max_failures"), "5");
    assert_eq!(env.show("uma")["admin"], json!(false));
}

#[tokio::test]
async fn admin_creates_disables_resets_and_deletes_an_account() {
    let env = Env::new();
    env.add_admin("root");
    env.add_user("nick", &["--email", "nick@example.com"]);
    let srv = env.serve();
    let r = srv.browser();
    r.must_login("root", PASSWORD).await;
    let root_id = admin_account_id(&r, "root").await;
    let overview = r.get("/admin").await;
    assert_eq!(overview.status, 200);

    // Create, with the console's form.
    let p = r
        .submit(
            "/admin/accounts",
            &[
                ("account_name", "eve"),
                ("display_name", "Eve Example"),
                ("email", "Eve@Example.com"),
                ("mobile", "13900139000"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.summary());
    let location = p.location.clone().unwrap();
    assert!(location.ends_with("?done=created"), "{location}");
    let eve_id = account_id_from(&location);
    let eve = env.show("eve");
    assert_eq!(eve["display_name"], json!("Eve Example"));
    assert_eq!(eve["email"], json!("eve@example.com"));
    assert_eq!(eve["mobile"], json!("+8613900139000"));
    assert_eq!(eve["admin"], json!(false));
    let page = r.get(&location).await;
    assert_eq!(page.status, 200);
    assert!(lower(&page.text()).contains("created"));
    let list = r.get("/admin/accounts?q=eve").await;
    assert!(
        list.text().contains("eve@example.com") && !list.body.contains(">root<"),
        "search by name"
    );

    // The console refuses a weak password and a taken name, creating nothing.
    let p = r
        .submit(
            "/admin/accounts",
            &[("account_name", "weak"), ("password", "password")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("password").is_some(), "{}", p.summary());
    let p = r
        .submit(
            "/admin/accounts",
            &[("account_name", "EVE"), ("password", PASSWORD2)],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("account_name").is_some(), "{}", p.summary());
    assert_eq!(
        env.account_names(),
        ["eve".to_string(), "nick".to_string(), "root".to_string()].into()
    );

    // Contacts: the admin vouches for new ones; a taken or invalid one is refused.
    let contacts = format!("/admin/accounts/{eve_id}/contacts");
    let p = r
        .submit(
            &contacts,
            &[("email", "NICK@example.com"), ("mobile", "13900139000")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(lower(&p.field_error("email").expect("error next to email")).contains("already"));
    let p = r
        .submit(
            &contacts,
            &[("email", "not-an-email"), ("mobile", "13900139000")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("email").is_some());
    assert_eq!(env.show("eve")["email"], json!("eve@example.com"));
    r.submit(
        &contacts,
        &[("email", "eve.new@example.com"), ("mobile", "")],
    )
    .await
    .assert_redirect(&format!("/admin/accounts/{eve_id}?done=saved"), "contacts");
    let eve = env.show("eve");
    assert_eq!(
        (eve["email"].clone(), eve["mobile"].clone()),
        (json!("eve.new@example.com"), json!(null))
    );

    // Eve logs on; disabling her ends that session and refuses new logons.
    let e = srv.browser();
    e.must_login("eve", PASSWORD).await;
    let flags = format!("/admin/accounts/{eve_id}/flags");
    r.submit(&flags, &[("disabled", "true")])
        .await
        .assert_redirect(&format!("/admin/accounts/{eve_id}?done=saved"), "disable");
    assert_eq!(env.show("eve")["disabled"], json!(true));
    assert!(
        !e.logged_on().await,
        "a disabled account's session still works"
    );
    let e2 = srv.browser();
    let wrong = e2.login("eve", "not the right password at all").await;
    let p = e2.login("eve", PASSWORD).await;
    assert_eq!(p.status, 401, "a disabled account logged on");
    assert!(e2.cookie("lk_session").is_none());
    let msg = logon_error(&p);
    assert!(lower(&msg).contains("disabled"), "{msg}");
    assert_ne!(msg, logon_error(&wrong));

    // Enabled again, she logs on; a password reset ends her sessions.
    r.submit(&flags, &[])
        .await
        .assert_redirect(&format!("/admin/accounts/{eve_id}?done=saved"), "enable");
    assert_eq!(env.show("eve")["disabled"], json!(false));
    let e3 = srv.browser();
    e3.must_login("eve", PASSWORD).await;
    let p = r
        .submit(
            &format!("/admin/accounts/{eve_id}/password"),
            &[("password", "too short")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(p.field_error("password").is_some());
    assert!(e3.logged_on().await, "a refused reset ended sessions");
    r.submit(
        &format!("/admin/accounts/{eve_id}/password"),
        &[("password", PASSWORD2)],
    )
    .await
    .assert_redirect(&format!("/admin/accounts/{eve_id}?done=reset"), "reset");
    assert!(
        !e3.logged_on().await,
        "the session outlived the password reset"
    );
    let e4 = srv.browser();
    assert_eq!(e4.login("eve", PASSWORD).await.status, 401);
    e4.must_login("eve", PASSWORD2).await;

    // The admin ends her sessions.
    r.submit(&format!("/admin/accounts/{eve_id}/sessions"), &[])
        .await
        .assert_redirect(
            &format!("/admin/accounts/{eve_id}?done=saved"),
            "end sessions",
        );
    assert!(!e4.logged_on().await);

    // The last admin cannot disable or demote themselves.
    let own_flags = format!("/admin/accounts/{root_id}/flags");
    for (what, form) in [
        ("disable", vec![("is_admin", "true"), ("disabled", "true")]),
        ("demote", vec![]),
    ] {
        let p = r.submit(&own_flags, &form).await;
        assert_eq!(p.status, 400, "{what}: {}", p.summary());
        let alert = p.alert().expect("an error is shown");
        assert!(
            lower(&alert).contains("last enabled administrator"),
            "{what}: {alert}"
        );
        let root = env.show("root");
        assert_eq!(
            (root["admin"].clone(), root["disabled"].clone()),
            (json!(true), json!(false)),
            "{what}"
        );
        assert_eq!(
            r.get("/admin").await.status,
            200,
            "{what}: the admin lost the console"
        );
    }
    // Nor delete themselves.
    let p = r
        .submit(
            &format!("/admin/accounts/{root_id}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, 400);
    assert!(env.try_show("root").is_some());

    // Delete: only with the box ticked.
    let delete = format!("/admin/accounts/{eve_id}/delete");
    let p = r.submit(&delete, &[]).await;
    assert_eq!(p.status, 400);
    assert!(
        p.field_error("confirm").is_some() || p.alert().is_some(),
        "{}",
        p.summary()
    );
    assert!(env.try_show("eve").is_some());
    r.submit(&delete, &[("confirm", "yes")])
        .await
        .assert_redirect("/admin/accounts?done=deleted", "delete");
    assert!(env.try_show("eve").is_none());
    assert_eq!(
        r.get(&format!("/admin/accounts/{eve_id}")).await.status,
        404
    );
    assert_eq!(srv.browser().login("eve", PASSWORD2).await.status, 401);

    // The audit log tells the story, filtered by event and by account.
    let audit = r.get("/admin/audit?event=logon").await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains(">logon.failed<"), "{}", audit.text());
    assert!(audit.body.contains(">logon.refused<"));
    assert!(
        !audit.body.contains(">admin.account.delete<"),
        "the event filter is ignored"
    );
    let audit = r.get("/admin/audit?event=admin").await;
    for event in [
        "admin.account.disable",
        "admin.account.enable",
        "admin.password_reset",
        "admin.account.delete",
    ] {
        assert!(
            audit.body.contains(&format!(">{event}<")),
            "{event} missing from the audit log"
        );
    }
    assert!(!audit.body.contains(">logon.failed<"));
    let audit = r.get("/admin/audit?account=eve").await;
    assert!(
        audit.body.contains(">account.create<") && audit.body.contains(">admin.account.delete<")
    );
    let none = r.get("/admin/audit?account=nobody-by-this-name").await;
    assert!(
        !none.body.contains("<code"),
        "the account filter is ignored"
    );
}

#[tokio::test]
async fn a_new_account_does_not_inherit_a_deleted_accounts_lockout() {
    let env = Env::new();
    env.set("lockout.max_failures", "2");
    env.add_admin("root");
    env.add_user("eve", &[]);
    let srv = env.serve();
    let r = srv.browser();
    r.must_login("root", PASSWORD).await;
    let eve_id = admin_account_id(&r, "eve").await;
    // Someone guesses eve's password until her account is locked; then she leaves.
    let x = srv.browser();
    for _ in 0..2 {
        assert_eq!(x.login("eve", "guess guess guess").await.status, 401);
    }
    r.submit(
        &format!("/admin/accounts/{eve_id}/delete"),
        &[("confirm", "yes")],
    )
    .await
    .assert_redirect("/admin/accounts?done=deleted", "delete eve");
    // A new colleague joins; the database may give them eve's old id.
    env.add_user("fred", &[]);
    let fred_id = admin_account_id(&r, "fred").await;
    let b = srv.browser();
    let p = b.login("fred", PASSWORD).await;
    p.assert_redirect(
        "/account",
        &format!(
            "fred (id {fred_id}, eve had {eve_id}) cannot log on: {}",
            p.summary()
        ),
    );
}

#[tokio::test]
async fn admin_manages_fields_and_settings() {
    let env = Env::new();
    env.add_admin("root");
    let srv = env.serve();
    let r = srv.browser();
    r.must_login("root", PASSWORD).await;

    // Fields: create, refuse bad ones, reorder, delete.
    let create =
        |key: &'static str, label: &'static str, kind: &'static str, options: &'static str| {
            vec![
                ("key", key),
                ("label", label),
                ("kind", kind),
                ("user_access", "editable"),
                ("pattern", ""),
                ("options", options),
            ]
        };
    r.submit(
        "/admin/fields",
        &create("dept", "Department", "choice", "Sales\r\nOps\r\n"),
    )
    .await
    .assert_redirect("/admin/fields?done=created", "create field");
    r.submit("/admin/fields", &create("desk", "Desk", "text", ""))
        .await
        .assert_redirect("/admin/fields?done=created", "create field");
    for (what, form, input) in [
        ("bad key", create("Bad-Key", "X", "text", ""), "key"),
        ("taken key", create("dept", "Again", "text", ""), "key"),
        (
            "choice without options",
            create("empty", "Empty", "choice", ""),
            "options",
        ),
    ] {
        let p = r.submit("/admin/fields", &form).await;
        assert_eq!(p.status, 400, "{what}: {}", p.summary());
        assert!(
            p.field_error(input).is_some(),
            "{what}: no error next to {input}: {}",
            p.summary()
        );
    }
    let list = r.get("/admin/fields").await;
    let ids: Vec<String> = regex::Regex::new(r#"href="/admin/fields/(\d+)""#)
        .unwrap()
        .captures_iter(&list.body)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{}", list.text());
    let order = |p: &Page| {
        let t = p.text();
        t.find("Department").unwrap() < t.find("Desk").unwrap()
    };
    assert!(order(&list), "Department comes first");
    r.submit(&format!("/admin/fields/{}/move", ids[1]), &[("dir", "up")])
        .await
        .assert_redirect("/admin/fields", "move up");
    assert!(
        !order(&r.get("/admin/fields").await),
        "the move did not reorder"
    );

    env.add_user("walt", &[]);
    let w = srv.browser();
    w.must_login("walt", PASSWORD).await;
    let me = w.get("/account").await;
    assert_eq!(me.selected_option("field.dept"), None);
    assert!(
        me.body.contains(r#"<option value="Ops""#),
        "the console's options reach My Account"
    );
    w.submit(
        "/account/fields",
        &[("field.dept", "Ops"), ("field.desk", "D1")],
    )
    .await
    .assert_redirect("/account?done=fields", "walt's fields");
    assert_eq!(env.fields("walt"), json!({"dept": "Ops", "desk": "D1"}));

    // Making a field unique while two accounts share a value is refused.
    let root_id = admin_account_id(&r, "root").await;
    r.submit(
        &format!("/admin/accounts/{root_id}/fields"),
        &[("field.desk", "D1")],
    )
    .await
    .assert_redirect(
        &format!("/admin/accounts/{root_id}?done=saved"),
        "root's desk",
    );
    let desk_id = &ids[1];
    let edit = r.get(&format!("/admin/fields/{desk_id}")).await;
    assert_eq!(edit.input_value("key").as_deref(), Some("desk"));
    let mut update = create("desk", "Desk number", "text", "");
    update.push(("unique", "true"));
    let p = r.submit(&format!("/admin/fields/{desk_id}"), &update).await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        !p.errors().is_empty(),
        "no error shown for the unique clash"
    );
    assert!(
        !r.get("/admin/fields").await.text().contains("Desk number"),
        "part of the refused update was saved"
    );
    // Without the clash the update is saved.
    update.pop();
    r.submit(&format!("/admin/fields/{desk_id}"), &update)
        .await
        .assert_redirect("/admin/fields?done=saved", "rename field");
    assert!(w.get("/account").await.text().contains("Desk number"));

    // Deleting a field deletes its values.
    r.submit(&format!("/admin/fields/{}/delete", ids[0]), &[])
        .await
        .assert_redirect("/admin/fields?done=deleted", "delete field");
    assert!(!w.get("/account").await.has_input("field.dept"));
    assert_eq!(env.fields("walt"), json!({"desk": "D1"}));

    // Settings: saved when valid, refused whole when one value is out of range.
    r.submit(
        "/admin/settings",
        &[
            ("lockout.max_failures", "4"),
            ("mfa.otp", "false"),
            ("mfa.otp", "true"),
        ],
    )
    .await
    .assert_redirect("/admin/settings?done=saved", "settings");
    assert_eq!(env.get("lockout.max_failures"), "4");
    assert_eq!(env.get("mfa.otp"), "true");
    r.submit("/admin/settings", &[("mfa.otp", "false")])
        .await
        .assert_redirect("/admin/settings?done=saved", "untick");
    assert_eq!(env.get("mfa.otp"), "false");
    let p = r
        .submit(
            "/admin/settings",
            &[("lockout.max_failures", "6"), ("password.min_length", "7")],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.field_error("password.min_length").is_some(),
        "{}",
        p.summary()
    );
    assert_eq!(env.get("password.min_length"), "12");
    assert_eq!(
        env.get("lockout.max_failures"),
        "4",
        "part of a refused settings form was saved"
    );
    // Advice against composition rules is shown.
    let warnings = |p: &Page| -> usize {
        let re = regex::Regex::new(r#"(?s)<div class="alert warn"[^>]*>(.*?)</div>"#).unwrap();
        re.captures(&p.body)
            .map(|c| c[1].matches("<li>").count())
            .unwrap_or(0)
    };
    let before = warnings(&r.get("/admin/settings").await);
    r.submit("/admin/settings", &[("password.min_classes", "3")])
        .await
        .assert_redirect("/admin/settings?done=saved", "composition");
    let page = r.get("/admin/settings").await;
    assert_eq!(
        warnings(&page),
        before + 1,
        "no warning for composition rules"
    );
    assert_eq!(
        warnings(&r.get("/admin").await),
        before + 1,
        "the overview shows it too"
    );
}

// ---------------------------------------------------------------------------------
// 10. Sessions list
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn user_revokes_one_or_all_other_sessions() {
    let env = Env::new();
    env.add_user("hal", &[]);
    env.add_user("ivy", &[]);
    let srv = env.serve();
    let a = srv.browser();
    a.must_login("hal", PASSWORD).await;
    let b = srv.browser();
    b.must_login("hal", PASSWORD).await;

    // A sees B's session (with a revoke form) but has no form for its own.
    let me = a.get("/account").await;
    let ids = me.input_values("session");
    assert_eq!(ids.len(), 1, "expected one other session: {ids:?}");
    let b_id = ids[0].clone();
    let b_page = b.get("/account").await;
    let a_id = b_page.input_values("session");
    assert_eq!(a_id.len(), 1);
    assert_ne!(a_id[0], b_id);

    // A session of another account cannot be revoked.
    let v = srv.browser();
    v.must_login("ivy", PASSWORD).await;
    let v2 = srv.browser();
    v2.must_login("ivy", PASSWORD).await;
    let ivy_other = v.get("/account").await.input_values("session");
    assert_eq!(ivy_other.len(), 1);
    let p = a
        .submit("/account/sessions/revoke", &[("session", &ivy_other[0])])
        .await;
    assert_eq!(p.status, 404, "{}", p.summary());
    assert!(v2.logged_on().await, "hal ended ivy's session");

    // Revoke B from A.
    a.submit("/account/sessions/revoke", &[("session", &b_id)])
        .await
        .assert_redirect("/account?done=session", "revoke");
    assert!(!b.logged_on().await, "the revoked session still works");
    assert!(a.logged_on().await);
    assert_eq!(env.show("hal")["sessions"], json!(1));

    // Two more; "log out everywhere else" ends both and keeps A.
    let c = srv.browser();
    c.must_login("hal", PASSWORD).await;
    let d = srv.browser();
    d.must_login("hal", PASSWORD).await;
    let me = a.get("/account").await;
    assert_eq!(me.input_values("session").len(), 2);
    a.submit("/account/sessions/revoke-others", &[])
        .await
        .assert_redirect("/account?done=sessions", "revoke others");
    assert!(
        !c.logged_on().await && !d.logged_on().await,
        "other sessions survived"
    );
    assert!(
        a.logged_on().await,
        "revoke-others ended the current session"
    );
    assert!(
        v2.logged_on().await,
        "revoke-others touched another account"
    );
    assert_eq!(env.show("hal")["sessions"], json!(1));
    assert!(a.get("/account").await.input_values("session").is_empty());
}

// ---------------------------------------------------------------------------------
// 11. Command line
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn cli_lists_and_shows_accounts_as_json() {
    let env = Env::new();
    env.add_user(
        "kim",
        &[
            "--display-name",
            "Kim Lee",
            "--email",
            "kim@example.com",
            "--admin",
        ],
    );
    env.add_user("lee", &["--mobile", "+86 139-0013-9000"]);
    env.add_field("badge", "Badge", "text", &["--user-access", "editable"]);

    let list = env.list();
    assert_eq!(list.len(), 2);
    let keys = [
        "account_name",
        "display_name",
        "email",
        "mobile",
        "admin",
        "disabled",
    ];
    for a in &list {
        let obj = a.as_object().expect("each account is an object");
        let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
        got.sort();
        let mut want = keys.to_vec();
        want.sort();
        assert_eq!(got, want, "user list --json keys");
    }
    let kim = list
        .iter()
        .find(|a| a["account_name"] == json!("kim"))
        .expect("kim");
    assert_eq!(
        kim,
        &json!({"account_name": "kim", "display_name": "Kim Lee", "email": "kim@example.com",
                "mobile": null, "admin": true, "disabled": false})
    );
    let lee = list
        .iter()
        .find(|a| a["account_name"] == json!("lee"))
        .expect("lee");
    assert_eq!(lee["mobile"], json!("+8613900139000"));
    assert_eq!(lee["email"], json!(null));
    assert_eq!(lee["admin"], json!(false));

    let show = env.show("kim");
    for k in keys {
        assert_eq!(show[k], kim[k], "user show {k}");
    }
    assert!(show["fields"].is_object(), "{show}");
    assert!(show["bindings"].is_array(), "{show}");
    assert_eq!(env.show("kim@example.com")["account_name"], json!("kim"));
    assert_eq!(env.show("13900139000")["account_name"], json!("lee"));

    // The plain listing names every account.
    let out = env.cli(&["user", "list"]);
    out.assert_ok("user list");
    assert!(out.stdout.contains("kim") && out.stdout.contains("lee"));
}

#[tokio::test]
async fn cli_refuses_bad_input_with_exit_code_2_and_one_line() {
    let env = Env::new();
    env.add_user("kim", &["--email", "kim@example.com"]);
    // (what, arguments split on spaces, standard input)
    let pw = "saffron lantern glacier 77\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "non-numeric setting",
            "settings set lockout.max_failures lots",
            "",
        ),
        (
            "setting below range",
            "settings set password.min_length 7",
            "",
        ),
        (
            "setting above range",
            "settings set password.max_length 5000",
            "",
        ),
        ("bool setting", "settings set mfa.otp maybe", ""),
        ("unknown setting", "settings set no.such.key 1", ""),
        ("unknown setting read", "settings get no.such.key", ""),
        (
            "unknown field type",
            "field add colour --label Colour --type colour",
            "",
        ),
        (
            "unknown user access",
            "field add colour --label C --type text --user-access secret",
            "",
        ),
        (
            "bad field key",
            "field add Bad-Key --label X --type text",
            "",
        ),
        (
            "choice without options",
            "field add team --label Team --type choice",
            "",
        ),
        (
            "bad pattern",
            "field add code --label Code --type text --pattern (",
            "",
        ),
        (
            "common password",
            "user add weakling --password-stdin",
            "password\n",
        ),
        (
            "short password",
            "user add shorty --password-stdin",
            "kettle 42\n",
        ),
        (
            "password with the name",
            "user add marguerite --password-stdin",
            "marguerite kettle orbit 42\n",
        ),
        ("no password", "user add nopass --password-stdin", ""),
        ("duplicate user", "user add kim --password-stdin", pw),
        (
            "duplicate user, other case",
            "user add KIM --password-stdin",
            pw,
        ),
        (
            "duplicate email",
            "user add kim2 --email KIM@example.com --password-stdin",
            pw,
        ),
        (
            "bad email",
            "user add mo --email not-an-email --password-stdin",
            pw,
        ),
        ("bad mobile", "user add mo --mobile 12 --password-stdin", pw),
        ("unknown account", "user show nobody --json", ""),
    ];
    for (what, args, stdin) in cases {
        let args: Vec<&str> = args.split(' ').collect();
        let out = env.cli_with_stdin(&args, stdin);
        out.assert_refused(what);
        assert!(
            out.stdout.trim().is_empty(),
            "{what}: printed {:?}",
            out.stdout
        );
    }
    env.cli_with_stdin(&["user", "add", "bad name!", "--password-stdin"], pw)
        .assert_refused("bad account name");
    // Nothing was half-written.
    assert_eq!(env.account_names(), ["kim".to_string()].into());
    assert_eq!(env.get("password.min_length"), "12");
    assert_eq!(env.get("lockout.max_failures"), "5");
    assert!(env.show("kim")["fields"].as_object().unwrap().is_empty());
    // The setting error names the key.
    let out = env.cli(&["settings", "set", "password.min_length", "7"]);
    assert!(out.stderr.contains("password.min_length"), "{}", out.stderr);

    // Valid values are accepted and read back.
    env.set("password.min_length", "16");
    assert_eq!(env.get("password.min_length"), "16");
    env.set("mfa.otp", "on");
    assert_eq!(env.get("mfa.otp"), "true");
    let all = env.cli(&["settings", "get"]);
    all.assert_ok("settings get");
    assert!(
        all.stdout.contains("password.min_length = 16"),
        "{}",
        all.stdout
    );
    env.cli(&["migrate"]).assert_ok("migrate");
    // A 14-character password now fails the raised minimum.
    env.cli_with_stdin(
        &["user", "add", "newbie", "--password-stdin"],
        "kettle orbit 4\n",
    )
    .assert_refused("password under the new minimum");
}

#[test]
fn cli_usage_errors_are_one_line_too() {
    let env = Env::new();
    for args in [
        vec!["user", "add", "--password-stdin"],
        vec!["settings", "set", "password.min_length"],
        vec!["field", "add", "desk", "--label", "Desk"],
        vec!["user", "add", "x", "--password-stdin", "--colour", "red"],
        vec!["frobnicate"],
    ] {
        env.cli(&args).assert_refused(&args.join(" "));
    }
    // Help and version are not errors.
    let help = env.cli(&["--help"]);
    help.assert_ok("--help");
    assert!(help.stdout.contains("serve"));
    env.cli(&["--version"]).assert_ok("--version");
}

#[tokio::test]
async fn cli_works_while_serving_and_backup_is_readable() {
    let env = Env::new();
    let srv = env.serve();
    env.add_admin("root");
    env.add_user("nina", &["--email", "nina@example.com"]);
    let b = srv.browser();
    b.must_login("nina@example.com", PASSWORD).await;

    // Settings written by the CLI are read by the CLI at once.
    env.set("lockout.minutes", "30");
    assert_eq!(env.get("lockout.minutes"), "30");

    let backups = Env::new();
    let file = backups.path().join("latchkey.db");
    let out = env.cli(&["backup", file.to_str().unwrap()]);
    out.assert_ok("backup");
    assert!(file.is_file());
    let header = std::fs::read(&file).unwrap();
    assert!(
        header.starts_with(b"SQLite format 3\0"),
        "the backup is no SQLite database"
    );
    assert_eq!(
        backups.account_names(),
        ["nina".to_string(), "root".to_string()].into()
    );
    assert_eq!(backups.show("nina")["email"], json!("nina@example.com"));
    assert_eq!(backups.get("lockout.minutes"), "30");
    // A backup never overwrites a file.
    env.cli(&["backup", file.to_str().unwrap()])
        .assert_refused("backup over an existing file");

    // The server carried on.
    assert!(b.logged_on().await);
}

// ---------------------------------------------------------------------------------
// 12. Language
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn language_follows_accept_language_and_the_switcher() {
    let env = Env::new();
    env.add_user("zoe", &[]);
    let srv = env.serve();

    let en = srv.browser().get("/login").await;
    assert_eq!(en.lang().as_deref(), Some("en"));
    assert!(en.title().contains("Log on"), "{}", en.title());
    for header in [
        "zh-CN",
        "zh-CN,zh;q=0.9,en;q=0.8",
        "fr-FR, zh;q=0.5",
        "zh-Hans",
    ] {
        let zh = srv.browser().accept_language(header).get("/login").await;
        assert_eq!(
            zh.lang().as_deref(),
            Some("zh-CN"),
            "Accept-Language: {header}"
        );
        assert!(zh.title().contains("登录"), "{header}: {}", zh.title());
    }
    let de = srv.browser().accept_language("de-DE").get("/login").await;
    assert_eq!(de.lang().as_deref(), Some("en"));

    // The switcher sets a cookie that wins over Accept-Language.
    let b = srv.browser().accept_language("en-US,en;q=0.9");
    assert!(
        en.body.contains("/lang?to=zh-CN&amp;next=%2Flogin"),
        "the switcher links from the page"
    );
    let p = b.get("/lang?to=zh-CN&next=/account").await;
    p.assert_redirect("/account", "switch language");
    let cookie = set_cookie_header(&p, "lk_lang").expect("language cookie");
    assert!(cookie.starts_with("lk_lang=zh-CN"), "{cookie}");
    assert_eq!(b.get("/login").await.lang().as_deref(), Some("zh-CN"));

    // Logged on pages follow it too.
    b.must_login("zoe", PASSWORD).await;
    let me = b.get("/account").await;
    assert_eq!(me.lang().as_deref(), Some("zh-CN"));
    assert!(me.text().contains("我的账户"), "{}", me.text());
    assert!(!me.text().contains("My Account"));

    // Back to English; unknown languages and foreign next targets change nothing.
    b.get("/lang?to=en&next=/account")
        .await
        .assert_redirect("/account", "switch back");
    assert_eq!(b.get("/account").await.lang().as_deref(), Some("en"));
    let p = b.get("/lang?to=klingon&next=/account").await;
    p.assert_redirect("/account", "unknown language");
    assert!(set_cookie_header(&p, "lk_lang").is_none());
    b.get("/lang?to=zh-CN&next=//evil.example/")
        .await
        .assert_redirect("/", "open redirect");
    b.get("/lang?to=zh-CN&next=https://evil.example/")
        .await
        .assert_redirect("/", "open redirect");
}

// ---------------------------------------------------------------------------------
// 13. Configuration
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn bad_configuration_stops_serve_with_one_line_naming_the_key() {
    let env = Env::new();
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut c = env.command();
        c.args(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().expect("run latchkey");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, stdout, stderr) = run(&[("LATCHKEY_LISTEN", "nonsense")], &["serve"]);
    assert_ne!(code, Some(0));
    assert_eq!(code, Some(2), "bad input exits 2");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(lower(&stderr).contains("listen"), "{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");

    let (code, _, stderr) = run(&[("LATCHKEY_PUBLIC_URL", "ftp://example.com")], &["serve"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("public_url"), "{stderr}");

    let (code, _, stderr) = run(&[("LATCHKEY_PHONE_REGION", "XX")], &["serve"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("phone_region"), "{stderr}");

    // A config file with a key that does not exist, and one that is missing.
    let file = env.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlisten_port = 9\n").unwrap();
    let (code, _, stderr) = run(&[], &["--config", file.to_str().unwrap(), "serve"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("listen_port"), "{stderr}");
    let (code, _, stderr) = run(&[], &["--config", "no-such-file.toml", "serve"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no-such-file.toml"), "{stderr}");

    // The port is taken: a clear error, not a panic.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    let (code, _, stderr) = run(&[("LATCHKEY_LISTEN", &addr)], &["serve"]);
    assert_eq!(code, Some(2), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("latchkey:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&addr), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------
// 14. Security headers and cookies
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn security_headers_and_cookie_flags() {
    let env = Env::new();
    env.add_user("otto", &[]);
    let srv = env.serve();
    let b = srv.browser();

    let login = b.get("/login").await;
    let not_found = b.get("/nope").await;
    let health = b.get("/healthz").await;
    for (what, p) in [("login", &login), ("404", &not_found), ("healthz", &health)] {
        let csp = p
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"));
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
        assert!(
            csp.contains("default-src 'none'") || csp.contains("default-src 'self'"),
            "{what}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert_eq!(
            p.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            p.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{what}"
        );
    }
    assert_eq!(
        login.header("cache-control").as_deref(),
        Some("no-store"),
        "pages are never cached"
    );

    // No inline script or style anywhere, so the policy can forbid them.
    for p in [&login, &not_found] {
        assert!(!p.body.contains("<script"), "inline script");
        assert!(!p.body.contains(" style="), "inline style");
        assert!(!p.body.contains("<style"), "inline style");
    }
    let css = b.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));

    let csrf = set_cookie_header(&login, "lk_csrf").expect("lk_csrf cookie");
    assert!(csrf.contains("HttpOnly"), "{csrf}");
    assert!(csrf.contains("SameSite="), "{csrf}");
    assert!(csrf.contains("Path=/"), "{csrf}");

    let csrf_value = login.csrf().unwrap();
    let p = b
        .post(
            "/login",
            &[
                ("csrf", &csrf_value),
                ("username", "otto"),
                ("password", PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    p.assert_redirect("/account", "logon");
    let session = set_cookie_header(&p, "lk_session").expect("lk_session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(
        session.contains("SameSite=Lax") || session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(session.contains("Path=/"), "{session}");
    assert!(
        !session.contains("Secure"),
        "Secure on plain http would lose the cookie: {session}"
    );

    let me = b.get("/account").await;
    assert_eq!(me.status, 200);
    assert!(me.header("content-security-policy").is_some());
    assert_eq!(me.header("cache-control").as_deref(), Some("no-store"));
    assert!(!me.body.contains("<script") && !me.body.contains(" style="));
    // Session tokens never appear in a page.
    let token = b.cookie("lk_session").unwrap();
    assert!(!me.body.contains(&token));

    let lang = b.get("/lang?to=zh-CN&next=/login").await;
    let lang_cookie = set_cookie_header(&lang, "lk_lang").expect("lk_lang");
    assert!(lang_cookie.contains("SameSite="), "{lang_cookie}");
}

#[tokio::test]
async fn every_password_and_name_input_has_its_autocomplete_token() {
    let env = Env::new();
    env.add_admin("root");
    let srv = env.serve();
    let anonymous = srv.browser();
    let login = anonymous.get("/login").await;
    let r = srv.browser();
    r.must_login("root", PASSWORD).await;
    let account = r.get("/account").await;
    let password = r.get("/account/password").await;
    let input = |p: &Page, name: &str| -> String {
        let re = regex::Regex::new(&format!(
            r#"<input[^>]*name="{}"[^>]*>"#,
            regex::escape(name)
        ))
        .unwrap();
        re.find(&p.body)
            .unwrap_or_else(|| panic!("no input {name}"))
            .as_str()
            .to_string()
    };
    for (p, name, token) in [
        (&login, "username", "username"),
        (&login, "password", "current-password"),
        (&account, "account_name", "username"),
        (&account, "display_name", "nickname"),
        (&password, "current_password", "current-password"),
        (&password, "new_password", "new-password"),
        (&password, "new_password_confirm", "new-password"),
    ] {
        let tag = input(p, name);
        assert!(
            tag.contains(&format!(r#"autocomplete="{token}""#)),
            "{name}: {tag}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Translations: no page shows a raw catalog key
// ---------------------------------------------------------------------------------

const SETTING_KEYS: &[&str] = &[
    "password.min_length",
    "password.max_length",
    "password.min_classes",
    "password.blocklist",
    "password.forbid_account_name",
    "password.history",
    "password.max_age_days",
    "mfa.otp",
    "mfa.sms",
    "mfa.email",
    "mfa.required",
    "mfa.force_binding",
    "mfa.force_binding_max_age_days",
    "lockout.max_failures",
    "lockout.minutes",
    "session.idle_minutes",
    "session.absolute_hours",
    "session.reauth_minutes",
];

#[tokio::test]
async fn pages_show_no_untranslated_keys_in_either_language() {
    let env = Env::new();
    env.add_field("desk", "Desk", "text", &["--user-access", "editable"]);
    env.add_field("floor", "Floor", "number", &["--user-access", "editable"]);
    env.add_admin("root");
    let srv = env.serve();
    // Text inside <code> (event names, setting keys) is meant to look like keys.
    let code = regex::Regex::new(r"(?s)<code[^>]*>.*?</code>").unwrap();
    let key = regex::Regex::new(
        r"\b(?:nav|login|setup|account|password|policy|err|error|admin|field|form|sessions|flash|footer|audit|settings|warn|event)\.[a-z_]+\b",
    )
    .unwrap();
    assert!(
        key.is_match("Log on err.logon_invalid here"),
        "the key pattern finds keys"
    );
    assert!(!key.is_match("alice@corp.example.com latchkey.toml"));
    for lang in ["en", "zh-CN"] {
        let b = srv.browser().accept_language(lang);
        let mut pages = vec![
            ("/login".to_string(), b.get("/login").await),
            ("/nope".into(), b.get("/nope").await),
        ];
        let p = b.login("root", "wrong password for the page").await;
        pages.push(("failed logon".into(), p));
        b.must_login("root", PASSWORD).await;
        for path in [
            "/account",
            "/account/password",
            "/admin",
            "/admin/accounts",
            "/admin/fields",
            "/admin/settings",
            "/admin/audit",
        ] {
            pages.push((path.to_string(), b.get(path).await));
        }
        pages.push((
            "bad number".into(),
            b.submit("/account/fields", &[("field.floor", "x")]).await,
        ));
        pages.push(("csrf".into(), b.post("/account/profile", &[]).await));
        for (what, p) in &pages {
            let visible = code.replace_all(&p.body, "");
            let text = support::text_of(&visible);
            // Setting keys are shown on purpose next to their labels.
            let found: Vec<&str> = key
                .find_iter(&text)
                .map(|m| m.as_str())
                .filter(|k| !SETTING_KEYS.contains(k))
                .collect();
            assert!(
                found.is_empty(),
                "{lang} {what} shows catalog keys: {found:?}"
            );
            assert_eq!(p.lang().as_deref(), Some(lang), "{what}");
        }
        b.submit("/logout", &[]).await;
    }
}

/// My Account is served from a rendered copy while nothing changed (see
/// `web::page_cache`): a change made by another process must show at once.
#[tokio::test]
async fn my_account_shows_changes_made_from_the_cli_at_once() {
    let env = Env::new();
    env.add_user("kim", &["--display-name", "Kim Old"]);
    let srv = env.serve();
    let b = srv.browser();
    b.must_login("kim", PASSWORD).await;
    for _ in 0..3 {
        let p = b.get("/account").await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains("Kim Old") && !p.body.contains("Cost centre"));
    }
    env.add_field("cost_centre", "Cost centre", "text", &[]);
    let p = b.get("/account").await;
    assert!(
        p.body.contains("Cost centre"),
        "a field added by the CLI is shown at once"
    );
    // Another language is another page; the first one is still right afterwards.
    let zh = srv.browser().accept_language("zh-CN");
    zh.must_login("kim", PASSWORD).await;
    assert!(zh.get("/account").await.body.contains("我的账户"));
    assert!(b.get("/account").await.body.contains("My Account"));
}
