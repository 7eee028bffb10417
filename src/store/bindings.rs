//! bindings: external identities bound to accounts.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Auto,
    Manual,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Auto => "auto",
            Kind::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub id: i64,
    pub account_id: i64,
    pub connector_id: String,
    pub subject: String,
    pub kind: Kind,
    pub display: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, account_id, connector_id, subject, kind, display, created_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Binding> {
    let kind: String = r.get(4)?;
    Ok(Binding {
        id: r.get(0)?,
        account_id: r.get(1)?,
        connector_id: r.get(2)?,
        subject: r.get(3)?,
        kind: if kind == "auto" {
            Kind::Auto
        } else {
            Kind::Manual
        },
        display: r.get(5)?,
        created_at: r.get(6)?,
    })
}

pub fn for_account(conn: &Connection, account_id: i64) -> Result<Vec<Binding>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM bindings WHERE account_id = ?1 ORDER BY connector_id"
    ))?;
    let rows = stmt.query_map([account_id], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn by_subject(conn: &Connection, connector_id: &str, subject: &str) -> Result<Option<Binding>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM bindings WHERE connector_id = ?1 AND subject = ?2"
        ))?
        .query_row(params![connector_id, subject], row)
        .optional()?)
}

pub fn insert(
    conn: &Connection,
    account_id: i64,
    connector_id: &str,
    subject: &str,
    kind: Kind,
    display: &str,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO bindings (account_id, connector_id, subject, kind, display, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        account_id,
        connector_id,
        subject,
        kind.as_str(),
        display,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Removes a manual binding; returns whether one was removed.
pub fn delete_manual(conn: &Connection, account_id: i64, connector_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM bindings WHERE account_id = ?1 AND connector_id = ?2 AND kind = 'manual'",
        )?
        .execute(params![account_id, connector_id])?
        > 0)
}

/// Updates the name shown for a binding (the IdP's display name changed).
pub fn set_display(conn: &Connection, id: i64, display: &str) -> Result<()> {
    conn.prepare_cached("UPDATE bindings SET display = ?2 WHERE id = ?1")?
        .execute(params![id, display])?;
    Ok(())
}
