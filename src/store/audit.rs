//! audit_log: every security-relevant event.

use rusqlite::{Connection, Row, params};

use super::Result;

/// An event to record. `event` is a stable dotted name (`logon.failed`, `admin.account.delete`…).
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub event: &'a str,
    pub actor_id: Option<i64>,
    pub actor_name: &'a str,
    pub account_id: Option<i64>,
    pub account_name: &'a str,
    pub ip: &'a str,
    pub detail: &'a str,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub actor_name: String,
    pub account_name: String,
    pub ip: String,
    pub detail: String,
}

pub fn record(conn: &Connection, e: &Entry<'_>, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, event, actor_id, actor_name, account_id, account_name, ip, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now,
        e.event,
        e.actor_id,
        e.actor_name,
        e.account_id,
        e.account_name,
        e.ip,
        e.detail
    ])?;
    Ok(())
}

fn row_to_record(r: &Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        id: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        actor_name: r.get(3)?,
        account_name: r.get(4)?,
        ip: r.get(5)?,
        detail: r.get(6)?,
    })
}

/// Filters for the admin's audit view; empty strings match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Event name prefix, e.g. `logon` or `admin.account`.
    pub event: String,
    /// Matches the actor's or the subject's account name (substring).
    pub account: String,
    pub limit: i64,
}

pub fn search(conn: &Connection, f: &Filter) -> Result<Vec<Record>> {
    let like = |s: &str| {
        s.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, event, actor_name, account_name, ip, detail FROM audit_log \
         WHERE event LIKE ?1 || '%' ESCAPE '\\' \
           AND (?2 = '' OR account_name LIKE '%' || ?2 || '%' ESCAPE '\\' \
                OR actor_name LIKE '%' || ?2 || '%' ESCAPE '\\') \
         ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![like(&f.event), like(&f.account), f.limit],
        row_to_record,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The latest events about one account (for the user's own activity list).
pub fn for_account(conn: &Connection, account_id: i64, limit: i64) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, event, actor_name, account_name, ip, detail FROM audit_log \
         WHERE account_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![account_id, limit], row_to_record)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
