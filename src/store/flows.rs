//! login_flows: federated sign-ins waiting for their callback.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;

#[derive(Debug, Clone)]
pub struct Flow {
    pub state: String,
    pub browser_hash: Vec<u8>,
    pub connector_id: String,
    pub purpose: String,
    pub account_id: Option<i64>,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub expires_at: i64,
}

pub fn insert(conn: &Connection, f: &Flow, now: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM login_flows WHERE expires_at < ?1")?
        .execute([now])?;
    conn.prepare_cached(
        "INSERT INTO login_flows (state, browser_hash, connector_id, purpose, account_id, nonce, \
         pkce_verifier, redirect_uri, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        f.state,
        f.browser_hash,
        f.connector_id,
        f.purpose,
        f.account_id,
        f.nonce,
        f.pkce_verifier,
        f.redirect_uri,
        now,
        f.expires_at
    ])?;
    Ok(())
}

/// Takes a flow out (single use): it is deleted whether or not it is still valid.
pub fn take(conn: &Connection, state: &str) -> Result<Option<Flow>> {
    let f = conn
        .prepare_cached(
            "SELECT state, browser_hash, connector_id, purpose, account_id, nonce, pkce_verifier, \
             redirect_uri, expires_at FROM login_flows WHERE state = ?1",
        )?
        .query_row([state], |r| {
            Ok(Flow {
                state: r.get(0)?,
                browser_hash: r.get(1)?,
                connector_id: r.get(2)?,
                purpose: r.get(3)?,
                account_id: r.get(4)?,
                nonce: r.get(5)?,
                pkce_verifier: r.get(6)?,
                redirect_uri: r.get(7)?,
                expires_at: r.get(8)?,
            })
        })
        .optional()?;
    conn.prepare_cached("DELETE FROM login_flows WHERE state = ?1")?
        .execute([state])?;
    Ok(f)
}
