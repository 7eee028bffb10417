//! Federated logon, end to end, against a real OpenID Provider: `oidc-provider` (the
//! certified npm package) run by `node tests/oidc/op.mjs`, and the built-in `oidc`
//! connector plugin of a real `latchkey serve`. A test browser walks every hop itself:
//! the portal's redirect to the OP, the OP's development login and consent forms, the
//! redirect back to `/connectors/{id}/callback`.
//!
//! Needs Node.js 20+ and the OP's packages: `npm ci --prefix tests/oidc`.
//!
//! The stories: binding an IdP identity from My Account, logging on through it,
//! refusing identities nobody bound, unbinding, connectors not offered for logon or
//! binding, failed sign-ins (a client secret the OP rejects, a user who cancels), the
//! callback's `state` (wrong, missing, replayed, carried to another browser) and `iss`,
//! the second factor after an IdP logon, binding changes after an old logon, and
//! provisioning (auto-bound accounts, which have no unbind form).
//!
//! `defects` runs the same flows against a defect-injecting provider of our own
//! (`tests/oidc/fake-op.mjs`): each defect must be refused, each legal quirk tolerated.

mod defects;
pub mod harness;

use serde_json::{Value, json};

use crate::support::{Env, Page};
use harness::{
    Agent, Connector, World, at_the_op, cancel_at_the_op, form_to, query_param, resolve, with_param,
};

const CORP: Connector = Connector::new("corp", "Corp SSO");

/// `user show NAME --json`'s bindings.
pub(crate) fn bindings(env: &Env, name: &str) -> Vec<Value> {
    env.show(name)["bindings"]
        .as_array()
        .unwrap_or_else(|| panic!("user show {name}: no \"bindings\" array"))
        .clone()
}

pub(crate) fn binding(connector: &str, subject: &str, kind: &str) -> Value {
    json!({"connector": connector, "subject": subject, "kind": kind})
}

/// Makes the logon of every session of `account` `secs` older, as if time had passed
/// (the reauthentication window is minutes; a test should not wait that long).
fn age_logons(env: &Env, account: &str, secs: i64) {
    let n = env
        .db()
        .execute(
            "UPDATE sessions SET authenticated_at = authenticated_at - ?1, \
             created_at = created_at - ?1 \
             WHERE account_id = (SELECT id FROM accounts WHERE account_name = ?2)",
            rusqlite::params![secs, account],
        )
        .expect("age the sessions");
    assert!(n > 0, "{account} has no session to age");
}

/// The path of a portal URL or path, without its query.
pub(crate) fn path_only(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or(path)
}

/// Asserts the portal refused (a 4xx page) and the browser holds no session.
#[track_caller]
fn assert_refused(w: &World, b: &Agent, p: &Page, what: &str) {
    assert!(
        (400..500).contains(&p.status),
        "{what}: expected a refusal (4xx), got {}; page text: {:?}\n{}",
        p.summary(),
        p.text(),
        w.logs()
    );
    assert!(
        p.body.trim_start().starts_with("<!DOCTYPE html>"),
        "{what}: the refusal is not a page a person can read"
    );
    assert!(
        b.cookie("lk_session").is_none(),
        "{what}: the refused browser holds a session"
    );
}

/// Checks the portal's redirect to the OP: the authorization endpoint with the code
/// flow's parameters, PKCE S256, and this connector's callback. Returns the `state`.
#[track_caller]
pub(crate) fn check_authorization_request(w: &World, start: &Page, connector: &str) -> String {
    assert_eq!(
        start.status,
        303,
        "starting the sign-in at {connector}: {}\n{}",
        start.summary(),
        w.logs()
    );
    let to = start.location.clone().unwrap();
    assert!(
        to.starts_with(&format!("{}/auth?", w.op.issuer)),
        "not the OP's authorization endpoint: {to}"
    );
    let param = |name: &str| {
        query_param(&to, name).unwrap_or_else(|| panic!("no {name} in the OP URL {to}"))
    };
    assert_eq!(param("response_type"), "code");
    assert_eq!(param("client_id"), harness::CLIENT_ID);
    assert_eq!(
        param("redirect_uri"),
        w.portal.url(&format!("/connectors/{connector}/callback"))
    );
    assert!(param("scope").split(' ').any(|s| s == "openid"), "{to}");
    assert_eq!(param("code_challenge_method"), "S256");
    assert!(param("code_challenge").len() >= 43, "{to}");
    assert!(!param("nonce").is_empty(), "{to}");
    let state = param("state");
    assert!(
        state.len() >= 16 && state.bytes().all(|b| b.is_ascii_alphanumeric()),
        "state should be long and alphanumeric: {state:?}"
    );
    state
}

