//! Accounts: creation, profile and extended information, passwords, admin edits.

use std::collections::HashMap;

use super::{Actor, App, audit, now};
use crate::domain::account::{self, Account};
use crate::domain::contact;
use crate::domain::fields::{self, FieldDefinition, UserAccess, ValueError};
use crate::domain::password_policy::Violation;
use crate::error::{Error, Problem};
use crate::store::{self, StoreError};

/// What an admin (console or CLI) or the first-run setup gives to create an account.
#[derive(Debug, Clone, Default)]
pub struct NewAccountInput {
    pub account_name: String,
    pub display_name: String,
    pub email: String,
    pub mobile: String,
    pub is_admin: bool,
    pub password: String,
}

fn name_problem(e: account::NameError) -> Problem {
    Problem::new("account_name", e.message_key(), e.english())
}

fn display_problem(e: account::DisplayNameError) -> Problem {
    Problem::new("display_name", e.message_key(), e.english())
}

pub fn violation_problem(field: &str, v: &Violation) -> Problem {
    Problem::new(field, v.message_key(), v.english()).with_n(v.count())
}

/// Maps a uniqueness conflict of the store onto the form field it belongs to.
fn conflict_problem(e: StoreError) -> Error {
    match e {
        StoreError::Conflict("account name") => Error::form(
            "account_name",
            "err.name_taken",
            "this account name is already taken",
        ),
        // Never say whose it is.
        StoreError::Conflict("email address") => Error::form(
            "email",
            "err.email_taken",
            "this email address is already bound to another account",
        ),
        StoreError::Conflict("mobile number") => Error::form(
            "mobile",
            "err.mobile_taken",
            "this mobile number is already bound to another account",
        ),
        other => Error::from(other),
    }
}

