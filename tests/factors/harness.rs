//! What the second-factor tests need besides `crate::support`: a real SMTP server
//! (aiosmtpd, run by `python3` as a child process), an SMS webhook receiver, a config
//! file pointing the server at both, and small page readers.
//!
//! Codes are always read from what was really delivered: the SMTP server decodes each
//! message as a mail client would (quoted-printable, base64, charsets) and appends it as
//! one JSON line to a file of its own; the webhook keeps the JSON bodies it was sent.

#![allow(dead_code)] // Not every test uses every helper.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use regex::Regex;
use warp::Filter;

use crate::support::{Browser, Env, Page, unescape};

/// How long a test waits for a message to arrive before it fails.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);

/// The SMTP server shared with the browser tests (`tests/smtp_sink.py`): aiosmtpd
/// writing every message, decoded by Python's `email` package, as a JSON line to
/// `argv[1]`. It stops when its standard input closes.
fn smtp_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py")
}

/// A port that was free a moment ago (aiosmtpd cannot listen on port 0 and report it).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope recipients.
    pub rcpt: Vec<String>,
    pub from: String,
    pub subject: String,
    pub transfer_encoding: String,
    /// The text/plain body, transfer encoding undone.
    pub body: String,
    pub raw: String,
}

impl Mail {
    /// The one-time code: the single run of exactly six digits in the body.
    pub fn code(&self) -> String {
        six_digit_code(&self.body)
    }
}

/// A real SMTP server on 127.0.0.1 (aiosmtpd). Killed when dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    file: PathBuf,
}

