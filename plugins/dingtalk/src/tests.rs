//! The connector against a scripted DingTalk, through the SDK harness.

use latchkey_connector_sdk::testing::{self, Harness};
use latchkey_connector_sdk::{ErrorKind, Identity, http};
use serde_json::{Value, json};

use super::DingTalk;
use crate::api::{self, Failure};
use crate::directory::Walk;

const LOGIN: &str = "https://login.dt.test";
const API: &str = "https://api.dt.test";
const OAPI: &str = "https://oapi.dt.test";
const USER_TOKEN_URL: &str = "https://api.dt.test/v1.0/oauth2/userAccessToken";
const APP_TOKEN_URL: &str = "https://api.dt.test/v1.0/oauth2/accessToken";
const ME_URL: &str = "https://api.dt.test/v1.0/contact/users/me";
const BY_UNION_URL: &str = "https://oapi.dt.test/topapi/user/getbyunionid";
const USER_GET_URL: &str = "https://oapi.dt.test/topapi/v2/user/get";
const LISTSUB_URL: &str = "https://oapi.dt.test/topapi/v2/department/listsub";
const USER_LIST_URL: &str = "https://oapi.dt.test/topapi/v2/user/list";

fn harness() -> Harness<DingTalk> {
    Harness::new([
        ("client_id", "dingappkey"),
        ("client_secret", "s3cr=t+x"),
        ("login_base", LOGIN),
        ("api_base", API),
        ("oapi_base", OAPI),
    ])
}

fn member_record() -> Value {
    json!({
        "userid": "manager4220", "unionid": "union-1", "name": "张三",
        "email": "zhangsan@corp.example", "org_email": "zs@org.example",
        "mobile": "15000009144", "state_code": "86", "avatar": "https://img.test/org.png"
    })
}

/// A DingTalk that accepts everything: user token, users/me, app token,
/// membership and the member record.
fn script_happy(h: &Harness<DingTalk>) {
    h.host.on("POST", USER_TOKEN_URL).json(&json!({
        "accessToken": "user-at", "refreshToken": "rt", "expireIn": 7200, "corpId": "dingcorp"
    }));
    h.host.on("GET", ME_URL).json(&json!({
        "nick": "zhangsan", "avatarUrl": "https://img.test/me.png", "mobile": "13900000000",
        "stateCode": "86", "openId": "open-1", "unionId": "union-1",
        "email": "private@elsewhere.example"
    }));
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "app-at", "expireIn": 7200}));
    h.host.on("POST", BY_UNION_URL).json(&json!({
        "errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": "manager4220"}
    }));
    h.host
        .on("POST", USER_GET_URL)
        .json(&json!({"errcode": 0, "errmsg": "ok", "result": member_record()}));
}

fn body(request: &http::Request) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

fn sign_in(h: &Harness<DingTalk>) -> latchkey_connector_sdk::Result<Identity> {
    h.complete(&testing::callback([
        ("authCode", "auth-code-1"),
        ("state", testing::STATE),
    ]))
}

#[test]
fn describe_lists_the_settings_with_production_defaults() {
    let m = harness().describe();
    assert_eq!((m.id.as_str(), m.name.as_str()), ("dingtalk", "DingTalk"));
    let keys: Vec<_> = m.settings.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "client_id",
            "client_secret",
            "corp_id",
            "login_base",
            "api_base",
            "oapi_base"
        ]
    );
    let default = |k: &str| {
        m.settings
            .iter()
            .find(|s| s.key == k)
            .and_then(|s| s.default.clone())
    };
    assert_eq!(
        default("login_base").as_deref(),
        Some("https://login.dingtalk.com")
    );
    assert_eq!(
        default("api_base").as_deref(),
        Some("https://api.dingtalk.com")
    );
    assert_eq!(
        default("oapi_base").as_deref(),
        Some("https://oapi.dingtalk.com")
    );
}

#[test]
fn authorize_url_is_exact_and_encoded() {
    let h = harness();
    let url = h.begin(&testing::begin_request()).unwrap();
    assert_eq!(
        url,
        format!(
            "{LOGIN}/oauth2/auth?redirect_uri=https%3A%2F%2Fportal.test%2Flogin%2Fcallback&response_type=code&client_id=dingappkey&scope=openid&state={}&prompt=consent",
            testing::STATE
        )
    );
}

