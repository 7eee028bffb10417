//! otp_authenticators and recovery_codes.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;

#[derive(Debug, Clone)]
pub struct Otp {
    pub secret_enc: Vec<u8>,
    pub confirmed_at: Option<i64>,
    pub last_step: Option<i64>,
}

pub fn otp(conn: &Connection, account_id: i64) -> Result<Option<Otp>> {
    Ok(conn
        .prepare_cached(
            "SELECT secret_enc, confirmed_at, last_step FROM otp_authenticators WHERE account_id = ?1",
        )?
        .query_row([account_id], |r| {
            Ok(Otp { secret_enc: r.get(0)?, confirmed_at: r.get(1)?, last_step: r.get(2)? })
        })
        .optional()?)
}

/// Starts (or restarts) an unconfirmed authenticator.
pub fn set_pending_otp(
    conn: &Connection,
    account_id: i64,
    secret_enc: &[u8],
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO otp_authenticators (account_id, secret_enc, created_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account_id) DO UPDATE SET secret_enc = excluded.secret_enc, \
         confirmed_at = NULL, last_step = NULL, created_at = excluded.created_at",
    )?
    .execute(params![account_id, secret_enc, now])?;
    Ok(())
}

pub fn confirm_otp(conn: &Connection, account_id: i64, step: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE otp_authenticators SET confirmed_at = ?2, last_step = ?3 WHERE account_id = ?1",
    )?
    .execute(params![account_id, now, step])?;
    Ok(())
}

/// Records an accepted step; false if that step (or a later one) was already used.
pub fn advance_step(conn: &Connection, account_id: i64, step: i64) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE otp_authenticators SET last_step = ?2 \
             WHERE account_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
        )?
        .execute(params![account_id, step])?;
    Ok(n == 1)
}

pub fn delete_otp(conn: &Connection, account_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM otp_authenticators WHERE account_id = ?1")?
        .execute([account_id])?
        > 0)
}

/// Replaces an account's recovery codes.
pub fn set_recovery_codes(conn: &Connection, account_id: i64, macs: &[String]) -> Result<()> {
    conn.prepare_cached("DELETE FROM recovery_codes WHERE account_id = ?1")?
        .execute([account_id])?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO recovery_codes (account_id, code_mac) VALUES (?1, ?2)")?;
    for m in macs {
        stmt.execute(params![account_id, m])?;
    }
    Ok(())
}

/// Uses a recovery code; false if it is unknown or already used.
pub fn use_recovery_code(conn: &Connection, account_id: i64, mac: &str, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE recovery_codes SET used_at = ?3 \
             WHERE account_id = ?1 AND code_mac = ?2 AND used_at IS NULL",
        )?
        .execute(params![account_id, mac, now])?
        == 1)
}

pub fn recovery_codes_left(conn: &Connection, account_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM recovery_codes WHERE account_id = ?1 AND used_at IS NULL",
        )?
        .query_row([account_id], |r| r.get(0))?)
}
