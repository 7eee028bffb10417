//! DingTalk and WeCom, end to end: the built-in `dingtalk` and `wecom` connector plugins
//! of a real `latchkey serve` (and `latchkey import`) against loopback fakes of both
//! vendors (`fakes.rs`) that enforce the documented request shapes.
//!
//! The stories: importing a directory (paging, people in several departments,
//! idempotence, changed names, dry runs, `match_by` links and conflicts), the first
//! logon of an imported account without a name, automatic bindings without an unbind
//! form next to manual ones, refusal of non-members and external contacts, the org
//! email over the account-wide one, app-token expiry (refreshed once), a cancelled
//! sign-in, and the in-app browser hand-off.

mod fakes;

use serde_json::Value;

use crate::federation::harness::{Agent, Portal, form_to};
use crate::support::{Env, Page};
use fakes::{DingTalk, DtUser, WcLogin, WcUser, WeCom};

/// One `[[connectors]]` table.
fn connector(id: &str, plugin: &str, flags: &str, settings: &str) -> String {
    format!(
        "\n[[connectors]]\nid = \"{id}\"\nplugin = \"{plugin}\"\nname = \"{id} sign-in\"\nallow_http = true\n{flags}\n[connectors.settings]\n{settings}"
    )
}

/// Writes the config (for the CLI) and returns it with the portal's address.
fn configure(env: &Env, connectors: &[String]) -> String {
    let (port, base) = Portal::free_port();
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n{}",
        connectors.concat()
    );
    std::fs::create_dir_all(env.path().join("config")).expect("config dir");
    std::fs::write(env.path().join("config/latchkey.toml"), &toml).expect("config file");
    toml
}

/// `latchkey import ID [extra]`, which must succeed; its last line (the summary).
fn import(env: &Env, id: &str, extra: &[&str]) -> String {
    let mut args = vec!["import", id];
    args.extend_from_slice(extra);
    let out = env.cli(&args);
    out.assert_ok(&format!("import {id}"));
    out.stdout.lines().last().unwrap_or_default().to_string()
}

fn accounts(env: &Env) -> Vec<Value> {
    env.list()
}

fn by_display<'a>(list: &'a [Value], display: &str) -> Vec<&'a Value> {
    list.iter()
        .filter(|a| a["display_name"] == display)
        .collect()
}

/// Signs in at connector `id` (the fake has been told who signs in): the portal's
/// redirect to the IdP, the IdP's redirect back, then the portal's redirects.
async fn sign_in(b: &Agent, id: &str) -> (String, Page) {
    let start = b.get(&format!("/connectors/{id}/login")).await;
    through_idp(b, start).await
}

async fn through_idp(b: &Agent, start: Page) -> (String, Page) {
    assert!(
        matches!(start.status, 302 | 303),
        "the portal should send the browser to the IdP: {}",
        start.summary()
    );
    let at_idp = start.location.clone().expect("IdP URL");
    let back = b.get(&at_idp).await;
    assert_eq!(back.status, 302, "the IdP refused {at_idp}: {}", back.body);
    let callback = back.location.clone().expect("callback URL");
    let page = b.get(&callback).await;
    b.follow(&callback, page).await
}

/// The first-logon naming form: chooses `name`; returns where it led.
async fn choose_name(b: &Agent, page: &Page, name: &str) -> (String, Page) {
    let form = form_to(page, "/login/name").expect("the naming form");
    assert!(
        page.body.contains("autocomplete=\"username\""),
        "the account-name input has autocomplete=username"
    );
    let mut fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .filter(|(k, _)| k != "account_name")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.push(("account_name", name));
    let p = b.post("/login/name", &fields).await;
    b.follow("/login/name", p).await
}