#[test]
fn authorize_url_asks_for_corpid_when_restricted_and_keeps_a_base_path() {
    let mut h = harness();
    h.set("corp_id", "dingcorp");
    h.set("login_base", "http://127.0.0.1:9/dt/");
    let mut request = testing::begin_request();
    request.redirect_uri = "https://portal.test/cb?a=1&b=x+y".into();
    let url = h.begin(&request).unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:9/dt/oauth2/auth?redirect_uri=https%3A%2F%2Fportal.test%2Fcb%3Fa%3D1%26b%3Dx%2By&"),
        "{url}"
    );
    assert!(url.contains("&scope=openid%20corpid&"), "{url}");
    let parsed = http::get(url.as_str());
    assert_eq!(
        parsed.query_param("redirect_uri").as_deref(),
        Some("https://portal.test/cb?a=1&b=x+y")
    );
    assert_eq!(
        parsed.query_param("scope").as_deref(),
        Some("openid corpid")
    );
}

#[test]
fn sign_in_sends_the_documented_requests_and_maps_the_org_record() {
    let h = harness();
    script_happy(&h);
    let identity = sign_in(&h).unwrap();
    assert_eq!(
        identity,
        Identity {
            subject: "union-1".into(),
            display_name: Some("张三".into()),
            email: Some("zs@org.example".into()),
            email_verified: true,
            mobile: Some("+8615000009144".into()),
            mobile_verified: true,
            avatar_url: Some("https://img.test/org.png".into()),
            account_name_hint: None,
        }
    );

    let exchange = &h.host.requests_to("POST", USER_TOKEN_URL)[0];
    assert_eq!(
        exchange.header_value("content-type"),
        Some("application/json")
    );
    assert_eq!(
        body(exchange),
        json!({"clientId": "dingappkey", "clientSecret": "s3cr=t+x", "code": "auth-code-1", "grantType": "authorization_code"})
    );
    let me = &h.host.requests_to("GET", ME_URL)[0];
    assert_eq!(
        me.header_value("x-acs-dingtalk-access-token"),
        Some("user-at")
    );
    let app = &h.host.requests_to("POST", APP_TOKEN_URL)[0];
    assert_eq!(
        body(app),
        json!({"appKey": "dingappkey", "appSecret": "s3cr=t+x"})
    );
    let by_union = &h.host.requests_to("POST", BY_UNION_URL)[0];
    assert_eq!(
        by_union.query_param("access_token").as_deref(),
        Some("app-at")
    );
    assert_eq!(body(by_union), json!({"unionid": "union-1"}));
    let user_get = &h.host.requests_to("POST", USER_GET_URL)[0];
    assert_eq!(
        user_get.query_param("access_token").as_deref(),
        Some("app-at")
    );
    assert_eq!(body(user_get), json!({"userid": "manager4220"}));
    assert_eq!(h.host.requests().len(), 5);
    // Nothing secret in the log.
    for (_, line) in h.host.logs() {
        assert!(
            !line.contains("app-at") && !line.contains("user-at") && !line.contains("auth-code-1"),
            "{line}"
        );
    }
}

#[test]
fn code_is_accepted_when_auth_code_is_absent() {
    let h = harness();
    script_happy(&h);
    h.complete(&testing::callback([("code", "plain-code")]))
        .unwrap();
    let exchange = &h.host.requests_to("POST", USER_TOKEN_URL)[0];
    assert_eq!(body(exchange)["code"], "plain-code");
}

