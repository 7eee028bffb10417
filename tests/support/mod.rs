//! The harness of the integration tests: a data directory per test (`Env`), the real
//! `latchkey` binary as its command line and as a server on a free port (`Server`,
//! killed on drop), and a browser with a cookie jar that does not follow redirects
//! (`Browser`), so tests can assert statuses and `Location` headers.

#![allow(dead_code)] // Not every test uses every helper.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use regex::Regex;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;

/// A password that satisfies the default policy (and contains none of the test names).
pub const PASSWORD: &str = "vermilion kettle orbit 42";
/// A second one, for password changes and resets.
pub const PASSWORD2: &str = "saffron lantern glacier 77";
/// A third one.
pub const PASSWORD3: &str = "cobalt harbour meadow 19";

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the CLI error contract: exit code 2 and exactly one line on stderr.
    #[track_caller]
    pub fn assert_refused(&self, what: &str) {
        assert_eq!(self.code, 2, "{what}: expected exit code 2, got {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "{what}: expected one stderr line, got {:?}",
            self.stderr
        );
        assert!(
            !lines[0].trim().is_empty(),
            "{what}: the error line is empty"
        );
    }

    #[track_caller]
    pub fn assert_ok(&self, what: &str) {
        assert_eq!(self.code, 0, "{what}: expected success, got {self:?}");
    }
}

/// One test's world: its own data directory, which is also the working directory of
/// every process it starts (so no `config/latchkey.toml` is picked up).
pub struct Env {
    dir: tempfile::TempDir,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("latchkey-it-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `latchkey` command for this data dir, with no `LATCHKEY_*` or `RUST_LOG`
    /// inherited from the caller's environment.
    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LATCHKEY_") {
                c.env_remove(&k);
            }
        }
        c.env_remove("RUST_LOG");
        c.current_dir(self.path())
            .env("LATCHKEY_DATA_DIR", self.path());
        c
    }

    /// Runs the CLI with `stdin` as its standard input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run latchkey");
        {
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(stdin.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for latchkey");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, "")
    }

    /// `latchkey user add NAME [extra…] --password-stdin`, which must succeed.
    pub fn add_user(&self, name: &str, extra: &[&str]) {
        self.add_user_with_password(name, extra, PASSWORD);
    }

    pub fn add_user_with_password(&self, name: &str, extra: &[&str], password: &str) {
        let mut args = vec!["user", "add", name];
        args.extend_from_slice(extra);
        args.push("--password-stdin");
        self.cli_with_stdin(&args, &format!("{password}\n"))
            .assert_ok(&format!("user add {name}"));
    }

    pub fn add_admin(&self, name: &str) {
        self.add_user(name, &["--admin"]);
    }

    /// `latchkey user show NAME --json`, or `None` when there is no such account.
    pub fn try_show(&self, name: &str) -> Option<serde_json::Value> {
        let out = self.cli(&["user", "show", name, "--json"]);
        if out.code != 0 {
            return None;
        }
        Some(
            serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("user show {name}: {e}: {out:?}")),
        )
    }

    pub fn show(&self, name: &str) -> serde_json::Value {
        self.try_show(name)
            .unwrap_or_else(|| panic!("no account {name:?}"))
    }

    /// The extended information of an account, as the database holds it.
    pub fn fields(&self, name: &str) -> serde_json::Value {
        self.show(name)["fields"].clone()
    }

    pub fn list(&self) -> Vec<serde_json::Value> {
        let out = self.cli(&["user", "list", "--json"]);
        out.assert_ok("user list");
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("user list: {e}: {out:?}"))
    }

    pub fn account_names(&self) -> BTreeSet<String> {
        self.list()
            .iter()
            .filter_map(|a| a["account_name"].as_str().map(String::from))
            .collect()
    }

    pub fn set(&self, key: &str, value: &str) {
        self.cli(&["settings", "set", key, value])
            .assert_ok(&format!("settings set {key} {value}"));
    }

    pub fn get(&self, key: &str) -> String {
        let out = self.cli(&["settings", "get", key]);
        out.assert_ok(&format!("settings get {key}"));
        out.stdout.trim().to_string()
    }

    pub fn add_field(&self, key: &str, label: &str, kind: &str, extra: &[&str]) {
        let mut args = vec!["field", "add", key, "--label", label, "--type", kind];
        args.extend_from_slice(extra);
        self.cli(&args).assert_ok(&format!("field add {key}"));
    }

    /// The database, opened beside the portal: for a test to look at rows, or to make
    /// time pass (backdate a row) where waiting would take minutes or days.
    pub fn db(&self) -> rusqlite::Connection {
        let db =
            rusqlite::Connection::open(self.path().join("latchkey.db")).expect("open the database");
        db.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        db
    }

    /// Starts `latchkey serve` on a free port and waits until it listens.
    pub fn serve(&self) -> Server {
        Server::start(self)
    }
}

