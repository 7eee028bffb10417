//! deliveries: every attempt to send a code or notice, for the admin.

use rusqlite::{Connection, params};

use super::Result;

pub struct Delivery {
    pub at: i64,
    pub channel: String,
    pub target: String,
    pub account_name: String,
    pub purpose: String,
    pub ok: bool,
    pub error: String,
}

#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    channel: &str,
    target: &str,
    account_id: Option<i64>,
    purpose: &str,
    ok: bool,
    error: &str,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (at, channel, target, account_id, purpose, ok, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        now, channel, target, account_id, purpose, ok, error
    ])?;
    Ok(())
}

/// The latest deliveries, failures only if `failures_only`.
pub fn recent(conn: &Connection, failures_only: bool, limit: i64) -> Result<Vec<Delivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.at, d.channel, d.target, coalesce(a.account_name, a.display_name, ''), d.purpose, \
         d.ok, d.error FROM deliveries d LEFT JOIN accounts a ON a.id = d.account_id \
         WHERE (?1 = 0 OR d.ok = 0) ORDER BY d.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![failures_only, limit], |r| {
        Ok(Delivery {
            at: r.get(0)?,
            channel: r.get(1)?,
            target: r.get(2)?,
            account_name: r.get(3)?,
            purpose: r.get(4)?,
            ok: r.get(5)?,
            error: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
