//! Delivery of one-time codes and notices: email over SMTP (lettre) and SMS through a
//! webhook (`POST {"to","text"}`). A channel that is not configured is `None`, and the
//! pages say so instead of pretending.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmsConfig, SmtpConfig, SmtpTls};
use crate::error::Error;

const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The form field (and account attribute) an address of this channel goes in.
    pub fn field(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "mobile",
        }
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when no SMTP host is configured.
    pub fn from_config(c: &SmtpConfig) -> Result<Option<Mailer>, Error> {
        let Some(host) = c.host.as_deref().filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let tls = c.tls.unwrap_or(SmtpTls::Starttls);
        let builder = match tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| Error::Invalid(format!("configuration: smtp.host: {e}")))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| Error::Invalid(format!("configuration: smtp.host: {e}")))?,
        };
        let port = c.port.unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        });
        let mut builder = builder.port(port).timeout(Some(TIMEOUT));
        if let Some(user) = c.username.as_deref().filter(|u| !u.is_empty()) {
            builder = builder.credentials(Credentials::new(
                user.to_string(),
                c.password.clone().unwrap_or_default(),
            ));
        }
        let from_text = c
            .from
            .clone()
            .unwrap_or_else(|| format!("Latchkey <latchkey@{host}>"));
        let from: Mailbox = from_text
            .parse()
            .map_err(|e| Error::Invalid(format!("configuration: smtp.from {from_text:?}: {e}")))?;
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

pub struct SmsSender {
    client: reqwest::Client,
    url: url::Url,
}

impl SmsSender {
    pub fn from_config(c: &SmsConfig) -> Result<Option<SmsSender>, Error> {
        let Some(url) = c.webhook_url.clone() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Some(SmsSender { client, url }))
    }

    /// Any answer but 2xx is a failure.
    pub async fn send(&self, to: &str, text: &str) -> Result<(), String> {
        let resp = self
            .client
            .post(self.url.clone())
            .json(&serde_json::json!({ "to": to, "text": text }))
            .send()
            .await
            .map_err(|e| format!("SMS gateway unreachable: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", resp.status()))
        }
    }
}

/// Both channels, as configured.
pub struct Delivery {
    pub mailer: Option<Mailer>,
    pub sms: Option<SmsSender>,
}

impl Delivery {
    pub fn from_config(config: &crate::config::Config) -> Result<Delivery, Error> {
        Ok(Delivery {
            mailer: Mailer::from_config(&config.smtp)?,
            sms: SmsSender::from_config(&config.sms)?,
        })
    }

    pub fn available(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.mailer.is_some(),
            Channel::Sms => self.sms.is_some(),
        }
    }

    /// Sends a message; `subject` is used for email only.
    pub async fn send(
        &self,
        channel: Channel,
        to: &str,
        subject: &str,
        text: &str,
    ) -> Result<(), String> {
        match channel {
            Channel::Email => match &self.mailer {
                Some(m) => m.send(to, subject, text).await,
                None => Err("email delivery is not configured".into()),
            },
            Channel::Sms => match &self.sms {
                Some(s) => s.send(to, text).await,
                None => Err("SMS delivery is not configured".into()),
            },
        }
    }
}