#[test]
fn missing_code_is_cancelled_and_errors_are_mapped() {
    let h = harness();
    let err = h
        .complete(&testing::callback([("state", testing::STATE)]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    let err = h
        .complete(&testing::callback([("authCode", "")]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    let err = h
        .complete(&testing::callback([("error", "access_denied")]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    let err = h
        .complete(&testing::callback([
            ("error", "server_error"),
            ("authCode", "x"),
        ]))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert!(h.host.requests().is_empty());
}

#[test]
fn org_email_is_preferred_and_account_wide_values_are_never_used() {
    let h = harness();
    script_happy(&h);
    // A record without org_email: its own email; without any: none, even
    // though users/me has one.
    let mut record = member_record();
    record["org_email"] = json!("");
    h.host
        .on("POST", USER_GET_URL)
        .once()
        .json(&json!({"errcode": 0, "result": record}));
    let id = sign_in(&h).unwrap();
    assert_eq!(id.email.as_deref(), Some("zhangsan@corp.example"));

    let bare = json!({"userid": "manager4220", "unionid": "union-1"});
    h.host
        .on("POST", USER_GET_URL)
        .once()
        .json(&json!({"errcode": 0, "result": bare}));
    let id = sign_in(&h).unwrap();
    assert_eq!(id.email, None);
    assert!(!id.email_verified);
    assert_eq!(id.mobile, None);
    assert!(!id.mobile_verified);
    // Name and avatar fall back to users/me.
    assert_eq!(id.display_name.as_deref(), Some("zhangsan"));
    assert_eq!(id.avatar_url.as_deref(), Some("https://img.test/me.png"));
}

#[test]
fn mobile_without_state_code_is_left_bare() {
    let h = harness();
    script_happy(&h);
    let mut record = member_record();
    record.as_object_mut().unwrap().remove("state_code");
    h.host
        .on("POST", USER_GET_URL)
        .json(&json!({"errcode": 0, "result": record}));
    assert_eq!(sign_in(&h).unwrap().mobile.as_deref(), Some("15000009144"));
    let mut record = member_record();
    record["state_code"] = json!("852");
    record["mobile"] = json!("61234567");
    h.host
        .on("POST", USER_GET_URL)
        .json(&json!({"errcode": 0, "result": record}));
    assert_eq!(sign_in(&h).unwrap().mobile.as_deref(), Some("+85261234567"));
}

#[test]
fn non_members_are_refused() {
    let h = harness();
    script_happy(&h);
    h.host
        .on("POST", BY_UNION_URL)
        .json(&json!({"errcode": 60121, "errmsg": "找不到该用户"}));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert_eq!(
        err.message,
        "Your DingTalk account is not a member of this organization."
    );
    assert!(err.detail.contains("60121"), "{}", err.detail);
    assert!(!err.message.contains("找不到"));
    assert!(h.host.requests_to("POST", USER_GET_URL).is_empty());

    h.host.on("POST", BY_UNION_URL).json(&json!({
        "errcode": 0, "result": {"contact_type": 1, "userid": "ext-1"}
    }));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::UpstreamRefused);
}

#[test]
fn corp_id_mismatch_is_refused_before_any_profile_call() {
    let mut h = harness();
    h.set("corp_id", "dingmine");
    script_happy(&h);
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert!(
        err.message.contains("not in this organization"),
        "{}",
        err.message
    );
    assert_eq!(h.host.requests().len(), 1);

    h.set("corp_id", "dingcorp");
    assert_eq!(sign_in(&h).unwrap().subject, "union-1");
}

#[test]
fn app_token_is_cached_across_calls_and_expires() {
    let h = harness();
    script_happy(&h);
    sign_in(&h).unwrap();
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 1);
    assert_eq!(
        h.host.cached("app-token:dingappkey").as_deref(),
        Some(&b"app-at"[..])
    );
    // Cached for expireIn minus the margin.
    h.host.advance(7200 - 300 - 1);
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 1);
    h.host.advance(2);
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 2);
}

#[test]
fn token_ttl_keeps_a_margin_and_a_floor() {
    assert_eq!(api::token_ttl(7200), 6900);
    assert_eq!(api::token_ttl(200), 60);
    assert_eq!(api::token_ttl(30), 30);
    assert_eq!(api::token_ttl(0), 0);
    assert_eq!(api::token_ttl(u64::MAX), 24 * 3600);
}

#[test]
fn invalid_app_token_is_refreshed_once_on_40014() {
    let h = harness();
    script_happy(&h);
    h.host.run(|| {
        latchkey_connector_sdk::cache::set("app-token:dingappkey", b"stale", 3600);
    });
    h.host
        .on("POST", BY_UNION_URL)
        .once()
        .json(&json!({"errcode": 40014, "errmsg": "不合法的access_token"}));
    let id = sign_in(&h).unwrap();
    assert_eq!(id.subject, "union-1");
    let by_union = h.host.requests_to("POST", BY_UNION_URL);
    assert_eq!(by_union.len(), 2);
    assert_eq!(
        by_union[0].query_param("access_token").as_deref(),
        Some("stale")
    );
    assert_eq!(
        by_union[1].query_param("access_token").as_deref(),
        Some("app-at")
    );
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 1);
    assert_eq!(
        h.host.cached("app-token:dingappkey").as_deref(),
        Some(&b"app-at"[..])
    );
    // The user token exchange happened once.
    assert_eq!(h.host.requests_to("POST", USER_TOKEN_URL).len(), 1);
}

#[test]
fn a_second_invalid_token_answer_is_an_error_not_a_loop() {
    let h = harness();
    script_happy(&h);
    h.host
        .on("POST", BY_UNION_URL)
        .json(&json!({"errcode": 40014, "errmsg": "invalid"}));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert_eq!(h.host.requests_to("POST", BY_UNION_URL).len(), 2);
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 2);
}

