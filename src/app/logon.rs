//! Logon, sessions and the first-run setup.

use super::accounts::NewAccountInput;
use super::factors::Method;
use super::{Actor, App, audit, now};
use crate::delivery::Channel;
use crate::domain::account::Account;
use crate::domain::settings::Settings;
use crate::error::Error;
use crate::store::sessions::{NewSession, Session, Stage};
use crate::store::{self, StoreError};
use crate::tokens;

/// The browser making a request, as far as the log and the session list need it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// A session just created: the cookie token (never stored) and the session row.
#[derive(Debug, Clone)]
pub struct NewLogon {
    pub token: String,
    pub session: Session,
    pub account: Account,
}

const SETUP_TOKEN_KEY: &str = "setup_token_sha256";
/// Sessions are "seen" at most this often, so reads rarely write.
pub const TOUCH_EVERY: i64 = 60;

fn throttle_key_for_name(identifier: &str) -> String {
    let mut k: String = identifier.trim().to_lowercase().chars().take(200).collect();
    k.insert_str(0, "name:");
    k
}

pub(crate) fn throttle_key_for_account(id: i64) -> String {
    format!("account:{id}")
}

fn invalid_credentials() -> Error {
    Error::form(
        "username",
        "err.logon_invalid",
        "incorrect account or password",
    )
}

impl App {
    /// Password logon with an account name, verified email or verified mobile. Unknown
    /// accounts and wrong passwords get the same answer in the same time.
    pub async fn logon(
        &self,
        identifier: &str,
        password: &str,
        client: &Client,
        old_token: Option<&str>,
    ) -> Result<NewLogon, Error> {
        let settings = self.settings()?;
        let rule = settings.lockout();
        let t = now();
        let name_key = throttle_key_for_name(identifier);
        let account = if identifier.trim().is_empty() {
            None
        } else {
            self.find_account(identifier)?
        };
        let (name_locked, account_locked, hash) = self.store.read(|c| {
            let name_locked = store::throttle::locked_until(c, &name_key, t)?;
            let account_locked = match &account {
                Some(a) => store::throttle::locked_until(c, &throttle_key_for_account(a.id), t)?,
                None => None,
            };
            let hash = match &account {
                Some(a) if name_locked.is_none() && account_locked.is_none() => {
                    store::accounts::password_hash(c, a.id)?
                }
                _ => None,
            };
            Ok::<_, Error>((name_locked, account_locked, hash))
        })?;
        // Always pay for one verification, whatever the outcome.
        let ok = self.hasher.verify(password, hash).await?;
        if let Some(until) = name_locked {
            let minutes = ((until - t) + 59) / 60;
            return Err(Error::Form(vec![
                crate::error::Problem::new(
                    "username",
                    "err.logon_locked",
                    format!("too many failed attempts; try again in {minutes} minutes"),
                )
                .with_n(minutes.max(1) as usize),
            ]));
        }
        let actor = Actor {
            id: None,
            name: String::new(),
            ip: client.ip.clone(),
        };
        if account_locked.is_some() {
            return Err(invalid_credentials());
        }
        let Some(account) = account.clone().filter(|_| ok) else {
            self.store.write(|tx| {
                let locked = store::throttle::record_failure(tx, &name_key, t, rule)?;
                if let Some(a) = &account {
                    let a_locked = store::throttle::record_failure(
                        tx,
                        &throttle_key_for_account(a.id),
                        t,
                        rule,
                    )?;
                    audit(
                        tx,
                        &actor,
                        "logon.failed",
                        Some((a.id, &a.label())),
                        "wrong password",
                    )?;
                    if a_locked || locked {
                        audit(
                            tx,
                            &actor,
                            "logon.locked",
                            Some((a.id, &a.label())),
                            &format!("locked for {} minutes", rule.seconds / 60),
                        )?;
                    }
                }
                Ok::<_, Error>(())
            })?;
            return Err(invalid_credentials());
        };
        let logon = self
            .logon_account_with(&account, client, "password", old_token, |tx| {
                store::throttle::clear(tx, &name_key)?;
                store::throttle::clear(tx, &throttle_key_for_account(account.id))?;
                Ok(())
            })
            .await?;
        Ok(logon)
    }

