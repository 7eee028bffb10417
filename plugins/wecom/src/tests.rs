//! The connector against a scripted WeCom, through the SDK harness.

use std::collections::BTreeSet;

use latchkey_connector_sdk::testing::{self, Harness};
use latchkey_connector_sdk::{ErrorKind, Identity};
use serde_json::{Value, json};

use super::WeCom;
use crate::api;
use crate::directory::{LIST_LIMIT, MAX_RECORDS_PER_PAGE, MAX_REQUESTS_PER_CALL};

const LOGIN: &str = "https://login.wc.test";
const API: &str = "https://api.wc.test";
const TOKEN_URL: &str = "https://api.wc.test/cgi-bin/gettoken";
const WHO_URL: &str = "https://api.wc.test/cgi-bin/auth/getuserinfo";
const USER_GET_URL: &str = "https://api.wc.test/cgi-bin/user/get";
const LIST_ID_URL: &str = "https://api.wc.test/cgi-bin/user/list_id";
const TOKEN_KEY: &str = "app-token:ww0123corp:1000002";

fn harness() -> Harness<WeCom> {
    Harness::new([
        ("corp_id", "ww0123corp"),
        ("agent_id", "1000002"),
        ("secret", "s3cr=t+x"),
        ("login_base", LOGIN),
        ("api_base", API),
    ])
}

fn record(userid: &str) -> Value {
    json!({"errcode": 0, "errmsg": "ok", "userid": userid, "name": format!("Name {userid}"),
        "email": "", "biz_mail": format!("{userid}@corp.wecom.work"), "mobile": "13800000000",
        "avatar": "https://img.test/a.png", "department": [1, 2]})
}

fn script_token(h: &Harness<WeCom>, token: &str) {
    h.host.on("GET", TOKEN_URL).json(&json!({
        "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200
    }));
}

fn script_happy(h: &Harness<WeCom>) {
    script_token(h, "app-at");
    h.host.on("GET", WHO_URL).json(&json!({
        "errcode": 0, "errmsg": "ok", "userid": "zhangsan"
    }));
    h.host.on("GET", USER_GET_URL).json(&record("zhangsan"));
}

fn sign_in(h: &Harness<WeCom>) -> latchkey_connector_sdk::Result<Identity> {
    h.complete(&testing::callback([
        ("code", "wecom-code-1"),
        ("state", testing::STATE),
    ]))
}

#[test]
fn describe_lists_the_settings_with_production_defaults() {
    let m = harness().describe();
    assert_eq!((m.id.as_str(), m.name.as_str()), ("wecom", "WeCom"));
    let keys: Vec<_> = m.settings.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        ["corp_id", "agent_id", "secret", "login_base", "api_base"]
    );
    let default = |k: &str| {
        m.settings
            .iter()
            .find(|s| s.key == k)
            .and_then(|s| s.default.clone())
    };
    assert_eq!(
        default("login_base").as_deref(),
        Some("https://login.work.weixin.qq.com")
    );
    assert_eq!(
        default("api_base").as_deref(),
        Some("https://qyapi.weixin.qq.com")
    );
}

#[test]
fn authorize_url_is_exact_and_encoded() {
    let h = harness();
    let url = h.begin(&testing::begin_request()).unwrap();
    assert_eq!(
        url,
        format!(
            "{LOGIN}/wwlogin/sso/login?login_type=CorpApp&appid=ww0123corp&agentid=1000002&redirect_uri=https%3A%2F%2Fportal.test%2Flogin%2Fcallback&state={}",
            testing::STATE
        )
    );
    let mut h = h;
    h.set("login_base", "http://127.0.0.1:9/wecom/");
    let url = h.begin(&testing::begin_request()).unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:9/wecom/wwlogin/sso/login?login_type=CorpApp&"),
        "{url}"
    );
}