/// Starts a logon at `connector`, signs in at the OP as `login`, and returns the
/// callback URL the OP sent the browser to and the portal's answer to it (not followed).
pub(crate) async fn idp_logon(
    w: &World,
    b: &Agent,
    connector: &str,
    login: &str,
) -> (String, Page) {
    let start = b.get(&format!("/connectors/{connector}/login")).await;
    let state = check_authorization_request(w, &start, connector);
    let cb = at_the_op(b, &start, login).await;
    assert!(
        cb.starts_with(&w.portal.url(&format!("/connectors/{connector}/callback?"))),
        "the OP sent the browser to {cb}"
    );
    assert_eq!(query_param(&cb, "state").as_deref(), Some(state.as_str()));
    assert!(query_param(&cb, "code").is_some(), "{cb}");
    let p = b.get(&cb).await;
    (cb, p)
}

/// From My Account of a logged-on browser: the connector's bind form, then the OP as
/// `login`. Returns the callback URL (not visited).
pub(crate) async fn start_bind(w: &World, b: &Agent, connector: &str, login: &str) -> String {
    let me = b.account().await;
    let form = form_to(&me, &format!("/connectors/{connector}/bind")).unwrap_or_else(|| {
        panic!(
            "My Account has no bind form for {connector}; its text: {}",
            me.text()
        )
    });
    assert!(
        form.field("csrf").is_some_and(|c| !c.is_empty()),
        "the bind form has no csrf field: {form:?}"
    );
    let start = b.submit("/account", &form).await;
    let state = check_authorization_request(w, &start, connector);
    let cb = at_the_op(b, &start, login).await;
    assert_eq!(query_param(&cb, "state").as_deref(), Some(state.as_str()));
    cb
}

/// Binds `login` at the OP to the browser's account; asserts it lands on My Account
/// with an unbind form and no bind form for the connector. Returns that page.
pub(crate) async fn bind(w: &World, b: &Agent, connector: &str, login: &str) -> Page {
    let cb = start_bind(w, b, connector, login).await;
    let p = b.get(&cb).await;
    assert_eq!(
        p.status,
        303,
        "the bind callback: {}; text {:?}\n{}",
        p.summary(),
        p.text(),
        w.logs()
    );
    let (path, me) = b.follow(&cb, p).await;
    assert_eq!(
        path_only(&path),
        "/account",
        "after binding: {}",
        me.summary()
    );
    assert_eq!(me.status, 200, "{}", me.summary());
    assert!(
        form_to(&me, &format!("/connectors/{connector}/unbind")).is_some(),
        "My Account shows no unbind form after binding {connector}: {}",
        me.text()
    );
    assert!(
        form_to(&me, &format!("/connectors/{connector}/bind")).is_none(),
        "My Account still offers to bind {connector}"
    );
    // The binding is shown by the name the OP gave (or else its subject).
    let text = me.text();
    assert!(
        text.contains(&format!("User {login}")) || text.contains(&w.op.subject(login)),
        "My Account does not show the bound identity {login}: {text}"
    );
    me
}

