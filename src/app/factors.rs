//! Security information and second factors: one-time codes by email/SMS, binding email
//! and mobile, the OTP authenticator, recovery codes, and which factors an account has.

use totp_rs::{Builder, Secret, Totp};

use super::{Actor, App, audit, now};
use crate::delivery::Channel;
use crate::domain::account::{Account, Identifier};
use crate::error::{Error, Problem};
use crate::i18n::Locale;
use crate::store::codes::{Owner, Purpose};
use crate::store::{self, StoreError};

/// A code lives ten minutes and dies after five wrong tries.
pub const CODE_TTL: i64 = 600;
pub const CODE_MAX_ATTEMPTS: i64 = 5;
/// A new code for the same purpose and browser at most this often…
pub const RESEND_AFTER: i64 = 60;
/// …and at most this many codes per account per hour.
pub const CODES_PER_HOUR: i64 = 10;
pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Latchkey";

/// Which second factors the admin enabled and this account can use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Factors {
    /// An authenticator is bound (whether or not the admin enables OTP now).
    pub otp_bound: bool,
    pub otp: bool,
    pub sms: bool,
    pub email: bool,
    /// Passkeys registered (whether or not the admin enables them now).
    pub passkeys: i64,
    pub passkey: bool,
    pub recovery_codes_left: i64,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.otp || self.sms || self.email || self.passkey
    }
}