#[test]
fn sign_in_sends_the_documented_requests_and_maps_the_member() {
    let h = harness();
    script_happy(&h);
    let identity = sign_in(&h).unwrap();
    assert_eq!(
        identity,
        Identity {
            subject: "zhangsan".into(),
            display_name: Some("Name zhangsan".into()),
            email: Some("zhangsan@corp.wecom.work".into()),
            email_verified: true,
            mobile: Some("13800000000".into()),
            mobile_verified: true,
            avatar_url: Some("https://img.test/a.png".into()),
            account_name_hint: Some("zhangsan".into()),
        }
    );
    let requests = h.host.requests();
    assert_eq!(requests.len(), 3);
    let token = &requests[0];
    assert_eq!(token.method, "GET");
    assert_eq!(
        token.url,
        "https://api.wc.test/cgi-bin/gettoken?corpid=ww0123corp&corpsecret=s3cr%3Dt%2Bx"
    );
    assert_eq!(
        requests[1].url,
        "https://api.wc.test/cgi-bin/auth/getuserinfo?access_token=app-at&code=wecom-code-1"
    );
    assert_eq!(
        requests[2].url,
        "https://api.wc.test/cgi-bin/user/get?access_token=app-at&userid=zhangsan"
    );
    for (_, line) in h.host.logs() {
        assert!(
            !line.contains("app-at") && !line.contains("s3cr") && !line.contains("wecom-code-1"),
            "{line}"
        );
    }
}

#[test]
fn email_falls_back_to_biz_mail_and_empty_fields_stay_empty() {
    let h = harness();
    script_happy(&h);
    let mut rec = record("zhangsan");
    rec["email"] = json!("zs@corp.example");
    h.host.on("GET", USER_GET_URL).json(&rec);
    assert_eq!(
        sign_in(&h).unwrap().email.as_deref(),
        Some("zs@corp.example")
    );
    // A post-2022 app: no email, mobile or avatar at all.
    h.host
        .on("GET", USER_GET_URL)
        .json(&json!({"errcode": 0, "userid": "zhangsan", "name": "", "email": "", "mobile": ""}));
    let id = sign_in(&h).unwrap();
    assert_eq!(
        id,
        Identity {
            subject: "zhangsan".into(),
            account_name_hint: Some("zhangsan".into()),
            ..Identity::default()
        }
    );
}

#[test]
fn capitalised_user_id_is_accepted() {
    let h = harness();
    script_happy(&h);
    h.host
        .on("GET", WHO_URL)
        .json(&json!({"errcode": 0, "UserId": "zhangsan", "DeviceId": "d"}));
    assert_eq!(sign_in(&h).unwrap().subject, "zhangsan");
}

#[test]
fn missing_code_is_cancelled() {
    let h = harness();
    for query in [vec![("state", testing::STATE)], vec![("code", "")]] {
        let err = h.complete(&testing::callback(query)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Cancelled);
    }
    assert!(h.host.requests().is_empty());
}

#[test]
fn non_members_are_refused() {
    let h = harness();
    script_happy(&h);
    h.host.on("GET", WHO_URL).json(&json!({
        "errcode": 0, "errmsg": "ok", "openid": "o-1", "external_userid": "wm-ext"
    }));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamRefused);
    assert_eq!(
        err.message,
        "Only members of this organization can sign in with WeCom."
    );
    assert!(h.host.requests_to("GET", USER_GET_URL).is_empty());
    // Neither userid nor openid: unreadable.
    h.host.on("GET", WHO_URL).json(&json!({"errcode": 0}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::InvalidResponse);
}

#[test]
fn errcodes_map_to_messages_for_users_and_admins() {
    let cases = [
        (
            40029,
            ErrorKind::UpstreamRefused,
            "The sign-in code was invalid or already used; try again.",
        ),
        (60020, ErrorKind::Config, "trusted IP list"),
        (50001, ErrorKind::Config, "trusted domain"),
        (40001, ErrorKind::Config, "secret"),
        (-1, ErrorKind::UpstreamUnavailable, "busy"),
        (
            12345,
            ErrorKind::UpstreamRefused,
            "WeCom refused the request.",
        ),
    ];
    for (errcode, kind, text) in cases {
        let h = harness();
        script_happy(&h);
        h.host.on("GET", WHO_URL).json(
            &json!({"errcode": errcode, "errmsg": "raw upstream words, from ip: 203.0.113.9"}),
        );
        let err = sign_in(&h).unwrap_err();
        assert_eq!(err.kind, kind, "{errcode}");
        assert!(err.message.contains(text), "{errcode}: {}", err.message);
        assert!(!err.message.contains("raw upstream"), "{}", err.message);
        assert!(err.detail.contains(&errcode.to_string()), "{}", err.detail);
        // Never retried: codes are single-use.
        assert_eq!(h.host.requests_to("GET", WHO_URL).len(), 1);
    }
}

