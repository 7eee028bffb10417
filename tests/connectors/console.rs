//! Connector instances made in the admin console (`/admin/connectors`): added against
//! the real OpenID Provider of `tests/federation` and used for logon and binding by the
//! running server (no restart), secrets never shown back and sealed in the database,
//! every check before anything is saved, and the console's refusals (strangers, forged
//! forms, deleting an instance accounts are bound to).

use crate::federation::harness::{Agent, World, form_to};
use crate::federation::{bind, bindings, idp_logon, path_only};
use crate::support::{Env, Page};

/// What the test OP knows the client by: long and unusual, so a search of every page
/// and of the database file for it means something.
const SECRET: &str = "Zq7-console-only-client-secret-4f9b21";

/// The database file and its write-ahead log, whole.
fn database_bytes(env: &Env) -> Vec<u8> {
    let mut bytes = Vec::new();
    for f in ["latchkey.db", "latchkey.db-wal"] {
        if let Ok(b) = std::fs::read(env.path().join(f)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn stored_instances(env: &Env) -> i64 {
    env.db()
        .query_row("SELECT count(*) FROM connector_instances", [], |r| r.get(0))
        .expect("count instances")
}

/// POSTs `fields` with the session's CSRF token, as the console's forms do.
async fn console_post(b: &Agent, path: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = b.account().await.csrf().expect("a csrf token");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

/// The `<input>` tag named `name` on the page.
fn input_tag(page: &Page, name: &str) -> String {
    let re = regex::Regex::new(r"<input\b[^>]*>").unwrap();
    re.find_iter(&page.body)
        .map(|m| m.as_str().to_string())
        .find(|t| t.contains(&format!(r#"name="{name}""#)))
        .unwrap_or_else(|| panic!("no input {name}: {}", page.text()))
}

#[tokio::test]
async fn an_instance_added_in_the_console_logs_on_and_binds_without_a_restart() {
    let env = Env::new();
    env.add_admin("root");
    env.add_user("alice", &[]);
    let w = World::start_for_console(&env, &["corp2"], SECRET);
    let admin = w.browser();
    admin.must_login("root").await;

    // No instance yet; the built-in oidc plugin can be added.
    let list = admin.get("/admin/connectors").await;
    assert_eq!(list.status, 200, "{}", list.summary());
    assert!(
        list.body.contains(r#"<option value="oidc">"#),
        "{}",
        list.text()
    );
    let anon = w.browser();
    assert!(!anon.get("/login").await.body.contains("/connectors/corp2/"));

    // The form is generated from the plugin's settings schema.
    let form = admin.get("/admin/connectors/new?plugin=oidc").await;
    assert_eq!(form.status, 200, "{}", form.summary());
    let secret = input_tag(&form, "setting.client_secret");
    assert!(secret.contains(r#"type="password""#) && secret.contains(r#"autocomplete="off""#));
    assert!(secret.contains(" required"), "{secret}");
    assert!(input_tag(&form, "setting.issuer").contains(r#"type="url""#));
    assert!(input_tag(&form, "setting.trust_email").contains(r#"type="checkbox""#));
    assert!(input_tag(&form, "setting.scopes").contains(r#"placeholder="openid profile email""#));
    assert_eq!(form.selected_option("match_by").as_deref(), Some("none"));

    let issuer = w.op.issuer.clone();
    let mut fields = vec![
        ("plugin", "oidc"),
        ("id", "corp2"),
        ("name", "Corp Two"),
        ("login", "true"),
        ("bind", "true"),
        ("allow_http", "true"),
        ("match_by", "none"),
        ("setting.issuer", issuer.as_str()),
        ("setting.client_id", "latchkey"),
        ("setting.client_secret", SECRET),
    ];
    let p = console_post(&admin, "/admin/connectors/new", &fields).await;
    p.assert_redirect("/admin/connectors/corp2/edit?done=created", "add corp2");
    assert_eq!(stored_instances(&env), 1);

    // The running server offers it at once, on the logon page and My Account.
    let login = anon.get("/login").await;
    assert!(
        login.body.contains("/connectors/corp2/login"),
        "{}",
        login.text()
    );
    assert!(login.text().contains("Corp Two"));

    // Binding, then logon, through it.
    let a = w.browser();
    a.must_login("alice").await;
    bind(&w, &a, "corp2", "alice-op").await;
    assert_eq!(bindings(&env, "alice")[0]["connector"], "corp2");
    let b = w.browser();
    let (cb, p) = idp_logon(&w, &b, "corp2", "alice-op").await;
    assert_eq!(p.status, 303, "{}\n{}", p.summary(), w.logs());
    let (path, me) = b.follow(&cb, p).await;
    assert_eq!(path_only(&path), "/account");
    assert_eq!(me.input_value("account_name").as_deref(), Some("alice"));

    // The secret is never shown back, and the database holds it only sealed.
    let edit = admin.get("/admin/connectors/corp2/edit").await;
    assert_eq!(edit.status, 200, "{}", edit.summary());
    assert!(
        edit.text().contains("Set; leave empty to keep it."),
        "{}",
        edit.text()
    );
    assert_eq!(
        edit.input_value("setting.client_secret").as_deref(),
        Some("")
    );
    assert_eq!(
        edit.input_value("setting.client_id").as_deref(),
        Some("latchkey")
    );
    assert!(
        edit.text()
            .contains(&w.portal.url("/connectors/corp2/callback"))
    );
    let audit = admin.get("/admin/audit?event=admin").await;
    assert!(audit.text().contains("Connector added"), "{}", audit.text());
    for page in [
        &list,
        &form,
        &edit,
        &audit,
        &admin.get("/admin/connectors").await,
    ] {
        assert!(!page.body.contains(SECRET), "a page shows the secret");
    }
    assert!(
        !contains(&database_bytes(&env), SECRET.as_bytes()),
        "the database holds the secret in the clear"
    );
    assert!(!w.portal.log().contains(SECRET), "the log holds the secret");

    // Editing with the secret left empty keeps it: a new logon still works.
    fields.retain(|(k, _)| *k != "setting.client_secret" && *k != "plugin" && *k != "id");
    fields.retain(|(k, _)| *k != "name");
    fields.push(("name", "Corp Two (renamed)"));
    fields.push(("setting.client_secret", ""));
    let p = console_post(&admin, "/admin/connectors/corp2/edit", &fields).await;
    p.assert_redirect("/admin/connectors/corp2/edit?done=saved", "edit corp2");
    assert!(
        anon.get("/login")
            .await
            .text()
            .contains("Corp Two (renamed)")
    );
    let c = w.browser();
    let (_, p) = idp_logon(&w, &c, "corp2", "alice-op").await;
    assert_eq!(
        p.status,
        303,
        "logon after an edit that kept the secret: {}\n{}",
        p.summary(),
        w.logs()
    );
    assert!(c.logged_on().await);

    // Deleting is refused while alice is bound; disabling is offered instead.
    let p = console_post(
        &admin,
        "/admin/connectors/corp2/delete",
        &[("confirm", "true")],
    )
    .await;
    assert_eq!(p.status, 409, "{}", p.summary());
    let why = p.field_error("confirm").unwrap_or_default();
    assert!(why.contains("Disable it instead"), "{}", p.summary());
    assert_eq!(stored_instances(&env), 1);
    assert_eq!(bindings(&env, "alice").len(), 1);

    // Disabled: gone from the logon page and My Account; its sign-in URL answers 404.
    let p = console_post(&admin, "/admin/connectors/corp2/disable", &[]).await;
    p.assert_redirect("/admin/connectors?done=saved", "disable corp2");
    assert!(!anon.get("/login").await.body.contains("/connectors/corp2/"));
    assert!(form_to(&a.account().await, "/connectors/corp2/").is_none());
    assert_eq!(anon.get("/connectors/corp2/login").await.status, 404);
    let list = admin.get("/admin/connectors").await;
    assert!(list.text().contains("Disabled"), "{}", list.text());
    let audit = admin.get("/admin/audit?event=admin").await;
    for event in ["Connector changed", "Connector disabled"] {
        assert!(
            audit.text().contains(event),
            "no {event:?} in {}",
            audit.text()
        );
    }
    assert!(!audit.body.contains(SECRET));
}

/// A console with the built-in oidc plugin and one configuration file instance whose
/// plugin does not exist.
fn console_env() -> Env {
    let env = Env::new();
    env.add_admin("root");
    env.add_user("alice", &[]);
    std::fs::create_dir_all(env.path().join("config")).unwrap();
    std::fs::write(
        env.path().join("config/latchkey.toml"),
        "[[connectors]]\nid = \"legacy\"\nplugin = \"nosuch\"\nname = \"Legacy SSO\"\n\
         [[connectors]]\nid = \"twin\"\nplugin = \"oidc\"\nname = \"Twin from the file\"\n",
    )
    .unwrap();
    env
}

fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("plugin", "oidc"),
        ("id", "corp3"),
        ("name", "Corp Three"),
        ("login", "true"),
        ("match_by", "none"),
        ("setting.issuer", "https://idp.example.com"),
        ("setting.client_id", "latchkey"),
        ("setting.client_secret", SECRET),
    ]
}

fn with(
    form: &[(&'static str, &'static str)],
    changes: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .copied()
        .collect();
    out.extend_from_slice(changes);
    out
}

#[tokio::test]
async fn the_console_checks_everything_before_saving_and_refuses_strangers() {
    let env = console_env();
    // An instance whose plugin was removed since it was added.
    env.cli(&["migrate"]).assert_ok("migrate");
    {
        env.db()
            .execute(
                "INSERT INTO connector_instances (id, plugin, name, login, bind, provision, \
             allow_http, match_by, enabled, settings, created_at, updated_at) \
             VALUES ('gone', 'removed-plugin', 'Gone SSO', 1, 1, 0, 0, 'none', 1, '{}', 0, 0), \
                    ('twin', 'oidc', 'Twin from the console', 1, 1, 0, 0, 'none', 1, '{}', 0, 0)",
                [],
            )
            .unwrap();
    }
    let srv = env.serve();
    let admin = srv.browser();
    admin.must_login("root", crate::support::PASSWORD).await;

    // Both faulty instances are listed as disabled, with the reason.
    let list = admin.get("/admin/connectors").await;
    assert_eq!(list.status, 200);
    let text = list.text();
    for (id, plugin) in [("legacy", "nosuch"), ("gone", "removed-plugin")] {
        let row = regex::Regex::new(&format!(r#"(?s)<tr id="connector-{id}">(.*?)</tr>"#))
            .unwrap()
            .captures(&list.body)
            .map(|c| crate::support::text_of(&c[1]))
            .unwrap_or_else(|| panic!("no row for {id}: {text}"));
        assert!(
            row.contains(&format!(
                "Disabled: plugin {plugin} is missing or broken: no loaded plugin has this id"
            )),
            "{row}"
        );
    }
    assert!(text.contains("from the config file"), "{text}");
    // A console instance whose id the file took later: shown, unused, still deletable.
    assert!(
        text.contains("Twin from the console")
            && text.contains("the configuration file has an instance with the same id, which wins"),
        "{text}"
    );
    let login = srv.browser().get("/login").await.text();
    assert!(
        login.contains("Twin from the file") && !login.contains("Twin from the console"),
        "{login}"
    );
    let p = admin
        .submit("/admin/connectors/twin/delete", &[("confirm", "true")])
        .await;
    p.assert_redirect("/admin/connectors?done=deleted", "delete the shadowed twin");
    assert!(
        !list.body.contains("/admin/connectors/legacy/edit"),
        "a config instance is editable"
    );
    assert!(
        !srv.browser()
            .get("/login")
            .await
            .body
            .contains("/connectors/gone/")
    );

    // The host's own checks: each problem next to its field, nothing saved.
    let bad = with(
        &valid_form(),
        &[
            ("id", "Bad Id"),
            ("name", ""),
            ("setting.issuer", "http://idp.example.com"),
            ("setting.client_id", ""),
        ],
    );
    let p = admin.submit("/admin/connectors/new", &bad).await;
    assert_eq!(p.status, 400, "{}", p.summary());
    for (field, says) in [
        ("id", "a-z, 0-9"),
        ("name", "1 to 100"),
        ("setting.issuer", "Plain http"),
        ("setting.client_id", "required"),
    ] {
        let e = p
            .field_error(field)
            .unwrap_or_else(|| panic!("no error at {field}: {}", p.summary()));
        assert!(e.contains(says), "{field}: {e}");
    }
    assert!(p.field_error("setting.client_secret").is_none());
    assert!(
        !p.body.contains(SECRET),
        "the refused form shows the secret back"
    );
    assert_eq!(p.input_value("setting.client_secret").as_deref(), Some(""));
    let p = admin
        .submit(
            "/admin/connectors/new",
            &with(&valid_form(), &[("setting.issuer", "not a url")]),
        )
        .await;
    assert!(
        p.field_error("setting.issuer")
            .is_some_and(|e| e.contains("full address")),
        "{}",
        p.summary()
    );
    // Ids of the configuration file are taken.
    let p = admin
        .submit(
            "/admin/connectors/new",
            &with(&valid_form(), &[("id", "legacy")]),
        )
        .await;
    assert!(
        p.field_error("id")
            .is_some_and(|e| e.contains("already has this id")),
        "{}",
        p.summary()
    );

    // The plugin's validate-settings: its words next to the field, nothing saved.
    let p = admin
        .submit(
            "/admin/connectors/new",
            &with(
                &valid_form(),
                &[
                    ("setting.scopes", "profile email"),
                    ("setting.token_auth", "magic"),
                ],
            ),
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.summary());
    assert!(
        p.field_error("setting.scopes")
            .is_some_and(|e| e.contains("must include openid")),
        "{}",
        p.summary()
    );
    assert!(
        p.field_error("setting.token_auth")
            .is_some_and(|e| e.contains("client_secret_basic")),
        "{}",
        p.summary()
    );
    assert_eq!(
        p.input_value("setting.scopes").as_deref(),
        Some("profile email"),
        "the typed value is kept"
    );
    assert_eq!(stored_instances(&env), 1, "a refused form saved something");

    // Forged forms and strangers change nothing.
    let no_csrf = admin.post("/admin/connectors/new", &valid_form()).await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.summary());
    let mut wrong = valid_form();
    wrong.push(("csrf", "not-the-token"));
    assert_eq!(
        admin.post("/admin/connectors/new", &wrong).await.status,
        403
    );
    let alice = srv.browser();
    alice.must_login("alice", crate::support::PASSWORD).await;
    assert_eq!(alice.get("/admin/connectors").await.status, 403);
    assert_eq!(
        alice.get("/admin/connectors/new?plugin=oidc").await.status,
        403
    );
    let p = alice.submit("/admin/connectors/new", &valid_form()).await;
    assert_eq!(p.status, 403, "{}", p.summary());
    assert_eq!(
        alice
            .submit("/admin/connectors/gone/disable", &[])
            .await
            .status,
        403
    );
    assert_eq!(stored_instances(&env), 1);

    // A valid form is saved; the secret only sealed; the instance can be deleted
    // (nobody is bound) after confirming.
    let p = admin.submit("/admin/connectors/new", &valid_form()).await;
    p.assert_redirect("/admin/connectors/corp3/edit?done=created", "add corp3");
    assert!(!contains(&database_bytes(&env), SECRET.as_bytes()));
    let p = admin.submit("/admin/connectors/corp3/delete", &[]).await;
    assert_eq!(p.status, 400, "delete without confirming: {}", p.summary());
    assert_eq!(stored_instances(&env), 2);
    // A sign-in in progress at corp3: deleting the instance ends it, so a new
    // instance reusing the id cannot complete it.
    let flows = |sql: &str| -> i64 {
        let db = env.db();
        db.execute_batch(sql).expect("flows sql");
        db.query_row(
            "SELECT count(*) FROM login_flows WHERE connector_id = 'corp3'",
            [],
            |r| r.get(0),
        )
        .expect("count flows")
    };
    let pending = "INSERT INTO login_flows (state, browser_hash, connector_id, purpose, nonce, \
                   pkce_verifier, redirect_uri, created_at, expires_at) VALUES ('s1', x'00', \
                   'corp3', 'login', 'n', 'v', 'r', 0, 9999999999)";
    assert_eq!(flows(pending), 1);
    let p = admin
        .submit("/admin/connectors/corp3/delete", &[("confirm", "true")])
        .await;
    p.assert_redirect("/admin/connectors?done=deleted", "delete corp3");
    assert_eq!(stored_instances(&env), 1);
    assert_eq!(flows(""), 0, "the pending sign-in outlived its connector");
    // Configuration file instances are not the console's to change.
    assert_eq!(
        admin
            .submit("/admin/connectors/legacy/disable", &[])
            .await
            .status,
        403
    );
    assert_eq!(admin.get("/admin/connectors/legacy/edit").await.status, 403);
}