impl App {
    /// Personal strings a password must not contain.
    fn personal_words(
        account_name: Option<&str>,
        display_name: &str,
        email: Option<&str>,
    ) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(n) = account_name {
            v.push(n.to_string());
        }
        v.push(display_name.to_string());
        if let Some(e) = email
            && let Some((local, _)) = e.split_once('@')
        {
            v.push(local.to_string());
        }
        v
    }

    /// Checks a new password against the policy (history included when `account_id`).
    pub async fn check_new_password(
        &self,
        field: &str,
        password: &str,
        personal: &[String],
        account_id: Option<i64>,
    ) -> Result<(), Error> {
        let policy = self.settings()?.password_policy();
        let words: Vec<&str> = personal.iter().map(String::as_str).collect();
        let mut problems: Vec<Problem> = policy
            .check(password, &words)
            .iter()
            .map(|v| violation_problem(field, v))
            .collect();
        if problems.is_empty()
            && policy.history > 0
            && let Some(id) = account_id
        {
            let hashes = self
                .store
                .read(|c| store::accounts::recent_password_hashes(c, id, policy.history))?;
            if self.hasher.matches_any(password, hashes).await? {
                problems.push(violation_problem(field, &Violation::Reused(policy.history)));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Form(problems))
        }
    }

    pub fn normalize_email_input(&self, raw: &str) -> Result<Option<String>, Problem> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        contact::normalize_email(raw).map(Some).map_err(|k| {
            Problem::new(
                "email",
                k,
                format!("{:?} is not a valid email address", raw.trim()),
            )
        })
    }

    pub fn normalize_mobile_input(&self, raw: &str) -> Result<Option<String>, Problem> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        contact::normalize_mobile(raw, &self.config.phone_region)
            .map(Some)
            .map_err(|k| {
                Problem::new(
                    "mobile",
                    k,
                    format!("{:?} is not a valid mobile number", raw.trim()),
                )
            })
    }

    /// Creates a local account. Email and mobile given here count as verified: the admin
    /// vouches for them.
    pub async fn create_account(
        &self,
        actor: &Actor,
        input: &NewAccountInput,
    ) -> Result<i64, Error> {
        self.create_account_if(actor, input, |_| Ok(())).await
    }

    /// As `create_account`; `guard` runs in the inserting transaction first and may
    /// refuse (the first-run setup checks and spends its token there, so two racing
    /// submissions cannot both create an administrator).
    pub async fn create_account_if(
        &self,
        actor: &Actor,
        input: &NewAccountInput,
        guard: impl FnOnce(&rusqlite::Connection) -> Result<(), Error>,
    ) -> Result<i64, Error> {
        let mut problems = Vec::new();
        let name = account::validate_account_name(&input.account_name)
            .map_err(|e| problems.push(name_problem(e)))
            .ok();
        let display = account::validate_display_name(&input.display_name)
            .map_err(|e| problems.push(display_problem(e)))
            .ok();
        let email = self
            .normalize_email_input(&input.email)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten();
        let mobile = self
            .normalize_mobile_input(&input.mobile)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten();
        let display = display.unwrap_or_default();
        let personal = Self::personal_words(name.as_deref(), &display, email.as_deref());
        if let Err(Error::Form(p)) = self
            .check_new_password("password", &input.password, &personal, None)
            .await
        {
            problems.extend(p);
        }
        if !problems.is_empty() {
            return Err(Error::Form(problems));
        }
        let name = name.unwrap_or_default();
        let hash = self.hasher.hash(&input.password).await?;
        let id = self.store.write(|tx| {
            guard(tx)?;
            let id = store::accounts::insert(
                tx,
                &store::accounts::NewAccount {
                    account_name: Some(&name),
                    display_name: &display,
                    email: email.as_deref(),
                    mobile: mobile.as_deref(),
                    is_admin: input.is_admin,
                    password_hash: Some(&hash),
                },
                now(),
            )
            .map_err(conflict_problem)?;
            let detail = if input.is_admin { "admin" } else { "" };
            audit(tx, actor, "account.create", Some((id, &name)), detail)?;
            Ok::<_, Error>(id)
        })?;
        Ok(id)
    }

    /// An account without a name (imported or provisioned from an IdP) gets the one its
    /// user chooses at first logon. Refused once the account has a name.
    pub fn choose_account_name(
        &self,
        actor: &Actor,
        account_id: i64,
        account_name: &str,
    ) -> Result<String, Error> {
        let name = account::validate_account_name(account_name)
            .map_err(|e| Error::Form(vec![name_problem(e)]))?;
        self.store.write(|tx| {
            let before = store::accounts::require(tx, account_id)?;
            if before.account_name.is_some() {
                return Err(Error::Refused("this account already has a name".into()));
            }
            store::accounts::set_names(tx, account_id, Some(&name), &before.display_name)
                .map_err(conflict_problem)?;
            audit(
                tx,
                actor,
                "account.name_chosen",
                Some((account_id, &name)),
                "",
            )
        })?;
        Ok(name)
    }

    /// The user (or an admin) changes the account name and display name.
    pub fn update_names(
        &self,
        actor: &Actor,
        account_id: i64,
        account_name: &str,
        display_name: &str,
    ) -> Result<(), Error> {
        let mut problems = Vec::new();
        let name = account::validate_account_name(account_name)
            .map_err(|e| problems.push(name_problem(e)))
            .ok();
        let display = account::validate_display_name(display_name)
            .map_err(|e| problems.push(display_problem(e)))
            .ok();
        let (Some(name), Some(display)) = (name, display) else {
            return Err(Error::Form(problems));
        };
        self.store.write(|tx| {
            let before = store::accounts::require(tx, account_id)?;
            if before.account_name.as_deref() == Some(name.as_str())
                && before.display_name == display
            {
                return Ok(());
            }
            store::accounts::set_names(tx, account_id, Some(&name), &display)
                .map_err(conflict_problem)?;
            let mut changes = Vec::new();
            if before.account_name.as_deref() != Some(name.as_str()) {
                changes.push(format!(
                    "account name: {} -> {}",
                    before.account_name.as_deref().unwrap_or("(none)"),
                    name
                ));
            }
            if before.display_name != display {
                changes.push("display name changed".to_string());
            }
            audit(
                tx,
                actor,
                "account.profile",
                Some((account_id, &name)),
                &changes.join("; "),
            )
        })
    }

    /// Everything My Account shows besides the account row, in one read.
    pub fn overview(&self, account: &Account) -> Result<Overview, Error> {
        let settings = self.settings()?;
        Ok(self.store.read(|c| {
            let defs = store::fields::list(c)?;
            let mut values = store::fields::values_for(c, account.id)?;
            let fields = defs
                .into_iter()
                .filter(|d| d.spec.user_access != UserAccess::Invisible)
                .map(|d| {
                    let v = values.remove(&d.id);
                    (d, v)
                })
                .collect();
            Ok::<_, StoreError>(Overview {
                fields,
                sessions: store::sessions::list_for_account(c, account.id, SESSIONS_SHOWN)?,
                session_count: store::sessions::count_for_account(c, account.id)?,
                activity: store::audit::for_account(c, account.id, 10)?,
                factors: super::factors::factors_in(c, &settings, &self.delivery, account)?,
                otp_enabled: settings.flag("mfa.otp"),
                bindings: store::bindings::for_account(c, account.id)?,
            })
        })?)
    }

    /// The account's extended information as the viewer may see it: every field for an
    /// admin, visible and editable ones for the user (invisible ones never leave here).
    pub fn field_values(
        &self,
        account_id: i64,
        as_admin: bool,
    ) -> Result<Vec<(FieldDefinition, Option<String>)>, Error> {
        self.store.read(|c| {
            let defs = store::fields::list(c)?;
            let mut values = store::fields::values_for(c, account_id)?;
            Ok::<_, Error>(
                defs.into_iter()
                    .filter(|d| as_admin || d.spec.user_access != UserAccess::Invisible)
                    .map(|d| {
                        let v = values.remove(&d.id);
                        (d, v)
                    })
                    .collect(),
            )
        })
    }

    /// Saves submitted field values. A user changes only editable fields; anything else
    /// posted (a forged form) is ignored. All values are validated first; if any is bad,
    /// nothing is written.
    pub fn update_field_values(
        &self,
        actor: &Actor,
        account_id: i64,
        submitted: &HashMap<String, String>,
        as_admin: bool,
    ) -> Result<usize, Error> {
        self.store.write(|tx| {
            let account = store::accounts::require(tx, account_id)?;
            let defs = store::fields::list(tx)?;
            let current = store::fields::values_for(tx, account_id)?;
            let mut problems = Vec::new();
            let mut changes: Vec<(&FieldDefinition, Option<String>)> = Vec::new();
            for d in &defs {
                let may_edit = as_admin || d.spec.user_access == UserAccess::Editable;
                if !may_edit {
                    continue;
                }
                let form_key = field_input_name(&d.spec.key);
                let raw = submitted.get(&form_key).map(String::as_str).unwrap_or("");
                match fields::normalize_value(&d.spec, raw) {
                    Ok(v) => {
                        if v.as_deref() != current.get(&d.id).map(String::as_str) {
                            changes.push((d, v));
                        }
                    }
                    Err(e) => problems.push(value_problem(d, e)),
                }
            }
            if !problems.is_empty() {
                return Err(Error::Form(problems));
            }
            for (d, v) in &changes {
                store::fields::set_value(tx, account_id, d, v.as_deref()).map_err(|e| match e {
                    StoreError::Conflict(_) => {
                        Error::Form(vec![value_problem(d, ValueError::Taken)])
                    }
                    other => Error::from(other),
                })?;
            }
            if !changes.is_empty() {
                let keys: Vec<&str> = changes.iter().map(|(d, _)| d.spec.key.as_str()).collect();
                audit(
                    tx,
                    actor,
                    "account.fields",
                    Some((account_id, &account.label())),
                    &keys.join(", "),
                )?;
            }
            Ok(changes.len())
        })
    }

    /// The user changes their password: the current one, then a new one that meets the
    /// policy. Every other session of the account ends.
    pub async fn change_password(
        &self,
        actor: &Actor,
        account_id: i64,
        keep_session: Option<i64>,
        current: &str,
        new: &str,
    ) -> Result<(), Error> {
        // The current-password check counts toward the account's lockout like a logon.
        let rule = self.settings()?.lockout();
        let key = super::logon::throttle_key_for_account(account_id);
        let (account, hash, locked) = self.store.read(|c| {
            Ok::<_, Error>((
                store::accounts::require(c, account_id)?,
                store::accounts::password_hash(c, account_id)?,
                store::throttle::locked_until(c, &key, now())?,
            ))
        })?;
        let ok = self.hasher.verify(current, hash).await?;
        if let Some(until) = locked {
            let minutes = ((until - now()) + 59) / 60;
            return Err(Error::Form(vec![
                Problem::new(
                    "current_password",
                    "err.logon_locked",
                    format!("too many failed attempts; try again in {minutes} minutes"),
                )
                .with_n(minutes.max(1) as usize),
            ]));
        }
        if !ok {
            self.store.write(|tx| {
                store::throttle::record_failure(tx, &key, now(), rule)?;
                audit(
                    tx,
                    actor,
                    "password.change_failed",
                    Some((account_id, &account.label())),
                    "wrong current password",
                )
            })?;
            return Err(Error::form(
                "current_password",
                "err.current_password",
                "the current password is wrong",
            ));
        }
        if current == new {
            return Err(Error::form(
                "new_password",
                "err.password_same",
                "the new password must differ from the current one",
            ));
        }
        let personal = Self::personal_words(
            account.account_name.as_deref(),
            &account.display_name,
            account.email.as_deref(),
        );
        self.check_new_password("new_password", new, &personal, Some(account_id))
            .await?;
        let hash = self.hasher.hash(new).await?;
        self.store.write(|tx| {
            store::accounts::set_password(tx, account_id, &hash, now())?;
            store::throttle::clear(tx, &key)?;
            let ended = store::sessions::delete_for_account(tx, account_id, keep_session)?;
            if let Some(s) = keep_session {
                store::sessions::set_stage(tx, s, store::sessions::Stage::Active)?;
                store::sessions::set_authenticated(tx, s, now())?;
            }
            audit(
                tx,
                actor,
                "password.change",
                Some((account_id, &account.label())),
                &format!("{ended} other sessions ended"),
            )
        })
    }

    /// An admin sets a new password for an account; all its sessions end.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        account_id: i64,
        new: &str,
    ) -> Result<(), Error> {
        let account = self
            .store
            .read(|c| store::accounts::require(c, account_id))?;
        let personal = Self::personal_words(
            account.account_name.as_deref(),
            &account.display_name,
            account.email.as_deref(),
        );
        self.check_new_password("password", new, &personal, Some(account_id))
            .await?;
        let hash = self.hasher.hash(new).await?;
        self.store.write(|tx| {
            store::accounts::set_password(tx, account_id, &hash, now())?;
            store::sessions::delete_for_account(tx, account_id, None)?;
            audit(
                tx,
                actor,
                "admin.password_reset",
                Some((account_id, &account.label())),
                "",
            )
        })
    }

    /// An admin edits an account's verified contacts (the admin vouches for them).
    pub fn admin_set_contacts(
        &self,
        actor: &Actor,
        account_id: i64,
        email: &str,
        mobile: &str,
    ) -> Result<(), Error> {
        let mut problems = Vec::new();
        let email = self
            .normalize_email_input(email)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten();
        let mobile = self
            .normalize_mobile_input(mobile)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten();
        if !problems.is_empty() {
            return Err(Error::Form(problems));
        }
        self.store.write(|tx| {
            let before = store::accounts::require(tx, account_id)?;
            if before.email == email && before.mobile == mobile {
                return Ok(());
            }
            store::accounts::set_contacts(tx, account_id, email.as_deref(), mobile.as_deref())
                .map_err(conflict_problem)?;
            audit(
                tx,
                actor,
                "admin.account.contacts",
                Some((account_id, &before.label())),
                "",
            )
        })
    }

    /// An admin grants or revokes admin rights and disables or enables an account. The
    /// last enabled admin can be neither demoted nor disabled. Disabling ends sessions.
    pub fn admin_set_flags(
        &self,
        actor: &Actor,
        account_id: i64,
        is_admin: bool,
        disabled: bool,
    ) -> Result<(), Error> {
        self.store.write(|tx| {
            let before = store::accounts::require(tx, account_id)?;
            if before.is_admin == is_admin && before.disabled == disabled {
                return Ok(());
            }
            let stays_admin = is_admin && !disabled;
            if before.is_admin
                && !before.disabled
                && !stays_admin
                && store::accounts::count_active_admins(tx, Some(account_id))? == 0
            {
                return Err(Error::Refused(
                    "the last enabled administrator cannot be demoted or disabled".into(),
                ));
            }
            store::accounts::set_flags(tx, account_id, is_admin, disabled)?;
            if disabled {
                store::sessions::delete_for_account(tx, account_id, None)?;
            }
            let label = before.label();
            if before.is_admin != is_admin {
                let e = if is_admin {
                    "admin.account.grant_admin"
                } else {
                    "admin.account.revoke_admin"
                };
                audit(tx, actor, e, Some((account_id, &label)), "")?;
            }
            if before.disabled != disabled {
                let e = if disabled {
                    "admin.account.disable"
                } else {
                    "admin.account.enable"
                };
                audit(tx, actor, e, Some((account_id, &label)), "")?;
            }
            Ok(())
        })
    }

    /// An admin deletes an account (never the last enabled admin).
    pub fn delete_account(&self, actor: &Actor, account_id: i64) -> Result<(), Error> {
        self.store.write(|tx| {
            let a = store::accounts::require(tx, account_id)?;
            if a.is_admin
                && !a.disabled
                && store::accounts::count_active_admins(tx, Some(account_id))? == 0
            {
                return Err(Error::Refused(
                    "the last enabled administrator cannot be deleted".into(),
                ));
            }
            // Audit first: the row's account_id becomes NULL on delete, the name stays.
            audit(
                tx,
                actor,
                "admin.account.delete",
                Some((account_id, &a.label())),
                "",
            )?;
            store::accounts::delete(tx, account_id)?;
            store::throttle::clear(tx, &super::logon::throttle_key_for_account(account_id))?;
            Ok(())
        })
    }

    pub fn account(&self, id: i64) -> Result<Account, Error> {
        Ok(self.store.read(|c| store::accounts::require(c, id))?)
    }

    /// Finds an account by account name, verified email or verified mobile.
    pub fn find_account(&self, text: &str) -> Result<Option<Account>, Error> {
        let text = text.trim();
        let mobile = contact::normalize_mobile(text, &self.config.phone_region).ok();
        let email = contact::normalize_email(text).ok();
        Ok(self.store.read(|c| {
            if let Some(a) = store::accounts::find_any(c, text)? {
                return Ok::<_, StoreError>(Some(a));
            }
            for alt in [email, mobile].into_iter().flatten() {
                if let Some(a) = store::accounts::find_any(c, &alt)? {
                    return Ok(Some(a));
                }
            }
            Ok(None)
        })?)
    }
}

/// My Account lists this many sessions (the most recent); the count shows the rest.
pub const SESSIONS_SHOWN: i64 = 50;

/// What My Account shows besides the account itself.
pub struct Overview {
    pub fields: Vec<(FieldDefinition, Option<String>)>,
    pub sessions: Vec<crate::store::sessions::Session>,
    pub session_count: i64,
    pub activity: Vec<crate::store::audit::Record>,
    pub factors: super::factors::Factors,
    pub otp_enabled: bool,
    pub bindings: Vec<crate::store::bindings::Binding>,
}

/// Form input name for a custom field (prefixed so it never clashes with ours).
pub fn field_input_name(key: &str) -> String {
    format!("field.{key}")
}

fn value_problem(d: &FieldDefinition, e: ValueError) -> Problem {
    Problem::new(
        field_input_name(&d.spec.key),
        e.message_key(),
        format!("{}: {}", d.spec.label, e.english()),
    )
}