/// A second-factor method, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Passkey,
    Otp,
    Sms,
    Email,
    Recovery,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Passkey => "passkey",
            Method::Otp => "otp",
            Method::Sms => "sms",
            Method::Email => "email",
            Method::Recovery => "recovery",
        }
    }
    pub fn parse(s: &str) -> Option<Method> {
        [
            Method::Passkey,
            Method::Otp,
            Method::Sms,
            Method::Email,
            Method::Recovery,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// The factors of `account` under `settings`, read inside the caller's transaction.
pub fn factors_in(
    c: &rusqlite::Connection,
    settings: &crate::domain::settings::Settings,
    delivery: &crate::delivery::Delivery,
    account: &Account,
) -> Result<Factors, StoreError> {
    let otp_bound = store::factors::otp(c, account.id)?.is_some_and(|o| o.confirmed_at.is_some());
    let passkeys = store::passkeys::count(c, account.id)?;
    Ok(Factors {
        passkeys,
        passkey: settings.flag("mfa.passkey") && passkeys > 0,
        otp_bound,
        otp: settings.flag("mfa.otp") && otp_bound,
        // A code that cannot be delivered is no factor.
        sms: settings.flag("mfa.sms")
            && account.mobile.is_some()
            && delivery.available(Channel::Sms),
        email: settings.flag("mfa.email")
            && account.email.is_some()
            && delivery.available(Channel::Email),
        recovery_codes_left: store::factors::recovery_codes_left(c, account.id)?,
    })
}

/// Six decimal digits, uniformly drawn.
fn new_code() -> String {
    loop {
        let mut b = [0u8; 4];
        crate::tokens::fill_random(&mut b);
        let n = u32::from_be_bytes(b);
        // Reject the top sliver so every code is equally likely.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

fn code_problem(field: &str, key: &'static str, english: &str) -> Error {
    Error::Form(vec![Problem::new(field, key, english)])
}

fn totp(secret: Vec<u8>, account_name: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account_name)
        .build()
        .map_err(|e| Error::Internal(format!("OTP setup failed: {e}")))
}

impl App {
    pub fn factors(&self, account: &Account) -> Result<Factors, Error> {
        let s = self.settings()?;
        Ok(self
            .store
            .read(|c| factors_in(c, &s, &self.delivery, account))?)
    }

    pub fn otp_bound(&self, account_id: i64) -> Result<bool, Error> {
        Ok(self
            .store
            .read(|c| store::factors::otp(c, account_id))?
            .is_some_and(|o| o.confirmed_at.is_some()))
    }

    /// Sends a fresh code for `purpose` to `target`, throttled per browser and account.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_code(
        &self,
        locale: Locale,
        purpose: Purpose,
        account: &Account,
        owner: Owner<'_>,
        channel: Channel,
        target: &str,
        field: &str,
    ) -> Result<(), Error> {
        if !self.delivery.available(channel) {
            let key = if channel == Channel::Email {
                "err.no_email_delivery"
            } else {
                "err.no_sms_delivery"
            };
            return Err(code_problem(
                field,
                key,
                "this delivery channel is not configured",
            ));
        }
        let t = now();
        let (recent, last) = self.store.read(|c| {
            Ok::<_, StoreError>((
                store::codes::sent_since(c, account.id, t - 3600)?,
                store::codes::current(c, purpose, &owner)?,
            ))
        })?;
        if last.is_some_and(|c| t - c.created_at < RESEND_AFTER) || recent >= CODES_PER_HOUR {
            return Err(code_problem(
                field,
                "err.code_throttled",
                "a code was sent moments ago; wait a minute before asking for another",
            ));
        }
        let code = new_code();
        let mac = self.keys.mac(&[purpose.as_str(), target, &code]);
        self.store.write(|tx| {
            store::codes::insert(
                tx,
                &store::codes::NewCode {
                    purpose,
                    account_id: account.id,
                    owner: owner.clone(),
                    channel: channel.as_str(),
                    target,
                    code_mac: &mac,
                    expires_at: t + CODE_TTL,
                },
                t,
            )
        })?;
        let subject = locale.t("mail.code_subject");
        let text = match channel {
            Channel::Email => locale.t("mail.code_body").replace("%{code}", &code),
            Channel::Sms => locale.t("sms.code").replace("%{code}", &code),
        };
        let result = self.delivery.send(channel, target, &subject, &text).await;
        self.store.write(|tx| {
            store::deliveries::record(
                tx,
                channel.as_str(),
                target,
                Some(account.id),
                purpose.as_str(),
                result.is_ok(),
                result.as_ref().err().map(String::as_str).unwrap_or(""),
                now(),
            )
        })?;
        if let Err(e) = result {
            tracing::warn!(channel = channel.as_str(), error = %e, "code delivery failed");
            // The code is useless if it never arrived: drop it so a retry is not throttled.
            self.store.write(|tx| {
                if let Some(c) = store::codes::current(tx, purpose, &owner)? {
                    store::codes::delete(tx, c.id)?;
                }
                Ok::<_, StoreError>(())
            })?;
            return Err(code_problem(
                field,
                "err.delivery_failed",
                "the code could not be sent; try again later",
            ));
        }
        Ok(())
    }

    /// Checks a submitted code. Wrong codes count toward the code's five tries and toward
    /// the account's lockout. A right code is used up. Returns the code's target.
    pub fn verify_code(
        &self,
        purpose: Purpose,
        owner: Owner<'_>,
        submitted: &str,
        field: &str,
    ) -> Result<(i64, String), Error> {
        self.check_code(purpose, owner, submitted, field, true)
    }

    /// As `verify_code`; with `consume = false` a right code stays usable (the caller
    /// spends it later, in the transaction that acts on it).
    pub fn check_code(
        &self,
        purpose: Purpose,
        owner: Owner<'_>,
        submitted: &str,
        field: &str,
        consume: bool,
    ) -> Result<(i64, String), Error> {
        let t = now();
        let rule = self.settings()?.lockout();
        let submitted: String = submitted.chars().filter(|c| !c.is_whitespace()).collect();
        enum Outcome {
            Missing,
            Expired,
            Locked,
            Wrong,
            Right(i64, String),
        }
        // Decide and record in one transaction that always commits, so wrong tries count.
        let outcome = self.store.write(|tx| {
            let Some(code) = store::codes::current(tx, purpose, &owner)? else {
                return Ok::<_, Error>(Outcome::Missing);
            };
            if code.expires_at < t || code.attempts >= CODE_MAX_ATTEMPTS {
                store::codes::delete(tx, code.id)?;
                return Ok(Outcome::Expired);
            }
            let account_key = super::logon::throttle_key_for_account(code.account_id);
            if store::throttle::locked_until(tx, &account_key, t)?.is_some() {
                return Ok(Outcome::Locked);
            }
            let mac = self.keys.mac(&[purpose.as_str(), &code.target, &submitted]);
            if !crate::tokens::same(&mac, &code.code_mac) {
                store::codes::count_attempt(tx, code.id)?;
                store::throttle::record_failure(tx, &account_key, t, rule)?;
                return Ok(Outcome::Wrong);
            }
            if consume {
                store::codes::delete(tx, code.id)?;
            }
            Ok(Outcome::Right(code.account_id, code.target))
        })?;
        match outcome {
            Outcome::Right(account_id, target) => Ok((account_id, target)),
            Outcome::Missing => Err(code_problem(
                field,
                "err.code_missing",
                "no code is pending; ask for a new one",
            )),
            Outcome::Expired => Err(code_problem(
                field,
                "err.code_expired",
                "this code has expired; ask for a new one",
            )),
            Outcome::Locked => Err(code_problem(
                field,
                "err.code_locked",
                "too many wrong codes; try again later",
            )),
            Outcome::Wrong => Err(code_problem(
                field,
                "err.code_wrong",
                "this code is not right",
            )),
        }
    }

    /// Step 1 of binding an email address or mobile number: send a code to it.
    pub async fn start_contact_binding(
        &self,
        locale: Locale,
        session_id: i64,
        account: &Account,
        channel: Channel,
        raw: &str,
    ) -> Result<String, Error> {
        let field = channel.field();
        let target = match channel {
            Channel::Email => self
                .normalize_email_input(raw)
                .map_err(|p| Error::Form(vec![p]))?,
            Channel::Sms => self
                .normalize_mobile_input(raw)
                .map_err(|p| Error::Form(vec![p]))?,
        }
        .ok_or_else(|| {
            let key = if channel == Channel::Email {
                "err.email_invalid"
            } else {
                "err.mobile_invalid"
            };
            code_problem(field, key, "enter an address")
        })?;
        let current = if channel == Channel::Email {
            &account.email
        } else {
            &account.mobile
        };
        if current.as_deref() == Some(target.as_str()) {
            return Err(code_problem(
                field,
                "err.contact_same",
                "this is already your address",
            ));
        }
        let ident = match channel {
            Channel::Email => Identifier::Email(target.clone()),
            Channel::Sms => Identifier::Mobile(target.clone()),
        };
        if let Some(other) = self.store.read(|c| store::accounts::find(c, &ident))?
            && other.id != account.id
        {
            let key = if channel == Channel::Email {
                "err.email_taken"
            } else {
                "err.mobile_taken"
            };
            return Err(code_problem(
                field,
                key,
                "this address is already bound to another account",
            ));
        }
        let purpose = if channel == Channel::Email {
            Purpose::BindEmail
        } else {
            Purpose::BindMobile
        };
        self.send_code(
            locale,
            purpose,
            account,
            Owner::Session(session_id),
            channel,
            &target,
            "code",
        )
        .await?;
        Ok(target)
    }

    /// Step 2: the code proves the address; bind it and tell the old address.
    pub async fn confirm_contact_binding(
        &self,
        locale: Locale,
        actor: &Actor,
        session_id: i64,
        account: &Account,
        channel: Channel,
        code: &str,
    ) -> Result<(), Error> {
        let purpose = if channel == Channel::Email {
            Purpose::BindEmail
        } else {
            Purpose::BindMobile
        };
        let (_, target) = self.verify_code(purpose, Owner::Session(session_id), code, "code")?;
        let old = if channel == Channel::Email {
            account.email.clone()
        } else {
            account.mobile.clone()
        };
        self.store.write(|tx| {
            let a = store::accounts::require(tx, account.id)?;
            let (email, mobile) = match channel {
                Channel::Email => (Some(target.as_str()), a.mobile.as_deref()),
                Channel::Sms => (a.email.as_deref(), Some(target.as_str())),
            };
            store::accounts::set_contacts(tx, account.id, email, mobile).map_err(|e| match e {
                StoreError::Conflict(_) => {
                    let key = if channel == Channel::Email {
                        "err.email_taken"
                    } else {
                        "err.mobile_taken"
                    };
                    code_problem(
                        "code",
                        key,
                        "this address is already bound to another account",
                    )
                }
                other => Error::from(other),
            })?;
            let event = if channel == Channel::Email {
                "account.email"
            } else {
                "account.mobile"
            };
            audit(
                tx,
                actor,
                event,
                Some((account.id, &account.label())),
                &format!("bound {}", mask(&target)),
            )
        })?;
        if let Some(old) = old {
            let text = locale
                .t("mail.changed_body")
                .replace("%{new}", &mask(&target));
            let subject = locale.t("mail.changed_subject");
            let r = self.delivery.send(channel, &old, &subject, &text).await;
            self.store.write(|tx| {
                store::deliveries::record(
                    tx,
                    channel.as_str(),
                    &old,
                    Some(account.id),
                    "notice",
                    r.is_ok(),
                    r.as_ref().err().map(String::as_str).unwrap_or(""),
                    now(),
                )
            })?;
        }
        Ok(())
    }

    /// The OTP secret being set up (made on first visit, reused until confirmed).
    /// `None` when an authenticator is already bound.
    pub fn otp_setup(&self, account: &Account) -> Result<Option<(String, String)>, Error> {
        let name = account
            .account_name
            .clone()
            .unwrap_or_else(|| account.label());
        let existing = self.store.read(|c| store::factors::otp(c, account.id))?;
        let secret = match existing {
            Some(o) if o.confirmed_at.is_some() => return Ok(None),
            Some(o) => match self.keys.decrypt(&o.secret_enc) {
                Some(s) => s,
                None => {
                    return Err(Error::Internal(
                        "the OTP secret cannot be decrypted (was secret.key replaced?)".into(),
                    ));
                }
            },
            None => {
                let s = Secret::generate().as_bytes().to_vec();
                let enc = self.keys.encrypt(&s);
                self.store
                    .write(|tx| store::factors::set_pending_otp(tx, account.id, &enc, now()))?;
                s
            }
        };
        let t = totp(secret, &name)?;
        let uri = t
            .to_url()
            .map_err(|e| Error::Internal(format!("OTP URI: {e}")))?;
        Ok(Some((t.secret().to_base32(), uri)))
    }

    /// Checks an OTP code for a bound or pending authenticator; a time step is never
    /// accepted twice.
    fn otp_check(
        &self,
        account_id: i64,
        code: &str,
        require_confirmed: bool,
    ) -> Result<Option<u64>, Error> {
        let Some(o) = self.store.read(|c| store::factors::otp(c, account_id))? else {
            return Ok(None);
        };
        if require_confirmed && o.confirmed_at.is_none() {
            return Ok(None);
        }
        let secret = self
            .keys
            .decrypt(&o.secret_enc)
            .ok_or_else(|| Error::Internal("the OTP secret cannot be decrypted".into()))?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let step = totp(secret, "x")?.check(&code, now() as u64);
        Ok(step.filter(|s| o.last_step.is_none_or(|last| (*s as i64) > last)))
    }

    /// Counts a wrong code toward the account's lockout; refuses while locked.
    pub(super) fn count_wrong(&self, account_id: i64) -> Result<(), Error> {
        let rule = self.settings()?.lockout();
        self.store.write(|tx| {
            store::throttle::record_failure(
                tx,
                &super::logon::throttle_key_for_account(account_id),
                now(),
                rule,
            )?;
            Ok::<_, Error>(())
        })
    }

    pub(super) fn locked(&self, account_id: i64) -> Result<bool, Error> {
        Ok(self
            .store
            .read(|c| {
                store::throttle::locked_until(
                    c,
                    &super::logon::throttle_key_for_account(account_id),
                    now(),
                )
            })?
            .is_some())
    }

    /// Confirms the pending authenticator with its first code. Returns fresh recovery
    /// codes when the account had none (shown once).
    pub fn otp_confirm(
        &self,
        actor: &Actor,
        account: &Account,
        code: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        if self.locked(account.id)? {
            return Err(code_problem(
                "code",
                "err.code_locked",
                "too many wrong codes; try again later",
            ));
        }
        let Some(step) = self.otp_check(account.id, code, false)? else {
            self.count_wrong(account.id)?;
            return Err(code_problem(
                "code",
                "err.code_wrong",
                "this code is not right",
            ));
        };
        self.store.write(|tx| {
            store::factors::confirm_otp(tx, account.id, step as i64, now())?;
            audit(
                tx,
                actor,
                "factor.otp.bind",
                Some((account.id, &account.label())),
                "",
            )
        })?;
        self.ensure_recovery_codes(actor, account)
    }

    /// Removes the authenticator after a current code or the password.
    pub async fn otp_unbind(
        &self,
        actor: &Actor,
        account: &Account,
        code: &str,
        password: &str,
    ) -> Result<(), Error> {
        if self.locked(account.id)? {
            return Err(code_problem(
                "code",
                "err.code_locked",
                "too many wrong codes; try again later",
            ));
        }
        let ok = if !code.trim().is_empty() {
            match self.otp_check(account.id, code, true)? {
                Some(step) => self
                    .store
                    .write(|tx| store::factors::advance_step(tx, account.id, step as i64))?,
                None => false,
            }
        } else {
            let hash = self
                .store
                .read(|c| store::accounts::password_hash(c, account.id))?;
            self.hasher.verify(password, hash).await?
        };
        if !ok {
            self.count_wrong(account.id)?;
            return Err(code_problem(
                "code",
                "err.unbind_proof",
                "enter a current code from your app or your password",
            ));
        }
        self.store.write(|tx| {
            store::factors::delete_otp(tx, account.id)?;
            audit(
                tx,
                actor,
                "factor.otp.unbind",
                Some((account.id, &account.label())),
                "",
            )
        })
    }

    /// An admin removes a user's authenticator and passkeys (e.g. a lost phone).
    pub fn admin_reset_otp(&self, actor: &Actor, account_id: i64) -> Result<(), Error> {
        self.store.write(|tx| {
            let a = store::accounts::require(tx, account_id)?;
            store::factors::delete_otp(tx, account_id)?;
            let n = store::passkeys::delete_all(tx, account_id)?;
            let detail = if n > 0 {
                format!("{n} passkeys removed")
            } else {
                String::new()
            };
            audit(
                tx,
                actor,
                "admin.otp_reset",
                Some((account_id, &a.label())),
                &detail,
            )
        })
    }

    /// Checks a second factor at logon. Wrong answers count toward lockout.
    pub fn check_second_factor(
        &self,
        account: &Account,
        method: Method,
        session_id: i64,
        code: &str,
    ) -> Result<(), Error> {
        if self.locked(account.id)? {
            return Err(code_problem(
                "code",
                "err.code_locked",
                "too many wrong codes; try again later",
            ));
        }
        let ok = match method {
            Method::Otp => match self.otp_check(account.id, code, true)? {
                Some(step) => self
                    .store
                    .write(|tx| store::factors::advance_step(tx, account.id, step as i64))?,
                None => false,
            },
            Method::Sms | Method::Email => {
                let purpose = if method == Method::Sms {
                    Purpose::LogonSms
                } else {
                    Purpose::LogonEmail
                };
                return self
                    .verify_code(purpose, Owner::Session(session_id), code, "code")
                    .map(|_| ());
            }
            // The passkey path has its own handler (`passkey_logon_finish`).
            Method::Passkey => false,
            Method::Recovery => {
                let normalized: String = code
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_lowercase();
                let mac = self.keys.mac(&["recovery", &normalized]);
                self.store
                    .write(|tx| store::factors::use_recovery_code(tx, account.id, &mac, now()))?
            }
        };
        if !ok {
            self.count_wrong(account.id)?;
            return Err(code_problem(
                "code",
                "err.code_wrong",
                "this code is not right",
            ));
        }
        Ok(())
    }

    /// Makes recovery codes if the account has none left; returns them (shown once).
    pub fn ensure_recovery_codes(
        &self,
        actor: &Actor,
        account: &Account,
    ) -> Result<Option<Vec<String>>, Error> {
        let left = self
            .store
            .read(|c| store::factors::recovery_codes_left(c, account.id))?;
        if left > 0 {
            return Ok(None);
        }
        self.regenerate_recovery_codes(actor, account).map(Some)
    }

    /// Replaces the account's recovery codes with ten new ones.
    pub fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
        account: &Account,
    ) -> Result<Vec<String>, Error> {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let mut b = [0u8; 10];
                crate::tokens::fill_random(&mut b);
                let s: String = b
                    .iter()
                    .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
                    .collect();
                format!("{}-{}", &s[..5], &s[5..])
            })
            .collect();
        let macs: Vec<String> = codes
            .iter()
            .map(|c| self.keys.mac(&["recovery", &c.replace('-', "")]))
            .collect();
        self.store.write(|tx| {
            store::factors::set_recovery_codes(tx, account.id, &macs)?;
            audit(
                tx,
                actor,
                "factor.recovery_codes",
                Some((account.id, &account.label())),
                "",
            )
        })?;
        Ok(codes)
    }
}

