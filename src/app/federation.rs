//! Federated logon and binding through connector instances (`[[connectors]]` and the
//! console's, looked up through `app::connectors`).
//! Pending sign-ins live in `login_flows` (single use, 10 minutes, bound to the browser);
//! the binding rules of PRODUCT.md live here and in the schema.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::logon::{Client, NewLogon};
use super::{Actor, App, audit, now};
use crate::config::{ConnectorConfig, MatchBy};
use crate::domain::account::{Account, Identifier, validate_account_name};
use crate::error::Error;
use crate::plugins::{BeginRequest, Call, CompleteRequest, FailureKind, Identity, Plugins};
use crate::store::bindings::Kind;
use crate::store::{self, StoreError};
use crate::tokens;

const FLOW_TTL: i64 = 600;
/// The longest IdP URL the browser is sent to.
const MAX_REDIRECT_LEN: usize = 8 * 1024;

/// Why a sign-in is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Bind(i64),
}

/// Where a finished sign-in leads.
pub enum Outcome {
    LoggedOn(Box<NewLogon>),
    Bound { connector: String },
}

/// A failed connector call as the page explains it.
fn call_failure(e: crate::plugins::CallError) -> Error {
    match e.kind {
        FailureKind::Cancelled => refuse("err.sign_in_cancelled", "you cancelled the sign-in"),
        FailureKind::Refused => Error::form("connector", "err.connector_refused", e.message),
        FailureKind::Failed | FailureKind::Unsupported => {
            Error::form("connector", "err.connector_failed", e.message)
        }
    }
}

/// A refusal the user reads: a translation key and its English text.
fn refuse(key: &'static str, english: &str) -> Error {
    Error::form("connector", key, english)
}