#[test]
fn invalid_authentication_on_the_api_host_refreshes_the_app_token_once() {
    // No sign-in step sends the app token to the api host, so the shared
    // retry is exercised directly with an api-host call.
    let h = harness();
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "fresh", "expireIn": 7200}));
    let probe = "https://api.dt.test/v1.0/probe";
    h.host.on("GET", probe).json(&json!({"ok": true}));
    h.host.on("GET", probe).status(401).once().json(
        &json!({"code": "InvalidAuthentication", "requestid": "r", "message": "不合法的access_token"}),
    );
    let settings = latchkey_connector_sdk::Settings::for_connector::<DingTalk>(vec![
        ("client_id".into(), "dingappkey".into()),
        ("client_secret".into(), "s".into()),
        ("api_base".into(), API.into()),
    ]);
    let call = |token: &str| -> api::CallResult<Value> {
        let response = http::get(probe)
            .header("x-acs-dingtalk-access-token", token)
            .send()?;
        api::api_answer(&response, "refused")
    };
    h.host.run(|| {
        latchkey_connector_sdk::cache::set("app-token:dingappkey", b"stale", 3600);
        assert_eq!(api::with_app_token(&settings, call).unwrap()["ok"], true);
    });
    let probes = h.host.requests_to("GET", probe);
    assert_eq!(probes.len(), 2);
    assert_eq!(
        probes[1].header_value("x-acs-dingtalk-access-token"),
        Some("fresh")
    );

    // Twice refused: one retry, then the error.
    h.host
        .on("GET", probe)
        .status(400)
        .json(&json!({"code": "InvalidAuthentication", "requestid": "r", "message": "bad"}));
    h.host.run(|| {
        let err = api::with_app_token(&settings, call).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    });
    assert_eq!(h.host.requests_to("GET", probe).len(), 4);
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 2);
}

#[test]
fn a_refused_exchange_is_never_retried() {
    let h = harness();
    script_happy(&h);
    h.host.on("POST", USER_TOKEN_URL).status(400).json(
        &json!({"code": "invalidCode", "requestid": "r1", "message": "授权码已失效 secret-ish body"}),
    );
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert!(!err.message.contains("secret-ish"));
    assert!(err.detail.contains("invalidCode"), "{}", err.detail);
    assert_eq!(h.host.requests().len(), 1);

    // An InvalidAuthentication answer on the exchange is not retried either.
    h.host
        .on("POST", USER_TOKEN_URL)
        .status(400)
        .json(&json!({"code": "InvalidAuthentication", "requestid": "r1", "message": "x"}));
    sign_in(&h).unwrap_err();
    assert_eq!(h.host.requests().len(), 2);
}

