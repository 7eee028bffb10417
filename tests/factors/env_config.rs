//! Delivery configured by `LATCHKEY_SMTP__*` / `LATCHKEY_SMS__WEBHOOK_URL` environment
//! variables (the other factor tests use `config/latchkey.toml`, because
//! `support::Env::serve` passes no variables of ours).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::harness::{SmsHook, Smtp, six_digit_code};
use crate::support::Env;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Asks for a password reset from a fresh cookie-keeping client.
async fn ask_reset(base: &str, identifier: &str) {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let page = client
        .get(format!("{base}/password/reset"))
        .send()
        .await
        .expect("GET /password/reset")
        .text()
        .await
        .expect("body");
    let csrf = regex::Regex::new(r#"name="csrf"[^>]*value="([^"]+)""#)
        .unwrap()
        .captures(&page)
        .expect("a csrf field")[1]
        .to_string();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", csrf.as_str()), ("identifier", identifier)])
        .finish();
    let resp = client
        .post(format!("{base}/password/reset"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("POST /password/reset");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn environment_variables_configure_smtp_and_the_sms_webhook() {
    let env = Env::new();
    let smtp = Smtp::start(env.path());
    let hook = SmsHook::start();
    env.add_user(
        "liam",
        &["--email", "liam@example.com", "--mobile", "13800138008"],
    );
    let log = std::fs::File::create(env.path().join("serve-env.log")).expect("log");
    let mut child = env
        .command()
        .arg("serve")
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_SMTP__HOST", "127.0.0.1")
        .env("LATCHKEY_SMTP__PORT", smtp.port.to_string())
        .env("LATCHKEY_SMTP__TLS", "none")
        .env("LATCHKEY_SMTP__FROM", "Env Test <env@example.test>")
        .env("LATCHKEY_SMS__WEBHOOK_URL", &hook.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start latchkey serve");
    let stdout = child.stdout.take().expect("stdout");
    let serve = Serve(child);
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "serve did not start: {}",
                    std::fs::read_to_string(env.path().join("serve-env.log")).unwrap_or_default()
                )
            });
        if let Some(addr) = line.trim().strip_prefix("Latchkey is listening on ") {
            break addr.trim().trim_end_matches('/').to_string();
        }
    };

    ask_reset(&base, "liam").await;
    let mail = smtp.wait_for("liam@example.com", 1).await;
    assert!(mail.from.contains("env@example.test"), "{mail:?}");
    six_digit_code(&mail.body);

    ask_reset(&base, "13800138008").await;
    let sms = hook.wait_for("+8613800138008", 1).await;
    six_digit_code(&sms.text);
    drop(serve);
}