impl Smtp {
    /// Starts aiosmtpd; its messages and log go to files in `dir`.
    pub fn start(dir: &Path) -> Smtp {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let file = dir.join(format!("mail-{port}.jsonl"));
            let log = dir.join(format!("smtp-{port}.log"));
            let mut child = Command::new("python3")
                .arg(smtp_script())
                .arg(&file)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(
                    std::fs::File::create(&log).expect("smtp log file"),
                ))
                .spawn()
                .expect("run python3 (needed for the aiosmtpd SMTP server)");
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = mpsc::channel::<String>();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.trim() == "ready" => return Smtp { child, port, file },
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = std::fs::read_to_string(&log).unwrap_or_default();
                    if last_error.contains("No module named") {
                        panic!(
                            "the factor tests need aiosmtpd (`pip install aiosmtpd`):\n{last_error}"
                        );
                    }
                }
            }
        }
        panic!("the aiosmtpd SMTP server did not start:\n{last_error}");
    }

    /// Every message received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        // Only whole lines: a line being written has no newline yet.
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.pop();
        lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a mail record");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Mail {
                    rcpt: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(|s| s.to_lowercase()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    from: s("from"),
                    subject: s("subject"),
                    transfer_encoding: s("transfer_encoding"),
                    body: s("body"),
                    raw: s("raw"),
                }
            })
            .collect()
    }

    /// The messages sent to `to` so far.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        let to = to.to_lowercase();
        self.mails()
            .into_iter()
            .filter(|m| m.rcpt.contains(&to))
            .collect()
    }

    /// Waits until `to` has received `n` messages and returns the `n`-th (1-based).
    pub async fn wait_for(&self, to: &str, n: usize) -> Mail {
        let started = Instant::now();
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(
                started.elapsed() < DELIVERY_WAIT,
                "mail #{n} to {to} never arrived; all mails: {:#?}",
                self.mails()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the SMS webhook received.
#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub text: String,
    pub content_type: String,
    /// What the webhook answered.
    pub answered: u16,
}

#[derive(Default)]
struct HookState {
    received: Vec<Sms>,
    fail: bool,
}

/// An SMS gateway: `POST /sms` with `{"to","text"}`, answered 200 (or 500 when told to
/// fail). It runs on a thread of its own, so the test's own blocking calls never stall it.
pub struct SmsHook {
    pub url: String,
    state: Arc<Mutex<HookState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SmsHook {
    pub fn start() -> SmsHook {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the webhook");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(HookState::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("webhook runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let route = warp::post()
                    .and(warp::path("sms"))
                    .and(warp::path::end())
                    .and(warp::header::optional::<String>("content-type"))
                    .and(warp::body::bytes())
                    .map(move |ct: Option<String>, body: bytes::Bytes| {
                        let v: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                        let mut s = st.lock().expect("webhook state");
                        let status = if s.fail { 500 } else { 200 };
                        s.received.push(Sms {
                            to: v["to"].as_str().unwrap_or_default().to_string(),
                            text: v["text"].as_str().unwrap_or_default().to_string(),
                            content_type: ct.unwrap_or_default(),
                            answered: status,
                        });
                        warp::reply::with_status(
                            if status == 200 {
                                "queued"
                            } else {
                                "gateway down"
                            },
                            warp::http::StatusCode::from_u16(status).expect("status"),
                        )
                    });
                warp::serve(route)
                    .incoming(listener)
                    .graceful(async {
                        let _ = stopped.await;
                    })
                    .run()
                    .await;
            });
        });
        SmsHook {
            url: format!("http://127.0.0.1:{port}/sms"),
            state,
            stop: Some(stop),
        }
    }

    /// From now on answer 500 (`true`) or 200 (`false`).
    pub fn set_failing(&self, fail: bool) {
        self.state.lock().expect("webhook state").fail = fail;
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Sms> {
        self.state.lock().expect("webhook state").received.clone()
    }

    pub fn received_for(&self, to: &str) -> Vec<Sms> {
        self.received().into_iter().filter(|s| s.to == to).collect()
    }

    /// Waits until `to` has been sent `n` messages and returns the `n`-th (1-based).
    pub async fn wait_for(&self, to: &str, n: usize) -> Sms {
        let started = Instant::now();
        loop {
            let got = self.received_for(to);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            assert!(
                started.elapsed() < DELIVERY_WAIT,
                "SMS #{n} to {to} never arrived; all: {:#?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmsHook {
    fn drop(&mut self) {
        // The thread ends on its own once the server's connections close.
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Points the server (and CLI) of `env` at the SMTP server and the webhook, through
/// `config/latchkey.toml` in the data directory, which is every process's working
/// directory (`support::Env` starts no process with `LATCHKEY_*` variables of ours).
pub fn configure(env: &Env, smtp: Option<&Smtp>, sms: Option<&SmsHook>) {
    let mut toml = String::new();
    if let Some(s) = smtp {
        // No `from`: the default sender must do (the env-variable test sets one).
        toml.push_str(&format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\n",
            s.port
        ));
    }
    if let Some(h) = sms {
        toml.push_str(&format!("[sms]\nwebhook_url = \"{}\"\n", h.url));
    }
    let dir = env.path().join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("latchkey.toml"), toml).expect("write config");
}

/// Sets each setting through the CLI (before `serve`, so no cache delay applies).
pub fn settings(env: &Env, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        env.set(k, v);
    }
}

/// The single run of exactly six digits in `text` (the code of a message).
#[track_caller]
pub fn six_digit_code(text: &str) -> String {
    let re = Regex::new(r"(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)").expect("regex");
    let found: Vec<String> = re.captures_iter(text).map(|c| c[1].to_string()).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one 6-digit code in {text:?}"
    );
    found[0].clone()
}

/// A six-digit code that is not `code`.
pub fn other_code(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 500_001) % 1_000_000)
}