    /// Logs an account on after its first factor passed (password or a bound identity):
    /// refuses disabled accounts, then applies the second-factor rules.
    pub async fn logon_account(
        &self,
        account: &Account,
        client: &Client,
        how: &str,
    ) -> Result<NewLogon, Error> {
        self.logon_account_with(account, client, how, None, |_| Ok(()))
            .await
    }

    async fn logon_account_with(
        &self,
        account: &Account,
        client: &Client,
        how: &str,
        old_token: Option<&str>,
        also: impl FnOnce(&rusqlite::Connection) -> Result<(), Error>,
    ) -> Result<NewLogon, Error> {
        let settings = self.settings()?;
        let t = now();
        let actor = Actor {
            id: None,
            name: String::new(),
            ip: client.ip.clone(),
        };
        if account.disabled {
            self.audit(
                &actor,
                "logon.refused",
                Some((account.id, &account.label())),
                "account disabled",
            )?;
            return Err(Error::form(
                "username",
                "err.logon_disabled",
                "this account is disabled; contact your administrator",
            ));
        }
        let Some(stage) = self.stage_after_password(&settings, account, t)? else {
            self.audit(
                &actor,
                "logon.refused",
                Some((account.id, &account.label())),
                "no second factor, and too old to bind one at logon",
            )?;
            return Err(Error::form(
                "username",
                "err.bind_too_late",
                "your account needs a second factor; ask your administrator to set one up",
            ));
        };
        self.store.write(|tx| {
            also(tx)?;
            store::accounts::touch_logon(tx, account.id, t)?;
            let actor = Actor {
                id: Some(account.id),
                name: account.label(),
                ip: client.ip.clone(),
            };
            let detail = if stage == Stage::PasswordExpired {
                format!("{how}; password expired")
            } else {
                how.to_string()
            };
            audit(
                tx,
                &actor,
                "logon",
                Some((account.id, &account.label())),
                &detail,
            )?;
            start_session(tx, account, stage, client, old_token)
        })
    }

    /// Where a password logon leads: the second factor when required and bound; binding
    /// one when forced; then an expired password's change. `None`: forced binding applies
    /// but the account is past `mfa.force_binding_max_age_days` (an admin must help).
    fn stage_after_password(
        &self,
        settings: &Settings,
        account: &Account,
        now: i64,
    ) -> Result<Option<Stage>, Error> {
        let factors = self.factors(account)?;
        if settings.flag("mfa.required") && factors.any() {
            return Ok(Some(Stage::SecondFactor));
        }
        if settings.flag("mfa.force_binding")
            && !factors.any()
            && !self.bindable_factors(settings).is_empty()
        {
            let max_age = settings.int("mfa.force_binding_max_age_days");
            let young =
                account.last_logon_at.is_none() || now - account.created_at <= max_age * 86_400;
            if max_age > 0 && !young {
                return Ok(None);
            }
            return Ok(Some(Stage::BindFactor));
        }
        Ok(Some(self.stage_after_factors(settings, account, now)))
    }

    /// The stage once the second factor is settled: the password's expiry, else active.
    pub fn stage_after_factors(&self, settings: &Settings, account: &Account, now: i64) -> Stage {
        if settings
            .password_policy()
            .is_expired(account.password_changed_at, now)
        {
            Stage::PasswordExpired
        } else {
            Stage::Active
        }
    }

    /// The methods a user could bind at logon: enabled by the admin, and deliverable.
    pub fn bindable_factors(&self, settings: &Settings) -> Vec<Method> {
        let mut v = Vec::new();
        if settings.flag("mfa.passkey") {
            v.push(Method::Passkey);
        }
        if settings.flag("mfa.otp") {
            v.push(Method::Otp);
        }
        if settings.flag("mfa.sms") && self.delivery.available(Channel::Sms) {
            v.push(Method::Sms);
        }
        if settings.flag("mfa.email") && self.delivery.available(Channel::Email) {
            v.push(Method::Email);
        }
        v
    }

    /// Moves a session on after its second factor passed or a factor was bound, with a
    /// fresh token (privilege changed). Returns the new cookie token.
    pub fn advance_session(
        &self,
        actor: &Actor,
        session: &Session,
        account: &Account,
        event: &str,
    ) -> Result<(String, Stage), Error> {
        let settings = self.settings()?;
        let stage = self.stage_after_factors(&settings, account, now());
        let token = tokens::new_token();
        self.store.write(|tx| {
            store::sessions::rotate(tx, session.id, &tokens::hash_token(&token), stage, now())?;
            audit(tx, actor, event, Some((account.id, &account.label())), "")
        })?;
        Ok((token, stage))
    }

