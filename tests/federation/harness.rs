//! What the federated logon tests need besides `crate::support`: a real OpenID Provider
//! (`tests/oidc/op.mjs`, oidc-provider under node, a child process), a `latchkey serve`
//! on a port chosen before it starts (the OP must know the redirect URI up front, and
//! `support::Env::serve` forces `LATCHKEY_LISTEN=127.0.0.1:0`), a browser whose cookie
//! jar spans the portal and the OP, and a driver for the OP's development login and
//! consent forms.

#![allow(dead_code)] // Not every test uses every helper.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use regex::Regex;
use reqwest::cookie::Jar;

use crate::support::{Env, PASSWORD, Page, browser_client, jar_cookie, unescape};

/// The OP's client credentials, as `[connectors.settings]` repeats them.
pub const CLIENT_ID: &str = "latchkey";
pub const CLIENT_SECRET: &str = "secret";

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// One connector instance of the test portal, all pointing at the one OP.
#[derive(Debug, Clone, Copy)]
pub struct Connector {
    pub id: &'static str,
    pub name: &'static str,
    pub login: bool,
    pub bind: bool,
    pub provision: bool,
    pub trust_email: bool,
    /// What the portal sends as the client secret (the OP knows only `CLIENT_SECRET`).
    pub client_secret: &'static str,
}

impl Connector {
    pub const fn new(id: &'static str, name: &'static str) -> Connector {
        Connector {
            id,
            name,
            login: true,
            bind: true,
            provision: false,
            trust_email: false,
            client_secret: CLIENT_SECRET,
        }
    }
}

/// `node tests/oidc/op.mjs`, killed when dropped (and it exits when its stdin closes,
/// should the test process die without dropping it).
pub struct Op {
    child: Child,
    /// `http://127.0.0.1:PORT`, exactly as its discovery document names it.
    pub issuer: String,
    log: PathBuf,
}

impl Op {
    fn start(dir: &Path, redirect_uris: &[String], client_secret: &str) -> Op {
        let modules = oidc_dir().join("node_modules/oidc-provider");
        assert!(
            modules.is_dir(),
            "tests/oidc/node_modules is missing (the OpenID Provider for these tests); \
             run: npm ci --prefix tests/oidc"
        );
        Op::spawn(
            dir,
            "op.mjs",
            &[
                ("REDIRECT_URI", redirect_uris.join(" ")),
                ("CLIENT_SECRET", client_secret.to_string()),
            ],
        )
    }

    /// `node tests/oidc/fake-op.mjs`: the defect-injecting OP, one provider per case.
    /// Its `issuer` is the origin; a case's issuer is `{issuer}/{case}`.
    pub fn start_fake(dir: &Path) -> Op {
        Op::spawn(dir, "fake-op.mjs", &[])
    }

    fn spawn(dir: &Path, script: &str, env: &[(&str, String)]) -> Op {
        let log = dir.join(format!("{script}.log"));
        let stderr = std::fs::File::create(&log).expect("OP log file");
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(oidc_dir())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("EXIT_WITH_STDIN", "1")
            .env_remove("PORT")
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 or later is needed): {e}"));
        let issuer = match first_line_with(&mut child, "OP listening on ") {
            Some(issuer) => issuer,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tests/oidc/{script} did not start; its stderr:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Op { child, issuer, log }
    }

    /// What the OP wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The subject Latchkey records for an OP account: `"{issuer}#{sub}"`.
    pub fn subject(&self, login: &str) -> String {
        format!("{}#{login}", self.issuer)
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the child's stdout until a line starting with `prefix` (returning the rest of
/// it), on a thread that keeps draining stdout afterwards. `None` if the child exits or
/// is silent for 60 s.
fn first_line_with(child: &mut Child, prefix: &'static str) -> Option<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).ok()?;
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return Some(rest.trim().trim_end_matches('/').to_string());
        }
    }
}

/// A running `latchkey serve` whose `listen` and `public_url` come from
/// `config/latchkey.toml` in the data dir. Killed when dropped.
pub struct Portal {
    child: Child,
    /// `http://127.0.0.1:PORT` (= `public_url`).
    pub base: String,
    log: PathBuf,
}