#[test]
fn missing_permission_is_a_config_error_naming_the_scope() {
    let h = harness();
    script_happy(&h);
    h.host.on("GET", ME_URL).status(403).json(&json!({
        "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied", "requestid": "r",
        "message": "没有调用该接口的权限",
        "accessdenieddetail": {"requiredScopes": ["Contact.User.Read", "<script>"]}
    }));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(
        err.message
            .starts_with("DingTalk refused: the app lacks a permission (Contact.User.Read)"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("没有"));
    assert!(err.detail.contains("没有调用该接口的权限"));
}

#[test]
fn unavailable_and_malformed_answers_are_mapped() {
    let h = harness();
    script_happy(&h);
    h.host.on("POST", USER_TOKEN_URL).status(503).text("busy");
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    h.host.on("POST", USER_TOKEN_URL).fail("timeout");
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    for broken in ["not json", "[1,2]", "{\"accessToken\": 5"] {
        h.host.on("POST", USER_TOKEN_URL).text(broken);
        assert_eq!(
            sign_in(&h).unwrap_err().kind,
            ErrorKind::InvalidResponse,
            "{broken}"
        );
    }
    script_happy(&h);
    h.host
        .on("POST", USER_TOKEN_URL)
        .json(&json!({"accessToken": ["x"]}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::InvalidResponse);

    script_happy(&h);
    h.host
        .on("GET", ME_URL)
        .json(&json!({"nick": "no union id"}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::InvalidResponse);

    script_happy(&h);
    for broken in [
        json!({"errcode": "zero"}),
        json!({"errcode": 0}),
        json!({"errcode": 0, "result": {"userid": {"nested": 1}}}),
    ] {
        h.host.on("POST", BY_UNION_URL).json(&broken);
        assert_eq!(
            sign_in(&h).unwrap_err().kind,
            ErrorKind::InvalidResponse,
            "{broken}"
        );
    }
    script_happy(&h);
    h.host
        .on("POST", BY_UNION_URL)
        .json(&json!({"errcode": -1, "errmsg": "busy"}));
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    script_happy(&h);
    h.host.on("POST", USER_GET_URL).status(502).empty();
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    // A member record for another account.
    script_happy(&h);
    let mut record = member_record();
    record["unionid"] = json!("union-2");
    h.host
        .on("POST", USER_GET_URL)
        .json(&json!({"errcode": 0, "result": record}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::InvalidResponse);
}

#[test]
fn bad_app_credentials_are_a_config_error() {
    let h = harness();
    script_happy(&h);
    h.host
        .on("POST", APP_TOKEN_URL)
        .status(400)
        .json(&json!({"code": "invalid.client", "requestid": "r", "message": "appkey不存在"}));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains("AppKey"), "{}", err.message);
}

#[test]
fn validate_settings_checks_required_keys_and_urls() {
    let h = Harness::<DingTalk>::new([("api_base", "ftp://x"), ("corp_id", " dingcorp")]);
    let errors = h.validate().unwrap_err();
    let mut keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_base", "client_id", "client_secret", "corp_id"]);
    assert!(harness().validate().is_ok());
    // Defaults alone are valid.
    let minimal = Harness::<DingTalk>::new([("client_id", "k"), ("client_secret", "s")]);
    assert!(minimal.validate().is_ok());
    assert!(harness().unbound("union-1").is_ok());
}

// ---- directory ----

fn user(userid: &str, unionid: Option<&str>, name: &str) -> Value {
    let mut v = json!({"userid": userid, "name": name, "org_email": format!("{userid}@org.example"),
        "email": "", "mobile": "13800000000", "state_code": "86", "avatar": ""});
    if let Some(u) = unionid {
        v["unionid"] = json!(u);
    }
    v
}

fn listsub(h: &Harness<DingTalk>, dept: i64, children: &[i64]) {
    let children: Vec<Value> = children
        .iter()
        .map(|id| json!({"dept_id": id, "name": format!("d{id}"), "parent_id": dept}))
        .collect();
    h.host
        .on("POST", LISTSUB_URL)
        .json(&json!({"errcode": 0, "result": children}));
}

/// Scripts the answers one directory call will get.
type Step = Box<dyn Fn(&Harness<DingTalk>)>;

/// Routes that answer by request body are not in the fake host, so the
/// directory tests script one answer per call, in order, with `once()`.
fn walk_all(h: &Harness<DingTalk>, mut steps: Vec<Step>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        assert!(!steps.is_empty(), "the walk went on longer than scripted");
        steps.remove(0)(h);
        let before = h.host.requests().len();
        let page = h.directory_page(cursor.as_deref()).unwrap();
        assert!(h.host.requests().len() - before <= 16);
        pages.push(page.identities.iter().map(|i| i.subject.clone()).collect());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(steps.is_empty(), "the walk stopped early");
    pages
}

#[test]
fn directory_walks_departments_breadth_first_and_deduplicates() {
    let h = harness();
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "app-at", "expireIn": 7200}));
    let list = |h: &Harness<DingTalk>, has_more: bool, next: i64, users: Vec<Value>| {
        h.host.on("POST", USER_LIST_URL).once().json(&json!({
            "errcode": 0, "result": {"has_more": has_more, "next_cursor": next, "list": users}
        }));
    };
    // Root 1 has 2 and 3; 2 has 4; 3 and 4 have none.
    let pages = walk_all(
        &h,
        vec![
            Box::new(move |h| {
                listsub(h, 1, &[2, 3]);
                list(
                    h,
                    true,
                    2,
                    vec![
                        user("boss", Some("u-boss"), "Boss"),
                        user("a", Some("u-a"), "A"),
                    ],
                );
            }),
            Box::new(move |h| list(h, false, 0, vec![user("b", Some("u-b"), "B")])),
            Box::new(move |h| {
                listsub(h, 2, &[4, 1]); // 1 again: a cycle, ignored
                list(
                    h,
                    false,
                    0,
                    vec![user("a", Some("u-a"), "A"), user("c", Some("u-c"), "C")],
                );
            }),
            Box::new(move |h| {
                listsub(h, 3, &[]);
                // Listed without unionid, and its own record has none either.
                h.host.on("POST", USER_GET_URL).once().json(&json!({
                    "errcode": 0, "result": user("nounion", None, "N")
                }));
                list(
                    h,
                    false,
                    0,
                    vec![
                        user("nounion", None, "N"),
                        user("boss", Some("u-boss"), "Boss"),
                    ],
                );
            }),
            Box::new(move |h| {
                listsub(h, 4, &[]);
                list(h, false, 0, vec![user("d", Some("u-d"), "D")]);
            }),
        ],
    );
    assert_eq!(
        pages,
        vec![
            vec!["u-boss", "u-a"],
            vec!["u-b"],
            vec!["u-c"],
            vec![],
            vec!["u-d"]
        ]
    );
    // The departments came breadth-first, the cursor paged within dept 1.
    let lists: Vec<Value> = h
        .host
        .requests_to("POST", USER_LIST_URL)
        .iter()
        .map(body)
        .collect();
    assert_eq!(
        lists,
        vec![
            json!({"dept_id": 1, "cursor": 0, "size": 100}),
            json!({"dept_id": 1, "cursor": 2, "size": 100}),
            json!({"dept_id": 2, "cursor": 0, "size": 100}),
            json!({"dept_id": 3, "cursor": 0, "size": 100}),
            json!({"dept_id": 4, "cursor": 0, "size": 100}),
        ]
    );
    let subs: Vec<Value> = h
        .host
        .requests_to("POST", LISTSUB_URL)
        .iter()
        .map(body)
        .collect();
    assert_eq!(
        subs,
        vec![
            json!({"dept_id": 1}),
            json!({"dept_id": 2}),
            json!({"dept_id": 3}),
            json!({"dept_id": 4})
        ]
    );
    assert!(h.host.logged("without unionid"));
    assert!(h.host.logged("nounion"));
    // One app token for the whole walk.
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 1);
}