    /// Whether the session proved the password recently enough for a sensitive change.
    pub fn recently_authenticated(&self, session: &Session) -> Result<bool, Error> {
        let limits = self.settings()?.session_limits();
        Ok(now() - session.authenticated_at <= limits.reauth_seconds)
    }

    /// Proves the password again for a sensitive change (counts toward lockout).
    pub async fn reauthenticate(
        &self,
        session: &Session,
        account: &Account,
        password: &str,
    ) -> Result<(), Error> {
        let key = throttle_key_for_account(account.id);
        let rule = self.settings()?.lockout();
        let (hash, locked) = self.store.read(|c| {
            Ok::<_, Error>((
                store::accounts::password_hash(c, account.id)?,
                store::throttle::locked_until(c, &key, now())?,
            ))
        })?;
        let ok = self.hasher.verify(password, hash).await?;
        if locked.is_some() {
            return Err(Error::form(
                "password",
                "err.code_locked",
                "too many failed attempts; try again later",
            ));
        }
        if !ok {
            self.store
                .write(|tx| store::throttle::record_failure(tx, &key, now(), rule))?;
            return Err(Error::form(
                "password",
                "err.current_password",
                "the password is wrong",
            ));
        }
        self.store
            .write(|tx| store::sessions::set_authenticated(tx, session.id, now()))?;
        Ok(())
    }

    /// The session a cookie token names, with its account, if it is still valid.
    pub fn resolve_session(&self, token: &str) -> Result<Option<(Session, Account)>, Error> {
        let limits = self.settings()?.session_limits();
        let t = now();
        let hash = tokens::hash_token(token);
        let Some((session, account)) = self.store.read(|c| {
            let Some(session) = store::sessions::by_token_hash(c, &hash)? else {
                return Ok::<_, StoreError>(None);
            };
            let account = store::accounts::get(c, session.account_id)?;
            Ok(Some((session, account)))
        })?
        else {
            return Ok(None);
        };
        let expired = t - session.last_seen_at > limits.idle_seconds
            || t - session.created_at > limits.absolute_seconds;
        let Some(account) = account.filter(|a| !a.disabled && !expired) else {
            self.store
                .write(|tx| store::sessions::delete(tx, session.id))?;
            return Ok(None);
        };
        // Reads rarely write: the last-seen time moves at most once a minute.
        if t - session.last_seen_at >= TOUCH_EVERY {
            self.store
                .write(|tx| store::sessions::touch(tx, session.id, t))?;
        }
        Ok(Some((session, account)))
    }

    /// Ends the session a cookie token names (logout).
    pub fn logout(&self, token: &str, client: &Client) -> Result<(), Error> {
        let hash = tokens::hash_token(token);
        self.store.write(|tx| {
            if let Some(s) = store::sessions::by_token_hash(tx, &hash)? {
                store::sessions::delete(tx, s.id)?;
                let a = store::accounts::require(tx, s.account_id)?;
                let actor = Actor {
                    id: Some(a.id),
                    name: a.label(),
                    ip: client.ip.clone(),
                };
                audit(tx, &actor, "logout", Some((a.id, &a.label())), "")?;
            }
            Ok(())
        })
    }