// ---------------------------------------------------------------------------------
// a, b, d: bind from My Account, log on through the binding, unbind
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn bind_from_my_account_log_on_through_it_then_unbind() {
    let env = Env::new();
    env.add_user("alice", &[]);
    let w = World::start(&env, &[CORP]);

    // The logon page offers the connector (login = true).
    let anon = w.browser();
    let login = anon.get("/login").await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("/connectors/corp/login"),
        "the logon page has no link to /connectors/corp/login"
    );
    assert!(login.text().contains("Corp SSO"), "{}", login.text());

    // a. Alice binds her Corp SSO identity from My Account.
    let a = w.browser();
    a.must_login("alice").await;
    let me = a.account().await;
    assert!(
        me.text().contains("Corp SSO"),
        "My Account does not list the connector: {}",
        me.text()
    );
    assert!(form_to(&me, "/connectors/corp/unbind").is_none());
    // Without the CSRF token the bind form does nothing.
    let forged = a.post("/connectors/corp/bind", &[]).await;
    assert!(
        (400..500).contains(&forged.status),
        "a bind without csrf: {}",
        forged.summary()
    );
    assert!(bindings(&env, "alice").is_empty());

    bind(&w, &a, "corp", "alice-op").await;
    assert_eq!(
        bindings(&env, "alice"),
        vec![binding("corp", &w.op.subject("alice-op"), "manual")]
    );
    assert!(a.logged_on().await, "binding ended alice's session");

    // b. In a fresh browser, the bound identity logs alice on.
    let b = w.browser();
    let (cb, p) = idp_logon(&w, &b, "corp", "alice-op").await;
    assert_eq!(
        p.status,
        303,
        "logon through the bound identity: {}; text {:?}\n{}",
        p.summary(),
        p.text(),
        w.logs()
    );
    assert!(b.cookie("lk_session").is_some(), "no session cookie");
    let (path, me) = b.follow(&cb, p).await;
    assert_eq!(path_only(&path), "/account", "{}", me.summary());
    assert_eq!(me.status, 200);
    assert_eq!(
        me.input_value("account_name").as_deref(),
        Some("alice"),
        "logged on as someone else"
    );
    assert_eq!(
        env.list().len(),
        1,
        "a logon through a binding made an account"
    );

    // d. Alice unbinds it.
    let me = a.account().await;
    let unbind = form_to(&me, "/connectors/corp/unbind").expect("unbind form");
    assert!(
        unbind.field("csrf").is_some(),
        "the unbind form has no csrf field"
    );
    let action = resolve(&w.portal.url("/account"), &unbind.action);
    // Without the CSRF token: refused, the binding stays.
    let no_csrf: Vec<(&str, &str)> = unbind
        .fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let forged = a.post(&action, &no_csrf).await;
    assert!(
        (400..500).contains(&forged.status),
        "an unbind without csrf: {}",
        forged.summary()
    );
    assert_eq!(bindings(&env, "alice").len(), 1, "unbound without csrf");

    let p = a.submit("/account", &unbind).await;
    assert_eq!(p.status, 303, "unbind: {}; {:?}", p.summary(), p.text());
    let (path, me) = a.follow(&action, p).await;
    assert_eq!(path_only(&path), "/account");
    assert_eq!(me.status, 200);
    assert!(
        bindings(&env, "alice").is_empty(),
        "the binding survived the unbind"
    );
    assert!(form_to(&me, "/connectors/corp/unbind").is_none());
    assert!(
        form_to(&me, "/connectors/corp/bind").is_some(),
        "My Account no longer offers to bind corp"
    );

    // The identity no longer logs anyone on.
    let c = w.browser();
    let (_, p) = idp_logon(&w, &c, "corp", "alice-op").await;
    assert_refused(&w, &c, &p, "logon through an unbound identity");
    assert_eq!(p.status, 403, "{}", p.summary());
    assert_eq!(env.list().len(), 1);
}