fn org() -> Vec<DtUser> {
    // Root 1 ⊃ 2 ⊃ 4, and 1 ⊃ 3. Wang is in 2 and 3; Zhao is not a member.
    let mut zhang = DtUser::new("zhang", &[1]);
    zhang.mobile = "13800000001".into();
    let li = DtUser::new("li", &[2]);
    let mut wang = DtUser::new("wang", &[2, 3]);
    wang.org_email = String::new();
    wang.email = "wang.alt@corp.example.com".into();
    let zhou = DtUser::new("zhou", &[4]);
    let chen = DtUser::new("chen", &[4]);
    let mut zhao = DtUser::new("zhao", &[1]);
    zhao.member = false;
    vec![zhang, li, wang, zhou, chen, zhao]
}

const DEPTS: &[(i64, i64)] = &[(2, 1), (3, 1), (4, 2)];

#[test]
fn dingtalk_import_walks_departments_is_idempotent_and_updates_names() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    configure(
        &env,
        &[connector("dt", "dingtalk", "", &dt.settings_toml())],
    );

    // A dry run reports and writes nothing.
    let dry = import(&env, "dt", &["--dry-run"]);
    assert!(
        dry.contains("5 people: 5 created") && dry.contains("dry run"),
        "dry run summary: {dry}"
    );
    assert!(accounts(&env).is_empty(), "a dry run wrote accounts");

    let first = import(&env, "dt", &[]);
    assert!(
        first.contains("5 people: 5 created, 0 updated, 0 unchanged, 0 conflicts, 0 errors"),
        "first import: {first}"
    );
    let list = accounts(&env);
    assert_eq!(list.len(), 5, "one account per member: {list:?}");
    for who in ["zhang", "li", "wang", "zhou", "chen"] {
        let found = by_display(&list, &format!("{who} (org)"));
        assert_eq!(found.len(), 1, "{who} imported once: {list:?}");
        assert!(
            found[0]["account_name"].is_null(),
            "DingTalk accounts get no account name: {:?}",
            found[0]
        );
    }
    assert!(
        by_display(&list, "zhao (org)").is_empty(),
        "non-members are not imported"
    );
    // Org email (not the account-wide one), counted as verified: it finds the account.
    let zhang = env.show("zhang@corp.example.com");
    assert_eq!(zhang["display_name"], "zhang (org)");
    assert_eq!(zhang["mobile"], "+8613800000001");
    assert_eq!(
        zhang["bindings"],
        serde_json::json!([{"connector": "dt", "subject": "zhangUnionId", "kind": "auto"}])
    );
    assert_eq!(
        env.show("wang.alt@corp.example.com")["display_name"],
        "wang (org)"
    );
    assert!(
        env.try_show("zhang@personal.example.net").is_none(),
        "the account-wide email is not trusted"
    );

    // Again: nothing new. Then a renamed person is updated.
    let second = import(&env, "dt", &[]);
    assert!(
        second.contains("5 people: 0 created, 0 updated, 5 unchanged"),
        "second import: {second}"
    );
    dt.edit(|users| users[1].name = "Li Lei".into());
    let third = import(&env, "dt", &[]);
    assert!(
        third.contains("0 created, 1 updated, 4 unchanged"),
        "third import: {third}"
    );
    assert_eq!(env.show("li@corp.example.com")["display_name"], "Li Lei");
    assert_eq!(accounts(&env).len(), 5);

    // The walk was paged: department 4 was listed, and pages carried cursors.
    let lists = dt.requests("/topapi/v2/user/list");
    assert!(
        lists
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("\"dept_id\":4")),
        "department 4 (two levels down) was walked"
    );
    assert!(
        lists.len() >= 5,
        "user/list was paged ({} requests)",
        lists.len()
    );
}

#[test]
fn dingtalk_import_looks_up_members_listed_without_unionid() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    dt.list_without_unionid();
    configure(
        &env,
        &[connector("dt", "dingtalk", "", &dt.settings_toml())],
    );
    let first = import(&env, "dt", &[]);
    assert!(
        first.contains("5 people: 5 created, 0 updated, 0 unchanged, 0 conflicts, 0 errors"),
        "import: {first}"
    );
    assert_eq!(
        env.show("zhang@corp.example.com")["bindings"],
        serde_json::json!([{"connector": "dt", "subject": "zhangUnionId", "kind": "auto"}])
    );
    // Each member looked up once (Wang, in two departments, too).
    assert_eq!(dt.requests("/topapi/v2/user/get").len(), 5);
    let again = import(&env, "dt", &[]);
    assert!(
        again.contains("5 people: 0 created, 0 updated, 5 unchanged"),
        "second import: {again}"
    );
}

