//! Loopback fakes of DingTalk and WeCom, faithful to the request shapes of
//! CONNECTORS.md and strict about them: JSON-only token bodies, the
//! `x-acs-dingtalk-access-token` header, alphanumeric `state`, single-use codes, app
//! tokens that expire, paged directories, and the vendors' error bodies (HTTP 200 with
//! `errcode` on the oapi host and on WeCom; non-2xx with `code` on DingTalk's api host).
//!
//! Each fake runs on its own thread and runtime, so a test may block (running the CLI)
//! while the portal talks to it. One fake serves all of a vendor's hosts (`login_base`,
//! `api_base`, `oapi_base` all point at it); paths do not overlap.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use warp::Filter;
use warp::http::{HeaderMap, Response, StatusCode};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    fn q(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Option<Value> {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

enum Answer {
    Json(u16, Value),
    Redirect(String),
    Text(u16, String),
}

fn ok(v: Value) -> Answer {
    Answer::Json(200, v)
}

/// A fake's HTTP server. Stops when dropped.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(handler: Arc<dyn Fn(Seen) -> Answer + Send + Sync>) -> Server {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("fake runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("fake listens");
            addr_tx
                .send(listener.local_addr().expect("fake address"))
                .expect("send address");
            let route = warp::method()
                .and(warp::path::full())
                .and(warp::query::raw().or(warp::any().map(String::new)).unify())
                .and(warp::header::headers_cloned())
                .and(warp::body::bytes())
                .map(
                    move |m: warp::http::Method,
                          p: warp::path::FullPath,
                          q: String,
                          h: HeaderMap,
                          b: bytes::Bytes| {
                        let seen = Seen {
                            method: m.to_string(),
                            path: p.as_str().to_string(),
                            query: url::form_urlencoded::parse(q.as_bytes())
                                .into_owned()
                                .collect(),
                            headers: h,
                            body: b.to_vec(),
                        };
                        match handler(seen) {
                            Answer::Json(status, v) => Response::builder()
                                .status(status)
                                .header("content-type", "application/json;charset=utf-8")
                                .body(v.to_string())
                                .expect("response"),
                            Answer::Redirect(to) => Response::builder()
                                .status(StatusCode::FOUND)
                                .header("location", to)
                                .body(String::new())
                                .expect("response"),
                            Answer::Text(status, t) => Response::builder()
                                .status(status)
                                .header("content-type", "text/plain")
                                .body(t)
                                .expect("response"),
                        }
                    },
                );
            warp::serve(route)
                .incoming(listener)
                .graceful(async {
                    let _ = stop_rx.await;
                })
                .run()
                .await;
        });
    });
    let addr = addr_rx.recv().expect("fake started");
    Server {
        base: format!("http://{addr}"),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

fn alphanumeric(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(uri).expect("absolute redirect_uri");
    u.query_pairs_mut().extend_pairs(pairs);
    u.to_string()
}

/// App tokens: issued, expiring when the test says so.
#[derive(Default)]
struct Tokens {
    live: HashSet<String>,
    expired: HashSet<String>,
    issued: usize,
}

impl Tokens {
    fn issue(&mut self, prefix: &str) -> String {
        self.issued += 1;
        let t = format!("{prefix}{}x{}", self.issued, std::process::id());
        self.live.insert(t.clone());
        t
    }
    fn expire_all(&mut self) {
        let live = std::mem::take(&mut self.live);
        self.expired.extend(live);
    }
}

// ---------------------------------------------------------------------------------
// DingTalk

/// A person in the fake DingTalk organization (or outside it, `member: false`).
#[derive(Debug, Clone)]
pub struct DtUser {
    pub userid: String,
    pub unionid: String,
    /// The org record's name.
    pub name: String,
    /// The account-wide nickname (`users/me`).
    pub nick: String,
    /// The org record's emails.
    pub org_email: String,
    pub email: String,
    /// The account-wide email and mobile of `users/me` (not to be trusted).
    pub account_email: String,
    pub account_mobile: String,
    /// The org record's mobile.
    pub mobile: String,
    pub depts: Vec<i64>,
    pub member: bool,
}

impl DtUser {
    pub fn new(n: &str, depts: &[i64]) -> DtUser {
        DtUser {
            userid: format!("{n}-uid"),
            unionid: format!("{n}UnionId"),
            name: format!("{n} (org)"),
            nick: format!("{n} nick"),
            org_email: format!("{n}@corp.example.com"),
            email: String::new(),
            account_email: format!("{n}@personal.example.net"),
            account_mobile: "13900000000".into(),
            mobile: String::new(),
            depts: depts.to_vec(),
            member: true,
        }
    }
}

struct DtState {
    users: Vec<DtUser>,
    /// (dept_id, parent_id)
    depts: Vec<(i64, i64)>,
    /// unionid of whoever signs in at the next authorize request; `None`: nobody.
    next_login: Option<String>,
    codes: HashMap<String, String>,
    user_tokens: HashMap<String, String>,
    app_tokens: Tokens,
    page_size: usize,
    serial: usize,
    log: Vec<Seen>,
    /// Corp of the user access token answer.
    corp_id: String,
    /// `user/list` entries come without `unionid` (only `user/get` has it).
    lists_without_unionid: bool,
}

pub const DT_KEY: &str = "dingAppKey1";
pub const DT_SECRET: &str = "dingAppSecret1";

pub struct DingTalk {
    server: Server,
    state: Arc<Mutex<DtState>>,
}

impl DingTalk {
    pub fn start(users: Vec<DtUser>, depts: &[(i64, i64)]) -> DingTalk {
        let state = Arc::new(Mutex::new(DtState {
            users,
            depts: depts.to_vec(),
            next_login: None,
            codes: HashMap::new(),
            user_tokens: HashMap::new(),
            app_tokens: Tokens::default(),
            page_size: 2,
            serial: 0,
            log: Vec::new(),
            corp_id: "dingcorp1".into(),
            lists_without_unionid: false,
        }));
        let s = state.clone();
        let server = serve(Arc::new(move |req| {
            let mut st = s.lock().expect("fake state");
            st.log.push(req.clone());
            dingtalk(&mut st, &req)
        }));
        DingTalk { server, state }
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// The settings of a `dingtalk` connector instance pointed at this fake.
    pub fn settings_toml(&self) -> String {
        format!(
            "client_id = \"{DT_KEY}\"\nclient_secret = \"{DT_SECRET}\"\nlogin_base = \"{b}\"\napi_base = \"{b}\"\noapi_base = \"{b}\"\n",
            b = self.base()
        )
    }

    /// The person who signs in at the next authorize request.
    pub fn will_sign_in(&self, unionid: &str) {
        self.state.lock().unwrap().next_login = Some(unionid.to_string());
    }

    pub fn edit(&self, f: impl FnOnce(&mut Vec<DtUser>)) {
        f(&mut self.state.lock().unwrap().users)
    }

    /// From now on `user/list` leaves `unionid` out of its entries.
    pub fn list_without_unionid(&self) {
        self.state.lock().unwrap().lists_without_unionid = true;
    }

    /// Every app token issued so far stops working.
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().app_tokens.expire_all();
    }

    pub fn app_tokens_issued(&self) -> usize {
        self.state.lock().unwrap().app_tokens.issued
    }

    /// Requests seen on `path`.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        let st = self.state.lock().unwrap();
        st.log.iter().filter(|r| r.path == path).cloned().collect()
    }
}

