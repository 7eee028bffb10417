//! Passkeys (WebAuthn) as a second factor: registering one on My Account, using one at
//! logon, removing them. A ceremony's state waits in the database between its two
//! requests (bound to the session, five minutes, used once), never in process memory.

use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, Webauthn,
    WebauthnBuilder,
};

use super::{Actor, App, audit, now};
use crate::domain::account::Account;
use crate::error::Error;
use crate::store::passkeys::{PasskeyRow, Purpose};
use crate::store::{self, StoreError};

/// A ceremony must finish within five minutes of its start.
pub const CEREMONY_TTL: i64 = 300;
pub const NAME_MAX: usize = 100;

fn problem(field: &'static str, key: &'static str, english: &str) -> Error {
    Error::form(field, key, english)
}

fn invalid() -> Error {
    problem(
        "credential",
        "err.passkey_invalid",
        "the passkey's answer was not accepted; try again",
    )
}

fn expired() -> Error {
    problem(
        "credential",
        "err.passkey_expired",
        "this passkey request has expired or was already used; try again",
    )
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("passkey: {e}"))
}

impl App {
    /// The relying party: id = host of `public_url`, origin = `public_url`.
    fn webauthn(&self) -> Result<Webauthn, Error> {
        let url = &self.config.public_url;
        // The relying-party id must be a domain name: an IP address cannot be one.
        let built = url
            .domain()
            .and_then(|host| WebauthnBuilder::new(host, url).ok())
            .and_then(|b| b.rp_name("Latchkey").build().ok());
        built.ok_or_else(|| {
            tracing::warn!(public_url = %url, "passkeys need public_url to name a host, not an IP address");
            problem(
                "credential",
                "err.passkey_unavailable",
                "passkeys are not available: the portal's address is not a domain name",
            )
        })
    }

    /// The WebAuthn user handle: stable per account, and reveals nothing about it.
    fn user_handle(&self, account_id: i64) -> Uuid {
        let mac = self.keys.mac(&["passkey-user", &account_id.to_string()]);
        let bytes = hex::decode(&mac).unwrap_or_default();
        let mut b = [0u8; 16];
        for (i, x) in bytes.iter().take(16).enumerate() {
            b[i] = *x;
        }
        Uuid::from_bytes(b)
    }

    /// Keeps a ceremony's state for its second step (this session, five minutes).
    fn save_ceremony(
        &self,
        session_id: i64,
        purpose: Purpose,
        state: &impl serde::Serialize,
        name: &str,
    ) -> Result<(), Error> {
        let state = serde_json::to_string(state).map_err(internal)?;
        Ok(self.store.write(|tx| {
            store::passkeys::put_ceremony(
                tx,
                session_id,
                purpose,
                &state,
                name,
                now() + CEREMONY_TTL,
            )
        })?)
    }

    pub fn passkeys(&self, account_id: i64) -> Result<Vec<PasskeyRow>, Error> {
        Ok(self.store.read(|c| store::passkeys::list(c, account_id))?)
    }