// ---------------------------------------------------------------------------------
// c: an identity nobody bound
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_identity_is_refused_at_logon() {
    const BIND_ONLY: Connector = Connector {
        login: false,
        ..Connector::new("bind-only", "Bind Only SSO")
    };
    const LOGIN_ONLY: Connector = Connector {
        bind: false,
        ..Connector::new("login-only", "Login Only SSO")
    };
    let env = Env::new();
    env.add_user("alice", &[]);
    let w = World::start(&env, &[CORP, BIND_ONLY, LOGIN_ONLY]);

    let s = w.browser();
    let (_, p) = idp_logon(&w, &s, "corp", "stranger").await;
    assert_refused(&w, &s, &p, "logon as an unbound identity");
    assert_eq!(p.status, 403, "{}", p.summary());
    let text = p.text().to_lowercase();
    assert!(
        text.contains("bound") || text.contains("no account") || text.contains("linked"),
        "the refusal should say that no account is bound to this identity: {text}"
    );
    assert!(!s.logged_on().await);
    // Nothing was created or bound (provision = false).
    assert_eq!(env.account_names(), ["alice".to_string()].into());
    assert_eq!(env.list().len(), 1);
    assert!(bindings(&env, "alice").is_empty());

    // Connectors that do not exist are not found; a callback for one is refused.
    let x = w.browser();
    assert_eq!(x.get("/connectors/nope/login").await.status, 404);
    let p = x.get("/connectors/nope/callback?code=c&state=s").await;
    assert_refused(&w, &x, &p, "a callback at an unknown connector");

    // login = false: no link on the logon page, and the route does not start one;
    // bind = false: not offered on My Account, and the route does not start one.
    let login = x.get("/login").await;
    assert!(login.body.contains("/connectors/login-only/login"));
    assert!(
        !login.body.contains("/connectors/bind-only/login"),
        "the logon page offers a connector with login = false"
    );
    let p = x.get("/connectors/bind-only/login").await;
    assert!(
        !p.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&w.op.issuer)),
        "a connector with login = false started a logon: {}",
        p.summary()
    );
    assert_eq!(p.status, 404, "{}", p.summary());
    let a = w.browser();
    a.must_login("alice").await;
    let me = a.account().await;
    assert!(form_to(&me, "/connectors/bind-only/bind").is_some());
    assert!(
        form_to(&me, "/connectors/login-only/bind").is_none(),
        "My Account offers to bind a connector with bind = false"
    );
    let csrf = me.csrf().unwrap();
    let p = a
        .post("/connectors/login-only/bind", &[("csrf", csrf.as_str())])
        .await;
    assert!(
        !p.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&w.op.issuer)),
        "a connector with bind = false started a binding: {}",
        p.summary()
    );
    assert_eq!(p.status, 404, "{}", p.summary());
}

// ---------------------------------------------------------------------------------
// When the OP says no: a misconfigured client, a user who cancels
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn failed_sign_ins_are_explained_and_log_nobody_on() {
    const WRONG_SECRET: Connector = Connector {
        client_secret: "wrong client secret",
        ..Connector::new("wrong-secret", "Misconfigured SSO")
    };
    let env = Env::new();
    env.add_user("alice", &[]);
    let w = World::start(&env, &[CORP, WRONG_SECRET]);

    // A connector whose client secret the OP does not accept: the person is told an
    // administrator must act, nobody is logged on, and the detail is in the log.
    let bad = w.browser();
    let (_, p) = idp_logon(&w, &bad, "wrong-secret", "alice-op").await;
    assert!(bad.cookie("lk_session").is_none());
    assert!(
        p.text().contains("administrator"),
        "{} {:?}",
        p.summary(),
        p.text()
    );
    assert!(
        !p.body.contains("wrong client secret"),
        "the page shows the configured secret"
    );
    assert!(
        w.portal.log().contains("invalid_client"),
        "the log lacks the OP's answer: {}",
        w.logs()
    );

    // Cancelling at the OP: back at the portal, told so, not logged on.
    let k = w.browser();
    let start = k.get("/connectors/corp/login").await;
    check_authorization_request(&w, &start, "corp");
    let cb = cancel_at_the_op(&k, &start).await;
    assert_eq!(
        query_param(&cb, "error").as_deref(),
        Some("access_denied"),
        "{cb}"
    );
    let p = k.get(&cb).await;
    assert!(
        k.cookie("lk_session").is_none(),
        "a cancelled sign-in logged on"
    );
    assert!(
        p.text().to_lowercase().contains("cancel"),
        "the page should say the sign-in was cancelled: {} {:?}",
        p.summary(),
        p.text()
    );
    assert!(
        p.status < 500,
        "a sign-in the user cancelled is answered {} (a server/gateway error); \
         page text {:?}",
        p.status,
        p.text()
    );
    assert!(!k.logged_on().await);

    assert_eq!(env.list().len(), 1);
}