#[test]
fn token_failures_are_config_or_unavailable() {
    let h = harness();
    script_happy(&h);
    h.host
        .on("GET", TOKEN_URL)
        .json(&json!({"errcode": 60020, "errmsg": "not allow to access from your ip"}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::Config);
    h.host
        .on("GET", TOKEN_URL)
        .json(&json!({"errcode": 40013, "errmsg": "invalid corpid"}));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains("corp ID"), "{}", err.message);
    h.host.on("GET", TOKEN_URL).status(502).text("bad gateway");
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    h.host.on("GET", TOKEN_URL).fail("timeout");
    assert_eq!(
        sign_in(&h).unwrap_err().kind,
        ErrorKind::UpstreamUnavailable
    );
    h.host.on("GET", TOKEN_URL).json(&json!({"errcode": 0}));
    assert_eq!(sign_in(&h).unwrap_err().kind, ErrorKind::InvalidResponse);
    assert!(h.host.cache_keys().is_empty());
}

#[test]
fn app_token_is_cached_across_calls_and_expires() {
    let h = harness();
    script_happy(&h);
    sign_in(&h).unwrap();
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 1);
    assert_eq!(h.host.cached(TOKEN_KEY).as_deref(), Some(&b"app-at"[..]));
    h.host.advance(7200 - 300 - 1);
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 1);
    h.host.advance(2);
    sign_in(&h).unwrap();
    assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 2);
    assert_eq!(api::token_ttl(7200), 6900);
    assert_eq!(api::token_ttl(100), 60);
    assert_eq!(api::token_ttl(20), 20);
}

#[test]
fn expired_token_is_refreshed_exactly_once() {
    for errcode in [40014, 42001] {
        let h = harness();
        script_happy(&h);
        h.host
            .run(|| latchkey_connector_sdk::cache::set(TOKEN_KEY, b"stale", 3600));
        h.host
            .on("GET", WHO_URL)
            .once()
            .json(&json!({"errcode": errcode, "errmsg": "expired"}));
        assert_eq!(sign_in(&h).unwrap().subject, "zhangsan");
        let who = h.host.requests_to("GET", WHO_URL);
        assert_eq!(who.len(), 2);
        assert_eq!(who[0].query_param("access_token").as_deref(), Some("stale"));
        assert_eq!(
            who[1].query_param("access_token").as_deref(),
            Some("app-at")
        );
        assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 1);
        assert_eq!(h.host.cached(TOKEN_KEY).as_deref(), Some(&b"app-at"[..]));
    }
    // Refused again with the fresh token: an error, not a loop.
    let h = harness();
    script_happy(&h);
    h.host
        .on("GET", USER_GET_URL)
        .json(&json!({"errcode": 42001, "errmsg": "expired"}));
    let err = sign_in(&h).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamUnavailable);
    assert_eq!(h.host.requests_to("GET", USER_GET_URL).len(), 2);
    assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 2);
    assert_eq!(h.host.requests_to("GET", WHO_URL).len(), 1);
}

#[test]
fn malformed_answers_are_errors_not_traps() {
    for (url, broken) in [
        (WHO_URL, "not json"),
        (WHO_URL, "[]"),
        (WHO_URL, "{\"errcode\": \"x\"}"),
        (WHO_URL, "{\"errcode\": 0, \"userid\": {\"a\": 1}}"),
        (
            USER_GET_URL,
            "{\"errcode\": 0, \"userid\": \"someone-else\"}",
        ),
        (USER_GET_URL, ""),
    ] {
        let h = harness();
        script_happy(&h);
        h.host.on("GET", url).text(broken);
        assert_eq!(
            sign_in(&h).unwrap_err().kind,
            ErrorKind::InvalidResponse,
            "{url}: {broken}"
        );
    }
    // Odd but readable: numbers for strings, nulls, unknown fields.
    let h = harness();
    script_happy(&h);
    h.host.on("GET", USER_GET_URL).json(&json!({
        "errcode": 0, "userid": "zhangsan", "name": null, "mobile": 13800000000u64, "avatar": [1]
    }));
    let id = sign_in(&h).unwrap();
    assert_eq!(id.mobile.as_deref(), Some("13800000000"));
    assert_eq!(id.display_name, None);
    assert_eq!(id.avatar_url, None);
}

