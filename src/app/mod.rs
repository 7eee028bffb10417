//! Use cases: what a user, an admin or the CLI can do. Each one validates with `domain`,
//! writes through `store` in one transaction, and records the audit event. The web tier
//! and the CLI both call these; neither touches SQL.

pub mod accounts;
pub mod connectors;
pub mod directory;
pub mod factors;
pub mod federation;
pub mod fields;
pub mod logon;
pub mod passkeys;
pub mod reset;
pub mod settings;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::delivery::Delivery;
use crate::domain::settings::Settings;
use crate::error::Error;
use crate::keys::Keys;
use crate::passwords::Hasher;
use crate::store::{self, Store};

pub struct App {
    pub config: Config,
    pub store: Store,
    pub hasher: Hasher,
    pub keys: Keys,
    pub delivery: Delivery,
    /// Connector plugins; loaded by `serve` (the CLI loads them only when it needs them).
    pub plugins: Option<crate::plugins::Plugins>,
    settings_cache: Mutex<Option<(Instant, Arc<Settings>)>>,
    connectors_cache: connectors::InstanceCache,
}

/// Who is acting, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
    pub ip: String,
}

impl Actor {
    /// The command line (whoever can run it owns the database file).
    pub fn cli() -> Actor {
        Actor {
            id: None,
            name: "(cli)".into(),
            ip: String::new(),
        }
    }
}

/// Settings are read often and changed rarely, possibly by another process (the CLI):
/// cache them briefly. The database stays the only source of truth.
const SETTINGS_TTL: Duration = Duration::from_secs(2);

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl App {
    /// Opens the database named by the configuration and applies pending migrations.
    pub fn open(config: Config) -> Result<App, Error> {
        install_tls_provider();
        let store =
            Store::open(&config.database_path()).map_err(|e| Error::Internal(e.to_string()))?;
        store
            .migrate()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let keys = Keys::load_or_create(&config.data_dir)?;
        let delivery = Delivery::from_config(&config)?;
        Ok(App {
            config,
            store,
            hasher: Hasher::new(),
            keys,
            delivery,
            plugins: None,
            settings_cache: Mutex::new(None),
            connectors_cache: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> Result<Arc<Settings>, Error> {
        if let Ok(cache) = self.settings_cache.lock()
            && let Some((at, s)) = cache.as_ref()
            && at.elapsed() < SETTINGS_TTL
        {
            return Ok(s.clone());
        }
        let stored = self.store.read(store::settings::load)?;
        let s = Arc::new(Settings::from_stored(&stored));
        if let Ok(mut cache) = self.settings_cache.lock() {
            *cache = Some((Instant::now(), s.clone()));
        }
        Ok(s)
    }

    fn forget_settings(&self) {
        if let Ok(mut cache) = self.settings_cache.lock() {
            *cache = None;
        }
    }

    /// Records an audit event in its own transaction.
    pub fn audit(
        &self,
        actor: &Actor,
        event: &str,
        account: Option<(i64, &str)>,
        detail: &str,
    ) -> Result<(), Error> {
        self.store
            .write(|tx| audit(tx, actor, event, account, detail))
    }
}

/// Records an audit event inside the caller's transaction.
pub fn audit(
    conn: &rusqlite::Connection,
    actor: &Actor,
    event: &str,
    account: Option<(i64, &str)>,
    detail: &str,
) -> Result<(), Error> {
    store::audit::record(
        conn,
        &store::audit::Entry {
            event,
            actor_id: actor.id,
            actor_name: &actor.name,
            account_id: account.map(|a| a.0),
            account_name: account.map(|a| a.1).unwrap_or(""),
            ip: &actor.ip,
            detail,
        },
        now(),
    )?;
    Ok(())
}

/// One TLS provider for the whole process (SMTP, SMS webhook, connectors). ring builds
/// with no C toolchain beyond cc; it lacks post-quantum key exchange, which rustls now
/// flags as deprecated. Switch to aws-lc-rs when that matters more than the build.
#[allow(deprecated)]
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