    /// Step 1 of registering: the creation options for `navigator.credentials.create`.
    pub fn passkey_register_start(
        &self,
        session_id: i64,
        account: &Account,
        name: &str,
    ) -> Result<CreationChallengeResponse, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(problem(
                "name",
                "err.passkey_name",
                "name the passkey (at most 100 characters)",
            ));
        }
        let existing: Vec<_> = self
            .passkeys(account.id)?
            .iter()
            .filter_map(|r| serde_json::from_str::<Passkey>(&r.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let user_name = account
            .account_name
            .clone()
            .unwrap_or_else(|| account.label());
        // WebAuthn refuses an empty display name.
        let display_name = if account.display_name.trim().is_empty() {
            user_name.clone()
        } else {
            account.display_name.clone()
        };
        let (options, state) = self
            .webauthn()?
            .start_passkey_registration(
                self.user_handle(account.id),
                &user_name,
                &display_name,
                Some(existing),
            )
            .map_err(internal)?;
        self.save_ceremony(session_id, Purpose::Register, &state, name)?;
        Ok(options)
    }

    /// Step 2: checks the authenticator's answer and stores the passkey. The ceremony is
    /// spent whatever the outcome.
    pub fn passkey_register_finish(
        &self,
        actor: &Actor,
        session_id: i64,
        account: &Account,
        credential: &str,
    ) -> Result<(), Error> {
        let taken = self
            .store
            .write(|tx| store::passkeys::take_ceremony(tx, session_id, Purpose::Register, now()))?;
        let Some((state, name)) = taken else {
            return Err(expired());
        };
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(internal)?;
        let reg: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| invalid())?;
        let passkey = self
            .webauthn()?
            .finish_passkey_registration(&reg, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                invalid()
            })?;
        let cred_id = hex::encode(passkey.cred_id());
        let json = serde_json::to_string(&passkey).map_err(internal)?;
        self.store.write(|tx| {
            store::passkeys::insert(tx, account.id, &name, &cred_id, &json, now()).map_err(
                |e| match e {
                    StoreError::Conflict(_) => problem(
                        "credential",
                        "err.passkey_taken",
                        "this passkey is already registered",
                    ),
                    other => Error::from(other),
                },
            )?;
            audit(
                tx,
                actor,
                "factor.passkey.add",
                Some((account.id, &account.label())),
                &name,
            )
        })
    }

    /// Removes one of the account's passkeys.
    pub fn passkey_remove(&self, actor: &Actor, account: &Account, id: i64) -> Result<(), Error> {
        self.store.write(|tx| {
            let Some(name) = store::passkeys::delete_owned(tx, account.id, id)? else {
                return Err(Error::NotFound("passkey".into()));
            };
            audit(
                tx,
                actor,
                "factor.passkey.remove",
                Some((account.id, &account.label())),
                &name,
            )
        })
    }

    /// Logon, step 1: the request options for `navigator.credentials.get`.
    pub fn passkey_logon_start(
        &self,
        session_id: i64,
        account: &Account,
    ) -> Result<RequestChallengeResponse, Error> {
        let creds: Vec<Passkey> = self
            .passkeys(account.id)?
            .iter()
            .filter_map(|r| serde_json::from_str(&r.credential).ok())
            .collect();
        if creds.is_empty() {
            return Err(Error::NotFound("passkey".into()));
        }
        let (options, state) = self
            .webauthn()?
            .start_passkey_authentication(&creds)
            .map_err(internal)?;
        self.save_ceremony(session_id, Purpose::Authenticate, &state, "")?;
        Ok(options)
    }

    /// Logon, step 2: checks the assertion; a refused one counts toward lockout like a
    /// wrong code. A good one updates the credential's counter and last use.
    pub fn passkey_logon_finish(
        &self,
        actor: &Actor,
        session_id: i64,
        account: &Account,
        credential: &str,
    ) -> Result<(), Error> {
        if self.locked(account.id)? {
            return Err(problem(
                "credential",
                "err.code_locked",
                "too many wrong codes; try again later",
            ));
        }
        let taken = self.store.write(|tx| {
            store::passkeys::take_ceremony(tx, session_id, Purpose::Authenticate, now())
        })?;
        let Some((state, _)) = taken else {
            self.count_wrong(account.id)?;
            return Err(expired());
        };
        let state: PasskeyAuthentication = serde_json::from_str(&state).map_err(internal)?;
        let checked = serde_json::from_str::<PublicKeyCredential>(credential)
            .ok()
            .and_then(|cred| {
                self.webauthn()
                    .ok()?
                    .finish_passkey_authentication(&cred, &state)
                    .map_err(|e| tracing::info!(error = %e, "passkey assertion refused"))
                    .ok()
            });
        let Some(result) = checked else {
            self.count_wrong(account.id)?;
            return Err(invalid());
        };
        let used = hex::encode(result.cred_id());
        let row = self
            .passkeys(account.id)?
            .into_iter()
            .find(|r| r.credential_id == used);
        let Some(row) = row else {
            self.count_wrong(account.id)?;
            return Err(invalid());
        };
        let mut passkey: Passkey = serde_json::from_str(&row.credential).map_err(internal)?;
        passkey.update_credential(&result);
        let json = serde_json::to_string(&passkey).map_err(internal)?;
        self.store.write(|tx| {
            store::passkeys::record_use(tx, row.id, &json, now())?;
            audit(
                tx,
                actor,
                "factor.passkey.use",
                Some((account.id, &account.label())),
                &row.name,
            )
        })
    }
}