#[test]
fn directory_looks_up_members_listed_without_unionid_a_few_per_call() {
    let h = harness();
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "app-at", "expireIn": 7200}));
    listsub(&h, 1, &[]);
    // Eleven members listed without unionid, one with; the same page each time.
    let mut members: Vec<Value> = (0..11)
        .map(|i| user(&format!("m{i}"), None, &format!("M{i}")))
        .collect();
    members.insert(3, user("w", Some("u-w"), "W"));
    h.host.on("POST", USER_LIST_URL).json(&json!({
        "errcode": 0, "result": {"has_more": false, "list": members}
    }));
    let lookups = |h: &Harness<DingTalk>, from: usize, to: usize| {
        // The fake host answers the newest scripted answer first.
        for i in (from..to).rev() {
            h.host.on("POST", USER_GET_URL).once().json(&json!({
                "errcode": 0, "result": user(&format!("m{i}"), Some(&format!("u-m{i}")), &format!("M{i}"))
            }));
        }
    };
    lookups(&h, 0, 8);
    let first = h.directory_page(None).unwrap();
    let subjects = |p: &latchkey_connector_sdk::DirectoryPage| {
        p.identities
            .iter()
            .map(|i| i.subject.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subjects(&first),
        vec![
            "u-m0", "u-m1", "u-m2", "u-w", "u-m3", "u-m4", "u-m5", "u-m6", "u-m7"
        ]
    );
    assert!(h.host.requests().len() <= 16);
    assert_eq!(h.host.requests_to("POST", USER_GET_URL).len(), 8);
    let next = first.next_cursor.expect("the page is listed again");
    lookups(&h, 8, 11);
    let second = h.directory_page(Some(&next)).unwrap();
    assert_eq!(subjects(&second), vec!["u-m8", "u-m9", "u-m10"]);
    assert_eq!(second.next_cursor, None);
    // The lookups asked for the right members, each once.
    let asked: Vec<Value> = h
        .host
        .requests_to("POST", USER_GET_URL)
        .iter()
        .map(body)
        .collect();
    let expected: Vec<Value> = (0..11)
        .map(|i| json!({"userid": format!("m{i}")}))
        .collect();
    assert_eq!(asked, expected);
    // The same department page, listed twice at the same cursor.
    assert_eq!(
        h.host
            .requests_to("POST", USER_LIST_URL)
            .iter()
            .map(body)
            .collect::<Vec<_>>(),
        vec![json!({"dept_id": 1, "cursor": 0, "size": 100}); 2]
    );
}

