//! passkeys and passkey_ceremonies.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;

#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub credential_id: String,
    /// The serialized webauthn-rs `Passkey`.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PasskeyRow> {
    Ok(PasskeyRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        credential_id: r.get(3)?,
        credential: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

const COLUMNS: &str =
    "id, account_id, name, credential_id, credential, created_at, last_used_at FROM passkeys";

pub fn list(conn: &Connection, account_id: i64) -> Result<Vec<PasskeyRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE account_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([account_id], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn count(conn: &Connection, account_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM passkeys WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))?)
}

pub fn insert(
    conn: &Connection,
    account_id: i64,
    name: &str,
    credential_id: &str,
    credential: &str,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO passkeys (account_id, name, credential_id, credential, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![account_id, name, credential_id, credential, now])?;
    Ok(conn.last_insert_rowid())
}

/// Stores the updated credential (counter, backup state) after a successful use.
pub fn record_use(conn: &Connection, id: i64, credential: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE passkeys SET credential = ?2, last_used_at = ?3 WHERE id = ?1")?
        .execute(params![id, credential, now])?;
    Ok(())
}

/// Removes one of the account's passkeys; returns its name, `None` if it is not theirs.
pub fn delete_owned(conn: &Connection, account_id: i64, id: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("DELETE FROM passkeys WHERE id = ?1 AND account_id = ?2 RETURNING name")?
        .query_row(params![id, account_id], |r| r.get(0))
        .optional()?)
}

pub fn delete_all(conn: &Connection, account_id: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM passkeys WHERE account_id = ?1")?
        .execute([account_id])?)
}

/// A ceremony's purpose: registering a new passkey or logging on with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Authenticate,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Authenticate => "authenticate",
        }
    }
}

/// Starts a ceremony for the session, replacing any earlier one of the same purpose.
pub fn put_ceremony(
    conn: &Connection,
    session_id: i64,
    purpose: Purpose,
    state: &str,
    name: &str,
    expires_at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO passkey_ceremonies (session_id, purpose, state, name, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session_id, purpose) DO UPDATE SET \
         state = excluded.state, name = excluded.name, expires_at = excluded.expires_at",
    )?
    .execute(params![
        session_id,
        purpose.as_str(),
        state,
        name,
        expires_at
    ])?;
    Ok(())
}

/// Takes (deletes and returns) the session's live ceremony: each is used at most once.
/// Returns (state, name).
pub fn take_ceremony(
    conn: &Connection,
    session_id: i64,
    purpose: Purpose,
    now: i64,
) -> Result<Option<(String, String)>> {
    let taken: Option<(String, String, i64)> = conn
        .prepare_cached(
            "DELETE FROM passkey_ceremonies WHERE session_id = ?1 AND purpose = ?2 \
             RETURNING state, name, expires_at",
        )?
        .query_row(params![session_id, purpose.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(taken
        .filter(|(_, _, exp)| *exp >= now)
        .map(|(s, n, _)| (s, n)))
}

pub fn purge_ceremonies(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM passkey_ceremonies WHERE expires_at < ?1")?
        .execute([now])?)
}