/// `alice@example.com` -> `a***@example.com`, `+8613800138000` -> `+86*******8000`.
pub fn mask(target: &str) -> String {
    if let Some((local, domain)) = target.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let n = target.chars().count();
    target
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i + 4 >= n { c } else { '*' })
        .collect()
}

impl App {
    /// The address a live code of `purpose` went to for this session, if any.
    pub fn pending_code_target(
        &self,
        purpose: Purpose,
        session_id: i64,
    ) -> Result<Option<String>, Error> {
        let t = now();
        Ok(self
            .store
            .read(|c| store::codes::current(c, purpose, &Owner::Session(session_id)))?
            .filter(|c| c.expires_at >= t && c.attempts < CODE_MAX_ATTEMPTS)
            .map(|c| c.target))
    }

    /// The second-factor methods this account can use at logon, strongest first.
    pub fn logon_methods(&self, account: &Account) -> Result<Vec<Method>, Error> {
        let f = self.factors(account)?;
        let mut v = Vec::new();
        if f.passkey {
            v.push(Method::Passkey);
        }
        if f.otp {
            v.push(Method::Otp);
        }
        if f.sms {
            v.push(Method::Sms);
        }
        if f.email {
            v.push(Method::Email);
        }
        if f.recovery_codes_left > 0 {
            v.push(Method::Recovery);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask("alice@example.com"), "a***@example.com");
        assert_eq!(mask("+8613800138000"), "+86*******8000");
    }
}