impl Portal {
    /// Writes `toml` (which must set `listen` and `public_url` to a free port) as the
    /// data dir's `config/latchkey.toml`, starts `latchkey serve` and waits until it
    /// listens there.
    pub fn start(env: &Env, toml: &str) -> Portal {
        let port = toml
            .lines()
            .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
            .and_then(|rest| rest.trim_end_matches('"').parse::<u16>().ok())
            .expect("the config sets listen = \"127.0.0.1:PORT\"");
        std::fs::create_dir_all(env.path().join("config")).expect("config dir");
        std::fs::write(env.path().join("config/latchkey.toml"), toml).expect("config file");
        let log = env.path().join(format!("serve-federation-{port}.log"));
        let stderr = std::fs::File::create(&log).expect("server log file");
        let mut child = env
            .command()
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start latchkey serve");
        let Some(listening) = first_line_with(&mut child, "Latchkey is listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "latchkey serve did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        assert!(
            listening.ends_with(&format!(":{port}")),
            "latchkey listens on {listening}, not on port {port} of its config file"
        );
        Portal {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// A free port for a portal, and its base URL.
    pub fn free_port() -> (u16, String) {
        let holder = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = holder.local_addr().expect("local addr").port();
        (port, format!("http://127.0.0.1:{port}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server wrote to stderr so far (its log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[[connectors]]` table of one instance of the `oidc` plugin at `issuer`.
pub fn connector_toml(c: &Connector, issuer: &str) -> String {
    format!(
        r#"
[[connectors]]
id = "{id}"
plugin = "oidc"
name = "{name}"
login = {login}
bind = {bind}
provision = {provision}
allow_http = true
[connectors.settings]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{secret}"
trust_email = "{trust}"
"#,
        id = c.id,
        name = c.name,
        login = c.login,
        bind = c.bind,
        provision = c.provision,
        trust = c.trust_email,
        secret = c.client_secret,
    )
}

/// The port of a portal yet to start: held until just before it starts, so that an OP
/// started meanwhile (listening on port 0) cannot be given it.
pub struct PortalPort {
    holder: TcpListener,
    pub port: u16,
    /// `http://127.0.0.1:PORT`, the portal's `public_url`.
    pub base: String,
}

impl PortalPort {
    pub fn reserve() -> PortalPort {
        let holder = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = holder.local_addr().expect("local addr").port();
        PortalPort {
            holder,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Writes `config/latchkey.toml` (`listen` and `public_url` for this port, then
    /// `toml`) and starts `latchkey serve` with it.
    pub fn start(self, env: &Env, toml: &str) -> Portal {
        let PortalPort { holder, port, base } = self;
        let toml = format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n{toml}\n");
        drop(holder);
        Portal::start(env, &toml)
    }
}

/// The OP and the portal, wired to each other.
pub struct World {
    pub op: Op,
    pub portal: Portal,
}

impl World {
    /// Starts the OP with one client whose redirect URIs are the connectors' callbacks,
    /// then the portal with those connector instances.
    pub fn start(env: &Env, connectors: &[Connector]) -> World {
        World::start_with(env, connectors, "")
    }

    /// Like `start`, with more configuration (TOML tables, placed before the
    /// connectors).
    pub fn start_with(env: &Env, connectors: &[Connector], extra_toml: &str) -> World {
        World::start_full(env, connectors, extra_toml, &[], CLIENT_SECRET)
    }

    /// With no connector in the configuration file: the OP also accepts the callbacks
    /// of `console_ids` (instances a test adds in the admin console) and knows its
    /// client by `client_secret`.
    pub fn start_for_console(env: &Env, console_ids: &[&str], client_secret: &str) -> World {
        World::start_full(env, &[], "", console_ids, client_secret)
    }

    fn start_full(
        env: &Env,
        connectors: &[Connector],
        extra_toml: &str,
        console_ids: &[&str],
        client_secret: &str,
    ) -> World {
        let port = PortalPort::reserve();
        let callbacks: Vec<String> = connectors
            .iter()
            .map(|c| c.id)
            .chain(console_ids.iter().copied())
            .map(|id| format!("{}/connectors/{id}/callback", port.base))
            .collect();
        let op = Op::start(env.path(), &callbacks, client_secret);
        let mut toml = extra_toml.to_string();
        for c in connectors {
            toml.push_str(&connector_toml(c, &op.issuer));
        }
        let portal = port.start(env, &toml);
        World { op, portal }
    }

    pub fn browser(&self) -> Agent {
        Agent::new(&self.portal.base)
    }

    /// Both logs, for assertion messages.
    pub fn logs(&self) -> String {
        format!(
            "--- latchkey log (tail) ---\n{}\n--- OP log (tail) ---\n{}",
            tail(&self.portal.log(), 40),
            tail(&self.op.log(), 20)
        )
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A browser: one cookie jar for the portal and the OP (both on 127.0.0.1, so, as in a
/// real browser, cookies do not tell the ports apart), no redirects followed.
pub struct Agent {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    base_url: url::Url,
}

impl Agent {
    pub fn new(base: &str) -> Agent {
        let (client, jar) = browser_client("latchkey-federation-test");
        Agent {
            client,
            jar,
            base: base.to_string(),
            base_url: url::Url::parse(base).expect("base url"),
        }
    }

    /// A path on the portal, or an absolute URL anywhere.
    fn absolute(&self, target: &str) -> String {
        if target.starts_with('/') {
            format!("{}{target}", self.base)
        } else {
            target.to_string()
        }
    }

    pub async fn get(&self, target: &str) -> Page {
        let url = self.absolute(target);
        Page::read(
            self.client
                .get(&url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}")),
        )
        .await
    }

    pub async fn post(&self, target: &str, fields: &[(&str, &str)]) -> Page {
        let url = self.absolute(target);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Page::read(
            self.client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {url}: {e}")),
        )
        .await
    }

    /// Submits a form as a browser would: its fields, to its action (resolved against
    /// the URL of the page it came from).
    pub async fn submit(&self, page_url: &str, form: &Form) -> Page {
        let action = resolve(&self.absolute(page_url), &form.action);
        let fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(&action, &fields).await
    }

    /// The value of a cookie the browser holds for the portal.
    pub fn cookie(&self, name: &str) -> Option<String> {
        jar_cookie(&self.jar, &self.base_url, name)
    }

    /// Whether the browser reaches My Account (else it is sent to the logon page).
    pub async fn logged_on(&self) -> bool {
        let p = self.get("/account").await;
        match p.status {
            200 => true,
            303 | 302 => {
                let to = p.location.unwrap_or_default();
                assert!(to.starts_with("/login"), "unexpected redirect to {to}");
                false
            }
            s => panic!("GET /account answered {s}"),
        }
    }

    /// My Account, which must be reachable.
    pub async fn account(&self) -> Page {
        let p = self.get("/account").await;
        assert_eq!(p.status, 200, "GET /account: {}", p.summary());
        p
    }

    /// Logs on with a password through the logon form; asserts it worked.
    pub async fn must_login(&self, username: &str) {
        let login = self.get("/login").await;
        assert_eq!(login.status, 200, "GET /login: {}", login.summary());
        let csrf = login.csrf().expect("the logon form has a csrf field");
        let p = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", PASSWORD),
                    ("next", ""),
                ],
            )
            .await;
        p.assert_redirect("/account", &format!("password logon of {username}"));
        assert!(self.cookie("lk_session").is_some(), "no session cookie");
    }

    /// Follows redirects inside the portal (relative, or absolute to its base) from
    /// `page`, fetched at `url`, until an answer that is not a redirect or one that
    /// leaves the portal. Returns the last URL (a path) and answer.
    pub async fn follow(&self, url: &str, page: Page) -> (String, Page) {
        let mut url = self.absolute(url);
        let mut page = page;
        for _ in 0..8 {
            if !matches!(page.status, 301 | 302 | 303 | 307) {
                break;
            }
            let next = resolve(&url, page.location.as_deref().expect("redirect location"));
            if !next.starts_with(&self.base) {
                break;
            }
            page = self.get(&next).await;
            url = next;
        }
        let path = url.strip_prefix(&self.base).unwrap_or(&url).to_string();
        (path, page)
    }
}

/// `reference` resolved against `base` (both as a browser would).
pub fn resolve(base: &str, reference: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(reference))
        .unwrap_or_else(|e| panic!("cannot resolve {reference:?} against {base:?}: {e}"))
        .to_string()
}

/// The value of a query parameter of an absolute URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `name` set to `value` (`None`: removed), others kept.
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut u = url::Url::parse(url).expect("absolute URL");
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(name, v);
        }
    }
    u.to_string()
}

/// One HTML form of a page: its action, method and what submitting it sends.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let re = Regex::new(&format!(r#"\s{}="([^"]*)""#, regex::escape(name))).expect("regex");
    re.captures(tag).map(|c| unescape(&c[1]))
}

/// Every form of the page, with the values its inputs (and first named button) send.
pub fn forms(page: &Page) -> Vec<Form> {
    let form_re = Regex::new(r"(?s)<form\b([^>]*)>(.*?)</form>").expect("regex");
    let input_re = Regex::new(r"<input\b[^>]*>").expect("regex");
    let button_re = Regex::new(r"<button\b[^>]*>").expect("regex");
    let checkable = Regex::new(r#"\stype="(?:checkbox|radio)""#).expect("regex");
    let checked = Regex::new(r"\schecked(?:[\s>/=]|$)").expect("regex");
    form_re
        .captures_iter(&page.body)
        .map(|c| {
            let open = &c[1];
            let mut fields = Vec::new();
            for m in input_re.find_iter(&c[2]) {
                let tag = m.as_str();
                let Some(name) = attr(tag, "name") else {
                    continue;
                };
                if checkable.is_match(tag) && !checked.is_match(tag) {
                    continue;
                }
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
            if let Some((name, value)) = button_re
                .find_iter(&c[2])
                .find_map(|m| Some((attr(m.as_str(), "name")?, attr(m.as_str(), "value"))))
            {
                fields.push((name, value.unwrap_or_default()));
            }
            Form {
                action: attr(&format!(" {open}"), "action").unwrap_or_default(),
                method: attr(&format!(" {open}"), "method")
                    .unwrap_or_else(|| "get".into())
                    .to_lowercase(),
                fields,
            }
        })
        .collect()
}

/// The page's first form whose action contains `needle`.
pub fn form_to(page: &Page, needle: &str) -> Option<Form> {
    forms(page).into_iter().find(|f| f.action.contains(needle))
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Walks the OP's side of a sign-in that the portal started with `start` (its redirect
/// to the OP): answers the development login form as `login` (any password) and the
/// consent form, and stops at the first redirect back to the portal. Returns that
/// callback URL without visiting it.
pub async fn at_the_op(agent: &Agent, start: &Page, login: &str) -> String {
    op_walk(agent, start, Some(login)).await
}

/// Like `at_the_op`, but the user cancels at the OP's first form ("Cancel" link).
pub async fn cancel_at_the_op(agent: &Agent, start: &Page) -> String {
    op_walk(agent, start, None).await
}

async fn op_walk(agent: &Agent, start: &Page, login: Option<&str>) -> String {
    let first = start
        .location
        .clone()
        .unwrap_or_else(|| panic!("the portal did not send the browser to the OP: {start:?}"));
    assert!(
        matches!(start.status, 302 | 303),
        "the portal answered {} instead of a redirect to the OP",
        start.status
    );
    let mut url = resolve(&agent.base, &first);
    let cancel_link = Regex::new(r#"href="([^"]*/abort)""#).expect("regex");
    for _ in 0..12 {
        if url.starts_with(&agent.base) {
            return url;
        }
        let p = agent.get(&url).await;
        let next = match p.status {
            302 | 303 => p.location.clone().expect("redirect location"),
            200 if login.is_none() => {
                let abort = cancel_link
                    .captures(&p.body)
                    .map(|c| unescape(&c[1]))
                    .unwrap_or_else(|| panic!("no cancel link at {url}: {}", p.text()));
                let answer = agent.get(&resolve(&url, &abort)).await;
                assert!(
                    matches!(answer.status, 302 | 303),
                    "the OP answered {} to the cancel link",
                    answer.status
                );
                answer.location.clone().expect("redirect location")
            }
            200 => {
                let login = login.expect("a login name");
                let form = forms(&p)
                    .into_iter()
                    .find(|f| f.method == "post" && f.field("prompt").is_some())
                    .unwrap_or_else(|| panic!("no interaction form at {url}: {}", p.text()));
                let mut form = form;
                match form.field("prompt") {
                    Some("login") => {
                        form.fields.retain(|(k, _)| k != "login" && k != "password");
                        form.fields.push(("login".into(), login.into()));
                        form.fields
                            .push(("password".into(), "any password at all".into()));
                    }
                    Some("consent") => {}
                    other => panic!("unexpected OP prompt {other:?} at {url}"),
                }
                let answer = agent.submit(&url, &form).await;
                assert!(
                    matches!(answer.status, 302 | 303),
                    "the OP answered {} to its {:?} form: {}",
                    answer.status,
                    form.field("prompt"),
                    answer.text()
                );
                answer.location.clone().expect("redirect location")
            }
            s => panic!("the OP answered {s} at {url}: {}", p.text()),
        };
        url = resolve(&url, &next);
    }
    panic!("the OP never sent the browser back to the portal (last URL {url})");
}
