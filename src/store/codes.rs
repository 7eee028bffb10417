//! codes: one-time codes sent by email or SMS (only their MAC is stored).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    BindEmail,
    BindMobile,
    LogonEmail,
    LogonSms,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::BindEmail => "bind_email",
            Purpose::BindMobile => "bind_mobile",
            Purpose::LogonEmail => "logon_email",
            Purpose::LogonSms => "logon_sms",
            Purpose::Reset => "reset",
        }
    }
}

/// Which browser a code belongs to.
#[derive(Debug, Clone)]
pub enum Owner<'a> {
    Session(i64),
    /// SHA-256 of the password-reset cookie.
    Flow(&'a [u8]),
}

#[derive(Debug, Clone)]
pub struct Code {
    pub id: i64,
    pub account_id: i64,
    pub channel: String,
    pub target: String,
    pub code_mac: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
}

fn row_to_code(r: &Row<'_>) -> rusqlite::Result<Code> {
    Ok(Code {
        id: r.get(0)?,
        account_id: r.get(1)?,
        channel: r.get(2)?,
        target: r.get(3)?,
        code_mac: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        attempts: r.get(7)?,
    })
}

pub struct NewCode<'a> {
    pub purpose: Purpose,
    pub account_id: i64,
    pub owner: Owner<'a>,
    pub channel: &'a str,
    pub target: &'a str,
    pub code_mac: &'a str,
    pub expires_at: i64,
}

/// Stores a code, replacing any earlier code of the same purpose for the same browser.
pub fn insert(conn: &Connection, c: &NewCode<'_>, now: i64) -> Result<i64> {
    let (session, flow): (Option<i64>, Option<&[u8]>) = match c.owner {
        Owner::Session(s) => (Some(s), None),
        Owner::Flow(f) => (None, Some(f)),
    };
    conn.prepare_cached(
        "DELETE FROM codes WHERE purpose = ?1 AND (session_id = ?2 OR flow_hash = ?3)",
    )?
    .execute(params![c.purpose.as_str(), session, flow])?;
    conn.prepare_cached(
        "INSERT INTO codes (purpose, account_id, session_id, flow_hash, channel, target, code_mac, \
         created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        c.purpose.as_str(),
        c.account_id,
        session,
        flow,
        c.channel,
        c.target,
        c.code_mac,
        now,
        c.expires_at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The live code of a purpose for a browser, if any.
pub fn current(conn: &Connection, purpose: Purpose, owner: &Owner<'_>) -> Result<Option<Code>> {
    let (session, flow): (Option<i64>, Option<&[u8]>) = match owner {
        Owner::Session(s) => (Some(*s), None),
        Owner::Flow(f) => (None, Some(f)),
    };
    Ok(conn
        .prepare_cached(
            "SELECT id, account_id, channel, target, code_mac, created_at, expires_at, attempts \
             FROM codes WHERE purpose = ?1 AND (session_id = ?2 OR flow_hash = ?3) \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![purpose.as_str(), session, flow], row_to_code)
        .optional()?)
}

pub fn count_attempt(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE codes SET attempts = attempts + 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM codes WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Codes sent to an account since `since`, used or not (from the delivery record).
pub fn sent_since(conn: &Connection, account_id: i64, since: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM deliveries WHERE account_id = ?1 AND at >= ?2 \
             AND purpose != 'notice' AND ok = 1",
        )?
        .query_row(params![account_id, since], |r| r.get(0))?)
}

pub fn purge(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM codes WHERE expires_at < ?1")?
        .execute([now])?)
}