#[test]
fn validate_settings_checks_required_keys_urls_and_agent_id() {
    let h = Harness::<WeCom>::new([("agent_id", "10000x2"), ("api_base", "qyapi")]);
    let errors = h.validate().unwrap_err();
    let mut keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["agent_id", "api_base", "corp_id", "secret"]);
    assert!(
        errors
            .iter()
            .any(|e| e.key == "agent_id" && e.message.contains("number"))
    );
    assert!(harness().validate().is_ok());
    let minimal = Harness::<WeCom>::new([("corp_id", "ww1"), ("agent_id", "1"), ("secret", "s")]);
    assert!(minimal.validate().is_ok());
    let spaced = Harness::<WeCom>::new([("corp_id", "ww1 "), ("agent_id", "1"), ("secret", "s")]);
    assert_eq!(spaced.validate().unwrap_err()[0].key, "corp_id");
    assert!(harness().unbound("zhangsan").is_ok());
}

// ---- directory ----

fn user_get_route(h: &Harness<WeCom>, token: &str, userid: &str) {
    h.host
        .on(
            "GET",
            &format!("{USER_GET_URL}?access_token={token}&userid={userid}"),
        )
        .json(&record(userid));
}

fn list_page(h: &Harness<WeCom>, users: &[(&str, u32)], next: &str) {
    let dept_user: Vec<Value> = users
        .iter()
        .map(|(u, d)| json!({"userid": u, "department": d}))
        .collect();
    h.host.on("POST", LIST_ID_URL).once().json(&json!({
        "errcode": 0, "errmsg": "ok", "next_cursor": next, "dept_user": dept_user
    }));
}

/// Walks the whole directory; asserts the per-call request cap on the way.
fn walk(h: &Harness<WeCom>) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let before = h.host.requests().len();
        let page = h.directory_page(cursor.as_deref()).unwrap();
        let spent = h.host.requests().len() - before;
        assert!(spent <= MAX_REQUESTS_PER_CALL as usize, "{spent} requests");
        assert!(page.identities.len() <= MAX_RECORDS_PER_PAGE);
        pages.push(page.identities.into_iter().map(|i| i.subject).collect());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
    panic!("the walk did not end");
}

#[test]
fn directory_pages_list_ids_deduplicates_and_fetches_details() {
    let h = harness();
    script_token(&h, "app-at");
    // 30 members on the first id page, some listed twice (two departments),
    // 3 more (one a repeat) on the second.
    let mut first: Vec<(String, u32)> = (0..30).map(|i| (format!("u{i:02}"), 1)).collect();
    first.insert(5, ("u01".into(), 2));
    first.insert(20, ("u07".into(), 3));
    let first: Vec<(&str, u32)> = first.iter().map(|(u, d)| (u.as_str(), *d)).collect();
    // The newest route wins: script the id pages last to first.
    list_page(&h, &[("u29", 4), ("v1", 1), ("v2", 1)], "");
    list_page(&h, &first, "cursor-2");
    for i in 0..30 {
        user_get_route(&h, "app-at", &format!("u{i:02}"));
    }
    user_get_route(&h, "app-at", "v1");
    user_get_route(&h, "app-at", "v2");

    let pages = walk(&h);
    let all: Vec<String> = pages.iter().flatten().cloned().collect();
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 32, "{pages:?}");
    assert_eq!(unique.len(), 32);
    // First call: token + list_id + 11 records (room left for a refresh);
    // then 12 per call; the second id page when the first is used up.
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [11, 12, 7, 2]);
    assert_eq!(pages[0][0], "u00");

    let lists: Vec<Value> = h
        .host
        .requests_to("POST", LIST_ID_URL)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        lists,
        [
            json!({"cursor": "", "limit": LIST_LIMIT}),
            json!({"cursor": "cursor-2", "limit": LIST_LIMIT})
        ]
    );
    let list = &h.host.requests_to("POST", LIST_ID_URL)[0];
    assert_eq!(list.query_param("access_token").as_deref(), Some("app-at"));
    assert_eq!(list.header_value("content-type"), Some("application/json"));
    assert_eq!(h.host.requests_to("GET", USER_GET_URL).len(), 32);
    assert_eq!(h.host.requests_to("GET", TOKEN_URL).len(), 1);
}