fn dt_api_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Json(
        status,
        json!({"code": code, "requestid": "FAKE-REQ-1", "message": message}),
    )
}

fn dt_oapi_error(errcode: i64, errmsg: &str) -> Answer {
    ok(json!({"errcode": errcode, "errmsg": errmsg, "request_id": "fakereq"}))
}

fn dt_record(u: &DtUser) -> Value {
    json!({
        "userid": u.userid, "unionid": u.unionid, "name": u.name, "avatar": "",
        "state_code": "86", "mobile": u.mobile, "email": u.email, "org_email": u.org_email,
        "dept_id_list": u.depts, "active": true, "admin": false,
    })
}

fn dingtalk(st: &mut DtState, req: &Seen) -> Answer {
    let oapi_token_ok = |st: &DtState| st.app_tokens.live.contains(req.q("access_token"));
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/oauth2/auth") => {
            let scope = req.q("scope");
            let problems = [
                (req.q("client_id") != DT_KEY, "client_id"),
                (req.q("response_type") != "code", "response_type"),
                (!alphanumeric(req.q("state")), "state"),
                (scope != "openid" && scope != "openid corpid", "scope"),
                (req.q("prompt") != "consent", "prompt"),
                (
                    url::Url::parse(req.q("redirect_uri")).is_err(),
                    "redirect_uri",
                ),
            ];
            if let Some((_, what)) = problems.iter().find(|(bad, _)| *bad) {
                return Answer::Text(400, format!("bad authorize request: {what}"));
            }
            let Some(unionid) = st.next_login.take() else {
                return Answer::Text(400, "nobody signs in".into());
            };
            st.serial += 1;
            let code = format!("dtcode{}", st.serial);
            st.codes.insert(code.clone(), unionid);
            Answer::Redirect(with_query(
                req.q("redirect_uri"),
                &[("authCode", &code), ("state", req.q("state"))],
            ))
        }
        ("POST", "/v1.0/oauth2/userAccessToken") => {
            let Some(body) = req.json() else {
                return dt_api_error(400, "InvalidParameter", "body must be JSON");
            };
            if body["clientId"] != DT_KEY || body["clientSecret"] != DT_SECRET {
                return dt_api_error(400, "InvalidClient", "unknown client");
            }
            if body["grantType"] != "authorization_code" {
                return dt_api_error(400, "InvalidParameter", "grantType");
            }
            let code = body["code"].as_str().unwrap_or("");
            let Some(unionid) = st.codes.remove(code) else {
                return dt_api_error(400, "InvalidAuthCode", "code invalid or used");
            };
            st.serial += 1;
            let token = format!("dtuser{}", st.serial);
            st.user_tokens.insert(token.clone(), unionid);
            ok(
                json!({"accessToken": token, "refreshToken": "r", "expireIn": 7200, "corpId": st.corp_id}),
            )
        }
        ("GET", "/v1.0/contact/users/me") => {
            let token = req
                .headers
                .get("x-acs-dingtalk-access-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let Some(unionid) = st.user_tokens.get(token) else {
                return dt_api_error(401, "InvalidAuthentication", "token invalid");
            };
            let Some(u) = st.users.iter().find(|u| &u.unionid == unionid) else {
                return dt_api_error(404, "UserNotFound", "no user");
            };
            ok(json!({
                "nick": u.nick, "avatarUrl": "", "mobile": u.account_mobile, "stateCode": "86",
                "openId": format!("open-{}", u.userid), "unionId": u.unionid, "email": u.account_email,
            }))
        }
        ("POST", "/v1.0/oauth2/accessToken") => {
            let Some(body) = req.json() else {
                return dt_api_error(400, "InvalidParameter", "body must be JSON");
            };
            if body["appKey"] != DT_KEY || body["appSecret"] != DT_SECRET {
                return dt_api_error(400, "InvalidAppKey", "bad app key or secret");
            }
            let t = st.app_tokens.issue("dtapp");
            ok(json!({"accessToken": t, "expireIn": 7200}))
        }
        ("POST", "/topapi/user/getbyunionid") => {
            if !oapi_token_ok(st) {
                return dt_oapi_error(40014, "不合法的access_token");
            }
            let Some(body) = req.json() else {
                return dt_oapi_error(40035, "缺少参数 json");
            };
            let unionid = body["unionid"].as_str().unwrap_or("");
            match st.users.iter().find(|u| u.unionid == unionid && u.member) {
                Some(u) => ok(
                    json!({"errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": u.userid}}),
                ),
                None => dt_oapi_error(60121, "找不到该用户"),
            }
        }
        ("POST", "/topapi/v2/user/get") => {
            if !oapi_token_ok(st) {
                return dt_oapi_error(40014, "不合法的access_token");
            }
            let Some(body) = req.json() else {
                return dt_oapi_error(40035, "缺少参数 json");
            };
            let userid = body["userid"].as_str().unwrap_or("");
            match st.users.iter().find(|u| u.userid == userid && u.member) {
                Some(u) => ok(json!({"errcode": 0, "errmsg": "ok", "result": dt_record(u)})),
                None => dt_oapi_error(60121, "找不到该用户"),
            }
        }
        ("POST", "/topapi/v2/department/listsub") => {
            if !oapi_token_ok(st) {
                return dt_oapi_error(40014, "不合法的access_token");
            }
            let Some(dept) = req.json().and_then(|b| b["dept_id"].as_i64()) else {
                return dt_oapi_error(40035, "缺少参数 dept_id");
            };
            let subs: Vec<Value> = st
                .depts
                .iter()
                .filter(|(_, parent)| *parent == dept)
                .map(|(id, parent)| json!({"dept_id": id, "name": format!("Dept {id}"), "parent_id": parent}))
                .collect();
            ok(json!({"errcode": 0, "errmsg": "ok", "result": subs}))
        }
        ("POST", "/topapi/v2/user/list") => {
            if !oapi_token_ok(st) {
                return dt_oapi_error(40014, "不合法的access_token");
            }
            let Some(body) = req.json() else {
                return dt_oapi_error(40035, "缺少参数 json");
            };
            let (Some(dept), Some(cursor), Some(size)) = (
                body["dept_id"].as_i64(),
                body["cursor"].as_i64(),
                body["size"].as_i64(),
            ) else {
                return dt_oapi_error(40035, "缺少参数 dept_id/cursor/size");
            };
            if !(1..=100).contains(&size) || cursor < 0 {
                return dt_oapi_error(40035, "size must be 1..100");
            }
            let all: Vec<&DtUser> = st
                .users
                .iter()
                .filter(|u| u.member && u.depts.contains(&dept))
                .collect();
            let take = (size as usize).min(st.page_size);
            let start = cursor as usize;
            let page: Vec<Value> = all
                .iter()
                .skip(start)
                .take(take)
                .map(|u| {
                    let mut record = dt_record(u);
                    if st.lists_without_unionid {
                        record.as_object_mut().map(|r| r.remove("unionid"));
                    }
                    record
                })
                .collect();
            let end = start + page.len();
            let more = end < all.len();
            let mut result = json!({"has_more": more, "list": page});
            if more {
                result["next_cursor"] = json!(end);
            }
            ok(json!({"errcode": 0, "errmsg": "ok", "result": result}))
        }
        _ => Answer::Text(
            404,
            format!("no such endpoint: {} {}", req.method, req.path),
        ),
    }
}