#[test]
fn import_links_by_match_by_and_reports_conflicts_without_duplicates() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    // Li is in WeCom too, with the same (verified) email as in DingTalk.
    let mut li = WcUser::new("li", &[1]);
    li.biz_mail = "li@corp.example.com".into();
    let wc = WeCom::start(vec![li]);
    configure(
        &env,
        &[
            connector(
                "dt",
                "dingtalk",
                "match_by = \"email\"",
                &dt.settings_toml(),
            ),
            connector("wc", "wecom", "", &wc.settings_toml()),
        ],
    );
    // A local account with Zhang's org email: linked. Li, imported from WeCom first, is
    // bound automatically there: a conflict, skipped.
    env.add_user("zhangsan", &["--email", "zhang@corp.example.com"]);
    let wecom = import(&env, "wc", &[]);
    assert!(
        wecom.contains("1 people: 1 created"),
        "wecom import: {wecom}"
    );
    assert_eq!(
        env.show("li@corp.example.com")["bindings"][0]["kind"],
        "auto"
    );

    let out = env.cli(&["import", "dt"]);
    out.assert_ok("import dt");
    let summary = out.stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains("5 people: 3 created, 1 updated, 0 unchanged, 1 conflicts"),
        "summary: {summary}\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("conflict:") && l.contains("liUnionId") && l.contains("wc")),
        "the conflict is reported: {}",
        out.stdout
    );
    let zhangsan = env.show("zhangsan");
    assert_eq!(
        zhangsan["bindings"],
        serde_json::json!([{"connector": "dt", "subject": "zhangUnionId", "kind": "auto"}]),
        "the local account was linked"
    );
    let list = accounts(&env);
    assert_eq!(list.len(), 5, "no duplicate for Li or Zhang: {list:?}");
    assert_eq!(env.show("li")["bindings"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_dingtalk_account_names_itself_at_first_logon() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    let wc = WeCom::start(vec![WcUser::new("zhouyi", &[1])]);
    let toml = configure(
        &env,
        &[
            connector(
                "dt",
                "dingtalk",
                "login = true\nbind = true",
                &dt.settings_toml(),
            ),
            connector(
                "wc",
                "wecom",
                "login = true\nbind = true",
                &wc.settings_toml(),
            ),
        ],
    );
    import(&env, "dt", &[]);
    env.add_user("taken", &[]);
    let portal = Portal::start(&env, &toml);
    let b = Agent::new(&portal.base);

    dt.will_sign_in("zhouUnionId");
    let (path, page) = sign_in(&b, "dt").await;
    assert_eq!(
        path, "/login/name",
        "an account without a name names itself first"
    );
    // Nothing else before that: My Account sends back to the naming form.
    let p = b.get("/account").await;
    p.assert_redirect("/login/name", "My Account before naming");
    // Taken and invalid names are refused, and change nothing.
    let (path, taken) = choose_name(&b, &page, "taken").await;
    assert_eq!(path, "/login/name");
    assert!(
        taken.status == 422 && taken.body.contains("already taken"),
        "{}",
        taken.summary()
    );
    let (_, bad) = choose_name(&b, &taken, "-not a name").await;
    assert_eq!(bad.status, 422, "{}", bad.summary());
    let (path, account) = choose_name(&b, &bad, "zhou.yi").await;
    assert!(
        path.starts_with("/account"),
        "{path}: {}",
        account.summary()
    );
    assert_eq!(account.status, 200);
    assert!(account.body.contains("zhou.yi"));
    // The DingTalk binding is automatic: shown, with no unbind form.
    assert!(account.body.contains("dt sign-in"));
    assert!(
        !account.body.contains("/connectors/dt/unbind"),
        "automatic bindings cannot be unbound"
    );
    let shown = env.show("zhou.yi");
    assert_eq!(shown["bindings"][0]["kind"], "auto");
    // The name is chosen once: the form is gone.
    b.get("/login/name")
        .await
        .assert_redirect("/account", "naming again");
    // Next logon goes straight to My Account.
    let b2 = Agent::new(&portal.base);
    dt.will_sign_in("zhouUnionId");
    let (path, _) = sign_in(&b2, "dt").await;
    assert_eq!(path, "/account");

    // Bindings in practice: WeCom bound by hand next to the automatic DingTalk binding,
    // then unbound (the DingTalk binding remains a way to log on).
    let account = b2.account().await;
    let form = form_to(&account, "/connectors/wc/bind").expect("a bind form for WeCom");
    wc.will_sign_in(WcLogin::Member("zhouyi".into()));
    let start = b2.submit("/account", &form).await;
    let (_, page) = through_idp(&b2, start).await;
    assert!(
        page.body.contains("/connectors/wc/unbind") && !page.body.contains("/connectors/dt/unbind"),
        "the manual binding has an unbind form, the automatic one none"
    );
    let mut kinds: Vec<(String, String)> = env.show("zhou.yi")["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .map(|b| (b["connector"].to_string(), b["kind"].to_string()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("\"dt\"".to_string(), "\"auto\"".to_string()),
            ("\"wc\"".to_string(), "\"manual\"".to_string())
        ]
    );
    let form = form_to(&page, "/connectors/wc/unbind").expect("unbind form");
    let p = b2.submit("/account", &form).await;
    let (_, page) = b2.follow("/account", p).await;
    assert!(!page.body.contains("/connectors/wc/unbind"));
    assert_eq!(
        env.show("zhou.yi")["bindings"].as_array().map(Vec::len),
        Some(1)
    );
    // The automatic binding cannot be removed through the route either.
    let csrf = page.csrf().expect("csrf");
    b2.post("/connectors/dt/unbind", &[("csrf", &csrf)]).await;
    assert_eq!(env.show("zhou.yi")["bindings"][0]["kind"], "auto");
}