#[test]
fn directory_identities_use_the_sign_in_mapping() {
    let h = harness();
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "app-at", "expireIn": 7200}));
    listsub(&h, 1, &[]);
    h.host.on("POST", USER_LIST_URL).json(&json!({
        "errcode": 0, "result": {"has_more": false, "list": [member_record()]}
    }));
    let page = h.directory_page(None).unwrap();
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        page.identities,
        vec![Identity {
            subject: "union-1".into(),
            display_name: Some("张三".into()),
            email: Some("zs@org.example".into()),
            email_verified: true,
            mobile: Some("+8615000009144".into()),
            mobile_verified: true,
            avatar_url: Some("https://img.test/org.png".into()),
            account_name_hint: None,
        }]
    );
}

#[test]
fn directory_refreshes_the_token_once_and_rejects_bad_cursors_and_loops() {
    let h = harness();
    h.host
        .on("POST", APP_TOKEN_URL)
        .json(&json!({"accessToken": "app-at", "expireIn": 7200}));
    h.host.run(|| {
        latchkey_connector_sdk::cache::set("app-token:dingappkey", b"stale", 3600);
    });
    listsub(&h, 1, &[]);
    h.host
        .on("POST", LISTSUB_URL)
        .once()
        .json(&json!({"errcode": 40014, "errmsg": "invalid"}));
    // has_more with the same cursor again would loop forever.
    h.host.on("POST", USER_LIST_URL).json(&json!({
        "errcode": 0, "result": {"has_more": true, "next_cursor": 0, "list": []}
    }));
    let err = h.directory_page(None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidResponse);
    assert_eq!(h.host.requests_to("POST", APP_TOKEN_URL).len(), 1);
    assert_eq!(h.host.requests_to("POST", LISTSUB_URL).len(), 2);

    for bad in ["", "!!!", "bm90IGpzb24", &Walk::decode_probe()] {
        let err = h.directory_page(Some(bad)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidResponse, "{bad}");
    }
    // A finished walk (empty queue) ends.
    let done = h
        .directory_page(Some(&base64_json(&json!({"q": [], "s": ["a"]}))))
        .unwrap();
    assert_eq!(done, Default::default());

    h.host
        .on("POST", USER_LIST_URL)
        .json(&json!({"errcode": 0, "result": {"has_more": false, "list": {"a": 1}}}));
    assert_eq!(
        h.directory_page(None).unwrap_err().kind,
        ErrorKind::InvalidResponse
    );
}

fn base64_json(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

impl Walk {
    /// A cursor that is base64url JSON but of the wrong shape.
    fn decode_probe() -> String {
        base64_json(&json!({"q": "not a list"}))
    }
}

#[test]
fn failure_into_error_keeps_the_error() {
    let e = latchkey_connector_sdk::ConnectorError::config("x");
    assert_eq!(Failure::StaleToken(e.clone()).into_error(), e);
}