    /// The user ends one of their sessions.
    pub fn revoke_session(
        &self,
        actor: &Actor,
        account: &Account,
        session_id: i64,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            if !store::sessions::delete_owned(tx, account.id, session_id)? {
                return Err(Error::NotFound("session".into()));
            }
            audit(
                tx,
                actor,
                "session.revoke",
                Some((account.id, &account.label())),
                "",
            )
        })
    }

    /// The user (or an admin, with `keep = None`) ends every other session.
    pub fn revoke_other_sessions(
        &self,
        actor: &Actor,
        account: &Account,
        keep: Option<i64>,
    ) -> Result<usize, Error> {
        self.store.write(|tx| {
            let n = store::sessions::delete_for_account(tx, account.id, keep)?;
            audit(
                tx,
                actor,
                "session.revoke_all",
                Some((account.id, &account.label())),
                &format!("{n} sessions ended"),
            )?;
            Ok(n)
        })
    }

    /// Drops expired sessions and stale throttle rows (run periodically).
    pub fn purge(&self) -> Result<usize, Error> {
        let s = self.settings()?;
        let limits = s.session_limits();
        let t = now();
        Ok(self.store.write(|tx| {
            let n = store::sessions::purge_expired(
                tx,
                t - limits.idle_seconds,
                t - limits.absolute_seconds,
            )?;
            store::throttle::purge(tx, t, s.lockout().seconds)?;
            store::passkeys::purge_ceremonies(tx, t)?;
            Ok::<_, StoreError>(n)
        })?)
    }

    /// While no enabled admin exists, makes a fresh one-time setup token and returns
    /// the setup link; otherwise retires any token and returns `None`.
    pub fn setup_link(&self) -> Result<Option<String>, Error> {
        self.store.write(|tx| {
            if store::accounts::count_active_admins(tx, None)? > 0 {
                store::meta::delete(tx, SETUP_TOKEN_KEY)?;
                return Ok(None);
            }
            let token = tokens::new_token();
            store::meta::set(
                tx,
                SETUP_TOKEN_KEY,
                &hex::encode(tokens::hash_token(&token)),
            )?;
            Ok(Some(format!(
                "{}/setup?token={token}",
                self.config.base_url()
            )))
        })
    }

    /// Whether `token` is the live setup token (no admin exists yet).
    pub fn setup_token_valid(&self, token: &str) -> Result<bool, Error> {
        self.store.read(|c| {
            if store::accounts::count_active_admins(c, None)? > 0 {
                return Ok(false);
            }
            let Some(stored) = store::meta::get(c, SETUP_TOKEN_KEY)? else {
                return Ok(false);
            };
            Ok(tokens::same(
                &stored,
                &hex::encode(tokens::hash_token(token)),
            ))
        })
    }

    /// Creates the first administrator from the setup link and logs them on.
    pub async fn complete_setup(
        &self,
        token: &str,
        input: &NewAccountInput,
        client: &Client,
    ) -> Result<NewLogon, Error> {
        if !self.setup_token_valid(token)? {
            return Err(Error::Refused("this setup link is no longer valid".into()));
        }
        let actor = Actor {
            id: None,
            name: "(setup)".into(),
            ip: client.ip.clone(),
        };
        let input = NewAccountInput {
            is_admin: true,
            ..input.clone()
        };
        let token_hash = hex::encode(tokens::hash_token(token));
        let id = self
            .create_account_if(&actor, &input, |tx| {
                // Checked again, and spent, in the transaction that creates the admin.
                let stored = store::meta::get(tx, SETUP_TOKEN_KEY)?;
                let live = store::accounts::count_active_admins(tx, None)? == 0
                    && stored.is_some_and(|s| tokens::same(&s, &token_hash));
                if !live {
                    return Err(Error::Refused("this setup link is no longer valid".into()));
                }
                store::meta::delete(tx, SETUP_TOKEN_KEY)?;
                Ok(())
            })
            .await?;
        self.store.write(|tx| {
            let account = store::accounts::require(tx, id)?;
            store::accounts::touch_logon(tx, id, now())?;
            audit(
                tx,
                &actor,
                "setup.complete",
                Some((id, &account.label())),
                "first administrator created",
            )?;
            start_session(tx, &account, Stage::Active, client, None)
        })
    }
}

/// Creates a session (rotating away the browser's previous one, if any).
fn start_session(
    tx: &rusqlite::Connection,
    account: &Account,
    stage: Stage,
    client: &Client,
    old_token: Option<&str>,
) -> Result<NewLogon, Error> {
    if let Some(old) = old_token
        && let Some(s) = store::sessions::by_token_hash(tx, &tokens::hash_token(old))?
    {
        store::sessions::delete(tx, s.id)?;
    }
    let token = tokens::new_token();
    let csrf = tokens::new_token();
    let ua: String = client.user_agent.chars().take(256).collect();
    let id = store::sessions::insert(
        tx,
        &NewSession {
            token_hash: &tokens::hash_token(&token),
            account_id: account.id,
            csrf_token: &csrf,
            stage,
            user_agent: &ua,
            ip: &client.ip,
        },
        now(),
    )?;
    let t = now();
    Ok(NewLogon {
        token,
        session: Session {
            id,
            account_id: account.id,
            csrf_token: csrf,
            stage,
            created_at: t,
            last_seen_at: t,
            authenticated_at: t,
            user_agent: ua,
            ip: client.ip.clone(),
        },
        account: account.clone(),
    })
}