#[tokio::test(flavor = "multi_thread")]
async fn dingtalk_refuses_non_members_and_provisions_with_the_org_email() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    let toml = configure(
        &env,
        &[connector(
            "dt",
            "dingtalk",
            "login = true\nprovision = true",
            &dt.settings_toml(),
        )],
    );
    let portal = Portal::start(&env, &toml);
    let b = Agent::new(&portal.base);

    dt.will_sign_in("zhaoUnionId");
    let (_, page) = sign_in(&b, "dt").await;
    assert!(
        page.body.contains("not a member"),
        "a non-member is told why: {}",
        page.summary()
    );
    assert!(!b.logged_on().await);
    assert!(accounts(&env).is_empty(), "no account for a non-member");

    // A member signs in: provisioned with the org email, never the account-wide one.
    dt.will_sign_in("chenUnionId");
    let (path, _) = sign_in(&b, "dt").await;
    assert_eq!(path, "/login/name");
    let chen = env.show("chen@corp.example.com");
    assert_eq!(chen["display_name"], "chen (org)");
    assert!(env.try_show("chen@personal.example.net").is_none());

    // The app token was fetched once and reused; when it expires it is renewed once.
    let issued = dt.app_tokens_issued();
    assert_eq!(issued, 1, "one app token for both sign-ins");
    dt.expire_tokens();
    let b2 = Agent::new(&portal.base);
    dt.will_sign_in("chenUnionId");
    let (path, _) = sign_in(&b2, "dt").await;
    assert_eq!(path, "/login/name", "signed in after the token was renewed");
    assert_eq!(dt.app_tokens_issued(), 2, "renewed exactly once");
    // The exchange was JSON with the documented fields (the fake refuses anything else).
    let exchanges = dt.requests("/v1.0/oauth2/userAccessToken");
    assert_eq!(
        exchanges.len(),
        3,
        "one exchange per sign-in, never retried"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wecom_bind_unbind_logon_token_expiry_external_and_cancel() {
    let env = Env::new();
    let mut ann = WcUser::new("ann", &[1, 2]);
    ann.name = "Ann Example".into();
    let wc = WeCom::start(vec![ann, WcUser::new("bo", &[2])]);
    let toml = configure(
        &env,
        &[connector(
            "wc",
            "wecom",
            "login = true\nbind = true",
            &wc.settings_toml(),
        )],
    );
    env.add_user("alice", &[]);
    let portal = Portal::start(&env, &toml);
    let b = Agent::new(&portal.base);

    // An unbound member cannot log on.
    wc.will_sign_in(WcLogin::Member("ann".into()));
    let (_, refused) = sign_in(&b, "wc").await;
    assert!(!b.logged_on().await, "{}", refused.summary());

    // Alice binds her WeCom identity from My Account.
    b.must_login("alice").await;
    let account = b.account().await;
    let form = form_to(&account, "/connectors/wc/bind").expect("a bind form for WeCom");
    wc.will_sign_in(WcLogin::Member("ann".into()));
    let start = b.submit("/account", &form).await;
    let (path, page) = through_idp(&b, start).await;
    assert_eq!(
        path.split('?').next(),
        Some("/account"),
        "{}",
        page.summary()
    );
    assert!(
        page.body.contains("/connectors/wc/unbind"),
        "a manual binding has an unbind form"
    );
    assert_eq!(
        env.show("alice")["bindings"],
        serde_json::json!([{"connector": "wc", "subject": "ann", "kind": "manual"}])
    );

    // Log on with it from a fresh browser; then again after the app token expired.
    let b2 = Agent::new(&portal.base);
    wc.will_sign_in(WcLogin::Member("ann".into()));
    let (path, _) = sign_in(&b2, "wc").await;
    assert_eq!(path, "/account");
    let before = wc.tokens_issued();
    wc.expire_tokens();
    let b3 = Agent::new(&portal.base);
    wc.will_sign_in(WcLogin::Member("ann".into()));
    let (path, _) = sign_in(&b3, "wc").await;
    assert_eq!(path, "/account", "logon after the token expired");
    assert_eq!(wc.tokens_issued(), before + 1, "the token was renewed once");

    // External contacts are refused; a cancelled sign-in says so.
    let b4 = Agent::new(&portal.base);
    wc.will_sign_in(WcLogin::External);
    let (_, ext) = sign_in(&b4, "wc").await;
    assert!(
        ext.body.contains("members"),
        "external contact: {}",
        ext.summary()
    );
    assert!(!b4.logged_on().await);
    wc.will_sign_in(WcLogin::Cancel);
    let (_, cancelled) = sign_in(&b4, "wc").await;
    assert!(
        cancelled.body.contains("cancel"),
        "cancelled: {}",
        cancelled.summary()
    );
    assert!(!b4.logged_on().await);

    // Unbind through the page (alice still has her password).
    let account = b.account().await;
    let form = form_to(&account, "/connectors/wc/unbind").expect("unbind form");
    let p = b.submit("/account", &form).await;
    let (_, page) = b.follow("/account", p).await;
    assert!(!page.body.contains("/connectors/wc/unbind"));
    assert_eq!(env.show("alice")["bindings"], serde_json::json!([]));
}

#[test]
fn wecom_import_pages_member_ids_and_names_accounts_by_userid() {
    let env = Env::new();
    let users: Vec<WcUser> = (0..7)
        .map(|i| WcUser::new(&format!("user{i}"), if i % 2 == 0 { &[1, 2] } else { &[3] }))
        .collect();
    let wc = WeCom::start(users);
    configure(&env, &[connector("wc", "wecom", "", &wc.settings_toml())]);
    let first = import(&env, "wc", &[]);
    assert!(first.contains("7 people: 7 created"), "first: {first}");
    let names = env.account_names();
    for i in 0..7 {
        assert!(
            names.contains(&format!("user{i}")),
            "user{i} named after its userid: {names:?}"
        );
    }
    assert_eq!(env.show("user3")["email"], "user3@wecom.example.com");
    let again = import(&env, "wc", &[]);
    assert!(
        again.contains("0 created, 0 updated, 7 unchanged"),
        "again: {again}"
    );
    assert!(
        wc.requests("/cgi-bin/user/list_id").len() >= 4,
        "list_id was paged"
    );
    assert_eq!(
        wc.requests("/cgi-bin/gettoken").len(),
        2,
        "one app token per import run (each CLI run is its own process)"
    );
}

#[test]
fn import_refuses_unknown_connectors_and_connectors_without_a_directory() {
    let env = Env::new();
    configure(
        &env,
        &[connector(
            "corp",
            "oidc",
            "",
            "issuer = \"http://127.0.0.1:9\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
        )],
    );
    let out = env.cli(&["import", "nope"]);
    out.assert_refused("import of an unknown connector");
    let out = env.cli(&["import", "corp"]);
    out.assert_refused("import from a connector without a directory");
    assert!(out.stderr.contains("no directory"), "{}", out.stderr);
    assert!(accounts(&env).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn my_account_offers_a_hand_off_inside_dingtalk_and_wecom() {
    let env = Env::new();
    env.add_user("alice", &[]);
    let server = env.serve();
    let b = server.browser();
    b.must_login("alice", crate::support::PASSWORD).await;
    let plain = b.get("/account").await;
    assert!(
        !plain.body.contains("inapp-h"),
        "no hand-off in a normal browser"
    );
    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
              (KHTML, like Gecko) Mobile/15E148 AliApp(DingTalk/7.5.0) com.laiwang.DingTalk/1";
    let inside = b.get_with("/account", &[("user-agent", ua)]).await;
    assert_eq!(inside.status, 200);
    assert!(
        inside.body.contains("inside the DingTalk app"),
        "{}",
        inside.body
    );
    assert!(
        inside.body.contains("/account\" target=\"_blank\""),
        "a link to this page for the system browser"
    );
    assert!(
        inside.body.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code"
    );
    let wecom = b
        .get_with(
            "/account",
            &[(
                "user-agent",
                "Mozilla/5.0 wxwork/4.1.10 MicroMessenger/7.0.1",
            )],
        )
        .await;
    assert!(wecom.body.contains("inside the WeCom app"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_console_imports_after_a_dry_run() {
    let env = Env::new();
    let dt = DingTalk::start(org(), DEPTS);
    let toml = configure(
        &env,
        &[connector("dt", "dingtalk", "", &dt.settings_toml())],
    );
    env.add_admin("root");
    env.add_user("plain", &[]);
    let portal = Portal::start(&env, &toml);

    // Not for ordinary users.
    let user = Agent::new(&portal.base);
    user.must_login("plain").await;
    assert_eq!(user.get("/admin/connectors/dt/import").await.status, 403);

    let b = Agent::new(&portal.base);
    b.must_login("root").await;
    let list = b.get("/admin/connectors").await;
    assert!(
        list.body.contains("href=\"/admin/connectors/dt/import\""),
        "the connectors page links to the import"
    );
    let page = b.get("/admin/connectors/dt/import").await;
    assert_eq!(page.status, 200);
    let form = form_to(&page, "/admin/connectors/dt/import").expect("the import form");
    let csrf = form.field("csrf").expect("csrf field").to_string();

    // Without the CSRF token: refused, nothing imported.
    let forged = b
        .post("/admin/connectors/dt/import", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403);
    let dry = b
        .post(
            "/admin/connectors/dt/import",
            &[("csrf", &csrf), ("dry_run", "on")],
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.summary());
    assert!(dry.body.contains("nothing was written"), "{}", dry.body);
    assert_eq!(accounts(&env).len(), 2, "the dry run wrote nothing");
    let real = b
        .post("/admin/connectors/dt/import", &[("csrf", &csrf)])
        .await;
    assert_eq!(real.status, 200, "{}", real.summary());
    assert!(
        real.body.contains("5 people in the directory"),
        "{}",
        real.body
    );
    assert_eq!(accounts(&env).len(), 7);
    // Audited, with the summary.
    let audit = b.get("/admin/audit").await;
    assert!(
        audit.body.contains("Directory import") && audit.body.contains("5 created"),
        "the import is in the audit log"
    );
}
