//! Federated logon against a defect-injecting OpenID Provider of our own
//! (`tests/oidc/fake-op.mjs`): one node process serving one provider per case under
//! `{origin}/{case}`, each wrong in exactly one way (or in a way the protocol allows),
//! and one `latchkey serve` with a connector instance per case (id = the case), every
//! one provisioning and trusting verified emails, so that an ID token the portal wrongly
//! accepted would create an account, bind an identity and log someone on.
//!
//! The provider approves at once (no forms), so each sign-in is: the portal's redirect,
//! the provider's redirect back with a code, the portal's answer. Every case runs in one
//! world, one after the other; a failing case does not stop the others, and the test
//! reports them all.
//!
//! - `good` is the control: binding and logging on through it work, so these checks
//!   can fail.
//! - Each defect (CONNECTORS.md's list, plus a discovery `issuer` that is not the
//!   configured one, an HS256 token keyed with the client secret, and several audiences
//!   without `azp`) is refused both at logon and at binding: an error page saying what
//!   went wrong in words a person understands, no session, no account, no binding, the
//!   reason in the log, and the code exchanged once.
//! - Each tolerance (`email_verified` as the string "true", `aud` as an array with
//!   `azp`, JWKS keys without `alg`, ES256, key rotation) logs on.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};

use super::harness::{
    Agent, Connector, Op, Portal, PortalPort, at_the_op, connector_toml, form_to,
};
use super::{binding, bindings, path_only};
use crate::support::{Env, Page};

/// Where a defect is caught: starting the sign-in (discovery), or at the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caught {
    AtStart,
    AtCallback,
}

/// A provider a relying party must refuse.
struct Defect {
    case: &'static str,
    caught: Caught,
    /// What the error page says (the connector's own sentence).
    says: &'static str,
    /// What the portal's log says about it (the connector's detail).
    logs: &'static str,
}

const TOKEN_CHECK: &str = "sign-in token failed a security check";

const DEFECTS: &[Defect] = &[
    Defect {
        case: "discovery-issuer-mismatch",
        caught: Caught::AtStart,
        says: "names a different issuer",
        logs: "discovery issuer",
    },
    Defect {
        case: "wrong-iss",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "ID token rejected: iss",
    },
    Defect {
        case: "wrong-aud",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "ID token rejected: aud",
    },
    Defect {
        case: "wrong-nonce",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "ID token rejected: nonce does not match",
    },
    Defect {
        case: "bad-signature",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "the signature does not verify",
    },
    Defect {
        case: "alg-none",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "is never accepted",
    },
    Defect {
        case: "expired",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "ID token rejected: expired",
    },
    Defect {
        case: "missing-kid",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "no kid in the header and 2",
    },
    Defect {
        case: "userinfo-sub-mismatch",
        caught: Caught::AtCallback,
        says: "do not agree about who signed in",
        logs: "userinfo sub",
    },
    Defect {
        case: "hs256-with-client-secret",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "HS256",
    },
    Defect {
        case: "several-audiences-no-azp",
        caught: Caught::AtCallback,
        says: TOKEN_CHECK,
        logs: "several audiences and no azp",
    },
];

/// Providers with legal quirks: logging on through them works.
const TOLERATED: &[&str] = &[
    "email-verified-string",
    "aud-array-with-azp",
    "jwks-keys-without-alg",
    "es256",
];

/// The fake provider, the portal, and alice (a local account, logged on, whose
/// browser binds).
struct Fake {
    env: Env,
    op: Op,
    portal: Portal,
    alice: Agent,
}

