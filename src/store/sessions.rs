//! sessions: server-side logon sessions. Only a hash of the cookie token is stored.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Active,
    /// The password has expired: the session may only change it.
    PasswordExpired,
    /// The password passed; a second factor is still due.
    SecondFactor,
    /// The user must bind a second factor before anything else.
    BindFactor,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Active => "active",
            Stage::PasswordExpired => "password_expired",
            Stage::SecondFactor => "second_factor",
            Stage::BindFactor => "bind_factor",
        }
    }
    fn parse(s: &str) -> Stage {
        match s {
            "active" => Stage::Active,
            "password_expired" => Stage::PasswordExpired,
            "bind_factor" => Stage::BindFactor,
            // Unknown stages grant the least: a pending second factor.
            _ => Stage::SecondFactor,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub account_id: i64,
    pub csrf_token: String,
    pub stage: Stage,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub authenticated_at: i64,
    pub user_agent: String,
    pub ip: String,
}

const COLUMNS: &str =
    "id, account_id, csrf_token, stage, created_at, last_seen_at, authenticated_at, user_agent, ip";

fn row_to_session(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        account_id: r.get(1)?,
        csrf_token: r.get(2)?,
        stage: Stage::parse(&r.get::<_, String>(3)?),
        created_at: r.get(4)?,
        last_seen_at: r.get(5)?,
        authenticated_at: r.get(6)?,
        user_agent: r.get(7)?,
        ip: r.get(8)?,
    })
}

pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub account_id: i64,
    pub csrf_token: &'a str,
    pub stage: Stage,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

pub fn insert(conn: &Connection, s: &NewSession<'_>, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, account_id, csrf_token, stage, created_at, \
         last_seen_at, authenticated_at, user_agent, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5, ?6, ?7)",
    )?
    .execute(params![
        s.token_hash,
        s.account_id,
        s.csrf_token,
        s.stage.as_str(),
        now,
        s.user_agent,
        s.ip
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn by_token_hash(conn: &Connection, hash: &[u8]) -> Result<Option<Session>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_hash = ?1"
        ))?
        .query_row([hash], row_to_session)
        .optional()?)
}

pub fn touch(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

pub fn set_stage(conn: &Connection, id: i64, stage: Stage) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET stage = ?2 WHERE id = ?1")?
        .execute(params![id, stage.as_str()])?;
    Ok(())
}

/// Gives a session a new token and stage (after a privilege change).
pub fn rotate(conn: &Connection, id: i64, token_hash: &[u8], stage: Stage, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sessions SET token_hash = ?2, stage = ?3, last_seen_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, token_hash, stage.as_str(), now])?;
    Ok(())
}

pub fn set_authenticated(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET authenticated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Deletes one of an account's sessions; false if it is not that account's.
pub fn delete_owned(conn: &Connection, account_id: i64, id: i64) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE id = ?1 AND account_id = ?2")?
        .execute(params![id, account_id])?;
    Ok(n > 0)
}

/// Ends every session of an account, except `keep`; returns how many ended.
pub fn delete_for_account(conn: &Connection, account_id: i64, keep: Option<i64>) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE account_id = ?1 AND id IS NOT ?2")?
        .execute(params![account_id, keep])?)
}

/// The account's most recently used sessions, at most `limit`.
pub fn list_for_account(conn: &Connection, account_id: i64, limit: i64) -> Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE account_id = ?1 \
         ORDER BY last_seen_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![account_id, limit], row_to_session)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn count_for_account(conn: &Connection, account_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM sessions WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))?)
}

/// Removes sessions past their idle or absolute limit.
pub fn purge_expired(conn: &Connection, idle_before: i64, created_before: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2")?
        .execute(params![idle_before, created_before])?)
}