// ---------------------------------------------------------------------------------
// e: the callback's state
// ---------------------------------------------------------------------------------

/// Changes the last character of an alphanumeric state.
fn tampered(state: &str) -> String {
    let mut s = state.to_string();
    let last = s.pop().expect("non-empty state");
    s.push(if last == 'a' { 'b' } else { 'a' });
    s
}

#[tokio::test]
async fn the_callback_state_must_match_and_works_once() {
    let env = Env::new();
    for name in ["alice", "carol", "mallory"] {
        env.add_user(name, &[]);
    }
    let w = World::start(&env, &[CORP]);
    let a = w.browser();
    a.must_login("alice").await;
    bind(&w, &a, "corp", "alice-op").await;

    // A wrong, a missing and an empty state are refused (the OP's answer is genuine).
    let x = w.browser();
    let start = x.get("/connectors/corp/login").await;
    let state = check_authorization_request(&w, &start, "corp");
    let cb = at_the_op(&x, &start, "alice-op").await;
    for (what, bad) in [
        (
            "a wrong state",
            with_param(&cb, "state", Some(&tampered(&state))),
        ),
        ("no state", with_param(&cb, "state", None)),
        ("an empty state", with_param(&cb, "state", Some(""))),
    ] {
        let p = x.get(&bad).await;
        assert_refused(&w, &x, &p, &format!("a callback with {what}"));
    }

    // The OP's answer names another issuer (RFC 9207 mix-up defence): refused.
    let i = w.browser();
    let start = i.get("/connectors/corp/login").await;
    let cb = at_the_op(&i, &start, "alice-op").await;
    let p = i
        .get(&with_param(&cb, "iss", Some("http://127.0.0.1:9")))
        .await;
    assert!(
        p.status >= 400 && i.cookie("lk_session").is_none(),
        "a callback naming another issuer: {}",
        p.summary()
    );

    // A callback URL works once: the second visit is refused, in the same browser
    // and in another one.
    let y = w.browser();
    let (cb, p) = idp_logon(&w, &y, "corp", "alice-op").await;
    let (path, me) = y.follow(&cb, p).await;
    assert_eq!(
        path_only(&path),
        "/account",
        "{}\n{}",
        me.summary(),
        w.logs()
    );
    assert_eq!(me.input_value("account_name").as_deref(), Some("alice"));
    let again = y.get(&cb).await;
    assert!(
        (400..500).contains(&again.status),
        "the same callback URL was accepted twice: {}",
        again.summary()
    );
    let z = w.browser();
    let p = z.get(&cb).await;
    assert_refused(&w, &z, &p, "a spent callback URL in another browser");

    // A fresh callback URL carried to another browser (one that never started this
    // sign-in) does not log that browser on: the state belongs to the browser that
    // started it (RFC 6749 §10.12; else a link could log a victim into someone
    // else's account).
    let p1 = w.browser();
    let start = p1.get("/connectors/corp/login").await;
    let cb = at_the_op(&p1, &start, "alice-op").await;
    let q = w.browser();
    let p = q.get(&cb).await;
    assert_refused(&w, &q, &p, "a logon callback opened in another browser");

    // The same for a bind: mallory's bind callback, opened by logged-on carol, must
    // not bind mallory's identity to carol's account.
    let m = w.browser();
    m.must_login("mallory").await;
    let cb = start_bind(&w, &m, "corp", "mallory-op").await;
    let c = w.browser();
    c.must_login("carol").await;
    let p = c.get(&cb).await;
    assert!(
        bindings(&env, "carol").is_empty(),
        "carol's account was bound to mallory's identity by opening a link \
         (answer: {}; text {:?})",
        p.summary(),
        p.text()
    );
    assert_ne!(p.status, 200, "{}", p.summary());

    // An identity bound to alice cannot be bound by carol too.
    let cb = start_bind(&w, &c, "corp", "alice-op").await;
    let p = c.get(&cb).await;
    assert!(
        (400..500).contains(&p.status),
        "binding an identity that is bound to another account: {}",
        p.summary()
    );
    assert!(bindings(&env, "carol").is_empty());
    assert_eq!(
        bindings(&env, "alice"),
        vec![binding("corp", &w.op.subject("alice-op"), "manual")]
    );
}