impl Fake {
    async fn start() -> Fake {
        let env = Env::new();
        env.add_user("alice", &[]);
        let op = Op::start_fake(env.path());
        let port = PortalPort::reserve();
        let cases = ["good", "key-rotation"]
            .into_iter()
            .chain(DEFECTS.iter().map(|d| d.case))
            .chain(TOLERATED.iter().copied());
        let mut toml = String::new();
        for case in cases {
            let c = Connector {
                provision: true,
                trust_email: true,
                ..Connector::new(case, case)
            };
            toml.push_str(&connector_toml(&c, &format!("{}/{case}", op.issuer)));
        }
        let portal = port.start(&env, &toml);
        let alice = Agent::new(&portal.base);
        alice.must_login("alice").await;
        Fake {
            env,
            op,
            portal,
            alice,
        }
    }

    fn browser(&self) -> Agent {
        Agent::new(&self.portal.base)
    }

    /// The issuer of a case, as the portal's connector knows it.
    fn issuer(&self, case: &str) -> String {
        format!("{}/{case}", self.op.issuer)
    }

    /// The subject the portal records for the provider's one account.
    fn subject(&self, case: &str) -> String {
        format!("{}#fake-user", self.issuer(case))
    }

    /// How often the case's endpoints were asked.
    async fn stats(&self, case: &str) -> Value {
        reqwest::get(format!("{}/control/stats", self.issuer(case)))
            .await
            .expect("fake OP stats")
            .json()
            .await
            .expect("fake OP stats JSON")
    }

    async fn rotate_keys(&self, case: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/control/rotate", self.issuer(case)))
            .send()
            .await
            .expect("fake OP rotate");
        assert!(r.status().is_success(), "rotate: {}", r.status());
    }