fn setting_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl App {
    /// The enabled instance with this id (from the configuration file or the console).
    /// The connector plugins (loaded by `serve` and by the commands that call plugins).
    pub fn loaded_plugins(&self) -> Result<&Plugins, Error> {
        self.plugins
            .as_ref()
            .ok_or_else(|| Error::Internal("connector plugins are not loaded".into()))
    }

    pub fn connector_config(&self, id: &str) -> Option<Arc<ConnectorConfig>> {
        self.connector_instances()
            .iter()
            .find(|i| i.config.id == id && i.active())
            .map(|i| i.config.clone())
    }

    /// Enabled connector instances whose plugin is loaded.
    pub fn usable_connectors(&self) -> Vec<Arc<ConnectorConfig>> {
        let Some(plugins) = &self.plugins else {
            return Vec::new();
        };
        self.connector_instances()
            .iter()
            .filter(|i| i.active() && plugins.get(&i.config.plugin).is_some())
            .map(|i| i.config.clone())
            .collect()
    }

    pub(super) fn call<'a>(
        &self,
        c: &'a ConnectorConfig,
        settings: &'a [(String, String)],
    ) -> Call<'a> {
        Call {
            connector: &c.id,
            plugin: &c.plugin,
            settings,
            allow_http: c.allow_http,
        }
    }

    pub(super) fn instance_settings(c: &ConnectorConfig) -> Vec<(String, String)> {
        c.settings
            .iter()
            .map(|(k, v)| (k.clone(), setting_text(v)))
            .collect()
    }

    /// The origins My Account's bind forms may lead to (connectors offered for binding
    /// and not bound yet), for its CSP `form-action`.
    pub fn bind_origins(&self, bound: &[store::bindings::Binding]) -> Vec<String> {
        let Some(plugins) = &self.plugins else {
            return Vec::new();
        };
        let mut all: Vec<String> = self
            .usable_connectors()
            .iter()
            .filter(|c| c.bind && !bound.iter().any(|b| b.connector_id == c.id))
            .flat_map(|c| plugins.browser_origins(&c.plugin, &Self::instance_settings(c)))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn redirect_uri(&self, connector_id: &str) -> String {
        format!(
            "{}/connectors/{connector_id}/callback",
            self.config.base_url()
        )
    }

    /// Starts a sign-in at connector `id`: stores the flow and returns the IdP URL.
    /// `browser_token` goes into the `lk_flow` cookie; only its hash is stored.
    pub async fn begin_federation(
        &self,
        id: &str,
        purpose: Purpose,
        browser_token: &str,
    ) -> Result<String, Error> {
        let c = self
            .connector_config(id)
            .filter(|c| match purpose {
                Purpose::Login => c.login,
                Purpose::Bind(_) => c.bind,
            })
            .ok_or_else(|| Error::NotFound(format!("connector {id}")))?;
        let plugins = self.loaded_plugins()?;
        let state = hex::encode({
            let mut b = [0u8; 16];
            tokens::fill_random(&mut b);
            b
        });
        let nonce = tokens::new_token();
        let verifier = tokens::new_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let redirect_uri = self.redirect_uri(id);
        let settings = Self::instance_settings(&c);
        let url = plugins
            .begin(
                &self.call(&c, &settings),
                BeginRequest {
                    state: state.clone(),
                    nonce: nonce.clone(),
                    pkce_challenge: challenge,
                    redirect_uri: redirect_uri.clone(),
                },
            )
            .await
            .map_err(|e| {
                tracing::warn!(connector = %id, detail = %e.detail, "connector begin failed");
                call_failure(e)
            })?;
        // The browser goes where the plugin says only if that is a sane web address; it
        // is sent as parsed (no raw control characters), and bounded in length.
        let parsed = url::Url::parse(&url)
            .ok()
            .filter(|_| url.len() <= MAX_REDIRECT_LEN);
        let Some(parsed) = parsed else {
            tracing::warn!(connector = %id, length = url.len(), "connector gave an invalid URL");
            return Err(refuse(
                "err.connector_failed",
                "the connector gave an invalid URL",
            ));
        };
        if !matches!(parsed.scheme(), "https" | "http")
            || (parsed.scheme() == "http" && !c.allow_http)
            || parsed.host_str().is_none()
        {
            tracing::warn!(connector = %id, scheme = parsed.scheme(), "connector gave an unsafe URL");
            return Err(refuse(
                "err.connector_failed",
                "the connector gave an unsafe URL",
            ));
        }
        let url = parsed.to_string();
        let t = now();
        self.store.write(|tx| {
            store::flows::insert(
                tx,
                &store::flows::Flow {
                    state,
                    browser_hash: tokens::hash_token(browser_token),
                    connector_id: id.to_string(),
                    purpose: match purpose {
                        Purpose::Login => "login".into(),
                        Purpose::Bind(_) => "bind".into(),
                    },
                    account_id: match purpose {
                        Purpose::Login => None,
                        Purpose::Bind(a) => Some(a),
                    },
                    nonce,
                    pkce_verifier: verifier,
                    redirect_uri,
                    expires_at: t + FLOW_TTL,
                },
                t,
            )
        })?;
        Ok(url)
    }

    /// Finishes a sign-in from the IdP's callback.
    pub async fn complete_federation(
        &self,
        id: &str,
        query: Vec<(String, String)>,
        browser_token: Option<&str>,
        client: &Client,
    ) -> Result<Outcome, Error> {
        if self.connector_config(id).is_none() {
            return Err(Error::NotFound(format!("connector {id}")));
        }
        let state = query
            .iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        // Single use: the flow is gone from here on, whatever happens next.
        let flow = self.store.write(|tx| store::flows::take(tx, &state))?;
        let flow = flow
            .filter(|f| f.connector_id == id && f.expires_at >= now())
            .filter(|f| browser_token.is_some_and(|t| tokens::hash_token(t) == f.browser_hash))
            .ok_or_else(|| {
                refuse(
                    "err.flow_invalid",
                    "this sign-in has expired or was started in another browser",
                )
            })?;
        let c = self
            .connector_config(id)
            .ok_or_else(|| Error::NotFound(format!("connector {id}")))?;
        let plugins = self.loaded_plugins()?;
        let settings = Self::instance_settings(&c);
        let actor = Actor {
            id: None,
            name: String::new(),
            ip: client.ip.clone(),
        };
        let identity = plugins
            .complete(
                &self.call(&c, &settings),
                CompleteRequest {
                    query,
                    pkce_verifier: flow.pkce_verifier,
                    nonce: flow.nonce,
                    redirect_uri: flow.redirect_uri,
                },
            )
            .await
            .map_err(|e| {
                tracing::warn!(connector = %id, detail = %e.detail, "connector sign-in failed");
                call_failure(e)
            })?;
        match flow.account_id {
            Some(account_id) if flow.purpose == "bind" => {
                self.bind_identity(&actor, account_id, &c, &identity)?;
                Ok(Outcome::Bound {
                    connector: id.to_string(),
                })
            }
            _ => self
                .logon_identity(&actor, &c, &identity, client)
                .await
                .map(|l| Outcome::LoggedOn(Box::new(l))),
        }
    }

    fn bind_identity(
        &self,
        actor: &Actor,
        account_id: i64,
        c: &ConnectorConfig,
        identity: &Identity,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            let account = store::accounts::require(tx, account_id)?;
            if let Some(b) = store::bindings::by_subject(tx, &c.id, &identity.subject)? {
                return Err(if b.account_id == account_id {
                    refuse(
                        "err.already_bound",
                        "this identity is already bound to your account",
                    )
                } else {
                    refuse(
                        "err.identity_taken",
                        "this identity is bound to another account",
                    )
                });
            }
            let display = identity
                .display_name
                .clone()
                .or_else(|| identity.email.clone())
                .unwrap_or_default();
            store::bindings::insert(
                tx,
                account_id,
                &c.id,
                &identity.subject,
                Kind::Manual,
                &display,
                now(),
            )
            .map_err(|e| match e {
                StoreError::Conflict(_) => refuse(
                    "err.already_bound_connector",
                    "your account is already bound to this sign-in service",
                ),
                other => Error::from(other),
            })?;
            let actor = Actor {
                id: Some(account_id),
                name: account.label(),
                ip: actor.ip.clone(),
            };
            audit(
                tx,
                &actor,
                "binding.create",
                Some((account_id, &account.label())),
                &format!("{} (manual)", c.id),
            )
        })
    }

    async fn logon_identity(
        &self,
        actor: &Actor,
        c: &ConnectorConfig,
        identity: &Identity,
        client: &Client,
    ) -> Result<NewLogon, Error> {
        let bound = self
            .store
            .read(|tx| store::bindings::by_subject(tx, &c.id, &identity.subject))?;
        let account_id = match bound {
            Some(b) => b.account_id,
            None if c.provision => self.provision(actor, c, identity)?,
            None => {
                self.audit(
                    actor,
                    "logon.federated_refused",
                    None,
                    &format!("{}: unknown identity", c.id),
                )?;
                return Err(refuse(
                    "err.identity_unknown",
                    "no account is bound to this identity",
                ));
            }
        };
        let account = self.account(account_id)?;
        self.logon_account(&account, client, &format!("via {}", c.id))
            .await
    }

    /// Links (per `match_by`, only with attributes the IdP vouches for) or creates an
    /// account for an unknown identity, bound automatically.
    fn provision(
        &self,
        actor: &Actor,
        c: &ConnectorConfig,
        identity: &Identity,
    ) -> Result<i64, Error> {
        let region = self.config.phone_region.clone();
        self.store.write(|tx| {
            match link_or_create(tx, actor, c, identity, &region, "account.provision")? {
                Settled::Linked(id) | Settled::Created(id) => Ok(id),
                Settled::Conflict(_) => Err(refuse(
                    "err.auto_elsewhere",
                    "the matching account is already bound automatically to another sign-in service",
                )),
            }
        })
    }

    /// Removes a manual binding. Automatic bindings stay; the last way to log on stays.
    pub fn unbind(
        &self,
        actor: &Actor,
        account: &Account,
        connector_id: &str,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            let bindings = store::bindings::for_account(tx, account.id)?;
            let Some(b) = bindings.iter().find(|b| b.connector_id == connector_id) else {
                return Err(Error::NotFound("binding".into()));
            };
            if b.kind == Kind::Auto {
                return Err(refuse(
                    "err.unbind_auto",
                    "an automatic binding cannot be removed",
                ));
            }
            let has_password = store::accounts::password_hash(tx, account.id)?.is_some();
            if !has_password && bindings.len() <= 1 {
                return Err(refuse(
                    "err.unbind_last",
                    "this is your only way to log on; set a password first",
                ));
            }
            store::bindings::delete_manual(tx, account.id, connector_id)?;
            audit(
                tx,
                actor,
                "binding.delete",
                Some((account.id, &account.label())),
                connector_id,
            )
        })
    }

    pub fn bindings_of(&self, account_id: i64) -> Result<Vec<store::bindings::Binding>, Error> {
        Ok(self
            .store
            .read(|c| store::bindings::for_account(c, account_id))?)
    }
}

