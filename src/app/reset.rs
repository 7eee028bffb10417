//! Forgotten password: a code to the verified email or mobile, then a new password.
//! The answers never reveal whether an account exists.

use std::sync::Arc;

use super::{Actor, App, audit, now};
use crate::delivery::Channel;
use crate::domain::account::{Identifier, parse_identifier};
use crate::error::Error;
use crate::i18n::Locale;
use crate::store;
use crate::store::codes::{Owner, Purpose};

impl App {
    /// Starts a reset for whatever `identifier` names. The code is sent in the
    /// background, so the answer takes the same time whether or not the account exists.
    pub fn start_reset(
        self: &Arc<Self>,
        locale: Locale,
        identifier: &str,
        flow_token: &str,
        ip: &str,
    ) -> Result<(), Error> {
        let Some(account) = self.find_account(identifier)? else {
            return Ok(());
        };
        if account.disabled {
            return Ok(());
        }
        // The channel the user named, else email, else mobile.
        let named_mobile = matches!(parse_identifier(identifier), Some(Identifier::Mobile(_)));
        let channel = match (&account.email, &account.mobile, named_mobile) {
            (_, Some(m), true) => Some((Channel::Sms, m.clone())),
            (Some(e), _, _) => Some((Channel::Email, e.clone())),
            (None, Some(m), _) => Some((Channel::Sms, m.clone())),
            (None, None, _) => None,
        };
        let Some((channel, target)) = channel else {
            return Ok(());
        };
        let actor = Actor {
            id: None,
            name: String::new(),
            ip: ip.to_string(),
        };
        self.audit(
            &actor,
            "password.reset_requested",
            Some((account.id, &account.label())),
            channel.as_str(),
        )?;
        let app = self.clone();
        let flow = crate::tokens::hash_token(flow_token);
        tokio::spawn(async move {
            let r = app
                .send_code(
                    locale,
                    Purpose::Reset,
                    &account,
                    Owner::Flow(&flow),
                    channel,
                    &target,
                    "code",
                )
                .await;
            if let Err(e) = r {
                tracing::info!(error = %e, "password reset code not sent");
            }
        });
        Ok(())
    }

    /// Finishes a reset: the code, then a new password that meets the policy. Every
    /// session of the account ends.
    pub async fn finish_reset(
        &self,
        flow_token: &str,
        code: &str,
        new_password: &str,
        ip: &str,
    ) -> Result<(), Error> {
        let flow = crate::tokens::hash_token(flow_token);
        // Validate the password's basic shape before spending the code.
        let policy = self.settings()?.password_policy();
        let shape: Vec<_> = policy.check(new_password, &[]);
        if !shape.is_empty() {
            return Err(Error::Form(
                shape
                    .iter()
                    .map(|v| super::accounts::violation_problem("new_password", v))
                    .collect(),
            ));
        }
        // One answer for every code failure: "missing" would tell that no account matched.
        let (account_id, _) = self
            .check_code(Purpose::Reset, Owner::Flow(&flow), code, "code", false)
            .map_err(|e| match e {
                Error::Form(_) => Error::form(
                    "code",
                    "err.reset_code",
                    "the code is not right or has expired",
                ),
                other => other,
            })?;
        let account = self.account(account_id)?;
        // Only now, with a right code, the rules that need the account (name, history).
        self.check_new_password(
            "new_password",
            new_password,
            &[
                account.account_name.clone().unwrap_or_default(),
                account.display_name.clone(),
                account
                    .email
                    .as_deref()
                    .and_then(|e| e.split_once('@'))
                    .map(|p| p.0.to_string())
                    .unwrap_or_default(),
            ],
            Some(account_id),
        )
        .await?;
        let hash = self.hasher.hash(new_password).await?;
        let actor = Actor {
            id: None,
            name: String::new(),
            ip: ip.to_string(),
        };
        self.store.write(|tx| {
            // Spend the code in the same transaction that changes the password.
            let spent = store::codes::current(tx, Purpose::Reset, &Owner::Flow(&flow))?
                .filter(|c| c.account_id == account_id)
                .ok_or_else(|| {
                    Error::form(
                        "code",
                        "err.reset_code",
                        "the code is not right or has expired",
                    )
                })?;
            store::codes::delete(tx, spent.id)?;
            store::accounts::set_password(tx, account_id, &hash, now())?;
            store::sessions::delete_for_account(tx, account_id, None)?;
            store::throttle::clear(tx, &super::logon::throttle_key_for_account(account_id))?;
            audit(
                tx,
                &actor,
                "password.reset",
                Some((account_id, &account.label())),
                "all sessions ended",
            )
        })
    }
}