/// POSTs `fields` plus the given CSRF token (for pages where `Browser::submit` cannot
/// scrape one from My Account, e.g. during the second-factor or binding stage).
pub async fn post_with_csrf(b: &Browser, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
    let mut all: Vec<(&str, &str)> = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

/// GETs `path` and POSTs `fields` to `action` with the CSRF token of that page.
pub async fn post_from(
    b: &Browser,
    page_path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Page {
    let p = b.get(page_path).await;
    assert_eq!(p.status, 200, "GET {page_path}: {}", p.summary());
    let csrf = p
        .csrf()
        .unwrap_or_else(|| panic!("{page_path} has no csrf field"));
    post_with_csrf(b, action, &csrf, fields).await
}

/// The base32 secret the OTP page shows in `<code class="secret">`.
#[track_caller]
pub fn otp_secret(p: &Page) -> String {
    let re = Regex::new(r#"<code class="secret">([^<]*)</code>"#).expect("regex");
    re.captures(&p.body)
        .map(|c| unescape(&c[1]).trim().to_string())
        .unwrap_or_else(|| panic!("no <code class=\"secret\"> on the page: {}", p.summary()))
}

/// The `otpauth://` URI the OTP page shows as text.
#[track_caller]
pub fn otp_uri(p: &Page) -> String {
    let re = Regex::new(r#"(otpauth://[^<"\s]+)"#).expect("regex");
    let text = p.text();
    re.captures(&text)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no otpauth:// URI in the page text: {text}"))
}

/// The recovery codes a page shows in `<ul class="codes">`.
pub fn recovery_codes(p: &Page) -> Vec<String> {
    let ul = Regex::new(r#"(?s)<ul class="codes">(.*?)</ul>"#).expect("regex");
    let li = Regex::new(r#"(?s)<li>(.*?)</li>"#).expect("regex");
    let Some(c) = ul.captures(&p.body) else {
        return Vec::new();
    };
    li.captures_iter(&c[1])
        .map(|m| crate::support::text_of(&m[1]))
        .collect()
}

/// The admin console's id of an account, found in the account list.
pub async fn admin_account_id(admin: &Browser, name: &str) -> i64 {
    let p = admin.get(&format!("/admin/accounts?q={name}")).await;
    assert_eq!(p.status, 200, "{}", p.summary());
    let re = Regex::new(&format!(
        r#"href="/admin/accounts/(\d+)">{}<"#,
        regex::escape(name)
    ))
    .expect("regex");
    re.captures(&p.body)
        .unwrap_or_else(|| panic!("{name} not in the admin's account list"))[1]
        .parse()
        .expect("id")
}

/// Logs on with a password and asserts where the portal sends the browser.
pub async fn login_expect(b: &Browser, who: &str, password: &str, to: &str) -> Page {
    let p = b.login(who, password).await;
    assert_eq!(p.status, 303, "logon of {who}: {}", p.summary());
    assert_eq!(p.location.as_deref(), Some(to), "logon of {who}");
    p
}

/// The name of the input the page renders for a mobile number (`autocomplete="tel"`;
/// `mobile`, as `contacts::mobile_form_field_is_named_mobile` checks), so the tests fill
/// in the form as rendered, as a browser would.
pub fn mobile_input_name(p: &Page) -> Option<String> {
    let input = Regex::new(r"<input\b[^>]*>").expect("regex");
    let name = Regex::new(r#"\sname="([^"]*)""#).expect("regex");
    input
        .find_iter(&p.body)
        .map(|m| m.as_str())
        .filter(|t| t.contains(r#"autocomplete="tel""#))
        .find_map(|t| name.captures(t).map(|c| c[1].to_string()))
}

/// Submits the number through the form `/account/mobile` renders.
pub async fn submit_mobile(b: &Browser, number: &str) -> Page {
    let form = b.get("/account/mobile?again=1").await;
    assert_eq!(form.status, 200, "GET /account/mobile: {}", form.summary());
    let name = mobile_input_name(&form)
        .unwrap_or_else(|| panic!("no mobile input on /account/mobile: {}", form.summary()));
    let csrf = form.csrf().expect("csrf");
    post_with_csrf(b, "/account/mobile", &csrf, &[(name.as_str(), number)]).await
}