/// The IdP's display name as an account's: no control characters, at most 128.
pub(super) fn clean_display(identity: &Identity) -> String {
    identity
        .display_name
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect::<String>()
        .trim()
        .to_string()
}

/// What became of an identity no binding named yet.
pub(super) enum Settled {
    /// An existing account (found by `match_by`) is now bound to it.
    Linked(i64),
    /// A new account was created for it.
    Created(i64),
    /// The account `match_by` found cannot take it; nothing was written.
    Conflict(String),
}

/// Settles an identity that no binding names, inside the caller's transaction: links
/// the existing account `match_by` finds (only with attributes the IdP vouches for, and
/// never one bound automatically elsewhere), else creates an account; the binding is
/// automatic either way. New accounts get the hint as their name, and the email and
/// mobile the IdP vouches for, each only when valid and not taken; else left empty.
pub(super) fn link_or_create(
    tx: &rusqlite::Connection,
    actor: &Actor,
    c: &ConnectorConfig,
    identity: &Identity,
    region: &str,
    create_event: &str,
) -> Result<Settled, Error> {
    use crate::domain::contact::{normalize_email, normalize_mobile};
    let candidate: Option<Identifier> = match c.match_by {
        MatchBy::Email if identity.email_verified => identity
            .email
            .as_deref()
            .and_then(|e| normalize_email(e).ok())
            .map(Identifier::Email),
        MatchBy::Mobile if identity.mobile_verified => identity
            .mobile
            .as_deref()
            .and_then(|m| normalize_mobile(m, region).ok())
            .map(Identifier::Mobile),
        MatchBy::AccountName => identity
            .account_name_hint
            .clone()
            .map(Identifier::AccountName),
        _ => None,
    };
    let display = clean_display(identity);
    if let Some(ident) = candidate
        && let Some(existing) = store::accounts::find(tx, &ident)?
    {
        let bindings = store::bindings::for_account(tx, existing.id)?;
        if let Some(b) = bindings.iter().find(|b| b.kind == Kind::Auto) {
            return Ok(Settled::Conflict(format!(
                "{} is already bound automatically to {}",
                existing.label(),
                b.connector_id
            )));
        }
        if bindings.iter().any(|b| b.connector_id == c.id) {
            return Ok(Settled::Conflict(format!(
                "{} is already bound to another {} identity",
                existing.label(),
                c.id
            )));
        }
        store::bindings::insert(
            tx,
            existing.id,
            &c.id,
            &identity.subject,
            Kind::Auto,
            &display,
            now(),
        )?;
        audit(
            tx,
            actor,
            "binding.create",
            Some((existing.id, &existing.label())),
            &format!("{} (automatic, matched)", c.id),
        )?;
        return Ok(Settled::Linked(existing.id));
    }
    let free = |ident: Identifier| matches!(store::accounts::find(tx, &ident), Ok(None));
    let name = identity
        .account_name_hint
        .as_deref()
        .and_then(|h| validate_account_name(h).ok())
        .filter(|n| free(Identifier::AccountName(n.clone())));
    let email = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        .and_then(|e| normalize_email(e).ok())
        .filter(|e| free(Identifier::Email(e.clone())));
    let mobile = identity
        .mobile
        .as_deref()
        .filter(|_| identity.mobile_verified)
        .and_then(|m| normalize_mobile(m, region).ok())
        .filter(|m| free(Identifier::Mobile(m.clone())));
    let id = store::accounts::insert(
        tx,
        &store::accounts::NewAccount {
            account_name: name.as_deref(),
            display_name: &display,
            email: email.as_deref(),
            mobile: mobile.as_deref(),
            is_admin: false,
            password_hash: None,
        },
        now(),
    )?;
    store::bindings::insert(
        tx,
        id,
        &c.id,
        &identity.subject,
        Kind::Auto,
        &display,
        now(),
    )?;
    let label = name.unwrap_or_else(|| display.clone());
    audit(tx, actor, create_event, Some((id, &label)), &c.id)?;
    Ok(Settled::Created(id))
}