/// A running `latchkey serve`. Killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The token of the printed one-time setup link, if one was printed.
    pub setup_token: Option<String>,
    /// The printed setup link as is.
    pub setup_link: Option<String>,
    log: PathBuf,
}

impl Server {
    fn start(env: &Env) -> Server {
        let log = env.path().join(format!("serve-{}.log", next_serial()));
        let stderr = std::fs::File::create(&log).expect("server log file");
        let mut child = env
            .command()
            .arg("serve")
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start latchkey serve");
        // Read stdout on a thread (and keep draining it, so the server never blocks on it).
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once the port is known nobody listens anymore; keep draining anyway.
                let _ = tx.send(line);
            }
        });
        let mut setup_link = None;
        let base = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let line = line.trim().to_string();
                    if let Some(addr) = line.strip_prefix("Latchkey is listening on ") {
                        break addr.trim().trim_end_matches('/').to_string();
                    }
                    if line.contains("/setup?token=") {
                        setup_link = Some(line);
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "latchkey serve did not start; its log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        let setup_token = setup_link
            .as_deref()
            .and_then(|l| l.split_once("token="))
            .map(|(_, t)| t.trim().to_string());
        Server {
            child,
            base,
            setup_token,
            setup_link,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// What the server wrote to stderr so far (its log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// reqwest is built with rustls and no default crypto provider (the main dependencies
/// choose ring, as `src/app/mod.rs` does); tests speak plain HTTP, but building a client
/// still needs one. Another test may have installed it already.
#[allow(deprecated)] // ring lacks post-quantum key exchange; irrelevant on loopback HTTP.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A test browser's HTTP client: its own cookie jar, no redirects followed, `agent` as
/// the User-Agent's last word.
pub fn browser_client(agent: &str) -> (reqwest::Client, Arc<Jar>) {
    install_tls_provider();
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .user_agent(format!(
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 {agent}"
        ))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    (client, jar)
}

/// The value of cookie `name` that `jar` would send to `url`.
pub fn jar_cookie(jar: &Jar, url: &url::Url, name: &str) -> Option<String> {
    let header = jar.cookies(url)?;
    let text = header.to_str().ok()?.to_string();
    text.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// One HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

/// A browser: its own cookie jar, no redirects followed.
pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    base_url: url::Url,
    accept_language: Option<String>,
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        let (client, jar) = browser_client("latchkey-integration-test");
        Browser {
            client,
            jar,
            base: server.base.clone(),
            base_url: url::Url::parse(&server.base).expect("base url"),
            accept_language: None,
        }
    }

    /// Sends `Accept-Language: LANG` with every request from now on.
    pub fn accept_language(mut self, lang: &str) -> Browser {
        self.accept_language = Some(lang.to_string());
        self
    }

    fn with_lang(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.accept_language {
            Some(l) => rb.header("accept-language", l),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let rb = self.with_lang(self.client.get(format!("{}{path}", self.base)));
        Page::read(
            rb.send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}")),
        )
        .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut rb = self.with_lang(self.client.get(format!("{}{path}", self.base)));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        Page::read(
            rb.send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}")),
        )
        .await
    }

    /// POSTs exactly these form fields (no CSRF token added).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let rb = self
            .with_lang(self.client.post(format!("{}{path}", self.base)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        Page::read(
            rb.send()
                .await
                .unwrap_or_else(|e| panic!("POST {path}: {e}")),
        )
        .await
    }

    pub async fn post_owned(&self, path: &str, fields: &[(String, String)]) -> Page {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(path, &pairs).await
    }

    /// The CSRF token the forms of this browser's pages carry: the session's once
    /// logged on (scraped from My Account), else the pre-logon one (from the logon page).
    pub async fn csrf(&self) -> String {
        if self.cookie("lk_session").is_some() {
            let p = self.get("/account").await;
            if p.status == 200 {
                return p.csrf().expect("My Account has forms with a csrf field");
            }
        }
        let p = self.get("/login").await;
        assert_eq!(p.status, 200, "GET /login: {p:?}");
        p.csrf().expect("the logon form has a csrf field")
    }

    /// POSTs the form fields plus the right CSRF token, as the page's form would.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Logs on through the logon form (`next` left empty).
    pub async fn login(&self, username: &str, password: &str) -> Page {
        self.login_next(username, password, "").await
    }

    pub async fn login_next(&self, username: &str, password: &str, next: &str) -> Page {
        self.submit(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }

    /// Logs on and asserts it worked.
    pub async fn must_login(&self, username: &str, password: &str) {
        let p = self.login(username, password).await;
        assert_eq!(p.status, 303, "logon of {username} failed: {}", p.summary());
        assert_eq!(
            p.location.as_deref(),
            Some("/account"),
            "logon of {username}"
        );
        assert!(
            self.cookie("lk_session").is_some(),
            "logon of {username} set no session cookie"
        );
    }

    /// Whether this browser reaches My Account (else it is sent to the logon page).
    pub async fn logged_on(&self) -> bool {
        let p = self.get("/account").await;
        match p.status {
            200 => true,
            303 => {
                let to = p.location.unwrap_or_default();
                assert!(to.starts_with("/login"), "unexpected redirect to {to}");
                false
            }
            s => panic!("GET /account answered {s}"),
        }
    }

    /// The value of a cookie the browser holds for the portal.
    pub fn cookie(&self, name: &str) -> Option<String> {
        jar_cookie(&self.jar, &self.base_url, name)
    }

    /// Puts a cookie in the jar, as a browser that was given it would hold it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &self.base_url);
    }
}

/// The `Set-Cookie` header of a response that sets `name`.
pub fn set_cookie_header(page: &Page, name: &str) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(String::from)
}