// ---------------------------------------------------------------------------------
// WeCom

/// A member of the fake WeCom corporation.
#[derive(Debug, Clone)]
pub struct WcUser {
    pub userid: String,
    pub name: String,
    pub email: String,
    pub biz_mail: String,
    pub mobile: String,
    pub depts: Vec<i64>,
}

impl WcUser {
    pub fn new(userid: &str, depts: &[i64]) -> WcUser {
        WcUser {
            userid: userid.into(),
            name: format!("{userid} (wecom)"),
            email: String::new(),
            biz_mail: format!("{userid}@wecom.example.com"),
            mobile: String::new(),
            depts: depts.to_vec(),
        }
    }
}

/// Who signs in at the next authorize request.
#[derive(Debug, Clone)]
pub enum WcLogin {
    Member(String),
    /// An external contact (not a member of the corporation).
    External,
    /// The user closes the QR page: the callback comes back without a code.
    Cancel,
}

struct WcState {
    users: Vec<WcUser>,
    next_login: Option<WcLogin>,
    codes: HashMap<String, WcLogin>,
    tokens: Tokens,
    page_size: usize,
    serial: usize,
    log: Vec<Seen>,
}

pub const WC_CORP: &str = "wwcorp0001";
pub const WC_AGENT: &str = "1000002";
pub const WC_SECRET: &str = "wecomSecret1";

