//! connector_instances: connector instances made in the admin console. Secret settings
//! arrive here already sealed (`app::connectors` encrypts them with `keys.rs`).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    pub id: String,
    pub plugin: String,
    pub name: String,
    pub login: bool,
    pub bind: bool,
    pub provision: bool,
    pub allow_http: bool,
    /// `none`, `email`, `mobile` or `account_name` (the schema checks it).
    pub match_by: String,
    pub enabled: bool,
    /// Non-secret settings, in the clear.
    pub settings: BTreeMap<String, String>,
    /// The sealed JSON object of the secret settings.
    pub secrets: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, plugin, name, login, bind, provision, allow_http, match_by, \
                       enabled, settings, secrets, created_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<StoredInstance> {
    let settings: String = r.get(9)?;
    Ok(StoredInstance {
        id: r.get(0)?,
        plugin: r.get(1)?,
        name: r.get(2)?,
        login: r.get(3)?,
        bind: r.get(4)?,
        provision: r.get(5)?,
        allow_http: r.get(6)?,
        match_by: r.get(7)?,
        enabled: r.get(8)?,
        // Written only by `insert`/`update` below; a damaged value reads as no settings
        // (the plugin then names what is missing).
        settings: serde_json::from_str(&settings).unwrap_or_default(),
        secrets: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<StoredInstance>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM connector_instances ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<StoredInstance>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM connector_instances WHERE id = ?1"
        ))?
        .query_row([id], row)
        .optional()?)
}

fn settings_json(i: &StoredInstance) -> String {
    serde_json::to_string(&i.settings).expect("a map of strings always serializes")
}

/// Runs `sql` with the instance's values bound as ?1..?13, in `COLUMNS` order.
fn with_values(conn: &Connection, sql: &str, i: &StoredInstance) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params![
        i.id,
        i.plugin,
        i.name,
        i.login,
        i.bind,
        i.provision,
        i.allow_http,
        i.match_by,
        i.enabled,
        settings_json(i),
        i.secrets,
        i.created_at,
        i.updated_at,
    ])?)
}

pub fn insert(conn: &Connection, i: &StoredInstance) -> Result<()> {
    with_values(
        conn,
        &format!(
            "INSERT INTO connector_instances ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ),
        i,
    )?;
    Ok(())
}

/// Rewrites everything but the id, the plugin and the creation time.
pub fn update(conn: &Connection, i: &StoredInstance) -> Result<()> {
    // ?2 (plugin) and ?12 (created_at) are bound but not written: they never change.
    let n = with_values(
        conn,
        "UPDATE connector_instances SET name = ?3, login = ?4, bind = ?5, provision = ?6, \
         allow_http = ?7, match_by = ?8, enabled = ?9, settings = ?10, secrets = ?11, \
         updated_at = ?13 WHERE id = ?1",
        i,
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes the instance and its sign-ins in progress (a new instance that reuses the
/// id must not complete them).
pub fn delete(conn: &Connection, id: &str) -> Result<bool> {
    conn.prepare_cached("DELETE FROM login_flows WHERE connector_id = ?1")?
        .execute([id])?;
    Ok(conn
        .prepare_cached("DELETE FROM connector_instances WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// How many accounts are bound to connector `id`.
pub fn bindings_count(conn: &Connection, id: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM bindings WHERE connector_id = ?1")?
        .query_row([id], |r| r.get(0))?)
}