#[test]
fn directory_stays_under_the_request_cap_when_tokens_expire() {
    let h = harness();
    script_token(&h, "fresh");
    h.host
        .run(|| latchkey_connector_sdk::cache::set(TOKEN_KEY, b"stale", 3600));
    let users: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let pairs: Vec<(&str, u32)> = users.iter().map(|u| (u.as_str(), 1)).collect();
    // The stale token is refused by list_id.
    h.host
        .on("POST", LIST_ID_URL)
        .json(&json!({"errcode": 0, "next_cursor": "", "dept_user": pairs.iter().map(|(u, d)| json!({"userid": u, "department": [d]})).collect::<Vec<_>>()}));
    h.host
        .on("POST", LIST_ID_URL)
        .once()
        .json(&json!({"errcode": 40014, "errmsg": "invalid access_token"}));
    for u in &users {
        user_get_route(&h, "fresh", u);
    }
    // A member who left between the id page and the record: skipped.
    h.host
        .on(
            "GET",
            &format!("{USER_GET_URL}?access_token=fresh&userid=m3"),
        )
        .json(&json!({"errcode": 60111, "errmsg": "userid not found"}));
    let pages = walk(&h);
    let all: Vec<String> = pages.iter().flatten().cloned().collect();
    assert_eq!(all.len(), 19);
    assert!(!all.contains(&"m3".to_string()));
    assert!(h.host.logged("skipped member m3"));
    assert_eq!(h.host.requests_to("POST", LIST_ID_URL).len(), 2);
}

#[test]
fn directory_fails_on_config_errors_and_bad_answers() {
    let h = harness();
    script_token(&h, "app-at");
    list_page(&h, &[("a", 1)], "");
    h.host
        .on("GET", USER_GET_URL)
        .json(&json!({"errcode": 60020, "errmsg": "not allow to access from your ip"}));
    assert_eq!(h.directory_page(None).unwrap_err().kind, ErrorKind::Config);

    h.host
        .on("POST", LIST_ID_URL)
        .json(&json!({"errcode": 0, "next_cursor": "", "dept_user": "nope"}));
    assert_eq!(
        h.directory_page(None).unwrap_err().kind,
        ErrorKind::InvalidResponse
    );
    // A cursor that does not move would loop forever.
    h.host
        .on("POST", LIST_ID_URL)
        .json(&json!({"errcode": 0, "next_cursor": "", "dept_user": []}));
    h.host
        .on("POST", LIST_ID_URL)
        .once()
        .json(&json!({"errcode": 0, "next_cursor": "same", "dept_user": []}));
    let first = h.directory_page(None).unwrap();
    assert!(first.identities.is_empty());
    let cursor = first.next_cursor.expect("more to list");
    h.host
        .on("POST", LIST_ID_URL)
        .once()
        .json(&json!({"errcode": 0, "next_cursor": "same", "dept_user": []}));
    assert_eq!(
        h.directory_page(Some(&cursor)).unwrap_err().kind,
        ErrorKind::InvalidResponse
    );
    for bad in ["", "***", "e30x"] {
        assert_eq!(
            h.directory_page(Some(bad)).unwrap_err().kind,
            ErrorKind::InvalidResponse,
            "{bad}"
        );
    }
    // An empty directory ends at once.
    let page = h.directory_page(None).unwrap();
    assert_eq!(page, Default::default());
}