pub struct WeCom {
    server: Server,
    state: Arc<Mutex<WcState>>,
}

impl WeCom {
    pub fn start(users: Vec<WcUser>) -> WeCom {
        let state = Arc::new(Mutex::new(WcState {
            users,
            next_login: None,
            codes: HashMap::new(),
            tokens: Tokens::default(),
            page_size: 3,
            serial: 0,
            log: Vec::new(),
        }));
        let s = state.clone();
        let server = serve(Arc::new(move |req| {
            let mut st = s.lock().expect("fake state");
            st.log.push(req.clone());
            wecom(&mut st, &req)
        }));
        WeCom { server, state }
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    pub fn settings_toml(&self) -> String {
        format!(
            "corp_id = \"{WC_CORP}\"\nagent_id = \"{WC_AGENT}\"\nsecret = \"{WC_SECRET}\"\nlogin_base = \"{b}\"\napi_base = \"{b}\"\n",
            b = self.base()
        )
    }

    pub fn will_sign_in(&self, who: WcLogin) {
        self.state.lock().unwrap().next_login = Some(who);
    }

    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().tokens.expire_all();
    }

    pub fn tokens_issued(&self) -> usize {
        self.state.lock().unwrap().tokens.issued
    }

    pub fn requests(&self, path: &str) -> Vec<Seen> {
        let st = self.state.lock().unwrap();
        st.log.iter().filter(|r| r.path == path).cloned().collect()
    }
}

fn wc_error(errcode: i64, errmsg: &str) -> Answer {
    ok(json!({"errcode": errcode, "errmsg": errmsg}))
}

