//! accounts and password_history.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, StoreError};
use crate::domain::account::{Account, Identifier};

const COLUMNS: &str = "id, account_name, display_name, email, mobile, is_admin, disabled, \
     password_hash IS NOT NULL, created_at, last_logon_at, password_changed_at";

fn row_to_account(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        account_name: r.get(1)?,
        display_name: r.get(2)?,
        email: r.get(3)?,
        mobile: r.get(4)?,
        is_admin: r.get(5)?,
        disabled: r.get(6)?,
        has_password: r.get(7)?,
        created_at: r.get(8)?,
        last_logon_at: r.get(9)?,
        password_changed_at: r.get(10)?,
    })
}

pub struct NewAccount<'a> {
    pub account_name: Option<&'a str>,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub is_admin: bool,
    pub password_hash: Option<&'a str>,
}

pub fn insert(conn: &Connection, a: &NewAccount<'_>, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO accounts (account_name, display_name, email, mobile, is_admin, \
         password_hash, password_changed_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        a.account_name,
        a.display_name,
        a.email,
        a.mobile,
        a.is_admin,
        a.password_hash,
        a.password_hash.map(|_| now),
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Account>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"))?
        .query_row([id], row_to_account)
        .optional()?)
}

pub fn require(conn: &Connection, id: i64) -> Result<Account> {
    get(conn, id)?.ok_or(StoreError::NotFound)
}

/// Finds by account name (any case), verified email (any case) or verified mobile.
pub fn find(conn: &Connection, id: &Identifier) -> Result<Option<Account>> {
    let (column, value) = match id {
        Identifier::AccountName(v) => ("account_name", v),
        Identifier::Email(v) => ("email", v),
        Identifier::Mobile(v) => ("mobile", v),
    };
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE {column} = ?1"
        ))?
        .query_row([value], row_to_account)
        .optional()?)
}

/// Looks an account up by account name, verified email or mobile, in that order.
pub fn find_any(conn: &Connection, text: &str) -> Result<Option<Account>> {
    for id in [
        Identifier::AccountName(text.to_string()),
        Identifier::Email(text.to_string()),
        Identifier::Mobile(text.to_string()),
    ] {
        if let Some(a) = find(conn, &id)? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

pub fn password_hash(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM accounts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Accounts whose name, display name, email or mobile contain `q` (all when empty).
pub fn search(conn: &Connection, q: &str, limit: i64) -> Result<Vec<Account>> {
    let pattern = format!(
        "%{}%",
        q.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE ?1 = '%%' \
         OR account_name LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\' \
         OR email LIKE ?1 ESCAPE '\\' OR mobile LIKE ?1 ESCAPE '\\' \
         ORDER BY account_name IS NULL, account_name, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![pattern, limit], row_to_account)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn all(conn: &Connection) -> Result<Vec<Account>> {
    search(conn, "", i64::MAX)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?)
}

/// Enabled administrators other than `except`.
pub fn count_active_admins(conn: &Connection, except: Option<i64>) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM accounts WHERE is_admin = 1 AND disabled = 0 AND id IS NOT ?1",
        [except],
        |r| r.get(0),
    )?)
}

pub fn set_names(
    conn: &Connection,
    id: i64,
    account_name: Option<&str>,
    display_name: &str,
) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET account_name = ?2, display_name = ?3 WHERE id = ?1")?
        .execute(params![id, account_name, display_name])?;
    Ok(())
}

pub fn set_contacts(
    conn: &Connection,
    id: i64,
    email: Option<&str>,
    mobile: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET email = ?2, mobile = ?3 WHERE id = ?1")?
        .execute(params![id, email, mobile])?;
    Ok(())
}

pub fn set_flags(conn: &Connection, id: i64, is_admin: bool, disabled: bool) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET is_admin = ?2, disabled = ?3 WHERE id = ?1")?
        .execute(params![id, is_admin, disabled])?;
    Ok(())
}

/// Sets a new password hash; the old one goes to the history.
pub fn set_password(conn: &Connection, id: i64, hash: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO password_history (account_id, hash, created_at) \
         SELECT id, password_hash, ?2 FROM accounts WHERE id = ?1 AND password_hash IS NOT NULL",
    )?
    .execute(params![id, now])?;
    conn.prepare_cached(
        "UPDATE accounts SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, hash, now])?;
    // Keep only as much history as the largest policy could ask for.
    conn.prepare_cached(
        "DELETE FROM password_history WHERE account_id = ?1 AND id NOT IN \
         (SELECT id FROM password_history WHERE account_id = ?1 ORDER BY id DESC LIMIT 24)",
    )?
    .execute([id])?;
    Ok(())
}

/// The current hash and the `n` previous ones, newest first.
pub fn recent_password_hashes(conn: &Connection, id: i64, n: usize) -> Result<Vec<String>> {
    let mut out: Vec<String> = password_hash(conn, id)?.into_iter().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT hash FROM password_history WHERE account_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![id, n as i64], |r| r.get::<_, String>(0))?;
    for h in rows {
        out.push(h?);
    }
    out.truncate(n.max(1));
    Ok(out)
}

pub fn touch_logon(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE accounts SET last_logon_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