// ---------------------------------------------------------------------------------
// The IdP replaces the password, not the second factor
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_federated_logon_meets_the_same_second_factor_rules() {
    let env = Env::new();
    env.add_user("alice", &["--mobile", "13800138000"]);
    // SMS codes can be sent (to nowhere: none is asked for), so a mobile is a factor.
    let w = World::start_with(
        &env,
        &[CORP],
        "[sms]\nwebhook_url = \"http://127.0.0.1:9/sms\"\n",
    );
    let a = w.browser();
    a.must_login("alice").await;
    bind(&w, &a, "corp", "alice-op").await;

    // Now a second factor is required at every logon (alice has one: her mobile).
    env.set("mfa.sms", "true");
    env.set("mfa.required", "true");
    // The server caches settings for up to 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let pw = w.browser();
    let login = pw.get("/login").await;
    let csrf = login.csrf().unwrap();
    let by_password = pw
        .post(
            "/login",
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", crate::support::PASSWORD),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(by_password.status, 303, "{}", by_password.summary());
    let second_step = by_password.location.clone().unwrap();
    assert_ne!(
        second_step, "/account",
        "the password logon skipped the second factor; this test needs it asked"
    );

    let f = w.browser();
    let (_, p) = idp_logon(&w, &f, "corp", "alice-op").await;
    assert_eq!(
        p.status,
        303,
        "{}; text {:?}\n{}",
        p.summary(),
        p.text(),
        w.logs()
    );
    assert_eq!(
        p.location.as_deref(),
        Some(second_step.as_str()),
        "a logon through the IdP must lead where the password logon leads"
    );
    let me = f.get("/account").await;
    assert_ne!(
        me.status, 200,
        "My Account is reachable before the second factor"
    );
}

// ---------------------------------------------------------------------------------
// Binding changes are sensitive: a recent logon, else the password again
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn binding_changes_need_a_recent_logon() {
    const OTHER: Connector = Connector::new("other", "Other SSO");
    let env = Env::new();
    env.add_user("alice", &[]);
    let w = World::start(&env, &[CORP, OTHER]);
    let a = w.browser();
    a.must_login("alice").await;
    bind(&w, &a, "corp", "alice-op").await;

    // An hour later (the default window is 10 minutes) the session still works…
    age_logons(&env, "alice", 3600);
    let me = a.account().await;
    // …but binding asks for the password again.
    let form = form_to(&me, "/connectors/other/bind").expect("bind form for other");
    assert!(
        form.field("password").is_some(),
        "the bind form does not ask for the password after an old logon"
    );
    let csrf = form.field("csrf").unwrap().to_string();
    let p = a
        .post("/connectors/other/bind", &[("csrf", csrf.as_str())])
        .await;
    assert!(
        !p.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&w.op.issuer)),
        "bound without the password after an old logon: {}",
        p.summary()
    );
    let p = a
        .post(
            "/connectors/other/bind",
            &[
                ("csrf", csrf.as_str()),
                ("password", "not alice's password"),
            ],
        )
        .await;
    assert!(
        !p.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&w.op.issuer)),
        "bound with a wrong password: {}",
        p.summary()
    );
    let p = a
        .post(
            "/connectors/other/bind",
            &[
                ("csrf", csrf.as_str()),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    check_authorization_request(&w, &p, "other");

    // Unbinding is as sensitive as binding: without the password nothing changes.
    age_logons(&env, "alice", 3600);
    let me = a.account().await;
    let unbind = form_to(&me, "/connectors/corp/unbind").expect("unbind form");
    let p = a
        .post(
            "/connectors/corp/unbind",
            &[("csrf", unbind.field("csrf").unwrap())],
        )
        .await;
    assert_eq!(
        bindings(&env, "alice").len(),
        1,
        "unbound without the password, an hour after the logon (answer {})",
        p.summary()
    );
    assert!(
        unbind.field("password").is_some(),
        "the unbind form does not ask for the password after an old logon"
    );
}

// ---------------------------------------------------------------------------------
// f: provisioning
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn provisioning_creates_an_auto_bound_account_without_an_unbind_form() {
    const CORP2: Connector = Connector {
        provision: true,
        trust_email: true,
        ..Connector::new("corp2", "Corp Two")
    };
    let env = Env::new();
    env.add_user("alice", &[]);
    let w = World::start(&env, &[CORP2]);
    let login = w.browser().get("/login").await;
    assert!(login.body.contains("/connectors/corp2/login"));

    // An identity nobody bound gets an account, auto-bound, and is logged on.
    let n = w.browser();
    let (cb, p) = idp_logon(&w, &n, "corp2", "newbie").await;
    assert_eq!(
        p.status,
        303,
        "provisioning logon: {}; text {:?}\n{}",
        p.summary(),
        p.text(),
        w.logs()
    );
    assert!(
        n.cookie("lk_session").is_some(),
        "no session after provisioning"
    );
    // The IdP gave no account name: the user chooses one before anything else.
    let (path, naming) = n.follow(&cb, p).await;
    assert_eq!(path, "/login/name", "{}", naming.summary());
    let accounts = env.list();
    let new = accounts
        .iter()
        .find(|a| a["account_name"] != json!("alice"))
        .unwrap();
    assert_eq!(
        new["account_name"],
        Value::Null,
        "the IdP gave no account name, so the account has none yet: {new}"
    );
    let form = form_to(&naming, "/login/name").expect("the naming form");
    let csrf = form.field("csrf").expect("csrf").to_string();
    let p = n
        .post(
            "/login/name",
            &[("csrf", &csrf), ("account_name", "newbie")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.summary());
    let me = n.account().await;
    assert!(
        me.text().contains("Corp Two"),
        "My Account does not list the connector: {}",
        me.text()
    );
    assert!(
        form_to(&me, "/connectors/corp2/unbind").is_none(),
        "an automatic binding has an unbind form"
    );
    assert!(
        form_to(&me, "/connectors/corp2/bind").is_none(),
        "My Account offers to bind corp2 although it is bound"
    );

    let accounts = env.list();
    assert_eq!(accounts.len(), 2, "{accounts:#?}");
    let new = accounts
        .iter()
        .find(|a| a["account_name"] != json!("alice"))
        .unwrap();
    assert_eq!(
        new["account_name"],
        json!("newbie"),
        "the chosen name: {new}"
    );
    assert_eq!(new["display_name"], json!("User newbie"), "{new}");
    // trust_email is on and the OP vouches for it, so the address counts as verified
    // (and `user show` finds the account by it).
    assert_eq!(new["email"], json!("newbie@example.test"), "{new}");
    assert_eq!(
        bindings(&env, "newbie@example.test"),
        vec![binding("corp2", &w.op.subject("newbie"), "auto")]
    );

    // The route refuses what the page does not offer: the binding stays.
    let csrf = me.csrf().expect("My Account has a csrf field");
    let p = n
        .post("/connectors/corp2/unbind", &[("csrf", csrf.as_str())])
        .await;
    assert_ne!(p.status, 200, "{}", p.summary());
    assert_eq!(
        bindings(&env, "newbie@example.test").len(),
        1,
        "an automatic binding was unbound (answer {})",
        p.summary()
    );

    // The next logon through the same identity reaches the same account.
    let n2 = w.browser();
    let (cb, p) = idp_logon(&w, &n2, "corp2", "newbie").await;
    assert_eq!(p.status, 303, "{}\n{}", p.summary(), w.logs());
    let (_, _) = n2.follow(&cb, p).await;
    let me2 = n2.account().await;
    assert!(me2.text().contains("newbie@example.test"), "{}", me2.text());
    assert_eq!(env.list().len(), 2, "a second account was provisioned");
    assert!(
        bindings(&env, "alice").is_empty(),
        "alice was bound to newbie"
    );
}
