//! field_definitions and field_values (Field Management).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, StoreError};
use crate::domain::fields::{FieldDefinition, FieldKind, FieldSpec, UserAccess};

const COLUMNS: &str =
    "id, key, label, kind, required, is_unique, user_access, pattern, options, position";

fn row_to_def(r: &Row<'_>) -> rusqlite::Result<FieldDefinition> {
    let kind: String = r.get(3)?;
    let access: String = r.get(6)?;
    let options: String = r.get(8)?;
    Ok(FieldDefinition {
        id: r.get(0)?,
        spec: FieldSpec {
            key: r.get(1)?,
            label: r.get(2)?,
            // The schema's CHECK constraints keep these parseable.
            kind: FieldKind::parse(&kind).unwrap_or(FieldKind::Text),
            required: r.get(4)?,
            unique: r.get(5)?,
            user_access: UserAccess::parse(&access).unwrap_or(UserAccess::Invisible),
            pattern: r.get(7)?,
            options: serde_json::from_str(&options).unwrap_or_default(),
        },
        position: r.get(9)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<FieldDefinition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM field_definitions ORDER BY position, id"
    ))?;
    let rows = stmt.query_map([], row_to_def)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<FieldDefinition>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM field_definitions WHERE id = ?1"
        ))?
        .query_row([id], row_to_def)
        .optional()?)
}

fn options_json(spec: &FieldSpec) -> String {
    serde_json::to_string(&spec.options).unwrap_or_else(|_| "[]".into())
}

pub fn insert(conn: &Connection, spec: &FieldSpec) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO field_definitions (key, label, kind, required, is_unique, user_access, \
         pattern, options, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         (SELECT coalesce(max(position), 0) + 1 FROM field_definitions))",
    )?
    .execute(params![
        spec.key,
        spec.label,
        spec.kind.as_str(),
        spec.required,
        spec.unique,
        spec.user_access.as_str(),
        spec.pattern,
        options_json(spec)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Updates a definition. Turning `unique` on fails with a conflict if two accounts
/// already share a value.
pub fn update(conn: &Connection, id: i64, spec: &FieldSpec) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE field_definitions SET key = ?2, label = ?3, kind = ?4, required = ?5, \
             is_unique = ?6, user_access = ?7, pattern = ?8, options = ?9 WHERE id = ?1",
        )?
        .execute(params![
            id,
            spec.key,
            spec.label,
            spec.kind.as_str(),
            spec.required,
            spec.unique,
            spec.user_access.as_str(),
            spec.pattern,
            options_json(spec)
        ])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached(
        "UPDATE field_values SET unique_value = CASE WHEN ?2 THEN value END WHERE field_id = ?1",
    )?
    .execute(params![id, spec.unique])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM field_definitions WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Rewrites positions so `ordered_ids` is the display order.
pub fn reorder(conn: &Connection, ordered_ids: &[i64]) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("UPDATE field_definitions SET position = ?2 WHERE id = ?1")?;
    for (pos, id) in ordered_ids.iter().enumerate() {
        stmt.execute(params![id, pos as i64 + 1])?;
    }
    Ok(())
}

/// One account's values, by field id.
pub fn values_for(conn: &Connection, account_id: i64) -> Result<HashMap<i64, String>> {
    let mut stmt =
        conn.prepare_cached("SELECT field_id, value FROM field_values WHERE account_id = ?1")?;
    let rows = stmt.query_map([account_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets (or with `None`, clears) one value. A clash in a unique field is a conflict.
pub fn set_value(
    conn: &Connection,
    account_id: i64,
    field: &FieldDefinition,
    value: Option<&str>,
) -> Result<()> {
    match value {
        None => {
            conn.prepare_cached(
                "DELETE FROM field_values WHERE account_id = ?1 AND field_id = ?2",
            )?
            .execute(params![account_id, field.id])?;
        }
        Some(v) => {
            conn.prepare_cached(
                "INSERT INTO field_values (account_id, field_id, value, unique_value) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, field_id) \
                 DO UPDATE SET value = excluded.value, unique_value = excluded.unique_value",
            )?
            .execute(params![
                account_id,
                field.id,
                v,
                field.spec.unique.then_some(v)
            ])?;
        }
    }
    Ok(())
}