    /// The portal's log lines about connector `case`.
    fn log_about(&self, case: &str) -> String {
        let needle = format!("connector={case} ");
        self.portal
            .log()
            .lines()
            .filter(|l| l.contains(&needle))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn logs(&self) -> String {
        let tail = |s: String, n: usize| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        format!(
            "--- latchkey log (tail) ---\n{}\n--- fake OP log (tail) ---\n{}",
            tail(self.portal.log(), 30),
            tail(self.op.log(), 15)
        )
    }

    /// From `start` (the portal's answer to starting a sign-in at `case`): through the
    /// provider (which approves at once) and back; the portal's answer to the callback
    /// and its URL.
    async fn through_the_op(&self, b: &Agent, start: &Page, case: &str) -> (String, Page) {
        assert_eq!(
            start.status,
            303,
            "{case}: starting the sign-in: {}; text {:?}\n{}",
            start.summary(),
            start.text(),
            self.logs()
        );
        let to = start.location.clone().unwrap_or_default();
        assert!(
            to.starts_with(&format!("{}/authorize?", self.issuer(case))),
            "{case}: not sent to the provider's authorization endpoint: {to}"
        );
        let cb = at_the_op(b, start, "fake-user").await;
        assert!(
            cb.starts_with(&self.portal.base),
            "{case}: the provider sent the browser to {cb}"
        );
        let p = b.get(&cb).await;
        (cb, p)
    }

    /// A logon through `case` in a fresh browser: the portal's last answer (the callback's,
    /// or the start's when that already failed), and the browser.
    async fn logon(&self, case: &str, caught: Caught) -> (Page, Agent) {
        let b = self.browser();
        let start = b.get(&format!("/connectors/{case}/login")).await;
        if caught == Caught::AtStart {
            return (start, b);
        }
        let (_, p) = self.through_the_op(&b, &start, case).await;
        (p, b)
    }

    /// Alice binds through `case` from My Account: the portal's last answer.
    async fn bind(&self, case: &str, caught: Caught) -> Page {
        let me = self.alice.account().await;
        let form = form_to(&me, &format!("/connectors/{case}/bind"))
            .unwrap_or_else(|| panic!("{case}: My Account has no bind form: {}", me.text()));
        let start = self.alice.submit("/account", &form).await;
        if caught == Caught::AtStart {
            return start;
        }
        self.through_the_op(&self.alice, &start, case).await.1
    }
}

/// The error page a person sees when a sign-in fails at the provider's end.
#[track_caller]
fn assert_error_page(f: &Fake, p: &Page, d: &Defect, what: &str) {
    let case = d.case;
    assert_eq!(
        p.status,
        502,
        "{case} ({what}): expected the portal's error page (502), got {}; text {:?}\n{}",
        p.summary(),
        p.text(),
        f.logs()
    );
    assert!(
        p.body.trim_start().starts_with("<!DOCTYPE html>"),
        "{case} ({what}): the refusal is not a page a person can read"
    );
    let text = p.text();
    assert!(
        text.contains("Sign-in did not work") && text.contains(d.says),
        "{case} ({what}): the page should say the sign-in did not work and {:?}: {text:?}",
        d.says
    );
    // The detail is for the log, not for the page. (A JWT's second part starts ".eyJ";
    // a bare "eyJ" can occur by chance in the page's random CSRF token.)
    assert!(
        !text.contains("eyJ"),
        "{case} ({what}): the page shows a token: {text:?}"
    );
    for leak in ["ID token rejected", ".eyJ", "fake-user", "impostor"] {
        assert!(
            !p.body.contains(leak),
            "{case} ({what}): the page shows the detail {leak:?}: {text:?}"
        );
    }
}

/// Runs `check` for every item as its own task, one after the other (a failed one
/// does not stop the rest), and fails with the list of those that failed.
async fn each<T, F, Fut>(fake: &Arc<Fake>, items: &[T], check: F)
where
    T: Copy + Send + 'static + std::fmt::Display,
    F: Fn(Arc<Fake>, T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failed = Vec::new();
    for &item in items {
        if let Err(e) = tokio::spawn(check(fake.clone(), item)).await {
            let why = e
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "(no message)".into());
            failed.push(format!(
                "{item}: {}",
                why.lines().next().unwrap_or_default()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed (details above):\n  {}",
        failed.len(),
        items.len(),
        failed.join("\n  ")
    );
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.case)
    }
}

#[tokio::test]
async fn a_defective_provider_is_refused_and_a_quirky_one_tolerated() {
    let fake = Arc::new(Fake::start().await);
    let f = &fake;

    // The control: alice binds the good provider's account, and it logs her on.
    let p = f.bind("good", Caught::AtCallback).await;
    assert_eq!(
        p.status,
        303,
        "binding through the good provider: {}\n{}",
        p.summary(),
        f.logs()
    );
    let me = f.alice.account().await;
    assert!(
        form_to(&me, "/connectors/good/unbind").is_some(),
        "My Account shows no binding to the good provider: {}",
        me.text()
    );
    assert_eq!(
        bindings(&f.env, "alice"),
        vec![binding("good", &f.subject("good"), "manual")]
    );
    let (p, b) = f.logon("good", Caught::AtCallback).await;
    assert_eq!(
        p.status,
        303,
        "logon through the good provider: {}\n{}",
        p.summary(),
        f.logs()
    );
    let (path, me) = b.follow("/connectors/good/callback", p).await;
    assert_eq!(path_only(&path), "/account", "{}", me.summary());
    assert_eq!(me.input_value("account_name").as_deref(), Some("alice"));
    let stats = f.stats("good").await;
    assert_eq!(
        stats["token"],
        json!(2),
        "one code exchange per sign-in: {stats}"
    );
    assert_eq!(stats["jwks"], json!(1), "the JWKS is cached: {stats}");

    // Every defect: refused at logon and at binding; nothing created, bound or logged on.
    each(
        &fake,
        &DEFECTS.iter().collect::<Vec<_>>(),
        |f, d| async move {
            let case = d.case;
            let (p, b) = f.logon(case, d.caught).await;
            assert_error_page(&f, &p, d, "logon");
            assert!(
                b.cookie("lk_session").is_none(),
                "{case}: a session cookie after the refusal"
            );
            assert!(
                !b.logged_on().await,
                "{case}: My Account is reachable after the refusal"
            );

            let p = f.bind(case, d.caught).await;
            assert_error_page(&f, &p, d, "binding");
            let me = f.alice.account().await;
            assert!(
                form_to(&me, &format!("/connectors/{case}/bind")).is_some()
                    && form_to(&me, &format!("/connectors/{case}/unbind")).is_none(),
                "{case}: My Account shows a binding after the refusal"
            );

            assert!(
                f.env.try_show(&format!("{case}@example.test")).is_none(),
                "{case}: an account was provisioned from a refused sign-in"
            );
            let log = f.log_about(case);
            assert!(
                log.contains(d.logs),
                "{case}: the log should say {:?}; it says:\n{log}",
                d.logs
            );
            let stats = f.stats(case).await;
            let (authorized, exchanged) = match d.caught {
                Caught::AtStart => (0, 0),
                Caught::AtCallback => (2, 2),
            };
            assert_eq!(
                (stats["authorize"].clone(), stats["token"].clone()),
                (json!(authorized), json!(exchanged)),
                "{case}: authorization requests and code exchanges: {stats}"
            );
        },
    )
    .await;
    assert_eq!(
        bindings(&f.env, "alice"),
        vec![binding("good", &f.subject("good"), "manual")],
        "a refused binding left a trace"
    );
    assert_eq!(
        f.env.list().len(),
        1,
        "a refused sign-in created an account"
    );

    // Every tolerance: the logon provisions an account and lands on My Account.
    each(&fake, TOLERATED, |f, case| async move {
        let (p, b) = f.logon(case, Caught::AtCallback).await;
        assert_eq!(
            p.status,
            303,
            "{case}: {}; text {:?}\n{}",
            p.summary(),
            p.text(),
            f.log_about(case)
        );
        // The provider gives no account name: the new account chooses one first.
        let (path, naming) = b.follow(&format!("/connectors/{case}/callback"), p).await;
        assert_eq!(
            path_only(&path),
            "/login/name",
            "{case}: {}",
            naming.summary()
        );
        let csrf = naming.csrf().expect("the naming form has a csrf field");
        let named = b
            .post("/login/name", &[("csrf", &csrf), ("account_name", case)])
            .await;
        assert_eq!(named.status, 303, "{case}: naming: {}", named.summary());
        let me = b.account().await;
        assert!(
            me.text().contains(&format!("Fake User ({case})")),
            "{case}: My Account is not the provisioned account's: {}",
            me.text()
        );
        // trust_email is on and the provider vouches (the string "true" too): the
        // address counts as verified, so `user show` finds the account by it.
        let email = format!("{case}@example.test");
        let account = f
            .env
            .try_show(&email)
            .unwrap_or_else(|| panic!("{case}: no account with the verified email {email}"));
        assert_eq!(
            account["bindings"],
            json!([binding(case, &f.subject(case), "auto")]),
            "{case}"
        );
    })
    .await;

    // Key rotation: the JWKS is cached, then fetched once more for a key it lacks.
    let case = "key-rotation";
    for round in ["before", "after"] {
        if round == "after" {
            f.rotate_keys(case).await;
        }
        let (p, b) = f.logon(case, Caught::AtCallback).await;
        assert_eq!(
            p.status,
            303,
            "{case} ({round} the rotation): {}; text {:?}\n{}",
            p.summary(),
            p.text(),
            f.log_about(case)
        );
        // Logged on: My Account, or (the provider gives no account name) the naming step.
        let me = b.get("/account").await;
        assert!(
            me.status == 200 || me.location.as_deref() == Some("/login/name"),
            "{case} ({round} the rotation): {}",
            me.summary()
        );
    }
    let stats = f.stats(case).await;
    assert_eq!(stats["jwks"], json!(2), "{case}: JWKS fetches: {stats}");
    assert_eq!(
        f.env.list().len(),
        2 + TOLERATED.len(),
        "alice, one account per tolerance, one for key-rotation (logged on twice)"
    );
}
