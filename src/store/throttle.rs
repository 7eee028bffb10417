//! throttle: failed password and code checks, for temporary lockout.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::settings::Lockout;

/// When `key` is locked at `now`, until when.
pub fn locked_until(conn: &Connection, key: &str, now: i64) -> Result<Option<i64>> {
    let until: Option<Option<i64>> = conn
        .prepare_cached("SELECT locked_until FROM throttle WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts one failure; failures older than the lockout window start a new count.
/// Returns true when this failure locks the key.
pub fn record_failure(conn: &Connection, key: &str, now: i64, rule: Lockout) -> Result<bool> {
    conn.prepare_cached(
        "INSERT INTO throttle (key, failures, window_start, locked_until) VALUES (?1, 1, ?2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN window_start < ?2 - ?3 THEN 1 ELSE failures + 1 END, \
           window_start = CASE WHEN window_start < ?2 - ?3 THEN ?2 ELSE window_start END",
    )?
    .execute(params![key, now, rule.seconds])?;
    let failures: i64 = conn
        .prepare_cached("SELECT failures FROM throttle WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?;
    if failures >= rule.max_failures {
        conn.prepare_cached(
            "UPDATE throttle SET locked_until = ?2, failures = 0, window_start = ?2 WHERE key = ?1",
        )?
        .execute(params![key, now + rule.seconds])?;
        return Ok(true);
    }
    Ok(false)
}

pub fn clear(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM throttle WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Drops entries that are neither locked nor counting anymore.
pub fn purge(conn: &Connection, now: i64, window: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM throttle WHERE coalesce(locked_until, 0) <= ?1 AND window_start < ?1 - ?2",
        )?
        .execute(params![now, window])?)
}
