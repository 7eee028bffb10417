//! The only SQL in Latchkey. SQLite through rusqlite: WAL, foreign keys, a busy timeout,
//! numbered forward-only migrations embedded in the binary, and a small connection pool.
//! One transaction per user action (`Store::write`).

pub mod accounts;
pub mod audit;
pub mod bindings;
pub mod codes;
pub mod connectors;
pub mod deliveries;
pub mod factors;
pub mod fields;
pub mod flows;
pub mod meta;
pub mod passkeys;
pub mod sessions;
pub mod settings;
pub mod throttle;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_factors",
        include_str!("../../migrations/0002_factors.sql"),
    ),
    (
        "0003_bindings",
        include_str!("../../migrations/0003_bindings.sql"),
    ),
    (
        "0004_connector_instances",
        include_str!("../../migrations/0004_connector_instances.sql"),
    ),
    (
        "0005_passkeys",
        include_str!("../../migrations/0005_passkeys.sql"),
    ),
];

/// Idle connections kept for reuse (readers run in parallel under WAL).
const POOL_MAX_IDLE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Sqlite(rusqlite::Error),
    /// A uniqueness rule of the schema refused the write; names what was taken.
    #[error("{0} is already in use")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    #[error("cannot open the database {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error(
        "the database schema is newer ({found}) than this binary knows ({known}); upgrade latchkey"
    )]
    TooNew { found: u32, known: u32 },
    #[error("{0}")]
    Backup(String),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e
            && f.code == ErrorCode::ConstraintViolation
            && msg.starts_with("UNIQUE")
        {
            return StoreError::Conflict(unique_subject(msg));
        }
        if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
            return StoreError::NotFound;
        }
        StoreError::Sqlite(e)
    }
}

/// Maps "UNIQUE constraint failed: accounts.email" to the product's word for it.
fn unique_subject(msg: &str) -> &'static str {
    if msg.contains("accounts.account_name") {
        "account name"
    } else if msg.contains("accounts.email") {
        "email address"
    } else if msg.contains("accounts.mobile") {
        "mobile number"
    } else if msg.contains("field_values.") {
        "field value"
    } else if msg.contains("field_definitions.key") {
        "field key"
    } else if msg.contains("bindings.connector_id, bindings.subject") {
        "external identity"
    } else if msg.contains("bindings.account_id, bindings.connector_id") {
        "connector binding"
    } else if msg.contains("bindings.account_id") {
        "automatic binding"
    } else if msg.contains("passkeys.credential_id") {
        "passkey"
    } else if msg.contains("connector_instances.id") {
        "connector id"
    } else {
        "value"
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Only ever reads `PRAGMA data_version`: it never writes, so every commit (this
    /// process's or another's, such as the CLI's) changes what it sees.
    watcher: Mutex<Option<Connection>>,
}

/// A pooled connection; returns to the pool when dropped.
pub struct Conn<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl Deref for Conn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && let Ok(mut idle) = self.store.idle.lock()
            && idle.len() < POOL_MAX_IDLE
        {
            idle.push(c);
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database file. Does not migrate.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        }
        let store = Store {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            watcher: Mutex::new(None),
        };
        // Open one connection now so a bad path fails at start, not at the first request.
        drop(store.conn()?);
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|e| StoreError::Open {
                path: self.path.clone(),
                detail: e.to_string(),
            })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
        )
        .map_err(|e| StoreError::Open {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        conn.set_prepared_statement_cache_capacity(64);
        // The query planner's stability guarantee: plans never depend on bound values.
        // Without it, SQLite 3.54 re-prepares a cached statement on every run when a
        // parameter could have informed its plan (`LIMIT ?`, an indexed `= ?`), and the
        // parsing showed up as a tenth of My Account's CPU.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(conn)
    }

    pub fn conn(&self) -> Result<Conn<'_>> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        Ok(Conn {
            store: self,
            conn: Some(conn),
        })
    }

    /// A number that changes whenever anything is committed to the database, by any
    /// connection of any process (SQLite's `PRAGMA data_version`, read on a connection
    /// that never writes). Caches of what the database says check it.
    pub fn data_version(&self) -> Result<i64> {
        let mut watcher = self.watcher.lock().map_err(|_| StoreError::Open {
            path: self.path.clone(),
            detail: "the version watcher's lock is poisoned".into(),
        })?;
        if watcher.is_none() {
            *watcher = Some(self.connect()?);
        }
        let conn = watcher.as_ref().expect("just opened");
        Ok(conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?)
    }

    /// Runs `f` in one read transaction: a consistent snapshot, and the file locks are
    /// taken once for all its queries instead of once per statement.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn()?;
        // Cached statements: no SQL parsing on the hot path.
        conn.prepare_cached("BEGIN DEFERRED")
            .and_then(|mut s| s.execute([]))
            .map_err(StoreError::from)?;
        let out = f(&conn);
        // Nothing to keep from a read; ending it releases the snapshot.
        if conn
            .prepare_cached("ROLLBACK")
            .and_then(|mut s| s.execute([]))
            .is_err()
        {
            // Never hand a connection stuck in a transaction back to the pool.
            conn.conn.take();
        }
        out
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it lands, or none of it.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` like `write`, then rolls everything back: what a change would do,
    /// without doing it (dry runs).
    pub fn trial<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx);
        tx.rollback().map_err(StoreError::from)?;
        out
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> Result<usize> {
        let mut conn = self.conn()?;
        let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as u32;
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        let mut applied = 0;
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            // Another process may have migrated while we waited for the lock.
            let now: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now as usize > i {
                continue;
            }
            tx.execute_batch(sql)
                .map_err(|e| StoreError::Migration(format!("{name}: {e}")))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
            applied += 1;
            tracing::info!(migration = name, "applied migration");
        }
        Ok(applied)
    }

    /// Whether the schema is at the newest version this binary knows.
    pub fn is_migrated(&self) -> Result<bool> {
        let conn = self.conn()?;
        let v: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(v as usize == MIGRATIONS.len())
    }

    /// A consistent copy of the live database (readers and writers may carry on).
    pub fn backup(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Backup(format!(
                "{} already exists",
                dest.display()
            )));
        }
        let conn = self.conn()?;
        let dest_text = dest
            .to_str()
            .ok_or_else(|| StoreError::Backup("the backup path is not valid UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", [dest_text])
            .map_err(|e| StoreError::Backup(format!("cannot write {}: {e}", dest.display())))?;
        Ok(())
    }
}