/// Decodes the few entities HTML escaping produces.
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The HTML id the views give an input (`field.dept` -> `in-field-dept`).
pub fn input_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("in-{clean}")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let re = Regex::new(&format!(r#"\s{}="([^"]*)""#, regex::escape(name))).expect("regex");
    re.captures(tag).map(|c| unescape(&c[1]))
}

fn has_flag(tag: &str, name: &str) -> bool {
    let re = Regex::new(&format!(r#"\s{}(?:[\s>/=]|$)"#, regex::escape(name))).expect("regex");
    re.is_match(tag)
}

impl Page {
    /// One answer, read whole.
    pub async fn read(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = resp.text().await.expect("response body");
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    /// Status, location and the visible error messages, for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "status {} location {:?} alert {:?} errors {:?}",
            self.status,
            self.location,
            self.alert(),
            self.errors()
        )
    }

    /// Every `<input …>` tag named `name`.
    fn inputs(&self, name: &str) -> Vec<String> {
        let re = Regex::new(r"<(?:input|select|textarea)\b[^>]*>").expect("regex");
        re.find_iter(&self.body)
            .map(|m| m.as_str().to_string())
            .filter(|t| attr(t, "name").as_deref() == Some(name))
            .collect()
    }

    /// Whether the page has a form control named `name`.
    pub fn has_input(&self, name: &str) -> bool {
        !self.inputs(name).is_empty()
    }

    /// The value of the first input named `name`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        self.inputs(name).first().and_then(|t| attr(t, "value"))
    }

    /// All values of the inputs named `name` (e.g. the session ids of the revoke forms).
    pub fn input_values(&self, name: &str) -> Vec<String> {
        self.inputs(name)
            .iter()
            .filter_map(|t| attr(t, "value"))
            .collect()
    }

    /// Whether the (checkbox) input named `name` is checked.
    pub fn is_checked(&self, name: &str) -> bool {
        self.inputs(name)
            .first()
            .is_some_and(|t| has_flag(t, "checked"))
    }

    /// The selected option of the `<select>` named `name`.
    pub fn selected_option(&self, name: &str) -> Option<String> {
        let re = Regex::new(r"(?s)<select\b[^>]*>(.*?)</select>").expect("regex");
        let opt = Regex::new(r"<option\b[^>]*>").expect("regex");
        for c in re.captures_iter(&self.body) {
            let open = c.get(0).expect("match").as_str();
            let open_tag = &open[..open.find('>').map(|i| i + 1).unwrap_or(open.len())];
            if attr(open_tag, "name").as_deref() != Some(name) {
                continue;
            }
            return opt
                .find_iter(&c[1])
                .map(|m| m.as_str())
                .find(|t| has_flag(t, "selected"))
                .and_then(|t| attr(t, "value"));
        }
        None
    }

    /// The CSRF token in the page's forms.
    pub fn csrf(&self) -> Option<String> {
        self.input_value("csrf")
    }

    /// The error message shown next to the input named `name`, if any.
    pub fn field_error(&self, name: &str) -> Option<String> {
        let re = Regex::new(&format!(
            r#"(?s)<p class="error" id="{}-err">(.*?)</p>"#,
            regex::escape(&input_id(name))
        ))
        .expect("regex");
        re.captures(&self.body).map(|c| text_of(&c[1]))
    }

    /// Every error message shown next to an input.
    pub fn errors(&self) -> Vec<String> {
        let re = Regex::new(r#"(?s)<p class="error"[^>]*>(.*?)</p>"#).expect("regex");
        re.captures_iter(&self.body)
            .map(|c| text_of(&c[1]))
            .collect()
    }

    /// The text of the error summary at the top of a form, if shown.
    pub fn alert(&self) -> Option<String> {
        let re =
            Regex::new(r#"(?s)<div class="alert error" role="alert">(.*?)</div>"#).expect("regex");
        re.captures(&self.body).map(|c| text_of(&c[1]))
    }

    /// The page's visible text (tags removed, entities decoded).
    pub fn text(&self) -> String {
        text_of(&self.body)
    }

    /// The `lang` of the `<html>` element.
    pub fn lang(&self) -> Option<String> {
        let re = Regex::new(r"<html\b[^>]*>").expect("regex");
        re.find(&self.body).and_then(|m| attr(m.as_str(), "lang"))
    }

    pub fn title(&self) -> String {
        let re = Regex::new(r"(?s)<title>(.*?)</title>").expect("regex");
        re.captures(&self.body)
            .map(|c| text_of(&c[1]))
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }

    /// Asserts a 303 to exactly `to`.
    #[track_caller]
    pub fn assert_redirect(&self, to: &str, what: &str) {
        assert_eq!(self.status, 303, "{what}: {}", self.summary());
        assert_eq!(self.location.as_deref(), Some(to), "{what}");
    }
}

/// Visible text of an HTML fragment, whitespace collapsed.
pub fn text_of(html: &str) -> String {
    let tags = Regex::new(r"(?s)<[^>]*>").expect("regex");
    let t = unescape(&tags.replace_all(html, " "));
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}