fn wecom(st: &mut WcState, req: &Seen) -> Answer {
    // Every API call but gettoken names a token.
    let token_problem = |st: &WcState| {
        let t = req.q("access_token");
        if st.tokens.live.contains(t) {
            None
        } else if st.tokens.expired.contains(t) {
            Some(wc_error(42001, "access_token expired"))
        } else {
            Some(wc_error(40014, "invalid access_token"))
        }
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/wwlogin/sso/login") => {
            let problems = [
                (req.q("login_type") != "CorpApp", "login_type"),
                (req.q("appid") != WC_CORP, "appid"),
                (req.q("agentid") != WC_AGENT, "agentid"),
                (!alphanumeric(req.q("state")), "state"),
                (
                    url::Url::parse(req.q("redirect_uri")).is_err(),
                    "redirect_uri",
                ),
            ];
            if let Some((_, what)) = problems.iter().find(|(bad, _)| *bad) {
                return Answer::Text(400, format!("bad login request: {what}"));
            }
            let Some(who) = st.next_login.take() else {
                return Answer::Text(400, "nobody signs in".into());
            };
            if matches!(who, WcLogin::Cancel) {
                return Answer::Redirect(with_query(
                    req.q("redirect_uri"),
                    &[("state", req.q("state"))],
                ));
            }
            st.serial += 1;
            let code = format!("wccode{}", st.serial);
            st.codes.insert(code.clone(), who);
            Answer::Redirect(with_query(
                req.q("redirect_uri"),
                &[("code", &code), ("state", req.q("state"))],
            ))
        }
        ("GET", "/cgi-bin/gettoken") => {
            if req.q("corpid") != WC_CORP || req.q("corpsecret") != WC_SECRET {
                return wc_error(40001, "invalid credential");
            }
            let t = st.tokens.issue("wctok");
            ok(json!({"errcode": 0, "errmsg": "ok", "access_token": t, "expires_in": 7200}))
        }
        ("GET", "/cgi-bin/auth/getuserinfo") => {
            if let Some(e) = token_problem(st) {
                return e;
            }
            match st.codes.remove(req.q("code")) {
                Some(WcLogin::Member(userid)) => {
                    ok(json!({"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "t"}))
                }
                Some(_) => ok(
                    json!({"errcode": 0, "errmsg": "ok", "openid": "oExternal1", "external_userid": "wmExternal1"}),
                ),
                None => wc_error(40029, "invalid code"),
            }
        }
        ("GET", "/cgi-bin/user/get") => {
            if let Some(e) = token_problem(st) {
                return e;
            }
            match st.users.iter().find(|u| u.userid == req.q("userid")) {
                Some(u) => ok(json!({
                    "errcode": 0, "errmsg": "ok", "userid": u.userid, "name": u.name,
                    "department": u.depts, "email": u.email, "biz_mail": u.biz_mail,
                    "mobile": u.mobile, "avatar": "", "status": 1,
                })),
                None => wc_error(60111, "userid not found"),
            }
        }
        ("POST", "/cgi-bin/user/list_id") => {
            if let Some(e) = token_problem(st) {
                return e;
            }
            let Some(body) = req.json() else {
                return wc_error(40058, "body must be JSON");
            };
            let limit = body["limit"].as_u64().unwrap_or(0);
            if !(1..=10_000).contains(&limit) {
                return wc_error(40058, "limit out of range");
            }
            let start: usize = match body["cursor"].as_str().unwrap_or("") {
                "" => 0,
                c => match c.strip_prefix("cur").and_then(|n| n.parse().ok()) {
                    Some(n) => n,
                    None => return wc_error(40058, "bad cursor"),
                },
            };
            // One entry per (member, department): members of two departments twice.
            let entries: Vec<Value> = st
                .users
                .iter()
                .flat_map(|u| {
                    u.depts
                        .iter()
                        .map(move |d| json!({"userid": u.userid, "department": d}))
                })
                .collect();
            let take = (limit as usize).min(st.page_size);
            let page: Vec<Value> = entries.iter().skip(start).take(take).cloned().collect();
            let end = start + page.len();
            let next = if end < entries.len() {
                format!("cur{end}")
            } else {
                String::new()
            };
            ok(json!({"errcode": 0, "errmsg": "ok", "next_cursor": next, "dept_user": page}))
        }
        _ => Answer::Text(
            404,
            format!("no such endpoint: {} {}", req.method, req.path),
        ),
    }
}
